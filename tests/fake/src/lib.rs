//! A local Akeyless V2 API for akl's integration tests, the demo, the container tests and
//! the benchmarks (`src/main.rs` runs it on its own: `cargo run -p fake-akeyless`).
//!
//! It serves HTTPS with a CA generated at start and plain HTTP, at `/`, `/api/v2/` and
//! `/v2/`; verifies JWTs for real; issues expiring tokens bound to roles; keeps a request
//! log; and injects latency and faults. Test-only control endpoints live under `/_fake/`,
//! a path the real API does not have.

pub mod api;
pub mod clouds;
pub mod faults;
pub mod fixture;
pub mod http;
pub mod issuers;
pub mod jwt;
pub mod log;
pub mod metadata;
pub mod sigv4;
pub mod tls;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};

pub use faults::{Fault, FaultKind};
pub use fixture::Fixture;
pub use log::Entry;

use api::Backend;
use fixture::{AuthKind, ItemKind};
use http::{Delivery, Request, Response};

/// The fixture the tests and the demo share.
pub const DEFAULT_FIXTURE: &str = include_str!("../fixtures/default.json");

/// Identities of the default fixture, for the tests that log in with them.
pub mod identities {
    /// The GitLab JWT auth method whose role association wants `grp/app` on a protected ref.
    pub const JWT_ACCESS_ID: &str = "p-gitlab0jwt01";
    pub const KEY_ACCESS_ID: &str = "p-accesskey003";
    pub const ACCESS_KEY: &str = "canary-access-key-3f9a1c7d";
    pub const UID_TOKEN: &str = "u-canary-uid-token-77aa19";
    /// Auth methods for the other CIs' ID tokens and for Kubernetes.
    pub const GITHUB_ACCESS_ID: &str = "p-github0jwt06";
    pub const BITBUCKET_ACCESS_ID: &str = "p-bitbkt0jwt07";
    pub const CIRCLECI_ACCESS_ID: &str = "p-circle0jwt08";
    pub const BUILDKITE_ACCESS_ID: &str = "p-buildk0jwt09";
    pub const AZURE_PIPELINES_ACCESS_ID: &str = "p-azdvps0jwt10";
    pub const K8S_ACCESS_ID: &str = "p-k8sauth00011";
    pub const K8S_CONFIG: &str = "ci-cluster";
    /// What the fake CI token endpoints take as bearer tokens.
    pub const GITHUB_REQUEST_TOKEN: &str = "gh-canary-request-token-5e9f";
    pub const AZURE_ACCESS_TOKEN: &str = "azp-canary-access-token-7c21";
    pub const AZURE_SERVICE_CONNECTION: &str = "svc-akeyless-01";
    /// The issuers the fake mints other CIs' tokens as.
    pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
    pub const BITBUCKET_ISSUER: &str =
        "https://api.bitbucket.org/2.0/workspaces/ws/pipelines-config/identity/oidc";
    pub const CIRCLECI_ISSUER: &str = "https://oidc.circleci.com/org/0f6f1b2a";
    pub const BUILDKITE_ISSUER: &str = "https://agent.buildkite.com";
    pub const AZURE_PIPELINES_ISSUER: &str = "https://vstoken.dev.azure.com/0f6f1b2a";

    /// `aws_iam`: the auth method, bound to the IAM user `ci` and the role `ci-runner`
    /// of this account.
    pub const AWS_ACCESS_ID: &str = "p-awsiam000012";
    pub const AWS_ACCOUNT: &str = "123456789012";
    /// The IAM user `ci`'s long-term keys (bound).
    pub const AWS_USER_KEY_ID: &str = "AKIAFAKECIUSER000001";
    pub const AWS_USER_SECRET: &str = "aws-canary-user-secret-0b7e4d1c9a";
    /// The IAM user `intruder`'s keys (valid, not bound).
    pub const AWS_INTRUDER_KEY_ID: &str = "AKIAFAKEINTRUDER0002";
    pub const AWS_INTRUDER_SECRET: &str = "aws-canary-intruder-secret-5c3a77";
    /// The role the fake's IMDS and container endpoint hand out credentials for.
    pub const AWS_ROLE: &str = "ci-runner";
    pub const AWS_ROLE_KEY_ID: &str = "ASIAFAKECIRUNNER0003";
    pub const AWS_ROLE_SECRET: &str = "aws-canary-role-secret-8e2f6a41";
    pub const AWS_SESSION_TOKEN: &str = "aws-canary-session-token-3d9c7b15e2";
    /// What the fake container credentials endpoint takes as `Authorization`.
    pub const AWS_CONTAINER_TOKEN: &str = "aws-canary-container-authz-6f1e90";

    /// `azure_ad`: the auth method, bound to this tenant and the system-assigned identity.
    pub const AZURE_AD_ACCESS_ID: &str = "p-azuread00013";
    pub const AZURE_TENANT: &str = "7d1c2b3a-0000-4000-8000-00000000a2e1";
    /// The VM's system-assigned identity (bound) and a user-assigned one (not bound).
    pub const AZURE_SYSTEM_OBJECT_ID: &str = "5b1a4c3e-1111-4000-8000-0000000000aa";
    pub const AZURE_USER_OBJECT_ID: &str = "9c8d7e6f-2222-4000-8000-0000000000bb";
    /// What the fake App Service endpoint takes as `X-IDENTITY-HEADER`.
    pub const AZURE_IDENTITY_HEADER: &str = "azure-canary-identity-header-2b8d41";

    /// `gcp`: the auth method, for audience `akeyless.io` and this service account.
    pub const GCP_ACCESS_ID: &str = "p-gcpauth00014";
    pub const GCP_SERVICE_ACCOUNT: &str = "ci-runner@fake-project.iam.gserviceaccount.com";
}

/// Route prefixes the V2 API is served under, longest first.
const PREFIXES: [&str; 3] = ["/api/v2/", "/v2/", "/"];

#[derive(Debug, Clone)]
pub struct Options {
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub https_port: u16,
    pub http_port: u16,
    /// Extra names for the server certificate, besides localhost and loopback.
    pub cert_names: Vec<String>,
    /// Lay the API out as an older gateway on port 8080 does: the legacy V1 API at the
    /// root, V2 only under `/v2`.
    pub v1_root: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            https_port: 0,
            http_port: 0,
            cert_names: Vec::new(),
            v1_root: false,
        }
    }
}

pub struct Fake {
    shared: Arc<Shared>,
    https: SocketAddr,
    http: SocketAddr,
    ca_pem: String,
}

impl std::fmt::Debug for Fake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fake")
            .field("https", &self.https)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

struct Shared {
    backend: Backend,
    v1_root: bool,
    log: log::Log,
    faults: faults::Faults,
    latency_ms: AtomicU64,
    /// Every JWT minted, and canaries a test adds (keys it generated).
    minted: Mutex<Vec<String>>,
    /// The session tokens the fake IMDS handed out.
    imds_tokens: Mutex<Vec<String>>,
}

impl Fake {
    /// Starts on free loopback ports.
    pub fn start(fixture: Fixture) -> Fake {
        Self::start_with(fixture, Options::default()).expect("fake Akeyless server starts")
    }

    pub fn start_default() -> Fake {
        Self::start(Fixture::from_json(DEFAULT_FIXTURE).expect("default fixture"))
    }

    pub fn start_with(fixture: Fixture, options: Options) -> io::Result<Fake> {
        let https_listener = TcpListener::bind((options.bind, options.https_port))?;
        let http_listener = TcpListener::bind((options.bind, options.http_port))?;
        let tls = tls::generate(&options.cert_names);
        let shared = Arc::new(Shared {
            faults: faults::Faults::default(),
            latency_ms: AtomicU64::new(fixture.latency_ms),
            log: log::Log::default(),
            minted: Mutex::default(),
            imds_tokens: Mutex::default(),
            backend: Backend::new(fixture),
            v1_root: options.v1_root,
        });
        shared.faults.set(shared.backend.fixture.faults.clone());
        let fake = Fake {
            https: https_listener.local_addr()?,
            http: http_listener.local_addr()?,
            ca_pem: tls.ca_pem,
            shared: shared.clone(),
        };
        for (listener, config, scheme) in [
            (https_listener, Some(tls.server), "https"),
            (http_listener, None, "http"),
        ] {
            let shared = shared.clone();
            http::serve(
                listener,
                config,
                Arc::new(move |req: &Request| shared.handle(req, scheme)),
            );
        }
        Ok(fake)
    }

    /// The HTTPS base URL (V2 at the root).
    pub fn url(&self) -> String {
        format!("https://{}", self.https)
    }

    pub fn http_url(&self) -> String {
        format!("http://{}", self.http)
    }

    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    pub fn log(&self) -> Vec<Entry> {
        self.shared.log.entries()
    }

    /// How many requests reached `endpoint` (faulted ones included).
    pub fn count(&self, endpoint: &str) -> usize {
        self.shared.log.counts().get(endpoint).copied().unwrap_or(0)
    }

    /// Requests per endpoint.
    pub fn counts(&self) -> std::collections::BTreeMap<String, usize> {
        self.shared.log.counts()
    }

    /// `counts` without `endpoint`: for runs whose requests to it race with others (akl
    /// lists folders speculatively and drops the listing when the batch answers first).
    pub fn counts_except(&self, endpoint: &str) -> std::collections::BTreeMap<String, usize> {
        let mut counts = self.counts();
        counts.remove(endpoint);
        counts
    }

    /// Adds a canary: a secret a test made (a private key) that must not leak either.
    pub fn add_canary(&self, secret: &str) {
        self.shared.minted.lock().unwrap().push(secret.to_owned());
    }

    /// Adds an item while the fake runs.
    pub fn add_item(&self, item: fixture::Item) {
        self.shared.backend.added.lock().unwrap().push(item);
    }

    /// The SSH issuers' CA public key line, for an sshd's `TrustedUserCAKeys`.
    pub fn ssh_ca(&self) -> String {
        self.shared.backend.issuers.ssh_ca()
    }

    /// Every key, public key line or CSR that certificate requests carried, as sent and
    /// base64-decoded: where a private key must never be found.
    pub fn key_material(&self) -> Vec<String> {
        self.shared.backend.key_material.lock().unwrap().clone()
    }

    /// The PKI issuers' root CA (PEM): what verifies the certificates they issue.
    pub fn pki_root_pem(&self) -> &str {
        self.shared.backend.issuers.root_pem()
    }

    /// The dynamic secrets' credentials not revoked yet, as `item id`.
    pub fn live(&self) -> Vec<String> {
        self.shared.backend.live_ids()
    }

    pub fn clear_log(&self) {
        self.shared.log.clear();
    }

    pub fn set_faults(&self, faults: Vec<Fault>) {
        self.shared.faults.set(faults);
    }

    /// Moves the fake's clock (the one STS checks a signature's date against) by
    /// `seconds`, as a runner whose clock drifted would see it.
    pub fn set_clock_offset(&self, seconds: i64) {
        self.shared
            .backend
            .clock_offset
            .store(seconds, Ordering::Relaxed);
    }

    pub fn set_latency(&self, latency: Duration) {
        self.shared
            .latency_ms
            .store(latency.as_millis() as u64, Ordering::Relaxed);
    }

    /// A GitLab-shaped ID token signed with the key the fake's JWT auth methods trust.
    pub fn mint_jwt(&self, overrides: &Value) -> String {
        self.shared.mint(overrides, false)
    }

    /// The same, signed with a key no auth method trusts.
    pub fn mint_foreign_jwt(&self, overrides: &Value) -> String {
        self.shared.mint(overrides, true)
    }

    /// Every secret string the fake knows or handed out: item values, access keys, tokens,
    /// dynamic credentials, minted JWTs. None of them may appear in `akl`'s output except
    /// where the output is the secret itself.
    pub fn canaries(&self) -> Vec<String> {
        let fixture = &self.shared.backend.fixture;
        let mut all: Vec<String> = Vec::new();
        for method in &fixture.auth_methods {
            match &method.kind {
                AuthKind::AccessKey { access_key } => all.push(access_key.clone()),
                AuthKind::UniversalIdentity { uid_token } => all.push(uid_token.clone()),
                AuthKind::Jwt { .. }
                | AuthKind::K8s { .. }
                | AuthKind::Cert { .. }
                | AuthKind::AwsIam { .. }
                | AuthKind::AzureAd { .. }
                | AuthKind::Gcp { .. } => {}
            }
        }
        for item in &fixture.items {
            match &item.kind {
                ItemKind::Static { .. } => {
                    all.extend(
                        item.static_versions()
                            .unwrap_or_default()
                            .into_iter()
                            .map(str::to_owned),
                    );
                }
                ItemKind::Rotated { value, .. } => {
                    all.extend(value.values().filter_map(Value::as_str).map(str::to_owned));
                }
                _ => {}
            }
        }
        all.extend(self.shared.backend.issued.lock().unwrap().iter().cloned());
        all.extend(self.shared.minted.lock().unwrap().iter().cloned());
        all.extend(
            [
                identities::GITHUB_REQUEST_TOKEN,
                identities::AZURE_ACCESS_TOKEN,
                identities::AWS_USER_SECRET,
                identities::AWS_INTRUDER_SECRET,
                identities::AWS_ROLE_SECRET,
                identities::AWS_SESSION_TOKEN,
                identities::AWS_CONTAINER_TOKEN,
                identities::AZURE_IDENTITY_HEADER,
            ]
            .map(str::to_owned),
        );
        // Short strings would match by accident; every canary in the fixtures is long.
        all.retain(|s| s.len() >= 8);
        all.sort();
        all.dedup();
        all
    }
}

impl Shared {
    fn mint(&self, overrides: &Value, foreign: bool) -> String {
        let (trusted, untrusted) = jwt::keys();
        let key = if foreign { untrusted } else { trusted };
        let token = key.sign(&jwt::gitlab_claims(overrides));
        self.minted.lock().unwrap().push(token.clone());
        token
    }

    fn handle(&self, req: &Request, scheme: &str) -> Response {
        if let Some(control) = req.path.strip_prefix("/_fake/") {
            return self.control(control, req);
        }
        if let Some(ci) = req.path.strip_prefix("/_ci/") {
            return self.ci_token(ci, req);
        }
        if let Some(response) = self.metadata(req) {
            return response;
        }
        let error = |status: u16, text: &str| Response::json(status, &json!({ "error": text }));
        let Some((prefix, command)) = PREFIXES
            .iter()
            .find_map(|p| Some((*p, req.path.strip_prefix(p)?)))
            .filter(|(_, c)| !c.is_empty() && !c.contains('/'))
        else {
            return error(404, "not found");
        };
        if req.method != "POST" {
            return error(405, "method not allowed: the API takes POST");
        }
        if self.v1_root && prefix == "/" {
            // The V1 API takes form-encoded `cmd=…` at the root; a V2 path is not one of
            // its commands.
            return error(
                404,
                &format!("V1 API: unknown path /{command}; the V2 API is under /v2"),
            );
        }

        let started_ms = self.log.elapsed_ms();
        let body: Option<Map<String, Value>> = serde_json::from_slice(&req.body).ok();
        let mut entry = Entry {
            endpoint: command.to_owned(),
            prefix: prefix.to_owned(),
            scheme: scheme.to_owned(),
            keys: body.iter().flat_map(|b| b.keys().cloned()).collect(),
            names: body.as_ref().map(item_names).unwrap_or_default(),
            access_type: body
                .as_ref()
                .and_then(|b| b.get("access-type"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            client_type: req.header("akeylessclienttype").map(str::to_owned),
            args: body
                .as_ref()
                .and_then(|b| b.get("args"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            status: 0,
            started_ms,
            finished_ms: 0,
        };
        entry.keys.sort();

        let caller = api::Caller {
            client_type: entry.client_type.clone(),
        };
        let latency = self.latency_ms.load(Ordering::Relaxed);
        if latency > 0 {
            std::thread::sleep(Duration::from_millis(latency));
        }
        let fault = self.faults.take(command);
        let mut response = match fault.as_ref().and_then(faults::response) {
            Some(faulted) => faulted,
            None if !req
                .header("content-type")
                .is_some_and(|t| t.starts_with("application/json")) =>
            {
                error(400, "Content-Type must be application/json")
            }
            None => match body {
                None => error(400, "the request body is not a JSON object"),
                Some(body) => match self.backend.call(command, &body, &caller) {
                    Ok(api::Reply::Json(value)) => Response::json(200, &value),
                    Ok(api::Reply::Text(text)) => Response::new(200, "application/json", text),
                    Ok(api::Reply::Created) => Response::new(201, "application/json", ""),
                    Err((status, text)) => error(status, &text),
                },
            },
        };
        if fault.is_some_and(|f| f.kind == FaultKind::Truncated) {
            response.delivery = Delivery::Truncated;
        }
        entry.status = response.status;
        entry.finished_ms = self.log.elapsed_ms();
        self.log.push(entry);
        response
    }

    /// The CIs' ID token endpoints, as the runners serve them to jobs: GitHub Actions
    /// (`GET …&audience=…` with the request token as bearer → `{"value": jwt}`) and Azure
    /// Pipelines (`POST …?api-version=7.1&serviceConnectionId=…` with the access token and
    /// `X-TFS-FedAuthRedirect: Suppress` → `{"oidcToken": jwt}`). Each checks what its CI
    /// checks, and logs the call as `ci:<name>`.
    fn ci_token(&self, path: &str, req: &Request) -> Response {
        use identities::*;
        let error = |status: u16, text: &str| Response::json(status, &json!({ "message": text }));
        let query = |name: &str| {
            req.query.split('&').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                (k == name).then(|| v.replace("%3A", ":").replace("%2F", "/"))
            })
        };
        let bearer = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "));
        let entry = |status: u16| Entry {
            endpoint: format!("ci:{path}"),
            prefix: String::new(),
            scheme: "https".into(),
            keys: Vec::new(),
            names: Vec::new(),
            access_type: None,
            client_type: None,
            args: Vec::new(),
            status,
            started_ms: self.log.elapsed_ms(),
            finished_ms: self.log.elapsed_ms(),
        };
        let response = match (req.method.as_str(), path) {
            ("GET", "github/token") if bearer != Some(GITHUB_REQUEST_TOKEN) => {
                error(401, "Bad credentials")
            }
            ("GET", "github/token") => {
                let audience = query("audience").unwrap_or_else(|| "https://github.com/grp".into());
                let jwt = self.mint(
                    &json!({
                        "iss": GITHUB_ISSUER,
                        "aud": audience,
                        "sub": "repo:grp/app:ref:refs/heads/main",
                        "repository": "grp/app",
                        "ref": "refs/heads/main",
                    }),
                    false,
                );
                Response::json(200, &json!({ "value": jwt }))
            }
            ("POST", "azure/oidctoken")
                if bearer != Some(AZURE_ACCESS_TOKEN)
                    || req.header("x-tfs-fedauthredirect") != Some("Suppress") =>
            {
                // Without the header, the real service redirects to a sign-in page.
                error(
                    401,
                    "TF400813: The user is not authorized to access this resource.",
                )
            }
            ("POST", "azure/oidctoken")
                if query("api-version").as_deref() != Some("7.1")
                    || query("serviceConnectionId").as_deref()
                        != Some(AZURE_SERVICE_CONNECTION) =>
            {
                error(400, "unknown service connection")
            }
            ("POST", "azure/oidctoken") => {
                let jwt = self.mint(
                    &json!({
                        "iss": AZURE_PIPELINES_ISSUER,
                        "aud": "api://AzureADTokenExchange",
                        "sub": format!("sc://org/project/{AZURE_SERVICE_CONNECTION}"),
                    }),
                    false,
                );
                Response::json(200, &json!({ "oidcToken": jwt }))
            }
            _ => error(404, "not found"),
        };
        self.log.push(entry(response.status));
        response
    }

    fn control(&self, path: &str, req: &Request) -> Response {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        match (req.method.as_str(), path) {
            ("GET", "health") => Response::json(200, &json!({"ok": true})),
            ("GET", "log") => Response::json(
                200,
                &json!({"entries": self.log.entries(), "counts": self.log.counts()}),
            ),
            ("GET", "live") => Response::json(200, &json!({"live": self.backend.live_ids()})),
            ("DELETE", "log") => {
                self.log.clear();
                Response::new(204, "text/plain", "")
            }
            ("PUT", "faults") => {
                let faults = match serde_json::from_value(body["faults"].clone()) {
                    Ok(f) => f,
                    Err(_) if body["faults"].is_null() => Vec::new(),
                    Err(e) => return Response::json(400, &json!({"error": e.to_string()})),
                };
                self.faults.set(faults);
                self.latency_ms
                    .store(body["latency_ms"].as_u64().unwrap_or(0), Ordering::Relaxed);
                Response::json(200, &json!({"ok": true}))
            }
            ("POST", "jwt") => {
                let foreign = req
                    .query
                    .split('&')
                    .any(|p| p == "foreign=1" || p == "foreign=true");
                Response::json(200, &json!({"jwt": self.mint(&body, foreign)}))
            }
            _ => Response::json(404, &json!({"error": "unknown control endpoint"})),
        }
    }
}

fn item_names(body: &Map<String, Value>) -> Vec<String> {
    match body.get("names").or_else(|| body.get("name")) {
        Some(Value::String(name)) => vec![name.clone()],
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}
