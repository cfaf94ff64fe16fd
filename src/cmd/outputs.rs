//! From a run's outputs to what the job gets: variables, where a `|file=true` output is
//! written to a file and its variable holds the path (a certificate's key pair: two
//! files, the variable naming one); and the values a masker must know.

use std::path::PathBuf;

use crate::envfile;
use crate::error::Result;
use crate::resolve::{Content, Resolved};
use crate::secret::{Blob, Secret};

/// What an output masker must look for: every value, and every file's content that is
/// text (binary content is not something a log shows as such).
pub fn masks(resolved: &[Resolved]) -> Vec<Secret> {
    let values = resolved.iter().filter_map(|r| match &r.content {
        Content::Text(value) => Some(value.clone()),
        Content::File(_) | Content::KeyFiles(_) => None,
    });
    values.chain(file_contents(resolved)).collect()
}

/// The content of the file outputs that is text and secret: a certificate is not, its
/// private key is.
pub fn file_contents(resolved: &[Resolved]) -> Vec<Secret> {
    resolved
        .iter()
        .filter_map(|r| match &r.content {
            Content::File(blob) => blob.as_text(),
            Content::KeyFiles(files) => files.key().as_text(),
            Content::Text(_) => None,
        })
        .collect()
}

/// Variables and their values, as an env file holds them; the names are the outputs'.
pub type Vars<'r> = Vec<(&'r str, Secret)>;

/// The variables of `resolved`, the files first written into the directory `dir` gives
/// (asked only when there are files); and the files' paths.
pub fn variables(
    resolved: &[Resolved],
    dir: impl FnOnce() -> Result<PathBuf>,
) -> Result<(Vars<'_>, Vec<PathBuf>)> {
    // Each output's files, its own first: `NAME`, then what goes beside it.
    let mut files: Vec<(String, &Blob)> = Vec::new();
    for r in resolved {
        match &r.content {
            Content::File(blob) => files.push((r.var.clone(), blob)),
            Content::KeyFiles(pair) => {
                files.push((r.var.clone(), &pair.main));
                files.push((format!("{}{}", r.var, pair.suffix), &pair.beside));
            }
            Content::Text(_) => {}
        }
    }
    let paths = match files.is_empty() {
        true => Vec::new(),
        false => {
            let named: Vec<(&str, &Blob)> = files.iter().map(|(n, b)| (n.as_str(), *b)).collect();
            envfile::write_files(&dir()?, &named)?
        }
    };
    let mut written = paths.iter();
    let mut path_of_next = |beside: bool| {
        let path = written.next().map(|p| p.to_string_lossy().into_owned());
        if beside {
            written.next();
        }
        Secret::new(path.unwrap_or_default())
    };
    let vars = resolved
        .iter()
        .map(|r| {
            let value = match &r.content {
                Content::Text(value) => value.clone(),
                // In the same order as `files`: the output's own path, then its beside's.
                Content::File(_) => path_of_next(false),
                Content::KeyFiles(_) => path_of_next(true),
            };
            (r.var.as_str(), value)
        })
        .collect();
    Ok((vars, paths))
}
