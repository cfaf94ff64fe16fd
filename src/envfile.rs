//! The env file: rendering (pure) and writing (atomic, 0600 in a 0700 directory).
//!
//! The sh format is `export NAME='value'` lines sorted by name, with every `'` written as
//! `'\''`: POSIX single quotes are the only quoting in which every byte but NUL stands for
//! itself, in dash, bash and busybox alike (no `$`, backtick, backslash or `!` expansion,
//! newlines kept). The file is written to a temporary file in the same directory, synced,
//! and renamed over the target, so a reader sees the old file or the new one, never half
//! of one, and a symlink planted at the target is replaced rather than followed.

use std::fs::{self, DirBuilder, File};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::secret::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// `export NAME='value'` lines, for `. ~/.akeyless/env`.
    #[default]
    Sh,
    /// One JSON object of NAME → value.
    Json,
}

/// Whether `name` can be exported from a POSIX shell: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Renders the variables, sorted by name. Names must be valid and values free of NUL
/// (the caller checks both and reports them per variable).
pub fn render(vars: &[(String, Secret)], format: Format) -> Secret {
    let mut sorted: Vec<&(String, Secret)> = vars.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    debug_assert!(
        sorted
            .iter()
            .all(|(n, v)| valid_name(n) && !v.expose().contains('\0'))
    );
    match format {
        Format::Sh => {
            let size = sorted
                .iter()
                .map(|(n, v)| n.len() + v.expose().len() + 12)
                .sum();
            let mut out = String::with_capacity(size);
            for (name, value) in sorted {
                out.push_str("export ");
                out.push_str(name);
                out.push_str("='");
                out.push_str(&value.expose().replace('\'', r"'\''"));
                out.push_str("'\n");
            }
            Secret::new(out)
        }
        Format::Json => {
            let map: serde_json::Map<String, serde_json::Value> = sorted
                .into_iter()
                .map(|(n, v)| (n.clone(), v.expose().into()))
                .collect();
            Secret::new(format!("{}\n", serde_json::Value::Object(map)))
        }
    }
}

/// Reads back a file `render` wrote in the sh format: `export NAME='value'` lines, `'\''`
/// standing for a quote. Anything else is refused with the line it is on; the message never
/// quotes the file.
pub fn parse(text: &str) -> Result<Vec<(String, Secret)>, String> {
    let mut vars = Vec::new();
    let mut rest = text;
    let mut line = 1;
    while !rest.is_empty() {
        let at = line;
        let bad = |what: &str| {
            format!("line {at}: {what}; expected export NAME='value' as akl env writes it")
        };
        let after = rest
            .strip_prefix("export ")
            .ok_or_else(|| bad("not an export"))?;
        let (name, after) = after.split_once("='").ok_or_else(|| bad("no ='"))?;
        if !valid_name(name) {
            return Err(bad("not a variable name"));
        }
        let mut value = String::new();
        let mut tail = after;
        loop {
            let end = tail.find('\'').ok_or_else(|| bad("unterminated quote"))?;
            value.push_str(&tail[..end]);
            tail = &tail[end + 1..];
            if let Some(next) = tail.strip_prefix("\\''") {
                value.push('\'');
                tail = next;
            } else {
                break;
            }
        }
        line += value.matches('\n').count() + 1;
        rest = tail
            .strip_prefix('\n')
            .ok_or_else(|| bad("text after the closing quote"))?;
        if vars.iter().any(|(n, _): &(String, Secret)| n == name) {
            return Err(bad(&format!("{name} is set twice")));
        }
        vars.push((name.to_owned(), Secret::new(value)));
    }
    Ok(vars)
}

/// A file that could not be written, with the reason kept for deciding what to do next.
#[derive(Debug)]
pub struct WriteError {
    message: String,
    source: std::io::Error,
}

impl WriteError {
    /// The place is not ours to write (permissions, a read-only filesystem): another
    /// place may work where a full disk would not.
    pub fn is_denied(&self) -> bool {
        matches!(
            self.source.kind(),
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
        )
    }
}

impl From<WriteError> for Error {
    fn from(e: WriteError) -> Self {
        Error::other(format!("{}: {}", e.message, e.source))
            .hint("set AKEYLESS_ENV_FILE (or --output) to a path in a writable directory")
    }
}

/// Temporary files of a run that was killed (kill -9 leaves them) are removed by the next
/// write to the same directory once they are this old; younger ones may belong to a run
/// still writing.
const STALE: Duration = Duration::from_secs(60);

/// Writes `content` to `path` atomically, creating missing directories with mode 0700.
pub fn write(path: &Path, content: &Secret) -> Result<(), WriteError> {
    let dir = parent(path);
    remove_stale_temporaries(dir);
    let fail = |what: String| {
        move |source| WriteError {
            message: what,
            source,
        }
    };
    create_dir(dir)?;
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
    file.write_all(content.expose().as_bytes())
        .and_then(|()| file.as_file().sync_all())
        .map_err(fail(format!("cannot write {shown}")))?;
    // On failure the temporary file is removed when `file` drops: nothing half-written.
    file.persist(path).map_err(|e| WriteError {
        message: format!("cannot replace {shown}"),
        source: e.error,
    })?;
    // Make the rename itself durable; a directory that cannot be synced is not an error.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Proves that `path` can be written, before any request: its directory is created (0700)
/// if missing and a temporary file is created and dropped there. Nothing is synced or
/// renamed, and the target itself is not touched.
pub fn check_writable(path: &Path) -> Result<(), WriteError> {
    let dir = parent(path);
    create_dir(dir)?;
    tempfile::Builder::new()
        .prefix(".akl-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map(drop)
        .map_err(|source| WriteError {
            message: format!("cannot create a file in {}", dir.display()),
            source,
        })
}

fn create_dir(dir: &Path) -> Result<(), WriteError> {
    if dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| WriteError {
            message: format!("cannot create the directory {}", dir.display()),
            source,
        })
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

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
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

/// Whether `path` exists and was written for exactly `fingerprint`.
pub fn is_current(path: &Path, fingerprint: &str) -> bool {
    path.is_file() && fs::read_to_string(stamp_path(path)).is_ok_and(|s| s == fingerprint)
}

#[cfg(test)]
#[path = "../tests/common/shells.rs"]
mod shells;

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, Secret)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), Secret::new(*v)))
            .collect()
    }

    #[test]
    fn sh_is_sorted_single_quoted_lines() {
        let out = render(&vars(&[("B", "it's"), ("A", "$x `y` \\z\n!")]), Format::Sh);
        assert_eq!(
            out.expose(),
            "export A='$x `y` \\z\n!'\nexport B='it'\\''s'\n"
        );
        assert_eq!(render(&[], Format::Sh).expose(), "");
    }

    #[test]
    fn parse_reads_back_what_render_wrote() {
        let pairs = vars(&[("A", "it's \"x\"\n\nline'"), ("B", ""), ("C", "'\\''")]);
        let text = render(&pairs, Format::Sh);
        assert_eq!(parse(text.expose()).unwrap(), pairs);
        assert!(parse("").unwrap().is_empty());
        for (bad, why) in [
            ("FOO=bar\n", "line 1: not an export"),
            ("export A='1'\nexport B=2\n", "line 2: no ='"),
            (
                "export A='x\ny'\nexport 1A='2'\n",
                "line 3: not a variable name",
            ),
            ("export A='open\n", "line 1: unterminated quote"),
            (
                "export A='1' # note\n",
                "line 1: text after the closing quote",
            ),
            ("export A='1'", "line 1: text after the closing quote"),
            ("export A='1'\nexport A='2'\n", "line 2: A is set twice"),
        ] {
            assert_eq!(
                parse(bad).unwrap_err().split(';').next().unwrap(),
                why,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn json_is_one_sorted_object() {
        let out = render(&vars(&[("B", "2"), ("A", "line\n\"q\"")]), Format::Json);
        assert_eq!(out.expose(), "{\"A\":\"line\\n\\\"q\\\"\",\"B\":\"2\"}\n");
    }

    #[test]
    fn names_follow_posix() {
        for ok in ["A", "_", "a_1", "DB_PASSWORD", "_9"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A.B", "A B", "É", "A=B"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    use super::shells::{SHELLS, source_in};

    /// Renders `values` as V_0, V_1, … and sources the file in every shell: what each gave back.
    fn rendered_and_sourced(values: &[&str]) -> Vec<(&'static [&'static str], Vec<Vec<u8>>)> {
        let names: Vec<String> = (0..values.len()).map(|i| format!("V_{i}")).collect();
        let pairs: Vec<(String, Secret)> = names
            .iter()
            .cloned()
            .zip(values.iter().map(|v| Secret::new(*v)))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("env");
        fs::write(&file, render(&pairs, Format::Sh).expose()).unwrap();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        SHELLS
            .iter()
            .map(|shell| (*shell, source_in(shell, &file, &names)))
            .collect()
    }

    fn value_strategy() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let special = prop::sample::select(vec![
            '\'', '"', '$', '`', '\\', '!', '\n', '\r', '-', ' ', '\t', '{', '}', '*', '?', '~',
            '#', ';', '&', '|', '(', ')', '<', '>', '=', '%', 'é', '✓', '\u{1}', '\u{7f}',
            '\u{2028}',
        ]);
        let any_char = any::<char>().prop_filter("NUL cannot be exported", |c| *c != '\0');
        prop::collection::vec(
            prop_oneof![3 => special, 2 => any_char, 2 => prop::char::range('a', 'z')],
            0..48,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(96))]

        /// Whatever the values, sourcing the file in dash, bash and busybox sh gives every
        /// one of them back exactly.
        #[test]
        fn sourcing_gives_back_every_byte(values in proptest::collection::vec(value_strategy(), 1..6)) {
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            for (shell, got) in rendered_and_sourced(&values) {
                for (value, got) in values.iter().zip(&got) {
                    proptest::prop_assert_eq!(value.as_bytes(), got.as_slice(), "{:?}", shell);
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(2000))]

        /// Whatever the names and values, what `render` writes `parse` reads back.
        #[test]
        fn fuzz_render_then_parse(vars in proptest::collection::btree_map("[A-Za-z_][A-Za-z0-9_]{0,8}", "[^\\x00]{0,30}", 0..8)) {
            let pairs: Vec<(String, Secret)> = vars.into_iter().map(|(k, v)| (k, Secret::new(v))).collect();
            let text = render(&pairs, Format::Sh);
            proptest::prop_assert_eq!(parse(text.expose()).unwrap(), pairs);
        }
    }

    #[test]
    fn sourcing_survives_edge_values_and_a_mebibyte() {
        let long: String = "0123456789abcdef'\n".repeat(1 << 16);
        assert!(long.len() > 1 << 20);
        let cases = [
            "",
            "'",
            "''",
            "\n\nleading",
            "trailing\n\n",
            "-n",
            "-e \\n",
            "--",
            "a\r\nb\r",
            "$(id)",
            "${HOME}",
            "`id`",
            "\\",
            "!!",
            "ünïcødé ✓ 日本",
            "it's \"quoted\"",
            long.as_str(),
        ];
        for (shell, got) in rendered_and_sourced(&cases) {
            for (i, (case, got)) in cases.iter().zip(&got).enumerate() {
                assert!(
                    case.as_bytes() == got.as_slice(),
                    "{shell:?} case {i}: {} bytes back for {}",
                    got.len(),
                    case.len()
                );
            }
        }
    }

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
        assert!(!is_current(&path, "x"));
        write(&path, &Secret::new("")).unwrap();
        write(&stamp_path(&path), &Secret::new("x")).unwrap();
        assert!(is_current(&path, "x") && !is_current(&path, "y"));
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
            File::options()
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
    fn a_symlink_at_the_target_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "untouched").unwrap();
        let path = dir.path().join("env");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        write(&path, &Secret::new("new")).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "untouched");
        assert!(
            !fs::symlink_metadata(&path)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}
