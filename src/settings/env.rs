//! A snapshot of the process environment, read once at start.
//!
//! Everything downstream reads this snapshot instead of `std::env`, so configuration is
//! validated in one place and tests can build any environment without touching the
//! process's own.

use std::ffi::{OsStr, OsString};

use crate::error::{Error, Result};

/// Sorted by name, one entry per name. A vector of boxed strings rather than a map: the
/// snapshot lives for the whole run, and a job with 10,000 references holds 10,000 of
/// them; this is 32 bytes an entry where a `BTreeMap<String, OsString>` takes about 70.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: Vec<(Box<str>, Box<OsStr>)>,
}

impl Env {
    pub fn from_process() -> Self {
        Self::from_pairs(std::env::vars_os())
    }

    /// Variables whose names are not UTF-8 are dropped: they can be neither settings nor
    /// references, and could not be exported from a POSIX shell file anyway. Of a name
    /// given twice, the last value counts, as a map's insert would have it.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<OsString>,
        V: Into<OsString>,
    {
        let mut vars: Vec<(Box<str>, Box<OsStr>)> = pairs
            .into_iter()
            .filter_map(|(k, v)| Some((k.into().into_string().ok()?.into(), v.into().into())))
            .collect();
        // Stable: equal names keep their order, so the last one given is last of its run.
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        vars.reverse();
        vars.dedup_by(|later, earlier| later.0 == earlier.0);
        vars.reverse();
        vars.shrink_to_fit();
        Env { vars }
    }

    fn find(&self, name: &str) -> std::result::Result<usize, usize> {
        self.vars.binary_search_by(|(k, _)| (**k).cmp(name))
    }

    /// A setting's value. Unset and empty are the same thing: CI systems routinely define
    /// variables as empty strings. A value that is not UTF-8 is an error naming the variable.
    pub fn get(&self, name: &str) -> Result<Option<&str>> {
        match self.raw(name) {
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
        let entry = (name.into(), OsStr::new(value).into());
        match self.find(name) {
            Ok(i) => self.vars[i] = entry,
            Err(i) => self.vars.insert(i, entry),
        }
    }

    pub fn remove(&mut self, name: &str) {
        if let Ok(i) = self.find(name) {
            self.vars.remove(i);
        }
    }

    /// How many variables there are.
    pub fn count(&self) -> usize {
        self.vars.len()
    }

    /// A variable's raw value, whatever it holds.
    pub fn raw(&self, name: &str) -> Option<&OsStr> {
        self.find(name).ok().map(|i| &*self.vars[i].1)
    }

    /// Every variable, in name order, with its raw value.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &OsStr)> {
        self.vars.iter().map(|(k, v)| (&**k, &**v))
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
    fn one_entry_a_name_the_last_given_wins_and_order_is_by_name() {
        let mut env = Env::from_pairs([("B", "1"), ("A", "2"), ("B", "3"), ("C", "4")]);
        assert_eq!(env.get("B").unwrap(), Some("3"));
        env.set("AA", "5");
        env.set("C", "6");
        env.remove("A");
        env.remove("MISSING");
        let all: Vec<(&str, &OsStr)> = env.iter().collect();
        let want = [("AA", "5"), ("B", "3"), ("C", "6")].map(|(k, v)| (k, OsStr::new(v)));
        assert_eq!(all, want);
        assert_eq!(env.count(), 3);
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
