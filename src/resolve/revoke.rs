//! Revoking the credentials dynamic secrets minted for a job, when the job is done with
//! them: `dynamic-secret-tmp-creds-delete` with the `id` the secret's value carried.
//! Producers whose values carry no `id` cannot be revoked this way; their credentials
//! expire with their TTL.

use futures_util::stream::{self, StreamExt};

use crate::auth::Session;
use crate::client::ApiError;
use crate::error::Result;

use super::fetch::{CONCURRENCY, Minted};

/// Revokes every one of `minted`; returns those that could not be, each with why. A
/// token refused on the way is renewed once.
pub async fn revoke(session: &mut Session, minted: Vec<Minted>) -> Result<Vec<(Minted, String)>> {
    let mut failed = revoke_with(session, minted).await;
    let refused = |e: &ApiError| matches!(e, ApiError::Status { status: 401, .. });
    if failed.iter().any(|(_, e)| refused(e)) && session.renew().await? {
        let (again, rest): (Vec<_>, Vec<_>) = failed.into_iter().partition(|(_, e)| refused(e));
        failed = rest;
        failed.extend(revoke_with(session, again.into_iter().map(|(m, _)| m).collect()).await);
    }
    Ok(failed
        .into_iter()
        .map(|(m, e)| (m, e.to_string()))
        .collect())
}

async fn revoke_with(session: &Session, minted: Vec<Minted>) -> Vec<(Minted, ApiError)> {
    let (api, token) = (session.api(), session.token());
    stream::iter(minted)
        .map(|m| async move {
            let result = api.revoke_dynamic(token, &m.name, &m.id).await;
            result.err().map(|e| (m, e))
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|failed| async move { failed })
        .collect()
        .await
}
