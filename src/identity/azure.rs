//! `azure_ad`: the `cloud-id` is a managed identity's access token for Azure Resource
//! Manager, from the instance metadata service or App Service's endpoint. (Being built.)

use crate::client::Endpoints;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::settings::cloud::Azure;

pub async fn cloud_id(_endpoints: &Endpoints, _azure: &Azure) -> Result<Secret> {
    Err(Error::usage(
        "azure_ad authentication is not available in this build yet",
    ))
}
