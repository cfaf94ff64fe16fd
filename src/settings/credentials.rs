//! Which credentials log in: a ready token, an access key, the job's ID token (from any
//! CI), the pod's service-account token, a cloud identity or a client certificate, and
//! where each is found. Nothing here makes a request.

use std::path::PathBuf;

use crate::client::Token;
use crate::error::{Error, Result};
use crate::secret::Secret;

use super::cloud::{Aws, Azure, Gcp};
use super::env::Env;
use super::jwt::{self, JwtSource};
use super::profile::Profile;
use super::vars::{
    AKEYLESS_ACCESS_ID, AKEYLESS_ACCESS_KEY, AKEYLESS_ACCESS_TYPE, AKEYLESS_CERT_FILE,
    AKEYLESS_K8S_AUTH_CONFIG_NAME, AKEYLESS_K8S_TOKEN_FILE, AKEYLESS_KEY_FILE, AKEYLESS_TOKEN,
};

/// Where Kubernetes mounts the pod's service-account token.
pub const K8S_TOKEN_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

const ACCESS_ID_HINT: &str =
    "set the access id of the Akeyless auth method, e.g. in .gitlab-ci.yml:
  variables:
    AKEYLESS_ACCESS_ID: p-xxxxxxxxxxxx";

#[derive(Debug, Clone)]
pub enum Credentials {
    /// A ready `t-…` or `u-…` token: no authentication call. `from` says where it was
    /// found, for messages.
    Token {
        token: Token,
        from: String,
    },
    AccessKey {
        access_id: String,
        access_key: Secret,
    },
    Jwt {
        access_id: String,
        source: JwtSource,
    },
    K8s {
        access_id: String,
        token_file: PathBuf,
        config_name: String,
    },
    AwsIam {
        access_id: String,
        aws: Aws,
    },
    AzureAd {
        access_id: String,
        azure: Azure,
    },
    Gcp {
        access_id: String,
        gcp: Gcp,
    },
    Cert {
        access_id: String,
        cert_file: PathBuf,
        key_file: PathBuf,
    },
}

/// The auth method types `akl` can log in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessType {
    Jwt,
    AccessKey,
    K8s,
    AwsIam,
    AzureAd,
    Gcp,
    Cert,
}

impl AccessType {
    const ALL: [(&'static str, AccessType); 7] = [
        ("jwt", AccessType::Jwt),
        ("access_key", AccessType::AccessKey),
        ("k8s", AccessType::K8s),
        ("aws_iam", AccessType::AwsIam),
        ("azure_ad", AccessType::AzureAd),
        ("gcp", AccessType::Gcp),
        ("cert", AccessType::Cert),
    ];

    /// The API's name, e.g. `aws_iam`; `-` and `_` alike, in any case; `from` names the
    /// setting.
    pub fn parse(from: &str, raw: &str) -> Result<AccessType> {
        let wanted = raw.trim().to_ascii_lowercase().replace('-', "_");
        let wanted = match wanted.as_str() {
            "oidc" => "jwt",
            "kubernetes" => "k8s",
            other => other,
        };
        Self::ALL
            .iter()
            .find(|(name, _)| *name == wanted)
            .map(|(_, t)| *t)
            .ok_or_else(|| {
                Error::usage(format!("{from}={raw} is not supported by akl")).hint(format!(
                    "use one of {}, or pass a ready token in {AKEYLESS_TOKEN}",
                    Self::ALL.map(|(n, _)| n).join(", ")
                ))
            })
    }

    /// The API's name for it.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, t)| *t == self)
            .map_or("?", |(n, _)| n)
    }
}

impl Credentials {
    /// Every credential string, so that error text from the server can be scrubbed of them.
    pub fn secrets(&self) -> Vec<Secret> {
        match self {
            Credentials::Token { token, .. } => vec![token.secret().clone()],
            Credentials::AccessKey { access_key, .. } => vec![access_key.clone()],
            Credentials::Jwt { source, .. } => source.secrets(),
            Credentials::AwsIam { aws, .. } => aws.secrets(),
            Credentials::AzureAd { azure, .. } => azure.secrets(),
            Credentials::K8s { .. } | Credentials::Gcp { .. } | Credentials::Cert { .. } => {
                Vec::new()
            }
        }
    }

    /// A digest of the access id and the credentials, which names a login without
    /// holding its secrets; `None` for credentials with no secret of their own (a file,
    /// a cloud's metadata), which two jobs could share. A token kept from a login with
    /// the same digest is this job's: on a shell runner jobs share HOME, and another
    /// project's ID token may log in to the same access id with other rights.
    pub fn login_digest(&self) -> Option<String> {
        let (access_id, secrets) = (self.access_id()?, self.secrets());
        if secrets.is_empty() {
            return None;
        }
        let mut parts = vec![access_id.as_bytes()];
        for secret in &secrets {
            parts.extend([&b"\0"[..], secret.expose().as_bytes()]);
        }
        Some(crate::digest::sha256_hex(&parts))
    }

    /// The access id, unless a ready token logs in.
    pub fn access_id(&self) -> Option<&str> {
        match self {
            Credentials::Token { .. } => None,
            Credentials::AccessKey { access_id, .. }
            | Credentials::Jwt { access_id, .. }
            | Credentials::K8s { access_id, .. }
            | Credentials::AwsIam { access_id, .. }
            | Credentials::AzureAd { access_id, .. }
            | Credentials::Gcp { access_id, .. }
            | Credentials::Cert { access_id, .. } => Some(access_id),
        }
    }

    /// The access type, as the API names it (`None` for a ready token).
    pub fn access_type(&self) -> Option<AccessType> {
        Some(match self {
            Credentials::Token { .. } => return None,
            Credentials::AccessKey { .. } => AccessType::AccessKey,
            Credentials::Jwt { .. } => AccessType::Jwt,
            Credentials::K8s { .. } => AccessType::K8s,
            Credentials::AwsIam { .. } => AccessType::AwsIam,
            Credentials::AzureAd { .. } => AccessType::AzureAd,
            Credentials::Gcp { .. } => AccessType::Gcp,
            Credentials::Cert { .. } => AccessType::Cert,
        })
    }

    /// What proves the identity, for messages and `akl doctor` (never a secret).
    pub fn describe(&self) -> String {
        match self {
            Credentials::Token { from, .. } => format!("a ready token from {from}"),
            Credentials::AccessKey { .. } => format!("the access key in {AKEYLESS_ACCESS_KEY}"),
            Credentials::Jwt { source, .. } => format!("an ID token from {}", source.describe()),
            Credentials::K8s {
                token_file,
                config_name,
                ..
            } => format!(
                "the pod's service-account token ({}), K8s auth config {config_name}",
                token_file.display()
            ),
            Credentials::AwsIam { aws, .. } => {
                format!("a signed STS GetCallerIdentity, with {}", aws.describe())
            }
            Credentials::AzureAd { azure, .. } => azure.describe(),
            Credentials::Gcp { gcp, .. } => format!(
                "a Google ID token from the metadata server {} (audience {})",
                gcp.host, gcp.audience
            ),
            Credentials::Cert {
                cert_file,
                key_file,
                ..
            } => format!(
                "the certificate {} and its key {} (challenge signed locally)",
                cert_file.display(),
                key_file.display()
            ),
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
        let access_type = match access_type {
            Some(t) => t,
            None => infer(env)?,
        };

        let access_id = match access_id {
            Some(id) => Some(id),
            None => env.get(AKEYLESS_ACCESS_ID)?,
        };
        let Some(access_id) = access_id.map(str::trim).filter(|id| !id.is_empty()) else {
            // Like the Akeyless CLI, use the token an earlier `akeyless auth` kept.
            if let Some(profile) = Profile::locate(env, None)? {
                if let Some((_, token, _)) = profile.kept_token() {
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

        Ok(match access_type {
            AccessType::AccessKey => {
                let Some(key) = env.get(AKEYLESS_ACCESS_KEY)? else {
                    return Err(Error::usage(format!(
                        "{AKEYLESS_ACCESS_TYPE} is access_key but {AKEYLESS_ACCESS_KEY} is not set"
                    ))
                    .hint(format!(
                        "store the access key as a masked CI/CD variable named {AKEYLESS_ACCESS_KEY}, or use jwt"
                    )));
                };
                Credentials::AccessKey {
                    access_id,
                    access_key: Secret::new(key),
                }
            }
            AccessType::Jwt => match jwt::find(env)? {
                Some(source) => Credentials::Jwt { access_id, source },
                None => {
                    return Err(Error::usage("no ID token found for JWT authentication")
                        .detail(
                            "looked in AKEYLESS_JWT_VAR, AKEYLESS_JWT, CI_JOB_JWT_V2, CI_JOB_JWT, BITBUCKET_STEP_OIDC_TOKEN, CIRCLE_OIDC_TOKEN_V2, CIRCLE_OIDC_TOKEN, and for GitHub Actions, Buildkite and Azure Pipelines",
                        )
                        .hint(jwt::ID_TOKENS_HINT));
                }
            },
            AccessType::K8s => {
                let config_name = env.get(AKEYLESS_K8S_AUTH_CONFIG_NAME)?.ok_or_else(|| {
                    Error::usage(format!(
                        "{AKEYLESS_ACCESS_TYPE} is k8s but {AKEYLESS_K8S_AUTH_CONFIG_NAME} is not set"
                    ))
                    .hint("set it to the name of the gateway's Kubernetes auth config (akeyless gateway-list-k8s-auth-config)")
                })?;
                Credentials::K8s {
                    access_id,
                    token_file: PathBuf::from(
                        env.get(AKEYLESS_K8S_TOKEN_FILE)?.unwrap_or(K8S_TOKEN_FILE),
                    ),
                    config_name: config_name.trim().to_owned(),
                }
            }
            AccessType::AwsIam => Credentials::AwsIam {
                access_id,
                aws: Aws::from_env(env)?,
            },
            AccessType::AzureAd => Credentials::AzureAd {
                access_id,
                azure: Azure::from_env(env)?,
            },
            AccessType::Gcp => Credentials::Gcp {
                access_id,
                gcp: Gcp::from_env(env)?,
            },
            AccessType::Cert => {
                let file = |name: &str| -> Result<PathBuf> {
                    env.get(name)?.map(|p| PathBuf::from(p.trim())).ok_or_else(|| {
                        Error::usage(format!("{AKEYLESS_ACCESS_TYPE} is cert but {name} is not set"))
                            .hint(format!(
                                "set {AKEYLESS_CERT_FILE} to the client certificate (PEM) and {AKEYLESS_KEY_FILE} to its private key (PEM)"
                            ))
                    })
                };
                Credentials::Cert {
                    access_id,
                    cert_file: file(AKEYLESS_CERT_FILE)?,
                    key_file: file(AKEYLESS_KEY_FILE)?,
                }
            }
        })
    }
}

/// The access type when none is given: what the environment holds says it where only one
/// reading is possible. An access key wins (it can only have been set on purpose), then a
/// certificate, a Kubernetes auth config, and an ID token from any CI. A cloud identity is
/// never guessed: every runner on a cloud VM has one.
fn infer(env: &Env) -> Result<AccessType> {
    if env.get(AKEYLESS_ACCESS_KEY)?.is_some() {
        return Ok(AccessType::AccessKey);
    }
    if env.get(AKEYLESS_CERT_FILE)?.is_some() || env.get(AKEYLESS_KEY_FILE)?.is_some() {
        return Ok(AccessType::Cert);
    }
    if env.get(AKEYLESS_K8S_AUTH_CONFIG_NAME)?.is_some() {
        return Ok(AccessType::K8s);
    }
    // JWT is the default: with no ID token either, its error says how to get one.
    Ok(AccessType::Jwt)
}
