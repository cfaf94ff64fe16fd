//! From the items and folders a run needs to their values, in as few round trips as the
//! API allows (the login is the first):
//!
//! 2. At once: every item asked for as a static secret, in one batched `get-secret-value`
//!    per version; every certificate asked of its issuer (`issue.rs`: a reference that
//!    asks for one says what the item is, so no type is needed first); beside them, one `list-items` of each item's folder (first page, no
//!    sub-folders, dynamic and rotated secrets only), which says which items the batch
//!    cannot fetch in case it is refused (the API refuses the whole batch when one name in
//!    it is not a readable static secret); and one walk of each folder a reference names
//!    (`/*`, `/**`). When every item is static, the batch is the whole run and the look is
//!    dropped.
//! 3. What the batch did not answer, at once: each dynamic and rotated secret the listings
//!    named on its own; everything else (with the secrets of the folders) as static again
//!    in one batch (split at once if it is the batch refused before). A batch of several
//!    refused again is split into parts asked together, and a refused part again, to pin
//!    the failure on its item in a few waves; an item refused on its own is described, and
//!    fetched by its type if it is a dynamic or rotated secret no listing showed. When the
//!    batch was refused, the statics of folders the listings did not reach are a batch of
//!    their own; if that is refused too, a listing of their folders types them for the
//!    round trips after (`untyped_statics`).
//!
//! At most `CONCURRENCY` requests are in flight at once. Every dynamic secret is asked
//! once (each answer mints credentials).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;

use futures_util::future::{Either, join, join_all, select};
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::client::{
    Api, ApiError, ItemSummary, ListQuery, ProducerArgs, SecretValues, Token, canonical,
};

use super::ItemType;
use super::issue::issue;
use super::reason::{Reason, classify};
use super::reference::CertRequest;
use super::results::Results;
use super::shape::Fetched;

/// Requests in flight at once: enough to fetch a job's worth of secrets in a round trip
/// or two, few enough that a fleet of jobs starting together stays under the rate limits
/// gateways and the SaaS apply per client (they answer 429 well before that).
pub const CONCURRENCY: usize = 16;

/// One item to fetch: its path, the version, and (for a dynamic secret) the producer's
/// arguments, if any; two references that differ in these are two fetches. Cheap to
/// clone (it keys the fetch results of 10,000 references): shared, not copied.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ItemKey {
    pub name: Arc<str>,
    pub version: Option<u32>,
    pub producer: Option<Arc<ProducerArgs>>,
    /// A certificate to have the item (an issuer) sign, for a key pair made for it.
    pub cert: Option<Arc<CertRequest>>,
}

/// By name first (`order::cmp`: the fast way), then as the fields derive.
impl Ord for ItemKey {
    fn cmp(&self, other: &Self) -> Ordering {
        crate::order::cmp(&self.name, &other.name).then_with(|| {
            (self.version, &self.producer, &self.cert).cmp(&(
                other.version,
                &other.producer,
                &other.cert,
            ))
        })
    }
}

impl PartialOrd for ItemKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl ItemKey {
    pub fn new(
        name: impl Into<Arc<str>>,
        version: Option<u32>,
        producer: &ProducerArgs,
    ) -> ItemKey {
        ItemKey {
            name: name.into(),
            version,
            producer: (*producer != ProducerArgs::default()).then(|| Arc::new(producer.clone())),
            cert: None,
        }
    }

    fn producer(&self) -> &ProducerArgs {
        static NONE: ProducerArgs = ProducerArgs {
            args: Vec::new(),
            timeout: None,
        };
        self.producer.as_deref().unwrap_or(&NONE)
    }
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
    /// Settled: every result is there to `get`.
    pub items: Results,
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
    let mut out = Fetch {
        items: Results::with_capacity(items.len()),
        ..Fetch::default()
    };
    let (certs, items): (Vec<ItemKey>, Vec<ItemKey>) =
        items.into_iter().partition(|k| k.cert.is_some());

    // Round trip 2: the batch, the certificates, the listings that tell types, the folder
    // walks.
    let first = async {
        let batches = static_batches(api, token, limit, items.iter().collect());
        let walks = join_all(folders.iter().map(|f| walk(api, token, limit, f)));
        let issued = join_all(certs.iter().map(|key| async move {
            let result = limited(limit, issue(api, token, key)).await;
            (key.clone(), result)
        }));
        futures_util::future::join3(batches, walks, issued).await
    };
    let listing = pin!(list_types(api, token, limit, &items, SPECULATIVE_LISTINGS));
    let ((batches, walks, issued), types) = match select(pin!(first), listing).await {
        Either::Left((first, listing)) => (first, Err(listing)),
        Either::Right((types, first)) => (first.await, Ok(types)),
    };
    out.items.extend(issued);

    let mut unknown: Vec<ItemKey> = Vec::new();
    let mut refused_before: Vec<Refused> = Vec::new();
    let mut answered = Vec::new();
    for (batch, result) in batches {
        // A name missing from an answer is asked again, as a batch may leave out what it
        // cannot read.
        let again = settle_batch(batch, result, &mut answered, &mut refused_before);
        unknown.extend(again);
    }
    for (key, result) in answered {
        match result {
            Err(Reason::NotFound(None)) => unknown.push(key),
            result => out.items.insert(key, result),
        }
    }

    // What the folders hold joins what is left to fetch, typed by their walk. Settled
    // for the look-ups here, and for the caller when nothing is left to fetch.
    out.items.settle();
    let mut known: HashMap<String, Listed> = HashMap::new();
    for (folder, walked) in folders.iter().zip(walks) {
        let found = walked.map(|listed| {
            listed
                .into_iter()
                .filter(|(_, l)| l.item_type.is_ok())
                .map(|(name, l)| {
                    let key = ItemKey::new(name.as_str(), None, &folder.producer);
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
    let look = match types {
        Ok(look) => look,
        Err(pending) => pending.await,
    };
    for (name, listed) in look.types {
        known.entry(name).or_insert(listed);
    }

    // Round trip 3: each by its type, all at once. The listings named the dynamic and
    // rotated secrets; everything else is asked for as a static secret again, and what
    // that refuses is described (a role may read what it may not list).
    let (statics, others) = by_type(unknown, &known);
    // Where the batch was refused, statics in folders no look covered may hide the dynamic
    // or rotated secret that refused it: they get a batch of their own.
    let (statics, untyped): (Vec<ItemKey>, Vec<ItemKey>) =
        match refused_before.is_empty() || !look.listed_any {
            true => (statics, Vec::new()),
            false => statics.into_iter().partition(|key| {
                let name = canonical(&key.name);
                let folder = parent(&name);
                known.contains_key(&name) || look.folders.iter().any(|f| f == folder)
            }),
        };
    let batches = second_batches(api, token, limit, statics, &refused_before, &known);
    let singles = fetch_each(api, token, limit, others);
    let untyped = untyped_statics(api, token, limit, untyped, &known);
    let (batched, singles, untyped) = futures_util::future::join3(batches, singles, untyped).await;
    for (key, result) in batched.into_iter().chain(singles).chain(untyped) {
        if let Ok((ItemType::Dynamic, Fetched::Json(value))) = &result {
            if let Some(id) = value.get("id").and_then(Value::as_str) {
                out.minted.push(Minted {
                    name: key.name.to_string(),
                    id: id.to_owned(),
                });
            }
        }
        out.items.insert(key, result);
    }
    out.items.settle();
    out
}

fn is_unauthorized(e: &ApiError) -> bool {
    matches!(e, ApiError::Status { status: 401, .. })
}

fn is_server_error(e: &ApiError) -> bool {
    matches!(e, ApiError::Status { status, .. } if *status >= 500 || *status == 429)
}

/// The keys of one batch, and the answer.
type Batch<'k> = (Vec<&'k ItemKey>, Result<SecretValues, ApiError>);

/// What the answer to a batch settles, into `out`: each value, `NotFound(None)` for a
/// name the answer left out, or why the whole batch failed. Returns the keys to ask again:
/// all of a batch refused as a whole (whose names go to `refused`) or failed on the
/// server's side.
fn settle_batch(
    batch: Vec<&ItemKey>,
    result: Result<SecretValues, ApiError>,
    out: &mut Vec<(ItemKey, FetchResult)>,
    refused: &mut Vec<Refused>,
) -> Vec<ItemKey> {
    let mut again = Vec::new();
    match result {
        Ok(values) => each_value(batch, &values, out),
        Err(ApiError::Status {
            status: 401,
            message,
        }) => {
            for key in batch {
                out.push((key.clone(), Err(Reason::Unauthorized(message.clone()))));
            }
        }
        Err(e) if e.is_refusal() || e.is_too_large() || is_server_error(&e) => {
            // Asked again unchanged, either would fail again: round trip 3 splits it.
            if e.is_refusal() || e.is_too_large() {
                refused.push(refusal(&batch));
            }
            again.extend(batch.into_iter().cloned());
        }
        Err(e) => {
            for key in batch {
                out.push((key.clone(), Err(Reason::Unreachable(Box::new(e.clone())))));
            }
        }
    }
    again
}

/// Each key of an answered batch with its value, into `out`; `NotFound(None)` for a name
/// the answer left out.
fn each_value(batch: Vec<&ItemKey>, values: &SecretValues, out: &mut Vec<(ItemKey, FetchResult)>) {
    let mut at = 0;
    for key in batch {
        let value = values
            .get_near(&key.name, &mut at)
            .map(|v| (ItemType::Static, Fetched::Text(v.clone())))
            .ok_or(Reason::NotFound(None));
        out.push((key.clone(), value));
    }
}

/// A key with the type a look found for it, and its latest version.
type Typed = (ItemKey, ItemType, Option<i64>);

/// `keys` parted into those to ask for as static secrets and the dynamic and rotated
/// secrets `known` names, which are fetched each by its type.
fn by_type(keys: Vec<ItemKey>, known: &HashMap<String, Listed>) -> (Vec<ItemKey>, Vec<Typed>) {
    let (mut statics, mut others) = (Vec::new(), Vec::new());
    for key in keys {
        match known.get(&canonical(&key.name)) {
            Some(Listed {
                item_type: Ok(t @ (ItemType::Dynamic | ItemType::Rotated)),
                latest,
            }) => others.push((key, *t, *latest)),
            _ => statics.push(key),
        }
    }
    (statics, others)
}

/// Each key by its type, all at once.
async fn fetch_each(
    api: &Api,
    token: &Token,
    limit: &Semaphore,
    keys: Vec<Typed>,
) -> Vec<(ItemKey, FetchResult)> {
    keys.into_iter()
        .map(|(key, t, latest)| async move {
            let result = fetch_one(api, token, limit, &key, t, latest).await;
            (key, result)
        })
        .collect::<FuturesUnordered<_>>()
        .collect()
        .await
}

/// Folders listed at most for the statics of a refused batch that no look covered; the
/// statics of any beyond are found by splitting.
const MORE_LISTINGS: usize = 64;

/// Statics of round trip 3 whose folders no listing covered, when a batch was refused: a
/// dynamic or rotated secret among them would refuse their batch again. They are asked as
/// a batch of their own; if it is refused, a listing of their folders tells the secrets it
/// cannot fetch, each fetched by its type in the round trip after, and only what the
/// batch of the rest refuses is split. Splitting alone would find one such secret per
/// folder name by name (50 services with a database secret each: a thousand requests).
async fn untyped_statics(
    api: &Api,
    token: &Token,
    limit: &Semaphore,
    keys: Vec<ItemKey>,
    known: &HashMap<String, Listed>,
) -> Vec<(ItemKey, FetchResult)> {
    if keys.is_empty() {
        return Vec::new();
    }
    let (mut results, mut refused, mut again) = (Vec::new(), Vec::new(), Vec::new());
    for (batch, result) in static_batches(api, token, limit, keys.iter().collect()).await {
        again.extend(settle_batch(batch, result, &mut results, &mut refused));
    }
    if again.is_empty() {
        return results;
    }
    // Listed only now: most often the first look named what refused the first batch, and
    // this one answers (a run of many folders with one dynamic secret among them).
    let look = list_types(api, token, limit, &again, MORE_LISTINGS).await;
    let mut known = known.clone();
    known.extend(look.types);
    let (statics, others) = by_type(again, &known);
    let batches = second_batches(api, token, limit, statics, &refused, &known);
    let (batched, singles) = join(batches, fetch_each(api, token, limit, others)).await;
    results.extend(batched.into_iter().chain(singles));
    results
}

/// One `get-secret-value` per distinct version, concurrently; each with its keys and the
/// answer.
async fn static_batches<'k>(
    api: &Api,
    token: &Token,
    limit: &Semaphore,
    keys: Vec<&'k ItemKey>,
) -> Vec<Batch<'k>> {
    join_all(
        by_version(keys)
            .into_iter()
            .map(|batch| ask(api, token, limit, batch)),
    )
    .await
}

/// `keys` in one batch per version, each in the order given.
fn by_version<'k>(keys: impl IntoIterator<Item = &'k ItemKey>) -> Vec<Vec<&'k ItemKey>> {
    let mut by_version: BTreeMap<Option<u32>, Vec<&ItemKey>> = BTreeMap::new();
    for key in keys {
        by_version.entry(key.version).or_default().push(key);
    }
    by_version.into_values().collect()
}

/// The distinct names of a batch (of one version), sorted: keys that differ only in
/// producer options are one name to a static batch.
fn names<'k>(batch: &[&'k ItemKey]) -> Vec<&'k str> {
    let mut names: Vec<&str> = batch.iter().map(|k| &*k.name).collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// One `get-secret-value` of a batch of keys of one version.
async fn ask<'k>(
    api: &Api,
    token: &Token,
    limit: &Semaphore,
    batch: Vec<&'k ItemKey>,
) -> Batch<'k> {
    let version = batch[0].version;
    let result = limited(limit, api.get_secret_values(token, &names(&batch), version)).await;
    (batch, result)
}

/// A refused batch's names and version: asked again unchanged, it is refused again.
type Refused = (Option<u32>, Vec<Arc<str>>);

fn refusal(batch: &[&ItemKey]) -> Refused {
    (
        batch[0].version,
        names(batch).into_iter().map(Arc::from).collect(),
    )
}

/// The statics of round trip 3 in batches; one identical to a batch the second round trip
/// saw refused is split at once rather than asked again. A batch of several refused as a
/// whole is split into parts asked together, and a refused part again, down to single
/// names, which pin each failure on its item: `k` bad names among `n` cost about
/// `2·k·log2(n/k)` requests in as many waves as levels, where asking every name alone
/// costs `n` requests in `n/16` waves (`CONCURRENCY`). Once the bad names look dense (every
/// part of a level refused, or at least a third of the names in the refused parts bad, by
/// how many parts were spared), the rest go name by name at once, so that many bad names
/// cost no more than that. An item refused on its own is settled by `refused_static`.
async fn second_batches(
    api: &Api,
    token: &Token,
    limit: &Semaphore,
    statics: Vec<ItemKey>,
    refused_before: &[Refused],
    known: &HashMap<String, Listed>,
) -> Vec<(ItemKey, FetchResult)> {
    let mut results = Vec::new();
    let mut refused = Vec::new();
    let (mut split, mut level): (Vec<_>, Vec<_>) = by_version(&statics)
        .into_iter()
        .partition(|batch| batch.len() > 1 && refused_before.contains(&refusal(batch)));
    let mut dense = false;
    loop {
        // Each refused batch in parts, as many as keep the level within CONCURRENCY; in
        // single names once most parts were refused (bad names are many: halving again
        // would ask each of them once more per level).
        let parts = match dense {
            true => usize::MAX,
            false => (CONCURRENCY / split.len().max(1)).max(2),
        };
        for batch in split.drain(..) {
            let size = batch.len().div_ceil(parts);
            level.extend(batch.chunks(size).map(<[_]>::to_vec));
        }
        if level.is_empty() {
            break;
        }
        let asked = level.len();
        let answers = join_all(level.drain(..).map(|batch| ask(api, token, limit, batch)));
        for (batch, result) in answers.await {
            match result {
                Ok(values) => each_value(batch, &values, &mut results),
                // A refused token refuses every part alike: no split pins it on a name.
                // An answer too long to read gets shorter with each split.
                Err(e)
                    if (e.is_refusal() && !is_unauthorized(&e) || e.is_too_large())
                        && batch.len() > 1 =>
                {
                    split.push(batch)
                }
                Err(e) => refused.extend(batch.into_iter().map(|key| (key, e.clone()))),
            }
        }
        dense = looks_dense(asked, &split);
    }
    let settled = refused.into_iter().map(|(key, e)| async move {
        let result = refused_static(api, token, limit, key, e, known).await;
        (key.clone(), result)
    });
    results.extend(join_all(settled).await);
    results
}

/// Parts of at most this many names, all refused, are taken for dense bad names.
const SMALL_PART: usize = 64;

/// Whether the names in `refused`, the parts of a level of `asked` refused as a whole, are
/// so often bad that splitting them further would ask most of them more than once: at
/// least a third of them. With `asked` parts and `k` bad names spread among them at random,
/// a part is spared with the chance `(1 - 1/asked)^k`; `k` is taken to be at least a third
/// of the names when that chance, for a third, is no more than the share of parts spared
/// (in fixed point: no float, no `ln` in the binary). Every part refused tells no number:
/// small parts go name by name, large ones (a few bad names among thousands) are split
/// again, which costs names that are all bad a few percent more requests.
fn looks_dense(asked: usize, refused: &[Vec<&ItemKey>]) -> bool {
    const ONE: u64 = 1 << 32;
    let r = refused.len();
    if r == 0 || asked < 4 {
        return false;
    }
    if r == asked {
        return refused.iter().all(|part| part.len() <= SMALL_PART);
    }
    let (asked, r) = (asked as u64, r as u64);
    let spared = ONE * (asked - r) / asked;
    let stays = ONE - ONE / asked;
    let third: usize = refused.iter().map(Vec::len).sum::<usize>().div_ceil(3);
    let mut chance = ONE;
    for _ in 0..third {
        chance = (chance * stays) >> 32;
        if chance < spared {
            return false;
        }
    }
    true
}

/// An item refused as a static secret. One a folder walk showed as static is explained
/// by the refusal; any other is described first: it may be a dynamic or rotated secret no
/// listing showed (then it is fetched as one), a missing item, or another type.
async fn refused_static(
    api: &Api,
    token: &Token,
    limit: &Semaphore,
    key: &ItemKey,
    e: ApiError,
    known: &HashMap<String, Listed>,
) -> FetchResult {
    if let ApiError::Status {
        status: 401,
        message,
    } = e
    {
        return Err(Reason::Unauthorized(message));
    }
    if !e.is_refusal() {
        return Err(classify(e, key.version, None));
    }
    if let Some(Listed {
        item_type: Ok(ItemType::Static),
        latest,
    }) = known.get(&canonical(&key.name))
    {
        return Err(classify(e, key.version, *latest));
    }
    match limited(limit, super::describe(api, token, &key.name)).await {
        Ok((ItemType::Static, latest)) => Err(classify(e, key.version, latest)),
        Ok((t, latest)) => fetch_one(api, token, limit, key, t, latest).await,
        Err(reason) => Err(reason),
    }
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
    let name = &*key.name;
    let result = match item_type {
        // Asked for its value, which an issuer has not: say how to ask for a certificate.
        ItemType::SshIssuer | ItemType::PkiIssuer => {
            return Err(Reason::IssuerNeedsRequest(item_type));
        }
        ItemType::Dynamic if key.version.is_some() => return Err(Reason::VersionOnDynamic),
        ItemType::Dynamic => limited(
            limit,
            api.get_dynamic_secret_value(token, name, key.producer()),
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
                        .get(name)
                        .map(|v| (ItemType::Static, Fetched::Text(v.clone())))
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

/// What the listings of `list_types` told.
#[derive(Debug, Default)]
struct Look {
    /// The dynamic and rotated secrets they showed.
    types: HashMap<String, Listed>,
    /// The folders looked at, listed or refused: at most `SPECULATIVE_LISTINGS` where it is
    /// searched.
    folders: Vec<String>,
    /// Whether any was listed: a role that may list none is not asked to list more.
    listed_any: bool,
}

/// Folders listed speculatively at most, the fullest first; items beyond are described if
/// the batch is refused.
const SPECULATIVE_LISTINGS: usize = 8;

/// The dynamic and rotated secrets among the items, from the first page of a
/// `list-items` of each item's folder, the `most` fullest (without sub-folders, only those
/// two types; for a single item, narrowed by its name), so that a refused batch costs no
/// extra round trip to learn them. Items a role may not list, or that a first page does not
/// reach, are simply absent, and asked for as static secrets.
async fn list_types(
    api: &Api,
    token: &Token,
    limit: &Semaphore,
    items: &[ItemKey],
    most: usize,
) -> Look {
    // Each folder with how many names it holds and one of them. The items come sorted by
    // name, so a name asked for twice (two versions) comes twice in a row.
    let mut dirs: HashMap<&str, (usize, &str)> = HashMap::new();
    let mut previous = None;
    for key in items {
        if previous == Some(&*key.name) {
            continue;
        }
        previous = Some(&*key.name);
        dirs.entry(parent(&key.name)).or_insert((0, &key.name)).0 += 1;
    }
    let mut dirs: Vec<(&str, (usize, &str))> = dirs.into_iter().collect();
    // The fullest first, and by path among equals.
    dirs.sort_unstable_by(|(a, (m, _)), (b, (n, _))| n.cmp(m).then(a.cmp(b)));
    let queries = dirs
        .into_iter()
        .take(most)
        .map(|(dir, (names, one))| ListQuery {
            path: dir.to_owned(),
            // A substring filter: the item and any sibling whose name contains its own.
            filter: match names {
                1 => one.rsplit('/').next().map(str::to_owned),
                _ => None,
            },
            // Only what the batch cannot fetch: an answer that stays small however many
            // static secrets the folder holds.
            types: ["dynamic-secret", "rotated-secret"]
                .map(str::to_owned)
                .to_vec(),
            current_folder: true,
            one_page: true,
        });
    let listings = join_all(queries.map(|q| async move {
        let listing = limited(limit, api.list_items::<ItemSummary>(token, &q)).await;
        (q.path, listing)
    }))
    .await;
    let mut look = Look::default();
    for (path, listing) in listings {
        if let Ok(listing) = listing {
            look.types.extend(listing.items.iter().filter_map(listed));
            look.listed_any = true;
        }
        // Listed or refused: a role that may not list a folder is not asked again.
        look.folders.push(canonical(&path));
    }
    look
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
    match limited(limit, api.list_items::<ItemSummary>(token, &query)).await {
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
fn listed(item: &ItemSummary) -> Option<(String, Listed)> {
    let name = item.item_name.as_str()?;
    let item_type = item.item_type.as_str()?;
    let item_type =
        ItemType::from_api(item_type).ok_or_else(|| crate::error::printable(item_type, 60));
    let latest = item.last_version.as_i64();
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
    fn bad_names_look_dense_when_few_parts_were_spared_for_their_size() {
        let key = ItemKey::new("/ci/x", None, &ProducerArgs::default());
        let parts = |count: usize, size: usize| vec![vec![&key; size]; count];
        // 8 of 16 parts refused: about 11 bad names, among 8 parts of 63.
        assert!(!looks_dense(16, &parts(8, 63)));
        // 15 of 16 refused: about 43 bad, among 15 parts of 4 (60 names).
        assert!(looks_dense(16, &parts(15, 4)));
        assert!(!looks_dense(16, &parts(15, 40)));
        // Every part refused: small parts go name by name, large ones are split again.
        assert!(looks_dense(16, &parts(16, 19)));
        assert!(!looks_dense(16, &parts(16, 312)));
        // A level of three parts or fewer is small already.
        assert!(!looks_dense(3, &parts(3, 2)));
    }

    #[test]
    fn folders_and_names() {
        assert_eq!(parent("/ci/app/db"), "/ci/app");
        assert_eq!(parent("/db"), "/");
        assert_eq!(canonical("ci/a"), "/ci/a");
        assert_eq!(canonical("/ci/a"), "/ci/a");
    }
}
