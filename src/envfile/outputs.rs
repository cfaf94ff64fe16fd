//! The files of `|file=true` outputs: `files/NAME` beside the env file, each 0600 and
//! replaced atomically, in a 0700 directory; the variable holds the path. A file whose
//! variable is gone from the env file is removed when the env file is rewritten.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::files;
use crate::secret::Blob;

use super::render::parse;
use super::write::{parent, write_bytes};

/// Where the file outputs of the env file at `env_file` go.
pub fn files_dir(env_file: &Path) -> PathBuf {
    parent(env_file).join("files")
}

/// Writes each output to `dir/NAME`; returns the paths, in order.
pub fn write_files(dir: &Path, outputs: &[(&str, &Blob)]) -> Result<Vec<PathBuf>> {
    let mut written = Vec::with_capacity(outputs.len());
    for (name, content) in outputs {
        let path = dir.join(name);
        write_bytes(&path, content.expose())?;
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
    for (name, value) in parsed.vars {
        let path = dir.join(&name);
        if Path::new(value.expose()) == path && !keep.contains(&path) {
            let _ = std::fs::remove_file(&path);
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
        let paths = write_files(&dir, &[("KUBECONFIG", &blob), ("OLD", &blob)]).unwrap();
        assert_eq!(std::fs::read(&paths[0]).unwrap(), [0u8, 0xff, b'\n']);
        let vars: Vec<(String, Secret)> = ["KUBECONFIG", "OLD"]
            .iter()
            .zip(&paths)
            .map(|(n, p)| (n.to_string(), Secret::new(p.to_str().unwrap())))
            .collect();
        write(&env_file, &render(&vars, &[], Format::Sh)).unwrap();
        // Someone else's file in the directory is not akl's to remove.
        std::fs::write(dir.join("OTHER"), "x").unwrap();

        remove_gone(&env_file, &dir, &paths[..1]);
        assert!(paths[0].exists());
        assert!(!paths[1].exists());
        assert!(dir.join("OTHER").exists());
    }
}
