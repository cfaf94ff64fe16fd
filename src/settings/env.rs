//! A snapshot of the process environment, read once at start.
//!
//! Everything downstream reads this snapshot instead of `std::env`, so configuration is
//! validated in one place and tests can build any environment without touching the
//! process's own.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;

use crate::error::{Error, Result};

/// Sorted by name, one entry per name. Every name lives in one string and every value in
/// one buffer, so that a job with 10,000 references costs three allocations rather than
/// two a variable: the process's variables come in one read of `/proc/self/environ`.
#[derive(Debug, Clone, Default)]
pub struct Env {
    names: String,
    values: Vec<u8>,
    vars: Vec<Entry>,
}

/// Where a variable's name is in `names` and its value in `values`.
#[derive(Debug, Clone)]
struct Entry {
    name: Range<usize>,
    value: Range<usize>,
}

/// The process's environment block (`/proc/self/environ`), opened. `main` opens it before
/// the process makes itself undumpable: from then on the process's `/proc` files belong to
/// root, and a job's own user could no longer open it (an open file stays readable).
#[derive(Debug)]
pub struct Block(Option<File>);

impl Block {
    pub fn open() -> Block {
        Block(File::open("/proc/self/environ").ok())
    }
}

impl Env {
    /// The environment the process started with, from its block. `akl` changes none of
    /// its own variables before this, so the kernel's copy of the block is the same as
    /// `std::env`'s; where the block could not be opened or read (no `/proc`), `std::env`
    /// is read instead.
    pub fn from_process(block: Block) -> Self {
        let mut bytes = Vec::new();
        match block.0.map(|mut file| file.read_to_end(&mut bytes)) {
            Some(Ok(_)) => Self::from_block(bytes),
            _ => Self::from_pairs(std::env::vars_os()),
        }
    }

    /// From `NAME=value` entries, each ended by a NUL. As the C library and `std` read
    /// them, a name ends at the first `=` after its first byte, and an entry without one
    /// is no variable. The block itself holds the values: only the names are copied.
    fn from_block(block: Vec<u8>) -> Self {
        let mut env = Env {
            values: block,
            ..Env::default()
        };
        let mut start = 0;
        while start < env.values.len() {
            let entry = &env.values[start..];
            let len = entry.iter().position(|&b| b == 0).unwrap_or(entry.len());
            let entry = &entry[..len];
            let eq = entry.iter().skip(1).position(|&b| b == b'=').map(|i| i + 1);
            if let Some(name) = eq.and_then(|eq| std::str::from_utf8(&entry[..eq]).ok()) {
                let at = env.names.len();
                env.names.push_str(name);
                env.vars.push(Entry {
                    name: at..env.names.len(),
                    value: start + name.len() + 1..start + len,
                });
            }
            start += len + 1;
        }
        env.settle();
        env
    }

    /// Variables whose names are not UTF-8 are dropped: they can be neither settings nor
    /// references, and could not be exported from a POSIX shell file anyway. Of a name
    /// given twice, the last value counts, as a map's insert would have it.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<OsString>,
        V: Into<OsString>,
    {
        let mut env = Env::default();
        for (name, value) in pairs {
            env.push(&name.into(), &value.into());
        }
        env.settle();
        env
    }

    /// Adds a variable at the end, unsorted; a name that is not UTF-8 is dropped.
    fn push(&mut self, name: &OsStr, value: &OsStr) {
        if let Some(name) = name.to_str() {
            let entry = self.append(name, value);
            self.vars.push(entry);
        }
    }

    /// Stores a name and a value, and says where they are.
    fn append(&mut self, name: &str, value: &OsStr) -> Entry {
        let at = (self.names.len(), self.values.len());
        self.names.push_str(name);
        self.values.extend_from_slice(value.as_bytes());
        Entry {
            name: at.0..self.names.len(),
            value: at.1..self.values.len(),
        }
    }

    /// Sorts by name, the last given of a name kept.
    fn settle(&mut self) {
        let names = &self.names;
        crate::order::sort_keeping_last(&mut self.vars, |a, b| {
            crate::order::cmp(&names[a.name.clone()], &names[b.name.clone()])
        });
        self.vars.shrink_to_fit();
    }

    fn name(&self, entry: &Entry) -> &str {
        &self.names[entry.name.clone()]
    }

    fn value(&self, entry: &Entry) -> &OsStr {
        OsStr::from_bytes(&self.values[entry.value.clone()])
    }

    fn find(&self, name: &str) -> std::result::Result<usize, usize> {
        self.vars
            .binary_search_by(|e| crate::order::cmp(self.name(e), name))
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
        let entry = self.append(name, OsStr::new(value));
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
        self.find(name).ok().map(|i| self.value(&self.vars[i]))
    }

    /// Every variable, in name order, with its raw value.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &OsStr)> {
        self.vars.iter().map(|e| (self.name(e), self.value(e)))
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
    fn the_block_reads_as_the_c_library_reads_it() {
        let block = b"B=1\0=X=2\0NOEQ\0A=a=b\0\xff=3\0B=4\0E=\0C=\xfe\0Z=9";
        let env = Env::from_block(block.to_vec());
        let all: Vec<(&str, &[u8])> = env.iter().map(|(k, v)| (k, v.as_bytes())).collect();
        let want: [(&str, &[u8]); 6] = [
            ("=X", b"2"),
            ("A", b"a=b"),
            ("B", b"4"),
            ("C", b"\xfe"),
            ("E", b""),
            ("Z", b"9"),
        ];
        assert_eq!(all, want);
    }

    #[test]
    fn the_process_block_is_what_std_reads() {
        let from_std = Env::from_pairs(std::env::vars_os());
        let own = Env::from_process(Block::open());
        assert!(own.count() > 0);
        assert!(own.iter().eq(from_std.iter()));
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
