//! A snapshot of the process environment, read once at start.
//!
//! Everything downstream reads this snapshot instead of `std::env`, so configuration is
//! validated in one place and tests can build any environment without touching the
//! process's own.

use std::collections::BTreeMap;
use std::ffi::OsString;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, OsString>,
}

impl Env {
    pub fn from_process() -> Self {
        Self::from_pairs(std::env::vars_os())
    }

    /// Variables whose names are not UTF-8 are dropped: they can be neither settings nor
    /// references, and could not be exported from a POSIX shell file anyway.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<OsString>,
        V: Into<OsString>,
    {
        let vars = pairs
            .into_iter()
            .filter_map(|(k, v)| Some((k.into().into_string().ok()?, v.into())))
            .collect();
        Env { vars }
    }

    /// A setting's value. Unset and empty are the same thing: CI systems routinely define
    /// variables as empty strings. A value that is not UTF-8 is an error naming the variable.
    pub fn get(&self, name: &str) -> Result<Option<&str>> {
        match self.vars.get(name) {
            None => Ok(None),
            Some(raw) => match raw.to_str() {
                Some("") => Ok(None),
                Some(value) => Ok(Some(value)),
                None => Err(Error::usage(format!("{name} is not valid UTF-8"))
                    .hint(format!("set {name} to plain text"))),
            },
        }
    }

    /// Sets a variable in the snapshot (the `akeyless` compatibility flags map onto it).
    pub fn set(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_owned(), value.into());
    }

    pub fn remove(&mut self, name: &str) {
        self.vars.remove(name);
    }

    /// How many variables there are.
    pub fn count(&self) -> usize {
        self.vars.len()
    }

    /// A variable's raw value, whatever it holds.
    pub fn raw(&self, name: &str) -> Option<&std::ffi::OsStr> {
        self.vars.get(name).map(OsString::as_os_str)
    }

    /// Every variable, in name order, with its raw value.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &OsString)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// Whether `name` can be exported from a POSIX shell: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    #[test]
    fn empty_is_unset_and_non_utf8_is_named() {
        let env = Env::from_pairs([
            (OsString::from("EMPTY"), OsString::from("")),
            (OsString::from("SET"), OsString::from("x")),
            (OsString::from("BAD"), OsString::from_vec(vec![0xff, 0xfe])),
            (OsString::from_vec(vec![0xff]), OsString::from("dropped")),
        ]);
        assert_eq!(env.get("EMPTY").unwrap(), None);
        assert_eq!(env.get("MISSING").unwrap(), None);
        assert_eq!(env.get("SET").unwrap(), Some("x"));
        let err = env.get("BAD").unwrap_err().to_string();
        assert!(err.contains("BAD is not valid UTF-8"), "{err}");
        assert_eq!(env.iter().count(), 3);
    }

    #[test]
    fn names_follow_posix() {
        for ok in ["A", "_", "a_1", "DB_PASSWORD", "_9"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A.B", "A B", "É", "A=B"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
