//! `akl mask-shell`: masking for a job's shell where nothing runs it under a masker (the
//! Kubernetes executor, CircleCI, Bitbucket, a GitLab shell runner). `eval "$(akl
//! mask-shell)"` at the top of a script sends the rest of its output, stdout and stderr in
//! the order written, through a masker that knows the credentials in the environment and
//! learns every value `akl` (and `akeyless`) fetch later, through `AKL_MASK_SOCKET`.
//!
//! The masker is `akl __filter`, started here in a private directory (0700, under TMPDIR)
//! beside a FIFO and its socket; the code printed points the shell's output at the FIFO.
//! The filter writes to the job's stderr (this command's stdout is the `$(…)` capture),
//! and ends, removing the directory, once the shell and everything it started have closed
//! the FIFO.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::run::{self, Masker, channel};
use crate::settings::{self, Env, vars};

/// How long the filter may take to listen before the shell is told to use it.
const READY_WITHIN: Duration = Duration::from_secs(5);

pub fn run(env: &Env) -> Result<ExitCode> {
    if let Some(socket) = super::masker(env)? {
        // Already under a masker (the image's job shell, `akl run`): nothing to add.
        super::print(&format!(
            "# akl: output is masked already (AKL_MASK_SOCKET={socket})\n"
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let dir = tempfile::Builder::new()
        .prefix("akl-mask-shell-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir_in(settings::temp_dir(env)?)
        .map_err(|e| {
            Error::other(format!(
                "cannot create a private directory for the masker: {e}"
            ))
            .hint("set TMPDIR to a writable directory")
        })?
        .keep();
    let fifo = dir.join("out");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
        0,
    )
    .map_err(|e| Error::other(format!("cannot create {}: {e}", fifo.display())))?;
    let socket = dir.join("socket");
    start_filter(&dir).inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&dir);
    })?;
    let started = Instant::now();
    while !socket.exists() {
        if started.elapsed() > READY_WITHIN {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(Error::other("the masker did not start")
                .hint("nothing was changed: the shell's output is not masked"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // Paths only: TMPDIR and a name tempfile chose, quoted for the shell.
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    super::print(&format!(
        "{}={}; export {}; exec >{} 2>&1\n",
        vars::AKL_MASK_SOCKET,
        quote(&socket),
        vars::AKL_MASK_SOCKET,
        quote(&fifo)
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// Starts `akl __filter DIR`: its own process group (an interrupt to the job must not
/// stop it before the output is out), stdin closed, stdout the job's stderr.
fn start_filter(dir: &Path) -> Result<()> {
    let me = std::env::current_exe()
        .map_err(|e| Error::other(format!("cannot find akl's own executable: {e}")))?;
    let log = std::io::stderr()
        .lock()
        .as_fd_clone()
        .map_err(|e| Error::other(format!("cannot pass the log to the masker: {e}")))?;
    std::process::Command::new(me)
        .arg("__filter")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .process_group(0)
        .spawn()
        .map(drop)
        .map_err(|e| Error::other(format!("cannot start the masker: {e}")))
}

/// `akl __filter DIR`: listens at `DIR/socket`, masks what the shell writes to `DIR/out`.
pub fn filter(env: &Env, dir: &PathBuf) -> Result<ExitCode> {
    let (masker, _) = Masker::new(super::run::credentials(env), None);
    let masker = Arc::new(masker);
    let listener = channel::Listener::at(masker.clone(), dir)
        .map_err(|e| Error::other(format!("cannot listen in {}: {e}", dir.display())))?;
    // Blocks until the shell opens it for writing.
    let fifo = std::fs::File::open(dir.join("out"))
        .map_err(|e| Error::other(format!("cannot open the shell's output: {e}")))?;
    let result = run::filter(fifo.into(), masker);
    drop(listener);
    let _ = std::fs::remove_dir_all(dir);
    result.map(|()| ExitCode::SUCCESS)
}

/// A descriptor of our own for a standard stream.
trait AsFdClone {
    fn as_fd_clone(&self) -> std::io::Result<std::os::fd::OwnedFd>;
}

impl<T: std::os::fd::AsFd> AsFdClone for T {
    fn as_fd_clone(&self) -> std::io::Result<std::os::fd::OwnedFd> {
        self.as_fd().try_clone_to_owned()
    }
}
