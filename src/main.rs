//! `akl`: resolves `akeyless://` references into a CI job's environment.
//!
//! `main` only parses, dispatches and maps the outcome to an exit code; see `cmd` for
//! the commands, `docs/contract.md` for the contract and `docs/architecture.md` for the
//! module map.

mod auth;
mod cli;
mod client;
mod cmd;
mod compat;
mod digest;
mod envfile;
mod error;
mod files;
mod identity;
mod json;
mod keys;
mod mask;
mod order;
mod resolve;
mod run;
mod secret;
mod settings;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Opened first: once the process is not dumpable, only root may open its /proc files.
    let environ = settings::EnvBlock::open();
    // `akl` holds secrets, tokens and keys in memory: no core dump, no ptrace by other
    // processes of the same user, whatever crashes.
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    // The image links `akeyless` to this binary for pipelines written for ci_base.
    let outcome = if compat::invoked() {
        compat::main(environ)
    } else {
        cmd::run(cli::Cli::parse(), environ)
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            err.report();
            ExitCode::from(err.exit_code())
        }
    }
}
