//! The Akeyless V2 endpoints, as akl's `docs/akeyless-api.md` describes them: kebab-case JSON
//! requests carrying the token in the body, snake_case answers, `{"error": …}` failures.
//!
//! Strict where the real API is strict (required keys and their types, so a client that
//! sends `names` as a string to `get-secret-value` fails here as it would there), lenient
//! where clients legitimately differ (unknown keys such as the SDK's `json: false`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use serde_json::{Map, Value, json};

use super::fixture::{AuthKind, Fixture, Item, ItemKind, Producer, RotatedForm, canonical, glob};
use super::issuers::{Issuers, SshRequest};
use super::{clouds, jwt};

/// A failed call: status and the `error` text.
pub type Failure = (u16, String);

fn fail<T>(status: u16, text: impl Into<String>) -> Result<T, Failure> {
    Err((status, text.into()))
}

/// What the fake knows of the caller besides the body.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The `akeylessclienttype` header.
    pub client_type: Option<String>,
}

/// Who a token belongs to and what it may do.
#[derive(Debug, Clone)]
struct Session {
    roles: Vec<String>,
    expires_at: i64,
}

#[derive(Debug)]
pub struct Backend {
    pub fixture: Fixture,
    sessions: Mutex<HashMap<String, Session>>,
    serial: AtomicU64,
    /// Every credential the fake handed out (tokens, dynamic secrets): test canaries.
    pub issued: Mutex<Vec<String>>,
    /// The dynamic secrets' credentials not revoked yet: (item, id).
    pub live: Mutex<Vec<(String, String)>>,
    /// Items added while the fake runs (a folder that grows between two runs).
    pub added: Mutex<Vec<Item>>,
    /// Certificate challenges handed out: challenge → (access id, cert-data, expiry).
    challenges: Mutex<HashMap<String, (String, String, i64)>>,
    /// The fixture's items by name: the fake answers in constant time per name, so a
    /// benchmark with 10,000 items measures the client, not the fake.
    index: HashMap<String, usize>,
    /// The fixture's items in name order, so that a listing reads its folder's range
    /// rather than every item.
    sorted: Vec<usize>,
    /// The CAs of the SSH and PKI issuers.
    pub issuers: Issuers,
    /// What certificate requests carried as keys (`public-key-data`, `csr-data-base64`,
    /// `key-data-base64`), as sent and decoded.
    pub key_material: Mutex<Vec<String>>,
    /// Seconds added to the clock STS checks signatures against (`Fake::set_clock_offset`).
    pub clock_offset: AtomicI64,
}

/// What a call answers: JSON, or 201 with no body (as deleting credentials does).
#[derive(Debug)]
pub enum Reply {
    Json(Value),
    /// JSON already serialized (a listing, written straight from the items).
    Text(String),
    Created,
}

impl Backend {
    pub fn new(fixture: Fixture) -> Self {
        let index = fixture
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| (canonical(&item.name), i))
            .collect();
        let mut sorted: Vec<usize> = (0..fixture.items.len()).collect();
        sorted.sort_by(|&a, &b| fixture.items[a].name.cmp(&fixture.items[b].name));
        Backend {
            index,
            sorted,
            fixture,
            sessions: Mutex::default(),
            serial: AtomicU64::new(1),
            issued: Mutex::default(),
            live: Mutex::default(),
            added: Mutex::default(),
            issuers: Issuers::new(),
            key_material: Mutex::default(),
            challenges: Mutex::default(),
            clock_offset: AtomicI64::new(0),
        }
    }

    /// The live credentials, as `item id`.
    pub fn live_ids(&self) -> Vec<String> {
        let live = self.live.lock().unwrap();
        live.iter()
            .map(|(name, id)| format!("{name} {id}"))
            .collect()
    }

    fn next(&self) -> u64 {
        self.serial.fetch_add(1, Ordering::Relaxed)
    }

    fn issue(&self, value: String) -> String {
        self.issued.lock().unwrap().push(value.clone());
        value
    }

    pub fn call(
        &self,
        command: &str,
        body: &Map<String, Value>,
        caller: &Caller,
    ) -> Result<Reply, Failure> {
        let value = match command {
            "auth" => self.auth(body, caller),
            "get-cert-challenge" => self.cert_challenge(body),
            "validate-token" => self.validate_token(body),
            "describe-item" => self.describe_item(body),
            "get-secret-value" => self.get_secret_value(body),
            "get-dynamic-secret-value" => self.get_dynamic_secret_value(body),
            "get-rotated-secret-value" => self.get_rotated_secret_value(body),
            "list-items" => return self.list_items(body).map(Reply::Text),
            "get-ssh-certificate" => self.get_ssh_certificate(body),
            "get-pki-certificate" => self.get_pki_certificate(body),
            "dynamic-secret-tmp-creds-get" => self.tmp_creds_get(body),
            "dynamic-secret-tmp-creds-delete" => {
                return self.tmp_creds_delete(body).map(|()| Reply::Created);
            }
            other => fail(404, format!("unknown command: {other}")),
        };
        value.map(Reply::Json)
    }

    fn auth(&self, body: &Map<String, Value>, caller: &Caller) -> Result<Value, Failure> {
        let access_id = string(body, "access-id")?;
        let access_type = optional_string(body, "access-type")?.unwrap_or("access_key");
        let method = self.fixture.auth_method(access_id).ok_or((
            401,
            format!("Authentication failed: auth method {access_id} does not exist"),
        ))?;
        // `allowed-client-type` on the auth method: an unlisted client type is refused.
        if !method.allowed_client_types.is_empty() {
            let sent = caller.client_type.as_deref().unwrap_or("");
            if !method.allowed_client_types.iter().any(|t| t == sent) {
                return fail(
                    401,
                    format!(
                        "Authentication failed: client type '{sent}' is not allowed for auth method {access_id}"
                    ),
                );
            }
        }
        let claims = match (&method.kind, access_type) {
            (AuthKind::AccessKey { access_key }, "access_key") => {
                if optional_string(body, "access-key")? != Some(access_key.as_str()) {
                    return fail(401, "Authentication failed: invalid access key");
                }
                Map::new()
            }
            (
                AuthKind::Jwt {
                    issuer,
                    bound_audiences,
                    jwks,
                },
                "jwt",
            ) => {
                let token = string(body, "jwt")?;
                let own = [jwt::keys().0.jwk()];
                let bounds = jwt::Bounds {
                    jwks: jwks.as_deref().unwrap_or(&own),
                    issuer: issuer.as_deref(),
                    audiences: bound_audiences,
                };
                jwt::verify(token, &bounds)
                    .map_err(|why| (401, format!("Authentication failed: {why}")))?
            }
            (
                AuthKind::K8s {
                    config_name,
                    bound_service_accounts,
                },
                "k8s",
            ) => self.k8s(body, config_name, bound_service_accounts)?,
            (AuthKind::Cert { ca_pem }, "cert") => self.cert(body, access_id, ca_pem)?,
            (
                AuthKind::AwsIam {
                    bound_arns,
                    bound_account_ids,
                },
                "aws_iam",
            ) => clouds::aws_iam(
                string(body, "cloud-id")?,
                jwt::now() + self.clock_offset.load(Ordering::Relaxed),
                bound_arns,
                bound_account_ids,
            )?,
            (
                AuthKind::AzureAd {
                    bound_tenant_id,
                    audience,
                    bound_object_ids,
                },
                "azure_ad",
            ) => clouds::azure_ad(
                string(body, "cloud-id")?,
                bound_tenant_id,
                audience,
                bound_object_ids,
            )?,
            (
                AuthKind::Gcp {
                    audience,
                    bound_service_accounts,
                },
                "gcp",
            ) => clouds::gcp(
                string(body, "cloud-id")?,
                optional_string(body, "gcp-audience")?,
                audience,
                bound_service_accounts,
            )?,
            (AuthKind::UniversalIdentity { uid_token }, "universal_identity") => {
                if optional_string(body, "uid-token")? != Some(uid_token.as_str()) {
                    return fail(
                        401,
                        "Authentication failed: invalid universal identity token",
                    );
                }
                Map::new()
            }
            _ => {
                return fail(
                    401,
                    format!(
                        "Authentication failed: auth method {access_id} is not of type {access_type}"
                    ),
                );
            }
        };
        let roles = self.roles_for(access_id, &claims);
        if roles.is_empty() && self.has_associations(access_id) {
            return fail(
                401,
                "Authentication failed: the token's claims do not match the sub-claims of any role association",
            );
        }
        let expires_at = jwt::now() + self.fixture.token_ttl_seconds as i64;
        let token = self.issue(format!("t-{}", jwt::random_hex()));
        self.sessions
            .lock()
            .unwrap()
            .insert(token.clone(), Session { roles, expires_at });
        Ok(json!({
            "token": token,
            "expiration": rfc3339(expires_at),
            "creds": {"access_id": access_id, "expiry": expires_at},
        }))
    }

    /// `k8s`: the base64 of a service-account JWT the cluster (the fake's own key)
    /// signed, for this auth config, through a gateway.
    fn k8s(
        &self,
        body: &Map<String, Value>,
        config_name: &str,
        bound: &[String],
    ) -> Result<Map<String, Value>, Failure> {
        use base64::Engine;
        let encoded = string(body, "k8s-service-account-token")?;
        let token = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|t| String::from_utf8(t).ok())
            .ok_or((
                401,
                "Authentication failed: k8s-service-account-token is not base64".to_owned(),
            ))?;
        if optional_string(body, "k8s-auth-config-name")? != Some(config_name) {
            return fail(
                401,
                format!(
                    "Authentication failed: no such k8s auth config (this method uses {config_name})"
                ),
            );
        }
        match optional_string(body, "gateway-url")? {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {}
            _ => return fail(400, "k8s authentication needs gateway-url"),
        }
        let own = [jwt::keys().0.jwk()];
        let bounds = jwt::Bounds {
            jwks: &own,
            issuer: Some(jwt::K8S_ISSUER),
            audiences: &[],
        };
        let claims = jwt::verify(&token, &bounds)
            .map_err(|why| (401, format!("Authentication failed: {why}")))?;
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let account = sub
            .strip_prefix("system:serviceaccount:")
            .unwrap_or_default();
        if !bound.is_empty() && !bound.iter().any(|b| b == account) {
            return fail(
                401,
                format!("Authentication failed: service account {account} is not bound"),
            );
        }
        Ok(claims)
    }

    /// `get-cert-challenge`: random bytes, base64, valid for a minute, for this
    /// certificate and auth method.
    fn cert_challenge(&self, body: &Map<String, Value>) -> Result<Value, Failure> {
        use base64::Engine;
        let access_id = string(body, "access-id")?;
        let cert_data = string(body, "cert-data")?;
        let Some(method) = self.fixture.auth_method(access_id) else {
            return fail(404, format!("auth method {access_id} does not exist"));
        };
        let AuthKind::Cert { ca_pem } = &method.kind else {
            return fail(
                400,
                format!("auth method {access_id} is not a certificate auth method"),
            );
        };
        trusted_cert(cert_data, ca_pem)
            .map_err(|why| (401, format!("invalid certificate: {why}")))?;
        let mut bytes = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
            .map_err(|_| (500, "no randomness".to_owned()))?;
        let challenge = base64::engine::general_purpose::STANDARD.encode(bytes);
        self.challenges.lock().unwrap().insert(
            challenge.clone(),
            (access_id.to_owned(), cert_data.to_owned(), jwt::now() + 60),
        );
        Ok(json!({ "challenge": challenge }))
    }

    /// `cert`: a challenge this fake gave for this certificate, signed by its key.
    fn cert(
        &self,
        body: &Map<String, Value>,
        access_id: &str,
        ca_pem: &str,
    ) -> Result<Map<String, Value>, Failure> {
        use base64::Engine;
        let refuse = |why: &str| (401, format!("Authentication failed: {why}"));
        let cert_data = string(body, "cert-data")?;
        let challenge = string(body, "cert-challenge")?;
        let signed = string(body, "signed-cert-challenge")?;
        if body.contains_key("key-data") {
            return fail(400, "test: akl must not send the private key");
        }
        let issued = self.challenges.lock().unwrap().remove(challenge);
        match issued {
            Some((id, data, expires))
                if id == access_id && data == cert_data && expires > jwt::now() => {}
            _ => return Err(refuse("unknown or expired certificate challenge")),
        }
        let der = trusted_cert(cert_data, ca_pem).map_err(|why| refuse(&why))?;
        let b64 = base64::engine::general_purpose::STANDARD;
        let message = b64.decode(challenge).map_err(|_| refuse("bad challenge"))?;
        let signature = b64
            .decode(signed)
            .map_err(|_| refuse("signed-cert-challenge is not base64"))?;
        let cert = webpki::EndEntityCert::try_from(&der).map_err(|e| refuse(&format!("{e:?}")))?;
        let verified = [
            webpki::ring::RSA_PKCS1_2048_8192_SHA256,
            webpki::ring::ECDSA_P256_SHA256,
        ]
        .iter()
        .any(|alg| cert.verify_signature(*alg, &message, &signature).is_ok());
        if !verified {
            return Err(refuse(
                "the challenge's signature does not match the certificate",
            ));
        }
        Ok(Map::new())
    }

    fn has_associations(&self, access_id: &str) -> bool {
        self.fixture
            .roles
            .iter()
            .flat_map(|r| &r.associations)
            .any(|a| a.access_id == access_id)
    }

    /// Roles associated with the auth method whose sub-claims the token's claims meet:
    /// every listed claim must equal (as a string) one of the allowed values.
    fn roles_for(&self, access_id: &str, claims: &Map<String, Value>) -> Vec<String> {
        let as_strings = |v: &Value| -> Vec<String> {
            match v {
                Value::String(s) => vec![s.clone()],
                Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
                    .collect(),
                other => vec![other.to_string()],
            }
        };
        self.fixture
            .roles
            .iter()
            .filter(|role| {
                role.associations.iter().any(|a| {
                    a.access_id == access_id
                        && a.sub_claims.iter().all(|(claim, allowed)| {
                            claims
                                .get(claim)
                                .is_some_and(|v| as_strings(v).iter().any(|s| allowed.contains(s)))
                        })
                })
            })
            .map(|role| role.name.clone())
            .collect()
    }

    fn session(&self, body: &Map<String, Value>) -> Result<Session, Failure> {
        if let Some(uid) = optional_string(body, "uid-token")? {
            let method = self.fixture.auth_methods.iter().find(|m| {
                matches!(&m.kind, AuthKind::UniversalIdentity { uid_token } if uid_token == uid)
            });
            let Some(method) = method else {
                return fail(401, "Unauthorized: invalid universal identity token");
            };
            let roles = self.roles_for(&method.access_id, &Map::new());
            return Ok(Session {
                roles,
                expires_at: i64::MAX,
            });
        }
        let Some(token) = optional_string(body, "token")? else {
            return fail(401, "Unauthorized: missing token");
        };
        let session = self.sessions.lock().unwrap().get(token).cloned();
        match session {
            None => fail(401, "Unauthorized: invalid token"),
            Some(s) if s.expires_at <= jwt::now() => {
                fail(401, "Unauthorized: access token expired")
            }
            Some(s) => Ok(s),
        }
    }

    /// Whether the session's roles grant `capability` on `name`; a matching `deny` wins.
    fn allowed(&self, session: &Session, name: &str, capability: &str) -> bool {
        let rules: Vec<_> = self
            .fixture
            .roles
            .iter()
            .filter(|r| session.roles.contains(&r.name))
            .flat_map(|r| &r.rules)
            .filter(|rule| glob(&rule.path, name))
            .collect();
        !rules
            .iter()
            .any(|r| r.capabilities.iter().any(|c| c == "deny"))
            && rules
                .iter()
                .any(|r| r.capabilities.iter().any(|c| c == capability))
    }

    /// The item, if it exists and the session may read it; otherwise the error the
    /// real API gives (404 for missing, 403 for forbidden).
    /// The item of that name, from the fixture or added since.
    fn item(&self, name: &str) -> Option<Item> {
        let name = canonical(name);
        let fixed = self.index.get(&name).map(|i| &self.fixture.items[*i]);
        fixed.cloned().or_else(|| {
            let added = self.added.lock().unwrap();
            added.iter().find(|i| i.name == name).cloned()
        })
    }

    fn readable(&self, session: &Session, name: &str) -> Result<Item, Failure> {
        let item = self.item(name).ok_or((
            404,
            format!("failed to get item {}: item not found", canonical(name)),
        ))?;
        if !self.allowed(session, &item.name, "read") {
            return fail(
                403,
                format!(
                    "access denied to item {}: the role has no read permission",
                    item.name
                ),
            );
        }
        Ok(item)
    }

    fn validate_token(&self, body: &Map<String, Value>) -> Result<Value, Failure> {
        let token = string(body, "token")?;
        let session = self.sessions.lock().unwrap().get(token).cloned();
        match session {
            None => fail(401, "Unauthorized: invalid token"),
            Some(s) if s.expires_at <= jwt::now() => Ok(
                json!({"is_valid": false, "reason": "token expired", "expiration": rfc3339(s.expires_at)}),
            ),
            Some(s) => Ok(json!({
                "is_valid": true,
                "expiration": rfc3339(s.expires_at),
                "ttl": s.expires_at - jwt::now(),
            })),
        }
    }

    fn describe_item(&self, body: &Map<String, Value>) -> Result<Value, Failure> {
        let session = self.session(body)?;
        let name = string(body, "name")?;
        // Forbidden looks exactly like missing here, as it reportedly does for real.
        let not_found = || {
            (
                404,
                format!(
                    "failed to describe item {}: item not found",
                    canonical(name)
                ),
            )
        };
        let item = self.item(name).ok_or_else(not_found)?;
        if !self.allowed(&session, &item.name, "read")
            && !self.allowed(&session, &item.name, "list")
        {
            return Err(not_found());
        }
        let (sub_type, info, last_version) = match &item.kind {
            ItemKind::Static { .. } => (
                "generic",
                json!({"static_secret_info": {"format": "text", "max_versions": 10}}),
                item.static_versions().map_or(1, |v| v.len()),
            ),
            ItemKind::Dynamic { producer } => (
                match producer {
                    Producer::Sql => "mysql",
                    Producer::Aws => "aws",
                },
                json!({"dynamic_secret_producer_details": {"producer_type": match producer {
                    Producer::Sql => "mysql",
                    Producer::Aws => "aws",
                }, "producer_status": "ProducerConnected", "user_ttl": "60m"}}),
                1,
            ),
            ItemKind::Rotated { .. } => (
                "custom",
                json!({"rotated_secret_details": {"rotator_creds_type": "use-self-creds", "max_versions": 3}}),
                1,
            ),
            ItemKind::Certificate => ("certificate", json!({"certificate_format": "pem"}), 1),
            ItemKind::SshIssuer { .. } | ItemKind::PkiIssuer { .. } => (
                "",
                json!({"cert_issue_details": issue_details(&item.kind)}),
                1,
            ),
            ItemKind::Other { .. } => ("other", json!({}), 1),
        };
        Ok(json!({
            "item_name": item.name,
            "item_id": item_id(&item.name),
            "display_id": format!("{:012x}", item_id(&item.name)),
            "item_type": item.type_name(),
            "item_sub_type": sub_type,
            "item_size": 0,
            "item_metadata": "",
            "item_tags": [],
            "is_enabled": true,
            "item_state": "Enabled",
            "item_accessibility": 0,
            "last_version": last_version,
            "with_customer_fragment": false,
            "creation_date": "2026-01-05T10:00:00Z",
            "modification_date": "2026-01-05T10:00:00Z",
            "item_general_info": info,
            "client_permissions": ["read", "list"],
            "certificate_issue_details": issue_details(&item.kind),
        }))
    }

    fn get_secret_value(&self, body: &Map<String, Value>) -> Result<Value, Failure> {
        let session = self.session(body)?;
        let names = match body.get("names") {
            Some(Value::Array(names)) if !names.is_empty() => names,
            Some(Value::Array(_)) => return fail(400, "names must not be empty"),
            Some(_) => return fail(400, "names must be an array of item names"),
            None => return fail(400, "missing required parameter: names"),
        };
        let version = version(body)?;
        // One bad name fails the whole call: no source says the real API answers in part,
        // so a client must survive this.
        let mut values = Map::new();
        for name in names {
            let name = name
                .as_str()
                .ok_or((400, "names must be strings".to_owned()))?;
            let item = self.readable(&session, name)?;
            let Some(versions) = item.static_versions() else {
                return fail(
                    400,
                    format!(
                        "item {} is not a static secret (it is {})",
                        item.name,
                        item.type_name()
                    ),
                );
            };
            let value = match version {
                None => versions.last().copied().unwrap_or_default(),
                Some(v) => *versions
                    .get((v as usize).wrapping_sub(1))
                    .ok_or((404, format!("item {} has no version {v}", item.name)))?,
            };
            values.insert(name.to_owned(), value.into());
        }
        Ok(Value::Object(values))
    }

    fn get_dynamic_secret_value(&self, body: &Map<String, Value>) -> Result<Value, Failure> {
        let session = self.session(body)?;
        let name = string(body, "name")?;
        let item = self.readable(&session, name)?;
        match body.get("args") {
            None | Some(Value::Null) => {}
            Some(Value::Array(args)) if args.iter().all(Value::is_string) => {}
            Some(_) => return fail(400, "args must be an array of strings"),
        }
        match body.get("timeout") {
            None | Some(Value::Null) => {}
            Some(t) if t.as_u64().is_some() => {}
            Some(_) => return fail(400, "timeout must be an integer number of seconds"),
        }
        let ItemKind::Dynamic { producer } = item.kind else {
            return fail(
                400,
                format!(
                    "item {} is not a dynamic secret (it is {})",
                    item.name,
                    item.type_name()
                ),
            );
        };
        // Every call mints new credentials, as the real producers do.
        let n = self.next();
        self.live
            .lock()
            .unwrap()
            .push((item.name.clone(), format!("tmp.{n}")));
        let random = |len: usize| {
            let hex = format!("{}{}", jwt::random_hex(), jwt::random_hex());
            hex[..len].to_owned()
        };
        Ok(match producer {
            Producer::Sql => json!({
                "id": format!("tmp.{n}"),
                "user": self.issue(format!("tmp_user_{n}_{}", random(6))),
                "password": self.issue(format!("dyn-canary-{}", random(24))),
                "ttl_in_minutes": "60",
            }),
            Producer::Aws => json!({
                "id": format!("tmp.{n}"),
                "access_key_id": self.issue(format!("AKIA{}", random(16).to_uppercase())),
                "secret_access_key": self.issue(format!("dyn-canary-{}", random(30))),
                "security_token": "",
                "ttl_in_minutes": "60",
            }),
        })
    }

    fn get_rotated_secret_value(&self, body: &Map<String, Value>) -> Result<Value, Failure> {
        let session = self.session(body)?;
        let name = match body.get("names") {
            Some(Value::String(name)) => name.as_str(),
            Some(_) => return fail(400, "names must be a single item name (a string)"),
            None => return fail(400, "missing required parameter: names"),
        };
        let item = self.readable(&session, name)?;
        let ItemKind::Rotated { value, form } = &item.kind else {
            return fail(
                400,
                format!(
                    "item {} is not a rotated secret (it is {})",
                    item.name,
                    item.type_name()
                ),
            );
        };
        if let Some(v) = version(body)? {
            if v != 1 {
                return fail(404, format!("item {} has no version {v}", item.name));
            }
        }
        let fields = Value::Object(value.clone());
        Ok(json!({ "value": match form {
            RotatedForm::Fields => fields,
            RotatedForm::Payload => json!({ "payload": fields.to_string() }),
            RotatedForm::TargetValue => json!({ "target_value": fields }),
        }}))
    }
}

impl Backend {
    /// `get-ssh-certificate`: signs `public-key-data` for `cert-username` (a comma list)
    /// with the issuer's CA, as the real API does: each user must be allowed, and `ttl`
    /// (integer seconds, the issuer's longest by default) at most the issuer's.
    fn get_ssh_certificate(&self, body: &Map<String, Value>) -> Result<Value, Failure> {
        self.keep_key_material(body);
        let session = self.session(body)?;
        let item = self.readable(&session, string(body, "cert-issuer-name")?)?;
        let users = string(body, "cert-username")?;
        let public_key = string(body, "public-key-data")?;
        let ttl = match body.get("ttl") {
            None | Some(Value::Null) => None,
            Some(t) => Some(
                t.as_u64()
                    .ok_or((400, "ttl must be an integer number of seconds".to_owned()))?,
            ),
        };
        let legacy = match body.get("legacy-signing-alg-name") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return fail(400, "legacy-signing-alg-name must be a boolean"),
        };
        let ItemKind::SshIssuer {
            allowed_users,
            max_ttl,
        } = &item.kind
        else {
            return fail(
                400,
                format!(
                    "item {} is not an SSH certificate issuer (it is {})",
                    item.name,
                    item.type_name()
                ),
            );
        };
        let principals: Vec<String> = users.split(',').map(str::to_owned).collect();
        let anyone = allowed_users.iter().any(|u| u == "*");
        if let Some(user) = principals
            .iter()
            .find(|u| !anyone && !allowed_users.contains(u))
        {
            return fail(
                400,
                format!(
                    "failed to get ssh certificate: user {user} is not part of allowed user list"
                ),
            );
        }
        let ttl = ttl.unwrap_or(*max_ttl);
        if ttl == 0 || ttl > *max_ttl {
            return fail(
                400,
                format!(
                    "failed to get ssh certificate: ttl {ttl} is not within the issuer's max ttl of {max_ttl} seconds"
                ),
            );
        }
        let serial = self.next();
        let data = self
            .issuers
            .sign_ssh(&SshRequest {
                public_key,
                principals: &principals,
                ttl,
                key_id: &format!("{} {users}", item.name),
                serial,
                legacy_name: legacy,
            })
            .map_err(|why| (400, format!("failed to get ssh certificate: {why}")))?;
        Ok(json!({ "data": data, "path": "" }))
    }

    /// `get-pki-certificate` with `csr-data-base64`: signs the request with the issuer's
    /// intermediate CA when every name in it is allowed and `ttl` (a string of seconds)
    /// is at most the issuer's; answers the certificate and the chain above it.
    fn get_pki_certificate(&self, body: &Map<String, Value>) -> Result<Value, Failure> {
        self.keep_key_material(body);
        let session = self.session(body)?;
        let item = self.readable(&session, string(body, "cert-issuer-name")?)?;
        let ttl = match body.get("ttl") {
            None | Some(Value::Null) => None,
            Some(Value::String(t)) => Some(
                t.parse::<u64>()
                    .map_err(|_| (400, format!("ttl: invalid duration {t}")))?,
            ),
            Some(_) => return fail(400, "ttl must be a string"),
        };
        let ItemKind::PkiIssuer {
            allowed_domains,
            allow_subdomains,
            max_ttl,
        } = &item.kind
        else {
            return fail(
                400,
                format!(
                    "item {} is not a PKI certificate issuer (it is {})",
                    item.name,
                    item.type_name()
                ),
            );
        };
        let csr = optional_string(body, "csr-data-base64")?;
        let key = optional_string(body, "key-data-base64")?;
        let ttl = ttl.unwrap_or(*max_ttl);
        if ttl == 0 || ttl > *max_ttl {
            return fail(
                400,
                format!(
                    "failed to get pki certificate: ttl {ttl} is not within the issuer's max ttl of {max_ttl} seconds"
                ),
            );
        }
        let allowed = |name: &str| {
            name.parse::<std::net::IpAddr>().is_ok()
                || allowed_domains
                    .iter()
                    .any(|d| name == d || (*allow_subdomains && name.ends_with(&format!(".{d}"))))
        };
        let issued = match (csr, key) {
            (Some(csr), None) => self.issuers.sign_csr(csr, ttl, allowed),
            (None, Some(key)) => {
                use base64::Engine;
                let text = base64::engine::general_purpose::STANDARD
                    .decode(key.trim())
                    .ok()
                    .and_then(|k| String::from_utf8(k).ok())
                    .ok_or((400, "key-data-base64 is not base64 of a PEM key".to_owned()))?;
                // The real API takes a private key here too, and keeps it with the
                // certificate; the fake signs public keys only.
                let Some(cn) = optional_string(body, "common-name")? else {
                    return fail(400, "common-name is required with key-data-base64");
                };
                let alt: Vec<String> = optional_string(body, "alt-names")?
                    .unwrap_or_default()
                    .split(',')
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
                    .collect();
                self.issuers.sign_public_key(&text, cn, &alt, ttl, allowed)
            }
            _ => return fail(400, "give either csr-data-base64 or key-data-base64"),
        }
        .map_err(|why| (400, format!("failed to get pki certificate: {why}")))?;
        let n = self.next();
        Ok(json!({
            "data": issued.leaf,
            "parent_cert": issued.parent,
            "path": "",
            "cert_display_id": format!("{n:012x}"),
            "cert_item_id": n,
            "reading_token": "",
        }))
    }
}

impl Backend {
    /// Keeps the key material a certificate request carried (decoded where it is base64),
    /// so tests can check that no private key ever reached the server.
    fn keep_key_material(&self, body: &Map<String, Value>) {
        use base64::Engine;
        let mut kept = self.key_material.lock().unwrap();
        for field in ["public-key-data", "csr-data-base64", "key-data-base64"] {
            let Some(text) = body.get(field).and_then(Value::as_str) else {
                continue;
            };
            kept.push(text.to_owned());
            if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(text.trim()) {
                kept.push(String::from_utf8_lossy(&decoded).into_owned());
            }
        }
    }
}

/// An issuer's `certificate_issue_details`, as `describe-item` shows it.
fn issue_details(kind: &ItemKind) -> Value {
    match kind {
        ItemKind::SshIssuer {
            allowed_users,
            max_ttl,
        } => json!({
            "cert_issuer_type": "ssh",
            "max_ttl": max_ttl,
            "ssh_cert_issuer_details": {
                "allowed_users": allowed_users,
                "cert_type": 1,
                "principals": [],
                "critical_options": {},
                "extensions": {"permit-pty": ""},
            },
        }),
        ItemKind::PkiIssuer {
            allowed_domains,
            allow_subdomains,
            max_ttl,
        } => json!({
            "cert_issuer_type": "pki",
            "max_ttl": max_ttl,
            "pki_cert_issuer_details": {
                "allowed_domains_list": allowed_domains,
                "allow_subdomains": allow_subdomains,
                "allow_any_name": false,
                "client_flag": true,
                "server_flag": true,
                "key_type": "ec",
                "key_bits": 256,
            },
        }),
        _ => Value::Null,
    }
}

impl Backend {
    /// `dynamic-secret-tmp-creds-get`: the live credentials of a dynamic secret, as the
    /// API's `TmpUserData` array.
    fn tmp_creds_get(&self, body: &Map<String, Value>) -> Result<Value, Failure> {
        let session = self.session(body)?;
        let item = self.readable(&session, string(body, "name")?)?;
        let live = self.live.lock().unwrap();
        let creds: Vec<Value> = live
            .iter()
            .filter(|(name, _)| *name == item.name)
            .map(|(_, id)| {
                json!({
                    "id": id,
                    "host": "",
                    "access_id": "",
                    "dynamic_secret_type": "mysql",
                    "creation_date": rfc3339(jwt::now()),
                    "custom_ttl": 0,
                })
            })
            .collect();
        Ok(Value::Array(creds))
    }

    /// `dynamic-secret-tmp-creds-delete`: revokes one set of credentials (`tmp-creds-id`)
    /// or, with `revoke-all`, every one; answers 201 with no body.
    fn tmp_creds_delete(&self, body: &Map<String, Value>) -> Result<(), Failure> {
        let session = self.session(body)?;
        let item = self.readable(&session, string(body, "name")?)?;
        let ItemKind::Dynamic { .. } = item.kind else {
            return fail(400, format!("item {} is not a dynamic secret", item.name));
        };
        let all = match body.get("revoke-all") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return fail(400, "revoke-all must be a boolean"),
        };
        let id = optional_string(body, "tmp-creds-id")?;
        let mut live = self.live.lock().unwrap();
        let before = live.len();
        match (id, all) {
            (_, true) => live.retain(|(name, _)| *name != item.name),
            (Some(id), false) => live.retain(|(name, i)| !(*name == item.name && i == id)),
            (None, false) => return fail(400, "missing required parameter: tmp-creds-id"),
        }
        if live.len() == before {
            return fail(
                404,
                format!(
                    "no temporary credentials {} for {}",
                    id.unwrap_or("*"),
                    item.name
                ),
            );
        }
        Ok(())
    }

    /// `list-items`: the items under `path` the session may list or read (names are full
    /// paths), and the sub-folders holding them; `filter` is a substring of the name,
    /// `type` a list such as `static-secret`. With `auto-pagination` `disabled`, pages of
    /// the fixture's `page_size` and a `next_page` token.
    fn list_items(&self, body: &Map<String, Value>) -> Result<String, Failure> {
        let session = self.session(body)?;
        let path = optional_string(body, "path")?.unwrap_or("/");
        let folder = canonical(path).trim_end_matches('/').to_owned();
        let filter = optional_string(body, "filter")?;
        let types: Vec<String> = match body.get("type") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(types)) => types
                .iter()
                .map(|t| {
                    t.as_str()
                        .map(type_name)
                        .ok_or((400, "type must be strings".to_owned()))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return fail(400, "type must be an array of item types"),
        };
        let current_folder = match body.get("current-folder") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return fail(400, "current-folder must be a boolean"),
        };
        let paged = match optional_string(body, "auto-pagination")? {
            None | Some("enabled") => false,
            Some("disabled") => true,
            Some(other) => {
                return fail(
                    400,
                    format!("auto-pagination must be enabled or disabled, not {other}"),
                );
            }
        };
        let start: usize = match optional_string(body, "pagination-token")? {
            None | Some("") => 0,
            Some(token) => token
                .strip_prefix("page-")
                .and_then(|n| n.parse().ok())
                .ok_or((400, "invalid pagination-token".to_owned()))?,
        };
        let added = self.added.lock().unwrap();
        let inside = format!("{folder}/");
        let fixed = &self.fixture.items;
        let first = self
            .sorted
            .partition_point(|&i| fixed[i].name.as_str() < inside.as_str());
        let in_folder = self.sorted[first..]
            .iter()
            .map(|&i| &fixed[i])
            .take_while(|i| i.name.starts_with(&inside));
        let mut items: Vec<&Item> = in_folder
            .chain(added.iter())
            .filter(|i| {
                let Some(rest) = i.name.strip_prefix(&inside) else {
                    return false;
                };
                (!current_folder || !rest.contains('/'))
                    && filter.is_none_or(|f| i.name.contains(f))
                    && (types.is_empty() || types.iter().any(|t| t == i.type_name()))
                    && (self.allowed(&session, &i.name, "list")
                        || self.allowed(&session, &i.name, "read"))
            })
            .collect();
        items.sort_by(|a, b| a.name.cmp(&b.name));
        let folders: std::collections::BTreeSet<String> = items
            .iter()
            .filter_map(|i| {
                let rest = &i.name[folder.len() + 1..];
                rest.split_once('/')
                    .map(|(sub, _)| format!("{folder}/{sub}"))
            })
            .collect();
        let size = if paged {
            self.fixture.page_size
        } else {
            usize::MAX
        };
        // Serialized from the items themselves: a tree of `Value`s per item made a listing
        // cost the fake twice what a batch of values does.
        #[derive(serde::Serialize)]
        struct Listed<'a> {
            item_name: &'a str,
            item_id: u64,
            display_id: String,
            item_type: &'a str,
            item_sub_type: &'static str,
            is_enabled: bool,
            item_tags: [(); 0],
            last_version: usize,
            client_permissions: [&'static str; 2],
        }
        #[derive(serde::Serialize)]
        struct Page<'a> {
            items: Vec<Listed<'a>>,
            folders: Vec<String>,
            next_page: String,
        }
        let page = items
            .iter()
            .skip(start)
            .take(size)
            .map(|item| (item, item_id(&item.name)))
            .map(|(item, id)| Listed {
                item_name: &item.name,
                item_id: id,
                display_id: format!("{id:012x}"),
                item_type: item.type_name(),
                item_sub_type: "",
                is_enabled: true,
                item_tags: [],
                last_version: item.static_versions().map_or(1, |v| v.len()),
                client_permissions: ["read", "list"],
            })
            .collect();
        let next = start.saturating_add(size);
        let page = Page {
            items: page,
            folders: match start {
                0 => folders.into_iter().collect(),
                _ => Vec::new(),
            },
            next_page: match next < items.len() {
                true => format!("page-{next}"),
                false => String::new(),
            },
        };
        Ok(serde_json::to_string(&page).expect("a listing serializes"))
    }
}

/// `static-secret` → `STATIC_SECRET`, as list-items takes types and answers them.
fn type_name(requested: &str) -> String {
    requested.to_ascii_uppercase().replace('-', "_")
}

fn string<'a>(body: &'a Map<String, Value>, key: &str) -> Result<&'a str, Failure> {
    optional_string(body, key)?.ok_or((400, format!("missing required parameter: {key}")))
}

fn optional_string<'a>(
    body: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, Failure> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => fail(400, format!("{key} must be a string")),
    }
}

fn version(body: &Map<String, Value>) -> Result<Option<u64>, Failure> {
    match body.get("version") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(0) => Ok(None), // the SDK's "latest"
            Some(n) => Ok(Some(n)),
            None => fail(400, "version must be an integer"),
        },
    }
}

fn item_id(name: &str) -> u64 {
    name.bytes().fold(1469598103934665603u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(1099511628211)
    }) >> 16
}

/// Seconds since the epoch as RFC 3339, e.g. `2026-11-26T10:05:00Z`.
pub fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The DER of the certificate in `cert_data` (base64 of its PEM) if the CA in `ca_pem`
/// issued it for client authentication and it is valid now.
fn trusted_cert(
    cert_data: &str,
    ca_pem: &str,
) -> Result<rustls_pki_types::CertificateDer<'static>, String> {
    use base64::Engine;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, UnixTime};
    let pem = base64::engine::general_purpose::STANDARD
        .decode(cert_data)
        .map_err(|_| "cert-data is not base64".to_owned())?;
    let der = CertificateDer::from_pem_slice(&pem)
        .map_err(|_| "cert-data holds no PEM certificate".to_owned())?;
    let ca = CertificateDer::from_pem_slice(ca_pem.as_bytes())
        .map_err(|_| "the fixture's CA is not PEM".to_owned())?;
    let anchor = webpki::anchor_from_trusted_cert(&ca)
        .map_err(|e| format!("{e:?}"))?
        .to_owned();
    let cert = webpki::EndEntityCert::try_from(&der).map_err(|e| format!("{e:?}"))?;
    cert.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &[anchor],
        &[],
        UnixTime::now(),
        webpki::KeyUsage::client_auth(),
        None,
        None,
    )
    .map_err(|e| format!("not issued by the auth method's CA ({e:?})"))?;
    Ok(der)
}
