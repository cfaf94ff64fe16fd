//! `akl env`: resolve every reference in the environment and write the env file.

use std::process::ExitCode;
use std::time::Instant;

use crate::cli::EnvArgs;
use crate::envfile::{self, Format};
use crate::error::{self, Error, Result};
use crate::resolve;
use crate::secret::Secret;
use crate::settings::{self, Env, Overrides, vars};

/// Linux's limit on one `NAME=value` string in an environment (32 pages).
const MAX_ARG_STRLEN: usize = 128 << 10;

pub async fn run(env: &Env, overrides: &Overrides, args: &EnvArgs) -> Result<ExitCode> {
    let started = Instant::now();
    // Everything is validated, and the destination chosen, before the first request.
    if args.format == Format::Json && !args.stdout && args.output.is_none() {
        // The default file is sourced by a shell, which would run `$(…)` inside a value.
        return Err(Error::usage(
            "--format json goes only to --stdout or to a file named with -o",
        )
        .hint("the default env file is sourced by the job's shell: write JSON with -o FILE, or print it with --stdout"));
    }
    let wanted = resolve::references(env)?;
    let allow_missing = settings::flag(env, vars::AKEYLESS_ALLOW_MISSING)?;
    let path = match args.stdout {
        true => None,
        false => Some(envfile::destination(
            env,
            envfile::env_file(env, args.output.as_deref())?,
        )?),
    };
    let fingerprint = format!(
        "{}format={:?}\n",
        resolve::fingerprint(env, &wanted)?,
        args.format
    );
    if let Some(path) = path.as_ref().filter(|_| args.reuse) {
        if envfile::is_current(path, &fingerprint)? {
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
                "{} is {} bytes: once the file is sourced (it is exported), every command the shell starts fails with \"Argument list too long\", because Linux passes no environment variable over 128 KiB to a program; have akl write it to a file instead (|file=true)",
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
            let mut written = vec![path.clone()];
            if args.reuse {
                let stamp = envfile::stamp_path(path);
                envfile::write(&stamp, &Secret::new(fingerprint))?;
                written.push(stamp);
            }
            super::scoped_to_the_job(env, &written)?;
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
