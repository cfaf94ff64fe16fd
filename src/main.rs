//! `akl`: resolves `akeyless://` references into a CI job's environment.
//!
//! `main` only parses, dispatches and maps the outcome to an exit code; see `cmd` for
//! the commands and `design.md` for the contract.

mod api;
mod auth;
mod cli;
mod cmd;
mod compat;
mod config;
mod env;
mod envfile;
mod error;
mod gateway;
mod jwt;
mod mask;
mod reference;
mod resolve;
mod retry;
mod run;
mod scan;
mod secret;
mod select;
mod tls;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // The image links `akeyless` to this binary for pipelines written for ci_base.
    let outcome = if compat::invoked() {
        compat::main()
    } else {
        cmd::run(cli::Cli::parse())
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            err.report();
            ExitCode::from(err.exit_code())
        }
    }
}
