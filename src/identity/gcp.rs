//! `gcp`: the `cloud-id` is a Google-signed ID token for the audience, from the metadata
//! server of GCE, GKE (with Workload Identity, the pod's Google service account) or Cloud
//! Run. `format=full` puts the instance's project and zone into the token, which an auth
//! method of type `gce` binds.

use crate::client::{ENDPOINT_TIMEOUT, Endpoints, Route};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::settings::cloud::Gcp;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::CloudId;
use super::service::{Service, query_value};

const METADATA: Service = Service {
    name: "the Google metadata server",
    route: Route::Direct,
    unreachable_hint: "run on GCE, GKE or Cloud Run; on GKE with Workload Identity, bind the pod's Kubernetes service account to a Google service account; GCE_METADATA_HOST overrides the address (metadata.google.internal)",
    timeout: ENDPOINT_TIMEOUT,
};

/// The metadata server's transient failures, which Google's clients retry.
fn retries(status: u16) -> bool {
    matches!(status, 429 | 500..=599)
}

pub async fn cloud_id(endpoints: &Endpoints, gcp: &Gcp) -> Result<CloudId> {
    let url = format!(
        "http://{}/computeMetadata/v1/instance/service-accounts/default/identity?audience={}&format=full",
        gcp.host,
        query_value(&gcp.audience)
    );
    let answer = METADATA
        .send_retrying(endpoints, &url, &[("Metadata-Flavor", "Google")], retries)
        .await?;
    if answer.status != 200 {
        return Err(METADATA.refused(
            &answer,
            "the instance (or, on GKE, the pod's Kubernetes service account) needs a Google service account",
        ));
    }
    let token = match std::str::from_utf8(&answer.body).map(str::trim) {
        Ok(token) if token.split('.').count() == 3 => Secret::new(token),
        _ => {
            return Err(Error::unreachable(format!(
                "{} answered with something that is not an ID token",
                METADATA.name
            ))
            .hint(METADATA.unreachable_hint));
        }
    };
    Ok(CloudId {
        value: Secret::new(STANDARD.encode(token.expose())),
        used: vec![token],
    })
}
