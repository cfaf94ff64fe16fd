//! The answer of a batched `get-secret-value`: each name with its value, read straight
//! from the text. A batch may hold 10,000 names, so there is no map of JSON values and no
//! hash table in between: the entries are one sorted vector, looked up by binary search.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::json_text;
use crate::secret::Secret;

/// Item names as the API answers them, with or without the leading slash.
pub fn canonical(name: &str) -> String {
    format!("/{}", name.trim_start_matches('/'))
}

/// Whether `canonical` would leave the name as it is (as it almost always does).
fn is_canonical(name: &str) -> bool {
    name.starts_with('/') && !name.starts_with("//")
}

/// Each name of a batch answer (canonical) with its value, sorted by name. A name the
/// answer gives twice keeps its last value, as any reader of a JSON object would.
#[derive(Debug, Default)]
pub struct SecretValues(Vec<(Box<str>, Secret)>);

impl SecretValues {
    /// The value of the item `name`, however the answer spelled it.
    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.position(name).map(|i| &self.0[i].1)
    }

    fn position(&self, name: &str) -> Option<usize> {
        let owned;
        let name = match is_canonical(name) {
            true => name,
            false => {
                owned = canonical(name);
                &owned
            }
        };
        self.0
            .binary_search_by(|(n, _)| crate::order::cmp(n, name))
            .ok()
    }

    /// `get`, fastest for names asked in ascending order, as a batch's own are: each look
    /// starts next to where the last one found its name (`at`), so a whole batch is one
    /// pass over the answer.
    pub fn get_near(&self, name: &str, at: &mut usize) -> Option<&Secret> {
        let rest = self.0.get(*at..).unwrap_or_default();
        let next = rest.iter().take(2).position(|(n, _)| **n == *name);
        match next {
            Some(i) => {
                *at += i;
                Some(&rest[i].1)
            }
            None => {
                let found = self.position(name)?;
                *at = found;
                Some(&self.0[found].1)
            }
        }
    }

    /// The first value by name; a batch of one name has only that one.
    pub fn into_first(self) -> Option<Secret> {
        self.0.into_iter().next().map(|(_, value)| value)
    }
}

impl<'de> Deserialize<'de> for SecretValues {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(EntriesVisitor)
    }
}

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = SecretValues;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of names and values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretValues, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some((Name(name), SecretValue(value))) = map.next_entry()? {
            entries.push((name, value));
        }
        crate::order::sort_keeping_last(&mut entries, |a, b| crate::order::cmp(&a.0, &b.0));
        Ok(SecretValues(entries))
    }
}

/// An item name, canonical, copied once from the text.
struct Name(Box<str>);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(NameVisitor)
    }
}

struct NameVisitor;

impl Visitor<'_> for NameVisitor {
    type Value = Name;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an item name")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Name, E> {
        Ok(Name(match is_canonical(s) {
            true => s.into(),
            false => canonical(s).into_boxed_str(),
        }))
    }
}

/// A static secret's value as a variable holds it, read straight from the batch answer:
/// no map of JSON values in between (a batch may hold 10,000 of them).
#[derive(Debug, Clone)]
struct SecretValue(Secret);

impl<'de> Deserialize<'de> for SecretValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SecretValueVisitor)
    }
}

/// A string (every static secret's value) is copied once, into the `Secret`; anything
/// else becomes its compact JSON text.
struct SecretValueVisitor;

impl<'de> serde::de::Visitor<'de> for SecretValueVisitor {
    type Value = SecretValue;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a secret's value")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<SecretValue, E> {
        Ok(SecretValue(Secret::new(s)))
    }

    fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<SecretValue, E> {
        Ok(SecretValue(Secret::new(b.to_string())))
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<SecretValue, E> {
        Ok(SecretValue(Secret::new(n.to_string())))
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<SecretValue, E> {
        Ok(SecretValue(Secret::new(n.to_string())))
    }

    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<SecretValue, E> {
        Ok(SecretValue(Secret::new(Value::from(n).to_string())))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<SecretValue, E> {
        Ok(SecretValue(Secret::new("null")))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<SecretValue, A::Error> {
        let value = Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
        Ok(SecretValue(Secret::new(json_text(value))))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<SecretValue, A::Error> {
        let value = Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        Ok(SecretValue(Secret::new(json_text(value))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    #[test]
    fn values_read_straight_into_text_as_json_text_gives_it() {
        let answer = r#"{"a":"s\u00e9\n","b":5,"c":true,"d":null,"e":[1,"x"],"f":{"k":1.5,"j":[]},"g":-2,"h":2.5,"i":1e300}"#;
        let direct: SecretValues = serde_json::from_str(answer).unwrap();
        let values: Map<String, Value> = serde_json::from_str(answer).unwrap();
        assert_eq!(direct.0.len(), values.len());
        for (name, value) in values {
            let got = direct.get(&name).expect("every name is there");
            assert_eq!(got.expose(), json_text(value), "{name}");
        }
    }

    #[test]
    fn names_are_found_however_the_answer_spells_them_and_the_last_value_counts() {
        let answer = r#"{"ci/b":"1","/ci/a":"2","//ci/c":"3","/ci/a":"4","\/ci\/d":"5"}"#;
        let values: SecretValues = serde_json::from_str(answer).unwrap();
        assert_eq!(values.0.len(), 4);
        for (name, want) in [
            ("/ci/a", "4"),
            ("/ci/b", "1"),
            ("ci/c", "3"),
            ("/ci/d", "5"),
        ] {
            assert_eq!(values.get(name).map(Secret::expose), Some(want), "{name}");
        }
        assert!(values.get("/ci/e").is_none());
        // Near or far, in order or not, the same answers.
        let mut at = 0;
        for (name, want) in [
            ("/ci/a", Some("4")),
            ("/ci/a", Some("4")),
            ("/ci/c", Some("3")),
            ("/ci/b", Some("1")),
            ("/ci/e", None),
            ("ci/d", Some("5")),
        ] {
            assert_eq!(
                values.get_near(name, &mut at).map(Secret::expose),
                want,
                "{name}"
            );
        }
        assert!(serde_json::from_str::<SecretValues>(r#"["/ci/a"]"#).is_err());
    }
}
