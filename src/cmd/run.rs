//! `akl run`: resolve, then run a command with the values in its environment, masking
//! them (and whatever is registered while it runs) in its output unless `--no-mask`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::auth::is_jwt;
use crate::cli::RunArgs;
use crate::envfile;
use crate::error::{self, Error, Result};
use crate::files;
use crate::mask::{MIN_LEN, TooShort};
use crate::resolve;
use crate::run::{self, Command, Masker, channel};
use crate::secret::Secret;
use crate::settings::{self, Env, Overrides, vars};

/// Credentials that may sit in the command's environment: masked too, silently.
const CREDENTIALS: [&str; 6] = [
    vars::AKEYLESS_JWT,
    vars::AKEYLESS_ACCESS_KEY,
    vars::AKEYLESS_TOKEN,
    vars::CI_JOB_JWT_V2,
    vars::CI_JOB_JWT,
    vars::TOKEN,
];

pub fn run(env: &Env, overrides: &Overrides, args: &RunArgs) -> Result<ExitCode> {
    let (program, rest) = args
        .command
        .split_first()
        .expect("clap requires the command");
    let file = run::locate(program, env.get(vars::PATH)?)?;
    let values = match &args.env_file {
        Some(path) => {
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
            })?
        }
        None if args.no_resolve => Vec::new(),
        None => resolve(env, overrides)?,
    };
    // An enclosing masker sees our output too, and keeps masking after we exit.
    super::register(env, values.iter().map(|(_, v)| v))?;

    let mut cmd = Command {
        program: program.clone(),
        file,
        args: rest.to_vec(),
        env: child_env(&values),
    };
    if args.no_mask {
        return Err(run::exec(&cmd));
    }

    let credentials = credentials(env);
    let initial = values
        .iter()
        .map(|(_, v)| v.clone())
        .chain(credentials)
        .collect();
    let parent = env.get(vars::AKL_MASK_SOCKET)?.map(PathBuf::from);
    let (masker, short) = Masker::new(initial, parent);
    for (i, too_short) in short {
        let Some((name, _)) = values.get(i) else {
            continue;
        }; // credentials: no warning
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
    let code = run::supervise(&cmd, masker);
    drop(listener);
    code
}

/// Resolves the environment's references as `akl env` does.
fn resolve(env: &Env, overrides: &Overrides) -> Result<Vec<(String, Secret)>> {
    let wanted = resolve::references(env)?;
    let allow_missing = settings::flag(env, vars::AKEYLESS_ALLOW_MISSING)?;
    let (outcome, _) = super::block_on(env, super::resolve(env, overrides, wanted))??;
    super::unless_allowed(&outcome.failed, allow_missing)?;
    Ok(outcome
        .resolved
        .into_iter()
        .map(|r| (r.var, r.value))
        .collect())
}

/// The credentials in our environment, masked silently: the known variables, the one
/// `AKEYLESS_JWT_VAR` names, and every value shaped like a JWT (ID tokens under any name).
fn credentials(env: &Env) -> Vec<Secret> {
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

/// Our environment, byte for byte, with the resolved values in place of their references.
fn child_env(values: &[(String, Secret)]) -> Vec<(OsString, OsString)> {
    let mut vars: BTreeMap<OsString, OsString> = std::env::vars_os().collect();
    for (name, value) in values {
        vars.insert(name.into(), value.expose().into());
    }
    vars.into_iter().collect()
}
