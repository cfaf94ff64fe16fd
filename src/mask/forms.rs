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

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Longer patterns are split into overlapping pieces of this size: the automaton stays
/// small and the open suffix to check after each chunk stays short, while every byte of a
/// long secret is still covered (overlapping pieces merge into one `[MASKED]`).
pub const MAX_PATTERN: usize = 256;
const PIECE_STRIDE: usize = MAX_PATTERN - 32;

/// Encoded forms are derived only for values up to this size (huge values are files, and
/// their raw bytes, lines and shell renderings are still masked).
const MAX_ENCODED: usize = 64 << 10;

/// Every form of a whole value (or of a string inside a JSON value).
pub fn of_value(value: &str, set: &mut BTreeSet<Vec<u8>>) {
    encoded_forms(value, set);
    for form in shell(value.as_bytes()) {
        insert(set, &form);
    }
}

/// Every form of one line of a multi-line value.
pub fn of_line(line: &str, set: &mut BTreeSet<Vec<u8>>) {
    insert(set, line.as_bytes());
    for form in shell(line.as_bytes()) {
        insert(set, &form);
    }
}

/// What shells print for `value` inside a quoted word. Forms equal to the value itself are
/// left out.
///
/// - `'…'` with a `'` written as `'\''` (bash, `${v@Q}`, `set -x`) or `'"'"'` (dash and
///   busybox `export -p`, busybox `set -x`);
/// - `"…"` with `\` before `"`, `$`, `` ` `` and `\` (bash `declare -p`);
/// - `printf %q`'s backslash form (`it\'s\ a\ value`), for values without control bytes;
/// - bash's `$'…'` form, used for values with control bytes (and, in the C locale, bytes
///   above 127), with `\'`, `\\`, `\n`-style escapes and octal `\303\244` for the rest;
///   in a UTF-8 locale bytes above 127 stay as they are.
pub fn shell(value: &[u8]) -> Vec<Vec<u8>> {
    let mut forms = vec![
        replace(value, b'\'', b"'\\''"),
        replace(value, b'\'', b"'\"'\"'"),
        escaped(value, |b| matches!(b, b'"' | b'$' | b'`' | b'\\')),
        ansi_c(value, false),
        ansi_c(value, true),
    ];
    if !value.iter().any(|&b| b < 0x20 || b == 0x7f) {
        forms.push(escaped(value, printf_q_special));
        // At the start of a word, `~` and `#` are escaped too.
        if let Some(first @ (b'~' | b'#')) = value.first() {
            let mut form = vec![b'\\', *first];
            form.extend(escaped(&value[1..], printf_q_special));
            forms.push(form);
        }
    }
    forms.retain(|f| f.as_slice() != value);
    forms.sort();
    forms.dedup();
    forms
}

/// The bytes `printf %q` puts a backslash before (bash 5).
fn printf_q_special(b: u8) -> bool {
    b" '\"$`\\&|;<>()[]{}*?!^,".contains(&b)
}

fn replace(value: &[u8], from: u8, to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
    for &b in value {
        if b == from {
            out.extend_from_slice(to);
        } else {
            out.push(b);
        }
    }
    out
}

fn escaped(value: &[u8], special: impl Fn(u8) -> bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
    for &b in value {
        if special(b) {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// The inside of bash's `$'…'`; `octal_high` for the C locale, where bytes above 127 are
/// not printable.
fn ansi_c(value: &[u8], octal_high: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
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
    out
}

/// Adds a pattern, split into overlapping pieces when it is long.
pub fn insert(set: &mut BTreeSet<Vec<u8>>, bytes: &[u8]) {
    if bytes.len() <= MAX_PATTERN {
        set.insert(bytes.to_vec());
        return;
    }
    let mut start = 0;
    while start + MAX_PATTERN < bytes.len() {
        set.insert(bytes[start..start + MAX_PATTERN].to_vec());
        start += PIECE_STRIDE;
    }
    set.insert(bytes[bytes.len() - MAX_PATTERN..].to_vec());
}

/// The value and its common encodings, each as a pattern.
fn encoded_forms(value: &str, set: &mut BTreeSet<Vec<u8>>) {
    let bytes = value.as_bytes();
    insert(set, bytes);
    if bytes.len() > MAX_ENCODED {
        return;
    }
    // base64 at each alignment: the part of the encoding that does not depend on what
    // comes before or after the value in the encoded stream.
    for offset in 0..3.min(bytes.len()) {
        let aligned = &bytes[offset..];
        let whole = &aligned[..aligned.len() / 3 * 3];
        if whole.is_empty() {
            continue;
        }
        let standard = STANDARD.encode(whole);
        if offset == 0 {
            // The exact encodings of `printf %s "$V" | base64` and `echo "$V" | base64`,
            // padding and all, and the 76-column lines `base64` wraps them into.
            for exact in [
                STANDARD.encode(bytes),
                STANDARD.encode([bytes, b"\n"].concat()),
            ] {
                for line in exact.as_bytes().chunks(76) {
                    insert(set, line);
                }
                insert(set, exact.as_bytes());
            }
        }
        insert(set, URL_SAFE_NO_PAD.encode(whole).as_bytes());
        insert(set, standard.as_bytes());
    }
    insert(set, &url_encoded(bytes, false));
    if value.contains(' ') {
        insert(set, &url_encoded(bytes, true));
    }
    let json = serde_json::Value::String(value.to_owned()).to_string();
    insert(set, &json.as_bytes()[1..json.len() - 1]);
    insert(set, json_ascii(value).as_bytes());
}

/// Percent-encoding of everything but RFC 3986's unreserved characters; `plus_for_space`
/// gives the form-encoding variant.
fn url_encoded(bytes: &[u8], plus_for_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 3);
    for &b in bytes {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b),
            b' ' if plus_for_space => out.push(b'+'),
            _ => out.extend_from_slice(format!("%{b:02X}").as_bytes()),
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
        let mut forms = shell(value);
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
    fn single_quotes_render_both_ways() {
        let forms = shell(b"it's");
        assert!(forms.contains(&b"it'\\''s".to_vec()));
        assert!(forms.contains(&b"it'\"'\"'s".to_vec()));
        assert!(forms.contains(&b"it\\'s".to_vec()), "printf %q");
        assert!(shell(b"plain").is_empty(), "nothing to render differently");
    }

    #[test]
    fn non_ascii_is_octal_in_the_c_locale_only() {
        let forms = shell("aäb\n".as_bytes());
        assert!(forms.contains(&b"a\\303\\244b\\n".to_vec()));
        assert!(forms.contains(&"aäb\\n".as_bytes().to_vec()));
    }
}
