//! Authentication: turning the configured credentials into one Akeyless token per run.
//!
//! A JWT or access key is exchanged at `/auth` exactly once; a ready `AKEYLESS_TOKEN` is
//! used as is. A refusal is exit 3 with the gateway's reason and, for a JWT, the token's
//! claims that decide whether the auth method and its sub-claims accept it.

use serde_json::{Map, Value};

use crate::api::{Api, ApiError};
use crate::config::Credentials;
use crate::error::{Error, Result};
use crate::jwt;
use crate::secret::Secret;

/// An Akeyless token. `t-…` tokens travel as `token`, universal-identity `u-…` tokens as
/// `uid-token`.
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

/// Returns the token for this run, authenticating if the credentials are not one already.
pub async fn login(api: &mut Api, credentials: &Credentials) -> Result<Token> {
    let (access_id, body) = match credentials {
        Credentials::Token(token) => return Ok(token.clone()),
        Credentials::AccessKey {
            access_id,
            access_key,
        } => (
            access_id,
            auth_body(access_id, "access_key", "access-key", access_key),
        ),
        Credentials::Jwt { access_id, jwt, .. } => {
            (access_id, auth_body(access_id, "jwt", "jwt", jwt))
        }
    };
    match api.auth(body).await {
        Ok(value) => {
            api.scrub_also(&value);
            Token::parse(value.expose()).map_err(|why| {
                Error::other(format!(
                    "the gateway answered /auth with a token akl does not understand: {why}"
                ))
            })
        }
        Err(err) if err.is_refusal() => Err(refused(api, access_id, credentials, err)),
        Err(err) => Err(err.into_error(api.gateway(), "authentication")),
    }
}

fn auth_body(
    access_id: &str,
    access_type: &str,
    key: &str,
    credential: &Secret,
) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("access-id".into(), access_id.into());
    body.insert("access-type".into(), access_type.into());
    body.insert(key.into(), credential.expose().into());
    body
}

fn refused(api: &Api, access_id: &str, credentials: &Credentials, err: ApiError) -> Error {
    let mut error = Error::auth(format!(
        "authentication with access id {access_id} was refused by {}",
        api.gateway().as_str()
    ))
    .cause(&err);
    match credentials {
        Credentials::Jwt { jwt, var, .. } => {
            error = error.detail(format!("the ID token in {var} carries these claims:"));
            match jwt::Claims::decode(jwt) {
                Ok(claims) => {
                    for line in claims.summary() {
                        error = error.detail(format!("  {line}"));
                    }
                }
                Err(why) => error = error.detail(format!("  (cannot be decoded: {why})")),
            }
            error.hint(
                "compare these with the auth method (issuer, bound audience) and the sub-claims of its role association",
            )
        }
        _ => error.hint(format!(
            "check that {access_id} is an access-key auth method and that AKEYLESS_ACCESS_KEY belongs to it"
        )),
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
