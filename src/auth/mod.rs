//! Authentication: turning the configured credentials into one Akeyless token per run,
//! and replacing it once when the gateway stops accepting it mid-run.
//!
//! The proof of identity (`identity::prove`) is exchanged at `/auth` exactly once; a
//! ready `AKEYLESS_TOKEN` is used as is. A refusal is exit 3 with the gateway's reason
//! and, for a JWT, the token's claims that decide whether the auth method and its
//! sub-claims accept it.

mod claims;

pub use claims::{Claims, is_jwt};

use crate::client::{Api, ApiError, During, Endpoints, Login, Token};
use crate::error::{Error, Result};
use crate::identity::{self, Proof};
use crate::secret::Secret;
use crate::settings::{Credentials, Settings};

/// A logged-in client: the token of this run and the client that sends it.
#[derive(Debug)]
pub struct Session {
    api: Api,
    endpoints: Endpoints,
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
        Self::begin(settings, false).await
    }

    /// `start`, for a fetch: a second connection opens while the login is answered, for
    /// the two requests the fetch begins with.
    pub async fn start_for_fetch(settings: &Settings) -> Result<Session> {
        Self::begin(settings, true).await
    }

    async fn begin(settings: &Settings, spare: bool) -> Result<Session> {
        let mut api = settings.client()?;
        let endpoints = settings.endpoints()?;
        let spare = (spare && !matches!(settings.credentials, Credentials::Token { .. }))
            .then(|| api.spare());
        let login = login(&mut api, &endpoints, &settings.credentials);
        let (token, login) = match spare {
            None => login.await?,
            // Once the login's own connection is under way: the spare's handshake must
            // not hold it up.
            Some(spare) => {
                let open = async move {
                    tokio::task::yield_now().await;
                    spare.open();
                };
                futures_util::future::join(login, open).await.0?
            }
        };
        Ok(Session {
            api,
            endpoints,
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
            endpoints: settings.endpoints()?,
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
        (self.token, self.login) = login(&mut self.api, &self.endpoints, &self.credentials).await?;
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
pub async fn login(
    api: &mut Api,
    endpoints: &Endpoints,
    credentials: &Credentials,
) -> Result<(Token, Option<Login>)> {
    if let Credentials::Token { token, .. } = credentials {
        return Ok((token.clone(), None));
    }
    let proof = identity::prove(api, endpoints, credentials).await?;
    login_with(api, credentials, proof).await
}

/// `/auth` with a proof made already (`akl doctor` shows the ID token's claims first).
pub async fn login_with(
    api: &mut Api,
    credentials: &Credentials,
    proof: Proof,
) -> Result<(Token, Option<Login>)> {
    for secret in &proof.secrets {
        api.scrub_also(secret);
    }
    let access_id = credentials.access_id().unwrap_or_default();
    match api.auth(proof.body).await {
        Ok(login) => {
            api.scrub_also(&login.token);
            let token = Token::parse(login.token.expose()).map_err(|why| {
                Error::other(format!(
                    "the gateway answered /auth with a token akl does not understand: {why}"
                ))
            })?;
            Ok((token, Some(login)))
        }
        Err(err) if err.is_refusal() => Err(refused(api, access_id, credentials, proof.jwt, err)),
        Err(err) => Err(err.into_error(api.gateway(), "authentication", During::Login)),
    }
}

fn refused(
    api: &Api,
    access_id: &str,
    credentials: &Credentials,
    jwt: Option<Secret>,
    err: ApiError,
) -> Error {
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
    match (credentials, jwt) {
        (Credentials::Jwt { source, .. }, Some(jwt)) => {
            error = error.detail(format!(
                "the ID token from {} carries these claims:",
                source.describe()
            ));
            match Claims::decode(&jwt) {
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
        (Credentials::AccessKey { .. }, _) => error.hint(format!(
            "check that {access_id} is an access-key auth method and that AKEYLESS_ACCESS_KEY belongs to it"
        )),
        _ => error.hint(format!(
            "check that {access_id} is an auth method of type {} that accepts {}",
            credentials.access_type().map_or("?", |t| t.name()),
            credentials.describe()
        )),
    }
}
