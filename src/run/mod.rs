//! Process control, all of it: replacing `akl` with a command, or running the command with
//! its output redacted while forwarding signals to it, and the duties of PID 1.
//!
//! Supervising: the command's stdin is inherited and never read here; its stdout and
//! stderr are pipes, each pumped by a thread through its own redactor to ours, and every
//! byte is written as soon as it is settled, or once the command has been quiet for
//! `QUIET`. When our stdout and stderr are one file, the
//! command gets one pipe for both, so their order is kept. Values registered while it
//! runs (`channel`) are masked from then on (`masker`). SIGINT, SIGTERM, SIGHUP, SIGQUIT,
//! SIGUSR1, SIGUSR2 and SIGWINCH are forwarded, and masking goes on until the command has
//! exited. The exit code is the command's, or 128+signal. As PID 1 (a container's
//! entrypoint) `akl` also reaps the orphans the kernel hands it, as an init does.

pub mod channel;
mod masker;
pub mod reap;

use std::ffi::{OsStr, OsString};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, WaitOptions};
use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH};
use signal_hook::iterator::Signals;

use crate::error::{Error, Kind, Result};
use crate::mask::Redactor;

pub use masker::Masker;

const FORWARDED: [i32; 7] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH];

/// After the command exits, its output drains until the pipes close, or until they have
/// been quiet for `DRAIN_QUIET`, and never past `DRAIN_MAX`: something it left behind (a
/// daemon, a cleanup that outlives a cancelled job's shell) may hold them open for ever,
/// and what it still writes within that grace is kept.
const DRAIN_QUIET: Duration = Duration::from_secs(2);
const DRAIN_MAX: Duration = Duration::from_secs(10);

/// Bytes held back because they could start a secret are written after the command has
/// been quiet this long: a prompt or a partial line shows up at once, to the eye.
const QUIET: Duration = Duration::from_millis(50);

/// Pipe capacity and read size for the command's output.
const PIPE_SIZE: usize = 256 << 10;

/// Where a command is looked for when PATH is unset: musl's `execvp` default.
const DEFAULT_PATH: &str = "/usr/local/bin:/bin:/usr/bin";

/// A command and the complete environment it gets.
#[derive(Debug)]
pub struct Command {
    /// The name it was given as, its `argv[0]`.
    pub program: OsString,
    /// The file `locate` found for it.
    pub file: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
}

/// Finds the file a shell would run for `program`: the path itself when it has a slash,
/// else the first executable of that name in `path` (the child's PATH). Done before any
/// request, so a typo costs nothing (no login, no dynamic credentials minted) and gets the
/// shell's codes: 127 when nothing is found, 126 when what is found cannot be run.
pub fn locate(program: &OsStr, path: Option<&str>) -> Result<PathBuf> {
    let path = path.unwrap_or(DEFAULT_PATH);
    let cwd = std::env::current_dir()
        .map_err(|e| Error::other(format!("cannot read the working directory: {e}")))?;
    if let Ok(file) = which::which_in(program, Some(path), &cwd) {
        return Ok(file);
    }
    let name = program.to_string_lossy();
    let has_slash = program.as_encoded_bytes().contains(&b'/');
    // What `which` passed over: a directory, or a file without the execute bit.
    let candidates: Vec<PathBuf> = if has_slash {
        vec![cwd.join(program)]
    } else {
        std::env::split_paths(path)
            .map(|dir| cwd.join(dir).join(program))
            .collect()
    };
    match candidates.iter().find(|c| c.exists()) {
        Some(found) if found.is_dir() => Err(Error::new(
            Kind::Command(126),
            format!("cannot run {name}: {} is a directory", found.display()),
        )),
        Some(found) => Err(Error::new(
            Kind::Command(126),
            format!("cannot run {name}: {} is not executable", found.display()),
        )
        .hint(format!("chmod +x {}", found.display()))),
        None if has_slash => Err(Error::new(
            Kind::Command(127),
            format!("cannot run {name}: no such file"),
        )),
        None => Err(Error::new(
            Kind::Command(127),
            format!("cannot run {name}: command not found"),
        )
        .detail(format!("searched PATH={path}"))
        .hint("check the spelling, or give the command's full path")),
    }
}

impl Command {
    /// Sets (or replaces) one variable of the command's environment.
    pub fn set_env(&mut self, name: &str, value: &OsStr) {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.into(), value.to_owned()));
    }

    fn std(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(&self.file);
        cmd.arg0(&self.program)
            .args(&self.args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }
}

/// Replaces this process with the command: its PID, signals and exit code are its own.
/// Returns only if that failed.
pub fn exec(cmd: &Command) -> Error {
    cannot_run(cmd, cmd.std().exec())
}

/// Runs the command with its output masked by `masker` (passed through untouched
/// without one) and returns its exit code.
pub fn supervise(cmd: &Command, masker: Option<Arc<Masker>>) -> Result<ExitCode> {
    // Handlers go in before the child exists, so no signal can slip past it.
    let signals = Signals::new(FORWARDED).map_err(|e| exhausted("cannot handle signals", e))?;
    let handle = signals.handle();

    // When our stdout and stderr are one file (`2>&1`, a container's log), the command gets
    // one pipe for both, so its two streams keep the order it wrote them in.
    let Some(masker) = masker else {
        return unmasked(cmd, signals);
    };
    let merged = same_file(io::stdout().as_fd(), io::stderr().as_fd());
    let (out_read, out_write) = pipe()?;
    let (err_read, err_write) = match merged {
        true => (
            None,
            out_write
                .try_clone()
                .map_err(|e| exhausted("cannot share the pipe for the command's output", e))?,
        ),
        false => {
            let (read, write) = pipe()?;
            (Some(read), write)
        }
    };
    let mut std = cmd.std();
    std.stdin(Stdio::inherit())
        .stdout(Stdio::from(out_write))
        .stderr(Stdio::from(err_write));
    let mut child = std.spawn().map_err(|e| cannot_run(cmd, e))?;
    // The write ends live on in the child only: the pipes close when it (and whatever it
    // leaves behind) is done.
    drop(std);
    let pid = Pid::from_child(&child);
    // Without its threads the command's output would go unmasked or nowhere: stop it and
    // say why (a process or thread limit, `ulimit -u`), rather than leave it orphaned.
    let abandon = |child: &mut Child, e: io::Error| {
        let _ = child.kill();
        let _ = child.wait();
        exhausted(
            &format!(
                "cannot start a thread to supervise {} (it was stopped)",
                cmd.program.to_string_lossy()
            ),
            e,
        )
    };
    let forwarder = forward(signals, pid).map_err(|e| abandon(&mut child, e))?;

    let started = Instant::now();
    let activity = Arc::new(AtomicU64::new(0));
    let (done, drained) = mpsc::channel();
    let mut pumps = 0;
    for (from, sink) in [(Some(out_read), Sink::Stdout), (err_read, Sink::Stderr)] {
        if let Some(from) = from {
            pumps += 1;
            pump(
                from,
                sink,
                masker.clone(),
                Activity(started, activity.clone()),
                done.clone(),
            )
            .map_err(|e| abandon(&mut child, e))?;
        }
    }

    let status = wait(&mut child, pid)
        .map_err(|e| Error::other(format!("waiting for the command failed: {e}")))?;
    drain(&drained, pumps, started, &activity);
    handle.close();
    let _ = forwarder.join();
    Ok(ExitCode::from(status))
}

/// Runs the command with our stdin, stdout and stderr, forwarding signals to it.
fn unmasked(cmd: &Command, signals: Signals) -> Result<ExitCode> {
    let handle = signals.handle();
    let mut child = cmd.std().spawn().map_err(|e| cannot_run(cmd, e))?;
    let pid = Pid::from_child(&child);
    let forwarder = forward(signals, pid).map_err(|e| {
        let _ = child.kill();
        let _ = child.wait();
        exhausted(
            "cannot start a thread to forward signals (the command was stopped)",
            e,
        )
    })?;
    let status = wait(&mut child, pid)
        .map_err(|e| Error::other(format!("waiting for the command failed: {e}")))?;
    handle.close();
    let _ = forwarder.join();
    Ok(ExitCode::from(status))
}

/// Forwards every signal `signals` catches to `pid`, on a thread of its own.
fn forward(mut signals: Signals, pid: Pid) -> io::Result<thread::JoinHandle<()>> {
    thread::Builder::new()
        .name("akl-signals".into())
        .spawn(move || {
            for raw in signals.forever() {
                if let Some(signal) = Signal::from_named_raw(raw) {
                    // The child may be gone already; nothing to do then.
                    let _ = rustix::process::kill_process(pid, signal);
                }
            }
        })
}

/// Masks what arrives on `from`, until every writer has closed it, onto our stdout:
/// the filter of `akl mask-shell`, which a job's shell sends its output to.
pub fn filter(from: OwnedFd, masker: Arc<Masker>) -> Result<()> {
    let (done, drained) = mpsc::channel();
    let activity = Activity(Instant::now(), Arc::new(AtomicU64::new(0)));
    pump(from, Sink::Stdout, masker, activity, done)
        .map_err(|e| exhausted("cannot start the thread that masks the output", e))?;
    let _ = drained.recv();
    Ok(())
}

/// Waits for the pumps after the command exited: until every pipe closed, or until they
/// were quiet for `DRAIN_QUIET`, and never past `DRAIN_MAX`.
fn drain(drained: &mpsc::Receiver<()>, mut pumps: usize, started: Instant, activity: &AtomicU64) {
    let exited = Instant::now();
    while pumps > 0 {
        let quiet_since = started + Duration::from_millis(activity.load(Ordering::Relaxed));
        let quiet_until = quiet_since.max(exited) + DRAIN_QUIET;
        let until = quiet_until.min(exited + DRAIN_MAX);
        let now = Instant::now();
        if now >= until {
            return;
        }
        match drained.recv_timeout((until - now).min(Duration::from_millis(200))) {
            Ok(()) => pumps -= 1,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// A new pipe, both ends closed on exec (the child gets its end through `Stdio`).
fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| exhausted("cannot create a pipe for the command's output", e.into()))?;
    // Larger pipes mean fewer wake-ups per megabyte for a chatty command; the default
    // 64 KiB is kept if the system refuses.
    let _ = rustix::pipe::fcntl_setpipe_size(&read, PIPE_SIZE);
    Ok((read, write))
}

/// Whether two descriptors are the same open file (same device and inode).
fn same_file(a: BorrowedFd<'_>, b: BorrowedFd<'_>) -> bool {
    match (rustix::fs::fstat(a), rustix::fs::fstat(b)) {
        (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
        _ => false,
    }
}

#[derive(Debug, Clone, Copy)]
enum Sink {
    Stdout,
    Stderr,
}

/// When output last arrived, in milliseconds since the command started.
#[derive(Debug)]
struct Activity(Instant, Arc<AtomicU64>);

impl Activity {
    fn now(&self) {
        let ms = self.0.elapsed().as_millis() as u64;
        self.1.store(ms, Ordering::Relaxed);
    }
}

/// Copies `from` to the sink through a redactor, writing each settled piece at once. The
/// masker's patterns are looked at after every read, so a value registered before that
/// read is masked in it. Bytes held back because they could start a secret are written
/// once the command has written nothing for `QUIET` (a prompt, a partial line); the rest
/// of a secret that started in them is still masked if it comes later.
fn pump(
    from: OwnedFd,
    sink: Sink,
    masker: Arc<Masker>,
    activity: Activity,
    done: mpsc::Sender<()>,
) -> io::Result<()> {
    let spawned = thread::Builder::new()
        .name("akl-pump".into())
        .spawn(move || {
            let mut from = std::fs::File::from(from);
            let (mut epoch, patterns) = masker.patterns();
            let mut redactor = Redactor::new(patterns);
            let mut sink: Box<dyn Write> = match sink {
                Sink::Stdout => {
                    unbuffered(io::stdout().as_fd()).unwrap_or_else(|| Box::new(io::stdout()))
                }
                Sink::Stderr => {
                    unbuffered(io::stderr().as_fd()).unwrap_or_else(|| Box::new(io::stderr()))
                }
            };
            let mut buf = vec![0; PIPE_SIZE];
            let mut out = Vec::with_capacity(buf.len() + 64);
            let mut write = |out: &[u8]| {
                out.is_empty() || sink.write_all(out).and_then(|()| sink.flush()).is_ok()
            };
            let mut refresh = |redactor: &mut Redactor| {
                if masker.changed_since(epoch) {
                    let (now, patterns) = masker.patterns();
                    epoch = now;
                    redactor.set_patterns(patterns);
                }
            };
            // Since when the oldest byte held back has waited.
            let mut held_since: Option<Instant> = None;
            loop {
                if let Some(since) = held_since {
                    if !readable_within(&from, QUIET.saturating_sub(since.elapsed())) {
                        refresh(&mut redactor);
                        out.clear();
                        redactor.flush_held(&mut out);
                        held_since = None;
                        if !write(&out) {
                            return;
                        }
                        continue;
                    }
                }
                match from.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        activity.now();
                        refresh(&mut redactor);
                        out.clear();
                        redactor.push(&buf[..n], &mut out);
                        held_since = match redactor.pending() {
                            0 => None,
                            // All of it came with this read.
                            pending if pending <= n => Some(Instant::now()),
                            _ => held_since,
                        };
                        // Our side closed: stop reading, so the command sees a closed pipe as it
                        // would have without us.
                        if !write(&out) {
                            return;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            out.clear();
            redactor.finish(&mut out);
            write(&out);
            let _ = done.send(());
        });
    spawned.map(drop)
}

/// A descriptor of our own for stdout or stderr, written without std's line buffering:
/// the pump writes whole chunks and flushes each, and std would scan every chunk for its
/// last newline (all of it, in output that is one long line).
fn unbuffered(fd: BorrowedFd<'_>) -> Option<Box<dyn Write>> {
    let file = std::fs::File::from(fd.try_clone_to_owned().ok()?);
    Some(Box::new(file))
}

/// Whether `from` has something to read (or has closed) within `wait`. A failed wait
/// counts as readable: the read that follows reports it.
fn readable_within(from: &std::fs::File, wait: Duration) -> bool {
    let timeout = rustix::event::Timespec {
        tv_sec: wait.as_secs() as _,
        tv_nsec: wait.subsec_nanos() as _,
    };
    let mut fds = [rustix::event::PollFd::new(
        from,
        rustix::event::PollFlags::IN,
    )];
    loop {
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(ready) => return ready > 0,
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return true,
        }
    }
}

/// Waits for the command and returns the exit code to pass on. As PID 1, every child is
/// reaped while waiting: orphans would otherwise stay zombies for the container's life.
fn wait(child: &mut Child, pid: Pid) -> io::Result<u8> {
    if !rustix::process::getpid().is_init() {
        let status = child.wait()?;
        return Ok(exit_code(status.code(), status.signal()));
    }
    loop {
        match rustix::process::wait(WaitOptions::empty()) {
            Ok(Some((reaped, status))) if reaped == pid => {
                return Ok(exit_code(status.exit_status(), status.terminating_signal()));
            }
            Ok(_) => {} // an orphan, reaped
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// The code to pass on: the command's own, or 128+signal when a signal ended it.
fn exit_code(code: Option<i32>, signal: Option<i32>) -> u8 {
    match (code, signal) {
        (Some(code), _) => code as u8,
        (None, Some(signal)) => 128 + signal as u8,
        (None, None) => 1,
    }
}

/// The error for a command that could not be started, with the shell's exit codes: 127
/// when it does not exist, 126 when it cannot be executed.
/// An operating-system resource ran out: exit 1, saying which limit to raise when the
/// error says so (EAGAIN, ENOMEM, EMFILE, ENFILE).
fn exhausted(what: &str, e: io::Error) -> Error {
    let err = Error::other(format!("{what}: {e}"));
    match e.raw_os_error() {
        Some(11 | 12) => err
            .hint("a limit on processes or threads (ulimit -u) or on memory was reached: raise it"),
        Some(23 | 24) => err.hint("a limit on open files (ulimit -n) was reached: raise it"),
        _ => err,
    }
}

fn cannot_run(cmd: &Command, e: io::Error) -> Error {
    let name = cmd.program.to_string_lossy();
    // A limit was reached: not a problem with the command.
    if matches!(e.raw_os_error(), Some(11 | 12 | 23 | 24)) {
        return exhausted(&format!("cannot start {name}"), e);
    }
    let code = match e.kind() {
        io::ErrorKind::NotFound => 127,
        _ => 126,
    };
    let err = Error::new(Kind::Command(code), format!("cannot run {name}: {e}"));
    if e.raw_os_error() == Some(7) {
        // E2BIG: one variable over the kernel's limit for a single string, or all of them
        // together over its limit for the whole (a quarter of the stack limit).
        let size = |(k, v): &&(OsString, OsString)| k.len() + v.len() + 2;
        let mut vars: Vec<&(OsString, OsString)> = cmd.env.iter().collect();
        vars.sort_by_key(|var| std::cmp::Reverse(size(var)));
        let names = |vars: &[&(OsString, OsString)]| {
            let names: Vec<_> = vars.iter().map(|(k, _)| k.to_string_lossy()).collect();
            names.join(", ")
        };
        let over = vars.partition_point(|var| size(var) > 128 << 10);
        return err.hint(match over {
            0 => format!(
                "the environment and the arguments together are more than Linux passes to a program (a quarter of ulimit -s); the largest variables: {}. Use akl env and source the file instead, or raise ulimit -s",
                names(&vars[..vars.len().min(3)])
            ),
            _ => format!(
                "Linux passes no environment variable over 128 KiB to a program; too large: {}. Use akl env and source the file instead",
                names(&vars[..over])
            ),
        });
    }
    err
}
