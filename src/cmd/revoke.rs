//! `akl revoke`, and revoking what a run minted: when `akl run`'s command ends, when the
//! image's job script ends (`akl run --revoke`), when a shell-executor job's shell exits
//! (the watcher), and when a run fails after minting (nobody will use them).

use std::collections::BTreeSet;
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
/// recorded, and so do lines added meanwhile (the record is locked only to be read, and
/// to take out what was revoked). Returns how many were revoked, and the failures.
pub async fn recorded(
    env: &Env,
    overrides: &Overrides,
    record: &Path,
) -> Result<(usize, Vec<(Minted, String)>)> {
    let minted = envfile::recorded_minted(record)?;
    if minted.is_empty() {
        return Ok((0, Vec::new()));
    }
    let settings = Settings::from_env(env, overrides)?;
    let mut session = Session::start(&settings).await?;
    let failed = resolve::revoke(&mut session, minted.clone()).await?;
    let revoked = revoked(minted, &failed);
    envfile::forget_minted(record, &revoked)?;
    Ok((revoked.len(), failed))
}

/// Revokes what this run minted with its own session; a failure is a warning (the
/// credentials expire with their TTL).
pub async fn now(session: &mut Session, minted: Vec<Minted>) {
    now_recorded(session, minted, None).await;
}

/// `now`, for credentials already in `record`: what is revoked is taken out of it, what
/// is not stays there for `akl revoke`.
pub async fn now_recorded(session: &mut Session, minted: Vec<Minted>, record: Option<&Path>) {
    if minted.is_empty() {
        return;
    }
    match resolve::revoke(session, minted.clone()).await {
        Ok(failed) => {
            if let Some(record) = record {
                if let Err(e) = envfile::forget_minted(record, &revoked(minted, &failed)) {
                    error::warn(e.to_string());
                }
            }
            if !failed.is_empty() {
                error::warn(failures(&failed).to_string());
            }
        }
        Err(e) => error::warn(format!(
            "the credentials dynamic secrets minted could not be revoked: {e}"
        )),
    }
}

/// Those of `minted` that are not among the `failed`.
fn revoked(minted: Vec<Minted>, failed: &[(Minted, String)]) -> Vec<Minted> {
    let failed: BTreeSet<&Minted> = failed.iter().map(|(m, _)| m).collect();
    minted.into_iter().filter(|m| !failed.contains(m)).collect()
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
