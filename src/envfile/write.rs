//! Writing a file of secrets: atomic, 0600 in a 0700 directory that passes `files`'s rule
//! (ours or root's, writable by nobody else).
//!
//! The file is written to a temporary file in the same directory and renamed over the
//! target, so a reader sees the old file or the new one, never half of one. An existing
//! target must be a regular file: a device or a link is refused, not replaced. A record
//! that only grows is appended to instead (`append`), in one write.
//!
//! Nothing is synced to the disk: every file written here (the env file, the files of
//! outputs, the record of credentials to revoke, a kept token) is read by the same job on
//! the same machine, which sees it whole once renamed, and a crash of the machine ends
//! the job and every use of them. An fsync on a busy runner's disk costs milliseconds to
//! tens of milliseconds, for nothing.

use std::fs::{self, DirBuilder};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use crate::error::Error;
use crate::files;
use crate::secret::Secret;

/// A file that could not be written, with the reason kept for deciding what to do next.
#[derive(Debug)]
pub enum WriteError {
    Io {
        message: String,
        source: std::io::Error,
    },
    /// The place is someone else's, or the target is not a regular file.
    Refused(Error),
}

impl WriteError {
    /// The place is not ours to write (permissions, a read-only filesystem): another
    /// place may work where a full disk, or someone else's directory, would not.
    pub fn is_denied(&self) -> bool {
        matches!(self, WriteError::Io { source, .. } if matches!(
            source.kind(),
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
        ))
    }
}

impl From<WriteError> for Error {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Io { message, source } => Error::other(format!("{message}: {source}"))
                .hint("set AKEYLESS_ENV_FILE (or --output) to a path in a writable directory"),
            WriteError::Refused(e) => e,
        }
    }
}

/// Temporary files of a run that was killed (kill -9 leaves them) are removed by the next
/// write to the same directory once they are this old; younger ones may belong to a run
/// still writing.
const STALE: Duration = Duration::from_secs(60);

/// Writes `content` to `path` atomically, creating missing directories with mode 0700.
pub fn write(path: &Path, content: &Secret) -> Result<(), WriteError> {
    write_bytes(path, content.expose().as_bytes())
}

/// `write`, for any bytes (a `|file=true` output may be binary).
pub fn write_bytes(path: &Path, content: &[u8]) -> Result<(), WriteError> {
    let dir = parent(path);
    prepare(dir)?;
    write_in(dir, path, content)
}

/// Makes `dir` ready for `write_in`: created (0700) where missing and checked against
/// `files`'s rule, then cleared of what killed runs left in it. Once per directory, however
/// many files go in it: a job with thousands of file outputs costs what it writes.
pub(super) fn prepare(dir: &Path) -> Result<(), WriteError> {
    create_dir(dir)?;
    files::check_dir(dir).map_err(WriteError::Refused)?;
    remove_stale_temporaries(dir);
    Ok(())
}

/// Writes `content` to `path` in `dir`, which `prepare` made ready.
pub(super) fn write_in(dir: &Path, path: &Path, content: &[u8]) -> Result<(), WriteError> {
    files::check_target(path).map_err(WriteError::Refused)?;
    let fail = |what: String| {
        move |source| WriteError::Io {
            message: what,
            source,
        }
    };
    let shown = path.display();
    // tempfile creates the file with mode 0600 before a byte is written.
    let mut file = tempfile::Builder::new()
        .prefix(".akl-")
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(fail(format!(
            "cannot create a temporary file next to {shown}"
        )))?;
    file.write_all(content)
        .map_err(fail(format!("cannot write {shown}")))?;
    // On failure the temporary file is removed when `file` drops: nothing half-written.
    file.persist(path).map_err(|e| WriteError::Io {
        message: format!("cannot replace {shown}"),
        source: e.error,
    })?;
    Ok(())
}

/// Appends `content` to `path` with one write, creating it (0600, and missing directories
/// 0700) if need be: for a record that only grows, so a run costs what it adds rather than
/// a rewrite of everything before it, and two runs appending at once both keep theirs.
/// The directory must pass `files`'s rule; an existing file must be a regular file of ours
/// (or root's) that nobody else may write, and a link there is refused, not followed. A
/// file that would grow past `max` bytes is left as it is, and that is an error.
///
/// The write holds an exclusive `flock` on the file, which is how a rewrite of it under
/// the same lock (revoking what a record names) keeps the lines added meanwhile: they wait
/// for it (`files::lock`: 10 s at most), then go to the file that replaced the one they
/// opened.
pub fn append(path: &Path, content: &[u8], max: u64) -> Result<(), WriteError> {
    let dir = parent(path);
    create_dir(dir)?;
    trusted(dir, path)?;
    let shown = path.display();
    let io = |message: String| move |source| WriteError::Io { message, source };
    // Each turn opens what the name holds now; another turn is needed only when a
    // rewrite replaced the file while this run waited for its lock.
    for _ in 0..16 {
        let (mut file, meta) = open_appending(path)?;
        files::lock(&file, path).map_err(WriteError::Refused)?;
        if !files::still_named(path, &meta) {
            continue;
        }
        // What was written before the lock was held counts: another run's lines.
        let len = file
            .metadata()
            .map_err(io(format!("cannot examine {shown}")))?
            .len();
        // A write cut short before (a full disk) left a line without its end: this one
        // starts on a line of its own rather than run into it.
        let mut last = [0u8];
        let torn = len > 0
            && std::os::unix::fs::FileExt::read_at(&file, &mut last, len - 1).is_ok_and(|n| n == 1)
            && last[0] != b'\n';
        let content: std::borrow::Cow<[u8]> = match torn {
            true => [b"\n", content].concat().into(),
            false => content.into(),
        };
        if len + content.len() as u64 > max {
            return Err(WriteError::Refused(
                Error::other(format!(
                    "{shown} is full ({} MiB): nothing more is recorded in it",
                    max >> 20
                ))
                .hint("run akl revoke (or remove the file; what it names expires with its TTL)"),
            ));
        }
        // Readable by others (a file made by hand): only akl's own mode from now on.
        if meta.mode() & 0o077 != 0 {
            file.set_permissions(fs::Permissions::from_mode(0o600))
                .map_err(io(format!("cannot make {shown} private")))?;
        }
        return file
            .write_all(&content)
            .map_err(io(format!("cannot write {shown}")));
    }
    Err(WriteError::Io {
        message: format!("cannot append to {shown}"),
        source: std::io::Error::other("it was replaced again and again while akl waited for it"),
    })
}

/// Opens `path` to append to it, creating it if missing: a regular file of ours that
/// nobody else may write, checked on what was opened, not on the name (nothing can be
/// swapped in between).
fn open_appending(path: &Path) -> Result<(fs::File, fs::Metadata), WriteError> {
    use std::os::unix::fs::OpenOptionsExt;
    let shown = path.display();
    let file = fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        // Not through a link; and a FIFO put there fails to open rather than hang.
        .custom_flags((rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32)
        .open(path)
        .map_err(|source| match source.raw_os_error() {
            // O_NOFOLLOW's answer when the last component is a link.
            Some(e) if e == rustix::io::Errno::LOOP.raw_os_error() => {
                WriteError::Refused(files::not_regular(path))
            }
            _ => WriteError::Io {
                message: format!("cannot open {shown}"),
                source,
            },
        })?;
    let meta = file.metadata().map_err(|source| WriteError::Io {
        message: format!("cannot examine {shown}"),
        source,
    })?;
    if !meta.is_file() {
        return Err(WriteError::Refused(files::not_regular(path)));
    }
    files::check_opened(path, &meta).map_err(WriteError::Refused)?;
    Ok((file, meta))
}

/// Proves that `path` can be written, before any request: its directory is created (0700)
/// if missing and a temporary file is created and dropped there. Nothing is synced or
/// renamed, and the target itself is not touched.
pub fn check_writable(path: &Path) -> Result<(), WriteError> {
    let dir = parent(path);
    create_dir(dir)?;
    // The trial file first: a directory we may not write in (another user's HOME, say)
    // is "not writable", which the default place falls back from, rather than a refusal.
    // It is made only where we may write, and gone at once.
    tempfile::Builder::new()
        .prefix(".akl-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map(drop)
        .map_err(|source| WriteError::Io {
            message: format!("cannot create a file in {}", dir.display()),
            source,
        })?;
    trusted(dir, path)
}

/// The directory and an existing target pass `files`'s rule.
fn trusted(dir: &Path, path: &Path) -> Result<(), WriteError> {
    files::check_dir(dir)
        .and_then(|()| files::check_target(path))
        .map_err(WriteError::Refused)
}

/// Creates `dir` (0700) and what is missing above it, once the part of the way that
/// exists has passed `files`'s rule: nothing is made in someone else's directory. Each
/// missing directory is made on its own and the way checked again, so that a link planted
/// meanwhile (in a sticky `/tmp`) is refused rather than followed.
fn create_dir(dir: &Path) -> Result<(), WriteError> {
    use std::path::Component;
    if dir.is_dir() {
        return Ok(());
    }
    let refused = |why: String| WriteError::Refused(Error::usage(why));
    // What is missing, from the first that exists down to `dir`.
    let mut missing = Vec::new();
    let mut existing = dir;
    while fs::symlink_metadata(existing).is_err() {
        match existing.components().next_back() {
            Some(Component::Normal(_)) => missing.push(existing),
            _ => {
                return Err(refused(format!(
                    "{}: a path whose missing part climbs with .. is not made",
                    dir.display()
                )));
            }
        }
        existing = match existing.parent() {
            Some(p) if p.as_os_str().is_empty() => Path::new("."),
            Some(p) => p,
            None => break,
        };
    }
    files::check_way(existing).map_err(WriteError::Refused)?;
    for made in missing.into_iter().rev() {
        match DirBuilder::new().mode(0o700).create(made) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(source) => {
                return Err(WriteError::Io {
                    message: format!("cannot create the directory {}", made.display()),
                    source,
                });
            }
        }
        files::check_way(made).map_err(WriteError::Refused)?;
    }
    Ok(())
}

/// Deletes `.akl-*.tmp` files older than `STALE` in `dir`: they hold secrets, and nothing
/// else will ever remove them.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let old = || {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > STALE))
        };
        if name.starts_with(".akl-") && name.ends_with(".tmp") && old() {
            let _ = fs::remove_file(entry.path());
        }
    }
}

pub(super) fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_atomically_with_private_modes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/.akeyless/env");
        write(&path, &Secret::new("export A='1'\n")).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "export A='1'\n");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        // Replacing leaves no temporary files behind.
        write(&path, &Secret::new("export A='2'\n")).unwrap();
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["env"]);
    }

    #[test]
    fn temporaries_of_killed_runs_are_removed_once_stale() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(".akl-dead.tmp");
        let fresh = dir.path().join(".akl-live.tmp");
        let other = dir.path().join(".other.tmp");
        for f in [&stale, &fresh, &other] {
            fs::write(f, "secret").unwrap();
        }
        let long_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        for f in [&stale, &other] {
            fs::File::options()
                .write(true)
                .open(f)
                .unwrap()
                .set_modified(long_ago)
                .unwrap();
        }
        write(&dir.path().join("env"), &Secret::new("")).unwrap();
        assert!(!stale.exists(), "a stale temporary goes");
        assert!(fresh.exists(), "a young one may belong to a live run");
        assert!(other.exists(), "only akl's own");
    }

    #[test]
    fn nothing_is_removed_from_a_directory_that_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        // Anyone may write here and it is not sticky: not a place for secrets.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let stale = dir.path().join(".akl-dead.tmp");
        fs::write(&stale, "someone's").unwrap();
        let long_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        let err = write(&dir.path().join("env"), &Secret::new("")).unwrap_err();
        assert!(matches!(err, WriteError::Refused(_)), "{err:?}");
        assert!(stale.exists(), "a refused directory is left as it was");
    }

    #[test]
    fn a_link_or_device_at_the_target_is_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "untouched").unwrap();
        let path = dir.path().join("env");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        let err = Error::from(write(&path, &Secret::new("new")).unwrap_err()).to_string();
        assert!(err.contains("is not a regular file"), "{err}");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "untouched");
        assert!(
            fs::symlink_metadata(&path)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let err = Error::from(check_writable(Path::new("/dev/null")).unwrap_err()).to_string();
        assert!(
            err.contains("/dev/null exists and is not a regular file"),
            "{err}"
        );
    }
}
