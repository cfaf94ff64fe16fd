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
//! Nothing here prints; failures are collected per variable, with their reason.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use futures_util::stream::{self, StreamExt};
use serde_json::Value;

use crate::api::{Api, ApiError};
use crate::auth::Token;
use crate::reference::{Decode, Reference};
use crate::secret::Secret;
use crate::select::{self, SelectError};

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
    pub fn name(self) -> &'static str {
        match self {
            ItemType::Static => "static",
            ItemType::Dynamic => "dynamic",
            ItemType::Rotated => "rotated",
        }
    }
}

/// A variable and the reference it holds.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub var: String,
    pub reference: Reference,
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

/// Why a reference could not be resolved. Never holds a secret value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Missing and forbidden look the same in the API; say both.
    NotFound(Option<String>),
    NotPermitted(String),
    WrongType(String),
    BadVersion {
        version: u32,
        latest: Option<i64>,
    },
    VersionOnDynamic,
    Field(SelectError),
    NotBase64,
    NotUtf8,
    Nul,
    /// The gateway no longer accepts the token (it expired during the run, or was revoked).
    Unauthorized(String),
    /// Any other refusal, with the gateway's text.
    Refused(ApiError),
    /// No usable answer (connection, 5xx, deadline): the run exits 5, not 4.
    Unreachable(ApiError),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NotFound(None) => f.write_str("not found or not permitted"),
            Reason::NotFound(Some(text)) => write!(f, "not found or not permitted ({text})"),
            Reason::NotPermitted(text) => write!(f, "not permitted ({text})"),
            Reason::WrongType(t) => write!(
                f,
                "wrong type: the item is a {t}; akl reads static, dynamic and rotated secrets"
            ),
            Reason::BadVersion {
                version,
                latest: Some(latest),
            } => {
                write!(
                    f,
                    "bad version: there is no version {version} (the latest is {latest})"
                )
            }
            Reason::BadVersion {
                version,
                latest: None,
            } => write!(f, "bad version: there is no version {version}"),
            Reason::VersionOnDynamic => {
                f.write_str("wrong type: a dynamic secret has no versions; remove |version=")
            }
            Reason::Field(e) => write!(f, "missing field: {e}"),
            Reason::NotBase64 => f.write_str("decode=base64: the value is not valid base64"),
            Reason::NotUtf8 => f.write_str("decode=base64: the decoded value is not UTF-8 text"),
            Reason::Nul => {
                f.write_str("the value contains a NUL byte, which no environment variable can hold")
            }
            Reason::Unauthorized(text) => write!(f, "the token was refused ({text})"),
            Reason::Refused(e) => write!(f, "refused: {e}"),
            Reason::Unreachable(e) => write!(f, "no answer: {e}"),
        }
    }
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub resolved: Vec<Resolved>,
    pub failed: Vec<Failure>,
}

/// One thing to fetch: an item at a version. Dynamic secrets ignore the version.
type Key = (String, Option<u32>);

/// A fetched item, before field selection.
#[derive(Debug, Clone)]
enum Fetched {
    Text(Secret),
    Json(Value),
}

type FetchResult = Result<(ItemType, Fetched), Reason>;

pub async fn resolve(api: &Api, token: &Token, wanted: Vec<Wanted>) -> Outcome {
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
                .get_dynamic_secret_value(token, &key.0)
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

/// The item's type and latest version, or why it cannot be had.
async fn describe(api: &Api, token: &Token, item: &str) -> Result<(ItemType, Option<i64>), Reason> {
    match api.describe_item(token, item).await {
        Ok(info) if info.item_name.as_deref().is_some_and(|n| !n.is_empty()) => {
            let item_type = match info.item_type.as_deref() {
                Some("STATIC_SECRET") => ItemType::Static,
                Some("DYNAMIC_SECRET") => ItemType::Dynamic,
                Some("ROTATED_SECRET") => ItemType::Rotated,
                Some(other) => return Err(Reason::WrongType(other.to_owned())),
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

/// Turns a failed fetch into a reason a user can act on.
fn classify(e: ApiError, version: Option<u32>, latest: Option<i64>) -> Reason {
    match e {
        ApiError::Status { status: 404, .. }
            if version.is_some_and(|v| latest.is_some_and(|l| i64::from(v) > l)) =>
        {
            Reason::BadVersion {
                version: version.unwrap_or_default(),
                latest,
            }
        }
        ApiError::Status {
            status: 404,
            message,
        } => match version {
            Some(v) if message.contains("version") => Reason::BadVersion { version: v, latest },
            _ => Reason::NotFound(Some(message)),
        },
        ApiError::Status {
            status: 403,
            message,
        } => Reason::NotPermitted(message),
        e if e.is_refusal() => Reason::Refused(e),
        e => Reason::Unreachable(e),
    }
}

/// Field selection, decoding and the NUL check: the fetched item → the variable's value.
fn shape(fetched: Fetched, reference: &Reference) -> Result<Secret, Reason> {
    let text = match fetched {
        Fetched::Text(text) if reference.field.is_empty() => text.into_exposed(),
        Fetched::Text(text) => {
            let json = select::parse_json(text.expose()).map_err(Reason::Field)?;
            select::text(select::select(json, &reference.field).map_err(Reason::Field)?)
        }
        Fetched::Json(json) => {
            select::text(select::select(json, &reference.field).map_err(Reason::Field)?)
        }
    };
    let text = match reference.decode {
        None => text,
        Some(Decode::Base64) => {
            let bytes = decode_base64(&text).ok_or(Reason::NotBase64)?;
            String::from_utf8(bytes).map_err(|_| Reason::NotUtf8)?
        }
    };
    if text.contains('\0') {
        return Err(Reason::Nul);
    }
    Ok(Secret::new(text))
}

/// Standard or URL-safe alphabet, padded or not, line breaks ignored (PEM-style wrapping).
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let lenient =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    GeneralPurpose::new(&base64::alphabet::STANDARD, lenient)
        .decode(&compact)
        .or_else(|_| GeneralPurpose::new(&base64::alphabet::URL_SAFE, lenient).decode(&compact))
        .ok()
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
    use serde_json::json;

    fn reference(text: &str) -> Reference {
        crate::reference::parse(text).unwrap()
    }

    #[test]
    fn shape_selects_decodes_and_refuses_nul() {
        let text = |s: &str| Fetched::Text(Secret::new(s));
        let ok = |f: Fetched, r: &str| shape(f, &reference(r)).unwrap().into_exposed();
        assert_eq!(ok(text("plain"), "akeyless://a"), "plain");
        assert_eq!(ok(text(r#"{"u":{"p":"x"}}"#), "akeyless://a#u.p"), "x");
        assert_eq!(
            ok(Fetched::Json(json!({"b": 1, "a": "s"})), "akeyless://a"),
            r#"{"a":"s","b":1}"#
        );
        assert_eq!(
            ok(Fetched::Json(json!({"user": "u"})), "akeyless://a#user"),
            "u"
        );
        assert_eq!(ok(text("aGVsbG8="), "akeyless:/a|decode=base64"), "hello");
        assert_eq!(ok(text("aGVs\nbG8"), "akeyless:/a|decode=base64"), "hello");
        assert_eq!(
            ok(text(r#"{"k":"aGk_"}"#), "akeyless:/a|jq=.k|decode=base64"),
            "hi?"
        );

        let err = |f: Fetched, r: &str| shape(f, &reference(r)).unwrap_err();
        assert_eq!(
            err(text("plain"), "akeyless://a#x"),
            Reason::Field(SelectError::NotJson)
        );
        assert_eq!(
            err(text("%%%"), "akeyless:/a|decode=base64"),
            Reason::NotBase64
        );
        assert_eq!(
            err(text("/w=="), "akeyless:/a|decode=base64"),
            Reason::NotUtf8
        );
        assert_eq!(err(text("a\0b"), "akeyless://a"), Reason::Nul);
        assert_eq!(err(text("YQBi"), "akeyless:/a|decode=base64"), Reason::Nul);
    }

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

    #[test]
    fn failures_are_classified_for_humans() {
        let status = |status, message: &str| ApiError::Status {
            status,
            message: message.into(),
        };
        assert_eq!(
            classify(status(404, "x"), Some(5), Some(2)),
            Reason::BadVersion {
                version: 5,
                latest: Some(2)
            }
        );
        assert_eq!(
            classify(status(404, "no version 5"), Some(5), None),
            Reason::BadVersion {
                version: 5,
                latest: None
            }
        );
        assert_eq!(
            classify(status(404, "gone"), None, Some(2)),
            Reason::NotFound(Some("gone".into()))
        );
        assert_eq!(
            classify(status(403, "no"), None, None),
            Reason::NotPermitted("no".into())
        );
        assert!(matches!(
            classify(status(400, "bad"), None, None),
            Reason::Refused(_)
        ));
        assert!(matches!(
            classify(status(503, "busy"), None, None),
            Reason::Unreachable(_)
        ));
        assert_eq!(
            Reason::BadVersion {
                version: 3,
                latest: Some(2)
            }
            .to_string(),
            "bad version: there is no version 3 (the latest is 2)"
        );
    }
}
