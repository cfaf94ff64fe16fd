//! From a fetched item to what its outputs hold: field selection, `#*`, decoding, and
//! the checks a variable's value must pass (a file's content need not).

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;

use crate::secret::{Blob, Secret};

use super::Reason;
use super::reference::{Decode, Reference};
use super::select;

/// A fetched item, before field selection.
#[derive(Debug, Clone)]
pub enum Fetched {
    Text(Secret),
    Json(Value),
    /// A certificate issued for a key pair made in this run: its files as they are.
    /// Boxed, as in `Content`.
    Issued(Box<KeyFiles>),
}

impl Fetched {
    /// The whole value as a variable holds it: a static secret's text as stored, a
    /// dynamic or rotated secret's JSON compact.
    fn into_text(self) -> String {
        match self {
            Fetched::Text(text) => text.into_exposed(),
            Fetched::Json(json) => select::text(json),
            // Never reached: `shape` and `fan_out` take certificates first.
            Fetched::Issued(_) => String::new(),
        }
    }

    fn into_json(self) -> Result<Value, Reason> {
        match self {
            Fetched::Text(text) => select::parse_json(text.expose()).map_err(Reason::field),
            Fetched::Json(json) => Ok(json),
            Fetched::Issued(_) => Err(Reason::field(select::SelectError::NotJson)),
        }
    }
}

/// What one output holds: text for a variable, bytes for the file it names, or a key
/// pair's two files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Text(Secret),
    File(Blob),
    /// Boxed: two files would make every output of 10,000 references twice as large.
    KeyFiles(Box<KeyFiles>),
}

/// A private key and the certificate issued for it, as two files: the variable names
/// `main`; `beside` goes next to it, named as `main` plus `suffix`. SSH: `X` is the key,
/// `$X-cert.pub` the certificate, where `ssh -i "$X"` looks for it. TLS: `X` is the
/// certificate and its chain, `$X.key` the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFiles {
    pub main: Blob,
    pub beside: Blob,
    pub suffix: &'static str,
    /// Which of the two is the private key; the other, a certificate, is not secret.
    pub key_is_main: bool,
}

/// Where an SSH certificate goes: beside its key, as OpenSSH looks for it.
pub const SSH_CERT_SUFFIX: &str = "-cert.pub";
/// Where a TLS certificate's key goes: beside the certificate.
pub const TLS_KEY_SUFFIX: &str = ".key";
/// Every suffix of a file written beside an output's own: removing the output removes
/// these too.
pub const BESIDE_SUFFIXES: [&str; 2] = [SSH_CERT_SUFFIX, TLS_KEY_SUFFIX];

impl KeyFiles {
    /// The private key: what is masked, and never printed.
    pub fn key(&self) -> &Blob {
        match self.key_is_main {
            true => &self.main,
            false => &self.beside,
        }
    }
}

/// Field selection, decoding and the checks: the fetched item → one output's content.
pub fn shape(fetched: Fetched, reference: &Reference) -> Result<Content, Reason> {
    if let Fetched::Issued(files) = fetched {
        return Ok(Content::KeyFiles(files));
    }
    // The common case, a static secret as it is: the value is shared, not copied.
    if let Fetched::Text(secret) = &fetched {
        let plain = reference.field.is_empty() && reference.decode.is_none() && !reference.file;
        if plain {
            return match secret.expose().contains('\0') {
                true => Err(Reason::Nul),
                false => Ok(Content::Text(secret.clone())),
            };
        }
    }
    match reference.field.is_empty() {
        true => finish(fetched.into_text(), reference),
        false => shape_field(&fetched.into_json()?, reference),
    }
}

/// `shape` for a reference that selects a field, from the item's value parsed as JSON:
/// parsed once for all the references that select from it, and only the field copied.
pub fn shape_field(json: &Value, reference: &Reference) -> Result<Content, Reason> {
    let selected = select::select(json, &reference.field).map_err(Reason::field)?;
    finish(select::text(selected.clone()), reference)
}

/// `#*`: the whole value (for `X` itself) and every top-level key with its content.
pub fn fan_out(
    fetched: Fetched,
    reference: &Reference,
) -> Result<(Content, Vec<(String, Content)>), Reason> {
    // The grammar gives a certificate request no `#*`; an issued one has no fields.
    let json = fetched.clone().into_json()?;
    let fields = select::fields(json).map_err(Reason::field)?;
    // `X` keeps the JSON as it is: decoding applies to the fields' values.
    let whole = Reference {
        decode: None,
        ..reference.clone()
    };
    let whole = finish(fetched.into_text(), &whole)?;
    let fields = fields
        .into_iter()
        .map(|(key, text)| finish(text, reference).map(|c| (key, c)))
        .collect::<Result<_, _>>()?;
    Ok((whole, fields))
}

/// Decoding, then what the destination allows: a file takes any bytes; a variable only
/// UTF-8 text without NUL, which is all an environment can hold.
fn finish(text: String, reference: &Reference) -> Result<Content, Reason> {
    let bytes = match reference.decode {
        None => text.into_bytes(),
        Some(Decode::Base64) => decode_base64(&text).ok_or(Reason::NotBase64)?,
    };
    if reference.file {
        return Ok(Content::File(Blob::new(bytes)));
    }
    let text = String::from_utf8(bytes).map_err(|_| Reason::NotUtf8)?;
    if text.contains('\0') {
        return Err(Reason::Nul);
    }
    Ok(Content::Text(Secret::new(text)))
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

    fn text(content: Content) -> String {
        match content {
            Content::Text(s) => s.into_exposed(),
            Content::File(_) | Content::KeyFiles(_) => panic!("a file"),
        }
    }

    #[test]
    fn shape_selects_decodes_and_refuses_nul() {
        let text_of = |s: &str| Fetched::Text(Secret::new(s));
        let ok = |f: Fetched, r: &str| text(shape(f, &reference(r)).unwrap());
        assert_eq!(ok(text_of("plain"), "akeyless://a"), "plain");
        assert_eq!(ok(text_of(r#"{"u":{"p":"x"}}"#), "akeyless://a#u.p"), "x");
        assert_eq!(
            ok(Fetched::Json(json!({"b": 1, "a": "s"})), "akeyless://a"),
            r#"{"a":"s","b":1}"#
        );
        assert_eq!(
            ok(Fetched::Json(json!({"user": "u"})), "akeyless://a#user"),
            "u"
        );
        assert_eq!(
            ok(text_of("aGVsbG8="), "akeyless:/a|decode=base64"),
            "hello"
        );
        assert_eq!(
            ok(text_of("aGVs\nbG8"), "akeyless:/a|decode=base64"),
            "hello"
        );
        assert_eq!(
            ok(
                text_of(r#"{"k":"aGk_"}"#),
                "akeyless:/a|jq=.k|decode=base64"
            ),
            "hi?"
        );

        let err = |f: Fetched, r: &str| shape(f, &reference(r)).unwrap_err();
        assert_eq!(
            err(text_of("plain"), "akeyless://a#x"),
            Reason::field(SelectError::NotJson)
        );
        assert_eq!(
            err(text_of("%%%"), "akeyless:/a|decode=base64"),
            Reason::NotBase64
        );
        assert_eq!(
            err(text_of("/w=="), "akeyless:/a|decode=base64"),
            Reason::NotUtf8
        );
        assert_eq!(err(text_of("a\0b"), "akeyless://a"), Reason::Nul);
        assert_eq!(
            err(text_of("YQBi"), "akeyless:/a|decode=base64"),
            Reason::Nul
        );
    }

    #[test]
    fn a_file_takes_any_bytes() {
        let fetched = Fetched::Text(Secret::new("/wCA"));
        let content = shape(fetched, &reference("akeyless:/a|decode=base64|file=true")).unwrap();
        assert_eq!(content, Content::File(Blob::new(vec![0xff, 0x00, 0x80])));
    }

    #[test]
    fn fan_out_keeps_the_whole_and_gives_each_key() {
        let fetched = Fetched::Text(Secret::new(
            r#"{"user":"u","port":5432,"tls":true,"o":{"a":1}}"#,
        ));
        let (whole, fields) = fan_out(fetched, &reference("akeyless://a#*")).unwrap();
        assert_eq!(
            text(whole),
            r#"{"user":"u","port":5432,"tls":true,"o":{"a":1}}"#
        );
        let fields: Vec<(String, String)> = fields.into_iter().map(|(k, c)| (k, text(c))).collect();
        assert_eq!(
            fields,
            [
                ("o", r#"{"a":1}"#),
                ("port", "5432"),
                ("tls", "true"),
                ("user", "u")
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        let err = fan_out(Fetched::Json(json!([1])), &reference("akeyless://a#*")).unwrap_err();
        assert_eq!(err, Reason::field(SelectError::NotAnObject("an array")));
        let err = fan_out(
            Fetched::Text(Secret::new("x")),
            &reference("akeyless://a#*"),
        )
        .unwrap_err();
        assert_eq!(err, Reason::field(SelectError::NotJson));
    }
}
