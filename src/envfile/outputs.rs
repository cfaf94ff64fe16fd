//! The files of `|file=true` outputs: `files/NAME` beside the env file, each 0600 and
//! replaced atomically, in a 0700 directory; the variable holds the path. A certificate
//! adds a file beside its own (`NAME-cert.pub`, `NAME.key`). A file whose variable is
//! gone from the env file, or that its output no longer writes, is removed when the env
//! file is rewritten.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::files;
use crate::resolve::BESIDE_SUFFIXES;
use crate::secret::Blob;

use super::render::parse;
use super::write::{parent, prepare, write_in};

/// Where the file outputs of the env file at `env_file` go.
pub fn files_dir(env_file: &Path) -> PathBuf {
    parent(env_file).join("files")
}

/// Writes each output to `dir/NAME`; returns the paths, in order.
pub fn write_files(dir: &Path, outputs: &[(&str, &Blob)]) -> Result<Vec<PathBuf>> {
    prepare(dir)?;
    let mut written = Vec::with_capacity(outputs.len());
    for (name, content) in outputs {
        let path = dir.join(name);
        write_in(dir, &path, content.expose())?;
        written.push(path);
    }
    Ok(written)
}

/// Removes the files in `dir` that the env file at `env_file` (before it is replaced)
/// pointed to and `keep` does not hold. An env file that cannot be read or is not one
/// akl wrote removes nothing: only what akl itself wrote is ever removed.
pub fn remove_gone(env_file: &Path, dir: &Path, keep: &[PathBuf]) {
    let Ok(Some(bytes)) = files::read_trusted(env_file, 64 << 20) else {
        return;
    };
    let (Ok(text), Some(dir_text)) = (std::str::from_utf8(&bytes), dir.to_str()) else {
        return;
    };
    // Without a path into `dir` there is nothing to remove, and nothing to parse.
    if !text.contains(dir_text) {
        return;
    }
    let Ok(parsed) = parse(text) else {
        return;
    };
    let keep: HashSet<&Path> = keep.iter().map(PathBuf::as_path).collect();
    // One listing rather than a failed unlink for each file an output could have had.
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let present: HashSet<OsString> = entries.flatten().map(|e| e.file_name()).collect();
    for (name, value) in parsed.vars {
        if Path::new(value.expose()) != dir.join(&name) {
            continue;
        }
        // A variable cannot hold `-` or `.`: these names are only ever a certificate's.
        let beside = BESIDE_SUFFIXES
            .iter()
            .map(|suffix| format!("{name}{suffix}"));
        for file in std::iter::once(name.clone()).chain(beside) {
            let path = dir.join(&file);
            if present.contains(OsStr::new(&file)) && !keep.contains(path.as_path()) {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envfile::{Format, render, write};
    use crate::secret::Secret;

    #[test]
    fn files_of_variables_gone_are_removed_and_nothing_else() {
        let home = tempfile::tempdir().unwrap();
        let env_file = home.path().join(".akeyless/env");
        let dir = files_dir(&env_file);
        let blob = Blob::new(vec![0u8, 0xff, b'\n']);
        let paths = write_files(
            &dir,
            &[
                ("KUBECONFIG", &blob),
                ("OLD", &blob),
                ("OLD-cert.pub", &blob),
                ("TLS", &blob),
                ("TLS.key", &blob),
            ],
        )
        .unwrap();
        assert_eq!(std::fs::read(&paths[0]).unwrap(), [0u8, 0xff, b'\n']);
        let vars: Vec<(String, Secret)> = [("KUBECONFIG", 0), ("OLD", 1), ("TLS", 3)]
            .iter()
            .map(|(n, i)| (n.to_string(), Secret::new(paths[*i].to_str().unwrap())))
            .collect();
        write(&env_file, &render(&vars, &[], Format::Sh)).unwrap();
        // Someone else's file in the directory is not akl's to remove.
        std::fs::write(dir.join("OTHER"), "x").unwrap();

        // TLS is now a plain file: its key goes, the file itself stays.
        remove_gone(&env_file, &dir, &[paths[0].clone(), paths[3].clone()]);
        assert!(paths[0].exists());
        assert!(!paths[1].exists());
        assert!(!paths[2].exists(), "a certificate goes with its variable");
        assert!(paths[3].exists());
        assert!(!paths[4].exists(), "a key its output no longer writes goes");
        assert!(dir.join("OTHER").exists());
    }
}
