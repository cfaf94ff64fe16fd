//! Finding every occurrence of many byte patterns in a buffer, at memory speed.
//!
//! Masking scans a job's whole output for hundreds or thousands of patterns (each secret in
//! several encodings). An Aho-Corasick DFA over that many random-looking strings spends its
//! time in cache misses (measured: under 400 MB/s); this is Wu–Manber instead. A window as
//! long as the shortest pattern (at most `MAX_WINDOW`) slides over the text; a table indexed
//! by a hash of the window's last `BLOCK` bytes says how far it may jump without passing
//! over the start of any pattern. For text that holds no secret the window mostly jumps
//! its full length.
//!
//! Each jump depends on the table entry the previous one read, so one window is bound by
//! memory latency rather than throughput: the text is cut into eight lanes whose windows
//! slide side by side, and the processor overlaps their lookups. The lanes take blocks of
//! steps that none of them can finish early, with no branch: a window whose jump is zero
//! stays where it is until the block ends, and is checked then.
//!
//! A window whose jump is zero is a candidate. Patterns that share their first window of
//! bytes form a group (they are adjacent in sorted order); a bitmap and a hash table of
//! the groups' windows reject most candidates in a few instructions. A candidate that
//! names a group is decided by one binary search within it that never compares a byte
//! twice (each comparison starts past the prefix both bounds share with the text), so a
//! thousand secrets sharing a long prefix (JWTs with the same header) cost about as much
//! as one.
//!
//! Values registered while a command runs are added to a scanner that may hold thousands
//! of secrets. The patterns are kept in two sets: the base, shared with the scanner it grew
//! from, and the recent ones, which are all an addition rebuilds; one shift table and one
//! bitmap cover both, so the scan costs the same. Once the recent set outgrows
//! `RECENT_MAX`, or a quarter of the base, or holds patterns that start with the window of
//! a group of the base (`SMALL_BASE`, `SHARED_MAX`), everything becomes one base again.

use std::cmp::Ordering;
use std::sync::Arc;

/// Bytes hashed per shift-table lookup.
const BLOCK: usize = 3;
/// The window is at most this long: the longer, the further it jumps.
const MAX_WINDOW: usize = 16;
/// Shift-table entries, one byte each (256 KiB). With a thousand secrets in all their
/// forms, a smaller table's collisions shorten the jumps (2^17: 6-8% slower, short secrets
/// and long alike), and a larger one falls out of the cache (2^20: 12-25% slower); with a
/// hundred, 2^18 costs 1-2% over 2^17.
const SHIFT_BITS: u32 = 18;
/// The bitmap of group windows: one bit per value of a 16-bit hash.
const SEEN_BITS: u32 = 16;
/// Below this many window positions per lane, one lane does the whole text.
const MIN_LANE: usize = 1 << 12;
/// Lanes scanned side by side.
const LANES: usize = 8;
/// Steps each lane takes between two looks at whether its window's jump was zero.
const STEPS: usize = 8;

/// `$body` once for each lane, with `$k` a constant: the lanes' state stays in registers.
macro_rules! each_lane {
    ($k:ident => $body:expr) => {{
        {
            const $k: usize = 0;
            $body;
        }
        {
            const $k: usize = 1;
            $body;
        }
        {
            const $k: usize = 2;
            $body;
        }
        {
            const $k: usize = 3;
            $body;
        }
        {
            const $k: usize = 4;
            $body;
        }
        {
            const $k: usize = 5;
            $body;
        }
        {
            const $k: usize = 6;
            $body;
        }
        {
            const $k: usize = 7;
            $body;
        }
    }};
}
const NONE: u32 = u32::MAX;
/// Groups of at least this many patterns are split further (see `Group`).
const SPLIT_FROM: usize = 4;
/// The most patterns an addition leaves in the recent set before it rebuilds the whole
/// scanner: each addition rebuilds the recent set, each rebuild costs what the base does,
/// and between the two an addition of a few patterns costs well under a millisecond.
const RECENT_MAX: usize = 1024;
/// A recent pattern that starts with the window of a group of the base makes every
/// candidate window of that group searched in both sets: one JWT registered while 1,000
/// with the same header are masked made a log of such JWTs 30% slower. Such a pattern
/// rebuilds a base this small at once (those 1,000 JWTs: about 2 ms more for the
/// registration); a larger base, once the recent set holds more than `SHARED_MAX` of them.
const SMALL_BASE: usize = 32768;
const SHARED_MAX: usize = 256;

/// A pattern: `len` bytes at `start` of one of the scanner's sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub source: u32,
    pub start: u32,
    pub len: u32,
}

pub struct Scanner {
    /// The byte strings the patterns are cut from, shared with the sets this one was built
    /// from, so a huge value is stored once.
    sources: Vec<Arc<Vec<u8>>>,
    /// The patterns the scanner was built with, shared with the scanners grown from it.
    base: Arc<Set>,
    /// The patterns added since, none of them in `base`.
    recent: Set,
    window: usize,
    /// The longest jump: `window - BLOCK + 1`.
    most: u8,
    /// Indexed by a hash of `BLOCK` bytes: a fixed-size array needs no bounds check.
    shift: Box<[u8; 1 << SHIFT_BITS]>,
    /// Which 16-bit hashes of a window are some group's.
    seen: Box<[u64; 1 << (SEEN_BITS - 6)]>,
}

/// Patterns, sorted, and what finds them once the shift table has stopped at a window.
struct Set {
    /// Sorted by their bytes and distinct.
    pieces: Vec<Piece>,
    /// For each pattern, the longest other pattern that is a prefix of it, or `NONE`.
    parent: Vec<u32>,
    groups: Vec<Group>,
    /// Open addressing over the groups' window keys: the key's high half and the group's
    /// number, `NONE` for an empty slot.
    slots: Vec<(u32, u32)>,
    /// Open addressing over the parts of split groups (by `split_key`): the key's high
    /// half and the part's range of patterns, `NONE` for an empty slot.
    parts: Vec<(u32, u32, u32)>,
}

/// The patterns that start with the same window.
#[derive(Debug, Clone, Copy)]
struct Group {
    lo: u32,
    hi: u32,
    /// How many leading bytes all of them share.
    shared: u32,
    /// Whether they are told apart by the eight bytes after those (a large group whose
    /// patterns all go on that far): `parts` then has each run of them that share these too.
    split: bool,
}

impl std::fmt::Debug for Scanner {
    // The patterns are secrets: only their number is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("patterns", &self.len())
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl Scanner {
    /// A scanner for the patterns `sorted` (sorted and distinct, as a scanner's `pieces`)
    /// and `more`, cut from `sources`, each at least `BLOCK` bytes long; duplicates are
    /// dropped.
    pub fn new(sources: Vec<Arc<Vec<u8>>>, sorted: &[Piece], more: Vec<Piece>) -> Scanner {
        let bytes = |p: &Piece| -> &[u8] { piece_bytes(&sources, p) };
        let mut more: Vec<(&[u8], Piece)> = more.into_iter().map(|p| (bytes(&p), p)).collect();
        more.sort_unstable_by(|a, b| order(a.0, b.0));
        let mut pieces: Vec<Piece> = Vec::with_capacity(sorted.len() + more.len());
        let mut last: &[u8] = &[];
        let mut more = more.into_iter().peekable();
        let mut sorted = sorted.iter().map(|p| (bytes(p), *p)).peekable();
        loop {
            let next = match (sorted.peek(), more.peek()) {
                (Some(a), Some(b)) if order(a.0, b.0) == Ordering::Greater => more.next(),
                (Some(_), _) => sorted.next(),
                (None, _) => more.next(),
            };
            let Some((b, p)) = next else { break };
            if pieces.is_empty() || order(b, last) != Ordering::Equal {
                pieces.push(p);
                last = b;
            }
        }
        let window = pieces
            .iter()
            .map(|p| p.len as usize)
            .min()
            .unwrap_or(MAX_WINDOW)
            .min(MAX_WINDOW);
        assert!(window >= BLOCK, "patterns must be at least {BLOCK} bytes");
        let most = (window - BLOCK + 1) as u8;
        let mut shift = Box::new([most; 1 << SHIFT_BITS]);
        let mut seen = Box::new([0u64; 1 << (SEEN_BITS - 6)]);
        let base = Set::new(&sources, pieces, window, &mut shift, &mut seen);
        Scanner {
            recent: Set::new(&sources, Vec::new(), window, &mut shift, &mut seen),
            base: Arc::new(base),
            sources,
            window,
            most,
            shift,
            seen,
        }
    }

    /// This scanner and the patterns `more`, cut from `sources` (this one's and those
    /// after them). Only the recent set is rebuilt, and the base is shared, unless the
    /// recent set would outgrow it or a pattern is shorter than the window.
    pub fn grow(&self, sources: Vec<Arc<Vec<u8>>>, more: Vec<Piece>) -> Scanner {
        let bytes = |p: &Piece| -> &[u8] { piece_bytes(&sources, p) };
        let mut recent: Vec<Piece> = more
            .into_iter()
            .filter(|p| {
                let b = bytes(p);
                let base = &self.base.pieces;
                base.binary_search_by(|q| order(bytes(q), b)).is_err()
            })
            .chain(self.recent.pieces.iter().copied())
            .collect();
        let shares_a_window = |p: &Piece| {
            let b = bytes(p);
            self.group(&self.base, key(b, 0, self.window), b).is_some()
        };
        let rebuild = recent.len() > RECENT_MAX.min(self.base.pieces.len() / 4)
            || recent.iter().any(|p| (p.len as usize) < self.window)
            || match self.base.pieces.len() <= SMALL_BASE {
                true => recent.iter().any(shares_a_window),
                false => recent.iter().filter(|p| shares_a_window(p)).count() > SHARED_MAX,
            };
        if rebuild {
            return Scanner::new(sources, &self.base.pieces, recent);
        }
        recent.sort_unstable_by(|a, b| order(bytes(a), bytes(b)));
        recent.dedup_by(|a, b| order(bytes(a), bytes(b)).is_eq());
        // Both tables only gain what the recent patterns add: a copy of ours is theirs.
        let (mut shift, mut seen) = (self.shift.clone(), self.seen.clone());
        let recent = Set::new(&sources, recent, self.window, &mut shift, &mut seen);
        Scanner {
            sources,
            base: self.base.clone(),
            recent,
            window: self.window,
            most: self.most,
            shift,
            seen,
        }
    }

    pub fn sources(&self) -> &[Arc<Vec<u8>>] {
        &self.sources
    }

    pub fn len(&self) -> usize {
        self.base.pieces.len() + self.recent.pieces.len()
    }

    /// The two sets of patterns.
    fn sets(&self) -> [&Set; 2] {
        [&self.base, &self.recent]
    }

    /// The bytes of pattern `i` of `set`.
    #[inline]
    fn pattern(&self, set: &Set, i: usize) -> &[u8] {
        piece_bytes(&self.sources, &set.pieces[i])
    }

    /// Whether `s` is a proper prefix of some pattern (so more bytes could complete one).
    pub fn is_proper_prefix(&self, s: &[u8]) -> bool {
        self.sets().into_iter().any(|set| {
            let (lo, hi, known) = match s.len() >= self.window {
                // Only the group of patterns that start with `s`'s window can continue it.
                true => match self.group(set, key(s, 0, self.window), s) {
                    Some(g) => (
                        set.groups[g].lo as usize,
                        set.groups[g].hi as usize,
                        self.window,
                    ),
                    None => return false,
                },
                false => (0, set.pieces.len(), 0),
            };
            // The patterns that continue `s` come right after every pattern that is at most
            // `s`.
            let (after, _) = self.search(set, lo, hi, s, known);
            after < hi && is_prefix(s, self.pattern(set, after))
        })
    }

    /// Calls `found(start, end)` for every occurrence of every pattern in `text`,
    /// overlapping ones included, in order of `start`.
    pub fn each(&self, text: &[u8], mut found: impl FnMut(usize, usize)) {
        let m = self.window;
        if self.len() == 0 || text.len() < m {
            return;
        }
        // Window `w` covers text[w..w + m]; lane `k` owns the k-th eighth of the windows.
        let windows = text.len() - m + 1;
        if windows < LANES * MIN_LANE || text.len() >= u32::MAX as usize {
            self.lane(text, m - 1, text.len(), &mut found);
            return;
        }
        let q = windows / LANES;
        let shift = &*self.shift;
        // Each lane's window end, and where its windows end.
        let mut end: [u32; LANES] = std::array::from_fn(|k| (k * q + m - 1) as u32);
        let limit: [u32; LANES] = std::array::from_fn(|k| match k + 1 == LANES {
            true => text.len() as u32,
            false => ((k + 1) * q + m - 1) as u32,
        });
        // A block of steps moves a window at most this far.
        let room = STEPS as u32 * u32::from(self.most);
        let mut last = [0u8; LANES];
        // Lane 0's occurrences go straight out; the others' wait their turn.
        let mut later: [Vec<(usize, usize)>; LANES] = Default::default();
        loop {
            // Blocks of steps that no lane can finish early, so that none checks its limit.
            let mut room_left = true;
            each_lane!(K => room_left &= limit[K].saturating_sub(end[K]) >= room);
            if !room_left {
                break;
            }
            for _ in 0..STEPS {
                each_lane!(K => {
                    // A zero jump leaves the window where it is: the lane marks time there
                    // until the block ends, and its window is checked then.
                    let e = end[K] as usize;
                    assert!(e < text.len() && e >= 2);
                    let block = u32::from(text[e - 2])
                        | u32::from(text[e - 1]) << 8
                        | u32::from(text[e]) << 16;
                    last[K] = shift[block_hash(block)];
                    end[K] += u32::from(last[K]);
                });
            }
            for (k, (end, last)) in end.iter_mut().zip(&last).enumerate() {
                if *last == 0 {
                    match k {
                        0 => self.check(text, *end as usize, &mut found),
                        _ => self.check(text, *end as usize, &mut |s, e| later[k].push((s, e))),
                    }
                    *end += 1;
                }
            }
        }
        for (k, later) in later.iter_mut().enumerate() {
            let (end, limit) = (end[k] as usize, limit[k] as usize);
            match k {
                0 => self.lane(text, end, limit, &mut found),
                _ => self.lane(text, end, limit, &mut |s, e| later.push((s, e))),
            }
        }
        for (s, e) in later.into_iter().flatten() {
            found(s, e);
        }
    }

    /// One lane on its own: windows ending at `end` and up to (not at) `limit`.
    fn lane(&self, text: &[u8], mut end: usize, limit: usize, found: &mut dyn FnMut(usize, usize)) {
        while end < limit {
            let jump = self.jump(text, end);
            if jump == 0 {
                self.check(text, end, found);
            }
            end += jump.max(1);
        }
    }

    /// How far the window ending at `end` may jump; 0 when it may start a pattern.
    #[inline(always)]
    fn jump(&self, text: &[u8], end: usize) -> usize {
        let block =
            u32::from(text[end - 2]) | u32::from(text[end - 1]) << 8 | u32::from(text[end]) << 16;
        usize::from(self.shift[block_hash(block)])
    }

    /// Checks the window ending at `end`, whose jump is zero, and reports what starts there.
    #[inline(always)]
    fn check(&self, text: &[u8], end: usize, found: &mut dyn FnMut(usize, usize)) {
        let start = end + 1 - self.window;
        let k = key(text, start, self.window);
        if self.seen[seen_index(k)] & seen_bit(k) != 0 {
            // The recent set is mostly empty: a call for it with every candidate would
            // cost 10% of the scan where most windows are candidates (JWTs that share a
            // header).
            for set in self.sets() {
                if !set.pieces.is_empty() {
                    self.candidate(set, text, start, k, found);
                }
            }
        }
    }

    /// Reports every pattern of `set` that starts at `start`, whose window's key is `k`.
    #[inline(never)]
    fn candidate(
        &self,
        set: &Set,
        text: &[u8],
        start: usize,
        k: u64,
        found: &mut dyn FnMut(usize, usize),
    ) {
        let rest = &text[start..];
        let Some(n) = self.group(set, k, rest) else {
            return;
        };
        let g = set.groups[n];
        let (mut lo, mut hi, mut known) = (g.lo as usize, g.hi as usize, self.window);
        let shared = g.shared as usize;
        if g.split && rest.len() >= shared + 8 {
            // Whatever starts here shares all of the group's common prefix, and the eight
            // bytes after it name the only part that can.
            if compare_from(self.pattern(set, lo), rest, known).1 < shared {
                return;
            }
            let Some((a, b)) = self.part(set, n, shared, word(rest, shared)) else {
                return;
            };
            (lo, hi, known) = (a, b, shared + 8);
        }
        // The last pattern at most `rest`, and how much of it `rest` shares. Every
        // pattern that starts `rest` is at most `rest` and a prefix of that one, so it is
        // that one or among its parents.
        let (after, shared) = self.search(set, lo, hi, rest, known);
        if after == lo {
            return;
        }
        let mut i = (after - 1) as u32;
        while i != NONE {
            let len = set.pieces[i as usize].len as usize;
            if len <= shared {
                found(start, start + len);
            }
            i = set.parent[i as usize];
        }
    }

    /// The group of `set`'s patterns that start with `text`'s first window, whose key is
    /// `k`.
    #[inline]
    fn group(&self, set: &Set, k: u64, text: &[u8]) -> Option<usize> {
        if self.seen[seen_index(k)] & seen_bit(k) == 0 {
            return None;
        }
        let mask = set.slots.len() - 1;
        let mut at = k as usize & mask;
        loop {
            let (tag, g) = set.slots[at];
            if g == NONE {
                return None;
            }
            let lo = set.groups[g as usize].lo as usize;
            if tag == (k >> 32) as u32 && is_prefix(&text[..self.window], self.pattern(set, lo)) {
                return Some(g as usize);
            }
            at = (at + 1) & mask;
        }
    }

    /// The range of patterns of split group `g` whose eight bytes after the `shared` ones
    /// are `w`.
    fn part(&self, set: &Set, g: usize, shared: usize, w: u64) -> Option<(usize, usize)> {
        let k = split_key(g, w);
        let mask = set.parts.len() - 1;
        let mut at = k as usize & mask;
        loop {
            let (tag, lo, hi) = set.parts[at];
            if lo == NONE {
                return None;
            }
            if tag == (k >> 32) as u32 && word(self.pattern(set, lo as usize), shared) == w {
                return Some((lo as usize, hi as usize));
            }
            at = (at + 1) & mask;
        }
    }

    /// Binary search in `set.pieces[lo..hi]`, all of which share their first `known` bytes
    /// with `text`: returns how many of them are at most `text` (as an index: the first
    /// that is greater) and how many bytes `text` shares with the last that is not. Each
    /// comparison starts past the bytes both bounds of the range share with `text`, which
    /// every pattern between them shares too.
    fn search(&self, set: &Set, lo: usize, hi: usize, text: &[u8], known: usize) -> (usize, usize) {
        let (mut a, mut b) = (lo, hi);
        let (mut shared_a, mut shared_b) = (known, known);
        while a < b {
            let mid = a + (b - a) / 2;
            let (order, shared) =
                compare_from(self.pattern(set, mid), text, shared_a.min(shared_b));
            if order == Ordering::Greater {
                b = mid;
                shared_b = shared;
            } else {
                a = mid + 1;
                shared_a = shared;
            }
        }
        (a, shared_a)
    }
}

impl Set {
    /// The set of `pieces` (sorted and distinct, none shorter than `window`), whose
    /// windows' blocks and keys go into `shift` and `seen`.
    fn new(
        sources: &[Arc<Vec<u8>>],
        pieces: Vec<Piece>,
        window: usize,
        shift: &mut [u8; 1 << SHIFT_BITS],
        seen: &mut [u64; 1 << (SEEN_BITS - 6)],
    ) -> Set {
        let bytes = |p: &Piece| -> &[u8] { piece_bytes(sources, p) };
        // Sorted order puts every prefix of a pattern before it, on the stack of the
        // patterns that are prefixes of the previous one.
        let mut parent = Vec::with_capacity(pieces.len());
        let mut stack: Vec<u32> = Vec::new();
        for (i, p) in pieces.iter().enumerate() {
            while let Some(&top) = stack.last() {
                if is_prefix(bytes(&pieces[top as usize]), bytes(p)) {
                    break;
                }
                stack.pop();
            }
            parent.push(stack.last().copied().unwrap_or(NONE));
            stack.push(i as u32);
        }

        let mut groups: Vec<Group> = Vec::new();
        for (i, p) in pieces.iter().enumerate() {
            let this = bytes(p);
            if let Some(g) = groups
                .last_mut()
                .filter(|_| is_prefix(&this[..window], bytes(&pieces[i - 1])))
            {
                let prev = bytes(&pieces[i - 1]);
                g.hi += 1;
                g.shared = g.shared.min(compare_from(prev, this, window).1 as u32);
                continue;
            }
            groups.push(Group {
                lo: i as u32,
                hi: i as u32 + 1,
                shared: p.len,
                split: false,
            });
            let start = &this[..window];
            for j in 0..=window - BLOCK {
                let block = u32::from(start[j])
                    | u32::from(start[j + 1]) << 8
                    | u32::from(start[j + 2]) << 16;
                let slot = &mut shift[block_hash(block)];
                *slot = (*slot).min((window - BLOCK - j) as u8);
            }
            let k = key(start, 0, window);
            seen[seen_index(k)] |= seen_bit(k);
        }
        let mut slots = vec![(0, NONE); (groups.len() * 2).next_power_of_two().max(2)];
        let mask = slots.len() - 1;
        for (n, g) in groups.iter().enumerate() {
            let k = key(bytes(&pieces[g.lo as usize]), 0, window);
            let mut at = k as usize & mask;
            while slots[at].1 != NONE {
                at = (at + 1) & mask;
            }
            slots[at] = ((k >> 32) as u32, n as u32);
        }

        // Split the large groups by the eight bytes after what their patterns share.
        let mut runs: Vec<(u64, u32, u32)> = Vec::new();
        for (n, g) in groups.iter_mut().enumerate() {
            let (lo, hi, shared) = (g.lo as usize, g.hi as usize, g.shared as usize);
            let long_enough = pieces[lo..hi].iter().all(|p| p.len as usize >= shared + 8);
            if hi - lo < SPLIT_FROM || !long_enough {
                continue;
            }
            g.split = true;
            for (i, p) in pieces.iter().enumerate().take(hi).skip(lo) {
                let k = split_key(n, word(bytes(p), shared));
                match runs.last_mut() {
                    Some(run) if run.0 == k && i > lo => run.2 += 1,
                    _ => runs.push((k, i as u32, i as u32 + 1)),
                }
            }
        }
        let mut parts = vec![(0, NONE, NONE); (runs.len() * 2).next_power_of_two().max(2)];
        let mask = parts.len() - 1;
        for (k, lo, hi) in runs {
            let mut at = k as usize & mask;
            while parts[at].1 != NONE {
                at = (at + 1) & mask;
            }
            parts[at] = ((k >> 32) as u32, lo, hi);
        }
        Set {
            pieces,
            parent,
            groups,
            slots,
            parts,
        }
    }
}

/// The bytes of a pattern.
#[inline]
fn piece_bytes<'a>(sources: &'a [Arc<Vec<u8>>], p: &Piece) -> &'a [u8] {
    &sources[p.source as usize][p.start as usize..(p.start + p.len) as usize]
}

/// Compares `pattern` with `text`, both known to agree on their first `from` bytes, as a
/// pattern that is a prefix of `text` counts as equal; returns the order and the length of
/// the common prefix.
#[inline]
fn compare_from(pattern: &[u8], text: &[u8], from: usize) -> (Ordering, usize) {
    let n = pattern.len().min(text.len());
    let mut i = from.min(n);
    while i + 8 <= n {
        let (a, b) = (load8(pattern, i), load8(text, i));
        if a != b {
            i += ((a ^ b).trailing_zeros() / 8) as usize;
            return (pattern[i].cmp(&text[i]), i);
        }
        i += 8;
    }
    while i < n {
        if pattern[i] != text[i] {
            return (pattern[i].cmp(&text[i]), i);
        }
        i += 1;
    }
    match pattern.len() <= text.len() {
        true => (Ordering::Equal, n),
        false => (Ordering::Greater, n),
    }
}

/// Whether `a` is a prefix of `b`.
#[inline]
fn is_prefix(a: &[u8], b: &[u8]) -> bool {
    a.len() <= b.len() && compare_from(b, a, 0).1 == a.len()
}

/// Byte strings in lexicographic order, eight bytes at a time (the C library compares
/// them one by one).
pub fn order(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let (x, y) = (load8(a, i).swap_bytes(), load8(b, i).swap_bytes());
        if x != y {
            return x.cmp(&y);
        }
        i += 8;
    }
    a[i..].cmp(&b[i..])
}

/// Eight bytes of `bytes` at `at`.
#[inline]
fn word(bytes: &[u8], at: usize) -> u64 {
    load8(bytes, at)
}

/// The key of a part of split group `g`: its patterns' eight bytes `w` after the shared
/// prefix. A part found by its key is checked byte by byte like any candidate.
fn split_key(g: usize, w: u64) -> u64 {
    let h =
        (w ^ (g as u64).wrapping_mul(0xA076_1D64_78BD_642F)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h ^ h >> 32).wrapping_mul(0xD6E8_FEB8_6659_FD93)
}

/// A hash of `BLOCK` bytes, the first in the low byte (the scan's hottest line; inlined
/// even when optimising for size).
#[inline(always)]
fn block_hash(block: u32) -> usize {
    (block.wrapping_mul(0x9E37_79B1) >> (32 - SHIFT_BITS)) as usize
}

/// A hash of the window of `n` (`BLOCK` to `MAX_WINDOW`) bytes at `start` of `text`, to
/// look up its group; a match is always confirmed byte by byte.
#[inline(always)]
fn key(text: &[u8], start: usize, n: usize) -> u64 {
    let (lo, hi) = if n >= 8 {
        (load8(text, start), load8(text, start + n - 8))
    } else if n >= 4 {
        (load4(text, start), load4(text, start + n - 4))
    } else {
        let window = &text[start..start + n];
        (window.iter().fold(0, |h, &b| h << 8 | u64::from(b)), 0)
    };
    // Every bit of the result depends on every input bit: the low ones index the table
    // of groups, the high ones the bitmap.
    let h = (lo ^ hi.rotate_left(29) ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h ^ h >> 32).wrapping_mul(0xD6E8_FEB8_6659_FD93)
}

/// Eight bytes of `t` at `i`, little-endian. Byte by byte, which the compiler turns into
/// one load, where a slice would call out of line when optimising for size.
#[inline(always)]
fn load8(t: &[u8], i: usize) -> u64 {
    u64::from_le_bytes([
        t[i],
        t[i + 1],
        t[i + 2],
        t[i + 3],
        t[i + 4],
        t[i + 5],
        t[i + 6],
        t[i + 7],
    ])
}

#[inline(always)]
fn load4(t: &[u8], i: usize) -> u64 {
    u64::from(u32::from_le_bytes([t[i], t[i + 1], t[i + 2], t[i + 3]]))
}

#[inline(always)]
fn seen_index(k: u64) -> usize {
    (k >> (64 - SEEN_BITS + 6)) as usize
}

#[inline(always)]
fn seen_bit(k: u64) -> u64 {
    1 << ((k >> (64 - SEEN_BITS)) & 63)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scanner(patterns: &[Vec<u8>]) -> Scanner {
        grown(&[patterns])
    }

    /// The pieces of `patterns`, cut from one new source appended to `sources`.
    fn add(sources: &mut Vec<Arc<Vec<u8>>>, patterns: &[Vec<u8>]) -> Vec<Piece> {
        let source = sources.len() as u32;
        sources.push(Arc::new(patterns.concat()));
        let mut start = 0;
        let mut pieces = Vec::new();
        for p in patterns {
            pieces.push(Piece {
                source,
                start,
                len: p.len() as u32,
            });
            start += p.len() as u32;
        }
        pieces
    }

    /// A scanner built with the first batch and grown by each of the others.
    fn grown(batches: &[&[Vec<u8>]]) -> Scanner {
        let mut sources = Vec::new();
        let pieces = add(&mut sources, batches[0]);
        let mut scanner = Scanner::new(sources.clone(), &[], pieces);
        for batch in &batches[1..] {
            let pieces = add(&mut sources, batch);
            scanner = scanner.grow(sources.clone(), pieces);
        }
        scanner
    }

    fn all_found(scanner: &Scanner, text: &[u8]) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        scanner.each(text, |s, e| found.push((s, e)));
        assert!(found.is_sorted_by_key(|&(s, _)| s), "in order of start");
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
        let scanner = scanner(&patterns);
        let text = b"..abcdefghi..xyzxyzxyz";
        assert_eq!(all_found(&scanner, text), naive(&patterns, text));
        assert_eq!(
            all_found(&scanner, text),
            [(2, 8), (2, 10), (5, 11), (13, 19), (16, 22)]
        );
        assert!(all_found(&scanner, b"abcde").is_empty());
    }

    #[test]
    fn many_patterns_sharing_a_long_prefix_in_text_that_repeats_it() {
        // Every window of the text starts like every pattern: each is decided by one
        // search, and the occurrences are exactly the naive ones, across all four lanes.
        let header = b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.";
        let mut patterns: Vec<Vec<u8>> = (0..300)
            .map(|i| [&header[..], format!("payload-{i:03}-tail").as_bytes()].concat())
            .collect();
        patterns.push(header[..20].to_vec());
        let scanner = scanner(&patterns);
        let mut text = Vec::new();
        for i in 0..2000 {
            text.extend_from_slice(header);
            text.extend_from_slice(format!("payload-{:03}-tail ", i * 7 % 400).as_bytes());
        }
        let found = all_found(&scanner, &text);
        assert_eq!(found, naive(&patterns, &text));
        assert!(found.len() > 2000);
    }

    #[test]
    fn proper_prefixes_inside_and_outside_the_window() {
        let patterns: Vec<Vec<u8>> = [
            "abcdefghijklmnopqrstuvwxyz",
            "abcdefghijklmnopqrsTUVWXYZ",
            "zzzzzzzzzzzzzzzz",
        ]
        .iter()
        .map(|p| p.as_bytes().to_vec())
        .collect();
        let scanner = scanner(&patterns);
        for yes in [
            "a",
            "abcdefgh",
            "abcdefghijklmnopq",
            "abcdefghijklmnopqrsT",
            "zzzzzzzzzzzzzzz",
        ] {
            assert!(scanner.is_proper_prefix(yes.as_bytes()), "{yes}");
        }
        for no in [
            "b",
            "abcdefghijklmnopqrstuvwxyz",
            "abcdefghijklmnopqrsX",
            "zzzzzzzzzzzzzzzz",
            "zzzzzzzzzzzzzzzzz",
        ] {
            assert!(!scanner.is_proper_prefix(no.as_bytes()), "{no}");
        }
    }

    #[test]
    fn an_addition_shares_the_base_until_the_recent_set_outgrows_it() {
        let word = |i: usize| format!("secret-{i:05}-{}", i * 7919 % 1000).into_bytes();
        let base: Vec<Vec<u8>> = (0..8 * RECENT_MAX).map(word).collect();
        let mut sources = Vec::new();
        let pieces = add(&mut sources, &base);
        let mut scanner = Scanner::new(sources.clone(), &[], pieces);
        let first = scanner.base.clone();
        let mut added = Vec::new();
        for i in 0..RECENT_MAX {
            let value = vec![word(base.len() + i)];
            let pieces = add(&mut sources, &value);
            scanner = scanner.grow(sources.clone(), pieces);
            added.extend(value);
            assert!(Arc::ptr_eq(&scanner.base, &first), "rebuilt at {i}");
        }
        assert_eq!(scanner.recent.pieces.len(), RECENT_MAX);
        // A pattern the base has already is not added again.
        let again = add(&mut sources, &base[..1]);
        scanner = scanner.grow(sources.clone(), again);
        assert!(Arc::ptr_eq(&scanner.base, &first));
        // One more, and everything is one base again.
        let value = vec![word(base.len() + RECENT_MAX)];
        let pieces = add(&mut sources, &value);
        scanner = scanner.grow(sources.clone(), pieces);
        assert!(!Arc::ptr_eq(&scanner.base, &first));
        assert!(scanner.recent.pieces.is_empty());
        assert_eq!(scanner.len(), base.len() + RECENT_MAX + 1);
        let text: Vec<u8> = [&base[5], &b" and "[..], &added[9], &value[0]].concat();
        let all: Vec<Vec<u8>> = [base, added, value].concat();
        assert_eq!(all_found(&scanner, &text), naive(&all, &text));
        assert_eq!(all_found(&scanner, &text).len(), 3);
    }

    #[test]
    fn a_pattern_that_starts_like_a_group_of_the_base_joins_the_base() {
        // JWTs with one header: every pattern starts with the same window.
        let jwt = |i: usize| format!("eyJhbGciOiJIUzI1NiJ9.payload-{i:06}").into_bytes();
        let other = |i: usize| format!("unrelated-secret-{i:06}").into_bytes();
        for base_len in [100, SMALL_BASE + 1] {
            let base: Vec<Vec<u8>> = (0..base_len).map(jwt).collect();
            let mut sources = Vec::new();
            let pieces = add(&mut sources, &base);
            let mut scanner = Scanner::new(sources.clone(), &[], pieces);
            // Patterns of windows of their own stay recent, whatever the base.
            let pieces = add(&mut sources, &[other(0)]);
            scanner = scanner.grow(sources.clone(), pieces);
            assert_eq!(scanner.recent.pieces.len(), 1);
            let mut shared = 0;
            loop {
                let before = scanner.base.clone();
                let pieces = add(&mut sources, &[jwt(base_len + shared)]);
                scanner = scanner.grow(sources.clone(), pieces);
                shared += 1;
                if !Arc::ptr_eq(&scanner.base, &before) {
                    break;
                }
            }
            // A small base takes the first at once; a large one, the first past SHARED_MAX.
            let expected = if base_len <= SMALL_BASE {
                1
            } else {
                SHARED_MAX + 1
            };
            assert_eq!(shared, expected, "base of {base_len}");
            assert!(scanner.recent.pieces.is_empty());
            let text = [jwt(3), other(0), jwt(base_len + shared - 1)].concat();
            assert_eq!(all_found(&scanner, &text).len(), 3);
        }
    }

    #[test]
    fn a_pattern_shorter_than_the_window_rebuilds() {
        let long: Vec<Vec<u8>> = (0..100)
            .map(|i| format!("long-secret-value-{i:03}").into_bytes())
            .collect();
        let mut sources = Vec::new();
        let pieces = add(&mut sources, &long);
        let scanner = Scanner::new(sources.clone(), &[], pieces);
        assert_eq!(scanner.window, MAX_WINDOW);
        let short = vec![b"abcdefg".to_vec()];
        let pieces = add(&mut sources, &short);
        let grown = scanner.grow(sources.clone(), pieces);
        assert_eq!(grown.window, 7);
        assert!(grown.recent.pieces.is_empty());
        let text = b"long-secret-value-042 abcdefg";
        let all: Vec<Vec<u8>> = [long, short].concat();
        assert_eq!(all_found(&grown, text), naive(&all, text));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// A scanner grown by additions finds exactly what a naive search finds, and its
        /// proper prefixes are the definition's, whether the additions went to the recent
        /// set or rebuilt it (those shorter than the window do).
        #[test]
        fn a_grown_scanner_agrees_with_a_naive_search(
            patterns in prop::collection::vec("[ab]{0,12}[abc]{3,6}", 2..40),
            cuts in prop::collection::vec(0usize..40, 1..4),
            text in "[abcd]{0,300}",
            probe in "[abc]{1,20}",
        ) {
            let patterns: Vec<Vec<u8>> = patterns.into_iter().map(String::into_bytes).collect();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| 1 + c % (patterns.len() - 1)).collect();
            cuts.sort_unstable();
            cuts.dedup();
            let mut batches = Vec::new();
            let mut from = 0;
            for cut in cuts.into_iter().chain([patterns.len()]) {
                batches.push(&patterns[from..cut]);
                from = cut;
            }
            let scanner = grown(&batches);
            prop_assert_eq!(all_found(&scanner, text.as_bytes()), naive(&patterns, text.as_bytes()));
            let want = patterns
                .iter()
                .any(|p| p.len() > probe.len() && p.starts_with(probe.as_bytes()));
            prop_assert_eq!(scanner.is_proper_prefix(probe.as_bytes()), want);
        }

        /// Exactly the occurrences a naive search finds, on text drawn from a small
        /// alphabet so that near misses and overlaps are common.
        #[test]
        fn agrees_with_a_naive_search(
            patterns in prop::collection::btree_set("[abc]{3,12}", 1..12),
            text in "[abcd]{0,300}",
        ) {
            let patterns: Vec<Vec<u8>> = patterns.into_iter().map(String::into_bytes).collect();
            let scanner = scanner(&patterns);
            prop_assert_eq!(all_found(&scanner, text.as_bytes()), naive(&patterns, text.as_bytes()));
        }

        /// The same on texts long enough for four lanes, with patterns that share long
        /// prefixes and sit across the lanes' borders.
        #[test]
        fn agrees_with_a_naive_search_across_lanes(
            patterns in prop::collection::btree_set("[ab]{0,20}[abc]{3,6}", 1..40),
            text in prop::collection::vec(
                prop::sample::select(b"aabbc".to_vec()),
                LANES * MIN_LANE..(LANES + 1) * MIN_LANE + 40,
            ),
        ) {
            let patterns: Vec<Vec<u8>> = patterns.into_iter().map(String::into_bytes).collect();
            let scanner = scanner(&patterns);
            prop_assert_eq!(all_found(&scanner, &text), naive(&patterns, &text));
        }

        /// Whether a string is a proper prefix of a pattern, against the definition.
        #[test]
        fn proper_prefix_agrees_with_the_definition(
            patterns in prop::collection::btree_set("[ab]{3,24}", 1..20),
            probe in "[ab]{1,26}",
        ) {
            let patterns: Vec<Vec<u8>> = patterns.into_iter().map(String::into_bytes).collect();
            let scanner = scanner(&patterns);
            let want = patterns
                .iter()
                .any(|p| p.len() > probe.len() && p.starts_with(probe.as_bytes()));
            prop_assert_eq!(scanner.is_proper_prefix(probe.as_bytes()), want);
        }
    }
}
