//! Finding every occurrence of many byte patterns in a buffer, at memory speed.
//!
//! Masking scans a job's whole output for hundreds of patterns (each secret in several
//! encodings). An Aho-Corasick DFA over that many random-looking strings spends its time in
//! cache misses (measured: under 400 MB/s); this is Wu–Manber instead. A window as long as
//! the shortest pattern slides over the text; a 64 KiB table, indexed by a hash of the
//! window's last three bytes, says how far it may jump without passing over the start of
//! any pattern. For text that holds no secret the window mostly jumps its full length, and
//! only windows whose prefix is some pattern's prefix are compared byte by byte.

use std::ops::Range;

/// Bytes hashed per shift-table lookup.
const BLOCK: usize = 3;
/// The window is at most this long: the longer, the further it jumps.
const MAX_WINDOW: usize = 16;

#[derive(Debug)]
pub struct Scanner {
    patterns: Vec<Vec<u8>>,
    window: usize,
    /// Indexed by a 16-bit hash: a fixed-size array needs no bounds check in the hot loop.
    shift: Box<[u8; 1 << 16]>,
    /// Hashes of the windows that start a pattern, sorted, each with its patterns' index
    /// range in `by_start` (patterns whose starts hash alike are adjacent there).
    starts: Vec<(u64, Range<u32>)>,
    by_start: Vec<u32>,
}

impl Scanner {
    /// `patterns` must each be at least `BLOCK` bytes long.
    pub fn new(patterns: Vec<Vec<u8>>) -> Scanner {
        let window = patterns
            .iter()
            .map(Vec::len)
            .min()
            .unwrap_or(MAX_WINDOW)
            .min(MAX_WINDOW);
        assert!(window >= BLOCK, "patterns must be at least {BLOCK} bytes");
        let most = (window - BLOCK + 1) as u8;
        let mut shift = Box::new([most; 1 << 16]);
        let mut keyed: Vec<(u64, u32)> = Vec::with_capacity(patterns.len());
        for (i, p) in patterns.iter().enumerate() {
            let start = &p[..window];
            for j in 0..=window - BLOCK {
                let slot = &mut shift[usize::from(hash(start[j], start[j + 1], start[j + 2]))];
                *slot = (*slot).min((window - BLOCK - j) as u8);
            }
            keyed.push((key(start), i as u32));
        }
        keyed.sort_unstable();
        let mut starts: Vec<(u64, Range<u32>)> = Vec::new();
        for (n, (k, _)) in keyed.iter().enumerate() {
            let n = n as u32;
            match starts.last_mut() {
                Some((last, range)) if last == k => range.end = n + 1,
                _ => starts.push((*k, n..n + 1)),
            }
        }
        let by_start = keyed.into_iter().map(|(_, i)| i).collect();
        Scanner {
            patterns,
            window,
            shift,
            starts,
            by_start,
        }
    }

    /// The patterns, in the order given to `new`.
    pub fn patterns(&self) -> &[Vec<u8>] {
        &self.patterns
    }

    /// Calls `found(start, end)` for every occurrence of every pattern in `text`,
    /// overlapping ones included, in order of `start`.
    pub fn each(&self, text: &[u8], mut found: impl FnMut(usize, usize)) {
        let m = self.window;
        if self.patterns.is_empty() || text.len() < m {
            return;
        }
        let mut end = m - 1; // the window's last byte
        while end < text.len() {
            let jump = self.shift[usize::from(hash(text[end - 2], text[end - 1], text[end]))];
            if jump != 0 {
                end += usize::from(jump);
                continue;
            }
            let start = end + 1 - m;
            let k = key(&text[start..=end]);
            if let Ok(i) = self.starts.binary_search_by(|(s, _)| s.cmp(&k)) {
                for &p in
                    &self.by_start[self.starts[i].1.start as usize..self.starts[i].1.end as usize]
                {
                    let pattern = &self.patterns[p as usize];
                    if text[start..].starts_with(pattern) {
                        found(start, start + pattern.len());
                    }
                }
            }
            end += 1;
        }
    }
}

/// A hash of `BLOCK` bytes (the scan's hottest line; inlined even when optimising for size).
#[inline(always)]
fn hash(a: u8, b: u8, c: u8) -> u16 {
    let x = u32::from(a) | u32::from(b) << 8 | u32::from(c) << 16;
    (x.wrapping_mul(0x9E37_79B1) >> 16) as u16
}

/// A hash of a window (up to `MAX_WINDOW` bytes), to look up candidate patterns; a match
/// is always confirmed byte by byte.
fn key(window: &[u8]) -> u64 {
    let mut bytes = [0u8; MAX_WINDOW];
    bytes[..window.len()].copy_from_slice(window);
    let lo = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    let hi = u64::from_le_bytes(bytes[8..].try_into().expect("8 bytes"));
    (lo ^ hi.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(scanner: &Scanner, text: &[u8]) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        scanner.each(text, |s, e| found.push((s, e)));
        found.sort_unstable();
        found
    }

    fn naive(patterns: &[Vec<u8>], text: &[u8]) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        for start in 0..text.len() {
            for p in patterns {
                if text[start..].starts_with(p) {
                    found.push((start, start + p.len()));
                }
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }

    #[test]
    fn finds_overlapping_and_shared_prefix_occurrences() {
        let patterns: Vec<Vec<u8>> = ["abcdef", "abcdefgh", "defghi", "xyzxyz"]
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect();
        let scanner = Scanner::new(patterns.clone());
        let text = b"..abcdefghi..xyzxyzxyz";
        assert_eq!(all(&scanner, text), naive(&patterns, text));
        assert_eq!(
            all(&scanner, text),
            [(2, 8), (2, 10), (5, 11), (13, 19), (16, 22)]
        );
        assert!(all(&scanner, b"abcde").is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Exactly the occurrences a naive search finds, on text drawn from a small
        /// alphabet so that near misses and overlaps are common.
        #[test]
        fn agrees_with_a_naive_search(
            patterns in prop::collection::btree_set("[abc]{3,12}", 1..12),
            text in "[abcd]{0,300}",
        ) {
            let patterns: Vec<Vec<u8>> = patterns.into_iter().map(String::into_bytes).collect();
            let scanner = Scanner::new(patterns.clone());
            prop_assert_eq!(all(&scanner, text.as_bytes()), naive(&patterns, text.as_bytes()));
        }
    }
}
