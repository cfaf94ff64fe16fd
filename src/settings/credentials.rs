//! Which credentials log in: a ready token, an access key, or the job's ID token, and
//! where that token was found.

use crate::client::Token;
use crate::error::{Error, Result};
use crate::secret::Secret;

use super::env::Env;
use super::profile::Profile;
use super::vars::{
    AKEYLESS_ACCESS_ID, AKEYLESS_ACCESS_KEY, AKEYLESS_ACCESS_TYPE, AKEYLESS_JWT, AKEYLESS_JWT_VAR,
    AKEYLESS_TOKEN, CI_JOB_JWT, CI_JOB_JWT_V2,
};

/// Where the job's ID token is looked for when `AKEYLESS_JWT_VAR` does not say: our own
/// name first, then the variables GitLab set before 17.0.
const JWT_FALLBACKS: [&str; 3] = [AKEYLESS_JWT, CI_JOB_JWT_V2, CI_JOB_JWT];

const ID_TOKENS_HINT: &str = "declare an ID token for the job in .gitlab-ci.yml:
  my-job:
    id_tokens:
      AKEYLESS_JWT:
        aud: https://akeyless.example.com   # the audience bound to the Akeyless auth method";

const ACCESS_ID_HINT: &str =
    "set the access id of the Akeyless auth method, e.g. in .gitlab-ci.yml:
  variables:
    AKEYLESS_ACCESS_ID: p-xxxxxxxxxxxx";

#[derive(Debug, Clone)]
pub enum Credentials {
    /// A ready `t-…` or `u-…` token: no authentication call. `from` says where it was
    /// found, for messages.
    Token { token: Token, from: String },
    AccessKey {
        access_id: String,
        access_key: Secret,
    },
    /// `var` is the variable the JWT came from, for messages.
    Jwt {
        access_id: String,
        jwt: Secret,
        var: String,
    },
}

/// The auth method types `akl` can log in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessType {
    Jwt,
    AccessKey,
}

impl AccessType {
    /// `jwt`, `access_key` or `access-key`, in any case; `from` names the setting.
    pub fn parse(from: &str, raw: &str) -> Result<AccessType> {
        match raw.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "jwt" => Ok(AccessType::Jwt),
            "access_key" => Ok(AccessType::AccessKey),
            other => Err(Error::usage(format!("{from}={other} is not supported by akl"))
                .hint(format!(
                    "use jwt (GitLab ID tokens) or access_key, or pass a ready token in {AKEYLESS_TOKEN}"
                ))),
        }
    }
}

impl Credentials {
    /// Every credential string, so that error text from the server can be scrubbed of them.
    pub fn secrets(&self) -> Vec<Secret> {
        match self {
            Credentials::Token { token, .. } => vec![token.secret().clone()],
            Credentials::AccessKey { access_key, .. } => vec![access_key.clone()],
            Credentials::Jwt { jwt, .. } => vec![jwt.clone()],
        }
    }

    /// The credentials the environment holds; `access_id` and `access_type` are the flags,
    /// which win over it.
    pub fn from_env(
        env: &Env,
        access_id: Option<&str>,
        access_type: Option<AccessType>,
    ) -> Result<Credentials> {
        if let Some(raw) = env.get(AKEYLESS_TOKEN)? {
            let token = Token::parse(raw).map_err(|why| {
                Error::usage(format!("{AKEYLESS_TOKEN} is not an Akeyless token: {why}")).hint(
                    format!(
                        "unset {AKEYLESS_TOKEN} to authenticate with {AKEYLESS_ACCESS_ID} instead"
                    ),
                )
            })?;
            return Ok(Credentials::Token {
                token,
                from: AKEYLESS_TOKEN.to_owned(),
            });
        }

        let access_type = match access_type {
            Some(t) => Some(t),
            None => env
                .get(AKEYLESS_ACCESS_TYPE)?
                .map(|raw| AccessType::parse(AKEYLESS_ACCESS_TYPE, raw))
                .transpose()?,
        };
        let access_key = env.get(AKEYLESS_ACCESS_KEY)?;
        // Without an explicit type, an access key wins: it can only have been set on
        // purpose, while a JWT variable may be one GitLab adds to every job.
        let use_access_key = match access_type {
            Some(t) => t == AccessType::AccessKey,
            None => access_key.is_some(),
        };

        let access_id = match access_id {
            Some(id) => Some(id),
            None => env.get(AKEYLESS_ACCESS_ID)?,
        };
        let Some(access_id) = access_id.map(str::trim).filter(|id| !id.is_empty()) else {
            // Like the Akeyless CLI, use the token an earlier `akeyless auth` kept.
            if let Some(profile) = Profile::locate(env, None)? {
                if let Some((_, token)) = profile.kept_token() {
                    return Ok(Credentials::Token {
                        token,
                        from: format!(
                            "the token `akeyless auth` kept for profile {}",
                            profile.name
                        ),
                    });
                }
            }
            return Err(Error::usage(format!("{AKEYLESS_ACCESS_ID} is not set"))
                .detail("akl needs the access id of the auth method to log in with")
                .hint(ACCESS_ID_HINT));
        };
        if access_id.chars().any(char::is_whitespace) {
            return Err(
                Error::usage(format!("{AKEYLESS_ACCESS_ID} contains whitespace"))
                    .hint("copy the access id (p-…) again from the Akeyless console"),
            );
        }
        let access_id = access_id.to_owned();

        if use_access_key {
            let Some(key) = access_key else {
                return Err(Error::usage(format!(
                    "{AKEYLESS_ACCESS_TYPE} is access_key but {AKEYLESS_ACCESS_KEY} is not set"
                ))
                .hint(format!(
                    "store the access key as a masked CI/CD variable named {AKEYLESS_ACCESS_KEY}, or use jwt"
                )));
            };
            return Ok(Credentials::AccessKey {
                access_id,
                access_key: Secret::new(key),
            });
        }

        let (var, jwt) = find_jwt(env)?;
        Ok(Credentials::Jwt {
            access_id,
            jwt,
            var,
        })
    }
}

/// The job's ID token: from the variable `AKEYLESS_JWT_VAR` names, else the first of
/// `AKEYLESS_JWT`, `CI_JOB_JWT_V2`, `CI_JOB_JWT` that is set.
fn find_jwt(env: &Env) -> Result<(String, Secret)> {
    let (var, value) = match env.get(AKEYLESS_JWT_VAR)? {
        Some(name) => {
            let name = name.trim();
            let value = env.get(name)?.ok_or_else(|| {
                Error::usage(format!("{AKEYLESS_JWT_VAR} names {name}, but {name} is not set"))
                    .hint(format!(
                        "declare the ID token under that name in .gitlab-ci.yml:\n  my-job:\n    id_tokens:\n      {name}:\n        aud: https://akeyless.example.com"
                    ))
            })?;
            (name.to_owned(), value)
        }
        None => {
            let mut found = None;
            for name in JWT_FALLBACKS {
                if let Some(value) = env.get(name)? {
                    found = Some((name.to_owned(), value));
                    break;
                }
            }
            found.ok_or_else(|| {
                Error::usage("no ID token found for JWT authentication")
                    .detail(format!("looked in {}", JWT_FALLBACKS.join(", ")))
                    .hint(ID_TOKENS_HINT)
            })?
        }
    };
    check_jwt_shape(&var, value)?;
    Ok((var, Secret::new(value.trim())))
}

/// Catches the common mistakes (a file-type variable holding a path, a truncated paste)
/// before the gateway answers with something vaguer. The value itself is never shown.
fn check_jwt_shape(var: &str, value: &str) -> Result<()> {
    let parts: Vec<&str> = value.trim().split('.').collect();
    let base64url = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if parts.len() == 3 && parts.iter().all(|p| base64url(p)) {
        return Ok(());
    }
    let err = Error::usage(format!(
        "{var} does not hold a JWT (expected three base64url parts separated by dots)"
    ));
    Err(if value.starts_with('/') {
        err.hint(format!(
            "{var} looks like a file path: GitLab gives file-type variables as paths; declare the ID token under id_tokens, which is not file-type"
        ))
    } else {
        err.hint(ID_TOKENS_HINT)
    })
}
