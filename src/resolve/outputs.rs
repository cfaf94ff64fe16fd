//! From fetched values to what the job gets: one output per plain reference, one per key
//! of a `#*` fan-out (and `X` itself with the whole JSON), one per secret of a folder
//! (and no `X`), and the checks on the names fan-outs generate.
//!
//! A generated name is the prefix (`X_`, or `|prefix=`) and the key or the item's path in
//! the folder, upper-cased, with every character outside `[A-Z0-9_]` (a sub-folder's `/`
//! included) made `_`. Those names come from data, not from the job's author, so they are
//! checked before anything is written: two outputs with one name, a name that would
//! replace a variable the job set, or one that changes how a shell, the dynamic loader or
//! `akl` behaves, fail the run with every case listed.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::client::ProducerArgs;
use crate::error::{Error, Result, printable};
use crate::settings::{Env, valid_name};

use super::fetch::{Fetch, FolderKey, ItemKey};
use super::reference::{Folder, Reference};
use super::select;
use super::shape::{Content, Fetched, fan_out, shape, shape_field};
use super::{Failure, ItemType, Reason, Wanted};

/// One output: a variable and what it holds.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub var: String,
    pub content: Content,
    pub item_type: ItemType,
    pub origin: Origin,
}

/// Where an output's name came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The variable holding the reference.
    Explicit,
    /// A top-level key of the JSON value `from` refers to (`#*`).
    Key { from: String, key: String },
    /// A secret in the folder `from` refers to (`/*`, `/**`).
    Item { from: String, item: String },
}

impl Resolved {
    /// `X_USER (key "user" of X)`, for messages.
    pub fn describe(&self) -> String {
        match &self.origin {
            Origin::Explicit => format!("{} (set by the job)", self.var),
            Origin::Key { from, key } => {
                format!("{} (key \"{}\" of {from})", self.var, printable(key, 60))
            }
            Origin::Item { from, item } => {
                format!("{} ({item}, in the folder of {from})", self.var)
            }
        }
    }
}

/// What a fan-out's names start with: `X_`, or the reference's `prefix=`.
pub fn prefix(var: &str, reference: &Reference) -> String {
    reference
        .prefix
        .clone()
        .unwrap_or_else(|| format!("{var}_"))
}

/// `prefix` + `key` upper-cased, every character outside `[A-Z0-9_]` made `_`.
pub fn generated_name(prefix: &str, key: &str) -> String {
    let mut name = String::with_capacity(prefix.len() + key.len());
    name.push_str(prefix);
    name.extend(key.chars().map(|c| match c {
        'a'..='z' | 'A'..='Z' | '0'..='9' | '_' => c.to_ascii_uppercase(),
        _ => '_',
    }));
    name
}

/// An item's key in the folder it was found in: its path below the folder.
pub fn key_in_folder(folder: &str, item: &str) -> String {
    let folder = folder.trim_end_matches('/');
    item.strip_prefix(folder)
        .unwrap_or(item)
        .trim_start_matches('/')
        .to_owned()
}

/// The folder a reference names, as the fetch plan walks it.
pub fn folder_key(reference: &Reference) -> Option<FolderKey> {
    reference.folder.map(|folder| FolderKey {
        path: reference.item.to_string(),
        tree: folder == Folder::Tree,
        producer: reference.producer.as_deref().cloned().unwrap_or_default(),
    })
}

/// The item a (non-folder) reference names, as the fetch plan fetches it.
pub fn item_key(reference: &Reference) -> ItemKey {
    let producer = reference.producer.as_deref();
    let mut key = ItemKey::new(
        reference.item.clone(),
        reference.version,
        producer.unwrap_or(&ProducerArgs::default()),
    );
    key.cert = reference.cert.as_deref().cloned().map(std::sync::Arc::new);
    key
}

/// Every output of `wanted` from what was fetched, and every failure, sorted by name.
pub fn expand(wanted: Vec<Wanted>, fetch: &Fetch) -> (Vec<Resolved>, Vec<Failure>) {
    let mut resolved = Vec::with_capacity(wanted.len());
    let mut failed = Vec::new();
    let mut parsed = Parsed::default();
    for Wanted { var, reference } in wanted {
        if let Some(folder) = folder_key(&reference) {
            let keys = match fetch.folders.get(&folder) {
                Some(Ok(keys)) if keys.is_empty() => Err(Reason::EmptyFolder),
                Some(Ok(keys)) => Ok(keys),
                Some(Err(reason)) => Err(reason.clone()),
                None => Err(Reason::NotFound(None)),
            };
            let keys = match keys {
                Ok(keys) => keys,
                Err(reason) => {
                    failed.push(Failure {
                        var,
                        reference,
                        reason,
                    });
                    continue;
                }
            };
            let prefix = prefix(&var, &reference);
            for key in keys {
                let name = generated_name(&prefix, &key_in_folder(&folder.path, &key.name));
                // Each secret is read with the folder reference's options.
                let one = Reference {
                    item: key.name.clone(),
                    folder: None,
                    prefix: None,
                    ..reference.clone()
                };
                let result = output(fetch, &mut parsed, key, &one);
                match result {
                    Ok((item_type, content)) => resolved.push(Resolved {
                        var: name,
                        content,
                        item_type,
                        origin: Origin::Item {
                            from: var.clone(),
                            item: key.name.to_string(),
                        },
                    }),
                    Err(reason) => failed.push(Failure {
                        var: name,
                        reference: one,
                        reason,
                    }),
                }
            }
            continue;
        }

        let key = item_key(&reference);
        let result = match reference.fan_out {
            false => output(fetch, &mut parsed, &key, &reference).map(|(t, content)| {
                vec![Resolved {
                    var: var.clone(),
                    content,
                    item_type: t,
                    origin: Origin::Explicit,
                }]
            }),
            true => found(fetch, &key).and_then(|(t, f)| {
                fan_out(f.clone(), &reference).map(|(whole, fields)| {
                    let prefix = prefix(&var, &reference);
                    let mut outputs = vec![Resolved {
                        var: var.clone(),
                        content: whole,
                        item_type: t,
                        origin: Origin::Explicit,
                    }];
                    outputs.extend(fields.into_iter().map(|(key, content)| Resolved {
                        var: generated_name(&prefix, &key),
                        content,
                        item_type: t,
                        origin: Origin::Key {
                            from: var.clone(),
                            key,
                        },
                    }));
                    outputs
                })
            }),
        };
        match result {
            Ok(outputs) => resolved.extend(outputs),
            Err(reason) => failed.push(Failure {
                var,
                reference,
                reason,
            }),
        }
    }
    resolved.sort_by(|a, b| crate::order::cmp(&a.var, &b.var));
    failed.sort_by(|a, b| crate::order::cmp(&a.var, &b.var));
    (resolved, failed)
}

/// Each item's value parsed as JSON, once, for all the references that select a field
/// of it (10,000 `#key`s into one secret would otherwise parse it 10,000 times).
#[derive(Default)]
struct Parsed(HashMap<ItemKey, Result<Value, Reason>>);

/// One output of the item `key`: its type, and what `reference` makes of its value.
fn output(
    fetch: &Fetch,
    parsed: &mut Parsed,
    key: &ItemKey,
    reference: &Reference,
) -> Result<(ItemType, Content), Reason> {
    let (t, fetched) = found(fetch, key)?;
    let json = match fetched {
        _ if reference.field.is_empty() => None,
        Fetched::Json(json) => Some(json),
        Fetched::Text(text) => Some(
            parsed
                .0
                .entry(key.clone())
                .or_insert_with(|| select::parse_json(text.expose()).map_err(Reason::field))
                .as_ref()
                .map_err(Reason::clone)?,
        ),
        Fetched::Issued(_) => None,
    };
    let content = match json {
        Some(json) => shape_field(json, reference)?,
        None => shape(fetched.clone(), reference)?,
    };
    Ok((t, content))
}

/// What `key` fetched to: its type and value, or why it could not be had.
fn found<'f>(fetch: &'f Fetch, key: &ItemKey) -> Result<(ItemType, &'f Fetched), Reason> {
    match fetch.items.get(key) {
        Some(Ok((t, f))) => Ok((*t, f)),
        Some(Err(reason)) => Err(reason.clone()),
        None => Err(Reason::NotFound(None)),
    }
}

/// Names whose value changes how a shell, the dynamic loader or `akl` itself behaves.
pub fn is_dangerous(name: &str) -> bool {
    const NAMES: [&str; 16] = [
        "PATH",
        "HOME",
        "SHELL",
        "ENV",
        "BASH_ENV",
        "IFS",
        "PS1",
        "PS2",
        "PS3",
        "PS4",
        "PROMPT_COMMAND",
        "SHELLOPTS",
        "BASHOPTS",
        "CDPATH",
        "GLOBIGNORE",
        "TMPDIR",
    ];
    NAMES.contains(&name)
        || ["LD_", "AKEYLESS_", "AKL_"]
            .iter()
            .any(|p| name.starts_with(p))
}

/// Checks the outputs' names before anything is written. Returns the warnings (explicit
/// variables with a dangerous name: the job's author chose them); fails (exit 4) with
/// every generated name that is invalid, dangerous, taken twice, or already a variable
/// of the job with another value.
pub fn check_names(resolved: &[Resolved], env: &Env) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    // Explicit names are the job's own variables, one each; only generated names (few, as
    // a rule) need grouping.
    let mut by_name: BTreeMap<&str, Vec<&Resolved>> = BTreeMap::new();
    for r in resolved {
        match r.origin {
            Origin::Explicit if is_dangerous(&r.var) => warnings.push(format!(
                "{0} is set from Akeyless and changes how the shell, the dynamic loader or akl behaves: make sure the secret holds what {0} needs",
                r.var
            )),
            Origin::Explicit => {}
            _ => by_name.entry(r.var.as_str()).or_default().push(r),
        }
    }
    let explicit: HashMap<&str, &Resolved> = match by_name.is_empty() {
        true => HashMap::new(),
        false => resolved
            .iter()
            .filter(|r| r.origin == Origin::Explicit)
            .map(|r| (r.var.as_str(), r))
            .collect(),
    };
    for (name, mut outputs) in by_name {
        if let Some(own) = explicit.get(name) {
            outputs.insert(0, own);
        }
        if outputs.len() > 1 {
            let all: Vec<String> = outputs.iter().map(|r| r.describe()).collect();
            problems.push(format!("{name} would be set twice: {}", all.join(" and ")));
            continue;
        }
        let r = outputs[0];
        if !valid_name(name) {
            problems.push(format!(
                "{}: not a variable name a shell can export; set |prefix= to a name that starts with a letter",
                r.describe()
            ));
        } else if is_dangerous(name) {
            problems.push(format!(
                "{}: a generated name may not change how the shell, the dynamic loader or akl behaves; set |prefix= to keep it apart",
                r.describe()
            ));
        } else if let Some(current) = env.raw(name) {
            if !holds(current, &r.content, name) {
                problems.push(format!(
                    "{}: would replace the job's own variable {name}; rename one or set |prefix=",
                    r.describe()
                ));
            }
        }
    }
    if problems.is_empty() {
        return Ok(warnings);
    }
    let mut err = Error::unresolved(match problems.len() {
        1 => "a generated variable name cannot be used".to_owned(),
        n => format!("{n} generated variable names cannot be used"),
    });
    for p in problems {
        err = err.detail(p);
    }
    Err(err.hint("nothing was written; names come from the secret's keys or the folder's items: rename them, or give the reference a |prefix="))
}

/// Whether a job variable already holds what the output would give it: the job sourced
/// an earlier run's output, so setting it again changes nothing.
fn holds(current: &std::ffi::OsStr, content: &Content, name: &str) -> bool {
    match content {
        Content::Text(value) => current.as_encoded_bytes() == value.expose().as_bytes(),
        // A file output's variable holds the path of `files/NAME`.
        Content::File(_) | Content::KeyFiles(_) => {
            let path = std::path::Path::new(current);
            path.file_name().is_some_and(|f| f == name)
                && path
                    .parent()
                    .and_then(|p| p.file_name())
                    .is_some_and(|d| d == "files")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn names_are_upper_cased_and_made_exportable() {
        assert_eq!(generated_name("DB_", "user"), "DB_USER");
        assert_eq!(generated_name("DB_", "api-key.v2"), "DB_API_KEY_V2");
        assert_eq!(generated_name("X_", "clé"), "X_CL_");
        assert_eq!(generated_name("X_", "日本"), "X___");
        assert_eq!(generated_name("", "1st"), "1ST");
        assert_eq!(key_in_folder("/ci/app", "/ci/app/db/pass"), "db/pass");
        assert_eq!(
            generated_name("APP_", &key_in_folder("/ci/app", "/ci/app/db/pass")),
            "APP_DB_PASS"
        );
        assert_eq!(key_in_folder("/", "/top"), "top");
    }

    #[test]
    fn dangerous_names() {
        for name in [
            "PATH",
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "AKEYLESS_GATEWAY_URL",
            "PS4",
            "BASH_ENV",
            "AKL_MASK_SOCKET",
        ] {
            assert!(is_dangerous(name), "{name}");
        }
        for name in ["X_PATH", "PATHS", "DB_USER", "LDAP"] {
            assert!(!is_dangerous(name), "{name}");
        }
    }

    fn out(var: &str, value: &str, origin: Origin) -> Resolved {
        Resolved {
            var: var.to_owned(),
            content: Content::Text(Secret::new(value)),
            item_type: ItemType::Static,
            origin,
        }
    }

    fn key(from: &str, key: &str) -> Origin {
        Origin::Key {
            from: from.to_owned(),
            key: key.to_owned(),
        }
    }

    #[test]
    fn every_name_problem_is_listed_at_once() {
        let env = Env::from_pairs([("X_HOST", "mine"), ("X_PORT", "5432"), ("PATH", "/bin")]);
        let outputs = [
            out("X_USER", "a", key("X", "user")),
            out("X_USER", "b", key("X", "User")),
            out("LD_PRELOAD", "c", key("X", "LD_PRELOAD")),
            out("X_HOST", "d", key("X", "host")),
            out("X_PORT", "5432", key("X", "port")),
            out("1A", "e", key("X", "1a")),
            out("PATH", "/opt", Origin::Explicit),
        ];
        let err = check_names(&outputs, &env).unwrap_err();
        assert_eq!(err.kind(), crate::error::Kind::Unresolved);
        let (_, details, _, _) = err.parts();
        let text = details.join("\n");
        assert_eq!(details.len(), 4, "{text}");
        assert!(text.contains("X_USER would be set twice: X_USER (key \"user\" of X) and X_USER (key \"User\" of X)"), "{text}");
        assert!(
            text.contains("LD_PRELOAD (key \"LD_PRELOAD\" of X): a generated name may not"),
            "{text}"
        );
        assert!(
            text.contains(
                "X_HOST (key \"host\" of X): would replace the job's own variable X_HOST"
            ),
            "{text}"
        );
        assert!(
            text.contains("1A (key \"1a\" of X): not a variable name"),
            "{text}"
        );
        assert!(
            !text.contains("X_PORT"),
            "the same value again is no conflict: {text}"
        );
        assert!(
            !text.contains("mine") && !text.contains("\"a\""),
            "no value in messages: {text}"
        );

        let warnings = check_names(&[out("PATH", "/opt", Origin::Explicit)], &env).unwrap();
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with("PATH is set from Akeyless"),
            "{warnings:?}"
        );
    }
}
