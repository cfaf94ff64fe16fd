//! `akl env`: resolve every reference in the environment and write the env file.

use std::process::ExitCode;
use std::time::Instant;

use crate::cli::EnvArgs;
use crate::envfile;
use crate::error::{self, Result};
use crate::resolve;
use crate::secret::Secret;
use crate::settings::{self, Env, Overrides, vars};

/// Linux's limit on one `NAME=value` string in an environment (32 pages).
const MAX_ARG_STRLEN: usize = 128 << 10;

pub async fn run(env: &Env, overrides: &Overrides, args: &EnvArgs) -> Result<ExitCode> {
    let started = Instant::now();
    // Everything is validated, and the destination chosen, before the first request.
    let wanted = resolve::references(env)?;
    let allow_missing = settings::flag(env, vars::AKEYLESS_ALLOW_MISSING)?;
    let path = match args.stdout {
        true => None,
        false => Some(envfile::destination(
            env,
            envfile::env_file(env, args.output.as_deref())?,
        )?),
    };
    let fingerprint = resolve::fingerprint(env, &wanted)?;
    if let Some(path) = path.as_ref().filter(|_| args.reuse) {
        if envfile::is_current(path, &fingerprint) {
            error::note(format!(
                "reusing {}, written for the same references",
                path.display()
            ));
            return Ok(ExitCode::SUCCESS);
        }
    }

    let (outcome, requests) = super::resolve(env, overrides, wanted).await?;
    super::unless_allowed(&outcome.failed, allow_missing)?;
    for r in &outcome.resolved {
        // Linux refuses an environment string over MAX_ARG_STRLEN to execve: the value
        // works in the shell that sources the file, but every program it starts fails.
        if r.var.len() + 1 + r.value.expose().len() + 1 > MAX_ARG_STRLEN {
            error::warn(format!(
                "{} is {} bytes; Linux passes no environment variable over 128 KiB to programs (\"Argument list too long\"), so only the shell that sources the file can use it",
                r.var,
                r.value.expose().len()
            ));
        }
    }

    let vars: Vec<_> = outcome
        .resolved
        .iter()
        .map(|r| (r.var.clone(), r.value.clone()))
        .collect();
    // Whoever sources the file exports the values: an enclosing masker learns them first.
    super::register(env, vars.iter().map(|(_, v)| v))?;
    let content = envfile::render(&vars, args.format);
    let place = match &path {
        Some(path) => {
            envfile::write(path, &content)?;
            if args.reuse {
                envfile::write(&envfile::stamp_path(path), &Secret::new(fingerprint))?;
            }
            format!("wrote {}", path.display())
        }
        None => {
            super::print(content.expose())?;
            "printed to stdout".to_owned()
        }
    };
    super::summary(&outcome, requests, started, &place);
    Ok(ExitCode::SUCCESS)
}
