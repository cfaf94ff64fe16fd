//! The channel that registers values with a running masker: a Unix socket in a private
//! directory, whose path the command and everything it starts learn from
//! `AKL_MASK_SOCKET`.
//!
//! A socket because registration must be acknowledged before the value is printed, so the
//! channel has to answer; a path because it survives `sh -c`, `bash` and `env` where an
//! inherited descriptor may be closed; the value itself travels neither in argv nor in the
//! environment. The directory is 0700, and the kernel names the peer of every connection
//! (`SO_PEERCRED`): a process of another user is refused even where the mode would let it
//! in.
//!
//! The protocol: the client sends `AKL-MASK/1\n`, then each value as a 4-byte big-endian
//! length and its bytes, then closes its write half; the server answers `+\n` once the
//! values are masked, or `-` and a reason.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::secret::Secret;

use super::masker::Masker;

const HELLO: &[u8] = b"AKL-MASK/1\n";
/// Far above what a job registers (a dynamic secret is a few hundred bytes), far below
/// what would strain the masker's memory.
const MAX_TOTAL: usize = 64 << 20;
const MAX_VALUES: usize = 100_000;
/// How long a client may take to send, and how long it waits for the answer (which
/// includes the enclosing maskers' answers).
const TIMEOUT: Duration = Duration::from_secs(10);

/// A listening socket; the directory and socket are removed when it is dropped.
#[derive(Debug)]
pub struct Listener {
    path: PathBuf,
    /// The private directory made for it, removed on drop; none when given one.
    _dir: Option<tempfile::TempDir>,
}

impl Listener {
    /// Listens in a new private directory under `tmp` and registers what arrives with
    /// `masker`, on a thread of its own.
    pub fn start(masker: Arc<Masker>, tmp: &Path) -> io::Result<Listener> {
        let dir = tempfile::Builder::new()
            .prefix("akl-mask-")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in(tmp)?;
        let mut listener = Listener::at(masker, dir.path())?;
        listener._dir = Some(dir);
        Ok(listener)
    }

    /// Listens at `socket` in `dir`, a private directory the caller made (and removes).
    pub fn at(masker: Arc<Masker>, dir: &Path) -> io::Result<Listener> {
        let path = dir.join("socket");
        let listener = UnixListener::bind(&path)?;
        thread::Builder::new()
            .name("akl-mask-channel".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    serve(stream, &masker);
                }
            })?;
        Ok(Listener { path, _dir: None })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Answers one client.
fn serve(mut stream: UnixStream, masker: &Masker) {
    let answer = match receive(&mut stream) {
        Ok(values) => match masker.add(values) {
            Ok(_) => b"+\n".to_vec(),
            Err(e) => format!("-the enclosing masker refused them: {}\n", e.parts().0).into_bytes(),
        },
        Err(why) => format!("-{why}\n").into_bytes(),
    };
    let _ = stream.write_all(&answer);
}

fn receive(stream: &mut UnixStream) -> std::result::Result<Vec<Secret>, String> {
    let peer = rustix::net::sockopt::socket_peercred(&*stream)
        .map_err(|e| format!("cannot tell who is asking ({e})"))?;
    let me = rustix::process::geteuid();
    if peer.uid != me {
        return Err(format!(
            "refused: the caller runs as uid {}, this masker as uid {}",
            peer.uid.as_raw(),
            me.as_raw()
        ));
    }
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream.take(MAX_TOTAL as u64 + 1));
    let mut hello = Vec::new();
    reader
        .read_until(b'\n', &mut hello)
        .map_err(|e| e.to_string())?;
    if hello != HELLO {
        return Err("not an akl client".into());
    }
    let mut values = Vec::new();
    let mut total = 0;
    loop {
        let mut len = [0u8; 4];
        match reader.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(values),
            Err(e) => return Err(e.to_string()),
        }
        let len = u32::from_be_bytes(len) as usize;
        total += len;
        if total > MAX_TOTAL || values.len() >= MAX_VALUES {
            return Err("too many values at once".into());
        }
        let mut value = vec![0; len];
        reader.read_exact(&mut value).map_err(|e| e.to_string())?;
        // Valid UTF-8 becomes the value as it is, without a copy (a value may be many MiB).
        let value = String::from_utf8(value)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        values.push(Secret::new(value));
    }
}

/// Registers `values` with the masker listening at `socket` and waits until it masks them.
pub fn send(socket: &Path, values: &[Secret]) -> Result<()> {
    let fail = |why: String| {
        Error::other(format!(
            "cannot register values with the output masker at {}: {why}",
            socket.display()
        ))
        .hint("nothing was printed: the job's masker (akl run) does not answer; unset AKL_MASK_SOCKET to go on without masking")
    };
    let stream = UnixStream::connect(socket).map_err(|e| fail(e.to_string()))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| fail(e.to_string()))?;
    if values
        .iter()
        .any(|v| u32::try_from(v.expose().len()).is_err())
    {
        return Err(fail("a value is too large".into()));
    }
    // Written as they are, through a small buffer: a copy of the whole message would
    // double the memory a large value takes.
    let write = || -> io::Result<()> {
        let mut out = io::BufWriter::new(&stream);
        out.write_all(HELLO)?;
        for value in values {
            let bytes = value.expose().as_bytes();
            out.write_all(&(bytes.len() as u32).to_be_bytes())?;
            out.write_all(bytes)?;
        }
        out.flush()
    };
    // A refusing masker answers without reading: its answer says more than the broken
    // pipe the write then meets.
    let sent = write().and_then(|()| stream.shutdown(std::net::Shutdown::Write));
    let mut answer = String::new();
    let read = BufReader::new(&stream).read_line(&mut answer);
    match answer.strip_prefix('-') {
        Some(why) => Err(fail(why.trim_end().to_owned())),
        None if answer == "+\n" => Ok(()),
        None => Err(fail(match (sent, read) {
            (Err(e), _) | (_, Err(e)) => e.to_string(),
            _ => "it gave no answer".into(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_sent_are_masked_before_the_answer() {
        let tmp = tempfile::tempdir().unwrap();
        let masker = Arc::new(Masker::new(Vec::new(), None).0);
        let listener = Listener::start(masker.clone(), tmp.path()).unwrap();
        let dir = listener.path().parent().unwrap().to_path_buf();
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let (epoch, _) = masker.patterns();
        send(listener.path(), &[Secret::new("sent-secret-value")]).unwrap();
        assert!(masker.changed_since(epoch), "masked before send returned");
        let mut out = Vec::new();
        let mut redactor = crate::mask::Redactor::new(masker.patterns().1);
        redactor.push(b"x sent-secret-value y", &mut out);
        redactor.finish(&mut out);
        assert_eq!(out, b"x [MASKED] y");
        drop(listener);
        assert!(!dir.exists(), "the directory goes with the listener");
    }

    #[test]
    fn a_stranger_and_garbage_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let masker = Arc::new(Masker::new(Vec::new(), None).0);
        let listener = Listener::start(masker, tmp.path()).unwrap();
        let mut stream = UnixStream::connect(listener.path()).unwrap();
        stream.write_all(b"GET / HTTP/1.1\n").unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert_eq!(answer, "-not an akl client\n");
        let err = send(&tmp.path().join("nothing-here"), &[Secret::new("x")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot register values"), "{err}");
    }
}
