//! `gcp`: the `cloud-id` is a Google-signed ID token for the audience, from the metadata
//! server. (Being built.)

use crate::client::Endpoints;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::settings::cloud::Gcp;

pub async fn cloud_id(_endpoints: &Endpoints, _gcp: &Gcp) -> Result<Secret> {
    Err(Error::usage(
        "gcp authentication is not available in this build yet",
    ))
}
