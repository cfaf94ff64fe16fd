//! The values a running command's output is masked for: the ones `akl run` started with,
//! and the ones registered while the command runs (`channel`).
//!
//! Registration swaps in a new set of patterns and bumps an epoch; each output pump looks
//! at the epoch after every read, so bytes read after a registration was acknowledged are
//! masked with the new set. A value reaches the output only after its registration was
//! acknowledged, so it can never slip through.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::Result;
use crate::mask::{Patterns, TooShort};
use crate::secret::Secret;

use super::channel;

#[derive(Debug)]
pub struct Masker {
    state: Mutex<State>,
    epoch: AtomicU64,
    /// The masker of an enclosing `akl run`, which sees our output too and is told every
    /// value we learn, so that it keeps masking them after we exit.
    parent: Option<PathBuf>,
}

#[derive(Debug)]
struct State {
    /// The patterns of every value so far, which hold the values themselves (once, shared
    /// by every set built from them).
    patterns: Arc<Patterns>,
}

impl Masker {
    /// A masker for `values`; returns, per value (by index), what was too short to mask.
    pub fn new(values: Vec<Secret>, parent: Option<PathBuf>) -> (Masker, Vec<(usize, TooShort)>) {
        let (patterns, short) = Patterns::new(values.into_iter().map(Secret::into_exposed));
        let masker = Masker {
            state: Mutex::new(State {
                patterns: Arc::new(patterns),
            }),
            epoch: AtomicU64::new(0),
            parent,
        };
        (masker, short)
    }

    /// The current patterns and their epoch.
    pub fn patterns(&self) -> (u64, Arc<Patterns>) {
        let state = self.lock();
        (self.epoch.load(Ordering::Acquire), state.patterns.clone())
    }

    /// Has the set changed since `epoch`?
    pub fn changed_since(&self, epoch: u64) -> bool {
        self.epoch.load(Ordering::Acquire) != epoch
    }

    /// Adds values: the enclosing masker learns them first, then ours masks them from the
    /// next read on. Returns how many of them are too short to mask.
    pub fn add(&self, values: Vec<Secret>) -> Result<usize> {
        if let Some(parent) = &self.parent {
            channel::send(parent, &values)?;
        }
        let mut state = self.lock();
        // Values known already are not counted again; the new set shares the old one's.
        let mut fresh: Vec<String> = values
            .into_iter()
            .filter(|v| !state.patterns.knows(v.expose()))
            .map(Secret::into_exposed)
            .collect();
        fresh.sort_unstable();
        fresh.dedup();
        let (patterns, short) = state.patterns.with(fresh);
        state.patterns = Arc::new(patterns);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        Ok(short.len())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A pump that panicked cannot leave the set half-updated: it only reads it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::Redactor;

    #[test]
    fn registered_values_are_masked_from_the_next_chunk() {
        let (masker, short) = Masker::new(vec![Secret::new("first-secret")], None);
        assert!(short.is_empty());
        let (epoch, patterns) = masker.patterns();
        let mut redactor = Redactor::new(patterns);
        let mut out = Vec::new();
        redactor.push(b"first-secret later-secret\n", &mut out);
        assert!(!masker.changed_since(epoch));
        assert_eq!(
            masker
                .add(vec![Secret::new("later-secret"), Secret::new("abc")])
                .unwrap(),
            1
        );
        assert!(masker.changed_since(epoch));
        redactor.set_patterns(masker.patterns().1);
        redactor.push(b"first-secret later-secret\n", &mut out);
        redactor.finish(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[MASKED] later-secret\n[MASKED] [MASKED]\n"
        );
    }
}
