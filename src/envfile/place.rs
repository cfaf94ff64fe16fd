//! Where the env file goes: `--output`, else `AKEYLESS_ENV_FILE`, else
//! `$HOME/.akeyless/env`, with a private directory under TMPDIR when HOME cannot hold it;
//! and the stamp that `--reuse` compares.

use std::fs::{self, DirBuilder};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use crate::error::{self, Error, Result};
use crate::files;
use crate::settings::vars::{AKEYLESS_ENV_FILE, HOME};
use crate::settings::{self, Env};

use super::write::{WriteError, check_writable, parent};

/// Where `akl env` should write, before checking that it can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvFile {
    /// `--output` or `AKEYLESS_ENV_FILE`: exactly there, or fail.
    Given(PathBuf),
    /// `$HOME/.akeyless/env`; if HOME is not writable, a private directory under TMPDIR.
    Home(PathBuf),
    /// HOME is unset or not an absolute path: the private directory under TMPDIR.
    NoHome,
}

/// Where `akl env` writes: `--output`, else `AKEYLESS_ENV_FILE`, else `$HOME/.akeyless/env`.
pub fn env_file(env: &Env, flag: Option<&Path>) -> Result<EnvFile> {
    if let Some(path) = flag {
        return Ok(EnvFile::Given(path.to_owned()));
    }
    if let Some(path) = env.get(AKEYLESS_ENV_FILE)? {
        if !Path::new(path).is_absolute() {
            return Err(Error::usage(format!(
                "{AKEYLESS_ENV_FILE}={path} is not an absolute path"
            ))
            .hint("a relative path would put secrets in the working directory, the project checkout that artifacts and caches may carry away: give an absolute path"));
        }
        return Ok(EnvFile::Given(PathBuf::from(path)));
    }
    // A HOME that is not an absolute path (unset, relative, or an akeyless: reference)
    // would put the file under the working directory: it is no HOME.
    Ok(
        match env.get(HOME)?.filter(|home| Path::new(home).is_absolute()) {
            Some(home) => EnvFile::Home(PathBuf::from(home).join(".akeyless/env")),
            None => EnvFile::NoHome,
        },
    )
}

/// The file to write, proven writable before any request. A path the user gave is used as
/// given; the default under HOME falls back to a private directory under TMPDIR when HOME
/// is unset or not writable (an arbitrary `--user` in a container, a read-only root
/// filesystem), and says so.
pub fn destination(env: &Env, file: EnvFile) -> Result<PathBuf> {
    let fallback = |why: String| -> Result<PathBuf> {
        let path = private_dir(&settings::temp_dir(env)?)?.join(".akeyless/env");
        error::note(format!(
            "{why}; the env file goes to {} instead",
            path.display()
        ));
        Ok(path)
    };
    match file {
        EnvFile::Given(path) => {
            check_writable(&path)?;
            Ok(path)
        }
        EnvFile::NoHome => fallback("HOME is not set to an absolute path".to_owned()),
        EnvFile::Home(path) => match check_writable(&path) {
            Ok(()) => Ok(path),
            Err(e) if e.is_denied() => fallback(format!(
                "{} is not writable",
                path.parent().unwrap_or(&path).display()
            )),
            // HOME, or a directory above it, is another user's (a container run as an
            // arbitrary user): nothing of ours is made there, as if it were not writable.
            // A `.akeyless` that is there already and refused is an error.
            Err(WriteError::Refused(_)) if fs::symlink_metadata(parent(&path)).is_err() => {
                let home = parent(parent(&path));
                fallback(format!("{} is not ours to write in", home.display()))
            }
            Err(e) => Err(Error::from(e)),
        },
    }
}

/// A directory only this user can use, under `tmp`, for when HOME cannot hold the file:
/// `akl-<uid>`, mode 0700. An existing one must be a real directory owned by us and
/// closed to others; anything else (a symlink or directory planted by another user on a
/// shared /tmp) is refused rather than written into.
pub fn private_dir(tmp: &Path) -> Result<PathBuf> {
    let uid = rustix::process::geteuid().as_raw();
    let dir = tmp.join(format!("akl-{uid}"));
    match DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(
                Error::other(format!("cannot create {}: {e}", dir.display()))
                    .hint("set AKEYLESS_ENV_FILE (or --output) to a path in a writable directory"),
            );
        }
    }
    let meta = fs::symlink_metadata(&dir)?;
    use std::os::unix::fs::MetadataExt;
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(Error::other(format!(
            "{} exists but is not a private directory of this user; refusing to write secrets into it",
            dir.display()
        ))
        .hint("remove it, or set AKEYLESS_ENV_FILE to a path in a directory only you can write"));
    }
    Ok(dir)
}

/// The companion file of `--reuse`: what the env file was written for.
pub fn stamp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    parent(path).join(format!(".{name}.refs"))
}

/// The most `is_current` reads of an env file or its stamp. A stamp holds the names of
/// a walked folder's outputs, as the file does: it may be as large.
const MAX_READ: u64 = 64 << 20;

/// Whether `path` exists and was written for exactly `fingerprint`. The stamp is read
/// only from a place that passes `files`'s rule: a stamp someone else planted would make
/// akl keep their file.
pub fn is_current(path: &Path, fingerprint: &str) -> Result<bool> {
    let Some(content) = files::read_trusted(path, MAX_READ)? else {
        return Ok(false);
    };
    Ok(files::read_trusted(&stamp_path(path), MAX_READ)?
        .is_some_and(|found| found == stamp(fingerprint, &content).as_bytes()))
}

/// What the stamp of a file with `content`, written for `fingerprint`, holds: the
/// fingerprint, and the SHA-256 of the content. Files are not synced to the disk
/// (`write.rs`): after a crash of the machine, a file can come back empty while its stamp
/// survives, and the digest keeps `--reuse` from taking it. The digest tells nothing the
/// file itself, beside it with the same mode, does not.
pub fn stamp(fingerprint: &str, content: &[u8]) -> String {
    let hex = crate::digest::sha256_hex(&[content]);
    format!("{fingerprint}content sha256 {hex}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    use super::super::write::write;
    use crate::secret::Secret;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn env_file_location() {
        let at = |pairs: &[(&str, &str)]| env_file(&env(pairs), None).unwrap();
        assert_eq!(
            at(&[(HOME, "/h")]),
            EnvFile::Home("/h/.akeyless/env".into())
        );
        assert_eq!(
            at(&[(HOME, "/h"), (AKEYLESS_ENV_FILE, "/x/e")]),
            EnvFile::Given("/x/e".into())
        );
        let flag = std::path::Path::new("/f");
        let given = env_file(&env(&[(AKEYLESS_ENV_FILE, "/x/e")]), Some(flag)).unwrap();
        assert_eq!(given, EnvFile::Given("/f".into()));
        assert_eq!(at(&[]), EnvFile::NoHome);
    }

    #[test]
    fn private_dir_is_created_closed_and_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = private_dir(tmp.path()).unwrap();
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(
            private_dir(tmp.path()).unwrap(),
            dir,
            "reused when it is ours"
        );
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let err = private_dir(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("is not a private directory"), "{err}");
        fs::remove_dir(&dir).unwrap();
        std::os::unix::fs::symlink(tmp.path(), &dir).unwrap();
        assert!(
            private_dir(tmp.path()).is_err(),
            "a planted symlink is refused"
        );
    }

    #[test]
    fn stamps_sit_next_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("env");
        assert_eq!(stamp_path(&path), dir.path().join(".env.refs"));
        assert!(!is_current(&path, "x").unwrap());
        write(&path, &Secret::new("export A='1'\n")).unwrap();
        write(
            &stamp_path(&path),
            &Secret::new(stamp("x", b"export A='1'\n")),
        )
        .unwrap();
        assert!(is_current(&path, "x").unwrap() && !is_current(&path, "y").unwrap());
        // A file that came back empty (a crash before the kernel wrote it out) or changed
        // is not the file the stamp was written for.
        write(&path, &Secret::new("")).unwrap();
        assert!(!is_current(&path, "x").unwrap());
        write(&path, &Secret::new("export A='2'\n")).unwrap();
        assert!(!is_current(&path, "x").unwrap());
        // A stamp of the fingerprint alone (akl before this) is not current either.
        write(&stamp_path(&path), &Secret::new("x")).unwrap();
        assert!(!is_current(&path, "x").unwrap());
        // The fingerprint of a folder walked to many outputs is larger than a MiB.
        let many: String = (0..60_000)
            .map(|i| format!("S_{i:05}=/ci/svc/s{i:05}\n"))
            .collect();
        assert!(many.len() > 1 << 20);
        write(&path, &Secret::new("export A='1'\n")).unwrap();
        write(
            &stamp_path(&path),
            &Secret::new(stamp(&many, b"export A='1'\n")),
        )
        .unwrap();
        assert!(is_current(&path, &many).unwrap());
    }
}
