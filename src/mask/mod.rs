//! Streaming redaction: every occurrence of a secret in a byte stream becomes `[MASKED]`.
//!
//! Pure over bytes, no I/O. What is hidden, for each secret: the whole value; each line of
//! a multi-line value; each string in a JSON value (dynamic secrets, JSON statics); their
//! encodings and every way a shell quotes them (`forms` lists them all). Anything shorter
//! than `MIN_LEN` is not masked: it would blank out ordinary words and numbers all over
//! the log, so the caller warns about it instead.
//!
//! Every byte that is not part of a secret passes through unchanged, and a byte is held
//! back only while it could still be the start of one (the longest suffix of the output so
//! far that is a proper prefix of some pattern). Overlapping occurrences merge into one
//! `[MASKED]`, so the output does not depend on how the stream was split into chunks.
//! When the stream goes quiet the caller writes the held bytes anyway (`flush_held`); they
//! stay as context, so the rest of a secret that started in them is masked when it comes.

mod forms;
mod scan;

use std::ops::Range;
use std::sync::Arc;

use forms::{Forms, MAX_PATTERN, PIECE_STRIDE};
use scan::{Piece, Scanner, order};

pub const MASK: &[u8] = b"[MASKED]";

/// Values and lines shorter than this are not masked (documented in the README).
pub const MIN_LEN: usize = 6;

/// An unresolved run of masked bytes longer than this is emitted anyway, so memory stays
/// bounded even when the output repeats a secret without end.
const MAX_HELD: usize = 1 << 20;

/// The byte strings to hide.
pub struct Patterns {
    /// Owns the patterns (cut from the values and the forms derived from them), sorted,
    /// which also serves "is this a proper prefix of some pattern".
    scanner: Scanner,
    /// Every value given, masked or too short, as the index of its source, sorted by its
    /// bytes: the values a new set need not add again.
    values: Vec<u32>,
    max_len: usize,
    /// Which bytes start a pattern: most output positions are rejected by this table.
    first: [bool; 256],
}

impl std::fmt::Debug for Patterns {
    // The patterns are secrets: only their number is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Patterns")
            .field("values", &self.values.len())
            .field("scanner", &self.scanner)
            .finish_non_exhaustive()
    }
}

/// A secret that could not be masked in full, for the caller's warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TooShort {
    /// The whole value is shorter than `MIN_LEN`.
    Value { len: usize },
    /// This many of its lines are.
    Lines { count: usize },
}

impl Patterns {
    /// Patterns for every secret; returns, per secret (by index), what was too short.
    pub fn new<S: Into<String>>(
        secrets: impl IntoIterator<Item = S>,
    ) -> (Patterns, Vec<(usize, TooShort)>) {
        let none = Patterns {
            scanner: Scanner::new(Vec::new(), &[], Vec::new()),
            values: Vec::new(),
            max_len: 0,
            first: [false; 256],
        };
        none.with(secrets)
    }

    /// These patterns and those of `secrets`; returns, per secret (by index), what was too
    /// short. The values already here are shared, not copied, and a value given as a
    /// `String` becomes the new set's own copy: a huge value is held once. What it costs
    /// grows with the new values, not with those here (`Scanner::grow`).
    pub fn with<S: Into<String>>(
        &self,
        secrets: impl IntoIterator<Item = S>,
    ) -> (Patterns, Vec<(usize, TooShort)>) {
        let mut secrets: Vec<String> = secrets.into_iter().map(Into::into).collect();
        let mut short = Vec::new();
        for (i, value) in secrets.iter().enumerate() {
            if value.is_empty() {
                continue;
            }
            if value.len() < MIN_LEN {
                short.push((i, TooShort::Value { len: value.len() }));
                continue;
            }
            if value.contains('\n') {
                let count = value
                    .split('\n')
                    .filter_map(line_core)
                    .filter(|(_, core)| core.len() < MIN_LEN)
                    .count();
                if count > 0 {
                    short.push((i, TooShort::Lines { count }));
                }
            }
        }
        // Each value once, whatever the order or the repeats.
        let mut fresh: Vec<usize> = (0..secrets.len())
            .filter(|&i| !secrets[i].is_empty() && !self.knows(&secrets[i]))
            .collect();
        let bytes = |i: usize| secrets[i].as_bytes();
        fresh.sort_unstable_by(|&a, &b| order(bytes(a), bytes(b)));
        fresh.dedup_by(|a, b| order(bytes(*a), bytes(*b)).is_eq());

        let mut sources = self.scanner.sources().to_vec();
        let mut pieces = Vec::new();
        let mut added = Vec::with_capacity(fresh.len());
        for i in fresh {
            let value = std::mem::take(&mut secrets[i]);
            let mut forms = Forms::default();
            if value.len() >= MIN_LEN {
                forms_of(&value, &mut forms);
            }
            let own = sources.len() as u32;
            for (in_value, range) in forms.spans {
                cut(if in_value { own } else { own + 1 }, range, &mut pieces);
            }
            sources.push(Arc::new(value.into_bytes()));
            added.push(own);
            if !forms.derived.is_empty() {
                forms.derived.shrink_to_fit();
                sources.push(Arc::new(forms.derived));
            }
        }
        // Patterns are only ever added: what the new ones start with and how long they are
        // is all that changes.
        let (mut first, mut max_len) = (self.first, self.max_len);
        for p in &pieces {
            first[usize::from(sources[p.source as usize][p.start as usize])] = true;
            max_len = max_len.max(p.len as usize);
        }
        // `added` is in order and new: a binary search each puts it among the values.
        let value = |v: u32| sources[v as usize].as_slice();
        let mut values = Vec::with_capacity(self.values.len() + added.len());
        let mut from = 0;
        for v in added {
            let rest = &self.values[from..];
            let at = from + rest.partition_point(|&x| order(value(x), value(v)).is_lt());
            values.extend_from_slice(&self.values[from..at]);
            values.push(v);
            from = at;
        }
        values.extend_from_slice(&self.values[from..]);
        let scanner = self.scanner.grow(sources, pieces);
        let patterns = Patterns {
            scanner,
            values,
            max_len,
            first,
        };
        (patterns, short)
    }

    /// Whether `value` was given to these patterns (masked, or reported too short).
    pub fn knows(&self, value: &str) -> bool {
        let sources = self.scanner.sources();
        self.values
            .binary_search_by(|&v| order(&sources[v as usize], value.as_bytes()))
            .is_ok()
    }

    pub fn is_empty(&self) -> bool {
        self.scanner.len() == 0
    }

    /// The length of the longest suffix of `buf` that could still grow into a pattern.
    fn open_suffix(&self, buf: &[u8]) -> usize {
        let window = buf.len().min(self.max_len.saturating_sub(1));
        (buf.len() - window..buf.len())
            .find(|&start| {
                self.first[usize::from(buf[start])] && self.scanner.is_proper_prefix(&buf[start..])
            })
            .map_or(0, |start| buf.len() - start)
    }

    /// The runs of `buf` covered by overlapping occurrences, merged, in order.
    fn runs(&self, buf: &[u8]) -> Vec<(usize, usize)> {
        self.runs_after(buf, &[], 0)
    }

    /// The runs of `buf`, given `known`, those of `buf[..scanned]`: only the bytes an
    /// occurrence not wholly in that prefix can start at are scanned.
    fn runs_after(
        &self,
        buf: &[u8],
        known: &[(usize, usize)],
        scanned: usize,
    ) -> Vec<(usize, usize)> {
        // An occurrence that starts before `from` ends by `scanned`: it is in `known`.
        let from = scanned.saturating_sub(self.max_len.saturating_sub(1));
        let mut known = known.iter().copied().peekable();
        let mut runs: Vec<(usize, usize)> = Vec::with_capacity(known.len() + 1);
        // Both arrive in order of their start, so merging is one pass.
        let mut add = |(s, e): (usize, usize)| match runs.last_mut() {
            Some(last) if s < last.1 => last.1 = last.1.max(e),
            _ => runs.push((s, e)),
        };
        self.scanner.each(&buf[from..], |s, e| {
            while let Some(run) = known.next_if(|run| run.0 <= s + from) {
                add(run);
            }
            add((s + from, e + from));
        });
        known.for_each(add);
        runs
    }
}

/// Every form of a secret: the value's own, each line's for a multi-line value, and each
/// string's for a JSON value.
fn forms_of(value: &str, forms: &mut Forms) {
    forms::of_value(value, Some(0..value.len()), forms);
    if value.contains('\n') {
        let mut at = 0;
        for line in value.split('\n') {
            if let Some((start, core)) = line_core(line).filter(|(_, c)| c.len() >= MIN_LEN) {
                forms::of_line(core.as_bytes(), at + start..at + start + core.len(), forms);
            }
            at += line.len() + 1;
        }
    }
    // A JSON value's strings are its secrets (fields shorter than MIN_LEN are ids, ports
    // and TTLs, and are skipped without a warning; so is one of only spaces, which would
    // blank out every run of spaces in the log).
    if let Ok(json) = crate::json::parse::<serde_json::Value>(value.as_bytes()) {
        for leaf in forms::strings(&json) {
            if leaf.len() >= MIN_LEN && !leaf.trim_ascii().is_empty() {
                forms::of_value(leaf, None, forms);
            }
        }
    }
}

/// What of a line of a multi-line value is masked as a secret of its own, and where it
/// starts in the line: not the spaces around it (indentation is no secret, and a line
/// masked with it makes every run of spaces in a log a candidate, or blanks it out), and
/// nothing of a line of one repeated character (a `--------` rule masked on its own would
/// blank out every such rule in the log). The whole value is masked as it is.
fn line_core(line: &str) -> Option<(usize, &str)> {
    let core = line.trim_ascii_start();
    let start = line.len() - core.len();
    let core = core.trim_ascii_end();
    let first = *core.as_bytes().first()?;
    (!core.bytes().all(|b| b == first)).then_some((start, core))
}

/// Adds the form at `range` of source `source` as patterns: one, or overlapping pieces
/// when it is long. Forms shorter than `MIN_LEN` are not masked.
fn cut(source: u32, range: Range<usize>, pieces: &mut Vec<Piece>) {
    let piece = |start: usize, len: usize| Piece {
        source,
        start: start as u32,
        len: len as u32,
    };
    if range.len() < MIN_LEN {
        return;
    }
    if range.len() <= MAX_PATTERN {
        pieces.push(piece(range.start, range.len()));
        return;
    }
    let mut start = range.start;
    while start + MAX_PATTERN < range.end {
        pieces.push(piece(start, MAX_PATTERN));
        start += PIECE_STRIDE;
    }
    pieces.push(piece(range.end - MAX_PATTERN, MAX_PATTERN));
}

/// One output stream's redactor.
#[derive(Debug)]
pub struct Redactor {
    patterns: Arc<Patterns>,
    /// Bytes not yet written: possibly the start of a secret, or a secret that could
    /// still merge with the next one; and before them, bytes written already that are
    /// kept as context.
    held: Vec<u8>,
    /// How many leading bytes of `held` were already written (after a forced emission or
    /// a flush; they stay as context for occurrences that start in them and end later).
    written: usize,
    /// How many leading bytes of `held` lie in an occurrence whose start was dropped.
    covered: usize,
    /// The runs in `held[..scanned]`, from the last look at it: a long secret held while
    /// it arrives in small writes is then scanned once, not again with every write.
    known: Vec<(usize, usize)>,
    scanned: usize,
}

impl Redactor {
    pub fn new(patterns: Arc<Patterns>) -> Self {
        Redactor {
            patterns,
            held: Vec::new(),
            written: 0,
            covered: 0,
            known: Vec::new(),
            scanned: 0,
        }
    }

    /// Masks with `patterns` from the next chunk on (secrets registered while the command
    /// runs). Bytes still held are judged again with them.
    pub fn set_patterns(&mut self, patterns: Arc<Patterns>) {
        self.patterns = patterns;
        self.forget();
    }

    /// How many bytes are held back, not yet written.
    pub fn pending(&self) -> usize {
        self.held.len() - self.written
    }

    /// Takes the next chunk of the stream and appends what can be written to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        // Held bytes go first, even under patterns that hold nothing back.
        if self.patterns.is_empty() && self.held.is_empty() {
            out.extend_from_slice(chunk);
            return;
        }
        if self.held.is_empty() {
            // The usual case: nothing pending, so the chunk is scanned where it lies and
            // only its unsettled tail is copied.
            let open = chunk.len() - self.patterns.open_suffix(chunk);
            let runs = self.patterns.runs(chunk);
            let (keep_from, written) = settle(chunk, &runs, 0, open, out);
            self.held.extend_from_slice(&chunk[keep_from..]);
            self.written = written;
            self.covered = 0;
            self.dropped(keep_from, runs, chunk.len());
        } else {
            self.held.extend_from_slice(chunk);
            let open = self.held.len() - self.patterns.open_suffix(&self.held);
            self.settle_held(open, out);
        }
    }

    /// The stream went quiet: writes every byte held back, as if it had ended (a partial
    /// line, a prompt, must not wait for the next write). Should the stream go on to
    /// complete a secret that started in them, the rest of it is masked: the bytes that
    /// could still start one stay as context.
    pub fn flush_held(&mut self, out: &mut Vec<u8>) {
        let len = self.held.len();
        let open = len - self.patterns.open_suffix(&self.held);
        let mut runs = self.rescan();
        // A long secret is masked as overlapping pieces: paused between two, its next
        // bytes start a piece that overlaps one found whole. They go out masked with it,
        // not in clear: a secret's first bytes are all that a pause can show.
        let reach = self.reach(&runs, open);
        if open < reach {
            let first = runs.iter().position(|r| r.1 > open).unwrap_or(runs.len());
            let start = runs.get(first).map_or(open, |r| r.0.min(open));
            runs.truncate(first);
            runs.push((start, len));
        }
        let (keep_from, _) = settle(&self.held, &runs, self.written, len, out);
        debug_assert_eq!(keep_from, len, "everything held is written");
        self.held.drain(..open);
        self.written = len - open;
        self.covered = reach.saturating_sub(open);
        self.forget();
    }

    /// The stream ended: nothing can grow any more.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.settle_held(self.held.len(), out);
    }

    fn settle_held(&mut self, open: usize, out: &mut Vec<u8>) {
        let runs = self.rescan();
        let (keep_from, written) = settle(&self.held, &runs, self.written, open, out);
        self.held.drain(..keep_from);
        self.written = written;
        let scanned = self.held.len() + keep_from;
        self.dropped(keep_from, runs, scanned);
    }

    /// How far the occurrences found whole that cover byte `at` of `held` reach (`at` or
    /// less when none does).
    fn reach(&self, runs: &[(usize, usize)], at: usize) -> usize {
        runs.iter()
            .filter(|r| r.0 <= at && at < r.1)
            .fold(self.covered, |reach, r| reach.max(r.1))
    }

    /// The runs of `held`, scanning only what the known ones do not cover.
    fn rescan(&self) -> Vec<(usize, usize)> {
        self.patterns
            .runs_after(&self.held, &self.known, self.scanned)
    }

    /// The first `keep_from` bytes of `held`, whose first `scanned` bytes had `runs`, were
    /// dropped. The runs after them stay known, unless a dropped byte is in a run: its
    /// occurrences that start later may form other runs, and how far it reaches is kept.
    fn dropped(&mut self, keep_from: usize, runs: Vec<(usize, usize)>, scanned: usize) {
        self.covered = self.reach(&runs, keep_from).saturating_sub(keep_from);
        if runs.iter().any(|&(s, e)| s < keep_from && keep_from < e) {
            return self.forget();
        }
        self.known = runs;
        self.known.retain(|&(s, _)| s >= keep_from);
        for run in &mut self.known {
            *run = (run.0 - keep_from, run.1 - keep_from);
        }
        self.scanned = scanned - keep_from;
    }

    fn forget(&mut self) {
        self.known.clear();
        self.scanned = 0;
    }
}

/// Writes to `out` everything of `buf` that is settled: bytes before `open` that no future
/// byte can make part of a secret, and masked runs that end by `open`. The first `written`
/// bytes were written already. Returns where the tail to keep starts and how many of its
/// bytes were written already (kept as context for occurrences that start in them).
fn settle(
    buf: &[u8],
    runs: &[(usize, usize)],
    written: usize,
    open: usize,
    out: &mut Vec<u8>,
) -> (usize, usize) {
    let mut pos = written;
    let mut settled = open;
    // Where the tail to keep starts: a held run is kept from its start, even when that
    // lies in bytes written already (it began before a flush), so it is still recognised.
    let mut keep = open;
    for &(s, e) in runs {
        if e <= pos {
            continue; // already written masked
        }
        if e > open {
            // This run could still merge with an occurrence that starts in the open
            // suffix: hold it whole, unless it has grown past any reason.
            if buf.len() - s.min(open) > MAX_HELD {
                out.extend_from_slice(&buf[pos..s.max(pos)]);
                out.extend_from_slice(MASK);
                pos = e;
                settled = open;
            } else {
                settled = settled.min(s.max(pos));
                keep = s;
            }
            break;
        }
        out.extend_from_slice(&buf[pos..s.max(pos)]);
        out.extend_from_slice(MASK);
        pos = e;
    }
    if pos < settled {
        out.extend_from_slice(&buf[pos..settled]);
        pos = settled;
    }
    let keep_from = keep.min(settled).min(pos);
    (keep_from, pos - keep_from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use forms::MAX_PATTERN;
    use proptest::prelude::*;

    fn patterns(secrets: &[&str]) -> Arc<Patterns> {
        Arc::new(Patterns::new(secrets.iter().copied()).0)
    }

    fn redact(p: &Arc<Patterns>, input: &[u8], chunk: usize) -> Vec<u8> {
        let mut r = Redactor::new(p.clone());
        let mut out = Vec::new();
        for c in input.chunks(chunk.max(1)) {
            r.push(c, &mut out);
        }
        r.finish(&mut out);
        out
    }

    /// The whole-input answer: every overlapping occurrence merged and replaced.
    fn reference(p: &Patterns, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut pos = 0;
        for (s, e) in p.runs(input) {
            out.extend_from_slice(&input[pos..s]);
            out.extend_from_slice(MASK);
            pos = e;
        }
        out.extend_from_slice(&input[pos..]);
        out
    }

    #[test]
    fn masks_values_lines_fields_and_encodings() {
        let pem = "-----BEGIN KEY-----\nMIIEowIBAAKCAQEAw\nabc\n-----END KEY-----";
        let json = r#"{"user":"svc_account","password":"p@ss word/ü","port":5432}"#;
        let p = patterns(&["hunter2hunter2", pem, json]);
        let cases: &[(&str, &str)] = &[
            ("pw=hunter2hunter2.", "pw=[MASKED]."),
            ("line MIIEowIBAAKCAQEAw here", "line [MASKED] here"),
            ("u=svc_account", "u=[MASKED]"),
            ("b64 aHVudGVyMmh1bnRlcjI=\n", "b64 [MASKED]\n"),
            ("echo|b64 aHVudGVyMmh1bnRlcjIK\n", "echo|b64 [MASKED]\n"),
            ("url p%40ss%20word%2F%C3%BC!", "url [MASKED]!"),
            ("form p%40ss+word%2F%C3%BC!", "form [MASKED]!"),
            ("json \"p@ss word/\\u00fc\"", "json \"[MASKED]\""),
            ("port 5432 stays", "port 5432 stays"),
            ("abc stays (a short line)", "abc stays (a short line)"),
        ];
        for (input, want) in cases {
            let got = redact(&p, input.as_bytes(), 3);
            assert_eq!(String::from_utf8_lossy(&got), *want, "{input}");
        }
        // The whole PEM, printed as is, leaves nothing but its short line and newlines.
        let got = String::from_utf8(redact(&p, pem.as_bytes(), 7)).unwrap();
        assert_eq!(got, "[MASKED]");
    }

    #[test]
    fn base64_of_a_value_in_any_position_and_wrapped() {
        let secret = "correct-horse-battery-staple-0123456789-abcdefghijklmnopqrstuvwxyz";
        let p = patterns(&[secret]);
        // Inside a larger encoding, at most the two groups on each side, which mix in the
        // neighbouring bytes, stay visible.
        for prefix in ["", "x", "xy", "user:"] {
            let encoded = STANDARD.encode(format!("{prefix}{secret}\n"));
            let got = String::from_utf8(redact(&p, encoded.as_bytes(), 5)).unwrap();
            let visible = got.len() - MASK.len();
            assert!(
                got.contains("[MASKED]") && visible <= 16,
                "{prefix:?}: {got}"
            );
        }
        // `base64` wraps at 76 columns; each full line is masked.
        let mut wrapped = String::new();
        for line in STANDARD.encode(secret).as_bytes().chunks(76) {
            wrapped.push_str(std::str::from_utf8(line).unwrap());
            wrapped.push('\n');
        }
        let got = String::from_utf8(redact(&p, wrapped.as_bytes(), 4)).unwrap();
        assert!(!got.contains(&STANDARD.encode(secret)[..20]), "{got}");
    }

    #[test]
    fn lines_are_masked_without_their_indentation_and_rules_are_not_secrets() {
        let values = "postgresql:\n  auth:\n    password: Xk2pQ9vLm3Rt7wZa\n\
                      --------------\n          \n        enabled: true\r\n";
        let p = patterns(&[values]);
        let cases: &[(&str, &str)] = &[
            // A line, however it is indented where it is printed.
            ("password: Xk2pQ9vLm3Rt7wZa", "[MASKED]"),
            ("  enabled: true\n", "  [MASKED]\n"),
            // Runs of spaces and rules are no part of the secret on their own.
            ("col1          col2", "col1          col2"),
            ("-------------- done", "-------------- done"),
        ];
        for (input, want) in cases {
            let got = redact(&p, input.as_bytes(), 5);
            assert_eq!(String::from_utf8_lossy(&got), *want, "{input}");
        }
        // The whole value, printed as it is, is masked whole.
        assert_eq!(redact(&p, values.as_bytes(), 9), b"[MASKED]");
        // `auth:` is too short to mask once its indentation is gone.
        let (_, short) = Patterns::new([values]);
        assert_eq!(short, [(0, TooShort::Lines { count: 1 })]);
        // Nor is a JSON string of spaces a secret of its own.
        let p = patterns(&[r#"{"password":"Xk2pQ9vLm3Rt7wZa","indent":"        "}"#]);
        let got = redact(&p, b"col1          col2 Xk2pQ9vLm3Rt7wZa", 4);
        assert_eq!(String::from_utf8_lossy(&got), "col1          col2 [MASKED]");
    }

    #[test]
    fn short_values_and_lines_are_reported() {
        let (p, short) = Patterns::new(["abc", "longenough\nab\nxy", ""]);
        assert_eq!(
            short,
            [
                (0, TooShort::Value { len: 3 }),
                (1, TooShort::Lines { count: 2 })
            ]
        );
        assert!(!p.is_empty());
    }

    #[test]
    fn holds_back_only_a_possible_start() {
        let p = patterns(&["secretvalue"]);
        let mut r = Redactor::new(p.clone());
        let mut out = Vec::new();
        r.push(b"prompt: sec", &mut out);
        assert_eq!(out, b"prompt: ", "only `sec` could start the secret");
        r.push(b"ond line\n", &mut out);
        assert_eq!(out, b"prompt: second line\n");
        r.push(b"x secretvalue", &mut out);
        assert_eq!(
            out, b"prompt: second line\nx [MASKED]",
            "a complete secret is written at once"
        );
    }

    #[test]
    fn overlapping_secrets_merge_and_nothing_leaks() {
        let p = patterns(&["abcdefgh", "efghijkl", "abcdef"]);
        assert_eq!(redact(&p, b"..abcdefghijkl..", 1), b"..[MASKED]..");
        assert_eq!(redact(&p, b"abcdefabcdefgh", 2), b"[MASKED][MASKED]");
    }

    #[test]
    fn long_secrets_are_covered_piece_by_piece() {
        let long: String = (0..5000)
            .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
            .collect();
        let p = patterns(&[&long]);
        assert!(p.max_len <= MAX_PATTERN);
        let input = format!("<{long}>");
        assert_eq!(redact(&p, input.as_bytes(), 100), b"<[MASKED]>");
    }

    #[test]
    fn a_new_set_shares_the_values_of_the_old_one() {
        let big: String = (0..300_000)
            .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
            .collect();
        let (p, _) = Patterns::new([big.as_str(), "first-secret"]);
        let (q, short) = p.with(["later-secret", "first-secret", "abc"]);
        assert_eq!(short, [(2, TooShort::Value { len: 3 })]);
        for known in [big.as_str(), "first-secret", "later-secret", "abc"] {
            assert!(q.knows(known), "{known}");
        }
        assert!(!q.knows("never-given"));
        // The old set's values are the new one's, not copies; the large value is held once
        // (its pieces are ranges of it).
        let (old, new) = (p.scanner.sources(), q.scanner.sources());
        assert!(old.iter().zip(new).all(|(a, b)| Arc::ptr_eq(a, b)));
        assert_eq!(new.iter().filter(|s| s.len() >= big.len()).count(), 1);
        let input = format!("<{big}> first-secret, later-secret");
        assert_eq!(
            redact(&Arc::new(q), input.as_bytes(), 4096),
            b"<[MASKED]> [MASKED], [MASKED]"
        );
    }

    #[test]
    fn endless_repetition_keeps_memory_bounded() {
        let p = patterns(&["aaaaaa"]);
        let mut r = Redactor::new(p.clone());
        let mut out = Vec::new();
        for _ in 0..40 {
            r.push(&[b'a'; 64 << 10], &mut out);
            assert!(r.held.len() <= MAX_HELD + (64 << 10));
        }
        r.finish(&mut out);
        assert!(!out.windows(6).any(|w| w == b"aaaaaa"));
    }

    #[test]
    fn held_bytes_keep_their_place_whatever_the_patterns_become() {
        let mut r = Redactor::new(patterns(&["secretvalue"]));
        let mut out = Vec::new();
        r.push(b"xx secr", &mut out);
        r.set_patterns(patterns(&[]));
        r.push(b"et!", &mut out);
        r.finish(&mut out);
        assert_eq!(out, b"xx secret!");
    }

    #[test]
    fn a_flush_writes_what_is_held_and_the_rest_of_a_secret_is_masked() {
        let p = patterns(&["24f0c3a9-deploy-key", "Enter-the-vault-token"]);
        let mut r = Redactor::new(p.clone());
        let mut out = Vec::new();
        r.push(b"Uploading artifact app.jar: 42", &mut out);
        assert_eq!(out, b"Uploading artifact app.jar: 4");
        assert_eq!(r.pending(), 1, "`2` could start the key");
        r.flush_held(&mut out);
        assert_eq!(
            out, b"Uploading artifact app.jar: 42",
            "the quiet stream shows all"
        );
        assert_eq!(r.pending(), 0);
        r.push(b"4f0c3a9-deploy-key uploaded\n", &mut out);
        assert_eq!(
            out, b"Uploading artifact app.jar: 42[MASKED] uploaded\n",
            "what completes the key after the flush is masked"
        );
        // A prompt that is not a secret after all just carries on.
        out.clear();
        r.push(b"Enter the deploy target: ", &mut out);
        r.flush_held(&mut out);
        r.push(b"prod\n", &mut out);
        r.finish(&mut out);
        assert_eq!(out, b"Enter the deploy target: prod\n");
        // Flushing twice, or with nothing held, writes nothing again.
        out.clear();
        r.push(b"Enter-the", &mut out);
        r.flush_held(&mut out);
        r.flush_held(&mut out);
        r.push(b"-vault", &mut out);
        r.flush_held(&mut out);
        r.push(b"-token!", &mut out);
        r.finish(&mut out);
        assert_eq!(out, b"Enter-the-vault[MASKED]!");
    }

    /// What the output must be when the stream is flushed at `flushes` (offsets into
    /// `input`): a byte is masked when an occurrence covering it is complete by the first
    /// flush after it, or by the end; and at a flush, the bytes that could still start a
    /// pattern, and were not written by an earlier one, are masked when the first of them
    /// is in an occurrence complete by then.
    /// Adjacent masked bytes show as one `[MASKED]`.
    fn flushed_reference(p: &Patterns, input: &[u8], flushes: &[usize]) -> Vec<u8> {
        let mut masked = vec![false; input.len()];
        let mut found = Vec::new();
        p.scanner.each(input, |s, e| found.push((s, e)));
        for &(s, e) in &found {
            for (i, m) in masked.iter_mut().enumerate().take(e).skip(s) {
                let next_flush = flushes.iter().copied().find(|&f| f > i);
                if e <= next_flush.unwrap_or(input.len()) {
                    *m = true;
                }
            }
        }
        let mut written = 0;
        for &f in flushes {
            let open = f - p.open_suffix(&input[..f]);
            if found.iter().any(|&(s, e)| s <= open && open < e && e <= f) {
                // Bytes the last flush wrote cannot be masked after the fact.
                masked[open.max(written).min(f)..f].fill(true);
            }
            written = f;
        }
        let mut out = Vec::new();
        for (i, &b) in input.iter().enumerate() {
            match masked[i] {
                true if i > 0 && masked[i - 1] => {}
                true => out.extend_from_slice(MASK),
                false => out.push(b),
            }
        }
        out
    }

    /// `[MASKED][MASKED]` as one: where a flush cut a run, it is masked in two parts.
    fn merged_masks(out: &[u8]) -> Vec<u8> {
        let mut merged: Vec<u8> = Vec::new();
        let mut rest = out;
        while !rest.is_empty() {
            if rest.starts_with(MASK) {
                if !merged.ends_with(MASK) {
                    merged.extend_from_slice(MASK);
                }
                rest = &rest[MASK.len()..];
            } else {
                merged.push(rest[0]);
                rest = &rest[1..];
            }
        }
        merged
    }

    /// The stream cut at `cuts` (offsets into `input`, each with whether the stream goes
    /// quiet there), in order: the output, the offsets flushed at, and how many bytes were
    /// still pending after each flush.
    fn cut_and_flushed(
        p: &Arc<Patterns>,
        input: &[u8],
        cuts: &[(prop::sample::Index, bool)],
    ) -> (Vec<u8>, Vec<usize>, Vec<usize>) {
        let mut cuts: Vec<(usize, bool)> = cuts
            .iter()
            .map(|(at, flush)| (at.index(input.len() + 1), *flush))
            .collect();
        cuts.sort_unstable();
        cuts.dedup_by_key(|c| c.0);
        let mut r = Redactor::new(p.clone());
        let (mut out, mut pending) = (Vec::new(), Vec::new());
        let mut from = 0;
        for &(at, flush) in &cuts {
            r.push(&input[from..at], &mut out);
            if flush {
                r.flush_held(&mut out);
                pending.push(r.pending());
            }
            from = at;
        }
        r.push(&input[from..], &mut out);
        r.finish(&mut out);
        let flushes = cuts.iter().filter(|c| c.1).map(|c| c.0).collect();
        (out, flushes, pending)
    }

    fn secret() -> impl Strategy<Value = String> {
        "[A-Za-z0-9+/=_!$-]{6,24}"
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Secrets anywhere in random output, fed in random chunk sizes: none of them gets
        /// through, and the output is what masking the whole input at once gives.
        #[test]
        fn secrets_never_leak_whatever_the_chunking(
            secrets in prop::collection::vec(secret(), 1..5),
            noise in prop::collection::vec(any::<u8>(), 0..400),
            inserts in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..8),
            chunk in 1usize..64,
        ) {
            let p = patterns(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
            let mut input = noise.clone();
            for (at, which) in &inserts {
                let s = secrets[which.index(secrets.len())].as_bytes();
                let at = at.index(input.len() + 1);
                input.splice(at..at, s.iter().copied());
            }
            let out = redact(&p, &input, chunk);
            prop_assert_eq!(&out, &reference(&p, &input));
            for s in &secrets {
                prop_assert!(!out.windows(s.len()).any(|w| w == s.as_bytes()), "{} leaked", s);
            }
        }

        /// Secrets cut by quiet periods: what arrived before a flush is written as it is, what
        /// completes a secret after it is masked, and no secret ever shows whole.
        #[test]
        fn flushes_show_what_was_held_and_mask_what_completes_a_secret(
            secrets in prop::collection::vec(secret(), 1..4),
            noise in prop::collection::vec(any::<u8>(), 0..300),
            inserts in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 1..8),
            cuts in prop::collection::vec((any::<prop::sample::Index>(), any::<bool>()), 0..16),
        ) {
            let p = patterns(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
            let mut input = noise.clone();
            for (at, which) in &inserts {
                let s = secrets[which.index(secrets.len())].as_bytes();
                let at = at.index(input.len() + 1);
                input.splice(at..at, s.iter().copied());
            }
            let (out, flushes, pending) = cut_and_flushed(&p, &input, &cuts);
            prop_assert!(pending.iter().all(|&n| n == 0), "held after a flush: {:?}", pending);
            prop_assert_eq!(merged_masks(&out), flushed_reference(&p, &input, &flushes));
            for s in &secrets {
                prop_assert!(!out.windows(s.len()).any(|w| w == s.as_bytes()), "{} leaked", s);
            }
        }

        /// A secret long enough to be masked as overlapping pieces, cut by writes and
        /// quiet periods anywhere: the output is the reference's, and only its first bytes
        /// (before its first piece is complete) ever show, however often it pauses.
        #[test]
        fn a_long_secret_shows_no_more_than_its_first_bytes(
            secret in "[0-9A-F]{600,1500}",
            noise in "[g-z .,:]{0,300}",
            at in any::<prop::sample::Index>(),
            cuts in prop::collection::vec((any::<prop::sample::Index>(), any::<bool>()), 0..24),
        ) {
            let p = patterns(&[secret.as_str()]);
            let mut input = noise.into_bytes();
            let at = at.index(input.len() + 1);
            input.splice(at..at, secret.bytes());
            let (out, flushes, _) = cut_and_flushed(&p, &input, &cuts);
            // As text (it is ASCII), so that a failure can be read.
            let got = String::from_utf8(merged_masks(&out)).unwrap();
            let want = String::from_utf8(flushed_reference(&p, &input, &flushes)).unwrap();
            prop_assert_eq!(got, want, "flushed at {:?}", flushes);
            let shown: Vec<u8> = String::from_utf8(out)
                .unwrap()
                .replace("[MASKED]", " ")
                .bytes()
                .filter(u8::is_ascii_hexdigit)
                .filter(|b| !b.is_ascii_lowercase())
                .collect();
            prop_assert!(shown.len() < MAX_PATTERN && secret.as_bytes().starts_with(&shown),
                "{} bytes of the secret shown", shown.len());
        }

        /// Output that holds no secret comes out byte for byte, binary included.
        #[test]
        fn output_without_secrets_is_unchanged(
            secrets in prop::collection::vec(secret(), 1..5),
            noise in prop::collection::vec(any::<u8>(), 0..2000),
            chunk in 1usize..300,
        ) {
            let p = patterns(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
            prop_assume!(p.runs(&noise).is_empty());
            prop_assert_eq!(redact(&p, &noise, chunk), noise);
        }
    }
}
