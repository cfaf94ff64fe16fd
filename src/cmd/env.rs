//! `akl env`: resolve every reference in the environment and write the env file, with the
//! files of `|file=true` outputs beside it and the record of credentials to revoke.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use crate::cli::EnvArgs;
use crate::envfile::{self, Format};
use crate::error::{self, Error, Result};
use crate::resolve::{self, Content, FolderOutputs, Resolved, Wanted};
use crate::secret::Secret;
use crate::settings::{self, Env, Overrides, vars};

use super::outputs;

/// Linux's limit on one `NAME=value` string in an environment (32 pages).
pub const MAX_ARG_STRLEN: usize = 128 << 10;

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
    let path = match args.stdout {
        true => None,
        false => Some(envfile::destination(
            env,
            envfile::env_file(env, args.output.as_deref())?,
        )?),
    };
    let fingerprint = match args.reuse {
        true => format!(
            "{}format={:?}\n",
            resolve::fingerprint(env, &wanted)?,
            args.format
        ),
        false => String::new(),
    };
    let revoke = settings::flag_or(env, vars::AKEYLESS_REVOKE, true)?;
    // A folder's content is part of what the file was written for: comparing it takes a
    // login and a walk of each folder (still no secret fetched).
    let mut session = None;
    let fingerprint = match path.as_ref().filter(|_| args.reuse) {
        Some(path) => {
            // The stamp's place passes the rule before any request, as the file's did: a
            // link or a directory there is refused now, not after the values are fetched.
            crate::files::check_target(&envfile::stamp_path(path))?;
            let folders: Vec<&Wanted> = wanted
                .iter()
                .filter(|w| w.reference.folder.is_some())
                .collect();
            let mut fingerprint = fingerprint;
            if !folders.is_empty() {
                let s = super::login(env, overrides).await?;
                let walks = resolve::folder_outputs(s.api(), s.token(), &folders).await;
                for (w, walked) in folders.iter().zip(walks) {
                    fingerprint.push_str(&listing(w, walked));
                }
                session = Some(s);
            }
            if envfile::is_current(path, &fingerprint)? {
                error::note(format!(
                    "reusing {}, written for the same references",
                    path.display()
                ));
                return Ok(ExitCode::SUCCESS);
            }
            fingerprint
        }
        None => fingerprint,
    };

    let resolution = super::resolve(env, overrides, wanted, session, super::unless_allowed).await?;
    let outcome = &resolution.outcome;
    warn_if_too_big(&outcome.resolved);

    // Files and the record of what to revoke live beside the env file (the default one
    // for --stdout, so that the image's job shell and `akl revoke` find them).
    let home = |path: &Option<PathBuf>| -> Result<PathBuf> {
        match path {
            Some(path) => Ok(path.clone()),
            None => envfile::destination(env, envfile::env_file(env, None)?),
        }
    };
    // From here on, a failure revokes what dynamic secrets minted: the run ends before
    // anyone can use it, and until the record names it nothing else could revoke it. What
    // the record already names is taken out of it.
    let mut record = None;
    let done = (|| -> Result<_> {
        // Whoever sources the file exports the values: an enclosing masker learns them
        // first.
        if super::registers(env)? {
            super::register(env, &outputs::masks(&outcome.resolved))?;
        }
        let files_dir = || Ok(envfile::files_dir(&home(&path)?));
        let (vars, files) = outputs::variables(&outcome.resolved, files_dir)?;
        if !outcome.minted.is_empty() {
            let minted = envfile::minted_path(&home(&path)?);
            envfile::record_minted(&minted, &outcome.minted)?;
            record = Some(minted);
        }
        let content = envfile::render(&vars, &outcome.unset, args.format);
        let place = match &path {
            Some(path) => {
                envfile::remove_gone(path, &envfile::files_dir(path), &files);
                envfile::write(path, &content)?;
                let mut written = vec![path.clone()];
                written.extend(files);
                if args.reuse {
                    let stamp = envfile::stamp_path(path);
                    let text = envfile::stamp(&fingerprint, content.expose().as_bytes());
                    envfile::write(&stamp, &Secret::new(text))?;
                    written.push(stamp);
                }
                super::scoped_to_the_job(env, &written, record.as_deref().filter(|_| revoke))?;
                format!("wrote {}", path.display())
            }
            None => {
                super::scoped_to_the_job(env, &files, record.as_deref().filter(|_| revoke))?;
                super::print(content.expose())?;
                "printed to stdout".to_owned()
            }
        };
        Ok((place, vars))
    })();
    let (place, vars) = match done {
        Ok(done) => done,
        Err(e) => {
            if let Some(mut session) = resolution.session {
                let minted = outcome.minted.clone();
                super::revoke::now_recorded(&mut session, minted, record.as_deref()).await;
            }
            return Err(e);
        }
    };
    super::summary(&resolution, started, &place);
    // The process ends next, and its exit gives all memory back at once: freeing 10,000
    // outputs one by one first would cost a good part of what resolving them did.
    std::mem::forget(vars);
    std::mem::forget(resolution);
    Ok(ExitCode::SUCCESS)
}

/// What `--reuse` compares of a folder: the names and types of the secrets in it.
fn listing(w: &Wanted, walked: FolderOutputs) -> String {
    match walked {
        Ok(found) => found
            .into_iter()
            .map(|(name, item, t)| format!("{} {name} {item} {}\n", w.var, t.name()))
            .collect(),
        // Not the same as any file written: the run resolves, and reports the failure.
        Err(reason) => format!("{} unlisted: {reason}\n", w.var),
    }
}

/// Linux refuses an environment string over MAX_ARG_STRLEN to execve: the value works in
/// the shell that sources the file, but every program it starts fails.
fn warn_if_too_big(resolved: &[Resolved]) {
    for r in resolved {
        let Content::Text(value) = &r.content else {
            continue;
        };
        if r.var.len() + 1 + value.expose().len() + 1 > MAX_ARG_STRLEN {
            error::warn(format!(
                "{} is {} bytes: once the file is sourced (it is exported), every command the shell starts fails with \"Argument list too long\", because Linux passes no environment variable over 128 KiB to a program; have akl write it to a file instead (|file=true)",
                r.var,
                value.expose().len()
            ));
        }
    }
}
