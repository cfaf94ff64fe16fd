//! `aws_iam`: the `cloud-id` is a SigV4-signed STS `GetCallerIdentity` that is never
//! sent; Akeyless replays it to learn who signed it. (Being built.)

use crate::client::Endpoints;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::settings::cloud::Aws;

pub async fn cloud_id(_endpoints: &Endpoints, _aws: &Aws) -> Result<Secret> {
    Err(Error::usage(
        "aws_iam authentication is not available in this build yet",
    ))
}
