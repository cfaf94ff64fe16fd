//! Settings: flags and the environment, parsed once into typed values before any network
//! call.
//!
//! Every variable is declared in `vars` and read here or by the module that owns its
//! concept (references in `resolve`, the env file's place in `envfile`), always through
//! the `Env` snapshot. A missing or contradictory setting is a usage error (exit 2) that
//! names the variable and shows the `.gitlab-ci.yml` lines that would provide it.

pub mod cloud;
mod credentials;
mod env;
pub mod jwt;
pub mod profile;
pub mod vars;

use std::path::PathBuf;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

pub use credentials::{AccessType, Credentials};
pub use env::{Block as EnvBlock, Env, valid_name};

use crate::client::{Anchors, Api, Endpoints, Gateway, Options};
use crate::error::{Error, Result};
use crate::files;
use crate::secret::Secret;
use vars::{
    AKEYLESS_API_GW_URL, AKEYLESS_CA_CERT, AKEYLESS_GATEWAY_URL, AKEYLESS_TIMEOUT, SSL_CERT_FILE,
};

/// The default overall deadline: long enough for retries through a rate limit, short
/// enough that a broken gateway fails the job in under a minute.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Settings given as flags, which win over the environment; parsed, so that every
/// command (and the `akeyless` emulation) hands over typed values, never text.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub gateway: Option<Gateway>,
    pub access_id: Option<String>,
    pub access_type: Option<AccessType>,
}

impl Overrides {
    /// The global flags of `akl`, checked.
    pub fn parse(
        gateway_url: Option<&str>,
        access_id: Option<&str>,
        access_type: Option<&str>,
    ) -> Result<Overrides> {
        Ok(Overrides {
            gateway: gateway_url
                .map(|url| Gateway::parse_v2(url).map_err(|e| bad_url("--gateway-url", url, e)))
                .transpose()?,
            access_id: access_id.map(str::to_owned),
            access_type: access_type
                .map(|t| AccessType::parse(vars::AKEYLESS_ACCESS_TYPE, t))
                .transpose()?,
        })
    }
}

/// How to reach and authenticate to Akeyless.
#[derive(Debug, Clone)]
pub struct Settings {
    pub gateway: Gateway,
    /// Where the gateway came from: a variable, the flag, or the default.
    pub gateway_source: &'static str,
    pub credentials: Credentials,
    pub ca_files: Vec<CaFile>,
    pub timeout: Duration,
    /// Sent as `akeylessclienttype` (`AKEYLESS_CLIENT_TYPE`, else `akl`).
    pub client_type: String,
    /// The passwords in the proxy variables: scrubbed from messages like credentials.
    pub proxy_secrets: Vec<Secret>,
    /// Whether any proxy variable is set.
    pub proxied: bool,
}

/// Extra CA certificates to trust, and the variable that gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaFile {
    pub var: &'static str,
    pub source: CaSource,
}

/// A CA variable holds a file's path, or the PEM text itself: a GitLab file-type variable
/// is a path, but the runner writes that file from its job scripts, so it may not exist
/// yet when the image's entrypoint starts; a plain variable holding the PEM always works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaSource {
    Path(PathBuf),
    Pem(String),
}

impl std::fmt::Display for CaFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            CaSource::Path(path) => write!(f, "{}={}", self.var, path.display()),
            CaSource::Pem(_) => write!(f, "{} (PEM text)", self.var),
        }
    }
}

impl Settings {
    pub fn from_env(env: &Env, overrides: &Overrides) -> Result<Self> {
        let (gateway, gateway_source) = gateway(env, overrides)?;
        Ok(Settings {
            gateway,
            gateway_source,
            credentials: Credentials::from_env(
                env,
                overrides.access_id.as_deref(),
                overrides.access_type,
            )?,
            ca_files: ca_files(env)?,
            timeout: deadline(env)?,
            client_type: client_type(env)?,
            proxy_secrets: proxy_secrets(env),
            proxied: PROXY_VARS.iter().any(|var| env.raw(var).is_some()),
        })
    }

    /// A client for these settings: the CA files read, the deadline started, the
    /// credentials on its scrub list.
    pub fn client(&self) -> Result<Api> {
        let anchors = self
            .ca_files
            .iter()
            .map(CaFile::load)
            .collect::<Result<Vec<_>>>()?;
        if let Some(warning) = self.plain_http_warning() {
            crate::error::warn(warning);
        }
        let mut scrub = self.credentials.secrets();
        scrub.extend(self.proxy_secrets.iter().cloned());
        Api::new(Options {
            gateway: self.gateway.clone(),
            anchors,
            timeout: self.timeout,
            scrub,
            client_type: self.client_type.clone(),
            proxied: self.proxied,
        })
    }

    /// The HTTP clients for identity services (CI token endpoints, metadata services),
    /// trusting what the API client trusts, within the run's deadline.
    pub fn endpoints(&self) -> Result<Endpoints> {
        let anchors = self
            .ca_files
            .iter()
            .map(CaFile::load)
            .collect::<Result<Vec<_>>>()?;
        Endpoints::new(&anchors, self.timeout)
    }

    /// Said on every run against a plain http gateway on another host: many private
    /// gateways listen that way, and it works, but nothing is protected on the wire.
    pub fn plain_http_warning(&self) -> Option<String> {
        self.gateway.is_plain_http_remote().then(|| {
            format!(
                "{} {} is plain http: the credentials, the token and every secret cross the network unencrypted; use the gateway's https address",
                self.gateway_source,
                self.gateway.as_str()
            )
        })
    }
}

impl CaFile {
    /// The certificates it holds; a file that cannot be read, or text that holds no PEM
    /// certificate, is a usage error naming the variable.
    fn load(&self) -> Result<Anchors> {
        let var = self.var;
        let (what, pem) = match &self.source {
            CaSource::Pem(text) => (format!("{var} holds PEM text"), text.as_bytes().to_vec()),
            CaSource::Path(path) => {
                let what = format!("{var} names {}", path.display());
                // A CA bundle is public, but a FIFO or a device would hang or flood the run.
                let pem = files::read_regular(path, 4 << 20).map_err(|e| {
                    let err = Error::usage(format!("{what}, which cannot be read ({e})"));
                    if e.kind() == std::io::ErrorKind::NotFound {
                        err.hint(format!(
                            "a GitLab file-type variable's file may not exist yet when the image starts: make {var} a plain variable holding the PEM text itself (-----BEGIN CERTIFICATE-----…), or point it at a file that exists"
                        ))
                    } else {
                        err.hint(format!("point {var} at a readable PEM file, or put the PEM text itself in it"))
                    }
                })?;
                (what, pem)
            }
        };
        let bad = |why: String| {
            Error::usage(format!("{what}, which {why}")).hint(format!(
                "give {var} the PEM text of the CA certificates, or a PEM file's path, or unset it"
            ))
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| bad(format!("is not valid PEM ({e})")))?;
        if certs.is_empty() {
            return Err(bad("holds no PEM certificate".to_owned()));
        }
        Ok(Anchors {
            source: what,
            certs,
        })
    }
}

fn bad_url(var: &str, value: &str, why: String) -> Error {
    Error::usage(format!("{var} is not a usable gateway URL: {why}"))
        .detail(format!("{var}={value}"))
        .hint("give the gateway's V2 API base, e.g. https://api.akeyless.io or https://gw.example.com:8000/api/v2")
}

/// The gateway, and where it came from.
fn gateway(env: &Env, overrides: &Overrides) -> Result<(Gateway, &'static str)> {
    if let Some(gateway) = &overrides.gateway {
        return Ok((gateway.clone(), "--gateway-url"));
    }
    let v2 = match env.get(AKEYLESS_GATEWAY_URL)? {
        Some(url) => {
            Some(Gateway::parse_v2(url).map_err(|e| bad_url(AKEYLESS_GATEWAY_URL, url, e))?)
        }
        None => None,
    };
    let v1 = match env.get(AKEYLESS_API_GW_URL)? {
        Some(url) => Some(
            Gateway::parse_v1_compatible(url).map_err(|e| bad_url(AKEYLESS_API_GW_URL, url, e))?,
        ),
        None => None,
    };
    match (v2, v1) {
        (Some(v2), Some(v1)) if v2 != v1 => Err(Error::usage(format!(
            "{AKEYLESS_GATEWAY_URL} and {AKEYLESS_API_GW_URL} point at different gateways"
        ))
        .detail(format!("{AKEYLESS_GATEWAY_URL} → {}", v2.as_str()))
        .detail(format!(
            "{AKEYLESS_API_GW_URL} → {} (mapped to V2)",
            v1.as_str()
        ))
        .hint(format!(
            "unset one of them; {AKEYLESS_GATEWAY_URL} is the one akl documents"
        ))),
        (Some(v2), _) => Ok((v2, AKEYLESS_GATEWAY_URL)),
        (None, Some(v1)) => Ok((v1, AKEYLESS_API_GW_URL)),
        (None, None) => Ok((Gateway::default(), "the default")),
    }
}

fn ca_files(env: &Env) -> Result<Vec<CaFile>> {
    let mut files = Vec::new();
    for var in [SSL_CERT_FILE, AKEYLESS_CA_CERT] {
        if let Some(value) = env.get(var)? {
            let source = match value.trim_start().starts_with("-----BEGIN") {
                true => CaSource::Pem(value.to_owned()),
                false => CaSource::Path(PathBuf::from(value)),
            };
            files.push(CaFile { var, source });
        }
    }
    Ok(files)
}

/// The proxy variables reqwest honours, in both cases.
pub const PROXY_VARS: [&str; 6] = [
    vars::HTTPS_PROXY,
    vars::https_proxy,
    vars::HTTP_PROXY,
    vars::http_proxy,
    vars::ALL_PROXY,
    vars::all_proxy,
];

/// The user names and passwords in the proxy variables (`http://user:pw@proxy:3128`).
pub fn proxy_secrets(env: &Env) -> Vec<Secret> {
    let mut found = Vec::new();
    for var in PROXY_VARS {
        let Ok(Some(value)) = env.get(var) else {
            continue;
        };
        if let Ok(url) = reqwest::Url::parse(value.trim()) {
            if let Some(password) = url.password().filter(|p| !p.is_empty()) {
                found.push(Secret::new(password));
                found.push(Secret::new(format!("{}:{password}", url.username())));
            }
        }
    }
    found
}

fn client_type(env: &Env) -> Result<String> {
    let Some(raw) = env.get(vars::AKEYLESS_CLIENT_TYPE)? else {
        return Ok(crate::client::CLIENT_TYPE.to_owned());
    };
    let value = raw.trim();
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
    {
        return Err(Error::usage(format!(
            "{}={raw} is not a client type",
            vars::AKEYLESS_CLIENT_TYPE
        ))
        .hint("use a name such as cli, sdk or akl (letters, digits, - _ . /)"));
    }
    Ok(value.to_owned())
}

/// The run's overall deadline: `AKEYLESS_TIMEOUT`, else the default.
pub fn deadline(env: &Env) -> Result<Duration> {
    let Some(raw) = env.get(AKEYLESS_TIMEOUT)? else {
        return Ok(DEFAULT_TIMEOUT);
    };
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            Error::usage(format!(
                "{AKEYLESS_TIMEOUT}={raw} is not a number of seconds"
            ))
            .hint(format!(
                "set {AKEYLESS_TIMEOUT} to a positive number of seconds, e.g. 30"
            ))
        })
}

/// The directory for temporary files: `$TMPDIR` if it is an absolute path, else `/tmp`.
pub fn temp_dir(env: &Env) -> Result<PathBuf> {
    let tmp = env.get(vars::TMPDIR)?.filter(|t| t.starts_with('/'));
    Ok(PathBuf::from(tmp.unwrap_or("/tmp")))
}

/// Parses a boolean setting: true/false, 1/0, yes/no, on/off, in any case; unset is false.
pub fn flag(env: &Env, name: &str) -> Result<bool> {
    flag_or(env, name, false)
}

/// `flag`, with what unset means.
pub fn flag_or(env: &Env, name: &str, unset: bool) -> Result<bool> {
    let Some(raw) = env.get(name)? else {
        return Ok(unset);
    };
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(Error::usage(format!("{name}={raw} is not a boolean"))
            .hint(format!("set {name} to true or false"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vars::*;

    const JWT_VALUE: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn connect(pairs: &[(&str, &str)]) -> Result<Settings> {
        Settings::from_env(&env(pairs), &Overrides::default())
    }

    fn message(result: Result<Settings>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn jwt_from_akeyless_jwt_by_default() {
        let c = connect(&[(AKEYLESS_ACCESS_ID, "p-abc"), (AKEYLESS_JWT, JWT_VALUE)]).unwrap();
        match c.credentials {
            Credentials::Jwt {
                access_id,
                source: jwt::JwtSource::Var { jwt, var },
            } => {
                assert_eq!(access_id, "p-abc");
                assert_eq!(jwt.expose(), JWT_VALUE);
                assert_eq!(var, AKEYLESS_JWT);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.gateway.as_str(), "https://api.akeyless.io");
        assert_eq!(c.timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn jwt_fallbacks_in_order_and_jwt_var_is_strict() {
        let c = connect(&[
            (AKEYLESS_ACCESS_ID, "p-a"),
            ("CI_JOB_JWT", JWT_VALUE),
            ("CI_JOB_JWT_V2", JWT_VALUE),
        ]);
        assert!(
            matches!(c.unwrap().credentials, Credentials::Jwt { source: jwt::JwtSource::Var { var, .. }, .. } if var == "CI_JOB_JWT_V2")
        );

        let c = connect(&[
            (AKEYLESS_ACCESS_ID, "p-a"),
            (AKEYLESS_JWT_VAR, "FIRST_ID_TOKEN"),
            ("FIRST_ID_TOKEN", JWT_VALUE),
        ]);
        assert!(
            matches!(c.unwrap().credentials, Credentials::Jwt { source: jwt::JwtSource::Var { var, .. }, .. } if var == "FIRST_ID_TOKEN")
        );

        // Naming a variable that is not there must not silently fall back to another token.
        let msg = message(connect(&[
            (AKEYLESS_ACCESS_ID, "p-a"),
            (AKEYLESS_JWT_VAR, "NOPE"),
            (AKEYLESS_JWT, JWT_VALUE),
        ]));
        assert!(
            msg.contains("AKEYLESS_JWT_VAR names NOPE, but NOPE is not set"),
            "{msg}"
        );
    }

    #[test]
    fn missing_jwt_shows_the_id_tokens_block() {
        let msg = message(connect(&[(AKEYLESS_ACCESS_ID, "p-a")]));
        assert!(msg.contains("no ID token found"), "{msg}");
        assert!(
            msg.contains("id_tokens:") && msg.contains("AKEYLESS_JWT:"),
            "{msg}"
        );
    }

    #[test]
    fn malformed_jwt_is_named_but_never_shown() {
        let msg = message(connect(&[
            (AKEYLESS_ACCESS_ID, "p-a"),
            (AKEYLESS_JWT, "not-a-jwt-canary"),
        ]));
        assert!(msg.contains("AKEYLESS_JWT does not hold a JWT"), "{msg}");
        assert!(!msg.contains("canary"), "{msg}");
        let msg = message(connect(&[
            (AKEYLESS_ACCESS_ID, "p-a"),
            (AKEYLESS_JWT, "/builds/tmp/AKEYLESS_JWT"),
        ]));
        assert!(msg.contains("looks like a file path"), "{msg}");
    }

    #[test]
    fn missing_access_id_says_what_to_set() {
        let msg = message(connect(&[(AKEYLESS_JWT, JWT_VALUE)]));
        assert!(msg.contains("AKEYLESS_ACCESS_ID is not set"), "{msg}");
        assert!(msg.contains("AKEYLESS_ACCESS_ID: p-"), "{msg}");
    }

    #[test]
    fn access_key_is_chosen_when_set_or_asked_for() {
        let c = connect(&[
            (AKEYLESS_ACCESS_ID, "p-a"),
            (AKEYLESS_ACCESS_KEY, "k"),
            (AKEYLESS_JWT, JWT_VALUE),
        ])
        .unwrap();
        assert!(matches!(c.credentials, Credentials::AccessKey { .. }));
        let c = connect(&[
            (AKEYLESS_ACCESS_ID, "p-a"),
            (AKEYLESS_ACCESS_KEY, "k"),
            (AKEYLESS_ACCESS_TYPE, "jwt"),
            (AKEYLESS_JWT, JWT_VALUE),
        ]);
        assert!(matches!(c.unwrap().credentials, Credentials::Jwt { .. }));
        let msg = message(connect(&[
            (AKEYLESS_ACCESS_ID, "p-a"),
            (AKEYLESS_ACCESS_TYPE, "access-key"),
        ]));
        assert!(msg.contains("AKEYLESS_ACCESS_KEY is not set"), "{msg}");
        let msg = message(connect(&[
            (AKEYLESS_ACCESS_ID, "p-a"),
            (AKEYLESS_ACCESS_TYPE, "ldap"),
        ]));
        assert!(
            msg.contains("AKEYLESS_ACCESS_TYPE=ldap is not supported"),
            "{msg}"
        );
        assert!(
            msg.contains("jwt, access_key, k8s, aws_iam, azure_ad, gcp, cert"),
            "{msg}"
        );
    }

    #[test]
    fn ready_token_skips_everything_else() {
        let c = connect(&[(AKEYLESS_TOKEN, "t-1234")]).unwrap();
        assert!(matches!(c.credentials, Credentials::Token { .. }));
        let msg = message(connect(&[(AKEYLESS_TOKEN, "x-1234")]));
        assert!(
            msg.contains("AKEYLESS_TOKEN is not an Akeyless token"),
            "{msg}"
        );
        assert!(!msg.contains("x-1234"), "{msg}");
    }

    #[test]
    fn gateway_variables_and_their_conflicts() {
        let base = [(AKEYLESS_TOKEN, "t-1")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            connect(&pairs)
        };
        let c = with(&[(AKEYLESS_API_GW_URL, "https://gw:8000/api/v1")]).unwrap();
        assert_eq!(c.gateway.as_str(), "https://gw:8000/api/v2");
        // Both set, agreeing after mapping: fine.
        let c = with(&[
            (AKEYLESS_API_GW_URL, "https://gw:8000/api/v1"),
            (AKEYLESS_GATEWAY_URL, "https://gw:8000/api/v2"),
        ]);
        assert_eq!(c.unwrap().gateway.as_str(), "https://gw:8000/api/v2");
        let msg = message(with(&[
            (AKEYLESS_API_GW_URL, "https://a:8000/api/v1"),
            (AKEYLESS_GATEWAY_URL, "https://b"),
        ]));
        assert!(msg.contains("point at different gateways"), "{msg}");
        let msg = message(with(&[(AKEYLESS_GATEWAY_URL, "gw:8000")]));
        assert!(
            msg.contains("AKEYLESS_GATEWAY_URL is not a usable gateway URL"),
            "{msg}"
        );
    }

    #[test]
    fn timeout_and_flags() {
        let c = connect(&[(AKEYLESS_TOKEN, "t-1"), (AKEYLESS_TIMEOUT, "2.5")]).unwrap();
        assert_eq!(c.timeout, Duration::from_millis(2500));
        for bad in ["0", "-1", "soon", "NaN", "inf"] {
            let msg = message(connect(&[(AKEYLESS_TOKEN, "t-1"), (AKEYLESS_TIMEOUT, bad)]));
            assert!(msg.contains("AKEYLESS_TIMEOUT"), "{msg}");
        }
        assert!(flag(&env(&[("F", "TRUE")]), "F").unwrap());
        assert!(!flag(&env(&[("F", "off")]), "F").unwrap());
        assert!(!flag(&env(&[]), "F").unwrap());
        assert!(flag(&env(&[("F", "maybe")]), "F").is_err());
    }

    #[test]
    fn ca_files_in_order() {
        let c = connect(&[
            (AKEYLESS_TOKEN, "t-1"),
            (AKEYLESS_CA_CERT, "/a.pem"),
            (SSL_CERT_FILE, "/b.pem"),
        ])
        .unwrap();
        let vars: Vec<_> = c.ca_files.iter().map(|f| f.var).collect();
        assert_eq!(vars, [SSL_CERT_FILE, AKEYLESS_CA_CERT]);
    }

    #[test]
    fn unreadable_or_empty_ca_files_name_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let ca = |var: &'static str, path: PathBuf| {
            CaFile {
                var,
                source: CaSource::Path(path),
            }
            .load()
        };
        let err = ca(AKEYLESS_CA_CERT, dir.path().join("missing.pem"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("AKEYLESS_CA_CERT names") && err.contains("cannot be read"),
            "{err}"
        );

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificates here\n").unwrap();
        let err = ca(SSL_CERT_FILE, empty).unwrap_err().to_string();
        assert!(
            err.contains("SSL_CERT_FILE names") && err.contains("no PEM certificate"),
            "{err}"
        );
    }
}
