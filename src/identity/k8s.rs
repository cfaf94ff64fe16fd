//! The pod's service-account token, as `/auth` takes it for `k8s`: base64 of the JWT.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::{Error, Result};
use crate::files;
use crate::secret::Secret;
use crate::settings::vars::AKEYLESS_K8S_TOKEN_FILE;

/// A projected token is a few KiB.
const MAX_TOKEN: u64 = 64 << 10;

pub fn token(file: &Path) -> Result<Secret> {
    // kubelet writes the token through a symlink into a directory it replaces atomically;
    // the file is root's and world-readable within the pod.
    let bytes = files::read_regular(file, MAX_TOKEN).map_err(|e| {
        Error::usage(format!(
            "cannot read the service-account token {}: {e}",
            file.display()
        ))
        .hint(format!(
            "run in a pod with automountServiceAccountToken (the default), or set {AKEYLESS_K8S_TOKEN_FILE} to a projected token's path"
        ))
    })?;
    let text = std::str::from_utf8(&bytes)
        .map(str::trim)
        .unwrap_or_default();
    if text.split('.').count() != 3 {
        return Err(Error::usage(format!(
            "{} does not hold a service-account token (a JWT)",
            file.display()
        ))
        .hint(format!("set {AKEYLESS_K8S_TOKEN_FILE} to the token's path")));
    }
    Ok(Secret::new(STANDARD.encode(text)))
}
