//! Command-line definitions. The `///` comments are the `--help` text.
//!
//! Secrets are never flags: a process's command line is world-readable in
//! `/proc/*/cmdline`. Tokens, JWTs and keys come from the environment only.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::envfile::Format;
use crate::error::Result;
use crate::settings::Overrides;

/// Put Akeyless secrets into CI jobs.
///
/// Every environment variable whose value is an `akeyless://path` reference is resolved
/// in as few round trips as the API allows. Configuration comes from the environment
/// (AKEYLESS_ACCESS_ID, AKEYLESS_JWT, AKEYLESS_GATEWAY_URL, …); the flags below override it.
#[derive(Debug, Parser)]
#[command(name = "akl", version = env!("AKL_VERSION"), propagate_version = true, max_term_width = 100)]
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
    /// The flags, parsed into the settings they override.
    pub fn overrides(&self) -> Result<Overrides> {
        Overrides::parse(
            self.gateway_url.as_deref(),
            self.access_id.as_deref(),
            self.access_type.as_deref(),
        )
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Resolve every akeyless: reference in the environment and write the env file.
    ///
    /// The file holds `export NAME='value'` lines for `. ~/.akeyless/env`. A reference that
    /// cannot be resolved fails the run (exit 4) and leaves the old file untouched, unless
    /// AKEYLESS_ALLOW_MISSING=true.
    Env(EnvArgs),
    /// Run a command with the resolved values in its environment, masking them in its output.
    ///
    /// Every occurrence of a secret in the command's stdout and stderr (the value, its
    /// lines, its JSON fields, and their base64, URL-encoded and JSON-escaped forms) is
    /// printed as [MASKED]. The exit code is the command's, or 128+signal.
    Run(RunArgs),
    /// Print the value of one reference (akeyless://path#field, or a plain item path).
    Get(GetArgs),
    /// Authenticate and print the token (the only command that prints one).
    Auth(AuthArgs),
    /// Mask values read from stdin in the output of the enclosing `akl run` (the image's
    /// job shell included), from now on: for secrets other tools mint.
    ///
    /// One value per line, or all of stdin as one value with --whole. The values travel
    /// over a private socket, never on a command line; outside a masker this fails.
    Mask(MaskArgs),
    /// Explain the configuration and the ID token's claims, check the gateway, the login
    /// and every referenced item (by type only: no secret is fetched), and say what to fix.
    Doctor,
    /// Print shell code that sends the rest of the job's output through a masker, for
    /// shells nothing masks: `eval "$(akl mask-shell)"` at the top of a job script.
    ///
    /// The masker knows the credentials in the environment and every value akl fetches
    /// from then on; stdout and stderr keep their order and go to the job's stderr.
    MaskShell,
    /// Revoke the credentials dynamic secrets minted for the env file (`akl env` records
    /// them beside it): run it in after_script when the job is done with them.
    Revoke(RevokeArgs),
    /// (internal) On a shell executor: wait for the job's shell to exit, then remove the
    /// files of secrets akl wrote for it.
    #[command(name = "__reap", hide = true)]
    Reap(ReapArgs),
    /// (internal) The masker `akl mask-shell` starts: masks what arrives on DIR/out.
    #[command(name = "__filter", hide = true)]
    Filter(FilterArgs),
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Print the file to stdout instead of writing it.
    #[arg(long)]
    pub stdout: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Sh)]
    pub format: Format,

    /// File to write [env: AKEYLESS_ENV_FILE, default: $HOME/.akeyless/env]
    #[arg(short, long, value_name = "FILE", conflicts_with = "stdout")]
    pub output: Option<PathBuf>,

    /// Keep the file, with no request at all, if it was written (with --reuse) for the
    /// same references, gateway, access id and CI_JOB_ID; the image's entrypoint uses this
    /// so after_script does not fetch again (unless the script's dynamic credentials were
    /// revoked when it ended: then they are minted anew).
    #[arg(long, conflicts_with = "stdout")]
    pub reuse: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Do not mask: replace akl with the command (its PID, signals and exit code).
    #[arg(long)]
    pub no_mask: bool,

    /// Take the values from this file, as `akl env` wrote it, instead of resolving
    /// references: no request is made (the image's entrypoint uses this).
    #[arg(long, value_name = "FILE", conflicts_with = "no_resolve")]
    pub env_file: Option<PathBuf>,

    /// Resolve nothing: start with no values and mask what is registered while the
    /// command runs (the image's entrypoint uses this for jobs that log in themselves).
    #[arg(long)]
    pub no_resolve: bool,

    /// With --env-file: when the command ends, revoke the dynamic-secret credentials
    /// recorded for that file (the image's job shell does this; AKEYLESS_REVOKE=false
    /// keeps them). What `akl run` resolves itself is revoked when the command ends anyway.
    #[arg(long, requires = "env_file")]
    pub revoke: bool,

    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// akeyless://path[#field], akeyless:/path|version=N|jq=.field, or a plain item path.
    #[arg(value_name = "REF")]
    pub reference: String,

    /// Do not print a newline after the value.
    #[arg(short = 'n', long)]
    pub no_newline: bool,
}

#[derive(Debug, Args)]
pub struct MaskArgs {
    /// Read all of stdin as one value (without its final newline).
    #[arg(long)]
    pub whole: bool,
}

#[derive(Debug, Args)]
pub struct ReapArgs {
    /// Revoke the credentials recorded in this file first.
    #[arg(long, value_name = "RECORD")]
    pub revoke: Option<PathBuf>,
    pub pid: i32,
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FilterArgs {
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The env file the credentials were minted for [env: AKEYLESS_ENV_FILE, default:
    /// $HOME/.akeyless/env]
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
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
