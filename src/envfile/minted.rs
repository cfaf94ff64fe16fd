//! The record of credentials that dynamic secrets minted for an env file
//! (`.NAME.minted` beside it), for revoking them when the job ends (`akl revoke`, or the
//! image's job shell). Ids name credentials but grant nothing; the record is still kept
//! 0600, like everything akl writes.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::files;
use crate::resolve::Minted;
use crate::secret::Secret;

use super::write::{parent, write};

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

/// The credentials recorded in `record` (none when it does not exist).
pub fn recorded(record: &Path) -> Result<Vec<Minted>> {
    let Some(bytes) = files::read_trusted(record, 16 << 20)? else {
        return Ok(Vec::new());
    };
    let entries: Vec<Entry> = serde_json::from_slice(&bytes).map_err(|e| {
        Error::other(format!(
            "{} is not a record akl wrote: {e}",
            record.display()
        ))
        .hint("remove it; the credentials it named expire with their TTL")
    })?;
    Ok(entries
        .into_iter()
        .map(|e| Minted {
            name: e.name,
            id: e.id,
        })
        .collect())
}

/// Replaces the record with `minted`; an empty list removes it.
pub fn keep(record: &Path, minted: &[Minted]) -> Result<()> {
    if minted.is_empty() {
        return match std::fs::remove_file(record) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::other(format!(
                "cannot remove {}: {e}",
                record.display()
            ))),
            _ => Ok(()),
        };
    }
    let entries: Vec<Entry> = minted
        .iter()
        .map(|m| Entry {
            name: m.name.clone(),
            id: m.id.clone(),
        })
        .collect();
    let text = serde_json::to_string(&entries).expect("strings serialize");
    Ok(write(record, &Secret::new(text))?)
}

/// Adds `minted` to the record: credentials of earlier runs not yet revoked stay in it.
pub fn add(record: &Path, minted: &[Minted]) -> Result<()> {
    if minted.is_empty() {
        return Ok(());
    }
    let mut all = recorded(record)?;
    all.extend(minted.iter().cloned());
    keep(record, &all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_add_up_and_empty_ones_go() {
        let dir = tempfile::tempdir().unwrap();
        let record = minted_path(&dir.path().join("env"));
        assert_eq!(record, dir.path().join(".env.minted"));
        assert!(recorded(&record).unwrap().is_empty());
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
        let ids: Vec<String> = recorded(&record)
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, ["tmp-1", "tmp-2"]);
        keep(&record, &[]).unwrap();
        assert!(!record.exists());
        std::fs::write(&record, "nope").unwrap();
        let err = recorded(&record).unwrap_err().to_string();
        assert!(err.contains("is not a record akl wrote"), "{err}");
    }
}
