//! Proving who the job is: from the `Credentials` settings found, the body `/auth` takes.
//! A JWT is read from its variable or minted by the CI; the pod's service-account token
//! is read from its file; a cloud identity becomes the proof its cloud signs (AWS: a
//! signed, never-sent STS request; Azure and Google: a token from the metadata service);
//! a certificate answers the gateway's challenge with a signature made here, the key
//! never sent.
//!
//! Requests go to the identity services through `client::Endpoints` and, for the
//! certificate challenge, to Akeyless through the API client. Every token, key and
//! signature made or read here is a `Secret`, returned to be scrubbed from messages.

mod aws;
mod azure;
mod cert;
mod ci;
mod gcp;
mod k8s;
mod service;
mod sigv4;

use serde_json::{Map, Value};

use crate::client::{Api, Endpoints};
use crate::error::Result;
use crate::secret::Secret;
use crate::settings::Credentials;

pub use ci::jwt;

/// What `/auth` is sent, and what was made or read on the way.
#[derive(Debug)]
pub struct Proof {
    pub body: Map<String, Value>,
    /// The ID token sent, for explaining a refusal by its claims.
    pub jwt: Option<Secret>,
    /// Every credential made or read, for the scrub list.
    pub secrets: Vec<Secret>,
}

/// Puts a credential into the body, and on the scrub list.
fn put(proof: &mut Proof, key: &str, value: Secret) {
    proof.body.insert(key.into(), value.expose().into());
    proof.secrets.push(value);
}

/// A cloud's proof of identity: the `cloud-id`, and what was read or made on the way to
/// it (an AWS secret key and session token, the signature, a token before its base64),
/// which go on the scrub list too: a gateway that echoes any of them must not put it into
/// the job log.
#[derive(Debug)]
struct CloudId {
    value: Secret,
    used: Vec<Secret>,
}

fn put_cloud_id(proof: &mut Proof, cloud_id: CloudId) {
    proof.secrets.extend(cloud_id.used);
    put(proof, "cloud-id", cloud_id.value);
}

/// The proof of `credentials` (not a ready token: that needs none).
pub async fn prove(api: &Api, endpoints: &Endpoints, credentials: &Credentials) -> Result<Proof> {
    let mut proof = Proof {
        body: Map::new(),
        jwt: None,
        secrets: Vec::new(),
    };
    let (access_id, access_type) = match (credentials.access_id(), credentials.access_type()) {
        (Some(id), Some(t)) => (id, t),
        _ => return Ok(proof),
    };
    proof.body.insert("access-id".into(), access_id.into());
    proof
        .body
        .insert("access-type".into(), access_type.name().into());
    match credentials {
        Credentials::Token { .. } => {}
        Credentials::AccessKey { access_key, .. } => {
            put(&mut proof, "access-key", access_key.clone())
        }
        Credentials::Jwt { source, .. } => {
            let token = jwt(endpoints, source).await?;
            put(&mut proof, "jwt", token.clone());
            proof.jwt = Some(token);
        }
        Credentials::K8s {
            token_file,
            config_name,
            ..
        } => {
            put(
                &mut proof,
                "k8s-service-account-token",
                k8s::token(token_file)?,
            );
            proof
                .body
                .insert("k8s-auth-config-name".into(), config_name.as_str().into());
            proof
                .body
                .insert("gateway-url".into(), api.gateway().origin().into());
        }
        Credentials::AwsIam { aws, .. } => {
            put_cloud_id(&mut proof, aws::cloud_id(endpoints, aws).await?)
        }
        Credentials::AzureAd { azure, .. } => {
            put_cloud_id(&mut proof, azure::cloud_id(endpoints, azure).await?)
        }
        Credentials::Gcp { gcp, .. } => {
            put_cloud_id(&mut proof, gcp::cloud_id(endpoints, gcp).await?);
            proof
                .body
                .insert("gcp-audience".into(), gcp.audience.as_str().into());
        }
        Credentials::Cert {
            cert_file,
            key_file,
            ..
        } => {
            let answer = cert::answer(api, access_id, cert_file, key_file).await?;
            proof
                .body
                .insert("cert-data".into(), answer.cert_data.as_str().into());
            put(&mut proof, "cert-challenge", answer.challenge);
            put(&mut proof, "signed-cert-challenge", answer.signature);
        }
    }
    Ok(proof)
}
