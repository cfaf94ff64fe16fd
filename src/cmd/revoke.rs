//! `akl revoke`, and revoking what a run minted: when `akl run`'s command ends, when the
//! image's job script ends (`akl run --revoke`), when a shell-executor job's shell exits
//! (the watcher), and when a run fails after minting (nobody will use them).

use std::path::Path;
use std::process::ExitCode;

use crate::auth::Session;
use crate::cli::RevokeArgs;
use crate::envfile;
use crate::error::{self, Error, Result};
use crate::resolve::{self, Minted};
use crate::settings::{Env, Overrides, Settings};

pub async fn run(env: &Env, overrides: &Overrides, args: &RevokeArgs) -> Result<ExitCode> {
    let path = envfile::destination(env, envfile::env_file(env, args.output.as_deref())?)?;
    let record = envfile::minted_path(&path);
    let (revoked, failed) = recorded(env, overrides, &record).await?;
    if failed.is_empty() {
        error::note(match revoked {
            0 => format!("nothing to revoke for {}", path.display()),
            1 => "revoked the credentials of 1 dynamic secret".to_owned(),
            n => format!("revoked the credentials of {n} dynamic secrets"),
        });
        return Ok(ExitCode::SUCCESS);
    }
    Err(failures(&failed).hint(format!(
        "they stay recorded in {}: run akl revoke again, or let them expire with their TTL",
        record.display()
    )))
}

/// Revokes the credentials recorded in `record`; those that could not be revoked stay
/// recorded. The record is held from reading to rewriting, so a run that adds to it
/// meanwhile waits and loses nothing; it is held after the login, so that such a run
/// waits for the revoking requests only. Returns how many were revoked, and the failures.
pub async fn recorded(
    env: &Env,
    overrides: &Overrides,
    record: &Path,
) -> Result<(usize, Vec<(Minted, String)>)> {
    // Nothing recorded: no login.
    if envfile::hold_minted(record)?.minted.is_empty() {
        return Ok((0, Vec::new()));
    }
    let settings = Settings::from_env(env, overrides)?;
    let mut session = Session::start(&settings).await?;
    let mut held = envfile::hold_minted(record)?;
    let minted = std::mem::take(&mut held.minted);
    let count = minted.len();
    if count == 0 {
        return Ok((0, Vec::new())); // revoked by another run meanwhile
    }
    let failed = resolve::revoke(&mut session, minted).await?;
    let kept: Vec<Minted> = failed.iter().map(|(m, _)| m.clone()).collect();
    held.keep(&kept)?;
    Ok((count - failed.len(), failed))
}

/// Revokes what this run minted with its own session; a failure is a warning (the
/// credentials expire with their TTL).
pub async fn now(session: &mut Session, minted: Vec<Minted>) {
    if minted.is_empty() {
        return;
    }
    match resolve::revoke(session, minted).await {
        Ok(failed) if failed.is_empty() => {}
        Ok(failed) => error::warn(failures(&failed).to_string()),
        Err(e) => error::warn(format!(
            "the credentials dynamic secrets minted could not be revoked: {e}"
        )),
    }
}

fn failures(failed: &[(Minted, String)]) -> Error {
    let mut err = Error::unreachable(match failed.len() {
        1 => "the credentials of 1 dynamic secret could not be revoked".to_owned(),
        n => format!("the credentials of {n} dynamic secrets could not be revoked"),
    });
    for (minted, why) in failed {
        err = err.detail(format!("{}: {why}", minted.name));
    }
    err
}
