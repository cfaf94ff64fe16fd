//! The one error type, its exit codes, and the only code that prints errors and warnings.
//!
//! Output follows the `error: …` / `  Caused by: …` / `hint: …` shape, and a message is
//! written for the person reading a failed CI job: it names the variable or file at fault
//! and says what to do. No message ever carries a secret value.

use std::fmt::{self, Display};
use std::io::Write;

/// What went wrong, as far as the exit code is concerned (`docs/contract.md`, "Exit
/// codes"). Which kind a failure is gets decided where the failure is understood: API
/// failures in `client::ApiError::kind`, unresolved references in `resolve::Reason::kind`;
/// `exit_code` below is the only place that turns a kind into a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bad flags, a missing or contradictory setting, a malformed reference: exit 2.
    Usage,
    /// The gateway refused our credentials: exit 3.
    Auth,
    /// One or more references could not be resolved: exit 4.
    Unresolved,
    /// The API could not be reached, or kept failing until the deadline: exit 5.
    Unreachable,
    /// Anything else (local I/O, a bug): exit 1.
    Other,
    /// `akl run` could not start its command: the shell's 127 (not found) or 126.
    Command(u8),
}

#[derive(Debug)]
pub struct Error {
    kind: Kind,
    message: String,
    /// Indented lines under the message, e.g. one per failing variable.
    details: Vec<String>,
    causes: Vec<String>,
    hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Kind {
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Other => 1,
            Kind::Usage => 2,
            Kind::Auth => 3,
            Kind::Unresolved => 4,
            Kind::Unreachable => 5,
            Kind::Command(code) => code,
        }
    }

    /// Which of two problems decides the exit code when a run has several (`akl doctor`):
    /// configuration first, then authentication, references, reachability.
    pub fn outranks(self, other: Kind) -> bool {
        let rank = |k: Kind| match k {
            Kind::Usage => 0,
            Kind::Auth => 1,
            Kind::Unresolved => 2,
            _ => 3,
        };
        rank(self) < rank(other)
    }
}

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            details: Vec::new(),
            causes: Vec::new(),
            hint: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }

    pub fn auth(message: impl Into<String>) -> Self {
        Self::new(Kind::Auth, message)
    }

    pub fn unresolved(message: impl Into<String>) -> Self {
        Self::new(Kind::Unresolved, message)
    }

    pub fn unreachable(message: impl Into<String>) -> Self {
        Self::new(Kind::Unreachable, message)
    }

    pub fn other(message: impl Into<String>) -> Self {
        Self::new(Kind::Other, message)
    }

    pub fn detail(mut self, line: impl Into<String>) -> Self {
        self.details.push(line.into());
        self
    }

    pub fn cause(mut self, cause: impl Display) -> Self {
        self.causes.push(cause.to_string());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }

    /// The message, its details and causes, and the hint, for a report that lays them out
    /// its own way (`akl doctor`).
    pub fn parts(&self) -> (&str, &[String], &[String], Option<&str>) {
        (
            &self.message,
            &self.details,
            &self.causes,
            self.hint.as_deref(),
        )
    }

    /// Writes the error to stderr. Nothing else in `akl` prints errors.
    pub fn report(&self) {
        // A closed stderr leaves nothing better to do than exit with the code.
        let _ = write!(std::io::stderr().lock(), "{self}");
    }
}

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        for line in &self.details {
            writeln!(f, "  {line}")?;
        }
        for cause in &self.causes {
            writeln!(f, "  Caused by: {cause}")?;
        }
        if let Some(hint) = &self.hint {
            // Multi-line hints (YAML snippets) stay aligned under `hint: `.
            let mut lines = hint.lines();
            if let Some(first) = lines.next() {
                writeln!(f, "hint: {first}")?;
            }
            for line in lines {
                writeln!(f, "      {line}")?;
            }
        }
        Ok(())
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::other(err.to_string())
    }
}

/// Text from elsewhere (a gateway's error, an item's type, a secret's JSON keys) made safe
/// to print on one line: control characters, terminal escapes among them, become spaces,
/// and it is cut at `max` characters.
pub fn printable(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out.trim().to_owned()
}

/// Prints a progress note to stderr: stdout is only for data.
pub fn note(message: impl Display) {
    let _ = writeln!(std::io::stderr().lock(), "akl: {message}");
}

/// Prints a warning to stderr: something the user should fix that did not stop the run.
pub fn warn(message: impl Display) {
    let _ = writeln!(std::io::stderr().lock(), "warning: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(Error::other("x").exit_code(), 1);
        assert_eq!(Error::usage("x").exit_code(), 2);
        assert_eq!(Error::auth("x").exit_code(), 3);
        assert_eq!(Error::unresolved("x").exit_code(), 4);
        assert_eq!(Error::unreachable("x").exit_code(), 5);
    }

    #[test]
    fn foreign_text_loses_its_escapes_and_length() {
        assert_eq!(
            printable("STATIC\u{1b}[31m_SECRET\n", 100),
            "STATIC [31m_SECRET"
        );
        assert_eq!(printable("abcdef", 3), "abc…");
    }

    #[test]
    fn renders_message_details_causes_and_aligned_hint() {
        let err = Error::usage("no ID token found")
            .detail("looked in AKEYLESS_JWT")
            .cause("variable is empty")
            .hint("add to .gitlab-ci.yml:\n  id_tokens:");
        assert_eq!(
            err.to_string(),
            "error: no ID token found\n  looked in AKEYLESS_JWT\n  Caused by: variable is empty\n\
             hint: add to .gitlab-ci.yml:\n        id_tokens:\n"
        );
    }
}
