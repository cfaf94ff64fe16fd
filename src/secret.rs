//! `Secret`: a string that cannot be printed by accident.
//!
//! Secret values, tokens, JWTs and access keys all live in this type. It has no `Display`
//! and its `Debug` prints `Secret(redacted)`, so neither `{}`, `{:?}` nor an error message
//! built from a struct holding one can leak it; the only way to the bytes is `expose()`,
//! which is easy to grep for.

use std::fmt;
use std::sync::Arc;

/// Shared, not copied: a value goes to the fetch results, its variable, the env file's
/// lines and the masker, and each clone is a reference count, not another copy of it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(Arc<str>);

impl Secret {
    pub fn new(value: impl Into<Arc<str>>) -> Self {
        Secret(value.into())
    }

    /// The value itself. Call only where the value is meant to go: a request body, the env
    /// file, a child's environment, the output of `akl get`.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_exposed(self) -> String {
        self.0.as_ref().to_owned()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A secret read from an answer (a token, a minted credential): a JSON string.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <String as serde::Deserialize>::deserialize(d).map(Secret::new)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// Bytes that cannot be printed by accident: a value written to a file (`|file=true`),
/// which may be binary once base64 is decoded.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Blob(Vec<u8>);

impl Blob {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Blob(bytes.into())
    }

    /// The bytes themselves, for the file they go to.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The content as text, when it is text: what an output masker can look for.
    pub fn as_text(&self) -> Option<Secret> {
        std::str::from_utf8(&self.0).ok().map(Secret::new)
    }
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Blob({} bytes, redacted)", self.0.len())
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

    #[test]
    fn blobs_show_only_their_length() {
        let b = Blob::new(vec![0xff, 0]);
        assert_eq!(format!("{b:?}"), "Blob(2 bytes, redacted)");
        assert!(b.as_text().is_none());
        assert_eq!(Blob::new("pem").as_text().unwrap().expose(), "pem");
    }
}
