//! Parsing JSON that came from elsewhere (a gateway's answer, a secret's value) with
//! bounded memory.
//!
//! An answer is capped in bytes, but bytes are not memory: `[[],[],…]` costs a
//! `serde_json::Value` of 32 bytes or more for every 3 bytes of input, so a 30 MiB answer
//! would take about 700 MiB to parse. Every such parse first counts the values the text
//! holds (one cheap pass, strings skipped) and refuses more than `MAX_VALUES`.

use serde::de::DeserializeOwned;

/// Far above any real answer (a batch of 10,000 secrets, a producer's fields, a page of
/// 1,000 items with their details), far below what could strain a CI container.
pub const MAX_VALUES: usize = 500_000;

/// Why a text was not parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// More values than `MAX_VALUES`.
    TooLarge,
    /// Not JSON, or not of the expected shape (serde's category and position only: the
    /// text may hold secrets).
    Invalid(String),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::TooLarge => write!(f, "it holds more than {MAX_VALUES} JSON values"),
            Refused::Invalid(why) => f.write_str(why),
        }
    }
}

/// Parses `text` into `T` unless it holds too many values.
pub fn parse<T: DeserializeOwned>(text: &[u8]) -> Result<T, Refused> {
    // Every value takes at least one byte: a shorter text needs no counting.
    if text.len() >= MAX_VALUES && count_values(text) > MAX_VALUES {
        return Err(Refused::TooLarge);
    }
    serde_json::from_slice(text).map_err(|e| {
        Refused::Invalid(match e.classify() {
            serde_json::error::Category::Eof => "it is truncated".to_owned(),
            serde_json::error::Category::Syntax => {
                format!(
                    "it is not JSON (at line {} column {})",
                    e.line(),
                    e.column()
                )
            }
            _ => "it does not have the expected shape".to_owned(),
        })
    })
}

/// An upper bound of the number of values in `text`: every `[`, `{` and `,` outside a
/// string starts one, and so does the text itself.
fn count_values(text: &[u8]) -> usize {
    let mut count = 1;
    let mut in_string = false;
    let mut escaped = false;
    for &b in text {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'[' | b'{' | b',' => count += 1,
                _ => {}
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn counts_structure_not_string_contents() {
        assert_eq!(count_values(br#""a,b,[c]""#), 1);
        assert_eq!(count_values(br#"{"a":[1,2],"b":"x\",y"}"#), 5);
        assert_eq!(count_values(b"[[],[],[]]"), 7);
    }

    #[test]
    fn a_flood_of_empty_arrays_is_refused_before_it_is_parsed() {
        let mut flood = b"[".to_vec();
        for _ in 0..MAX_VALUES {
            flood.extend_from_slice(b"[],");
        }
        flood.extend_from_slice(b"[]]");
        assert_eq!(parse::<Value>(&flood), Err(Refused::TooLarge));
        assert_eq!(
            parse::<Value>(b"[[],[]]").unwrap(),
            serde_json::json!([[], []])
        );
        assert!(matches!(
            parse::<Value>(b"{\"a\":"),
            Err(Refused::Invalid(_))
        ));
    }
}
