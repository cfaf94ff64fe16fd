//! `akl run`: resolve, then run a command with the values in its environment, masking
//! them in its output unless `--no-mask`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::process::ExitCode;

use crate::cli::RunArgs;
use crate::envfile;
use crate::error::{self, Error, Result};
use crate::mask::{MIN_LEN, Patterns, TooShort};
use crate::resolve;
use crate::run::{self, Command};
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
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::usage(format!("cannot read {}: {e}", path.display()))
                    .hint("write it first with `akl env`, or drop --env-file to resolve now")
            })?;
            envfile::parse(&text).map_err(|why| {
                Error::usage(format!(
                    "{} is not an env file akl wrote: {why}",
                    path.display()
                ))
            })?
        }
        None => resolve(env, overrides)?,
    };

    let cmd = Command {
        program: program.clone(),
        file,
        args: rest.to_vec(),
        env: child_env(&values),
    };
    if args.no_mask {
        return Err(run::exec(&cmd));
    }

    let secrets: Vec<(&str, &str)> = values
        .iter()
        .map(|(k, v)| (k.as_str(), v.expose()))
        .collect();
    let credentials: Vec<(&str, &str)> = CREDENTIALS
        .iter()
        .filter_map(|name| Some((*name, env.get(name).ok().flatten()?)))
        .collect();
    let (patterns, short) = Patterns::new(secrets.iter().chain(&credentials).map(|(_, v)| *v));
    for (i, too_short) in short {
        let Some((name, _)) = secrets.get(i) else {
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
    if patterns.is_empty() {
        // Nothing to hide: no reason to stand between the command and its output.
        return Err(run::exec(&cmd));
    }
    run::supervise(&cmd, patterns)
}

/// Resolves the environment's references as `akl env` does.
fn resolve(env: &Env, overrides: &Overrides) -> Result<Vec<(String, Secret)>> {
    let wanted = resolve::references(env)?;
    let allow_missing = settings::flag(env, vars::AKEYLESS_ALLOW_MISSING)?;
    let (outcome, _) = super::block_on(super::resolve(env, overrides, wanted))?;
    super::unless_allowed(&outcome.failed, allow_missing)?;
    Ok(outcome
        .resolved
        .into_iter()
        .map(|r| (r.var, r.value))
        .collect())
}

/// Our environment, byte for byte, with the resolved values in place of their references.
fn child_env(values: &[(String, Secret)]) -> Vec<(OsString, OsString)> {
    let mut vars: BTreeMap<OsString, OsString> = std::env::vars_os().collect();
    for (name, value) in values {
        vars.insert(name.into(), value.expose().into());
    }
    vars.into_iter().collect()
}
