//! From a run's outputs to what the job gets: variables, where a `|file=true` output is
//! written to a file and its variable holds the path; and the values a masker must know.

use std::path::PathBuf;

use crate::envfile;
use crate::error::Result;
use crate::resolve::{Content, Resolved};
use crate::secret::Secret;

/// What an output masker must look for: every value, and every file's content that is
/// text (binary content is not something a log shows as such).
pub fn masks(resolved: &[Resolved]) -> Vec<Secret> {
    let values = resolved.iter().filter_map(|r| match &r.content {
        Content::Text(value) => Some(value.clone()),
        Content::File(_) => None,
    });
    values.chain(file_contents(resolved)).collect()
}

/// The content of the file outputs that is text.
pub fn file_contents(resolved: &[Resolved]) -> Vec<Secret> {
    resolved
        .iter()
        .filter_map(|r| match &r.content {
            Content::File(blob) => blob.as_text(),
            Content::Text(_) => None,
        })
        .collect()
}

/// Variables and their values, as an env file holds them.
pub type Vars = Vec<(String, Secret)>;

/// The variables of `resolved`, the files first written into the directory `dir` gives
/// (asked only when there are files); and the files' paths.
pub fn variables(
    resolved: &[Resolved],
    dir: impl FnOnce() -> Result<PathBuf>,
) -> Result<(Vars, Vec<PathBuf>)> {
    let files: Vec<(&str, _)> = resolved
        .iter()
        .filter_map(|r| match &r.content {
            Content::File(blob) => Some((r.var.as_str(), blob)),
            Content::Text(_) => None,
        })
        .collect();
    let paths = match files.is_empty() {
        true => Vec::new(),
        false => envfile::write_files(&dir()?, &files)?,
    };
    let mut written = paths.iter();
    let vars = resolved
        .iter()
        .map(|r| {
            let value = match &r.content {
                Content::Text(value) => value.clone(),
                // In the same order as `files`: one path each.
                Content::File(_) => Secret::new(
                    written
                        .next()
                        .map(|p| p.to_string_lossy())
                        .unwrap_or_default(),
                ),
            };
            (r.var.clone(), value)
        })
        .collect();
    Ok((vars, paths))
}
