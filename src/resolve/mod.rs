//! The fetch plan: from the references a job asked for to their values, in as few round
//! trips as the API allows.
//!
//! 1. Item paths are de-duplicated: two variables reading fields of the same item share one
//!    fetch (for a dynamic secret, one set of credentials).
//! 2. Everything is first asked for as a static secret, in one batched `get-secret-value`
//!    per distinct version (almost always one call). When every item is static, that is the
//!    whole run: authentication plus this one request.
//! 3. If a batch is refused (the API fails the whole call when one name is missing,
//!    forbidden or not static), its items are described concurrently to learn their types,
//!    then static ones are batched again and dynamic and rotated ones fetched
//!    concurrently, at most `CONCURRENCY` requests at a time. A static batch refused again
//!    is split into single fetches, so every failure is pinned to its item.
//!
//! 4. A token the gateway stops accepting mid-run is replaced once (`auth::Session`), and
//!    only what it was refused for is asked again.
//!
//! Nothing here prints; failures are collected per variable, with their reason.

mod reason;
pub mod reference;
pub mod select;
mod shape;
mod wanted;

use std::collections::{BTreeMap, BTreeSet};

use futures_util::stream::{self, StreamExt};
use serde_json::Value;

pub use reason::Reason;
pub use wanted::{Wanted, fingerprint, reference_arg, references};

use crate::auth::Session;
use crate::client::{Api, ApiError, ProducerArgs, Token};
use crate::error::Result;
use crate::secret::Secret;
use reason::classify;
use reference::Reference;
use shape::{Fetched, shape};

/// Requests in flight at once when fetching item by item: enough to hide latency for a
/// job's worth of secrets, few enough not to trip a gateway's rate limit.
pub const CONCURRENCY: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ItemType {
    Static,
    Dynamic,
    Rotated,
}

impl ItemType {
    const ALL: [ItemType; 3] = [ItemType::Static, ItemType::Dynamic, ItemType::Rotated];

    pub fn name(self) -> &'static str {
        match self {
            ItemType::Static => "static",
            ItemType::Dynamic => "dynamic",
            ItemType::Rotated => "rotated",
        }
    }

    /// The `item_type` the API gives this kind of item.
    pub fn api_name(self) -> &'static str {
        match self {
            ItemType::Static => "STATIC_SECRET",
            ItemType::Dynamic => "DYNAMIC_SECRET",
            ItemType::Rotated => "ROTATED_SECRET",
        }
    }

    fn from_api(name: &str) -> Option<ItemType> {
        Self::ALL.into_iter().find(|t| t.api_name() == name)
    }
}

#[derive(Debug)]
pub struct Resolved {
    pub var: String,
    pub value: Secret,
    pub item_type: ItemType,
}

#[derive(Debug)]
pub struct Failure {
    pub var: String,
    pub reference: Reference,
    pub reason: Reason,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub resolved: Vec<Resolved>,
    pub failed: Vec<Failure>,
}

/// One thing to fetch: an item at a version. Dynamic secrets ignore the version.
type Key = (String, Option<u32>);

type FetchResult = Result<(ItemType, Fetched), Reason>;

/// Resolves `wanted` with the session's token. A token refused mid-run is renewed once
/// and the references it failed for are asked again; a token refused after that is an
/// authentication error (exit 3).
pub async fn resolve(session: &mut Session, wanted: Vec<Wanted>) -> Result<Outcome> {
    let mut outcome = fetch(session.api(), session.token(), wanted).await;
    let mut refused = take_refused(&mut outcome);
    if !refused.is_empty() && session.renew().await? {
        let again = refused
            .into_iter()
            .map(|f| Wanted {
                var: f.var,
                reference: f.reference,
            })
            .collect();
        let retried = fetch(session.api(), session.token(), again).await;
        outcome.resolved.extend(retried.resolved);
        outcome.failed.extend(retried.failed);
        refused = take_refused(&mut outcome);
    }
    match refused.first() {
        Some(Failure {
            var,
            reason: Reason::Unauthorized(text),
            ..
        }) => Err(session.refused(&format!("resolving {var}"), text)),
        _ => Ok(outcome),
    }
}

/// Removes the failures of a refused token from `outcome` and returns them.
fn take_refused(outcome: &mut Outcome) -> Vec<Failure> {
    let (refused, rest) = std::mem::take(&mut outcome.failed)
        .into_iter()
        .partition(|f| matches!(f.reason, Reason::Unauthorized(_)));
    outcome.failed = rest;
    refused
}

async fn fetch(api: &Api, token: &Token, wanted: Vec<Wanted>) -> Outcome {
    let keys: BTreeSet<Key> = wanted
        .iter()
        .map(|w| (w.reference.item.clone(), w.reference.version))
        .collect();
    let mut fetched: BTreeMap<Key, FetchResult> = BTreeMap::new();

    // Step 2: everything as static, one batch per version.
    let mut unknown: Vec<Key> = Vec::new();
    for (batch, result) in static_batches(api, token, keys.into_iter().collect()).await {
        match result {
            Ok(values) => {
                for key in batch {
                    match lookup(&values, &key.0) {
                        Some(value) => {
                            fetched.insert(key, Ok((ItemType::Static, Fetched::Text(value))));
                        }
                        None => unknown.push(key),
                    }
                }
            }
            Err(ApiError::Status {
                status: 401,
                message,
            }) => {
                for key in batch {
                    fetched.insert(key, Err(Reason::Unauthorized(message.clone())));
                }
            }
            Err(e) if e.is_refusal() || is_server_error(&e) => unknown.extend(batch),
            Err(e) => {
                for key in batch {
                    fetched.insert(key, Err(Reason::Unreachable(e.clone())));
                }
            }
        }
    }

    // Step 3: learn the types of what the batch did not answer, then fetch by type.
    if !unknown.is_empty() {
        fetched.extend(fetch_by_type(api, token, unknown).await);
    }

    let mut outcome = Outcome::default();
    for Wanted { var, reference } in wanted {
        let key = (reference.item.clone(), reference.version);
        let result = match fetched.get(&key) {
            Some(Ok((item_type, value))) => {
                shape(value.clone(), &reference).map(|v| (*item_type, v))
            }
            Some(Err(reason)) => Err(reason.clone()),
            None => Err(Reason::NotFound(None)),
        };
        match result {
            Ok((item_type, value)) => outcome.resolved.push(Resolved {
                var,
                value,
                item_type,
            }),
            Err(reason) => outcome.failed.push(Failure {
                var,
                reference,
                reason,
            }),
        }
    }
    outcome
}

fn is_server_error(e: &ApiError) -> bool {
    matches!(e, ApiError::Status { status, .. } if *status >= 500 || *status == 429)
}

/// One `get-secret-value` per distinct version, concurrently; each with its keys.
async fn static_batches(
    api: &Api,
    token: &Token,
    keys: Vec<Key>,
) -> Vec<(Vec<Key>, Result<Vec<(String, Secret)>, ApiError>)> {
    let mut by_version: BTreeMap<Option<u32>, Vec<Key>> = BTreeMap::new();
    for key in keys {
        by_version.entry(key.1).or_default().push(key);
    }
    concurrently(by_version.into_iter(), |(version, batch)| async move {
        let names: Vec<&str> = batch.iter().map(|k| k.0.as_str()).collect();
        let result = api.get_secret_values(token, &names, version).await;
        (batch, result)
    })
    .await
}

/// Finds an item's value in a batch answer, whether the gateway keyed it with or without
/// the leading slash.
fn lookup(values: &[(String, Secret)], item: &str) -> Option<Secret> {
    let bare = item.trim_start_matches('/');
    values
        .iter()
        .find(|(name, _)| name == item || name.trim_start_matches('/') == bare)
        .map(|(_, v)| v.clone())
}

async fn fetch_by_type(api: &Api, token: &Token, keys: Vec<Key>) -> BTreeMap<Key, FetchResult> {
    let items: BTreeSet<&str> = keys.iter().map(|k| k.0.as_str()).collect();
    let described: BTreeMap<&str, Result<(ItemType, Option<i64>), Reason>> =
        concurrently(items.into_iter(), |item| async move {
            (item, describe(api, token, item).await)
        })
        .await
        .into_iter()
        .collect();

    let described = &described;
    let mut results = BTreeMap::new();
    let mut statics = Vec::new();
    let mut singles = Vec::new();
    for key in &keys {
        match &described[key.0.as_str()] {
            Err(reason) => {
                results.insert(key.clone(), Err(reason.clone()));
            }
            Ok((ItemType::Static, _)) => statics.push(key.clone()),
            Ok((ItemType::Dynamic, _)) if key.1.is_some() => {
                results.insert(key.clone(), Err(Reason::VersionOnDynamic));
            }
            Ok((item_type, _)) => singles.push((key.clone(), *item_type)),
        }
    }

    // Statics again as batches, while dynamic and rotated secrets are fetched alongside.
    let batches = static_batches(api, token, statics);
    let others = concurrently(singles.into_iter(), |(key, item_type)| async move {
        let result = match item_type {
            ItemType::Dynamic => api
                .get_dynamic_secret_value(token, &key.0, &ProducerArgs::default())
                .await
                .map(Value::Object),
            _ => api.get_rotated_secret_value(token, &key.0, key.1).await,
        };
        let latest = described[key.0.as_str()].as_ref().ok().and_then(|d| d.1);
        let result = result
            .map(|v| (item_type, Fetched::Json(v)))
            .map_err(|e| classify(e, key.1, latest));
        (key, result)
    });
    let (batches, others) = tokio::join!(batches, others);
    results.extend(others);

    let mut retry = Vec::new();
    for (batch, result) in batches {
        match result {
            Ok(values) => {
                for key in batch {
                    let value = lookup(&values, &key.0).ok_or(Reason::NotFound(None));
                    results.insert(key, value.map(|v| (ItemType::Static, Fetched::Text(v))));
                }
            }
            Err(e) if e.is_refusal() && batch.len() > 1 => retry.extend(batch),
            Err(e) => {
                for key in batch {
                    let latest = described[key.0.as_str()].as_ref().ok().and_then(|d| d.1);
                    results.insert(key.clone(), Err(classify(e.clone(), key.1, latest)));
                }
            }
        }
    }
    // A batch of several refused as a whole: one request each pins the failure down.
    let singles = concurrently(retry.into_iter(), |key| async move {
        let result = api.get_secret_values(token, &[key.0.as_str()], key.1).await;
        let latest = described[key.0.as_str()].as_ref().ok().and_then(|d| d.1);
        let result = match result {
            Ok(values) => lookup(&values, &key.0)
                .map(|v| (ItemType::Static, Fetched::Text(v)))
                .ok_or(Reason::NotFound(None)),
            Err(e) => Err(classify(e, key.1, latest)),
        };
        (key, result)
    })
    .await;
    results.extend(singles);
    results
}

/// The item's type and latest version, or why it cannot be had (`akl doctor` asks this
/// too, so both tell items apart the same way).
pub async fn describe(
    api: &Api,
    token: &Token,
    item: &str,
) -> Result<(ItemType, Option<i64>), Reason> {
    match api.describe_item(token, item).await {
        Ok(info) if info.item_name.as_deref().is_some_and(|n| !n.is_empty()) => {
            let item_type = match info.item_type.as_deref() {
                Some(name) => ItemType::from_api(name)
                    .ok_or_else(|| Reason::WrongType(crate::error::printable(name, 60)))?,
                None => return Err(Reason::WrongType("item of unknown type".to_owned())),
            };
            Ok((item_type, info.last_version))
        }
        // An answer without a name is how the API can show an item we may not see.
        Ok(_) => Err(Reason::NotFound(None)),
        Err(ApiError::Status {
            status: 401,
            message,
        }) => Err(Reason::Unauthorized(message)),
        // Missing and forbidden items both answer 404 (or 403): the text adds nothing.
        Err(ApiError::Status {
            status: 403 | 404, ..
        }) => Err(Reason::NotFound(None)),
        Err(ApiError::Status { status, message }) if status < 500 && status != 429 => {
            Err(Reason::NotFound(Some(message)))
        }
        Err(e) => Err(Reason::Unreachable(e)),
    }
}

/// Runs `f` over `items` with at most `CONCURRENCY` futures in flight.
async fn concurrently<I, F, Fut, T>(items: I, f: F) -> Vec<T>
where
    I: Iterator,
    F: FnMut(I::Item) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    stream::iter(items)
        .map(f)
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_answers_match_with_or_without_the_leading_slash() {
        let values = vec![
            ("ci/a".to_owned(), Secret::new("1")),
            ("/ci/b".to_owned(), Secret::new("2")),
        ];
        assert_eq!(lookup(&values, "/ci/a").unwrap().expose(), "1");
        assert_eq!(lookup(&values, "/ci/b").unwrap().expose(), "2");
        assert!(lookup(&values, "/ci/c").is_none());
    }
}
