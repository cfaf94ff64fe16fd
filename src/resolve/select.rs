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
                    let mut keys: Vec<&String> = map.keys().collect();
                    keys.sort();
                    let available = match keys.len() {
                        0 => "the object is empty".to_owned(),
                        _ => format!(
                            "it has {}",
                            // Keys are not secret, but they are not ours either.
                            keys.iter()
                                .map(|k| crate::error::printable(k, 60))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    };
                    return Err(SelectError::Missing {
                        path: path(),
                        available,
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
            "it has no field pasword (it has a, password, user)"
        );
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

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(2000))]

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
