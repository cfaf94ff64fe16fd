//! The fake's world, read from a JSON file: auth methods, roles with their rules and
//! auth-method associations, items, and the faults to start with.
//!
//! ```json
//! {"auth_methods": [{"access_id": "p-gitlab", "type": "jwt",
//!                    "issuer": "https://gitlab.example.com",
//!                    "bound_audiences": ["https://akeyless.example.com"]}],
//!  "roles": [{"name": "ci", "rules": [{"path": "/ci/*", "capabilities": ["read"]}],
//!             "associations": [{"access_id": "p-gitlab",
//!                               "sub_claims": {"project_path": ["grp/app"]}}]}],
//!  "items": [{"name": "/ci/db", "type": "static", "value": "s3cret"},
//!            {"name": "/ci/mysql", "type": "dynamic", "producer": "sql"},
//!            {"name": "/ci/admin", "type": "rotated", "value": {"username": "a", "password": "b"}}]}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::faults::Fault;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    #[serde(default)]
    pub auth_methods: Vec<AuthMethod>,
    #[serde(default)]
    pub roles: Vec<Role>,
    #[serde(default)]
    pub items: Vec<Item>,
    /// Lifetime of the `t-` tokens `/auth` issues.
    #[serde(default = "default_token_ttl")]
    pub token_ttl_seconds: u64,
    /// Delay before every API answer.
    #[serde(default)]
    pub latency_ms: u64,
    /// Items per `list-items` page when the client pages (`auto-pagination: disabled`).
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    #[serde(default)]
    pub faults: Vec<Fault>,
}

fn default_token_ttl() -> u64 {
    900
}

fn default_max_ttl() -> u64 {
    3600
}

fn default_page_size() -> usize {
    1000
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AuthMethod {
    pub access_id: String,
    /// The client types (`akeylessclienttype`) that may log in; any when empty.
    #[serde(default)]
    pub allowed_client_types: Vec<String>,
    #[serde(flatten)]
    pub kind: AuthKind,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuthKind {
    AccessKey {
        access_key: String,
    },
    Jwt {
        #[serde(default)]
        issuer: Option<String>,
        #[serde(default)]
        bound_audiences: Vec<String>,
        /// A JWKS `keys` array; the fake's own GitLab key when absent.
        #[serde(default)]
        jwks: Option<Vec<Value>>,
    },
    UniversalIdentity {
        uid_token: String,
    },
    /// A gateway's Kubernetes auth config: service-account JWTs (signed by the fake's own
    /// key, as the cluster's issuer) for `config_name`; `bound_service_accounts` as
    /// `namespace:name`, any when empty.
    K8s {
        config_name: String,
        #[serde(default)]
        bound_service_accounts: Vec<String>,
    },
    /// Certificates issued by the CA in `ca_pem`, proven by signing a challenge.
    Cert {
        ca_pem: String,
    },
    /// A signed, never-sent STS `GetCallerIdentity`, replayed as STS would check it (the
    /// signature with the caller's secret key, its date, its session token); the caller's
    /// ARN must match one of `bound_arns` (globs) and its account one of
    /// `bound_account_ids`, each any when empty.
    AwsIam {
        #[serde(default)]
        bound_arns: Vec<String>,
        #[serde(default)]
        bound_account_ids: Vec<String>,
    },
    /// A managed identity's access token from the fake's Azure metadata service, signed
    /// with the fake's own key (Entra's, in this story), for `audience` and issued by
    /// `https://sts.windows.net/<bound_tenant_id>/`; `bound_object_ids` any when empty.
    AzureAd {
        bound_tenant_id: String,
        #[serde(default = "azure_audience")]
        audience: String,
        #[serde(default)]
        bound_object_ids: Vec<String>,
    },
    /// A Google ID token from the fake metadata server (the fake's key as Google's), for
    /// `audience`; `bound_service_accounts` (emails) any when empty.
    Gcp {
        #[serde(default = "gcp_audience")]
        audience: String,
        #[serde(default)]
        bound_service_accounts: Vec<String>,
    },
}

/// What an azure_ad auth method expects by default (`--audience`).
fn azure_audience() -> String {
    "https://management.azure.com/".into()
}

/// What a gcp auth method expects by default (`--audience`).
fn gcp_audience() -> String {
    "akeyless.io".into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub name: String,
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub associations: Vec<Association>,
}

/// `path` is a glob where `*` matches any run of characters, `/` included, as Akeyless
/// role rules do.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub path: String,
    /// `read`, `list`, or `deny` (which beats every other rule).
    pub capabilities: Vec<String>,
}

/// A role bound to an auth method; for JWT methods, only tokens whose claims equal one of
/// the listed values for every sub-claim get the role.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Association {
    pub access_id: String,
    #[serde(default)]
    pub sub_claims: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Item {
    pub name: String,
    #[serde(flatten)]
    pub kind: ItemKind,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ItemKind {
    /// `value` is the only version, or `versions` lists them oldest first.
    Static {
        #[serde(default)]
        value: Option<String>,
        #[serde(default)]
        versions: Vec<String>,
    },
    Dynamic {
        #[serde(default)]
        producer: Producer,
    },
    Rotated {
        value: Map<String, Value>,
        #[serde(default)]
        form: RotatedForm,
    },
    /// An item of a type `akl` does not fetch, to test the wrong-type path.
    Certificate,
    /// Signs OpenSSH user certificates for the users it allows (`*`: any), for at most
    /// `max_ttl` seconds (also the default), with the fake's SSH CA.
    SshIssuer {
        allowed_users: Vec<String>,
        #[serde(default = "default_max_ttl")]
        max_ttl: u64,
    },
    /// Signs TLS certificates from requests whose names are in `allowed_domains` (or
    /// below them, with `allow_subdomains`; IP addresses always), for at most `max_ttl`
    /// seconds, with the fake's intermediate CA.
    PkiIssuer {
        allowed_domains: Vec<String>,
        #[serde(default)]
        allow_subdomains: bool,
        #[serde(default = "default_max_ttl")]
        max_ttl: u64,
    },
    /// An item whose `item_type` is whatever the fixture says (a hostile gateway's).
    Other { item_type: String },
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Producer {
    #[default]
    Sql,
    Aws,
}

/// How `get-rotated-secret-value` wraps the fields (all three occur in the real API).
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RotatedForm {
    /// `{"value": {"username": …, "password": …}}`
    #[default]
    Fields,
    /// `{"value": {"payload": "<the fields as a JSON string>"}}` (custom rotators)
    Payload,
    /// `{"value": {"target_value": {…}}}`
    TargetValue,
}

impl Fixture {
    pub fn from_json(text: &str) -> Result<Fixture, String> {
        let fixture: Fixture =
            serde_json::from_str(text).map_err(|e| format!("invalid fixture: {e}"))?;
        for item in &fixture.items {
            if let ItemKind::Static { value, versions } = &item.kind {
                if value.is_some() != versions.is_empty() {
                    return Err(format!(
                        "static item {}: give exactly one of value and versions",
                        item.name
                    ));
                }
            }
        }
        Ok(fixture)
    }

    pub fn item(&self, name: &str) -> Option<&Item> {
        let name = canonical(name);
        self.items.iter().find(|i| i.name == name)
    }

    pub fn auth_method(&self, access_id: &str) -> Option<&AuthMethod> {
        self.auth_methods.iter().find(|m| m.access_id == access_id)
    }

    /// Adds an auth method, associated with the first role.
    pub fn with_auth_method(mut self, access_id: &str, kind: AuthKind) -> Self {
        self.auth_methods.push(AuthMethod {
            access_id: access_id.to_owned(),
            kind,
            allowed_client_types: Vec::new(),
        });
        if let Some(role) = self.roles.first_mut() {
            role.associations.push(Association {
                access_id: access_id.to_owned(),
                sub_claims: Default::default(),
            });
        }
        self
    }

    /// Adds an item of any kind.
    pub fn with_item(mut self, name: &str, kind: ItemKind) -> Self {
        self.items.push(Item {
            name: canonical(name),
            kind,
        });
        self
    }

    /// Adds a static secret (tests build on a base fixture this way).
    pub fn with_static(mut self, name: &str, value: &str) -> Self {
        self.items.push(Item {
            name: canonical(name),
            kind: ItemKind::Static {
                value: Some(value.into()),
                versions: vec![],
            },
        });
        self
    }
}

impl Item {
    /// The versions of a static secret, oldest first (version numbers start at 1).
    pub fn static_versions(&self) -> Option<Vec<&str>> {
        match &self.kind {
            ItemKind::Static { value: Some(v), .. } => Some(vec![v.as_str()]),
            ItemKind::Static { versions, .. } => {
                Some(versions.iter().map(String::as_str).collect())
            }
            _ => None,
        }
    }

    pub fn type_name(&self) -> &str {
        match &self.kind {
            ItemKind::Static { .. } => "STATIC_SECRET",
            ItemKind::Dynamic { .. } => "DYNAMIC_SECRET",
            ItemKind::Rotated { .. } => "ROTATED_SECRET",
            ItemKind::Certificate => "CERTIFICATE",
            ItemKind::SshIssuer { .. } => "SSH_CERT_ISSUER",
            ItemKind::PkiIssuer { .. } => "PKI_CERT_ISSUER",
            ItemKind::Other { item_type } => item_type,
        }
    }
}

/// Item names are absolute paths; `ci/db` and `/ci/db` are the same item.
pub fn canonical(name: &str) -> String {
    if name.starts_with('/') {
        name.to_owned()
    } else {
        format!("/{name}")
    }
}

/// Glob match where `*` matches any run of characters, including `/`.
pub fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((prefix, rest)) => {
            let Some(text) = text.strip_prefix(prefix) else {
                return false;
            };
            (0..=text.len())
                .filter(|i| text.is_char_boundary(*i))
                .any(|i| glob(rest, &text[i..]))
        }
    }
}
