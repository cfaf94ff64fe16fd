//! Which files and directories `akl` may trust, on a machine it may share with others.
//!
//! One rule, applied everywhere `akl` writes secrets, or reads secrets or stamps: the
//! directory (and the file) must belong to the running user or to root and must not be
//! writable by anyone else; every directory above it must belong to us or root and, if
//! others may write it, be sticky (as `/tmp` is), so nobody can swap what lies below. A
//! symbolic link counts as what it points to, and must itself belong to us or root, wherever
//! it is met on the way.
//! Reads are of regular files only, with a size cap: a FIFO or a device would hang or
//! flood a run.

use std::fs::{File, Metadata};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const STICKY: u32 = 0o1000;
const WRITABLE_BY_OTHERS: u32 = 0o022;

/// Why a path is not ours to trust, in words for the error.
fn refuse(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::usage(format!(
        "{} {why}: refusing to read or write secrets there",
        path.display()
    ))
    .hint("use a directory and files that only you (or root) can write, e.g. under your HOME, or set AKEYLESS_ENV_FILE")
}

fn ours(meta: &Metadata) -> bool {
    let uid = meta.uid();
    uid == 0 || uid == rustix::process::geteuid().as_raw()
}

fn owner(meta: &Metadata) -> String {
    format!("belongs to uid {}", meta.uid())
}

/// Checks the directory `dir` (which must exist) and the way to it, walked as the kernel
/// resolves it: every directory entered (also one left again by `..`) must belong to us
/// or root and, if others may write it, be sticky; every symbolic link met (in `dir` as
/// given, and in what each link points to) must belong to us or root. Anything of someone
/// else's on the way could be renamed or pointed elsewhere once checked.
pub fn check_dir(dir: &Path) -> Result<()> {
    walk(dir, true)
}

/// Checks the way to `dir`, a directory that exists, in which akl is about to make one:
/// `check_dir`'s rule, by which `dir` itself may be written by others if it is sticky
/// (`/tmp` may hold a private directory).
pub fn check_way(dir: &Path) -> Result<()> {
    walk(dir, false)
}

/// `check_dir` (`own`: `dir` is the directory of secrets) or `check_way`.
fn walk(dir: &Path, own: bool) -> Result<()> {
    use std::path::Component;
    enum Step {
        Root,
        Up,
        Name(std::ffi::OsString),
    }
    // A path's steps, the first last (the walk pops them).
    let steps = |path: &Path| -> Vec<Step> {
        path.components()
            .rev()
            .filter_map(|c| match c {
                Component::Prefix(_) | Component::RootDir => Some(Step::Root),
                Component::CurDir => None,
                Component::ParentDir => Some(Step::Up),
                Component::Normal(name) => Some(Step::Name(name.to_os_string())),
            })
            .collect()
    };
    let start =
        std::path::absolute(dir).map_err(|e| refuse(dir, format!("cannot be resolved ({e})")))?;
    let mut left = steps(&start);
    // Where the walk is: a directory, reached without links.
    let mut at = PathBuf::from("/");
    let mut links = 0;
    let examine = |path: &Path| {
        std::fs::symlink_metadata(path)
            .map_err(|e| refuse(path, format!("cannot be examined ({e})")))
    };
    // A directory refused on the way is named as it is in `dir`, or as where a link led.
    let refuse_entered = |entered: &Path, why: String| match start.starts_with(entered) {
        true => refuse(entered, why),
        false => refuse(
            dir,
            format!("goes through {}, which {why}", entered.display()),
        ),
    };
    entered(&examine(&at)?).map_err(|why| refuse_entered(&at, why))?;
    while let Some(step) = left.pop() {
        let name = match step {
            Step::Root => {
                at = PathBuf::from("/");
                continue;
            }
            Step::Up => {
                at.pop();
                continue;
            }
            Step::Name(name) => name,
        };
        let next = at.join(name);
        let meta = examine(&next)?;
        if !meta.file_type().is_symlink() {
            // The last one is the directory itself, checked below.
            if !(own && left.is_empty()) {
                entered(&meta).map_err(|why| refuse_entered(&next, why))?;
            }
            at = next;
            continue;
        }
        if !ours(&meta) {
            let what = match next == start {
                true => "is a symbolic link that".to_owned(),
                false => format!("goes through {}, a symbolic link that", next.display()),
            };
            return Err(refuse(dir, format!("{what} {}", owner(&meta))));
        }
        links += 1;
        if links > 40 {
            return Err(refuse(dir, "goes through too many symbolic links"));
        }
        let target = std::fs::read_link(&next)
            .map_err(|e| refuse(dir, format!("cannot be resolved ({e})")))?;
        left.extend(steps(&target));
    }
    // Where the walk ended is the directory itself: nobody else may write it at all.
    let meta = examine(&at)?;
    if !own {
        return match meta.is_dir() {
            true => entered(&meta).map_err(|why| refuse_entered(&at, why)),
            false => Err(refuse(dir, "is not a directory")),
        };
    }
    if !meta.is_dir() {
        return Err(refuse(dir, "is not a directory"));
    }
    if !ours(&meta) {
        return Err(refuse(dir, owner(&meta)));
    }
    if meta.mode() & WRITABLE_BY_OTHERS != 0 {
        return Err(refuse(
            dir,
            format!("can be written by others (mode {:o})", meta.mode() & 0o7777),
        ));
    }
    Ok(())
}

/// A directory on the way: ours or root's, and sticky if others may write it, so that
/// nobody else can swap what lies below.
fn entered(meta: &Metadata) -> std::result::Result<(), String> {
    if !ours(meta) {
        return Err(owner(meta));
    }
    if meta.mode() & WRITABLE_BY_OTHERS != 0 && meta.mode() & STICKY == 0 {
        return Err(format!(
            "can be written by others and is not sticky (mode {:o})",
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

/// A file `akl` is about to replace must be a regular file if it exists: replacing a
/// device (`/dev/null` as root) or a link (`/dev/stdout`) would put secrets where they
/// do not belong.
pub fn check_target(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => Err(not_regular(path)),
        Ok(meta) if !ours(&meta) => Err(refuse(path, owner(&meta))),
        _ => Ok(()),
    }
}

/// Why `akl` does not write to `path`, which is there and is not a regular file.
pub fn not_regular(path: &Path) -> Error {
    Error::usage(format!(
        "{} exists and is not a regular file: akl writes secrets only to regular files",
        path.display()
    ))
    .hint("to print the file, use --stdout (a terminal or a pipe); otherwise give a path to a new or regular file")
}

/// An opened file of secrets passes the rule: ours (or root's), writable by nobody else.
pub fn check_opened(path: &Path, meta: &Metadata) -> Result<()> {
    if !ours(meta) {
        return Err(refuse(path, owner(meta)));
    }
    if meta.mode() & WRITABLE_BY_OTHERS != 0 {
        return Err(refuse(
            path,
            format!("can be written by others (mode {:o})", meta.mode() & 0o777),
        ));
    }
    Ok(())
}

/// Reads a file of secrets or stamps: a regular file that passes the rule, in a
/// directory that passes it, of at most `max` bytes. Missing is `Ok(None)`.
pub fn read_trusted(path: &Path, max: u64) -> Result<Option<Vec<u8>>> {
    match open_trusted(path)? {
        Some(file) => read_capped(&file, path, max).map(Some),
        None => Ok(None),
    }
}

/// Opens a file of secrets or stamps for reading: a regular file that passes the rule, in
/// a directory that passes it. Missing is `Ok(None)`.
pub fn open_trusted(path: &Path) -> Result<Option<File>> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file = match open_regular(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(refuse(path, format!("cannot be opened ({e})"))),
    };
    check_dir(&dir)?;
    let meta = file.metadata().map_err(|e| refuse(path, e))?;
    if !meta.is_file() {
        return Err(refuse(path, "is not a regular file"));
    }
    check_opened(path, &meta)?;
    Ok(Some(file))
}

/// How long a record may be held by another run before waiting for it is an error: it is
/// held only to be read or rewritten, never across a request.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Takes an exclusive `flock` on `file` (opened from `path`), waiting up to `LOCK_WAIT`.
pub fn lock(file: &File, path: &Path) -> Result<()> {
    use rustix::fs::{FlockOperation, flock};
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        match flock(file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(()),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK && started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(50));
            }
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                return Err(Error::other(format!(
                    "{} has been held by another akl run for {} s",
                    path.display(),
                    LOCK_WAIT.as_secs()
                ))
                .hint("a revoke that hangs holds it; try again once it is done"));
            }
            // A filesystem that cannot lock: appends still land whole (`O_APPEND`); only a
            // revoke at the same moment could lose one, as before there was a lock.
            Err(e) if e == rustix::io::Errno::NOLCK || e == rustix::io::Errno::OPNOTSUPP => {
                crate::error::warn(format!(
                    "{} cannot be locked ({e}): a revoke at the same moment as this run could lose what this run adds to it",
                    path.display()
                ));
                return Ok(());
            }
            Err(e) => {
                return Err(Error::other(format!("cannot lock {}: {e}", path.display())));
            }
        }
    }
}

/// Whether `path` still names the file `opened` (it was not renamed over, or removed,
/// since it was opened).
pub fn still_named(path: &Path, opened: &Metadata) -> bool {
    std::fs::symlink_metadata(path)
        .is_ok_and(|now| (now.dev(), now.ino()) == (opened.dev(), opened.ino()))
}

/// Reads a regular file of at most `max` bytes that holds nothing secret (a CA bundle):
/// no ownership rule, but a FIFO, a device or a directory is refused before it can hang
/// or flood the run.
pub fn read_regular(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} KiB", max >> 10),
        ));
    }
    Ok(bytes)
}

/// Opens without blocking (a FIFO with no writer would block `open` itself).
fn open_regular(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
}

/// At most `max` bytes of `file`, from where it stands.
pub fn read_capped(mut file: &File, path: &Path, max: u64) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    Read::by_ref(&mut file)
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| refuse(path, format!("cannot be read ({e})")))?;
    if bytes.len() as u64 > max {
        return Err(refuse(path, format!("is larger than {} MiB", max >> 20)));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn private_directories_pass_and_open_ones_do_not() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("private");
        std::fs::create_dir(&dir).unwrap();
        chmod(&dir, 0o700);
        check_dir(&dir).unwrap();
        chmod(&dir, 0o777);
        let err = check_dir(&dir).unwrap_err().to_string();
        assert!(err.contains("can be written by others (mode 777)"), "{err}");
        // A world-writable parent without the sticky bit lets anyone swap the directory.
        chmod(&dir, 0o700);
        chmod(tmp.path(), 0o777);
        let err = check_dir(&dir).unwrap_err().to_string();
        assert!(err.contains("is not sticky"), "{err}");
        chmod(tmp.path(), 0o1777);
        check_dir(&dir).unwrap();
        chmod(tmp.path(), 0o700);
    }

    #[test]
    fn only_regular_files_are_targets_or_read() {
        let tmp = tempfile::tempdir().unwrap();
        chmod(tmp.path(), 0o700);
        check_target(&tmp.path().join("new")).unwrap();
        let err = check_target(Path::new("/dev/null"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a regular file"), "{err}");
        let fifo = tmp.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        // A FIFO with no writer neither blocks nor is read.
        assert!(read_regular(&fifo, 1024).is_err());
        assert!(read_trusted(&fifo, 1024).is_err());
        let file = tmp.path().join("file");
        std::fs::write(&file, "x").unwrap();
        chmod(&file, 0o600);
        assert_eq!(read_trusted(&file, 1024).unwrap(), Some(b"x".to_vec()));
        chmod(&file, 0o666);
        assert!(read_trusted(&file, 1024).is_err(), "writable by others");
        assert_eq!(read_trusted(&tmp.path().join("none"), 10).unwrap(), None);
    }
}
