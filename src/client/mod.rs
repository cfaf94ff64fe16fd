//! The HTTP client for the Akeyless V2 API: the only network code in `akl`.
//!
//! Every operation is `POST <gateway>/<command>` with a kebab-case JSON body that carries
//! the token; answers are snake_case JSON, errors `{"error": "…"}` (`docs/akeyless-api.md`).
//! This module owns the wire format, the timeouts and the response-size cap, and turns
//! every way a call can go wrong into an `ApiError` that is safe to print.
//!
//! A leaf: it takes plain options (a gateway, trust anchors, a timeout, the strings to
//! scrub) and knows nothing of settings, logins or references.

mod endpoints;
mod error;
mod gateway;
mod retry;
mod spare;
mod tls;
mod token;
mod values;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION, RETRY_AFTER};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::json;
use crate::secret::Secret;
use retry::Policy;

pub use endpoints::{Answer, Endpoints, REQUEST_TIMEOUT as ENDPOINT_TIMEOUT, Route};
pub use error::{ApiError, During};
pub use gateway::Gateway;
pub use tls::Anchors;
pub use token::Token;
pub use values::{SecretValues, canonical};

/// What `akl` sends as `akeylessclienttype` unless told otherwise.
pub const CLIENT_TYPE: &str = "akl";
const USER_AGENT: &str = concat!("akl/", env!("CARGO_PKG_VERSION"));
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Dynamic secrets may take the producer's own timeout (15 s by default) to answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Far above any real answer (a batch of thousands of secrets, a 10 MiB value escaped),
/// far below what could exhaust a CI container's memory; `json::parse` bounds what the
/// answer may cost parsed.
pub(super) const MAX_RESPONSE_BYTES: usize = 32 << 20;

/// Entries one listing may hold, over all its pages: far beyond any real folder, and a
/// bound on what a gateway that never stops paging can make us keep.
const MAX_LISTED: usize = 100_000;
/// Server error text is shown to the user; a proxy's error page is not worth more.
const MAX_ERROR_CHARS: usize = 300;

#[derive(Debug)]
pub struct Api {
    http: reqwest::Client,
    gateway: Gateway,
    deadline: Instant,
    /// Our own credentials, scrubbed from any server text before it is shown: a gateway
    /// that echoes a rejected token back must not put it into the job log.
    scrub: Vec<Secret>,
    /// Requests sent, for the summary line.
    requests: AtomicUsize,
    client_type: String,
    /// The connection `Spare::open` asks for (`spare.rs`).
    spares: Arc<spare::Spares>,
}

/// A login: the token, when it expires (seconds since the epoch, if the answer says),
/// and the whole answer (which `akeyless auth --json` prints).
#[derive(Debug)]
pub struct Login {
    pub token: Secret,
    pub expiry: Option<i64>,
    pub answer: Secret,
}

/// What a dynamic secret's producer is given: `key=value` or JSON arguments, and how long
/// it may take, in seconds (the API's default is 15).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProducerArgs {
    pub args: Vec<String>,
    pub timeout: Option<u32>,
}

/// What to list: a folder, optionally narrowed by a name substring, item types
/// (`static-secret`, `dynamic-secret`, …) and to the folder itself.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub path: String,
    pub filter: Option<String>,
    pub types: Vec<String>,
    pub current_folder: bool,
    /// Only the first page: a look, not a walk.
    pub one_page: bool,
}

/// Every page of a listing, joined: the items as the API describes them (`item_name`,
/// `item_type`, …; `T` says which of their fields are read) and the sub-folders' paths.
#[derive(Debug)]
pub struct Listing<T = Map<String, Value>> {
    pub items: Vec<T>,
    pub folders: Vec<String>,
}

/// What the fetch plan reads of a listed item; the other fields are skipped, not parsed.
/// Each as any JSON value, and a field given twice keeps its last value (as a map of the
/// item would), so that one malformed item does not fail the listing.
#[derive(Debug, Default)]
pub struct ItemSummary {
    pub item_name: Value,
    pub item_type: Value,
    pub last_version: Value,
}

impl<'de> Deserialize<'de> for ItemSummary {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = ItemSummary;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a listed item")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ItemSummary, A::Error> {
                let mut item = ItemSummary::default();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match &*key {
                        "item_name" => item.item_name = map.next_value()?,
                        "item_type" => item.item_type = map.next_value()?,
                        "last_version" => item.last_version = map.next_value()?,
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(item)
            }
        }
        d.deserialize_map(Fields)
    }
}

/// Opens a second connection to the gateway, for the first requests that go two at a time
/// (`spare.rs` says how).
pub struct Spare {
    http: reqwest::Client,
    origin: String,
    spares: Arc<spare::Spares>,
}

impl Spare {
    /// Marks the next connect as the spare and has reqwest make it: a request polled once
    /// (the connector starts the spare and fails that request at once) and dropped, never
    /// written. The gateway sees a connection, no request.
    pub fn open(self) {
        use futures_util::FutureExt;
        self.spares.want();
        let _ = self.http.head(self.origin).send().now_or_never();
    }
}

/// The answer of `describe-item`, reduced to what dispatch needs.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ItemInfo {
    pub item_name: Option<String>,
    pub item_type: Option<String>,
    pub last_version: Option<i64>,
    /// A certificate issuer's limits; what explains a refused certificate.
    #[serde(default)]
    pub certificate_issue_details: Option<IssuerLimits>,
}

/// What a certificate issuer allows (`certificate_issue_details`): the longest TTL in
/// seconds, the SSH users, the TLS names. Absent lists are unknown, not empty.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct IssuerLimits {
    pub max_ttl: Option<i64>,
    pub ssh_cert_issuer_details: Option<SshIssuerLimits>,
    pub pki_cert_issuer_details: Option<PkiIssuerLimits>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct SshIssuerLimits {
    pub allowed_users: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct PkiIssuerLimits {
    pub allowed_domains_list: Option<Vec<String>>,
    pub allow_subdomains: Option<bool>,
    pub allow_any_name: Option<bool>,
}

/// What `get-pki-certificate` answers: the PEM certificate and the issuer's chain.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PkiCertificate {
    pub data: String,
    #[serde(default)]
    pub parent_cert: Option<String>,
}

/// The options of `get-ssh-certificate`.
#[derive(Debug, Clone, Copy)]
pub struct SshCertOptions<'a> {
    /// Comma-separated, as the API takes them.
    pub users: &'a str,
    /// The OpenSSH public key line; the only key material that travels.
    pub public_key: &'a str,
    pub ttl: Option<u32>,
    /// `ssh-rsa-cert-v01@openssh.com` rather than `rsa-sha2-*` names, for old servers.
    pub legacy_signing_alg_name: bool,
}

/// What `get-pki-certificate` is asked: a CSR (then the names come from it), or a public
/// key with the names.
#[derive(Debug, Clone, Default)]
pub struct PkiCertOptions<'a> {
    /// The request as its file holds it (PEM), sent base64-encoded as the CLI sends it.
    pub csr: Option<&'a [u8]>,
    /// A public key file's content, sent base64-encoded; never a private key.
    pub public_key: Option<&'a [u8]>,
    pub common_name: Option<&'a str>,
    /// Comma-separated.
    pub alt_names: Option<&'a str>,
    pub ttl: Option<u32>,
}

/// What a client needs to know.
#[derive(Debug)]
pub struct Options {
    pub gateway: Gateway,
    /// CA certificates to trust besides the compiled-in and system ones.
    pub anchors: Vec<Anchors>,
    /// The overall deadline, from now.
    pub timeout: Duration,
    /// Credentials to remove from any server text before it is shown.
    pub scrub: Vec<Secret>,
    /// Sent as `akeylessclienttype`: auth methods can limit which client types may log in.
    pub client_type: String,
    /// Whether the environment names a proxy (`HTTPS_PROXY`, …). When it does not, the
    /// client does not read the environment again to find one: with 10,000 variables,
    /// each of the nine looks reqwest would make is a scan of them all.
    pub proxied: bool,
}

impl Api {
    pub fn new(options: Options) -> Result<Self> {
        let mut headers = HeaderMap::new();
        let client_type = HeaderValue::from_str(&options.client_type).map_err(|_| {
            Error::usage(format!(
                "the client type `{}` cannot be sent in an HTTP header",
                options.client_type
            ))
        })?;
        headers.insert("akeylessclienttype", client_type);
        let spares = Arc::new(spare::Spares::default());
        let builder = match options.proxied {
            true => reqwest::Client::builder(),
            false => reqwest::Client::builder().no_proxy(),
        };
        let http = builder
            .use_preconfigured_tls(tls::client_config(&options.anchors)?)
            .connector_layer(spare::Layered {
                spares: spares.clone(),
                within: CONNECT_TIMEOUT,
            })
            .user_agent(USER_AGENT)
            .default_headers(headers)
            .connect_timeout(CONNECT_TIMEOUT)
            // The token is in the body: following a redirect would hand it to whoever
            // the redirect points at.
            .redirect(reqwest::redirect::Policy::none())
            // Proxies from the environment (HTTPS_PROXY, NO_PROXY, …) are honoured as every
            // CI tool does. A proxy sees only the TLS handshake of an https gateway, but
            // everything, credentials and secrets included, of a plain http one.
            .build()
            .map_err(|e| Error::other(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Api {
            http,
            gateway: options.gateway,
            deadline: Instant::now() + options.timeout,
            scrub: options.scrub,
            requests: AtomicUsize::new(0),
            client_type: options.client_type,
            spares,
        })
    }

    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// What opens a second connection to the gateway (`Spare::open`).
    pub fn spare(&self) -> Spare {
        Spare {
            http: self.http.clone(),
            origin: self.gateway.origin(),
            spares: self.spares.clone(),
        }
    }

    /// What this client sends as `akeylessclienttype`.
    pub fn client_type(&self) -> &str {
        &self.client_type
    }

    /// How many requests this client has made (sent and answered, or failed).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// Adds a credential learned at run time (the token from `/auth`) to the scrub list.
    pub fn scrub_also(&mut self, secret: &Secret) {
        self.scrub.push(secret.clone());
    }

    /// `POST /auth` with a ready body; returns the token and the whole answer.
    pub async fn auth(&self, body: Map<String, Value>) -> Result<Login, ApiError> {
        let answer: Map<String, Value> = self.post("auth", &body, Policy::Idempotent).await?;
        let token = match answer.get("token") {
            Some(Value::String(token)) if !token.is_empty() => Secret::new(token.clone()),
            _ => {
                return Err(ApiError::Malformed {
                    status: 200,
                    content_type: "application/json".into(),
                    reason: "the answer has no token".into(),
                });
            }
        };
        let expiry = answer
            .get("creds")
            .and_then(|c| c.get("expiry"))
            .and_then(Value::as_i64);
        Ok(Login {
            token,
            expiry,
            answer: Secret::new(Value::Object(answer).to_string()),
        })
    }

    /// `POST /get-secret-value` for many static secrets at once. Values arrive as strings;
    /// anything else is kept as its compact JSON text.
    pub async fn get_secret_values(
        &self,
        token: &Token,
        names: &[&str],
        version: Option<u32>,
    ) -> Result<SecretValues, ApiError> {
        #[derive(Serialize)]
        struct Batch<'a> {
            names: &'a [&'a str],
            #[serde(skip_serializing_if = "Option::is_none")]
            version: Option<u32>,
            #[serde(flatten)]
            token: Map<String, Value>,
        }
        let body = Batch {
            names,
            version,
            token: token.body(),
        };
        // A batch too large to answer is split by the caller, not asked again whole.
        let policy = match names.len() {
            1 => Policy::Idempotent,
            _ => Policy::Divisible,
        };
        self.post("get-secret-value", &body, policy).await
    }

    /// `POST /get-dynamic-secret-value`. Every call mints new credentials.
    pub async fn get_dynamic_secret_value(
        &self,
        token: &Token,
        name: &str,
        producer: &ProducerArgs,
    ) -> Result<Map<String, Value>, ApiError> {
        let mut body = token.body();
        body.insert("name".into(), name.into());
        if !producer.args.is_empty() {
            body.insert("args".into(), producer.args.clone().into());
        }
        let mut wait = REQUEST_TIMEOUT;
        if let Some(timeout) = producer.timeout {
            body.insert("timeout".into(), timeout.into());
            // The producer may take all of its timeout; the answer still has to travel.
            wait = wait.max(Duration::from_secs(timeout.into()) + Duration::from_secs(15));
        }
        let value: Map<String, Value> = self
            .post_waiting(
                "get-dynamic-secret-value",
                &body,
                Policy::UnlessAnswered,
                wait,
            )
            .await?;
        // Some producers report failure inside a 200 answer.
        if value.len() == 1 {
            if let Some(Value::String(message)) = value.get("error") {
                return Err(ApiError::Status {
                    status: 200,
                    message: self.clean(message),
                });
            }
        }
        Ok(value)
    }

    /// `POST /get-rotated-secret-value`; `names` is a single string despite its name.
    /// Returns the secret's fields: the `payload` JSON string of custom rotators parsed,
    /// else `target_value`, else the `value` object itself.
    pub async fn get_rotated_secret_value(
        &self,
        token: &Token,
        name: &str,
        version: Option<u32>,
    ) -> Result<Value, ApiError> {
        let mut body = token.body();
        body.insert("names".into(), name.into());
        if let Some(v) = version {
            body.insert("version".into(), v.into());
        }
        #[derive(Deserialize)]
        struct Rotated {
            value: Value,
        }
        let out: Rotated = self
            .post("get-rotated-secret-value", &body, Policy::Idempotent)
            .await?;
        let malformed = |reason: &str| ApiError::Malformed {
            status: 200,
            content_type: "application/json".into(),
            reason: reason.into(),
        };
        match out.value {
            Value::Object(mut fields) => {
                if let Some(payload) = fields.remove("payload") {
                    return match payload {
                        Value::String(text) => json::parse(text.as_bytes())
                            .map_err(|_| malformed("the rotated secret's payload is not JSON")),
                        other => Ok(other),
                    };
                }
                if let Some(target) = fields.remove("target_value") {
                    return Ok(target);
                }
                Ok(Value::Object(fields))
            }
            other => Ok(other),
        }
    }

    /// `POST /describe-item`. An answer without `item_name` is how a missing or forbidden
    /// item can look; the caller decides.
    pub async fn describe_item(&self, token: &Token, name: &str) -> Result<ItemInfo, ApiError> {
        let mut body = token.body();
        body.insert("name".into(), name.into());
        self.post("describe-item", &body, Policy::Idempotent).await
    }

    /// `POST /list-items`, page after page (each answer stays small however large the
    /// folder): every item and sub-folder under `query.path` that the token may list.
    pub async fn list_items<T: DeserializeOwned>(
        &self,
        token: &Token,
        query: &ListQuery,
    ) -> Result<Listing<T>, ApiError> {
        #[derive(Deserialize)]
        #[serde(bound = "T: DeserializeOwned")]
        struct Page<T> {
            #[serde(default)]
            items: Option<Vec<T>>,
            #[serde(default)]
            folders: Option<Vec<String>>,
            #[serde(default)]
            next_page: Option<String>,
        }
        let mut listing = Listing {
            items: Vec::new(),
            folders: Vec::new(),
        };
        let mut next: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let mut body = token.body();
            body.insert("path".into(), query.path.clone().into());
            body.insert("auto-pagination".into(), "disabled".into());
            if let Some(filter) = &query.filter {
                body.insert("filter".into(), filter.clone().into());
            }
            if !query.types.is_empty() {
                body.insert("type".into(), query.types.clone().into());
            }
            if query.current_folder {
                body.insert("current-folder".into(), true.into());
            }
            if let Some(page) = &next {
                body.insert("pagination-token".into(), page.clone().into());
            }
            let page: Page<T> = self.post("list-items", &body, Policy::Idempotent).await?;
            listing.items.extend(page.items.unwrap_or_default());
            listing.folders.extend(page.folders.unwrap_or_default());
            let malformed = |reason: &str| ApiError::Malformed {
                status: 200,
                content_type: "application/json".into(),
                reason: reason.into(),
            };
            if listing.items.len() + listing.folders.len() > MAX_LISTED {
                return Err(malformed("list-items listed more than 100,000 entries"));
            }
            match page.next_page.filter(|p| !p.is_empty() && !query.one_page) {
                // A server that hands back a page token again would loop for ever.
                Some(page) if seen.insert(page.clone()) => next = Some(page),
                Some(_) => return Err(malformed("list-items returned a page token twice")),
                None => return Ok(listing),
            }
        }
    }

    /// `POST /get-cert-challenge`: the challenge a certificate's private key must sign
    /// (valid for a minute). `cert_data` is base64 of the certificate's PEM.
    pub async fn get_cert_challenge(
        &self,
        access_id: &str,
        cert_data: &str,
    ) -> Result<Secret, ApiError> {
        #[derive(Deserialize)]
        struct Challenge {
            challenge: Secret,
        }
        let mut body = Map::new();
        body.insert("access-id".into(), access_id.into());
        body.insert("cert-data".into(), cert_data.into());
        let answer: Challenge = self
            .post("get-cert-challenge", &body, Policy::Idempotent)
            .await?;
        Ok(answer.challenge)
    }

    /// Revokes credentials a dynamic secret minted (`tmp-creds-id` is the `id` its value
    /// carried). Credentials already gone count as revoked.
    pub async fn revoke_dynamic(
        &self,
        token: &Token,
        name: &str,
        id: &str,
    ) -> Result<(), ApiError> {
        let mut body = token.body();
        body.insert("name".into(), name.into());
        body.insert("tmp-creds-id".into(), id.into());
        match self
            .post::<Value>("dynamic-secret-tmp-creds-delete", &body, Policy::Idempotent)
            .await
        {
            Ok(_) | Err(ApiError::Status { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `POST /get-ssh-certificate`: the issuer signs the public key for the users.
    /// Returns the certificate line (`data`). Asking again only signs the same key again,
    /// so every transient failure is retried.
    pub async fn get_ssh_certificate(
        &self,
        token: &Token,
        issuer: &str,
        options: SshCertOptions<'_>,
    ) -> Result<String, ApiError> {
        let mut body = token.body();
        body.insert("cert-issuer-name".into(), issuer.into());
        body.insert("cert-username".into(), options.users.into());
        body.insert("public-key-data".into(), options.public_key.into());
        if let Some(ttl) = options.ttl {
            body.insert("ttl".into(), ttl.into());
        }
        if options.legacy_signing_alg_name {
            body.insert("legacy-signing-alg-name".into(), true.into());
        }
        #[derive(Deserialize)]
        struct Answer {
            data: String,
        }
        let answer: Answer = self
            .post("get-ssh-certificate", &body, Policy::Idempotent)
            .await?;
        Ok(answer.data)
    }

    /// `POST /get-pki-certificate`: the issuer signs a CSR (or a public key with names).
    /// Retried like `get_ssh_certificate`: another certificate for the same key is
    /// harmless.
    pub async fn get_pki_certificate(
        &self,
        token: &Token,
        issuer: &str,
        options: &PkiCertOptions<'_>,
    ) -> Result<PkiCertificate, ApiError> {
        use base64::Engine;
        let base64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let mut body = token.body();
        body.insert("cert-issuer-name".into(), issuer.into());
        if let Some(csr) = options.csr {
            body.insert("csr-data-base64".into(), base64(csr).into());
        }
        if let Some(key) = options.public_key {
            body.insert("key-data-base64".into(), base64(key).into());
        }
        if let Some(cn) = options.common_name {
            body.insert("common-name".into(), cn.into());
        }
        if let Some(names) = options.alt_names {
            body.insert("alt-names".into(), names.into());
        }
        if let Some(ttl) = options.ttl {
            // A string of seconds in this command, unlike get-ssh-certificate's integer.
            body.insert("ttl".into(), ttl.to_string().into());
        }
        self.post("get-pki-certificate", &body, Policy::Idempotent)
            .await
    }

    /// Asks `validate-token` about a token that cannot exist: a V2 API answers in JSON
    /// (usually refusing it), anything else shows the URL is not one.
    pub async fn validate_probe(&self) -> Result<(), ApiError> {
        let mut body = Map::new();
        body.insert("token".into(), "t-akl-doctor-probe".into());
        let _: Value = self
            .post("validate-token", &body, Policy::Idempotent)
            .await?;
        Ok(())
    }

    /// Sends a command, retrying transient failures as `policy` allows, within the
    /// deadline.
    async fn post<T: DeserializeOwned>(
        &self,
        command: &str,
        body: &(impl Serialize + Sync),
        policy: Policy,
    ) -> Result<T, ApiError> {
        self.post_waiting(command, body, policy, REQUEST_TIMEOUT)
            .await
    }

    /// `post`, waiting up to `wait` for each answer.
    async fn post_waiting<T: DeserializeOwned>(
        &self,
        command: &str,
        body: &(impl Serialize + Sync),
        policy: Policy,
        wait: Duration,
    ) -> Result<T, ApiError> {
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            let failure = match self.attempt(command, body, wait).await {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            if !failure.retryable(policy) {
                return Err(failure.error);
            }
            if attempt >= retry::MAX_ATTEMPTS {
                return Err(ApiError::GaveUp {
                    attempts: attempt,
                    millis: started.elapsed().as_millis() as u64,
                    last: Box::new(failure.error),
                });
            }
            let wait = failure
                .retry_after
                .unwrap_or_else(|| retry::backoff(attempt));
            if Instant::now() + wait >= self.deadline {
                return Err(ApiError::Deadline {
                    last: Some(failure.error.to_string()),
                });
            }
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One request and its answer, waited for up to `wait`.
    async fn attempt<T: DeserializeOwned>(
        &self,
        command: &str,
        body: &(impl Serialize + Sync),
        wait: Duration,
    ) -> Result<T, Failure> {
        let unanswered = |error| Failure {
            error,
            retry_after: None,
            answered: false,
        };
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(unanswered(ApiError::Deadline { last: None }));
        }
        let sent = self
            .http
            .post(self.gateway.endpoint(command))
            .header(CONTENT_TYPE, "application/json")
            // Serialized as it is: a 10,000-name batch is not copied into JSON values first.
            .body(serde_json::to_vec(body).expect("request bodies serialize"))
            .timeout(remaining.min(wait))
            .send()
            .await;
        // Counted once it is over: a request dropped on the way (a speculative look the
        // batch made unneeded) is not one of the run's round trips.
        self.requests.fetch_add(1, Ordering::Relaxed);
        let response = sent.map_err(|e| unanswered(self.transport(e, wait)))?;

        let status = response.status();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header(CONTENT_TYPE).unwrap_or_else(|| "none".to_owned());
        let location = header(LOCATION);
        let retry_after = header(RETRY_AFTER).and_then(|v| retry::parse_retry_after(&v));
        let answered = |error| Failure {
            error,
            retry_after,
            answered: true,
        };
        let bytes = read_capped(response).await.map_err(|e| match e {
            Capped::TooLarge => answered(ApiError::TooLarge {
                status: status.as_u16(),
                content_type: content_type.clone(),
            }),
            // The answer began and broke off: for a dynamic secret, it may have been minted.
            Capped::Transport(e) => answered(self.transport(e, wait)),
        })?;

        if !status.is_success() {
            let message = match location {
                Some(to) if status.is_redirection() => format!("redirect to {to}"),
                _ => self.error_text(&bytes, &content_type),
            };
            return Err(answered(ApiError::Status {
                status: status.as_u16(),
                message,
            }));
        }
        // "Created" and "No Content" may come without a body (revoking credentials does).
        let bytes: &[u8] = match status.as_u16() {
            201 | 204 if bytes.trim_ascii().is_empty() => b"null",
            _ => &bytes,
        };
        // Parsed with a bound on the values it may hold: bytes are capped, memory must be
        // too. The reason never quotes the body, which holds secrets.
        json::parse(bytes).map_err(|refused| {
            answered(ApiError::Malformed {
                status: status.as_u16(),
                content_type,
                reason: format!("the body: {refused}"),
            })
        })
    }

    fn transport(&self, e: reqwest::Error, wait: Duration) -> ApiError {
        if e.is_timeout() {
            if Instant::now() >= self.deadline {
                return ApiError::Deadline { last: None };
            }
            return ApiError::Transport(format!("no answer within {}s", wait.as_secs()));
        }
        ApiError::Transport(self.clean(&chain(&e)))
    }

    /// What a failed answer says: its `error` text when it is JSON, else a description of
    /// what came instead (a proxy's HTML page, an empty body).
    fn error_text(&self, body: &[u8], content_type: &str) -> String {
        #[derive(Deserialize)]
        struct ErrorBody {
            error: Value,
        }
        if let Ok(ErrorBody { error }) = json::parse(body) {
            return self.clean(&json_text(error));
        }
        if body.is_empty() {
            return "empty body".to_owned();
        }
        if content_type.starts_with("text/html") {
            return "an HTML page instead of JSON (a proxy or load balancer in front of the gateway?)".to_owned();
        }
        match std::str::from_utf8(body) {
            Ok(text) => self.clean(text),
            Err(_) => format!("{} bytes of non-text {content_type}", body.len()),
        }
    }

    /// Makes server text safe and readable on one line: credentials removed, control
    /// characters replaced, length capped.
    fn clean(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.scrub {
            if !secret.is_empty() {
                text = text.replace(secret.expose(), "(redacted)");
            }
        }
        crate::error::printable(&text, MAX_ERROR_CHARS)
    }
}

/// A failed attempt, with what decides whether to try again.
struct Failure {
    error: ApiError,
    retry_after: Option<Duration>,
    /// Whether any answer arrived (a status line at least).
    answered: bool,
}

impl Failure {
    fn retryable(&self, policy: Policy) -> bool {
        let transient = match &self.error {
            ApiError::Transport(_) | ApiError::Malformed { .. } => true,
            ApiError::TooLarge { .. } => policy != Policy::Divisible,
            ApiError::Status { status, .. } => matches!(status, 429 | 500 | 502 | 503 | 504),
            ApiError::Deadline { .. } | ApiError::GaveUp { .. } => false,
        };
        transient && (policy != Policy::UnlessAnswered || !self.answered)
    }
}

/// A JSON value as text: strings as themselves, anything else compact.
pub fn json_text(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

enum Capped {
    TooLarge,
    Transport(reqwest::Error),
}

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, Capped> {
    let announced = response.content_length().unwrap_or(0);
    if announced > MAX_RESPONSE_BYTES as u64 {
        return Err(Capped::TooLarge);
    }
    // Sized once when the length is announced: a large answer grown chunk by chunk is
    // copied again at every doubling.
    let mut body = Vec::with_capacity(announced as usize);
    while let Some(chunk) = response.chunk().await.map_err(Capped::Transport)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(Capped::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An error with its causes, `: `-joined. reqwest's chain ("error sending request … :
/// connection refused") is the useful part; it never contains a body.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_item_reads_three_fields_and_the_last_of_a_repeated_one() {
        let item: ItemSummary = serde_json::from_str(
            r#"{"item_name":"/a","item_id":7,"item_type":"X","item_type":"DYNAMIC_SECRET","tags":[{"k":1}]}"#,
        )
        .unwrap();
        assert_eq!(item.item_name, "/a");
        assert_eq!(item.item_type, "DYNAMIC_SECRET");
        assert_eq!(item.last_version, Value::Null);
        let odd: ItemSummary =
            serde_json::from_str(r#"{"item_name":5,"last_version":"2"}"#).unwrap();
        assert_eq!((odd.item_name, odd.last_version), (5.into(), "2".into()));
        assert!(serde_json::from_str::<ItemSummary>(r#"["/a","STATIC_SECRET"]"#).is_err());
    }

    fn api(secrets: &[&str]) -> Api {
        Api {
            http: reqwest::Client::new(),
            gateway: Gateway::default(),
            deadline: Instant::now(),
            scrub: secrets.iter().map(|s| Secret::new(*s)).collect(),
            requests: AtomicUsize::new(0),
            client_type: CLIENT_TYPE.into(),
            spares: Arc::default(),
        }
    }

    #[test]
    fn server_text_is_scrubbed_flattened_and_capped() {
        let a = api(&["t-secret-token"]);
        assert_eq!(
            a.clean("bad token t-secret-token\nretry"),
            "bad token (redacted) retry"
        );
        let long = "x".repeat(1000);
        assert_eq!(a.clean(&long).chars().count(), MAX_ERROR_CHARS + 1);
    }

    #[test]
    fn error_bodies_become_readable_text() {
        let a = api(&[]);
        assert_eq!(
            a.error_text(br#"{"error":"item not found"}"#, "application/json"),
            "item not found"
        );
        assert!(
            a.error_text(b"<html>502</html>", "text/html; charset=utf-8")
                .contains("HTML page")
        );
        assert_eq!(a.error_text(b"", "none"), "empty body");
        assert_eq!(a.error_text(b"plain words", "text/plain"), "plain words");
    }

    #[test]
    fn display_and_classification() {
        let e = ApiError::Status {
            status: 401,
            message: "no".into(),
        };
        assert_eq!(e.to_string(), "401 Unauthorized: no");
        assert!(e.is_refusal());
        assert!(
            !ApiError::Status {
                status: 429,
                message: String::new()
            }
            .is_refusal()
        );
        assert!(
            !ApiError::Status {
                status: 502,
                message: String::new()
            }
            .is_refusal()
        );
        assert!(!ApiError::Deadline { last: None }.is_refusal());
        let err = ApiError::Transport("connection refused".into()).into_error(
            &Gateway::default(),
            "authentication",
            During::Login,
        );
        assert_eq!(err.exit_code(), 5);
        assert!(
            err.to_string()
                .contains("authentication failed at https://api.akeyless.io")
        );
    }
}
