//! An Akeyless token, and how it travels: in the request body, under the key its kind
//! needs.

use serde_json::{Map, Value};

use crate::secret::Secret;

/// `t-…` tokens travel as `token`, universal-identity `u-…` tokens as `uid-token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    value: Secret,
    universal_identity: bool,
}

impl Token {
    pub fn parse(raw: &str) -> Result<Token, String> {
        let raw = raw.trim();
        let universal_identity = if raw.starts_with("t-") {
            false
        } else if raw.starts_with("u-") {
            true
        } else {
            return Err(
                "it should start with t- (an access token) or u- (a universal identity token)"
                    .into(),
            );
        };
        if raw.len() < 3 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("it is empty after the prefix or contains whitespace".into());
        }
        Ok(Token {
            value: Secret::new(raw),
            universal_identity,
        })
    }

    pub fn secret(&self) -> &Secret {
        &self.value
    }

    /// The start of a request body: the token under the key the API expects for its kind.
    pub fn body(&self) -> Map<String, Value> {
        let key = if self.universal_identity {
            "uid-token"
        } else {
            "token"
        };
        let mut body = Map::new();
        body.insert(key.into(), self.value.expose().into());
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_kinds_pick_the_body_key() {
        let t = Token::parse("t-abc").unwrap();
        assert_eq!(t.body().get("token").and_then(Value::as_str), Some("t-abc"));
        let u = Token::parse(" u-xyz\n").unwrap();
        assert_eq!(
            u.body().get("uid-token").and_then(Value::as_str),
            Some("u-xyz")
        );
        assert!(Token::parse("abc").is_err());
        assert!(Token::parse("t-").is_err());
        assert!(Token::parse("t-a b").is_err());
    }
}
