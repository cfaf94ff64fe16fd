//! Turns flags and the environment into a validated configuration before any network call.
//!
//! Every setting of `design.md` is read here and nowhere else. A missing or contradictory
//! setting is a usage error (exit 2) that names the variable and shows the
//! `.gitlab-ci.yml` lines that would provide it.

use std::path::PathBuf;
use std::time::Duration;

use crate::auth::Token;
use crate::env::Env;
use crate::envfile;
use crate::error::{Error, Result};
use crate::gateway::Gateway;
use crate::reference::{self, Reference};
use crate::resolve::Wanted;
use crate::secret::Secret;

pub const GATEWAY_URL: &str = "AKEYLESS_GATEWAY_URL";
pub const API_GW_URL: &str = "AKEYLESS_API_GW_URL";
pub const ACCESS_ID: &str = "AKEYLESS_ACCESS_ID";
pub const ACCESS_TYPE: &str = "AKEYLESS_ACCESS_TYPE";
pub const ACCESS_KEY: &str = "AKEYLESS_ACCESS_KEY";
pub const JWT: &str = "AKEYLESS_JWT";
pub const JWT_VAR: &str = "AKEYLESS_JWT_VAR";
pub const TOKEN: &str = "AKEYLESS_TOKEN";
pub const CA_CERT: &str = "AKEYLESS_CA_CERT";
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";
pub const TIMEOUT: &str = "AKEYLESS_TIMEOUT";
pub const ENV_FILE: &str = "AKEYLESS_ENV_FILE";
pub const ALLOW_MISSING: &str = "AKEYLESS_ALLOW_MISSING";

/// Where the job's ID token is looked for when `AKEYLESS_JWT_VAR` does not say: our own
/// name first, then the variables GitLab set before 17.0.
const JWT_FALLBACKS: [&str; 3] = [JWT, "CI_JOB_JWT_V2", "CI_JOB_JWT"];

/// The default overall deadline: long enough for retries through a rate limit, short
/// enough that a broken gateway fails the job in under a minute.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

const ID_TOKENS_HINT: &str = "declare an ID token for the job in .gitlab-ci.yml:
  my-job:
    id_tokens:
      AKEYLESS_JWT:
        aud: https://akeyless.example.com   # the audience bound to the Akeyless auth method";

const ACCESS_ID_HINT: &str =
    "set the access id of the Akeyless auth method, e.g. in .gitlab-ci.yml:
  variables:
    AKEYLESS_ACCESS_ID: p-xxxxxxxxxxxx";

/// Settings given as flags, which win over the environment.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub gateway_url: Option<String>,
    pub access_id: Option<String>,
    pub access_type: Option<String>,
}

/// How to reach and authenticate to Akeyless.
#[derive(Debug, Clone)]
pub struct Connection {
    pub gateway: Gateway,
    pub credentials: Credentials,
    pub ca_files: Vec<CaFile>,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub enum Credentials {
    /// A ready `t-…` or `u-…` token: no authentication call.
    Token(Token),
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

impl Credentials {
    /// Every credential string, so that error text from the server can be scrubbed of them.
    pub fn secrets(&self) -> Vec<&Secret> {
        match self {
            Credentials::Token(token) => vec![token.secret()],
            Credentials::AccessKey { access_key, .. } => vec![access_key],
            Credentials::Jwt { jwt, .. } => vec![jwt],
        }
    }
}

/// An extra CA bundle to trust, and the variable that named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaFile {
    pub var: &'static str,
    pub path: PathBuf,
}

impl Connection {
    pub fn from_env(env: &Env, overrides: &Overrides) -> Result<Self> {
        Ok(Connection {
            gateway: gateway(env, overrides)?,
            credentials: credentials(env, overrides)?,
            ca_files: ca_files(env)?,
            timeout: timeout(env)?,
        })
    }
}

fn gateway(env: &Env, overrides: &Overrides) -> Result<Gateway> {
    let bad = |var: &str, value: &str, why: String| {
        Error::usage(format!("{var} is not a usable gateway URL: {why}"))
            .detail(format!("{var}={value}"))
            .hint("give the gateway's V2 API base, e.g. https://api.akeyless.io or https://gw.example.com:8000/api/v2")
    };
    if let Some(url) = &overrides.gateway_url {
        return Gateway::parse_v2(url).map_err(|e| bad("--gateway-url", url, e));
    }
    let v2 = match env.get(GATEWAY_URL)? {
        Some(url) => Some(Gateway::parse_v2(url).map_err(|e| bad(GATEWAY_URL, url, e))?),
        None => None,
    };
    let v1 = match env.get(API_GW_URL)? {
        Some(url) => Some(Gateway::parse_v1_compatible(url).map_err(|e| bad(API_GW_URL, url, e))?),
        None => None,
    };
    match (v2, v1) {
        (Some(v2), Some(v1)) if v2 != v1 => Err(Error::usage(format!(
            "{GATEWAY_URL} and {API_GW_URL} point at different gateways"
        ))
        .detail(format!("{GATEWAY_URL} → {}", v2.as_str()))
        .detail(format!("{API_GW_URL} → {} (mapped to V2)", v1.as_str()))
        .hint(format!(
            "unset one of them; {GATEWAY_URL} is the one akl documents"
        ))),
        (Some(v2), _) => Ok(v2),
        (None, Some(v1)) => Ok(v1),
        (None, None) => Ok(Gateway::default()),
    }
}

fn credentials(env: &Env, overrides: &Overrides) -> Result<Credentials> {
    if let Some(raw) = env.get(TOKEN)? {
        let token = Token::parse(raw).map_err(|why| {
            Error::usage(format!("{TOKEN} is not an Akeyless token: {why}")).hint(format!(
                "unset {TOKEN} to authenticate with {ACCESS_ID} instead"
            ))
        })?;
        return Ok(Credentials::Token(token));
    }

    let access_type = match overrides.access_type.as_deref() {
        Some(t) => Some(t),
        None => env.get(ACCESS_TYPE)?,
    };
    let access_type =
        match access_type.map(|t| t.trim().to_ascii_lowercase().replace('-', "_")) {
            None => None,
            Some(t) if t == "jwt" || t == "access_key" => Some(t),
            Some(other) => {
                return Err(Error::usage(format!("{ACCESS_TYPE}={other} is not supported by akl"))
                .hint(format!(
                    "use jwt (GitLab ID tokens) or access_key, or pass a ready token in {TOKEN}"
                )));
            }
        };
    let access_key = env.get(ACCESS_KEY)?;
    // Without an explicit type, an access key wins: it can only have been set on purpose,
    // while a JWT variable may be one GitLab adds to every job.
    let use_access_key = match access_type.as_deref() {
        Some(t) => t == "access_key",
        None => access_key.is_some(),
    };

    let access_id = match &overrides.access_id {
        Some(id) => Some(id.as_str()),
        None => env.get(ACCESS_ID)?,
    };
    let access_id = access_id.map(str::trim);
    let Some(access_id) = access_id.filter(|id| !id.is_empty()) else {
        return Err(Error::usage(format!("{ACCESS_ID} is not set"))
            .detail("akl needs the access id of the auth method to log in with")
            .hint(ACCESS_ID_HINT));
    };
    if access_id.chars().any(char::is_whitespace) {
        return Err(Error::usage(format!("{ACCESS_ID} contains whitespace"))
            .hint("copy the access id (p-…) again from the Akeyless console"));
    }
    let access_id = access_id.to_owned();

    if use_access_key {
        let Some(key) = access_key else {
            return Err(Error::usage(format!(
                "{ACCESS_TYPE} is access_key but {ACCESS_KEY} is not set"
            ))
            .hint(format!(
                "store the access key as a masked CI/CD variable named {ACCESS_KEY}, or use jwt"
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

/// The job's ID token: from the variable `AKEYLESS_JWT_VAR` names, else the first of
/// `AKEYLESS_JWT`, `CI_JOB_JWT_V2`, `CI_JOB_JWT` that is set.
fn find_jwt(env: &Env) -> Result<(String, Secret)> {
    let (var, value) = match env.get(JWT_VAR)? {
        Some(name) => {
            let name = name.trim();
            let value = env.get(name)?.ok_or_else(|| {
                Error::usage(format!("{JWT_VAR} names {name}, but {name} is not set"))
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

fn ca_files(env: &Env) -> Result<Vec<CaFile>> {
    let mut files = Vec::new();
    for var in [SSL_CERT_FILE, CA_CERT] {
        if let Some(path) = env.get(var)? {
            files.push(CaFile {
                var,
                path: PathBuf::from(path),
            });
        }
    }
    Ok(files)
}

fn timeout(env: &Env) -> Result<Duration> {
    let Some(raw) = env.get(TIMEOUT)? else {
        return Ok(DEFAULT_TIMEOUT);
    };
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            Error::usage(format!("{TIMEOUT}={raw} is not a number of seconds")).hint(format!(
                "set {TIMEOUT} to a positive number of seconds, e.g. 30"
            ))
        })
}

/// Every variable whose value is an `akeyless:` reference, parsed. All malformed
/// references are reported at once, each with its variable.
pub fn references(env: &Env) -> Result<Vec<Wanted>> {
    let mut wanted = Vec::new();
    let mut bad = Vec::new();
    for (var, raw) in env.iter() {
        let value = match raw.to_str() {
            Some(v) if reference::is_reference(v) => v,
            Some(_) => continue,
            None if raw
                .as_encoded_bytes()
                .starts_with(reference::PREFIX.as_bytes()) =>
            {
                bad.push(format!("{var}: the reference is not valid UTF-8"));
                continue;
            }
            None => continue,
        };
        if !envfile::valid_name(var) {
            bad.push(format!(
                "{var}: this name cannot be exported from a shell; use letters, digits and _"
            ));
            continue;
        }
        match reference::parse(value) {
            Ok(reference) => wanted.push(Wanted {
                var: var.to_owned(),
                reference,
            }),
            Err(why) => bad.push(format!("{var}: {why}")),
        }
    }
    if bad.is_empty() {
        return Ok(wanted);
    }
    let mut err = Error::usage(match bad.len() {
        1 => "a variable holds a malformed akeyless: reference".to_owned(),
        n => format!("{n} variables hold malformed akeyless: references"),
    });
    for line in bad {
        err = err.detail(line);
    }
    Err(err.hint("references look like akeyless://path/to/secret, akeyless://path#field or akeyless:/path|version=2|jq=.field"))
}

/// A reference given on the command line: `akeyless://…` or a plain item path.
pub fn reference_arg(text: &str) -> Result<Reference> {
    let parsed = if reference::is_reference(text) {
        reference::parse(text)
    } else {
        Reference::item(text)
    };
    parsed.map_err(|why| {
        Error::usage(format!("`{text}` is not a usable reference: {why}"))
            .hint("give an item path such as /ci/db-password, or akeyless://ci/db-password#field")
    })
}

/// Where `akl env` should write, before checking that it can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvFile {
    /// `--output` or `AKEYLESS_ENV_FILE`: exactly there, or fail.
    Given(PathBuf),
    /// `$HOME/.akeyless/env`; if HOME is not writable, a private directory under TMPDIR.
    Home(PathBuf),
    /// HOME is unset: the private directory under TMPDIR.
    NoHome,
}

/// Where `akl env` writes: `--output`, else `AKEYLESS_ENV_FILE`, else `$HOME/.akeyless/env`.
pub fn env_file(env: &Env, flag: Option<&std::path::Path>) -> Result<EnvFile> {
    if let Some(path) = flag {
        return Ok(EnvFile::Given(path.to_owned()));
    }
    if let Some(path) = env.get(ENV_FILE)? {
        return Ok(EnvFile::Given(PathBuf::from(path)));
    }
    Ok(match env.get("HOME")? {
        Some(home) => EnvFile::Home(PathBuf::from(home).join(".akeyless/env")),
        None => EnvFile::NoHome,
    })
}

/// The directory for files when HOME cannot hold them: `$TMPDIR` or `/tmp`.
pub fn temp_dir(env: &Env) -> Result<PathBuf> {
    Ok(PathBuf::from(env.get("TMPDIR")?.unwrap_or("/tmp")))
}

/// What `akl env --reuse` compares: the references and the settings that decide what they
/// resolve to. Nothing here is secret.
pub fn fingerprint(env: &Env, wanted: &[Wanted]) -> Result<String> {
    let mut text = String::from("akl-refs v1\n");
    for name in [GATEWAY_URL, API_GW_URL, ACCESS_ID, "CI_JOB_ID"] {
        text.push_str(&format!("{name}={}\n", env.get(name)?.unwrap_or_default()));
    }
    for w in wanted {
        text.push_str(&format!("{}={}\n", w.var, w.reference));
    }
    Ok(text)
}

/// Parses a boolean setting: true/false, 1/0, yes/no, on/off, in any case.
pub fn flag(env: &Env, name: &str) -> Result<bool> {
    let Some(raw) = env.get(name)? else {
        return Ok(false);
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

    const JWT_VALUE: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn connect(pairs: &[(&str, &str)]) -> Result<Connection> {
        Connection::from_env(&env(pairs), &Overrides::default())
    }

    fn message(result: Result<Connection>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn jwt_from_akeyless_jwt_by_default() {
        let c = connect(&[(ACCESS_ID, "p-abc"), (JWT, JWT_VALUE)]).unwrap();
        match c.credentials {
            Credentials::Jwt {
                access_id,
                jwt,
                var,
            } => {
                assert_eq!(access_id, "p-abc");
                assert_eq!(jwt.expose(), JWT_VALUE);
                assert_eq!(var, JWT);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.gateway.as_str(), "https://api.akeyless.io");
        assert_eq!(c.timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn jwt_fallbacks_in_order_and_jwt_var_is_strict() {
        let c = connect(&[
            (ACCESS_ID, "p-a"),
            ("CI_JOB_JWT", JWT_VALUE),
            ("CI_JOB_JWT_V2", JWT_VALUE),
        ]);
        assert!(
            matches!(c.unwrap().credentials, Credentials::Jwt { var, .. } if var == "CI_JOB_JWT_V2")
        );

        let c = connect(&[
            (ACCESS_ID, "p-a"),
            (JWT_VAR, "FIRST_ID_TOKEN"),
            ("FIRST_ID_TOKEN", JWT_VALUE),
        ]);
        assert!(
            matches!(c.unwrap().credentials, Credentials::Jwt { var, .. } if var == "FIRST_ID_TOKEN")
        );

        // Naming a variable that is not there must not silently fall back to another token.
        let msg = message(connect(&[
            (ACCESS_ID, "p-a"),
            (JWT_VAR, "NOPE"),
            (JWT, JWT_VALUE),
        ]));
        assert!(
            msg.contains("AKEYLESS_JWT_VAR names NOPE, but NOPE is not set"),
            "{msg}"
        );
    }

    #[test]
    fn missing_jwt_shows_the_id_tokens_block() {
        let msg = message(connect(&[(ACCESS_ID, "p-a")]));
        assert!(msg.contains("no ID token found"), "{msg}");
        assert!(
            msg.contains("id_tokens:") && msg.contains("AKEYLESS_JWT:"),
            "{msg}"
        );
    }

    #[test]
    fn malformed_jwt_is_named_but_never_shown() {
        let msg = message(connect(&[(ACCESS_ID, "p-a"), (JWT, "not-a-jwt-canary")]));
        assert!(msg.contains("AKEYLESS_JWT does not hold a JWT"), "{msg}");
        assert!(!msg.contains("canary"), "{msg}");
        let msg = message(connect(&[
            (ACCESS_ID, "p-a"),
            (JWT, "/builds/tmp/AKEYLESS_JWT"),
        ]));
        assert!(msg.contains("looks like a file path"), "{msg}");
    }

    #[test]
    fn missing_access_id_says_what_to_set() {
        let msg = message(connect(&[(JWT, JWT_VALUE)]));
        assert!(msg.contains("AKEYLESS_ACCESS_ID is not set"), "{msg}");
        assert!(msg.contains("AKEYLESS_ACCESS_ID: p-"), "{msg}");
    }

    #[test]
    fn access_key_is_chosen_when_set_or_asked_for() {
        let c = connect(&[(ACCESS_ID, "p-a"), (ACCESS_KEY, "k"), (JWT, JWT_VALUE)]).unwrap();
        assert!(matches!(c.credentials, Credentials::AccessKey { .. }));
        let c = connect(&[
            (ACCESS_ID, "p-a"),
            (ACCESS_KEY, "k"),
            (ACCESS_TYPE, "jwt"),
            (JWT, JWT_VALUE),
        ]);
        assert!(matches!(c.unwrap().credentials, Credentials::Jwt { .. }));
        let msg = message(connect(&[(ACCESS_ID, "p-a"), (ACCESS_TYPE, "access-key")]));
        assert!(msg.contains("AKEYLESS_ACCESS_KEY is not set"), "{msg}");
        let msg = message(connect(&[(ACCESS_ID, "p-a"), (ACCESS_TYPE, "k8s")]));
        assert!(
            msg.contains("AKEYLESS_ACCESS_TYPE=k8s is not supported"),
            "{msg}"
        );
    }

    #[test]
    fn ready_token_skips_everything_else() {
        let c = connect(&[(TOKEN, "t-1234")]).unwrap();
        assert!(matches!(c.credentials, Credentials::Token(_)));
        let msg = message(connect(&[(TOKEN, "x-1234")]));
        assert!(
            msg.contains("AKEYLESS_TOKEN is not an Akeyless token"),
            "{msg}"
        );
        assert!(!msg.contains("x-1234"), "{msg}");
    }

    #[test]
    fn gateway_variables_and_their_conflicts() {
        let base = [(TOKEN, "t-1")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            connect(&pairs)
        };
        let c = with(&[(API_GW_URL, "https://gw:8000/api/v1")]).unwrap();
        assert_eq!(c.gateway.as_str(), "https://gw:8000/api/v2");
        // Both set, agreeing after mapping: fine.
        let c = with(&[
            (API_GW_URL, "https://gw:8000/api/v1"),
            (GATEWAY_URL, "https://gw:8000/api/v2"),
        ]);
        assert_eq!(c.unwrap().gateway.as_str(), "https://gw:8000/api/v2");
        let msg = message(with(&[
            (API_GW_URL, "https://a:8000/api/v1"),
            (GATEWAY_URL, "https://b"),
        ]));
        assert!(msg.contains("point at different gateways"), "{msg}");
        let msg = message(with(&[(GATEWAY_URL, "gw:8000")]));
        assert!(
            msg.contains("AKEYLESS_GATEWAY_URL is not a usable gateway URL"),
            "{msg}"
        );
    }

    #[test]
    fn timeout_and_flags() {
        let c = connect(&[(TOKEN, "t-1"), (TIMEOUT, "2.5")]).unwrap();
        assert_eq!(c.timeout, Duration::from_millis(2500));
        for bad in ["0", "-1", "soon", "NaN", "inf"] {
            let msg = message(connect(&[(TOKEN, "t-1"), (TIMEOUT, bad)]));
            assert!(msg.contains("AKEYLESS_TIMEOUT"), "{msg}");
        }
        assert!(flag(&env(&[("F", "TRUE")]), "F").unwrap());
        assert!(!flag(&env(&[("F", "off")]), "F").unwrap());
        assert!(!flag(&env(&[]), "F").unwrap());
        assert!(flag(&env(&[("F", "maybe")]), "F").is_err());
    }

    #[test]
    fn references_are_collected_and_every_bad_one_named() {
        let wanted = references(&env(&[
            ("B", "akeyless://ci/b#f"),
            ("A", "akeyless:/ci/a|version=2"),
            ("PLAIN", "hello"),
            ("URL", "https://akeyless.io"),
        ]))
        .unwrap();
        let vars: Vec<_> = wanted
            .iter()
            .map(|w| (w.var.as_str(), w.reference.item.as_str()))
            .collect();
        assert_eq!(vars, [("A", "/ci/a"), ("B", "/ci/b")]);

        let msg = references(&env(&[
            ("X", "akeyless:nope"),
            ("Y-Z", "akeyless://ci/a"),
            ("OK", "akeyless://a"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(msg.contains("2 variables hold malformed"), "{msg}");
        assert!(msg.contains("X: write it as akeyless://"), "{msg}");
        assert!(msg.contains("Y-Z: this name cannot be exported"), "{msg}");
    }

    #[test]
    fn env_file_location() {
        let at = |pairs: &[(&str, &str)]| env_file(&env(pairs), None).unwrap();
        assert_eq!(
            at(&[("HOME", "/h")]),
            EnvFile::Home("/h/.akeyless/env".into())
        );
        assert_eq!(
            at(&[("HOME", "/h"), (ENV_FILE, "/x/e")]),
            EnvFile::Given("/x/e".into())
        );
        let flag = std::path::Path::new("/f");
        let given = env_file(&env(&[(ENV_FILE, "/x/e")]), Some(flag)).unwrap();
        assert_eq!(given, EnvFile::Given("/f".into()));
        assert_eq!(at(&[]), EnvFile::NoHome);
    }

    #[test]
    fn fingerprint_covers_references_and_settings_but_no_secret() {
        let base = [
            (ACCESS_ID, "p-a"),
            (JWT, JWT_VALUE),
            ("X", "akeyless://ci/x"),
        ];
        let print = |extra: &[(&str, &str)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            let e = env(&pairs);
            fingerprint(&e, &references(&e).unwrap()).unwrap()
        };
        let one = print(&[]);
        assert!(
            one.contains("X=akeyless://ci/x") && one.contains("AKEYLESS_ACCESS_ID=p-a"),
            "{one}"
        );
        assert!(!one.contains(JWT_VALUE));
        assert_eq!(
            one,
            print(&[(JWT, "eyJh.eyJi.c2ln")]),
            "a new token is the same job"
        );
        assert_ne!(one, print(&[("CI_JOB_ID", "7")]));
        assert_ne!(one, print(&[("Y", "akeyless://ci/y")]));
    }

    #[test]
    fn ca_files_in_order() {
        let c = connect(&[
            (TOKEN, "t-1"),
            (CA_CERT, "/a.pem"),
            (SSL_CERT_FILE, "/b.pem"),
        ])
        .unwrap();
        let vars: Vec<_> = c.ca_files.iter().map(|f| f.var).collect();
        assert_eq!(vars, [SSL_CERT_FILE, CA_CERT]);
    }
}
