//! Command-line definitions. The `///` comments are the `--help` text.
//!
//! Secrets are never flags: a process's command line is world-readable in
//! `/proc/*/cmdline`. Tokens, JWTs and keys come from the environment only.

use clap::{Args, Parser, Subcommand};

use crate::config::Overrides;

/// Put Akeyless secrets into CI jobs.
///
/// Every environment variable whose value is an `akeyless://path` reference is resolved
/// in as few round trips as the API allows. Configuration comes from the environment
/// (AKEYLESS_ACCESS_ID, AKEYLESS_JWT, AKEYLESS_GATEWAY_URL, …); the flags below override it.
#[derive(Debug, Parser)]
#[command(name = "akl", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// V2 API base URL [env: AKEYLESS_GATEWAY_URL, default: https://api.akeyless.io]
    #[arg(long, global = true, value_name = "URL")]
    pub gateway_url: Option<String>,

    /// Access id of the auth method, p-… [env: AKEYLESS_ACCESS_ID]
    #[arg(long, global = true, value_name = "ID")]
    pub access_id: Option<String>,

    /// Auth method type: jwt or access_key [env: AKEYLESS_ACCESS_TYPE, default: inferred]
    #[arg(long, global = true, value_name = "TYPE")]
    pub access_type: Option<String>,
}

impl Global {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            gateway_url: self.gateway_url.clone(),
            access_id: self.access_id.clone(),
            access_type: self.access_type.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Authenticate and print the token (the only command that prints one).
    Auth(AuthArgs),
}

#[derive(Debug, Args)]
pub struct AuthArgs {
    /// Print {"token": "…"} instead of the bare token.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
