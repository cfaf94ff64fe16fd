//! What each item fetched to, by key. A job may ask for 10,000 items: the results are
//! one vector sorted by key and looked up by binary search, which costs no hash of every
//! key, no table with room to spare, and no allocation per entry.

use super::fetch::{FetchResult, ItemKey};

#[derive(Debug, Default)]
pub struct Results {
    entries: Vec<(ItemKey, FetchResult)>,
    /// How many entries from the start are sorted (and without a key twice).
    sorted: usize,
}

impl Results {
    pub fn with_capacity(n: usize) -> Results {
        Results {
            entries: Vec::with_capacity(n),
            sorted: 0,
        }
    }

    /// Adds a result; a key added again keeps its last result.
    pub fn insert(&mut self, key: ItemKey, result: FetchResult) {
        self.entries.push((key, result));
    }

    /// Sorts what was added since the last call; cheap on what is sorted already.
    pub fn settle(&mut self) {
        if self.sorted == self.entries.len() {
            return;
        }
        crate::order::sort_keeping_last(&mut self.entries, |a, b| a.0.cmp(&b.0));
        self.sorted = self.entries.len();
    }

    /// The result of `key`, among the results settled.
    pub fn get(&self, key: &ItemKey) -> Option<&FetchResult> {
        let settled = &self.entries[..self.sorted];
        settled
            .binary_search_by(|(k, _)| k.cmp(key))
            .ok()
            .map(|i| &settled[i].1)
    }

    pub fn contains_key(&self, key: &ItemKey) -> bool {
        self.get(key).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&ItemKey, &FetchResult)> {
        self.entries.iter().map(|(k, r)| (k, r))
    }
}

impl Extend<(ItemKey, FetchResult)> for Results {
    fn extend<I: IntoIterator<Item = (ItemKey, FetchResult)>>(&mut self, iter: I) {
        self.entries.extend(iter);
    }
}

impl IntoIterator for Results {
    type Item = (ItemKey, FetchResult);
    type IntoIter = std::vec::IntoIter<(ItemKey, FetchResult)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ProducerArgs;
    use crate::resolve::{ItemType, Reason, shape::Fetched};
    use crate::secret::Secret;

    fn key(name: &str) -> ItemKey {
        ItemKey::new(name, None, &ProducerArgs::default())
    }

    fn text(value: &str) -> FetchResult {
        Ok((ItemType::Static, Fetched::Text(Secret::new(value))))
    }

    #[test]
    fn a_key_added_again_keeps_its_last_result_once_settled() {
        let mut results = Results::with_capacity(4);
        results.insert(key("/b"), text("1"));
        results.insert(key("/a"), Err(Reason::NotFound(None)));
        results.extend([(key("/a"), text("2")), (key("/c"), text("3"))]);
        assert!(results.get(&key("/a")).is_none(), "nothing settled yet");
        results.settle();
        for (name, want) in [("/a", "2"), ("/b", "1"), ("/c", "3")] {
            match results.get(&key(name)) {
                Some(Ok((_, Fetched::Text(v)))) => assert_eq!(v.expose(), want, "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
        assert_eq!(results.iter().count(), 3);
        assert!(!results.contains_key(&key("/d")));
    }
}
