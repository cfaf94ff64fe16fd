//! `Secret`: a string that cannot be printed by accident.
//!
//! Secret values, tokens, JWTs and access keys all live in this type. It has no `Display`
//! and its `Debug` prints `Secret(redacted)`, so neither `{}`, `{:?}` nor an error message
//! built from a struct holding one can leak it; the only way to the bytes is `expose()`,
//! which is easy to grep for.

use std::fmt;

#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself. Call only where the value is meant to go: a request body, the env
    /// file, a child's environment, the output of `akl get`.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_exposed(self) -> String {
        self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(redacted)");
        assert_eq!(format!("{:?}", Some(&s)), "Some(Secret(redacted))");
        assert_eq!(s.expose(), "hunter2");
    }
}
