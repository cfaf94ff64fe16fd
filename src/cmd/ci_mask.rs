//! The CI's own log masking, where a job can add to it at run time: GitHub Actions
//! (`::add-mask::`), Azure Pipelines (`##vso[task.setsecret]`), Buildkite (`buildkite-agent
//! redactor add`). GitLab and CircleCI have none (`akl mask-shell` covers them).
//!
//! The workflow commands go to stderr: both runners read commands on stdout and stderr
//! alike and never show the line, and stdout may be data (`akl get`, `akl env --stdout`).
//! A value with several lines is also registered line by line, as each runner masks
//! line by line. The value travels escaped the way each runner unescapes it.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::settings::{Env, vars};

/// A CI whose masking can be reached at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ci {
    GitHub,
    AzurePipelines,
    Buildkite,
}

impl Ci {
    pub fn detect(env: &Env) -> Result<Option<Ci>> {
        let is = |name: &str| -> Result<bool> {
            Ok(env
                .get(name)?
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")))
        };
        Ok(if is(vars::GITHUB_ACTIONS)? {
            Some(Ci::GitHub)
        } else if is(vars::TF_BUILD)? {
            Some(Ci::AzurePipelines)
        } else if is(vars::BUILDKITE)? {
            Some(Ci::Buildkite)
        } else {
            None
        })
    }
}

/// Registers `values` with the CI's masking, if the job runs on such a CI.
pub fn register(env: &Env, values: &[Secret]) -> Result<()> {
    let Some(ci) = Ci::detect(env)? else {
        return Ok(());
    };
    let pieces = pieces(values);
    if pieces.is_empty() {
        return Ok(());
    }
    match ci {
        Ci::GitHub => commands(&pieces, "::add-mask::", github_escape),
        Ci::AzurePipelines => commands(&pieces, "##vso[task.setsecret]", azure_escape),
        Ci::Buildkite => buildkite(&pieces),
    }
}

/// Each value, and each line of a value with several.
fn pieces(values: &[Secret]) -> Vec<&str> {
    let mut out = Vec::new();
    for value in values {
        let text = value.expose();
        if text.trim().is_empty() {
            continue;
        }
        out.push(text);
        if text.contains(['\n', '\r']) {
            out.extend(text.split(['\n', '\r']).filter(|l| !l.trim().is_empty()));
        }
    }
    out
}

/// One workflow command per piece, on stderr, in one write.
fn commands(pieces: &[&str], prefix: &str, escape: fn(&str) -> String) -> Result<()> {
    let mut text = String::new();
    for piece in pieces {
        text.push_str(prefix);
        text.push_str(&escape(piece));
        text.push('\n');
    }
    let mut err = std::io::stderr().lock();
    err.write_all(text.as_bytes())
        .and_then(|()| err.flush())
        .map_err(|e| Error::other(format!("cannot register values with the CI's masking: {e}")))
}

/// GitHub's command data escaping (`%` first).
fn github_escape(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Azure Pipelines' logging command escaping (`%AZP25` for `%`, as the agent reads it).
fn azure_escape(text: &str) -> String {
    text.replace('%', "%AZP25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// `buildkite-agent redactor add --format json`: the values as a JSON object on stdin,
/// never on the command line.
fn buildkite(pieces: &[&str]) -> Result<()> {
    let map: serde_json::Map<String, serde_json::Value> = pieces
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("v{i}"), serde_json::Value::from(*p)))
        .collect();
    let input = serde_json::Value::Object(map).to_string();
    let failed = |why: String| {
        Error::other(format!("cannot register values with Buildkite's redactor: {why}")).hint(
            "BUILDKITE is set but buildkite-agent redactor add failed: run akl in the job's own environment (agent v3.67 or newer), or unset BUILDKITE",
        )
    };
    let mut child = Command::new("buildkite-agent")
        .args(["redactor", "add", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .map_err(|e| failed(e.to_string()))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| failed(e.to_string()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(failed(crate::error::printable(stderr.trim(), 300)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_and_the_escapes_each_runner_reads() {
        let values = [
            Secret::new("a%b\nline two"),
            Secret::new(" "),
            Secret::new("plain"),
        ];
        assert_eq!(
            pieces(&values),
            ["a%b\nline two", "a%b", "line two", "plain"]
        );
        assert_eq!(github_escape("a%b\r\nc"), "a%25b%0D%0Ac");
        assert_eq!(azure_escape("a%b\nc"), "a%AZP25b%0Ac");
    }
}
