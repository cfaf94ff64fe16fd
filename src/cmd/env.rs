//! `akl env`: resolve every reference in the environment and write the env file.

use std::process::ExitCode;
use std::time::Instant;

use crate::cli::EnvArgs;
use crate::config::{self, Overrides};
use crate::env::Env;
use crate::envfile;
use crate::error::{self, Result};

/// Linux's limit on one `NAME=value` string in an environment (32 pages).
const MAX_ARG_STRLEN: usize = 128 << 10;

pub async fn run(env: &Env, overrides: &Overrides, args: &EnvArgs) -> Result<ExitCode> {
    let started = Instant::now();
    // Everything is validated before the first request.
    let wanted = config::references(env)?;
    let allow_missing = config::flag(env, config::ALLOW_MISSING)?;
    let path = match args.stdout {
        true => None,
        false => Some(config::env_file(env, args.output.as_deref())?),
    };

    let (outcome, requests) = super::resolve(env, overrides, wanted).await?;
    if !outcome.failed.is_empty() {
        let failure = super::unresolved(&outcome.failed);
        if !allow_missing || failure.exit_code() != 4 {
            return Err(failure);
        }
        for f in &outcome.failed {
            error::warn(format!(
                "{} ({}) left out: {}",
                f.var, f.reference, f.reason
            ));
        }
    }

    for r in &outcome.resolved {
        // Linux refuses an environment string over MAX_ARG_STRLEN to execve: the value
        // works in the shell that sources the file, but every program it starts fails.
        let size = r.var.len() + 1 + r.value.expose().len() + 1;
        if size > MAX_ARG_STRLEN {
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
    let content = envfile::render(&vars, args.format);
    let place = match &path {
        Some(path) => {
            envfile::write(path, &content)?;
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
