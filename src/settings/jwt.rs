//! Where a job's ID token comes from, on every CI that gives jobs one: a variable the CI
//! (or the user) set, or an endpoint or agent that mints one on request. Found without a
//! request; `identity` fetches what must be fetched.

use crate::error::{Error, Result};
use crate::secret::Secret;

use super::env::Env;
use super::vars::{
    ACTIONS_ID_TOKEN_REQUEST_TOKEN, ACTIONS_ID_TOKEN_REQUEST_URL,
    AKEYLESS_AZURE_SERVICE_CONNECTION_ID, AKEYLESS_JWT, AKEYLESS_JWT_AUDIENCE, AKEYLESS_JWT_VAR,
    BITBUCKET_STEP_OIDC_TOKEN, BUILDKITE, CI_JOB_JWT, CI_JOB_JWT_V2, CIRCLE_OIDC_TOKEN,
    CIRCLE_OIDC_TOKEN_V2, SYSTEM_ACCESSTOKEN, SYSTEM_OIDCREQUESTURI,
};

/// Variables that hold an ID token, in the order they are looked at: ours, GitLab's
/// before 17.0, Bitbucket's, CircleCI's.
const TOKEN_VARS: [&str; 6] = [
    AKEYLESS_JWT,
    CI_JOB_JWT_V2,
    CI_JOB_JWT,
    BITBUCKET_STEP_OIDC_TOKEN,
    CIRCLE_OIDC_TOKEN_V2,
    CIRCLE_OIDC_TOKEN,
];

pub const ID_TOKENS_HINT: &str = "give the job an ID token; on GitLab, in .gitlab-ci.yml:
  my-job:
    id_tokens:
      AKEYLESS_JWT:
        aud: https://akeyless.example.com   # the audience bound to the Akeyless auth method
(GitHub Actions: permissions: id-token: write; Bitbucket: oidc: true; CircleCI: a context;
Buildkite and Azure Pipelines: see the README)";

#[derive(Debug, Clone)]
pub enum JwtSource {
    /// A variable holding the token.
    Var { var: String, jwt: Secret },
    /// GitHub Actions: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=…` with the bearer.
    GitHub {
        url: Secret,
        bearer: Secret,
        audience: Option<String>,
    },
    /// Buildkite: `buildkite-agent oidc request-token [--audience …]`.
    Buildkite { audience: Option<String> },
    /// Azure Pipelines: `POST $SYSTEM_OIDCREQUESTURI?…&serviceConnectionId=…` with the bearer.
    AzurePipelines {
        url: Secret,
        bearer: Secret,
        connection: String,
    },
}

impl JwtSource {
    /// Where the token comes from, for messages (never the token).
    pub fn describe(&self) -> String {
        match self {
            JwtSource::Var { var, .. } => var.clone(),
            JwtSource::GitHub { audience, .. } => format!(
                "GitHub Actions' ID token endpoint (audience {})",
                audience
                    .as_deref()
                    .unwrap_or("the repository owner's URL, GitHub's default")
            ),
            JwtSource::Buildkite { audience } => format!(
                "buildkite-agent oidc request-token (audience {})",
                audience.as_deref().unwrap_or("Buildkite's default")
            ),
            JwtSource::AzurePipelines { connection, .. } => {
                format!("Azure Pipelines' ID token endpoint (service connection {connection})")
            }
        }
    }

    /// The secrets it holds, for scrubbing.
    pub fn secrets(&self) -> Vec<Secret> {
        match self {
            JwtSource::Var { jwt, .. } => vec![jwt.clone()],
            JwtSource::GitHub { url, bearer, .. }
            | JwtSource::AzurePipelines { url, bearer, .. } => {
                vec![url.clone(), bearer.clone()]
            }
            JwtSource::Buildkite { .. } => Vec::new(),
        }
    }
}

/// The job's ID token source: the variable `AKEYLESS_JWT_VAR` names, else the first
/// variable of `TOKEN_VARS` that is set, else a CI that mints one on request. `None` when
/// there is none at all.
pub fn find(env: &Env) -> Result<Option<JwtSource>> {
    if let Some(name) = env.get(AKEYLESS_JWT_VAR)? {
        let name = name.trim();
        let value = env.get(name)?.ok_or_else(|| {
            Error::usage(format!("{AKEYLESS_JWT_VAR} names {name}, but {name} is not set"))
                .hint(format!(
                    "declare the ID token under that name in .gitlab-ci.yml:\n  my-job:\n    id_tokens:\n      {name}:\n        aud: https://akeyless.example.com"
                ))
        })?;
        return from_var(name, value).map(Some);
    }
    for name in TOKEN_VARS {
        if let Some(value) = env.get(name)? {
            return from_var(name, value).map(Some);
        }
    }
    let audience = env.get(AKEYLESS_JWT_AUDIENCE)?.map(|a| a.trim().to_owned());
    if let Some(url) = env.get(ACTIONS_ID_TOKEN_REQUEST_URL)? {
        let bearer = env.get(ACTIONS_ID_TOKEN_REQUEST_TOKEN)?.ok_or_else(|| {
            Error::usage(format!(
                "{ACTIONS_ID_TOKEN_REQUEST_URL} is set but {ACTIONS_ID_TOKEN_REQUEST_TOKEN} is not"
            ))
            .hint("GitHub sets both for a job with permissions: id-token: write; pass both to akl's environment")
        })?;
        return Ok(Some(JwtSource::GitHub {
            url: Secret::new(url),
            bearer: Secret::new(bearer),
            audience,
        }));
    }
    if env
        .get(BUILDKITE)?
        .is_some_and(|b| b.eq_ignore_ascii_case("true"))
    {
        return Ok(Some(JwtSource::Buildkite { audience }));
    }
    if let Some(url) = env.get(SYSTEM_OIDCREQUESTURI)? {
        let need =
            |name: &str| Error::usage(format!("{SYSTEM_OIDCREQUESTURI} is set but {name} is not"));
        let bearer = env.get(SYSTEM_ACCESSTOKEN)?.ok_or_else(|| {
            need(SYSTEM_ACCESSTOKEN)
                .hint("map it into the step: env: SYSTEM_ACCESSTOKEN: $(System.AccessToken)")
        })?;
        let connection = env.get(AKEYLESS_AZURE_SERVICE_CONNECTION_ID)?.ok_or_else(|| {
            need(AKEYLESS_AZURE_SERVICE_CONNECTION_ID).hint(
                "set it to the id of the service connection whose workload identity federation Akeyless trusts",
            )
        })?;
        return Ok(Some(JwtSource::AzurePipelines {
            url: Secret::new(url),
            bearer: Secret::new(bearer),
            connection: connection.trim().to_owned(),
        }));
    }
    Ok(None)
}

fn from_var(var: &str, value: &str) -> Result<JwtSource> {
    check_shape(var, value)?;
    Ok(JwtSource::Var {
        var: var.to_owned(),
        jwt: Secret::new(value.trim()),
    })
}

/// Catches the common mistakes (a file-type variable holding a path, a truncated paste)
/// before the gateway answers with something vaguer. The value itself is never shown.
pub fn check_shape(var: &str, value: &str) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";

    fn found(pairs: &[(&str, &str)]) -> Option<JwtSource> {
        find(&Env::from_pairs(
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        ))
        .unwrap()
    }

    #[test]
    fn every_ci_is_found_in_order() {
        let var = |s: Option<JwtSource>| match s {
            Some(JwtSource::Var { var, .. }) => var,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            var(found(&[(BITBUCKET_STEP_OIDC_TOKEN, JWT)])),
            BITBUCKET_STEP_OIDC_TOKEN
        );
        assert_eq!(
            var(found(&[
                (CIRCLE_OIDC_TOKEN, JWT),
                (CIRCLE_OIDC_TOKEN_V2, JWT)
            ])),
            CIRCLE_OIDC_TOKEN_V2
        );
        assert_eq!(
            var(found(&[(CIRCLE_OIDC_TOKEN, JWT), (AKEYLESS_JWT, JWT)])),
            AKEYLESS_JWT
        );
        assert!(matches!(
            found(&[
                (ACTIONS_ID_TOKEN_REQUEST_URL, "https://gh/token?x=1"),
                (ACTIONS_ID_TOKEN_REQUEST_TOKEN, "b"),
                (AKEYLESS_JWT_AUDIENCE, "akeyless"),
            ]),
            Some(JwtSource::GitHub { audience: Some(a), .. }) if a == "akeyless"
        ));
        assert!(matches!(
            found(&[(BUILDKITE, "true")]),
            Some(JwtSource::Buildkite { audience: None })
        ));
        assert!(matches!(
            found(&[
                (SYSTEM_OIDCREQUESTURI, "https://dev.azure.com/x/oidctoken"),
                (SYSTEM_ACCESSTOKEN, "b"),
                (AKEYLESS_AZURE_SERVICE_CONNECTION_ID, "c-1"),
            ]),
            Some(JwtSource::AzurePipelines { connection, .. }) if connection == "c-1"
        ));
        assert!(found(&[("HOME", "/h")]).is_none());
    }

    #[test]
    fn a_half_configured_ci_names_what_is_missing() {
        let env = |pairs: &[(&str, &str)]| {
            Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        };
        let msg = find(&env(&[(ACTIONS_ID_TOKEN_REQUEST_URL, "https://gh/t")]))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("ACTIONS_ID_TOKEN_REQUEST_TOKEN is not"),
            "{msg}"
        );
        let msg = find(&env(&[
            (SYSTEM_OIDCREQUESTURI, "https://x"),
            (SYSTEM_ACCESSTOKEN, "b"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(
            msg.contains("AKEYLESS_AZURE_SERVICE_CONNECTION_ID is not"),
            "{msg}"
        );
    }
}
