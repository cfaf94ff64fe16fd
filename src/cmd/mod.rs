//! One function per subcommand: each reads the configuration it needs, does its work
//! through the library modules, and returns an exit code or an `Error` for `main`.

mod auth;
mod doctor;
mod env;
mod get;
mod mask;
mod run;

use std::future::Future;
use std::process::ExitCode;
use std::time::Instant;

use crate::auth::Session;
use crate::cli::{Cli, Command};
use crate::error::{Error, Kind, Result};
use crate::resolve::{self, Failure, Outcome, Wanted};
use crate::run::channel;
use crate::secret::Secret;
use crate::settings::{Env, Overrides, Settings, vars};

pub fn run(cli: Cli) -> Result<ExitCode> {
    let env = Env::from_process();
    let overrides = cli.global.overrides()?;
    match cli.command {
        Command::Env(args) => block_on(env::run(&env, &overrides, &args)),
        Command::Get(args) => block_on(get::run(&env, &overrides, &args)),
        Command::Run(args) => run::run(&env, &overrides, &args),
        Command::Auth(args) => block_on(auth::run(&env, &overrides, &args)),
        Command::Mask(args) => mask::run(&env, &args),
        Command::Doctor => block_on(doctor::run(&env, &overrides)),
    }
}

/// Network work runs on a single-threaded runtime: `akl` waits on I/O, and one thread
/// keeps start-up and memory small.
pub fn block_on<F: Future>(future: F) -> F::Output {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(future),
        Err(e) => panic!("cannot start the async runtime: {e}"),
    }
}

/// Registers values with the enclosing output masker (the image's job shell, an `akl run`
/// around this one) before they are printed or written: the masker masks them from then
/// on. Nothing to do without one; failing to reach one fails the command, so that nothing
/// unmasked gets out.
pub fn register<'a>(env: &Env, values: impl IntoIterator<Item = &'a Secret>) -> Result<()> {
    let Some(socket) = env.get(vars::AKL_MASK_SOCKET)? else {
        return Ok(());
    };
    let values: Vec<Secret> = values
        .into_iter()
        .filter(|v| !v.is_empty())
        .cloned()
        .collect();
    if values.is_empty() {
        return Ok(());
    }
    channel::send(std::path::Path::new(socket), &values)
}

/// Writes command output to stdout; a closed pipe (`akl auth | head -c0`) is not a crash.
pub fn print(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .or_else(|e| {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                Ok(())
            } else {
                Err(e)
            }
        })
        .map_err(|e| Error::other(format!("cannot write to stdout: {e}")))
}

/// Logs in once and resolves `wanted`; returns the outcome and the number of requests.
/// With nothing to resolve, nothing is configured or sent.
async fn resolve(
    env: &Env,
    overrides: &Overrides,
    wanted: Vec<Wanted>,
) -> Result<(Outcome, usize)> {
    if wanted.is_empty() {
        return Ok((Outcome::default(), 0));
    }
    let settings = Settings::from_env(env, overrides)?;
    let mut session = Session::start(&settings).await?;
    let outcome = resolve::resolve(&mut session, wanted).await?;
    Ok((outcome, session.api().requests()))
}

/// Fails the run for references that could not be resolved, unless
/// `AKEYLESS_ALLOW_MISSING` is set and they are all unresolved (not unreachable): then
/// each becomes a warning and the run goes on without them.
fn unless_allowed(failed: &[Failure], allow_missing: bool) -> Result<()> {
    if failed.is_empty() {
        return Ok(());
    }
    let failure = unresolved(failed);
    if !allow_missing || failure.kind() != Kind::Unresolved {
        return Err(failure);
    }
    for f in failed {
        crate::error::warn(format!(
            "{} ({}) left out: {}",
            f.var, f.reference, f.reason
        ));
    }
    Ok(())
}

/// The error for references that could not be resolved: exit 4, or exit 5 when any of
/// them failed for want of an answer. Every variable is listed with its reason.
fn unresolved(failed: &[Failure]) -> Error {
    let unreachable = failed.iter().any(|f| f.reason.kind() == Kind::Unreachable);
    let count = match failed.len() {
        1 => "1 reference".to_owned(),
        n => format!("{n} references"),
    };
    let mut err = if unreachable {
        Error::unreachable(format!(
            "{count} could not be resolved: the gateway did not answer"
        ))
        .hint("check that the gateway is reachable from the job, or raise AKEYLESS_TIMEOUT")
    } else {
        Error::unresolved(format!("{count} could not be resolved"))
            .hint("check the item paths and the role's read rules; AKEYLESS_ALLOW_MISSING=true skips unresolved references")
    };
    for f in failed {
        err = err.detail(format!("{} ({}): {}", f.var, f.reference, f.reason));
    }
    err
}

/// One line on stderr: how many secrets of which type, how long, how many requests, where.
fn summary(outcome: &Outcome, requests: usize, started: Instant, place: &str) {
    let mut by_type = std::collections::BTreeMap::new();
    for r in &outcome.resolved {
        *by_type.entry(r.item_type).or_insert(0) += 1;
    }
    let types: Vec<String> = by_type
        .iter()
        .map(|(t, n)| format!("{n} {}", t.name()))
        .collect();
    let count = match outcome.resolved.len() {
        0 => "no akeyless: references".to_owned(),
        1 => format!("1 secret ({})", types.join(", ")),
        n => format!("{n} secrets ({})", types.join(", ")),
    };
    let skipped = match outcome.failed.len() {
        0 => String::new(),
        n => format!(", {n} skipped"),
    };
    let plural = if requests == 1 { "" } else { "s" };
    let ms = started.elapsed().as_millis();
    crate::error::note(format!(
        "{count}{skipped} in {ms} ms, {requests} request{plural}; {place}"
    ));
}
