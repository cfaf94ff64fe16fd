//! The forms a secret takes in a log, each a pattern to mask.
//!
//! For a value (and for each string of a JSON value): the bytes themselves; their base64
//! (standard and URL-safe alphabets, at each of the three byte alignments, and split into
//! the 76-column lines `base64` prints); their URL encoding; their JSON-escaped forms; and
//! every rendering dash, bash and busybox sh print under `set -x`, `export -p`,
//! `declare -p`, `printf %q` and `${v@Q}`, in any locale (`shell`). For each line of a
//! multi-line value: the line and its shell renderings.
//!
//! A rendering is the quoted text between the quotes, since a shell quotes a whole word
//! and the secret may be only part of it (`'pw: it'\''s'`).

use std::ops::Range;

/// Longer patterns are split into overlapping pieces of this size: the automaton stays
/// small and the open suffix to check after each chunk stays short, while every byte of a
/// long secret is still covered (overlapping pieces merge into one `[MASKED]`).
pub const MAX_PATTERN: usize = 256;
pub const PIECE_STRIDE: usize = MAX_PATTERN - 32;

/// Encoded forms are derived only for values up to this size (huge values are files, and
/// their raw bytes, lines and shell renderings are still masked).
const MAX_ENCODED: usize = 64 << 10;

/// The forms of one value, each a range of bytes: of the value itself (the value, its
/// lines), or of `derived`, which holds the forms that differ from anything in the value.
/// A huge value is thus never copied into its forms.
#[derive(Default)]
pub struct Forms {
    pub derived: Vec<u8>,
    /// Each form: whether it lies in the value (else in `derived`), and where.
    pub spans: Vec<(bool, Range<usize>)>,
}

impl Forms {
    fn add(&mut self, bytes: &[u8]) {
        let start = self.derived.len();
        self.derived.extend_from_slice(bytes);
        self.spans.push((false, start..self.derived.len()));
    }

    /// Adds the standard base64 of `bytes` followed by `tail` (and, if `wrapped`, the
    /// 76-column lines `base64` prints it in); returns where the whole encoding is.
    fn base64(&mut self, bytes: &[u8], tail: &[u8], wrapped: bool) -> Range<usize> {
        let start = self.derived.len();
        match tail.is_empty() {
            true => base64_into(bytes, &mut self.derived),
            false => base64_into(&[bytes, tail].concat(), &mut self.derived),
        }
        let len = self.derived.len() - start;
        let whole = start..start + len;
        if wrapped && len > 76 {
            for line in (start..whole.end).step_by(76) {
                self.spans.push((false, line..(line + 76).min(whole.end)));
            }
        }
        self.spans.push((false, whole.clone()));
        whole
    }

    /// Builds a form at the end of `derived`, kept unless it equals `original` or a form
    /// built since `since` (the spans of the same value's renderings).
    fn render(&mut self, original: &[u8], since: usize, build: impl FnOnce(&mut Vec<u8>)) {
        let start = self.derived.len();
        build(&mut self.derived);
        let form = &self.derived[start..];
        let repeated = form == original
            || self.spans[since..]
                .iter()
                .any(|(own, r)| !own && self.derived[r.clone()] == *form);
        if repeated {
            self.derived.truncate(start);
        } else {
            self.spans.push((false, start..self.derived.len()));
        }
    }
}

/// Every form of a whole value (or of a string inside a JSON value); `at` is where it lies
/// in the value's own bytes, if it does.
pub fn of_value(value: &str, at: Option<Range<usize>>, forms: &mut Forms) {
    match at {
        Some(at) => forms.spans.push((true, at)),
        None => forms.add(value.as_bytes()),
    }
    encoded_forms(value, forms);
    shell(value.as_bytes(), forms);
}

/// Every form of one line of a multi-line value, which lies at `at` in the value.
pub fn of_line(line: &[u8], at: Range<usize>, forms: &mut Forms) {
    forms.spans.push((true, at));
    shell(line, forms);
}

/// What shells print for `value` inside a quoted word: adds each rendering that differs
/// from the value (and from the others) to `forms`. A rendering is built only when the
/// value holds a byte it changes, so a plain value costs nothing here, however large.
///
/// - `'…'` with a `'` written as `'\''` (bash, `${v@Q}`, `set -x`) or `'"'"'` (dash and
///   busybox `export -p`, busybox `set -x`);
/// - `"…"` with `\` before `"`, `$`, `` ` `` and `\` (bash `declare -p`);
/// - `printf %q`'s backslash form (`it\'s\ a\ value`), for values without control bytes;
/// - bash's `$'…'` form, used for values with control bytes (and, in the C locale, bytes
///   above 127), with `\'`, `\\`, `\n`-style escapes and octal `\303\244` for the rest;
///   in a UTF-8 locale bytes above 127 stay as they are.
pub fn shell(value: &[u8], forms: &mut Forms) {
    let since = forms.spans.len();
    // Which kinds of byte the value holds, in one pass.
    let kinds = value.iter().fold(0, |k, &b| k | KIND[usize::from(b)]);
    let has = |kind: u8| kinds & kind != 0;
    let (quote, double, control) = (has(QUOTE), has(DOUBLE), has(CONTROL));
    let (backslash, high, printf) = (has(BACKSLASH), has(HIGH), has(PRINTF));
    if quote {
        forms.render(value, since, |out| replace(value, b'\'', b"'\\''", out));
        forms.render(value, since, |out| replace(value, b'\'', b"'\"'\"'", out));
    }
    if double {
        forms.render(value, since, |out| {
            escaped(value, |b| matches!(b, b'"' | b'$' | b'`' | b'\\'), out)
        });
    }
    if control || backslash || quote {
        forms.render(value, since, |out| ansi_c(value, false, out));
    }
    // Without bytes above 127 the C locale's form is the one above.
    if high {
        forms.render(value, since, |out| ansi_c(value, true, out));
    }
    if !control {
        if printf {
            forms.render(value, since, |out| escaped(value, printf_q_special, out));
        }
        // At the start of a word, `~` and `#` are escaped too.
        if let Some(first @ (b'~' | b'#')) = value.first() {
            forms.render(value, since, |out| {
                out.extend_from_slice(&[b'\\', *first]);
                escaped(&value[1..], printf_q_special, out);
            });
        }
    }
}

const QUOTE: u8 = 1;
/// Escaped in double quotes.
const DOUBLE: u8 = 2;
const CONTROL: u8 = 4;
const BACKSLASH: u8 = 8;
const HIGH: u8 = 16;
/// Escaped by `printf %q`.
const PRINTF: u8 = 32;

/// The kinds of each byte, for `shell`.
const KIND: [u8; 256] = {
    let mut kind = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let mut k = 0;
        if c == b'\'' {
            k |= QUOTE;
        }
        if matches!(c, b'"' | b'$' | b'`' | b'\\') {
            k |= DOUBLE;
        }
        if c < 0x20 || c == 0x7f {
            k |= CONTROL;
        }
        if c == b'\\' {
            k |= BACKSLASH;
        }
        if c > 0x7f {
            k |= HIGH;
        }
        if printf_q_special(c) {
            k |= PRINTF;
        }
        kind[b] = k;
        b += 1;
    }
    kind
};

/// `shell`'s renderings of `value` on their own, sorted.
#[cfg(test)]
pub fn renderings(value: &[u8]) -> Vec<Vec<u8>> {
    let mut forms = Forms::default();
    shell(value, &mut forms);
    let mut out: Vec<Vec<u8>> = forms
        .spans
        .iter()
        .map(|(_, r)| forms.derived[r.clone()].to_vec())
        .collect();
    out.sort();
    out
}

/// Standard base64 with padding, appended to `out` (the crate's engine is several times
/// slower when optimised for size, and a thousand secrets take four encodings each).
fn base64_into(input: &[u8], out: &mut Vec<u8>) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let char = |n: u32, shift: u32| ALPHABET[(n >> shift) as usize & 63];
    // `vec!` fills with memset where `resize` goes byte by byte when optimising for size.
    let mut encoded = vec![b'='; input.len().div_ceil(3) * 4];
    let mut quads = encoded.chunks_exact_mut(4);
    let mut triples = input.chunks_exact(3);
    for (t, q) in (&mut triples).zip(&mut quads) {
        let n = u32::from(t[0]) << 16 | u32::from(t[1]) << 8 | u32::from(t[2]);
        (q[0], q[1], q[2], q[3]) = (char(n, 18), char(n, 12), char(n, 6), char(n, 0));
    }
    let rest = triples.remainder();
    if let Some(q) = quads.next() {
        let n = rest
            .iter()
            .enumerate()
            .fold(0, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for (i, shift) in [18, 12, 6].into_iter().take(rest.len() + 1).enumerate() {
            q[i] = char(n, shift);
        }
    }
    out.extend_from_slice(&encoded);
}

/// The bytes `printf %q` puts a backslash before (bash 5).
const fn printf_q_special(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\''
            | b'"'
            | b'$'
            | b'`'
            | b'\\'
            | b'&'
            | b'|'
            | b';'
            | b'<'
            | b'>'
            | b'('
            | b')'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'*'
            | b'?'
            | b'!'
            | b'^'
            | b','
    )
}

fn replace(value: &[u8], from: u8, to: &[u8], out: &mut Vec<u8>) {
    out.reserve(value.len() + 8);
    for &b in value {
        if b == from {
            out.extend_from_slice(to);
        } else {
            out.push(b);
        }
    }
}

fn escaped(value: &[u8], special: impl Fn(u8) -> bool, out: &mut Vec<u8>) {
    out.reserve(value.len() + 8);
    for &b in value {
        if special(b) {
            out.push(b'\\');
        }
        out.push(b);
    }
}

/// The inside of bash's `$'…'`; `octal_high` for the C locale, where bytes above 127 are
/// not printable.
fn ansi_c(value: &[u8], octal_high: bool, out: &mut Vec<u8>) {
    out.reserve(value.len() + 8);
    for &b in value {
        let named = match b {
            b'\\' => Some(b'\\'),
            b'\'' => Some(b'\''),
            0x07 => Some(b'a'),
            0x08 => Some(b'b'),
            b'\t' => Some(b't'),
            b'\n' => Some(b'n'),
            0x0b => Some(b'v'),
            0x0c => Some(b'f'),
            b'\r' => Some(b'r'),
            0x1b => Some(b'E'),
            _ => None,
        };
        match named {
            Some(c) => out.extend_from_slice(&[b'\\', c]),
            None if b < 0x20 || b == 0x7f || (octal_high && b > 0x7f) => {
                out.extend_from_slice(format!("\\{b:03o}").as_bytes())
            }
            None => out.push(b),
        }
    }
}

/// The value's common encodings, each as a form. Encodings that leave the value as it is
/// (most URL and JSON escaping of a token) are not added again.
fn encoded_forms(value: &str, forms: &mut Forms) {
    let bytes = value.as_bytes();
    if bytes.len() > MAX_ENCODED {
        return;
    }
    // The exact encodings of `printf %s "$V" | base64` and `echo "$V" | base64`, padding
    // and all, and the 76-column lines `base64` wraps them into.
    let exact = forms.base64(bytes, &[], true);
    forms.base64(bytes, b"\n", true);
    // base64 at each alignment: the part of the encoding that does not depend on what
    // comes before or after the value in the encoded stream (at the first, a prefix of
    // the exact encoding), in either alphabet.
    for offset in 0..3.min(bytes.len()) {
        let aligned = &bytes[offset..];
        let whole = aligned.len() / 3 * 3;
        if whole == 0 {
            continue;
        }
        let standard = match offset {
            0 => exact.start..exact.start + whole / 3 * 4,
            _ => forms.base64(&aligned[..whole], &[], false),
        };
        if offset == 0 {
            forms.spans.push((false, standard.clone()));
        }
        if forms.derived[standard.clone()]
            .iter()
            .any(|&b| b == b'+' || b == b'/')
        {
            let start = forms.derived.len();
            forms.derived.extend_from_within(standard);
            for b in &mut forms.derived[start..] {
                *b = match *b {
                    b'+' => b'-',
                    b'/' => b'_',
                    b => b,
                };
            }
            forms.spans.push((false, start..forms.derived.len()));
        }
    }
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if !bytes.iter().all(|&b| unreserved(b)) {
        forms.add(&url_encoded(bytes, false));
        if value.contains(' ') {
            forms.add(&url_encoded(bytes, true));
        }
    }
    if bytes.iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20) {
        let json = serde_json::Value::String(value.to_owned()).to_string();
        forms.add(&json.as_bytes()[1..json.len() - 1]);
    }
    if !value.is_ascii() || bytes.iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20) {
        forms.add(json_ascii(value).as_bytes());
    }
}

/// Percent-encoding of everything but RFC 3986's unreserved characters; `plus_for_space`
/// gives the form-encoding variant.
fn url_encoded(bytes: &[u8], plus_for_space: bool) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(bytes.len() * 3);
    for &b in bytes {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b),
            b' ' if plus_for_space => out.push(b'+'),
            _ => out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]),
        }
    }
    out
}

/// JSON string escaping with every non-ASCII character as `\uXXXX` (Python's default).
fn json_ascii(value: &str) -> String {
    let escaped = serde_json::Value::String(value.to_owned()).to_string();
    let inner = &escaped[1..escaped.len() - 1];
    let mut out = String::with_capacity(inner.len());
    for c in inner.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// The strings inside a JSON value, at any depth.
pub fn strings(value: &serde_json::Value) -> Vec<&str> {
    match value {
        serde_json::Value::String(s) => vec![s.as_str()],
        serde_json::Value::Array(items) => items.iter().flat_map(strings).collect(),
        serde_json::Value::Object(map) => map.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What bash itself prints for `value` in every way it quotes, without the quotes
    /// around the whole word.
    fn bash_renderings(value: &[u8], locale: &str) -> Vec<Vec<u8>> {
        let script = r#"v=$(cat; printf x); v=${v%x}
printf '%q\0' "$v"
printf '%s\0' "${v@Q}"
declare -p v | cut -d= -f2- | tr -d '\n'; printf '\0'
(set -x; : "$v") 2>&1 | sed '1s/^+ : //' | head -c -1; printf '\0'"#;
        let mut child = std::process::Command::new("bash")
            .args(["-c", script])
            .env_clear()
            .env("LC_ALL", locale)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("bash runs (make test installs it)");
        use std::io::Write;
        child.stdin.take().unwrap().write_all(value).unwrap();
        let out = child.wait_with_output().unwrap();
        out.stdout
            .split(|&b| b == 0)
            .filter(|s| !s.is_empty())
            .map(|quoted| {
                // The word as bash quoted it: strip `$'`/`'`/`"` around it.
                let q = quoted.strip_prefix(b"$").unwrap_or(quoted);
                match (q.first(), q.last()) {
                    (Some(b'\''), Some(b'\'')) | (Some(b'"'), Some(b'"')) if q.len() >= 2 => {
                        q[1..q.len() - 1].to_vec()
                    }
                    _ => q.to_vec(),
                }
            })
            .collect()
    }

    /// What a POSIX shell prints for `value` under `export -p` and `set -x`, without the
    /// quotes around the word.
    fn sh_renderings(shell: &[&str], value: &[u8]) -> Vec<Vec<u8>> {
        let script = r#"v=$(cat; printf x); v=${v%x}; export v; export -p; set -x; : "$v""#;
        let mut child = std::process::Command::new(shell[0])
            .args(&shell[1..])
            .args(["-c", script])
            .env_clear()
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the shell runs (make test installs it)");
        use std::io::Write;
        child.stdin.take().unwrap().write_all(value).unwrap();
        let out = child.wait_with_output().unwrap();
        let start = out.stdout.windows(9).position(|w| w == b"export v=");
        let text = &out.stdout[start.expect("export -p lists v") + 9..];
        // The value runs to the next `export` line, or to the output's final newline.
        let end = text
            .windows(8)
            .position(|w| w == b"\nexport ")
            .unwrap_or(text.len().saturating_sub(1));
        let exported = text[..end].to_vec();
        let traced = out
            .stderr
            .strip_prefix(b"+ : ")
            .expect("a trace line")
            .to_vec();
        let traced = traced.strip_suffix(b"\n").unwrap_or(&traced).to_vec();
        [exported, traced]
            .into_iter()
            .map(|q| match (q.first(), q.last()) {
                (Some(b'\''), Some(b'\'')) if q.len() >= 2 => q[1..q.len() - 1].to_vec(),
                _ => q,
            })
            .collect()
    }

    #[test]
    fn every_dash_and_busybox_rendering_is_a_form() {
        for shell in [&["dash"][..], &["busybox", "sh"]] {
            for value in [
                &b"it's a 'quoted' value"[..],
                b"plain-value",
                b"two\nlines with it's",
            ] {
                let mut forms = shell_forms_and_value(value);
                forms.sort();
                for rendering in sh_renderings(shell, value) {
                    assert!(
                        forms.contains(&rendering),
                        "{shell:?} rendered {:?} as {:?}",
                        String::from_utf8_lossy(value),
                        String::from_utf8_lossy(&rendering)
                    );
                }
            }
        }
    }

    fn shell_forms_and_value(value: &[u8]) -> Vec<Vec<u8>> {
        let mut forms = renderings(value);
        forms.push(value.to_vec());
        forms
    }

    #[test]
    fn every_bash_rendering_is_a_form() {
        let values: [&[u8]; 8] = [
            b"it's a \"value\" with $HOME and `id` and \\",
            b"plain-value-with-nothing-special",
            "ünïcødé and it's".as_bytes(),
            b"tab\there and\x01control\x1bescape\x7fdel",
            b"~tilde at the start, #hash, a,comma & more;(x)[y]{z}*?!^<>|",
            b"#hash-first",
            b"multi\nline\r\nvalue",
            b"'quoted'",
        ];
        for value in values {
            let forms = shell_forms_and_value(value);
            for locale in ["C", "C.UTF-8"] {
                let renderings = bash_renderings(value, locale);
                assert_eq!(renderings.len(), 4, "{locale}: {renderings:?}");
                for rendering in renderings {
                    let covered = forms.contains(&rendering);
                    assert!(
                        covered,
                        "{locale}: bash rendered {:?} as {:?}, which is not among the forms {:?}",
                        String::from_utf8_lossy(value),
                        String::from_utf8_lossy(&rendering),
                        forms
                            .iter()
                            .map(|f| String::from_utf8_lossy(f))
                            .collect::<Vec<_>>()
                    );
                }
            }
        }
    }

    #[test]
    fn base64_as_the_crate_encodes_it() {
        use base64::Engine;
        for len in 0..70 {
            let input: Vec<u8> = (0..len).map(|i| (i * 37 + len * 11) as u8).collect();
            let mut out = b"x".to_vec();
            base64_into(&input, &mut out);
            let want = base64::engine::general_purpose::STANDARD.encode(&input);
            assert_eq!(out[1..], *want.as_bytes(), "{len} bytes");
        }
    }

    #[test]
    fn single_quotes_render_both_ways() {
        let forms = renderings(b"it's");
        assert!(forms.contains(&b"it'\\''s".to_vec()));
        assert!(forms.contains(&b"it'\"'\"'s".to_vec()));
        assert!(forms.contains(&b"it\\'s".to_vec()), "printf %q");
        assert!(
            renderings(b"plain").is_empty(),
            "nothing to render differently"
        );
    }

    #[test]
    fn non_ascii_is_octal_in_the_c_locale_only() {
        let forms = renderings("aäb\n".as_bytes());
        assert!(forms.contains(&b"a\\303\\244b\\n".to_vec()));
        assert!(forms.contains(&"aäb\\n".as_bytes().to_vec()));
    }
}
