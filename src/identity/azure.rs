//! `azure_ad`: the `cloud-id` is a managed identity's access token for Azure Resource
//! Manager, from App Service's endpoint (`IDENTITY_ENDPOINT`, also Functions and Container
//! Apps) or the instance metadata service (VMs, scale sets, AKS nodes). The metadata
//! service answers 404, 429 and 5xx while it is busy or updating; those are retried, as
//! the Azure SDKs retry them, within the run's deadline.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use crate::client::{ENDPOINT_TIMEOUT, Endpoints, Route};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::settings::cloud::{Azure, AzureEndpoint};
use crate::settings::vars::AKEYLESS_AZURE_OBJECT_ID;

use super::CloudId;
use super::service::{Service, query_value};

/// The audience an azure_ad auth method expects by default (`--audience`).
const RESOURCE: &str = "https://management.azure.com/";

const IMDS: Service = Service {
    name: "the Azure instance metadata service",
    route: Route::Direct,
    unreachable_hint: "run on an Azure VM, scale set or AKS node that has a managed identity; from a pod, nothing (a NetworkPolicy, a proxy) may block 169.254.169.254; AZURE_POD_IDENTITY_AUTHORITY_HOST overrides the address",
    timeout: ENDPOINT_TIMEOUT,
};

const APP_SERVICE: Service = Service {
    name: "the App Service managed identity endpoint (IDENTITY_ENDPOINT)",
    route: Route::Direct,
    unreachable_hint: "IDENTITY_ENDPOINT and IDENTITY_HEADER are set by App Service, Functions and Container Apps for the app itself: run akl in the app's own environment",
    timeout: ENDPOINT_TIMEOUT,
};

/// Statuses the Azure SDKs retry on the metadata service (Microsoft's "how to use VM
/// token" error handling: 404 while it updates, 410, 429, 5xx).
fn imds_retries(status: u16) -> bool {
    matches!(status, 404 | 410 | 429 | 500..=599)
}

/// App Service's endpoint is an ordinary web service: a 404 there is a wrong address.
fn app_service_retries(status: u16) -> bool {
    matches!(status, 408 | 429 | 500..=599)
}

pub async fn cloud_id(endpoints: &Endpoints, azure: &Azure) -> Result<CloudId> {
    let resource = query_value(RESOURCE);
    let object_id = azure.object_id.as_deref().map(query_value);
    let (service, answer, mut used) = match &azure.endpoint {
        AzureEndpoint::Imds { base } => {
            let mut url = format!(
                "{base}/metadata/identity/oauth2/token?api-version=2018-02-01&resource={resource}"
            );
            if let Some(id) = &object_id {
                url.push_str("&object_id=");
                url.push_str(id);
            }
            let answer = IMDS
                .send_retrying(endpoints, &url, &[("Metadata", "true")], imds_retries)
                .await?;
            (IMDS, answer, Vec::new())
        }
        AzureEndpoint::AppService { url, header } => {
            let mut url = url.clone();
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str("api-version=2019-08-01&resource=");
            url.push_str(&resource);
            // App Service names a user-assigned identity's object id `principal_id`.
            if let Some(id) = &object_id {
                url.push_str("&principal_id=");
                url.push_str(id);
            }
            let answer = APP_SERVICE
                .send_retrying(
                    endpoints,
                    &url,
                    &[("X-IDENTITY-HEADER", header.expose())],
                    app_service_retries,
                )
                .await?;
            (APP_SERVICE, answer, vec![header.clone()])
        }
    };
    if answer.status != 200 {
        let hint = match (answer.status, &azure.object_id) {
            (400, Some(_)) => format!(
                "{AKEYLESS_AZURE_OBJECT_ID} must be the object (principal) id of a user-assigned identity assigned to this resource"
            ),
            (400, None) => format!(
                "turn on the resource's system-assigned identity, or set {AKEYLESS_AZURE_OBJECT_ID} to a user-assigned identity's object id"
            ),
            _ => "check the resource's managed identity".to_owned(),
        };
        return Err(service.refused(&answer, &hint));
    }
    #[derive(Deserialize)]
    struct Token {
        access_token: Secret,
    }
    let token = service.json::<Token>(&answer)?.access_token;
    if token.expose().split('.').count() != 3 {
        return Err(Error::unreachable(format!(
            "{} answered with an access token that is not a JWT",
            service.name
        )));
    }
    used.push(token.clone());
    Ok(CloudId {
        value: Secret::new(STANDARD.encode(token.expose())),
        used,
    })
}
