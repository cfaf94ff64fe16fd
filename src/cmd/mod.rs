//! One function per subcommand: each reads the configuration it needs, does its work
//! through the library modules, and returns an exit code or an `Error` for `main`.

mod auth;
mod ci_mask;
mod doctor;
mod env;
mod get;
mod mask;
mod mask_shell;
mod outputs;
mod revoke;
mod run;

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::auth::Session;
use crate::cli::{Cli, Command};
use crate::error::{Error, Kind, Result};
use crate::resolve::{self, Failure, Outcome, Wanted};
use crate::run::channel;
use crate::secret::Secret;
use crate::settings::{self, Env, EnvBlock, Overrides, Settings, vars};

pub fn run(cli: Cli, environ: EnvBlock) -> Result<ExitCode> {
    let env = Env::from_process(environ);
    let overrides = cli.global.overrides()?;
    match cli.command {
        Command::Env(args) => block_on(&env, env::run(&env, &overrides, &args))?,
        Command::Get(args) => block_on(&env, get::run(&env, &overrides, &args))?,
        Command::Run(args) => run::run(&env, &overrides, &args),
        Command::Auth(args) => block_on(&env, auth::run(&env, &overrides, &args))?,
        Command::Mask(args) => mask::run(&env, &args),
        Command::Doctor => block_on(&env, doctor::run(&env, &overrides))?,
        Command::Revoke(args) => block_on(&env, revoke::run(&env, &overrides, &args))?,
        Command::MaskShell => mask_shell::run(&env),
        Command::Filter(args) => mask_shell::filter(&env, &args.dir),
        Command::Reap(args) => {
            crate::run::reap::watch(args.pid, &args.paths, || {
                if let Some(record) = &args.revoke {
                    // Quietly: the job is over and nobody reads this process's output.
                    let _ = block_on(&env, revoke::recorded(&env, &overrides, record));
                }
            });
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Network work runs on a single-threaded runtime: `akl` waits on I/O, and one thread
/// keeps start-up and memory small. The runtime is shut down without waiting for its
/// blocking threads: a name lookup the resolver never answers must not hold the run past
/// its deadline. A watchdog ends the run if anything hangs past the deadline anyway.
pub fn block_on<F: Future>(env: &Env, future: F) -> Result<F::Output> {
    let _watchdog = Watchdog::start(settings::deadline(env).unwrap_or(settings::DEFAULT_TIMEOUT));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Error::other(format!("cannot start the async runtime: {e}")).hint(
                "a limit on open files or threads was reached (ulimit -n, ulimit -u): raise it",
            )
        })?;
    let output = runtime.block_on(future);
    runtime.shutdown_background();
    Ok(output)
}

/// Ends the process with exit 5 if the work it watches outlives the run's deadline (plus a
/// moment for the client's own deadline handling to speak first). Whatever hangs (a name
/// lookup, a stalled file, a stuck peer), the run ends.
#[derive(Debug)]
struct Watchdog(Arc<AtomicBool>);

/// What the client's own deadline handling gets before the watchdog steps in.
const WATCHDOG_GRACE: Duration = Duration::from_secs(1);

impl Watchdog {
    fn start(deadline: Duration) -> Watchdog {
        let done = Arc::new(AtomicBool::new(false));
        let watched = done.clone();
        // Without a thread to spare there is no watchdog: the client's deadline remains.
        let _ = std::thread::Builder::new()
            .name("akl-watchdog".into())
            .spawn(move || {
                std::thread::sleep(deadline + WATCHDOG_GRACE);
                if !watched.load(Ordering::Acquire) {
                    Error::unreachable(format!(
                        "the deadline (AKEYLESS_TIMEOUT, {}s) passed and the run was still waiting",
                        deadline.as_secs_f64()
                    ))
                    .hint("something did not answer: the gateway, the name server, a file; raise AKEYLESS_TIMEOUT if the gateway is just slow")
                    .report();
                    std::process::exit(i32::from(Kind::Unreachable.exit_code()));
                }
            });
        Watchdog(done)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// On GitLab's shell executor, where the next job of any project runs as the same user
/// with the same HOME, `paths` (just written) are removed when the job's shell exits; if
/// that cannot be arranged they are removed now and the command fails.
/// The credentials recorded in `revoke` (if any) are revoked then too.
pub fn scoped_to_the_job(
    env: &Env,
    paths: &[std::path::PathBuf],
    revoke: Option<&std::path::Path>,
) -> Result<()> {
    let gitlab = env.get(vars::GITLAB_CI)?.is_some();
    let image = env.get(vars::CI_JOB_IMAGE)?.is_some();
    if !crate::run::reap::on_shell_executor(gitlab, image) {
        return Ok(());
    }
    crate::run::reap::remove_when_the_job_ends(paths, revoke).inspect_err(|_| {
        for path in paths {
            let _ = std::fs::remove_file(path);
        }
    })
}

/// Registers values with the enclosing output masker (the image's job shell, an `akl run`
/// around this one) before they are printed or written: the masker masks them from then
/// on. Nothing to do without one; failing to reach one fails the command, so that nothing
/// unmasked gets out.
///
/// On a CI whose own log masking a job can add to (GitHub Actions, Azure Pipelines,
/// Buildkite), the values are registered there as well (`ci_mask`).
pub fn register<'a>(env: &Env, values: impl IntoIterator<Item = &'a Secret>) -> Result<()> {
    let socket = masker(env)?;
    let ci = ci_mask::Ci::detect(env)?;
    if socket.is_none() && ci.is_none() {
        return Ok(());
    }
    let values: Vec<Secret> = values
        .into_iter()
        .filter(|v| !v.is_empty())
        .cloned()
        .collect();
    if values.is_empty() {
        return Ok(());
    }
    if let Some(socket) = socket {
        channel::send(std::path::Path::new(socket), &values)?;
    }
    ci_mask::register(env, &values)
}

/// Whether `register` would register anywhere (an enclosing masker, or the CI's own
/// masking): computing what to register can be skipped otherwise.
pub fn registers(env: &Env) -> Result<bool> {
    Ok(masker(env)?.is_some() || ci_mask::Ci::detect(env)?.is_some())
}

/// The socket of the enclosing output masker, if there is one.
pub fn masker(env: &Env) -> Result<Option<&str>> {
    env.get(vars::AKL_MASK_SOCKET)
}

/// Writes command output to stdout; a closed pipe (`akl auth | head -c0`) is not a crash.
pub fn print(text: &str) -> Result<()> {
    print_bytes(text.as_bytes())
}

/// `print`, for any bytes.
pub fn print_bytes(bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
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

/// What resolving gave: the outputs, and the session that fetched them (for revoking the
/// credentials dynamic secrets minted); none when there was nothing to resolve.
struct Resolution {
    outcome: Outcome,
    session: Option<Session>,
}

impl Resolution {
    fn requests(&self) -> usize {
        self.session.as_ref().map_or(0, |s| s.api().requests())
    }
}

/// Logs in, for a fetch.
async fn login(env: &Env, overrides: &Overrides) -> Result<Session> {
    Session::start_for_fetch(&Settings::from_env(env, overrides)?).await
}

/// How a command fails for references that could not be resolved.
type Verdict = fn(&Env, &[Failure]) -> Result<()>;

/// Logs in once (unless `session` is given) and resolves `wanted`, then checks the
/// generated names and, with `verdict`, what could not be resolved. A run that fails
/// after dynamic secrets minted credentials revokes them first: nobody will ever use
/// them.
async fn resolve(
    env: &Env,
    overrides: &Overrides,
    wanted: Vec<Wanted>,
    session: Option<Session>,
    verdict: Verdict,
) -> Result<Resolution> {
    if wanted.is_empty() {
        return Ok(Resolution {
            outcome: Outcome::default(),
            session,
        });
    }
    verdict(env, &[])?; // settings it reads are checked before any request
    let mut session = match session {
        Some(session) => session,
        None => login(env, overrides).await?,
    };
    let mut outcome = resolve::resolve(&mut session, wanted).await?;
    let checked = resolve::check_names(&outcome.resolved, env)
        .and_then(|warnings| verdict(env, &outcome.failed).map(|()| warnings));
    match checked {
        Ok(warnings) => {
            for warning in warnings {
                crate::error::warn(warning);
            }
            Ok(Resolution {
                outcome,
                session: Some(session),
            })
        }
        Err(e) => {
            let minted = std::mem::take(&mut outcome.minted);
            revoke::now(&mut session, minted).await;
            Err(e)
        }
    }
}

/// Fails the run for references that could not be resolved, unless
/// `AKEYLESS_ALLOW_MISSING` is set and they are all unresolved (not unreachable): then
/// each becomes a warning and the run goes on without them.
fn unless_allowed(env: &Env, failed: &[Failure]) -> Result<()> {
    let allow_missing = settings::flag(env, vars::AKEYLESS_ALLOW_MISSING)?;
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
fn summary(resolution: &Resolution, started: Instant, place: &str) {
    let (outcome, requests) = (&resolution.outcome, resolution.requests());
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
