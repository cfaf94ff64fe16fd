//! The request log: what each API request looked like, never what secrets it carried.
//!
//! Tests assert on it ("two requests: auth and one batched get-secret-value"), so it
//! records the shape of every request: endpoint, route prefix, the body's keys and the item
//! names, the answer's status, and when it started and finished.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Entry {
    /// The command, e.g. `get-secret-value`.
    pub endpoint: String,
    /// The route prefix it came in on: `/`, `/api/v2/` or `/v2/`.
    pub prefix: String,
    pub scheme: String,
    /// The body's top-level keys, sorted.
    pub keys: Vec<String>,
    /// Item names from `names` (array or string) or `name`.
    pub names: Vec<String>,
    /// `access-type` of an `/auth` request.
    pub access_type: Option<String>,
    /// The `akeylessclienttype` header.
    pub client_type: Option<String>,
    /// A dynamic secret's producer arguments (`args`).
    pub args: Vec<String>,
    pub status: u16,
    pub started_ms: u64,
    pub finished_ms: u64,
}

#[derive(Debug)]
pub struct Log {
    start: Instant,
    entries: Mutex<Vec<Entry>>,
}

impl Default for Log {
    fn default() -> Self {
        Log {
            start: Instant::now(),
            entries: Mutex::default(),
        }
    }
}

impl Log {
    pub fn elapsed_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    pub fn push(&self, entry: Entry) {
        self.entries.lock().unwrap().push(entry);
    }

    pub fn entries(&self) -> Vec<Entry> {
        self.entries.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.entries.lock().unwrap().clear();
    }

    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for entry in self.entries.lock().unwrap().iter() {
            *counts.entry(entry.endpoint.clone()).or_default() += 1;
        }
        counts
    }
}
