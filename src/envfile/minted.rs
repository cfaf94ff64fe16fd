//! The record of credentials that dynamic secrets minted for an env file
//! (`.NAME.minted` beside it), for revoking them when the job ends (`akl revoke`, or the
//! image's job shell). Ids name credentials but grant nothing; the record is still kept
//! 0600, like everything akl writes.
//!
//! One JSON object per line, `{"name":…,"id":…}`, appended to: a run adds its own lines
//! in one write, however long the record has grown (a job that runs `akl env` in a loop
//! without revoking), and two runs at once both keep theirs. Revoking reads the record,
//! revokes, then takes out what it revoked (`forget`); the record is locked (`flock`)
//! only while it is read or rewritten, never across a request, and a run that adds lines
//! meanwhile waits for the rewrite, then adds them to the new record.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{self, Error, Result};
use crate::files;
use crate::resolve::Minted;
use crate::secret::Secret;

use super::write::{append, parent, write};

#[derive(Serialize, Deserialize)]
struct Entry {
    name: String,
    id: String,
}

/// Where the record of the env file at `env_file` is.
pub fn minted_path(env_file: &Path) -> PathBuf {
    let name = env_file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    parent(env_file).join(format!(".{name}.minted"))
}

/// How large a record may grow: far more lines than any job mints.
const MAX_RECORD: u64 = 16 << 20;

/// A record held: nobody adds to it until `keep` has rewritten it, or until it drops
/// (then it stays as it was).
#[derive(Debug)]
struct Held {
    path: PathBuf,
    /// Open and locked while held; `None` when there was no record.
    _lock: Option<File>,
    /// The credentials it names.
    minted: Vec<Minted>,
}

/// The credentials recorded in `record` (none when it does not exist). A line that does
/// not read (one cut short by a full disk) is skipped with a warning, so that it does not
/// keep the others from being revoked; a record of which no line reads is refused.
pub fn recorded(record: &Path) -> Result<Vec<Minted>> {
    Ok(hold(record)?.minted)
}

/// Takes `revoked` out of the record (whatever else it holds stays, lines added since it
/// was read included); a record left empty is removed.
pub fn forget(record: &Path, revoked: &[Minted]) -> Result<()> {
    let held = hold(record)?;
    let revoked: BTreeSet<&Minted> = revoked.iter().collect();
    let left: Vec<Minted> = held
        .minted
        .iter()
        .filter(|m| !revoked.contains(m))
        .cloned()
        .collect();
    // Nothing to take out (or no record at all): nothing is rewritten.
    if left.len() == held.minted.len() {
        return Ok(());
    }
    held.keep(&left)
}

/// Holds the record at `record` (an empty one when it does not exist) and reads it.
fn hold(record: &Path) -> Result<Held> {
    let empty = |lock| Held {
        path: record.to_path_buf(),
        _lock: lock,
        minted: Vec::new(),
    };
    // A rewrite by another revoke may replace the record while this one waits for it:
    // then the new one is what there is to hold.
    for _ in 0..16 {
        let Some(file) = files::open_trusted(record)? else {
            return Ok(empty(None));
        };
        files::lock(&file, record)?;
        let opened = file
            .metadata()
            .map_err(|e| Error::other(format!("cannot examine {}: {e}", record.display())))?;
        if !files::still_named(record, &opened) {
            continue;
        }
        let bytes = files::read_capped(&file, record, MAX_RECORD)?;
        return Ok(Held {
            minted: parse(record, &bytes)?,
            ..empty(Some(file))
        });
    }
    Err(Error::other(format!(
        "cannot read {}: it was replaced again and again while akl waited for it",
        record.display()
    )))
}

impl Held {
    /// Replaces the record with `minted` (an empty list removes it), then lets go of it.
    fn keep(self, minted: &[Minted]) -> Result<()> {
        if minted.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::other(format!(
                    "cannot remove {}: {e}",
                    self.path.display()
                ))),
                _ => Ok(()),
            };
        }
        Ok(write(&self.path, &Secret::new(lines(minted)))?)
    }
}

/// The entries of a record's text.
fn parse(record: &Path, bytes: &[u8]) -> Result<Vec<Minted>> {
    let mut entries: Vec<Entry> = Vec::new();
    let (mut unread, mut first_error) = (0, None);
    for line in bytes.split(|&b| b == b'\n').map(<[u8]>::trim_ascii) {
        // A whole array is what akl wrote before it appended lines.
        let read = match line.first() {
            None => continue,
            Some(b'[') => serde_json::from_slice::<Vec<Entry>>(line),
            Some(_) => serde_json::from_slice::<Entry>(line).map(|e| vec![e]),
        };
        match read {
            Ok(read) => entries.extend(read),
            Err(e) => {
                unread += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        if entries.is_empty() {
            return Err(Error::other(format!(
                "{} is not a record akl wrote: {e}",
                record.display()
            ))
            .hint("remove it; the credentials it named expire with their TTL"));
        }
        error::warn(format!(
            "{unread} line(s) of {} could not be read (a write cut short?) and are skipped: \
             the credentials they named expire with their TTL",
            record.display()
        ));
    }
    Ok(entries
        .into_iter()
        .map(|e| Minted {
            name: e.name,
            id: e.id,
        })
        .collect())
}

/// The lines that record `minted`.
fn lines(minted: &[Minted]) -> String {
    let mut text = String::new();
    for m in minted {
        let entry = Entry {
            name: m.name.clone(),
            id: m.id.clone(),
        };
        text.push_str(&serde_json::to_string(&entry).expect("strings serialize"));
        text.push('\n');
    }
    text
}

/// Adds `minted` to the record: credentials of earlier runs not yet revoked stay in it.
pub fn add(record: &Path, minted: &[Minted]) -> Result<()> {
    if minted.is_empty() {
        return Ok(());
    }
    Ok(append(record, lines(minted).as_bytes(), MAX_RECORD)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_add_up_and_empty_ones_go() {
        let dir = tempfile::tempdir().unwrap();
        let record = minted_path(&dir.path().join("env"));
        assert_eq!(record, dir.path().join(".env.minted"));
        assert!(hold(&record).unwrap().minted.is_empty());
        let one = Minted {
            name: "/ci/db".into(),
            id: "tmp-1".into(),
        };
        add(&record, std::slice::from_ref(&one)).unwrap();
        add(
            &record,
            &[Minted {
                id: "tmp-2".into(),
                ..one.clone()
            }],
        )
        .unwrap();
        let ids: Vec<String> = hold(&record)
            .unwrap()
            .minted
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, ["tmp-1", "tmp-2"]);
        hold(&record).unwrap().keep(&[]).unwrap();
        assert!(!record.exists());
        std::fs::write(&record, "nope").unwrap();
        let err = hold(&record).unwrap_err().to_string();
        assert!(err.contains("is not a record akl wrote"), "{err}");
    }

    #[test]
    fn a_line_cut_short_keeps_neither_the_others_nor_the_next_from_being_read() {
        let dir = tempfile::tempdir().unwrap();
        let record = minted_path(&dir.path().join("env"));
        // What a write stopped by a full disk leaves: a line without its end.
        std::fs::write(
            &record,
            "{\"name\":\"/ci/a\",\"id\":\"a-0\"}\n{\"name\":\"/c",
        )
        .unwrap();
        assert_eq!(hold(&record).unwrap().minted, minted(1, "a"));
        // The next run's line starts on a line of its own instead of running into it.
        add(&record, &minted(1, "b")).unwrap();
        assert_eq!(
            hold(&record).unwrap().minted,
            [minted(1, "a"), minted(1, "b")].concat()
        );
    }

    fn minted(n: usize, from: &str) -> Vec<Minted> {
        (0..n)
            .map(|i| Minted {
                name: format!("/ci/{from}"),
                id: format!("{from}-{i}"),
            })
            .collect()
    }

    #[test]
    fn a_run_appends_only_its_own_and_runs_at_once_both_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let record = minted_path(&dir.path().join("env"));
        // What an older akl wrote (one array, no line end) is still read, with what is
        // appended after it, and kept as lines when rewritten.
        std::fs::write(&record, r#"[{"name":"/ci/old","id":"old-0"}]"#).unwrap();
        assert_eq!(hold(&record).unwrap().minted, minted(1, "old"));
        add(&record, &minted(1, "new")).unwrap();
        assert_eq!(
            hold(&record).unwrap().minted,
            [minted(1, "old"), minted(1, "new")].concat()
        );
        hold(&record).unwrap().keep(&minted(1, "old")).unwrap();
        assert_eq!(
            std::fs::read_to_string(&record).unwrap(),
            "{\"name\":\"/ci/old\",\"id\":\"old-0\"}\n"
        );
        let runs: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|from| {
                let record = record.clone();
                std::thread::spawn(move || {
                    for one in minted(200, from) {
                        add(&record, &[one]).unwrap();
                    }
                })
            })
            .collect();
        for run in runs {
            run.join().unwrap();
        }
        let mut all = hold(&record).unwrap().minted;
        all.sort();
        let mut want = [minted(1, "old"), minted(200, "a"), minted(200, "b")].concat();
        want.sort();
        assert_eq!(all, want);
    }

    #[test]
    fn a_record_that_is_a_link_or_writable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let record = minted_path(&dir.path().join("env"));
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "untouched").unwrap();
        std::os::unix::fs::symlink(&victim, &record).unwrap();
        let err = add(&record, &minted(1, "a")).unwrap_err().to_string();
        assert!(err.contains("is not a regular file"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
        std::fs::remove_file(&record).unwrap();
        std::fs::write(&record, "").unwrap();
        std::fs::set_permissions(&record, std::fs::Permissions::from_mode(0o622)).unwrap();
        let err = add(&record, &minted(1, "a")).unwrap_err().to_string();
        assert!(err.contains("can be written by others"), "{err}");
        assert_eq!(std::fs::read_to_string(&record).unwrap(), "");
        // One readable by others (made by hand) is made private by the next line added.
        std::fs::set_permissions(&record, std::fs::Permissions::from_mode(0o644)).unwrap();
        add(&record, &minted(1, "a")).unwrap();
        let mode = std::fs::metadata(&record).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn lines_added_while_the_record_is_held_go_to_the_rewritten_one() {
        let dir = tempfile::tempdir().unwrap();
        let record = minted_path(&dir.path().join("env"));
        for kept in [minted(1, "failed"), Vec::new()] {
            add(&record, &minted(2, "old")).unwrap();
            let held = hold(&record).unwrap();
            assert_eq!(held.minted, minted(2, "old"));
            // A run that mints while the record is held for a rewrite: it waits for it.
            let (done, finished) = std::sync::mpsc::channel();
            let adder = {
                let record = record.clone();
                std::thread::spawn(move || {
                    add(&record, &minted(1, "new")).unwrap();
                    done.send(()).unwrap();
                })
            };
            let waited = finished.recv_timeout(std::time::Duration::from_millis(200));
            assert!(
                waited.is_err(),
                "the line was added to a record being revoked"
            );
            // The record is rewritten with what was not revoked (or removed), and let
            // go: the waiting line lands in what replaced it.
            held.keep(&kept).unwrap();
            adder.join().unwrap();
            assert_eq!(
                hold(&record).unwrap().minted,
                [kept, minted(1, "new")].concat()
            );
            std::fs::remove_file(&record).unwrap();
        }
    }

    #[test]
    fn a_revoke_takes_out_what_it_revoked_and_leaves_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let record = minted_path(&dir.path().join("env"));
        add(&record, &minted(3, "a")).unwrap();
        let read = recorded(&record).unwrap();
        // A run adds a line while the revoke's requests are out; one of three fails.
        add(&record, &minted(1, "b")).unwrap();
        let revoked: Vec<Minted> = read.into_iter().filter(|m| m.id != "a-1").collect();
        forget(&record, &revoked).unwrap();
        let left = [minted(3, "a")[1..2].to_vec(), minted(1, "b")].concat();
        assert_eq!(recorded(&record).unwrap(), left);
        forget(&record, &left).unwrap();
        assert!(!record.exists());
        forget(&record, &left).unwrap(); // nothing there: nothing to do
    }

    #[test]
    fn a_revoke_waiting_for_another_reads_what_that_one_left() {
        let dir = tempfile::tempdir().unwrap();
        let record = minted_path(&dir.path().join("env"));
        add(&record, &minted(3, "old")).unwrap();
        let first = hold(&record).unwrap();
        let second = {
            let record = record.clone();
            std::thread::spawn(move || hold(&record).unwrap().minted)
        };
        std::thread::sleep(std::time::Duration::from_millis(100));
        // The first revoked two of three: the second must not try those again.
        first.keep(&minted(1, "old")).unwrap();
        assert_eq!(second.join().unwrap(), minted(1, "old"));
    }

    #[test]
    fn a_full_record_is_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let record = minted_path(&dir.path().join("env"));
        // The line end that an append puts after a line cut short counts too.
        std::fs::write(&record, "{\"na").unwrap();
        let err = Error::from(append(&record, b"{}\n", 7).unwrap_err()).to_string();
        assert!(err.contains("is full"), "{err}");
        std::fs::remove_file(&record).unwrap();
        add(&record, &minted(1, "a")).unwrap();
        let before = std::fs::read(&record).unwrap();
        let err =
            Error::from(append(&record, b"{}\n", before.len() as u64 + 2).unwrap_err()).to_string();
        assert!(err.contains("is full"), "{err}");
        assert_eq!(std::fs::read(&record).unwrap(), before);
    }
}
