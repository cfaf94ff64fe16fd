//! The fetch plan: from the references a job asked for to what each variable gets.
//!
//! `wanted` parses the references; `fetch` gets the items and walks the folders they name
//! in as few round trips as the API allows (its own comment says how); `outputs` turns
//! what was fetched into variables (one per reference, or many for `#*` and folders) and
//! checks the names it generates; `shape` selects fields and decodes. A token the gateway
//! stops accepting mid-run is replaced once (`auth::Session`), and only what it was
//! refused for is asked again.
//!
//! Nothing here prints; failures are collected per variable, with their reason.

mod fetch;
mod issue;
mod outputs;
mod reason;
pub mod reference;
mod results;
mod revoke;
pub mod select;
mod shape;
mod wanted;

pub use fetch::{CONCURRENCY, Minted};
pub use issue::{explain as explain_refusal, unfit};
pub use outputs::{Resolved, check_names, prefix};
pub use reason::{Options, Reason};
pub use revoke::revoke;
pub use shape::{BESIDE_SUFFIXES, Content, TLS_KEY_SUFFIX};
pub use wanted::{Wanted, fingerprint, reference_arg, references};

use crate::auth::Session;
use crate::client::{Api, ApiError, ItemInfo, Token};
use crate::error::Result;
use fetch::Fetch;
use reference::Reference;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ItemType {
    Static,
    Dynamic,
    Rotated,
    /// Issues SSH certificates (`ssh_user=`); has no value of its own.
    SshIssuer,
    /// Issues TLS certificates (`cn=`); has no value of its own.
    PkiIssuer,
}

impl ItemType {
    const ALL: [ItemType; 5] = [
        ItemType::Static,
        ItemType::Dynamic,
        ItemType::Rotated,
        ItemType::SshIssuer,
        ItemType::PkiIssuer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ItemType::Static => "static",
            ItemType::Dynamic => "dynamic",
            ItemType::Rotated => "rotated",
            ItemType::SshIssuer => "ssh-cert",
            ItemType::PkiIssuer => "pki-cert",
        }
    }

    /// The `item_type` the API gives this kind of item.
    pub fn api_name(self) -> &'static str {
        match self {
            ItemType::Static => "STATIC_SECRET",
            ItemType::Dynamic => "DYNAMIC_SECRET",
            ItemType::Rotated => "ROTATED_SECRET",
            ItemType::SshIssuer => "SSH_CERT_ISSUER",
            ItemType::PkiIssuer => "PKI_CERT_ISSUER",
        }
    }

    /// What a user calls this kind of item, in messages.
    pub fn described(self) -> &'static str {
        match self {
            ItemType::Static => "a static secret",
            ItemType::Dynamic => "a dynamic secret",
            ItemType::Rotated => "a rotated secret",
            ItemType::SshIssuer => "an SSH certificate issuer",
            ItemType::PkiIssuer => "a PKI certificate issuer",
        }
    }

    fn from_api(name: &str) -> Option<ItemType> {
        Self::ALL.into_iter().find(|t| t.api_name() == name)
    }
}

#[derive(Debug)]
pub struct Failure {
    pub var: String,
    pub reference: Reference,
    pub reason: Reason,
}

#[derive(Debug, Default)]
pub struct Outcome {
    /// Every output, sorted by name.
    pub resolved: Vec<Resolved>,
    pub failed: Vec<Failure>,
    /// Variables holding a folder reference that resolved: they get no value of their
    /// own and are unset, so a later run does not resolve them again.
    pub unset: Vec<String>,
    /// Credentials dynamic secrets minted in this run, for revoking them at its end.
    pub minted: Vec<Minted>,
}

/// Resolves `wanted` with the session's token. A token refused mid-run is renewed once
/// and what it failed for is asked again; a token refused after that is an authentication
/// error (exit 3). The names fan-outs generate are checked by `check_names`, once the
/// caller holds what was minted (a run that fails still revokes it).
pub async fn resolve(session: &mut Session, wanted: Vec<Wanted>) -> Result<Outcome> {
    let mut items = Vec::with_capacity(wanted.len());
    let mut folders = Vec::new();
    for w in &wanted {
        match outputs::folder_key(&w.reference) {
            Some(folder) => folders.push(folder),
            None => items.push(outputs::item_key(&w.reference)),
        }
    }
    items.sort();
    items.dedup();
    folders.sort();
    folders.dedup();
    let mut fetched = fetch::fetch(session.api(), session.token(), items, folders).await;
    let (items, folders) = refused(&fetched);
    if !(items.is_empty() && folders.is_empty()) && session.renew().await? {
        let again = fetch::fetch(session.api(), session.token(), items, folders).await;
        fetched.items.extend(again.items);
        fetched.items.settle();
        fetched.folders.extend(again.folders);
        fetched.minted.extend(again.minted);
    }
    if let Some((what, text)) = still_refused(&fetched) {
        // Named by the first variable that asked for it, as the job's author knows it.
        let var = wanted
            .iter()
            .find(|w| *w.reference.item == *what)
            .map_or(what, |w| w.var.clone());
        return Err(session.refused(&format!("resolving {var}"), &text));
    }

    let minted = std::mem::take(&mut fetched.minted);
    let folder_vars: Vec<String> = wanted
        .iter()
        .filter(|w| w.reference.folder.is_some())
        .map(|w| w.var.clone())
        .collect();
    let (resolved, failed) = outputs::expand(wanted, &fetched);
    let unset = folder_vars
        .into_iter()
        .filter(|var| !failed.iter().any(|f| &f.var == var))
        .collect();
    Ok(Outcome {
        resolved,
        failed,
        unset,
        minted,
    })
}

/// What a refused token failed for.
fn refused(fetched: &Fetch) -> (Vec<fetch::ItemKey>, Vec<fetch::FolderKey>) {
    let unauthorized = |r: &Reason| matches!(r, Reason::Unauthorized(_));
    let mut items: Vec<_> = fetched
        .items
        .iter()
        .filter(|(_, r)| r.as_ref().is_err_and(unauthorized))
        .map(|(k, _)| k.clone())
        .collect();
    let mut folders: Vec<_> = fetched
        .folders
        .iter()
        .filter(|(_, r)| r.as_ref().is_err_and(unauthorized))
        .map(|(k, _)| k.clone())
        .collect();
    items.sort();
    folders.sort();
    (items, folders)
}

/// The first item or folder the token is still refused for, with the gateway's text.
fn still_refused(fetched: &Fetch) -> Option<(String, String)> {
    fn text<T>(r: &std::result::Result<T, Reason>) -> Option<String> {
        match r {
            Err(Reason::Unauthorized(text)) => Some(text.clone()),
            _ => None,
        }
    }
    let items = fetched
        .items
        .iter()
        .filter_map(|(k, r)| text(r).map(|text| (k.name.to_string(), text)));
    let folders = fetched
        .folders
        .iter()
        .filter_map(|(k, r)| text(r).map(|text| (k.path.clone(), text)));
    items.chain(folders).min()
}

/// A folder reference's outputs: each generated name, with its item and type.
pub type FolderOutputs = std::result::Result<Vec<(String, String, ItemType)>, Reason>;

/// What each folder reference of `wanted` would produce, from a walk of the folder alone
/// (no value is fetched): each generated name with its item and type, sorted by name; an
/// empty list for a reference that names no folder. All walked at once, at most
/// `CONCURRENCY` requests in flight. `akl doctor` shows this; `akl env --reuse` compares
/// it.
pub async fn folder_outputs(api: &Api, token: &Token, wanted: &[&Wanted]) -> Vec<FolderOutputs> {
    let limit = tokio::sync::Semaphore::new(CONCURRENCY);
    let walk = |w: &Wanted| {
        let folder = outputs::folder_key(&w.reference);
        let prefix = outputs::prefix(&w.var, &w.reference);
        let limit = &limit;
        async move {
            let Some(folder) = folder else {
                return Ok(Vec::new());
            };
            let mut found: Vec<(String, String, ItemType)> =
                fetch::walk(api, token, limit, &folder)
                    .await?
                    .into_iter()
                    .filter_map(|(item, listed)| {
                        let key = outputs::key_in_folder(&folder.path, &item);
                        let name = outputs::generated_name(&prefix, &key);
                        Some((name, item, listed.item_type.ok()?))
                    })
                    .collect();
            found.sort();
            Ok(found)
        }
    };
    futures_util::future::join_all(wanted.iter().map(|w| walk(w))).await
}

/// The item's type and latest version, or why it cannot be had (`akl doctor` asks this
/// too, so both tell items apart the same way).
pub async fn describe(
    api: &Api,
    token: &Token,
    item: &str,
) -> Result<(ItemType, Option<i64>), Reason> {
    describe_info(api, token, item)
        .await
        .map(|(t, info)| (t, info.last_version))
}

/// `describe`, with the whole answer (a certificate issuer's limits are in it).
pub async fn describe_info(
    api: &Api,
    token: &Token,
    item: &str,
) -> Result<(ItemType, ItemInfo), Reason> {
    match api.describe_item(token, item).await {
        Ok(info) if info.item_name.as_deref().is_some_and(|n| !n.is_empty()) => {
            let item_type = match info.item_type.as_deref() {
                Some(name) => ItemType::from_api(name)
                    .ok_or_else(|| Reason::WrongType(crate::error::printable(name, 60)))?,
                None => return Err(Reason::WrongType("item of unknown type".to_owned())),
            };
            Ok((item_type, info))
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
        Err(e) => Err(Reason::Unreachable(Box::new(e))),
    }
}
