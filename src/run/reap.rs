//! Files of secrets that must not outlive the job that wrote them.
//!
//! On GitLab's shell executor every job of every project runs as the same user with the
//! same HOME: `~/.akeyless/env`, and anything else `akl` writes there, would be readable
//! by the next job. So, there, `akl` starts a small watcher beside the job: it waits for
//! the job's shell (the leader of `akl`'s process group, which the runner starts each job
//! script as) to exit, then removes the files, unless something rewrote them meanwhile.
//! The watcher is `akl` itself (`akl __reap`), detached: its own process group, no stdin,
//! stdout or stderr, so it holds neither the job's log nor its signals.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use rustix::event::{PollFd, PollFlags};
use rustix::process::{Pid, PidfdFlags};

use crate::error::{Error, Result};

/// Whether this run is a job on GitLab's shell executor (a GitLab job without an image).
pub fn on_shell_executor(gitlab_ci: bool, job_image: bool) -> bool {
    gitlab_ci && !job_image
}

/// The process whose end ends the job: the leader of our process group (the job's shell),
/// or our parent when we lead the group ourselves.
fn job_shell() -> Pid {
    let group = rustix::process::getpgrp();
    if group == rustix::process::getpid() {
        rustix::process::getppid().unwrap_or(group)
    } else {
        group
    }
}

/// Starts the watcher that removes `paths` when the job's shell exits, after revoking the
/// credentials recorded in `revoke`.
pub fn remove_when_the_job_ends(paths: &[PathBuf], revoke: Option<&Path>) -> Result<()> {
    let me = std::env::current_exe()
        .map_err(|e| Error::other(format!("cannot find akl's own executable: {e}")))?;
    let mut cmd = std::process::Command::new(me);
    cmd.arg("__reap");
    if let Some(record) = revoke {
        cmd.arg("--revoke").arg(record);
    }
    cmd.arg(job_shell().as_raw_nonzero().to_string())
        .args(paths)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map(drop)
        .map_err(|e| {
            Error::other(format!(
                "cannot start the watcher that removes this job's files when it ends: {e}"
            ))
            .hint("nothing was left behind: the files were not written")
        })
}

/// The watcher itself: waits for `pid` to exit, runs `then`, and removes each of `paths`
/// that is still the file it was when the wait began.
pub fn watch(pid: i32, paths: &[PathBuf], then: impl FnOnce()) {
    let identity = |path: &Path| {
        std::fs::symlink_metadata(path)
            .ok()
            .map(|m| (m.dev(), m.ino(), m.mtime(), m.mtime_nsec()))
    };
    let before: Vec<_> = paths.iter().map(|p| identity(p)).collect();
    if let Some(pid) = Pid::from_raw(pid) {
        if let Ok(fd) = rustix::process::pidfd_open(pid, PidfdFlags::empty()) {
            let mut fds = [PollFd::new(&fd, PollFlags::IN)];
            // Readable once the process has exited; an error means it is gone already.
            while let Err(rustix::io::Errno::INTR) = rustix::event::poll(&mut fds, None) {}
        }
    }
    then();
    for (path, before) in paths.iter().zip(before) {
        if before.is_some() && identity(path) == before {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_go_when_the_watched_process_ends_unless_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let (kept, gone) = (dir.path().join("kept"), dir.path().join("gone"));
        std::fs::write(&kept, "old").unwrap();
        std::fs::write(&gone, "secret").unwrap();
        let mut sleeper = std::process::Command::new("sleep")
            .arg("0.3")
            .spawn()
            .unwrap();
        let pid = sleeper.id() as i32;
        let paths = vec![kept.clone(), gone.clone()];
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let then = ran.clone();
        let watcher = std::thread::spawn(move || {
            watch(pid, &paths, || {
                then.store(true, std::sync::atomic::Ordering::SeqCst);
            })
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::fs::write(dir.path().join("kept.new"), "new").unwrap();
        std::fs::rename(dir.path().join("kept.new"), &kept).unwrap();
        sleeper.wait().unwrap();
        watcher.join().unwrap();
        assert!(ran.load(std::sync::atomic::Ordering::SeqCst), "`then` ran");
        assert!(!gone.exists(), "the job's file is removed");
        assert_eq!(
            std::fs::read_to_string(&kept).unwrap(),
            "new",
            "a newer file stays"
        );
    }
}
