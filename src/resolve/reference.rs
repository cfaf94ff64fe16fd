//! The reference grammar: what a variable's `akeyless:` value asks for.
//!
//! ```text
//! akeyless://path/to/secret                  the ci_base form: item /path/to/secret
//! akeyless://path/to/secret#field.sub.0      one field of a JSON value (array index 0)
//! akeyless:/path|version=2|jq=.field|decode=base64   the Akeyless injector's options
//! ```
//!
//! Options (`|key=value`) work after either form: `version=N` (a static or rotated
//! secret's version), `jq=` (a path selector: `.a.b`, `.a[0]`, `."a.b"`, `.["a.b"]`), and
//! `decode=base64`. Pure and table-tested; a rejection says what is wrong in words a user
//! can act on.

use std::fmt;

pub const PREFIX: &str = "akeyless:";

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    /// The item's absolute path, e.g. `/ci/db-password`.
    pub item: String,
    /// The JSON field to pick, outermost first; empty for the whole value.
    pub field: Vec<String>,
    pub version: Option<u32>,
    pub decode: Option<Decode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Decode {
    /// Standard base64; the URL-safe alphabet and missing padding are accepted too.
    Base64,
}

/// Whether a variable's value is a reference (and so must parse as one).
pub fn is_reference(value: &str) -> bool {
    value.trim().starts_with(PREFIX)
}

impl Reference {
    /// A plain item path, as `akl get ci/db` takes it.
    pub fn item(path: &str) -> Result<Reference, String> {
        Ok(Reference {
            item: item_path(path)?,
            field: Vec::new(),
            version: None,
            decode: None,
        })
    }
}

pub fn parse(text: &str) -> Result<Reference, String> {
    let text = text.trim();
    let rest = text
        .strip_prefix(PREFIX)
        .ok_or("it does not start with akeyless:")?;
    if !rest.starts_with('/') {
        return Err("write it as akeyless://path/to/secret".into());
    }
    let mut parts = rest.split('|');
    let head = parts.next().unwrap_or_default();
    let (path, field) = match head.split_once('#') {
        Some((path, field)) => (path, Some(field)),
        None => (head, None),
    };
    let mut reference = Reference {
        item: item_path(path)?,
        field: match field {
            Some(field) => field_path(field)?,
            None => Vec::new(),
        },
        version: None,
        decode: None,
    };

    let mut seen: Vec<&str> = Vec::new();
    for option in parts {
        let (key, value) = option
            .split_once('=')
            .ok_or_else(|| format!("option `{option}` is not key=value"))?;
        if seen.contains(&key) {
            return Err(format!("option `{key}` is given twice"));
        }
        seen.push(key);
        match key {
            "version" => {
                let version = value
                    .parse::<u32>()
                    .ok()
                    .filter(|v| *v > 0)
                    .ok_or_else(|| format!("version=`{value}` is not a positive whole number"))?;
                reference.version = Some(version);
            }
            "jq" => {
                if field.is_some() {
                    return Err("give the field either as #field or as |jq=, not both".into());
                }
                reference.field = jq_path(value)?;
            }
            "decode" => match value {
                "base64" => reference.decode = Some(Decode::Base64),
                other => {
                    return Err(format!(
                        "decode=`{other}` is not supported; use decode=base64"
                    ));
                }
            },
            other => {
                return Err(format!(
                    "option `{other}` is not supported; use version=N, jq=.field or decode=base64"
                ));
            }
        }
    }
    Ok(reference)
}

/// `path/to/secret` or `/path/to/secret` → `/path/to/secret`.
fn item_path(path: &str) -> Result<String, String> {
    let path = path.trim_start_matches('/');
    if path.is_empty() {
        return Err("it names no item: write akeyless://path/to/secret".into());
    }
    if path.split('/').any(str::is_empty) {
        return Err(format!(
            "the item path `/{path}` has an empty segment (`//` or a trailing `/`)"
        ));
    }
    if path.chars().any(char::is_control) {
        return Err("the item path contains a control character".into());
    }
    if path != path.trim() {
        return Err("the item path starts or ends with whitespace".into());
    }
    Ok(format!("/{path}"))
}

/// `a.b.0` → `["a", "b", "0"]`.
fn field_path(field: &str) -> Result<Vec<String>, String> {
    if field.is_empty() {
        return Err("the field after `#` is empty".into());
    }
    let segments: Vec<String> = field.split('.').map(str::to_owned).collect();
    if segments.iter().any(String::is_empty) {
        return Err(format!(
            "the field `{field}` has an empty part (`..`, or a leading or trailing `.`)"
        ));
    }
    Ok(segments)
}

/// A jq path expression, the subset that selects: `.`, `.a.b`, `.a[0]`, `."a.b"`, `.["a.b"]`.
pub fn jq_path(expr: &str) -> Result<Vec<String>, String> {
    let unsupported =
        || format!("jq=`{expr}` is not a path; akl supports .a.b, .a[0] and .\"key\"");
    let expr = expr.trim();
    if !expr.starts_with('.') {
        return Err(unsupported());
    }
    let mut segments = Vec::new();
    if expr == "." {
        return Ok(segments);
    }
    let mut rest = expr;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            // `["key"]` or `[N]`
            let (inner, tail) = after.split_once(']').ok_or_else(unsupported)?;
            let index = !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit());
            segments.push(match quoted(inner) {
                Some(key) => key,
                None if index => inner.to_owned(),
                None => return Err(unsupported()),
            });
            rest = tail;
        } else if let Some(after) = rest.strip_prefix('.') {
            if after.starts_with('[') {
                rest = after; // `.["key"]` means `["key"]`
            } else if let Some(key) = after.strip_prefix('"') {
                let end = key.find('"').ok_or_else(unsupported)?;
                segments.push(literal_key(&key[..end]).ok_or_else(unsupported)?);
                rest = &key[end + 1..];
            } else {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let name = &after[..end];
                let plain = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
                if name.is_empty() || !name.chars().all(plain) {
                    return Err(unsupported());
                }
                segments.push(name.to_owned());
                rest = &after[end..];
            }
        } else {
            return Err(unsupported());
        }
    }
    Ok(segments)
}

/// `"key"` → `key`.
fn quoted(s: &str) -> Option<String> {
    literal_key(s.strip_prefix('"')?.strip_suffix('"')?)
}

/// A key that was written in quotes. No escapes: keys holding quotes or backslashes are not
/// worth a parser.
fn literal_key(inner: &str) -> Option<String> {
    (!inner.contains(['"', '\\'])).then(|| inner.to_owned())
}

impl fmt::Display for Reference {
    /// The canonical text of the reference, for messages (references are not secret).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "akeyless:/{}", self.item)?;
        if !self.field.is_empty() {
            write!(f, "#{}", self.field.join("."))?;
        }
        if let Some(v) = self.version {
            write!(f, "|version={v}")?;
        }
        if self.decode.is_some() {
            f.write_str("|decode=base64")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Reference {
        parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn fields(f: &[&str]) -> Vec<String> {
        f.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn accepts_every_documented_form() {
        type Case<'a> = (&'a str, &'a str, &'a [&'a str], Option<u32>, Option<Decode>);
        let table: &[Case] = &[
            (
                "akeyless://ci/db-password",
                "/ci/db-password",
                &[],
                None,
                None,
            ),
            ("akeyless:///ci/db", "/ci/db", &[], None, None),
            ("  akeyless://ci/db\n", "/ci/db", &[], None, None),
            (
                "akeyless://ci/app#password",
                "/ci/app",
                &["password"],
                None,
                None,
            ),
            (
                "akeyless://ci/app#a.b.0",
                "/ci/app",
                &["a", "b", "0"],
                None,
                None,
            ),
            ("akeyless:/ci/app", "/ci/app", &[], None, None),
            ("akeyless:/ci/app|version=2", "/ci/app", &[], Some(2), None),
            (
                "akeyless:/ci/app|jq=.field",
                "/ci/app",
                &["field"],
                None,
                None,
            ),
            (
                "akeyless:/ci/app|jq=.a.b[0]",
                "/ci/app",
                &["a", "b", "0"],
                None,
                None,
            ),
            (
                "akeyless:/ci/app|jq=.\"a.b\".c",
                "/ci/app",
                &["a.b", "c"],
                None,
                None,
            ),
            (
                "akeyless:/ci/app|jq=.[\"a.b\"]",
                "/ci/app",
                &["a.b"],
                None,
                None,
            ),
            ("akeyless:/ci/app|jq=.", "/ci/app", &[], None, None),
            (
                "akeyless:/ci/cert|decode=base64",
                "/ci/cert",
                &[],
                None,
                Some(Decode::Base64),
            ),
            (
                "akeyless:/ci/app|version=3|jq=.key|decode=base64",
                "/ci/app",
                &["key"],
                Some(3),
                Some(Decode::Base64),
            ),
            (
                "akeyless://ci/app#user|version=2",
                "/ci/app",
                &["user"],
                Some(2),
                None,
            ),
            (
                "akeyless://team a/my secret",
                "/team a/my secret",
                &[],
                None,
                None,
            ),
        ];
        for (text, item, field, version, decode) in table {
            let r = ok(text);
            assert_eq!(r.item, *item, "{text}");
            assert_eq!(r.field, fields(field), "{text}");
            assert_eq!(r.version, *version, "{text}");
            assert_eq!(r.decode, *decode, "{text}");
        }
    }

    #[test]
    fn rejects_with_a_reason() {
        let table = [
            ("akeyless:", "write it as akeyless://path"),
            ("akeyless:ci/db", "write it as akeyless://path"),
            ("akeyless://", "names no item"),
            ("akeyless://#x", "names no item"),
            ("akeyless://ci//db", "empty segment"),
            ("akeyless://ci/db/", "empty segment"),
            ("akeyless://ci/db#", "field after `#` is empty"),
            ("akeyless://ci/db#a..b", "empty part"),
            ("akeyless://ci/db#.a", "empty part"),
            ("akeyless:/ci/db|version=0", "not a positive whole number"),
            ("akeyless:/ci/db|version=two", "not a positive whole number"),
            ("akeyless:/ci/db|version=1|version=2", "given twice"),
            (
                "akeyless:/ci/db|decode=hex",
                "decode=`hex` is not supported",
            ),
            (
                "akeyless:/ci/db|parse_json_secret=true",
                "option `parse_json_secret` is not supported",
            ),
            ("akeyless:/ci/db|jq", "not key=value"),
            ("akeyless:/ci/db|jq=.a | length", "not key=value"),
            ("akeyless:/ci/db|jq=a", "not a path"),
            ("akeyless:/ci/db|jq=.a[", "not a path"),
            ("akeyless:/ci/db|jq=.a[x]", "not a path"),
            ("akeyless:/ci/db|jq=.a..b", "not a path"),
            ("akeyless://ci/db#x|jq=.y", "not both"),
            ("akeyless://ci/\u{1}db", "control character"),
            ("akeyless:// ci/db", "whitespace"),
            ("vault://x", "does not start with akeyless:"),
        ];
        for (text, why) in table {
            let err = parse(text).expect_err(text);
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }

    #[test]
    fn plain_item_paths_and_display() {
        assert_eq!(Reference::item("ci/db").unwrap().item, "/ci/db");
        assert_eq!(Reference::item("/ci/db").unwrap().item, "/ci/db");
        assert!(Reference::item("").is_err());
        let r = ok("akeyless:/ci/app|decode=base64|jq=.a.b|version=2");
        assert_eq!(
            r.to_string(),
            "akeyless://ci/app#a.b|version=2|decode=base64"
        );
        assert_eq!(ok(&r.to_string()), r, "display round-trips");
        assert!(is_reference(" akeyless://x") && !is_reference("https://akeyless.io"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(3000))]

        /// Any text: no panic; whatever parses prints back to itself.
        #[test]
        fn fuzz_any_text(text in "\\PC{0,40}") {
            if let Ok(r) = parse(&text) {
                proptest::prop_assert_eq!(parse(&r.to_string()).unwrap(), r);
            }
        }

        /// Text built from the grammar's own characters, to reach deep into it.
        #[test]
        fn fuzz_grammar_like_text(tail in "[/a-z0-9#|=.\\[\\]\"_ -]{0,40}") {
            let text = format!("akeyless:{tail}");
            if let Ok(r) = parse(&text) {
                proptest::prop_assert!(r.item.starts_with('/') && !r.item.contains("//"));
                proptest::prop_assert_eq!(parse(&r.to_string()).unwrap(), r);
            }
        }
    }
}
