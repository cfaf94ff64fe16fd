//! `akl env`: resolve every reference in the environment and write the env file.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use crate::cli::EnvArgs;
use crate::config::{self, EnvFile, Overrides};
use crate::env::Env;
use crate::envfile;
use crate::error::{self, Error, Result};
use crate::secret::Secret;

/// Linux's limit on one `NAME=value` string in an environment (32 pages).
const MAX_ARG_STRLEN: usize = 128 << 10;

pub async fn run(env: &Env, overrides: &Overrides, args: &EnvArgs) -> Result<ExitCode> {
    let started = Instant::now();
    // Everything is validated, and the destination chosen, before the first request.
    let wanted = config::references(env)?;
    let allow_missing = config::flag(env, config::ALLOW_MISSING)?;
    let path = match args.stdout {
        true => None,
        false => Some(destination(
            env,
            config::env_file(env, args.output.as_deref())?,
        )?),
    };
    let fingerprint = config::fingerprint(env, &wanted)?;
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

/// The file to write. A path the user gave is used as given; the default under HOME falls
/// back to a private directory under TMPDIR when HOME is unset or not writable (an
/// arbitrary `--user` in a container, a read-only root filesystem), and says so.
fn destination(env: &Env, file: EnvFile) -> Result<PathBuf> {
    let fallback = |why: String| -> Result<PathBuf> {
        let path = envfile::private_dir(&config::temp_dir(env)?)?.join(".akeyless/env");
        error::note(format!(
            "{why}; the env file goes to {} instead",
            path.display()
        ));
        Ok(path)
    };
    match file {
        EnvFile::Given(path) => {
            envfile::check_writable(&path)?;
            Ok(path)
        }
        EnvFile::NoHome => fallback("HOME is not set".to_owned()),
        EnvFile::Home(path) => match envfile::check_writable(&path) {
            Ok(()) => Ok(path),
            Err(e) if e.is_denied() => fallback(format!(
                "{} is not writable",
                path.parent().unwrap_or(&path).display()
            )),
            Err(e) => Err(Error::from(e)),
        },
    }
}
