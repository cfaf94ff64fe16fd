//! The clouds' metadata services, at the paths the real ones use, each checking what the
//! real one checks: AWS's IMDSv2 (a session token from `PUT /latest/api/token`, required
//! on every read) and a container credentials endpoint (EKS Pod Identity's
//! `/v1/credentials` with its `Authorization`), Azure's instance metadata service
//! (`Metadata: true`) and App Service's endpoint (`X-IDENTITY-HEADER`), and Google's
//! metadata server (`Metadata-Flavor: Google`). Tokens are signed with the fake's key, as
//! the Akeyless side (`clouds.rs`) expects. Calls are logged as `imds:token`,
//! `imds:role`, `imds:credentials`, `container:credentials`, `azure:imds`,
//! `azure:app-service` and `gcp:identity`; faults apply under the same names.

use serde_json::{Value, json};

use super::clouds::{GOOGLE_ISSUER, azure_issuer};
use super::http::{Request, Response};
use super::identities::*;
use super::{Entry, Shared, faults, jwt};

const ROLES: &str = "/latest/meta-data/iam/security-credentials/";
const GCP_IDENTITY: &str = "/computeMetadata/v1/instance/service-accounts/default/identity";

impl Shared {
    /// The answer of a metadata service, or `None` for a path none of them serves.
    pub(crate) fn metadata(&self, req: &Request) -> Option<Response> {
        let name = match (req.method.as_str(), req.path.as_str()) {
            (_, "/latest/api/token") => "imds:token",
            (_, ROLES) => "imds:role",
            (_, p) if p.starts_with(ROLES) => "imds:credentials",
            (_, "/v1/credentials") => "container:credentials",
            (_, "/metadata/identity/oauth2/token") => "azure:imds",
            (_, "/msi/token") => "azure:app-service",
            (_, GCP_IDENTITY) => "gcp:identity",
            _ => return None,
        };
        let response = match self.faults.take(name) {
            Some(fault) => faults::response(&fault).unwrap_or_else(|| self.answer(name, req)),
            None => self.answer(name, req),
        };
        let now = self.log.elapsed_ms();
        self.log.push(Entry {
            endpoint: name.to_owned(),
            prefix: String::new(),
            scheme: "http".into(),
            keys: Vec::new(),
            names: Vec::new(),
            access_type: None,
            client_type: None,
            args: Vec::new(),
            status: response.status,
            started_ms: now,
            finished_ms: now,
        });
        Some(response)
    }

    fn answer(&self, name: &str, req: &Request) -> Response {
        let query = |key: &str| query(&req.query, key);
        let get = req.method == "GET";
        match name {
            "imds:token" => {
                if req.method != "PUT" {
                    return text(405, "");
                }
                let ttl = req
                    .header("x-aws-ec2-metadata-token-ttl-seconds")
                    .and_then(|t| t.parse::<u32>().ok());
                // IMDS refuses a token PUT that went through a proxy.
                if !ttl.is_some_and(|t| (1..=21_600).contains(&t))
                    || req.header("x-forwarded-for").is_some()
                {
                    return text(400, "");
                }
                let token = format!("AQAEAfake-imds-token-{}", jwt::random_hex());
                self.imds_tokens.lock().unwrap().push(token.clone());
                self.minted.lock().unwrap().push(token.clone());
                text(200, &token)
            }
            "imds:role" | "imds:credentials" => {
                let sent = req.header("x-aws-ec2-metadata-token").unwrap_or("");
                if !get {
                    return text(405, "");
                }
                // IMDSv2 required: a read without a valid session token is refused.
                if !self.imds_tokens.lock().unwrap().iter().any(|t| t == sent) {
                    return text(401, "");
                }
                match req.path.strip_prefix(ROLES) {
                    Some("") => text(200, AWS_ROLE),
                    Some(AWS_ROLE) => Response::json(200, &role_credentials(true)),
                    _ => text(404, ""),
                }
            }
            "container:credentials" if !get => text(405, ""),
            "container:credentials" => {
                if req.header("authorization") != Some(AWS_CONTAINER_TOKEN) {
                    return Response::json(
                        401,
                        &json!({"Message": "Authorization token is invalid"}),
                    );
                }
                Response::json(200, &role_credentials(false))
            }
            "azure:imds" if !get => text(405, ""),
            "azure:imds" => {
                let refuse = |why: &str| {
                    Response::json(
                        400,
                        &json!({"error": "invalid_request", "error_description": why}),
                    )
                };
                if req.header("metadata") != Some("true") {
                    return refuse("Required metadata header not specified");
                }
                if req.header("x-forwarded-for").is_some() {
                    return refuse("Request contains X-Forwarded-For header");
                }
                if query("api-version").is_none() {
                    return refuse("Required query variable 'api-version' is missing");
                }
                let Some(resource) = query("resource") else {
                    return refuse("Required query variable 'resource' is missing");
                };
                let oid = match query("object_id").as_deref() {
                    None => AZURE_SYSTEM_OBJECT_ID,
                    Some(AZURE_USER_OBJECT_ID) => AZURE_USER_OBJECT_ID,
                    Some(_) => return refuse("Identity not found"),
                };
                Response::json(200, &self.azure_token(&resource, oid))
            }
            "azure:app-service" if !get => text(405, ""),
            "azure:app-service" => {
                if req.header("x-identity-header") != Some(AZURE_IDENTITY_HEADER) {
                    return Response::json(
                        401,
                        &json!({"statusCode": 401, "message": "Unauthorized request"}),
                    );
                }
                let (Some(_), Some(resource)) = (query("api-version"), query("resource")) else {
                    return Response::json(
                        400,
                        &json!({"statusCode": 400, "message": "api-version and resource are required"}),
                    );
                };
                let oid = match query("principal_id").as_deref() {
                    None => AZURE_SYSTEM_OBJECT_ID,
                    Some(AZURE_USER_OBJECT_ID) => AZURE_USER_OBJECT_ID,
                    Some(_) => {
                        return Response::json(
                            400,
                            &json!({"statusCode": 400, "message": "No managed identity found"}),
                        );
                    }
                };
                Response::json(200, &self.azure_token(&resource, oid))
            }
            "gcp:identity" if !get => text(405, ""),
            "gcp:identity" => {
                if req.header("metadata-flavor") != Some("Google") {
                    return text(403, "Missing Metadata-Flavor:Google header.");
                }
                let Some(audience) = query("audience").filter(|a| !a.is_empty()) else {
                    return text(400, "non-empty audience parameter required");
                };
                let iat = jwt::now();
                let mut claims = json!({
                    "iss": GOOGLE_ISSUER,
                    "aud": audience,
                    "azp": "104488029934112890123",
                    "sub": "104488029934112890123",
                    "email": GCP_SERVICE_ACCOUNT,
                    "email_verified": true,
                    "iat": iat,
                    "exp": iat + 3600,
                });
                if query("format").as_deref() == Some("full") {
                    claims["google"] = json!({"compute_engine": {
                        "project_id": "fake-project",
                        "project_number": 123456789012_u64,
                        "zone": "europe-west1-b",
                        "instance_id": "8713095566227350000",
                        "instance_name": "ci-runner-1",
                    }});
                }
                text(200, &self.mint_with(&claims))
            }
            _ => text(404, ""),
        }
    }

    /// An Entra access token of the managed identity `oid`, as IMDS and App Service wrap it.
    fn azure_token(&self, resource: &str, oid: &str) -> Value {
        let iat = jwt::now();
        let token = self.mint_with(&json!({
            "iss": azure_issuer(AZURE_TENANT),
            "aud": resource,
            "tid": AZURE_TENANT,
            "oid": oid,
            "sub": oid,
            "appid": "0e3a1b7c-3333-4000-8000-0000000000cc",
            "idtyp": "app",
            "xms_mirid": "/subscriptions/00000000-0000-4000-8000-000000000001/resourcegroups/ci/providers/Microsoft.Compute/virtualMachines/ci-runner-1",
            "iat": iat,
            "nbf": iat,
            "exp": iat + 3600,
        }));
        json!({
            "access_token": token,
            "client_id": "0e3a1b7c-3333-4000-8000-0000000000cc",
            "expires_in": "3599",
            "expires_on": (iat + 3600).to_string(),
            "ext_expires_in": "3599",
            "not_before": iat.to_string(),
            "resource": resource,
            "token_type": "Bearer",
        })
    }

    /// A token with exactly these claims, signed with the trusted key; a canary.
    fn mint_with(&self, claims: &Value) -> String {
        let token = jwt::keys().0.sign(claims);
        self.minted.lock().unwrap().push(token.clone());
        token
    }
}

/// The role's temporary credentials, as IMDS (with `Code`, `Type`, `LastUpdated`) or a
/// container endpoint (with `RoleArn`) gives them.
fn role_credentials(imds: bool) -> Value {
    let expiration = super::api::rfc3339(jwt::now() + 6 * 3600);
    let mut document = json!({
        "AccessKeyId": AWS_ROLE_KEY_ID,
        "SecretAccessKey": AWS_ROLE_SECRET,
        "Token": AWS_SESSION_TOKEN,
        "Expiration": expiration,
    });
    if imds {
        document["Code"] = "Success".into();
        document["Type"] = "AWS-HMAC".into();
        document["LastUpdated"] = super::api::rfc3339(jwt::now()).into();
    } else {
        document["RoleArn"] = format!("arn:aws:iam::{AWS_ACCOUNT}:role/{AWS_ROLE}").into();
    }
    document
}

fn text(status: u16, body: &str) -> Response {
    Response::new(status, "text/plain", body)
}

/// A query parameter's value, percent-decoded.
fn query(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
