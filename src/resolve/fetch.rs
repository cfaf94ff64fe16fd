//! From the items and folders a run needs to their values, in as few round trips as the
//! API allows (the login is the first):
//!
//! 2. At once: every item asked for as a static secret, in one batched `get-secret-value`
//!    per version; one `list-items` per top-level folder of those items, which says each
//!    item's type in case the batch is refused (the API refuses the whole batch when one
//!    name in it is not a readable static secret); one walk of each folder a reference
//!    names (`/*`, `/**`). When every item is static, the batch is the whole run.
//! 3. What the batch did not answer, by type: the statics in one batch again (with those
//!    of the folders), each dynamic and rotated secret on its own, all at once. An item
//!    no listing showed (the role may not list) is described first and fetched as soon
//!    as its type is known. A static batch refused again is split, to pin the failure on
//!    its item.
//!
//! At most `CONCURRENCY` requests are in flight at once. Every dynamic secret is asked
//! once (each answer mints credentials).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::pin::pin;

use futures_util::future::{Either, join, join_all, select};
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde_json::{Map, Value};
use tokio::sync::Semaphore;

use crate::client::{Api, ApiError, ListQuery, ProducerArgs, Token};
use crate::secret::Secret;

use super::ItemType;
use super::reason::{Reason, classify};
use super::shape::Fetched;

/// Requests in flight at once: enough to fetch a job's worth of secrets in a round trip
/// or two, few enough that a fleet of jobs starting together stays under the rate limits
/// gateways and the SaaS apply per client (they answer 429 well before that).
pub const CONCURRENCY: usize = 16;

/// One item to fetch: its path, the version, and (for a dynamic secret) the producer's
/// arguments; two references that differ in these are two fetches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemKey {
    pub name: String,
    pub version: Option<u32>,
    pub producer: ProducerArgs,
}

/// One folder to walk; `tree` includes its sub-folders.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FolderKey {
    pub path: String,
    pub tree: bool,
    pub producer: ProducerArgs,
}

pub type FetchResult = Result<(ItemType, Fetched), Reason>;

/// Credentials a dynamic secret minted in this run, for revoking them when it ends.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Minted {
    pub name: String,
    /// The `id` the producer gave them (the API's `tmp-creds-id`).
    pub id: String,
}

#[derive(Debug, Default)]
pub struct Fetch {
    pub items: HashMap<ItemKey, FetchResult>,
    /// The secrets found in each folder (an error when it could not be walked).
    pub folders: HashMap<FolderKey, Result<Vec<ItemKey>, Reason>>,
    pub minted: Vec<Minted>,
}

/// What a listing said of an item: its type (or the API's name of another type) and its
/// latest version.
#[derive(Debug, Clone)]
pub(super) struct Listed {
    pub(super) item_type: Result<ItemType, String>,
    latest: Option<i64>,
}

/// Item names as the API answers them, with or without the leading slash.
fn canonical(name: &str) -> String {
    format!("/{}", name.trim_start_matches('/'))
}

async fn limited<F: Future>(limit: &Semaphore, f: F) -> F::Output {
    // The semaphore is never closed, so acquiring only waits.
    let _permit = limit.acquire().await.ok();
    f.await
}

pub async fn fetch(
    api: &Api,
    token: &Token,
    items: Vec<ItemKey>,
    folders: Vec<FolderKey>,
) -> Fetch {
    let limit = Semaphore::new(CONCURRENCY);
    let limit = &limit;
    let mut out = Fetch::default();

    // Round trip 2: the batch, the listings that tell types, the folder walks.
    let first = async {
        let batches = static_batches(api, token, limit, items.clone());
        let walks = join_all(folders.iter().map(|f| walk(api, token, limit, f)));
        join(batches, walks).await
    };
    let listing = pin!(list_types(api, token, limit, &items));
    let ((batches, walks), types) = match select(pin!(first), listing).await {
        Either::Left((first, listing)) => (first, Err(listing)),
        Either::Right((types, first)) => (first.await, Ok(types)),
    };

    let mut unknown: Vec<ItemKey> = Vec::new();
    for (batch, result) in batches {
        match result {
            Ok(values) => {
                for key in batch {
                    match values.get(&canonical(&key.name)) {
                        Some(value) => {
                            out.items
                                .insert(key, Ok((ItemType::Static, Fetched::Text(value.clone()))));
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
                    out.items
                        .insert(key, Err(Reason::Unauthorized(message.clone())));
                }
            }
            Err(e) if e.is_refusal() || is_server_error(&e) => unknown.extend(batch),
            Err(e) => {
                for key in batch {
                    out.items.insert(key, Err(Reason::Unreachable(e.clone())));
                }
            }
        }
    }

    // What the folders hold joins what is left to fetch, typed by their walk.
    let mut known: HashMap<String, Listed> = HashMap::new();
    for (folder, walked) in folders.iter().zip(walks) {
        let found = walked.map(|listed| {
            listed
                .into_iter()
                .filter(|(_, l)| l.item_type.is_ok())
                .map(|(name, l)| {
                    let key = ItemKey {
                        name: name.clone(),
                        version: None,
                        producer: folder.producer.clone(),
                    };
                    known.insert(name, l);
                    key
                })
                .collect::<Vec<_>>()
        });
        if let Ok(keys) = &found {
            unknown.extend(keys.iter().filter(|k| !out.items.contains_key(k)).cloned());
        }
        out.folders.insert(folder.clone(), found);
    }
    unknown.sort();
    unknown.dedup();
    if unknown.is_empty() {
        return out;
    }
    let types = match types {
        Ok(types) => types,
        Err(pending) => pending.await,
    };
    for (name, listed) in types {
        known.entry(name).or_insert(listed);
    }

    // Round trip 3: each by its type, all at once.
    let (mut statics, mut others, mut undescribed) = (Vec::new(), Vec::new(), Vec::new());
    for key in unknown {
        match known.get(&canonical(&key.name)) {
            None => undescribed.push(key),
            Some(Listed {
                item_type: Err(other),
                ..
            }) => {
                out.items.insert(key, Err(Reason::WrongType(other.clone())));
            }
            Some(Listed {
                item_type: Ok(ItemType::Static),
                ..
            }) => statics.push(key),
            Some(Listed {
                item_type: Ok(t),
                latest,
            }) => others.push((key, *t, *latest)),
        }
    }
    let batches = second_batches(api, token, limit, statics, &known);
    let known_types = others
        .into_iter()
        .map(|(key, t, latest)| (key, Some((t, latest))));
    let singles = known_types
        .chain(undescribed.into_iter().map(|key| (key, None)))
        .map(|(key, typed)| async move {
            let (t, latest) = match typed {
                Some(typed) => typed,
                // Not in any listing: its type costs one request more.
                None => match limited(limit, super::describe(api, token, &key.name)).await {
                    Ok(typed) => typed,
                    Err(reason) => return (key, Err(reason)),
                },
            };
            let result = fetch_one(api, token, limit, &key, t, latest).await;
            (key, result)
        })
        .collect::<FuturesUnordered<_>>()
        .collect::<Vec<_>>();
    let (batched, singles) = join(batches, singles).await;
    for (key, result) in batched.into_iter().chain(singles) {
        if let Ok((ItemType::Dynamic, Fetched::Json(value))) = &result {
            if let Some(id) = value.get("id").and_then(Value::as_str) {
                out.minted.push(Minted {
                    name: key.name.clone(),
                    id: id.to_owned(),
                });
            }
        }
        out.items.insert(key, result);
    }
    out
}

fn is_server_error(e: &ApiError) -> bool {
    matches!(e, ApiError::Status { status, .. } if *status >= 500 || *status == 429)
}

type Batch = (Vec<ItemKey>, Result<HashMap<String, Secret>, ApiError>);

/// One `get-secret-value` per distinct version, concurrently; each with its keys and the
/// values by canonical name.
async fn static_batches(
    api: &Api,
    token: &Token,
    limit: &Semaphore,
    keys: Vec<ItemKey>,
) -> Vec<Batch> {
    let mut by_version: BTreeMap<Option<u32>, Vec<ItemKey>> = BTreeMap::new();
    for key in keys {
        by_version.entry(key.version).or_default().push(key);
    }
    join_all(by_version.into_iter().map(|(version, batch)| async move {
        let names: BTreeSet<&str> = batch.iter().map(|k| k.name.as_str()).collect();
        let names: Vec<&str> = names.into_iter().collect();
        let result = limited(limit, api.get_secret_values(token, &names, version))
            .await
            .map(|values| {
                values
                    .into_iter()
                    .map(|(name, value)| (canonical(&name), value))
                    .collect()
            });
        (batch, result)
    }))
    .await
}

/// The statics of round trip 3 in batches; a batch of several refused as a whole is
/// split into single fetches, which pin the failure on its item.
async fn second_batches(
    api: &Api,
    token: &Token,
    limit: &Semaphore,
    statics: Vec<ItemKey>,
    known: &HashMap<String, Listed>,
) -> Vec<(ItemKey, FetchResult)> {
    let latest = |key: &ItemKey| known.get(&canonical(&key.name)).and_then(|l| l.latest);
    let mut results = Vec::new();
    let mut split = Vec::new();
    for (batch, result) in static_batches(api, token, limit, statics).await {
        match result {
            Ok(values) => {
                for key in batch {
                    let value = values
                        .get(&canonical(&key.name))
                        .cloned()
                        .ok_or(Reason::NotFound(None));
                    results.push((key, value.map(|v| (ItemType::Static, Fetched::Text(v)))));
                }
            }
            Err(e) if e.is_refusal() && batch.len() > 1 => split.extend(batch),
            Err(e) => {
                for key in batch {
                    let reason = classify(e.clone(), key.version, latest(&key));
                    results.push((key, Err(reason)));
                }
            }
        }
    }
    let singles = split.into_iter().map(|key| async move {
        let result = fetch_one(api, token, limit, &key, ItemType::Static, latest(&key)).await;
        (key, result)
    });
    results.extend(join_all(singles).await);
    results
}

/// One item of a known type.
async fn fetch_one(
    api: &Api,
    token: &Token,
    limit: &Semaphore,
    key: &ItemKey,
    item_type: ItemType,
    latest: Option<i64>,
) -> FetchResult {
    let name = key.name.as_str();
    let result = match item_type {
        ItemType::Dynamic if key.version.is_some() => return Err(Reason::VersionOnDynamic),
        ItemType::Dynamic => limited(
            limit,
            api.get_dynamic_secret_value(token, name, &key.producer),
        )
        .await
        .map(|v| Fetched::Json(Value::Object(v))),
        ItemType::Rotated => limited(
            limit,
            api.get_rotated_secret_value(token, name, key.version),
        )
        .await
        .map(Fetched::Json),
        ItemType::Static => {
            match limited(limit, api.get_secret_values(token, &[name], key.version)).await {
                Ok(values) => {
                    return values
                        .into_iter()
                        .find(|(n, _)| canonical(n) == canonical(name))
                        .map(|(_, v)| (ItemType::Static, Fetched::Text(v)))
                        .ok_or(Reason::NotFound(None));
                }
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(value) => Ok((item_type, value)),
        Err(ApiError::Status {
            status: 401,
            message,
        }) => Err(Reason::Unauthorized(message)),
        Err(e) => Err(classify(e, key.version, latest)),
    }
}

/// Folders listed speculatively at most, the fullest first; items beyond are described if
/// the batch is refused.
const SPECULATIVE_LISTINGS: usize = 8;

/// The types of the items, from the first page of a `list-items` of each item's folder
/// (without sub-folders; for a single item, narrowed by its name), so that a refused
/// batch costs no extra round trip to learn them. Items a role may not list, or that a
/// first page does not reach, are simply absent.
async fn list_types(
    api: &Api,
    token: &Token,
    limit: &Semaphore,
    items: &[ItemKey],
) -> HashMap<String, Listed> {
    let mut dirs: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for key in items {
        dirs.entry(parent(&key.name)).or_default().insert(&key.name);
    }
    let mut dirs: Vec<(&str, BTreeSet<&str>)> = dirs.into_iter().collect();
    dirs.sort_by_key(|(_, names)| std::cmp::Reverse(names.len()));
    let queries = dirs
        .into_iter()
        .take(SPECULATIVE_LISTINGS)
        .map(|(dir, names)| ListQuery {
            path: dir.to_owned(),
            // A substring filter: the item and any sibling whose name contains its own.
            filter: match names.first() {
                Some(only) if names.len() == 1 => only.rsplit('/').next().map(str::to_owned),
                _ => None,
            },
            types: Vec::new(),
            current_folder: true,
            one_page: true,
        });
    let listings =
        join_all(queries.map(|q| async move { limited(limit, api.list_items(token, &q)).await }))
            .await;
    listings
        .into_iter()
        .flatten()
        .flat_map(|listing| listing.items)
        .filter_map(|item| listed(&item))
        .collect()
}

/// The secrets in a folder (static, dynamic, rotated), by a walk over every page.
pub(super) async fn walk(
    api: &Api,
    token: &Token,
    limit: &Semaphore,
    folder: &FolderKey,
) -> Result<Vec<(String, Listed)>, Reason> {
    let query = ListQuery {
        path: folder.path.clone(),
        filter: None,
        types: ["static-secret", "dynamic-secret", "rotated-secret"]
            .map(str::to_owned)
            .to_vec(),
        current_folder: !folder.tree,
        one_page: false,
    };
    let prefix = format!("{}/", folder.path.trim_end_matches('/'));
    match limited(limit, api.list_items(token, &query)).await {
        Ok(listing) => {
            let mut found: Vec<(String, Listed)> = listing
                .items
                .iter()
                .filter_map(listed)
                // The API filters by path; check it on this side too, as others do.
                .filter(|(name, _)| name.starts_with(&prefix))
                .filter(|(name, _)| folder.tree || !name[prefix.len()..].contains('/'))
                .collect();
            found.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(found)
        }
        Err(ApiError::Status {
            status: 401,
            message,
        }) => Err(Reason::Unauthorized(message)),
        Err(ApiError::Status {
            status: 403 | 404, ..
        }) => Err(Reason::NotFound(None)),
        Err(e) => Err(classify(e, None, None)),
    }
}

/// An item of a listing: its canonical name and what it is.
fn listed(item: &Map<String, Value>) -> Option<(String, Listed)> {
    let name = item.get("item_name")?.as_str()?;
    let item_type = item.get("item_type")?.as_str()?;
    let item_type =
        ItemType::from_api(item_type).ok_or_else(|| crate::error::printable(item_type, 60));
    let latest = item.get("last_version").and_then(Value::as_i64);
    Some((canonical(name), Listed { item_type, latest }))
}

/// `/a/b/c` → `/a/b`; `/a` → `/`.
fn parent(name: &str) -> &str {
    match name.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &name[..i],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_names() {
        assert_eq!(parent("/ci/app/db"), "/ci/app");
        assert_eq!(parent("/db"), "/");
        assert_eq!(canonical("ci/a"), "/ci/a");
        assert_eq!(canonical("/ci/a"), "/ci/a");
    }
}
