//! `akl run`: resolve, then run a command with the values in its environment, masking
//! them (and whatever is registered while it runs) in its output unless `--no-mask`.
//! What the run made for the command goes when it ends: the files of `|file=true`
//! outputs (a private temporary directory), and the credentials dynamic secrets minted
//! (revoked, unless AKEYLESS_REVOKE=false).

use std::collections::{BTreeMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use crate::auth::{Session, is_jwt};
use crate::cli::RunArgs;
use crate::client::Token;
use crate::envfile::{self, Parsed};
use crate::error::{self, Error, Result};
use crate::files;
use crate::mask::{MIN_LEN, TooShort};
use crate::resolve::{self, Minted};
use crate::run::{self, Command, Masker, channel};
use crate::secret::Secret;
use crate::settings::{self, Env, Overrides, Settings, vars};

use super::outputs;

/// Credentials that may sit in the command's environment: masked too, silently.
const CREDENTIALS: [&str; 10] = [
    vars::AKEYLESS_JWT,
    vars::AKEYLESS_ACCESS_KEY,
    vars::AKEYLESS_TOKEN,
    vars::CI_JOB_JWT_V2,
    vars::CI_JOB_JWT,
    vars::TOKEN,
    // The cloud credentials aws_iam and azure_ad read from the environment: a job that
    // prints its environment must not show them either.
    vars::AWS_SECRET_ACCESS_KEY,
    vars::AWS_SESSION_TOKEN,
    vars::AWS_CONTAINER_AUTHORIZATION_TOKEN,
    vars::IDENTITY_HEADER,
];

/// What the command gets, and what goes when it ends.
#[derive(Default)]
struct Prepared {
    vars: Vec<(String, Secret)>,
    /// The variables among them that hold a file's path, and the files' content.
    file_vars: Vec<String>,
    contents: Vec<Secret>,
    /// Variables to remove from its environment (folder references).
    unset: Vec<String>,
    /// The files of `|file=true` outputs, removed when this drops.
    files: Option<tempfile::TempDir>,
    /// Credentials to revoke, with the token that minted them.
    minted: Option<(Token, Vec<Minted>)>,
}

pub fn run(env: &Env, overrides: &Overrides, args: &RunArgs) -> Result<ExitCode> {
    let (program, rest) = args
        .command
        .split_first()
        .expect("clap requires the command");
    let file = run::locate(program, env.get(vars::PATH)?)?;
    let revoke = settings::flag_or(env, vars::AKEYLESS_REVOKE, true)?;
    let prepared = match &args.env_file {
        Some(path) => {
            let parsed = read_env_file(path)?;
            let (file_vars, contents) = files_of(path, &parsed.vars);
            Prepared {
                file_vars,
                contents,
                vars: parsed.vars,
                unset: parsed.unset,
                ..Prepared::default()
            }
        }
        None if args.no_resolve => Prepared::default(),
        None => resolve(env, overrides)?,
    };
    // An enclosing masker sees our output too, and keeps masking after we exit.
    // Linux refuses to start a program with an environment string over 128 KiB: say
    // which value, before anything is copied for the child.
    if let Some((name, value)) = prepared
        .vars
        .iter()
        .find(|(n, v)| n.len() + v.expose().len() + 2 > super::env::MAX_ARG_STRLEN)
    {
        return Err(Error::usage(format!(
            "{name} is {} bytes: Linux passes no environment variable over 128 KiB to a program, so the command cannot start with it",
            value.expose().len()
        ))
        .hint("have akl write it to a file instead: add |file=true to its reference"));
    }
    // The files' paths are not secret; their content is.
    let file_vars: HashSet<&str> = prepared.file_vars.iter().map(String::as_str).collect();
    let named: Vec<(String, Secret)> = prepared
        .vars
        .iter()
        .filter(|(name, _)| !file_vars.contains(name.as_str()))
        .cloned()
        .collect();
    let values: Vec<Secret> = named
        .iter()
        .map(|(_, v)| v.clone())
        .chain(prepared.contents.iter().cloned())
        .collect();
    super::register(env, &values)?;

    let mut cmd = Command {
        program: program.clone(),
        file,
        args: rest.to_vec(),
        env: child_env(&prepared.vars, &prepared.unset),
    };
    let recorded = args
        .env_file
        .as_deref()
        .filter(|_| args.revoke)
        .is_some_and(|f| envfile::minted_path(f).exists());
    let cleanup = prepared.files.is_some() || (revoke && (prepared.minted.is_some() || recorded));
    if args.no_mask && !cleanup {
        return Err(run::exec(&cmd));
    }

    let code = match args.no_mask {
        // Something must happen after the command: wait for it, without masking.
        true => run::supervise(&cmd, None),
        false => masked(env, &mut cmd, &named, values),
    };
    drop(prepared.files);
    // The command's exit code stands whatever happens here: a failure is a warning.
    if revoke {
        if let Some((token, minted)) = prepared.minted {
            let revoked = super::block_on(env, revoke_own(env, overrides, token, minted));
            if let Err(e) = revoked.and_then(|r| r) {
                error::warn(format!(
                    "the credentials dynamic secrets minted could not be revoked: {e}"
                ));
            }
        }
        // Asked again: the job may have run `akl env` itself meanwhile.
        let record = |f: &&Path| args.revoke && envfile::minted_path(f).exists();
        if let Some(path) = args.env_file.as_deref().filter(record) {
            let _ = super::block_on(env, revoke_recorded(env, overrides, path));
        }
    }
    code
}

/// Runs the command under a masker that knows the values and the credentials in our
/// environment, and learns what is registered while it runs.
/// `values` are the variables' values first (warned about by name when too short to
/// mask), then the files' contents.
fn masked(
    env: &Env,
    cmd: &mut Command,
    vars: &[(String, Secret)],
    values: Vec<Secret>,
) -> Result<ExitCode> {
    let initial = values.into_iter().chain(credentials(env)).collect();
    let parent = env.get(vars::AKL_MASK_SOCKET)?.map(PathBuf::from);
    let (masker, short) = Masker::new(initial, parent);
    for (i, too_short) in short {
        let Some((name, _)) = vars.get(i) else {
            continue;
        }; // file contents and credentials: no warning
        error::warn(match too_short {
            TooShort::Value { len } => format!(
                "{name} is {len} characters, shorter than the {MIN_LEN} that can be masked without blanking out ordinary output: it is not masked"
            ),
            TooShort::Lines { count } => format!(
                "{name}: {count} of its lines are shorter than {MIN_LEN} characters and are not masked"
            ),
        });
    }
    let masker = Arc::new(masker);
    // The command and everything it starts register what they fetch later here.
    let listener = match channel::Listener::start(masker.clone(), &settings::temp_dir(env)?) {
        Ok(listener) => {
            cmd.set_env(vars::AKL_MASK_SOCKET, listener.path().as_os_str());
            Some(listener)
        }
        Err(e) => {
            error::warn(format!(
                "values fetched while the command runs cannot be registered with this masker ({e}); set TMPDIR to a writable directory"
            ));
            None
        }
    };
    let code = run::supervise(cmd, Some(masker));
    drop(listener);
    code
}

/// An env file as `akl env` wrote it.
fn read_env_file(path: &Path) -> Result<Parsed> {
    let bytes = files::read_trusted(path, 64 << 20)?.ok_or_else(|| {
        Error::usage(format!("cannot read {}: it does not exist", path.display()))
            .hint("write it first with `akl env`, or drop --env-file to resolve now")
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::usage(format!(
            "{} is not an env file akl wrote: not UTF-8",
            path.display()
        ))
    })?;
    envfile::parse(&text).map_err(|why| {
        Error::usage(format!(
            "{} is not an env file akl wrote: {why}",
            path.display()
        ))
    })
}

/// The variables of an env file that point to its `files/`, and those files' content
/// that is text and secret. A TLS certificate's key lies beside it (`$X.key`): the key
/// is secret, the certificate is not; an SSH certificate (`$X-cert.pub`) is not either.
fn files_of(env_file: &Path, vars: &[(String, Secret)]) -> (Vec<String>, Vec<Secret>) {
    let dir = envfile::files_dir(env_file);
    let files: Vec<&(String, Secret)> = vars
        .iter()
        .filter(|(name, value)| Path::new(value.expose()) == dir.join(name))
        .collect();
    let read = |path: &Path| files::read_trusted(path, 64 << 20).ok().flatten();
    let contents = files
        .iter()
        .filter_map(|(_, value)| {
            let own = Path::new(value.expose());
            let key = PathBuf::from(format!("{}{}", value.expose(), resolve::TLS_KEY_SUFFIX));
            match read(&key) {
                Some(key) => Some(key),
                None => read(own),
            }
        })
        .filter_map(|bytes| String::from_utf8(bytes).ok().map(Secret::new))
        .collect();
    (
        files.into_iter().map(|(n, _)| n.clone()).collect(),
        contents,
    )
}

/// Resolves the environment's references as `akl env` does; file outputs go to a private
/// temporary directory.
fn resolve(env: &Env, overrides: &Overrides) -> Result<Prepared> {
    let wanted = resolve::references(env)?;
    let resolution = super::block_on(
        env,
        super::resolve(env, overrides, wanted, None, super::unless_allowed),
    )??;
    let outcome = resolution.outcome;
    let contents = outputs::file_contents(&outcome.resolved);
    let file_vars = outcome
        .resolved
        .iter()
        .filter(|r| {
            matches!(
                r.content,
                resolve::Content::File(_) | resolve::Content::KeyFiles(_)
            )
        })
        .map(|r| r.var.clone())
        .collect();
    let mut dir = None;
    let (vars, _) = outputs::variables(&outcome.resolved, || {
        let made = tempfile::Builder::new()
            .prefix("akl-files-")
            .tempdir_in(settings::temp_dir(env)?)
            .map_err(|e| {
                Error::other(format!(
                    "cannot create a private directory for the files: {e}"
                ))
                .hint("set TMPDIR to a writable directory")
            })?;
        let path = made.path().to_owned();
        dir = Some(made);
        Ok(path)
    })?;
    let minted = match (resolution.session, outcome.minted.is_empty()) {
        (Some(session), false) => Some((session.token().clone(), outcome.minted)),
        _ => None,
    };
    Ok(Prepared {
        vars: vars.into_iter().map(|(n, v)| (n.to_owned(), v)).collect(),
        file_vars,
        contents,
        unset: outcome.unset,
        files: dir,
        minted,
    })
}

/// Revokes what this run minted, now that the command is done with it.
async fn revoke_own(
    env: &Env,
    overrides: &Overrides,
    token: Token,
    minted: Vec<Minted>,
) -> Result<()> {
    let settings = Settings::from_env(env, overrides)?;
    let mut session = Session::resume(&settings, token)?;
    super::revoke::now(&mut session, minted).await;
    Ok(())
}

/// Revokes what `akl env` recorded for the env file; the file is then no longer current
/// for `--reuse` (its credentials are gone), so the next stage fetches anew.
async fn revoke_recorded(env: &Env, overrides: &Overrides, env_file: &Path) {
    let record = envfile::minted_path(env_file);
    match super::revoke::recorded(env, overrides, &record).await {
        Ok((0, failed)) if failed.is_empty() => {}
        Ok((_, failed)) => {
            let _ = std::fs::remove_file(envfile::stamp_path(env_file));
            if !failed.is_empty() {
                error::warn(format!(
                    "{} credentials could not be revoked; they stay recorded in {} and expire with their TTL",
                    failed.len(),
                    record.display()
                ));
            }
        }
        Err(e) => error::warn(format!(
            "the credentials recorded in {} could not be revoked: {e}",
            record.display()
        )),
    }
}

/// The credentials in our environment, masked silently: the known variables, the one
/// `AKEYLESS_JWT_VAR` names, and every value shaped like a JWT (ID tokens under any name).
pub(super) fn credentials(env: &Env) -> Vec<Secret> {
    let named = env
        .get(vars::AKEYLESS_JWT_VAR)
        .ok()
        .flatten()
        .map(str::trim);
    let mut found: Vec<Secret> = env
        .iter()
        .filter_map(|(name, value)| {
            let value = value.to_str()?;
            let wanted = CREDENTIALS.contains(&name) || Some(name) == named || is_jwt(value);
            (wanted && !value.is_empty()).then(|| Secret::new(value))
        })
        .collect();
    found.extend(settings::proxy_secrets(env));
    found.dedup();
    found
}

/// Our environment, byte for byte, with the resolved values in place of their references
/// and the folder references removed.
fn child_env(values: &[(String, Secret)], unset: &[String]) -> Vec<(OsString, OsString)> {
    let mut vars: BTreeMap<OsString, OsString> = std::env::vars_os().collect();
    for name in unset {
        vars.remove(std::ffi::OsStr::new(name));
    }
    for (name, value) in values {
        vars.insert(name.into(), value.expose().into());
    }
    vars.into_iter().collect()
}
