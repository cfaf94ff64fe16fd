//! Authentication: turning the configured credentials into one Akeyless token per run,
//! and replacing it once when the gateway stops accepting it mid-run.
//!
//! A JWT or access key is exchanged at `/auth` exactly once; a ready `AKEYLESS_TOKEN` is
//! used as is. A refusal is exit 3 with the gateway's reason and, for a JWT, the token's
//! claims that decide whether the auth method and its sub-claims accept it.

mod claims;

use serde_json::{Map, Value};

pub use claims::{Claims, is_jwt};

use crate::client::{Api, ApiError, During, Login, Token};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::settings::{Credentials, Settings};

/// A logged-in client: the token of this run and the client that sends it.
#[derive(Debug)]
pub struct Session {
    api: Api,
    credentials: Credentials,
    token: Token,
    /// The answer of the last login; none with a ready token.
    login: Option<Login>,
    /// Whether the one re-login of a run has happened.
    renewed: bool,
}

impl Session {
    /// Logs in (or takes the ready token) with the client `settings` describe.
    pub async fn start(settings: &Settings) -> Result<Session> {
        let mut api = settings.client()?;
        let (token, login) = login(&mut api, &settings.credentials).await?;
        Ok(Session {
            api,
            credentials: settings.credentials.clone(),
            token,
            login,
            renewed: false,
        })
    }

    /// A session for a token this run already holds, with a new client whose deadline
    /// starts now: for work after a long pause (revoking when a command ends).
    pub fn resume(settings: &Settings, token: Token) -> Result<Session> {
        Ok(Session {
            api: settings.client()?,
            credentials: settings.credentials.clone(),
            token,
            login: None,
            renewed: false,
        })
    }

    /// The answer of the login, if there was one (`akeyless auth` shows and keeps it).
    pub fn login(&self) -> Option<&Login> {
        self.login.as_ref()
    }

    pub fn api(&self) -> &Api {
        &self.api
    }

    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The gateway refused the token mid-run (it expired, or the gateway restarted): logs
    /// in again, once per run. Returns whether there is a new token to try; a ready
    /// `AKEYLESS_TOKEN` cannot be renewed.
    pub async fn renew(&mut self) -> Result<bool> {
        if self.renewed || matches!(self.credentials, Credentials::Token { .. }) {
            return Ok(false);
        }
        self.renewed = true;
        (self.token, self.login) = login(&mut self.api, &self.credentials).await?;
        Ok(true)
    }

    /// The error for a token the gateway keeps refusing while doing `what`.
    pub fn refused(&self, what: &str, reason: &str) -> Error {
        let err = Error::auth(format!("the gateway refused the token while {what}")).cause(reason);
        match &self.credentials {
            Credentials::Token { from, .. } => err.hint(format!(
                "{from} has expired or was revoked: get a new one, or let akl log in"
            )),
            _ => err.hint(
                "a fresh login was refused too: check the auth method and its role association",
            ),
        }
    }
}

/// Returns the token for this run, authenticating if the credentials are not one already,
/// and the login's answer when there was a login.
pub async fn login(api: &mut Api, credentials: &Credentials) -> Result<(Token, Option<Login>)> {
    let (access_id, body) = match credentials {
        Credentials::Token { token, .. } => return Ok((token.clone(), None)),
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
        Ok(login) => {
            api.scrub_also(&login.token);
            let token = Token::parse(login.token.expose()).map_err(|why| {
                Error::other(format!(
                    "the gateway answered /auth with a token akl does not understand: {why}"
                ))
            })?;
            Ok((token, Some(login)))
        }
        Err(err) if err.is_refusal() => Err(refused(api, access_id, credentials, err)),
        Err(err) => Err(err.into_error(api.gateway(), "authentication", During::Login)),
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
    // Auth methods can limit which client types may log in (`allowed-client-type`).
    if err.to_string().to_ascii_lowercase().contains("client type") {
        return Error::new(
            err.kind(During::Login),
            format!(
                "authentication with access id {access_id} was refused for the client type akl sent ({})",
                api.client_type()
            ),
        )
        .cause(&err)
        .hint(format!(
            "the auth method allows only some client types: set {} to one it allows (the Akeyless CLI sends cli), or allow this one on the auth method",
            crate::settings::vars::AKEYLESS_CLIENT_TYPE
        ));
    }
    let mut error = Error::new(
        err.kind(During::Login),
        format!(
            "authentication with access id {access_id} was refused by {}",
            api.gateway().as_str()
        ),
    )
    .cause(&err);
    match credentials {
        Credentials::Jwt { jwt, var, .. } => {
            error = error.detail(format!("the ID token in {var} carries these claims:"));
            match Claims::decode(jwt) {
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
