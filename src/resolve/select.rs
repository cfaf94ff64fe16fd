//! Picking a field out of a secret's JSON and turning the result into a variable's text.
//!
//! A static secret arrives as a string that may hold JSON; dynamic and rotated secrets
//! arrive as objects. Strings become themselves, anything else compact JSON, which is what
//! ci_base put into the variable for a whole dynamic secret. Errors name the field and
//! list the keys that exist (keys are not secret), never a value.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectError {
    /// A field was asked for but the value is not JSON.
    NotJson,
    /// `path` is the field up to and including the part that is missing; `available` the
    /// keys (or index range) found there.
    Missing { path: String, available: String },
    /// `#*` was asked of a value that is JSON but not an object (what it is instead).
    NotAnObject(&'static str),
}

impl std::fmt::Display for SelectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SelectError::NotJson => f.write_str("a field was asked for, but the value is not JSON"),
            SelectError::Missing { path, available } => {
                write!(f, "it has no field {path} ({available})")
            }
            SelectError::NotAnObject(kind) => write!(
                f,
                "#* makes a variable of each top-level key, but the value is {kind}, not a JSON object"
            ),
        }
    }
}

/// Parses a static secret's text as JSON, for field selection.
pub fn parse_json(text: &str) -> Result<Value, SelectError> {
    crate::json::parse(text.as_bytes()).map_err(|_| SelectError::NotJson)
}

/// Walks `field` into `value`. Numeric parts index arrays; on objects every part is a key.
pub fn select<'v>(value: &'v Value, field: &[String]) -> Result<&'v Value, SelectError> {
    let mut current = value;
    for (depth, part) in field.iter().enumerate() {
        let path = || field[..=depth].join(".");
        current = match current {
            Value::Object(map) => match map.get(part) {
                Some(next) => next,
                None => {
                    return Err(SelectError::Missing {
                        path: path(),
                        available: keys(map, part),
                    });
                }
            },
            Value::Array(items) => match part.parse::<usize>() {
                Ok(i) if i < items.len() => &items[i],
                _ => {
                    let available = format!("an array of {} items", items.len());
                    return Err(SelectError::Missing {
                        path: path(),
                        available,
                    });
                }
            },
            other => {
                let available = format!("{} is not an object", kind(other));
                return Err(SelectError::Missing {
                    path: path(),
                    available,
                });
            }
        };
    }
    Ok(current)
}

/// At most this many of an object's keys are named when a field is missing: each failing
/// reference says it, and an object may have thousands.
const SHOWN_KEYS: usize = 12;

/// What an object without the key `missing` has: the nearest key if it looks like a typo
/// of it, and its first keys. Keys are not secret, but they are not ours either: each is
/// shown printable and cut short.
fn keys(map: &serde_json::Map<String, Value>, missing: &str) -> String {
    let shown = |k: &str| crate::error::printable(k, 60);
    let mut text = String::new();
    if let Some(near) = nearest(map.keys(), missing) {
        text = format!("did you mean {}? ", shown(near));
    }
    if map.is_empty() {
        return text + "the object is empty";
    }
    // The map is sorted by key.
    let first: Vec<String> = map.keys().take(SHOWN_KEYS).map(|k| shown(k)).collect();
    text = text + "it has " + &first.join(", ");
    if map.len() > SHOWN_KEYS {
        text += &format!(" and {} more", map.len() - SHOWN_KEYS);
    }
    text
}

/// The key that `missing` most likely misspells: the same but for case, or one or two
/// edits away (one for a key of up to 4 characters); the first such in order.
fn nearest<'k>(keys: impl Iterator<Item = &'k String>, missing: &str) -> Option<&'k str> {
    let most = if missing.chars().count() <= 4 { 1 } else { 2 };
    let mut best: Option<(usize, &str)> = None;
    for key in keys {
        let distance = match key.eq_ignore_ascii_case(missing) {
            true => 0,
            false => edits(key, missing, most),
        };
        if distance <= most && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, key));
        }
    }
    best.map(|(_, key)| key)
}

/// The edit distance of `a` and `b` (insertions, deletions and substitutions of bytes),
/// or more than `most` once it is sure to be. Only the band of `most` around the diagonal
/// is computed, in place: an object of thousands of keys is searched for each missing
/// field.
fn edits(a: &str, b: &str, most: usize) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    const LONGEST: usize = 64;
    if a.len().abs_diff(b.len()) > most || a.len() > LONGEST || b.len() > LONGEST {
        return most + 1;
    }
    let far = most + 1;
    let mut row = [far; LONGEST + 1];
    for (j, cell) in row.iter_mut().enumerate().take(b.len().min(most) + 1) {
        *cell = j;
    }
    for (i, &ca) in a.iter().enumerate() {
        let (from, to) = ((i + 1).saturating_sub(most), (i + 1 + most).min(b.len()));
        // `diagonal` is row[j - 1] of the previous row, for the cell at j.
        let mut diagonal = match from {
            0 => i,
            _ => row[from - 1],
        };
        row[from.saturating_sub(1)] = match from {
            0 => i + 1,
            _ => far,
        };
        let mut best = far;
        for j in from.max(1)..=to {
            let cost = diagonal + usize::from(ca != b[j - 1]);
            diagonal = row[j];
            row[j] = cost.min(row[j] + 1).min(row[j - 1] + 1).min(far);
            best = best.min(row[j]);
        }
        if best > most && row[from.saturating_sub(1)] > most {
            return far;
        }
    }
    row[b.len()]
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Every top-level key of a JSON object with its value as text (`#*`), sorted by key.
pub fn fields(value: Value) -> Result<Vec<(String, String)>, SelectError> {
    match value {
        Value::Object(map) => Ok(map.into_iter().map(|(k, v)| (k, text(v))).collect()),
        other => Err(SelectError::NotAnObject(kind(&other))),
    }
}

/// A JSON value as the text a variable should hold: strings as themselves, everything
/// else as compact JSON.
pub fn text(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(p: &str) -> Vec<String> {
        if p.is_empty() {
            vec![]
        } else {
            p.split('.').map(str::to_owned).collect()
        }
    }

    #[test]
    fn selects_nested_fields_and_array_items() {
        let v = json!({"a": {"b": [10, {"c": "deep"}]}, "n": 1, "t": true});
        assert_eq!(select(&v, &path("")).unwrap(), &v);
        assert_eq!(select(&v, &path("a.b.0")).unwrap(), &json!(10));
        assert_eq!(select(&v, &path("a.b.1.c")).unwrap(), &json!("deep"));
        assert_eq!(
            text(select(&v, &path("a")).unwrap().clone()),
            r#"{"b":[10,{"c":"deep"}]}"#
        );
        assert_eq!(text(select(&v, &path("n")).unwrap().clone()), "1");
        assert_eq!(text(select(&v, &path("t")).unwrap().clone()), "true");
    }

    #[test]
    fn misses_name_the_path_and_what_exists() {
        let v = json!({"user": "u", "password": "p", "a": {"b": []}});
        let err = select(&v, &path("pasword")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "it has no field pasword (did you mean password? it has a, password, user)"
        );
        let err = select(&v, &path("a.B")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "it has no field a.B (did you mean b? it has b)"
        );
        let err = select(&v, &path("port")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "it has no field port (it has a, password, user)"
        );
        // An object of thousands of keys: its first few, and how many more.
        let many: serde_json::Map<String, Value> = (0..2000)
            .map(|i| (format!("Key_{i:04}"), json!(i)))
            .collect();
        let err = select(&Value::Object(many), &path("key_0042")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "it has no field key_0042 (did you mean Key_0042? it has Key_0000, Key_0001, \
             Key_0002, Key_0003, Key_0004, Key_0005, Key_0006, Key_0007, Key_0008, Key_0009, \
             Key_0010, Key_0011 and 1988 more)"
        );
        let err = select(&json!({}), &path("x")).unwrap_err();
        assert_eq!(err.to_string(), "it has no field x (the object is empty)");
        let err = select(&v, &path("a.b.3")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "it has no field a.b.3 (an array of 0 items)"
        );
        let err = select(&v, &path("user.x")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "it has no field user.x (a string is not an object)"
        );
        assert_eq!(parse_json("plain text").unwrap_err(), SelectError::NotJson);
    }

    fn json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-z0-9]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-c0-2]{1,2}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// The plain edit distance, for `edits` to agree with.
    fn levenshtein(a: &[u8], b: &[u8]) -> usize {
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.iter().enumerate() {
            let mut diagonal = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let next = (diagonal + usize::from(ca != cb))
                    .min(row[j] + 1)
                    .min(row[j + 1] + 1);
                diagonal = row[j + 1];
                row[j + 1] = next;
            }
        }
        row[b.len()]
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(2000))]

        /// Within its bound, the banded distance is the distance; past it, past it.
        #[test]
        fn edits_agree_with_the_distance(a in "[ab]{0,9}", b in "[ab]{0,9}", most in 0usize..4) {
            let full = levenshtein(a.as_bytes(), b.as_bytes());
            let banded = edits(&a, &b, most);
            match full <= most {
                true => proptest::prop_assert_eq!(banded, full),
                false => proptest::prop_assert!(banded > most),
            }
        }

        /// Any value, any path: no panic, and a path selects the same as its parts in turn.
        #[test]
        fn fuzz_selection(value in json(), path in proptest::collection::vec("[a-c0-2]{1,2}", 0..4), cut in 0usize..4) {
            let cut = cut.min(path.len());
            let whole = select(&value, &path).ok();
            let stepwise = select(&value, &path[..cut]).and_then(|v| select(v, &path[cut..])).ok();
            proptest::prop_assert_eq!(whole, stepwise);
        }
    }
}
