//! From a fetched item to a variable's value: field selection, decoding and the NUL
//! check.

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;

use crate::secret::Secret;

use super::Reason;
use super::reference::{Decode, Reference};
use super::select;

/// A fetched item, before field selection.
#[derive(Debug, Clone)]
pub enum Fetched {
    Text(Secret),
    Json(Value),
}

/// Field selection, decoding and the NUL check: the fetched item → the variable's value.
pub fn shape(fetched: Fetched, reference: &Reference) -> Result<Secret, Reason> {
    let text = match fetched {
        Fetched::Text(text) if reference.field.is_empty() => text.into_exposed(),
        Fetched::Text(text) => {
            let json = select::parse_json(text.expose()).map_err(Reason::Field)?;
            select::text(select::select(json, &reference.field).map_err(Reason::Field)?)
        }
        Fetched::Json(json) => {
            select::text(select::select(json, &reference.field).map_err(Reason::Field)?)
        }
    };
    let text = match reference.decode {
        None => text,
        Some(Decode::Base64) => {
            let bytes = decode_base64(&text).ok_or(Reason::NotBase64)?;
            String::from_utf8(bytes).map_err(|_| Reason::NotUtf8)?
        }
    };
    if text.contains('\0') {
        return Err(Reason::Nul);
    }
    Ok(Secret::new(text))
}

/// Standard or URL-safe alphabet, padded or not, line breaks ignored (PEM-style wrapping).
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let lenient =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    GeneralPurpose::new(&base64::alphabet::STANDARD, lenient)
        .decode(&compact)
        .or_else(|_| GeneralPurpose::new(&base64::alphabet::URL_SAFE, lenient).decode(&compact))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::resolve::select::SelectError;

    fn reference(text: &str) -> Reference {
        crate::resolve::reference::parse(text).unwrap()
    }

    #[test]
    fn shape_selects_decodes_and_refuses_nul() {
        let text = |s: &str| Fetched::Text(Secret::new(s));
        let ok = |f: Fetched, r: &str| shape(f, &reference(r)).unwrap().into_exposed();
        assert_eq!(ok(text("plain"), "akeyless://a"), "plain");
        assert_eq!(ok(text(r#"{"u":{"p":"x"}}"#), "akeyless://a#u.p"), "x");
        assert_eq!(
            ok(Fetched::Json(json!({"b": 1, "a": "s"})), "akeyless://a"),
            r#"{"a":"s","b":1}"#
        );
        assert_eq!(
            ok(Fetched::Json(json!({"user": "u"})), "akeyless://a#user"),
            "u"
        );
        assert_eq!(ok(text("aGVsbG8="), "akeyless:/a|decode=base64"), "hello");
        assert_eq!(ok(text("aGVs\nbG8"), "akeyless:/a|decode=base64"), "hello");
        assert_eq!(
            ok(text(r#"{"k":"aGk_"}"#), "akeyless:/a|jq=.k|decode=base64"),
            "hi?"
        );

        let err = |f: Fetched, r: &str| shape(f, &reference(r)).unwrap_err();
        assert_eq!(
            err(text("plain"), "akeyless://a#x"),
            Reason::Field(SelectError::NotJson)
        );
        assert_eq!(
            err(text("%%%"), "akeyless:/a|decode=base64"),
            Reason::NotBase64
        );
        assert_eq!(
            err(text("/w=="), "akeyless:/a|decode=base64"),
            Reason::NotUtf8
        );
        assert_eq!(err(text("a\0b"), "akeyless://a"), Reason::Nul);
        assert_eq!(err(text("YQBi"), "akeyless:/a|decode=base64"), Reason::Nul);
    }
}
