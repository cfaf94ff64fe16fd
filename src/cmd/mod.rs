//! One function per subcommand: each reads the configuration it needs, does its work
//! through the library modules, and returns an exit code or an `Error` for `main`.

mod auth;

use std::future::Future;
use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::env::Env;
use crate::error::{Error, Result};

pub fn run(cli: Cli) -> Result<ExitCode> {
    let env = Env::from_process();
    let overrides = cli.global.overrides();
    match cli.command {
        Command::Auth(args) => block_on(auth::run(&env, &overrides, &args)),
    }
}

/// Network work runs on a single-threaded runtime: `akl` waits on I/O, and one thread
/// keeps start-up and memory small.
fn block_on<F: Future>(future: F) -> F::Output {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(future),
        Err(e) => panic!("cannot start the async runtime: {e}"),
    }
}

/// Writes command output to stdout; a closed pipe (`akl auth | head -c0`) is not a crash.
fn print(text: &str) -> Result<()> {
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
