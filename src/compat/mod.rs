//! `akeyless`: the subset of the Akeyless CLI that CI scripts use, so pipelines written for
//! the `akeyless/ci_base` image run unchanged. The image links `akeyless` to `akl`; called
//! by that name, `akl` parses the CLI's commands and flags and maps them onto its own
//! configuration.
//!
//! Output follows the CLI: the bare value, or JSON with `--json`, narrowed by
//! `--jq-expression` (path expressions only; a string result prints raw, as `jq -r`).
//! Secrets given as flags (`--jwt`, `--access-key`, `--token`) work, with a warning: a
//! command line is readable by every process on the machine.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};

use crate::auth::Session;
use crate::client::{ApiError, During, Gateway};
use crate::error::{self, Error, Result};
use crate::resolve::{reference, select};
use crate::secret::Secret;
use crate::settings::vars::{
    AKEYLESS_ACCESS_ID, AKEYLESS_ACCESS_KEY, AKEYLESS_ACCESS_TYPE, AKEYLESS_JWT, AKEYLESS_JWT_VAR,
    AKEYLESS_TOKEN,
};
use crate::settings::{Env, Overrides, Settings};

const SUPPORTED: &str = "This `akeyless` is akl (ci_base-rs) standing in for the Akeyless CLI in CI \
jobs. It supports: auth, get-secret-value, get-dynamic-secret-value, get-rotated-secret-value, \
describe-item. For anything else, install the Akeyless CLI, or use `akl env` / `akl get`.";

/// Whether this process was started as `akeyless` (the image's link to `akl`).
pub fn invoked() -> bool {
    std::env::args_os()
        .next()
        .and_then(|arg0| {
            std::path::Path::new(&arg0)
                .file_name()
                .map(|n| n == "akeyless")
        })
        .unwrap_or(false)
}

/// The Akeyless CLI's commands that CI scripts use.
#[derive(Debug, Parser)]
#[command(name = "akeyless", after_help = SUPPORTED, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Authenticate and print the token.
    Auth(AuthArgs),
    /// Print a static secret's value.
    GetSecretValue(Versioned),
    /// Print fresh credentials from a dynamic secret, as JSON.
    GetDynamicSecretValue(Item),
    /// Print a rotated secret's value, as JSON.
    GetRotatedSecretValue(Versioned),
    /// Print an item's name, type and latest version, as JSON.
    DescribeItem(Item),
}

#[derive(Debug, Args)]
struct AuthArgs {
    #[arg(long, value_name = "ID")]
    access_id: Option<String>,
    /// jwt or access_key [default: inferred from what is given]
    #[arg(long, value_name = "TYPE")]
    access_type: Option<String>,
    /// Prefer AKEYLESS_ACCESS_KEY: a command line is world-readable.
    #[arg(long, value_name = "KEY", num_args = 0..=1, default_missing_value = "")]
    access_key: Option<String>,
    /// Prefer AKEYLESS_JWT: a command line is world-readable.
    #[arg(long, value_name = "JWT", num_args = 0..=1, default_missing_value = "")]
    jwt: Option<String>,
    #[command(flatten)]
    gateway: GatewayArg,
    #[command(flatten)]
    output: Output,
}

#[derive(Debug, Args)]
struct Item {
    /// The item's path.
    #[arg(short, long, value_name = "PATH")]
    name: String,
    /// Prefer AKEYLESS_TOKEN: a command line is world-readable.
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// A universal identity token (u-…); prefer AKEYLESS_TOKEN.
    #[arg(long, value_name = "TOKEN")]
    uid_token: Option<String>,
    #[command(flatten)]
    gateway: GatewayArg,
    #[command(flatten)]
    output: Output,
}

#[derive(Debug, Args)]
struct Versioned {
    #[command(flatten)]
    item: Item,
    #[arg(long)]
    version: Option<u32>,
}

#[derive(Debug, Args)]
struct GatewayArg {
    /// The gateway, V1 style as the CLI takes it (…/api/v1 maps to …/api/v2).
    #[arg(long, value_name = "URL")]
    gateway_url: Option<String>,
}

#[derive(Debug, Args)]
struct Output {
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Narrow the JSON output with a path expression such as .token.
    #[arg(long, value_name = "EXPR")]
    jq_expression: Option<String>,
}

pub fn main() -> Result<ExitCode> {
    use clap::error::ErrorKind;
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // An unknown command or flag gets clap's message plus what this stand-in supports.
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::InvalidSubcommand | ErrorKind::UnknownArgument
            ) =>
        {
            let rendered = e.render().to_string();
            let message = rendered.trim_start_matches("error: ").trim_end();
            return Err(Error::usage(message.to_owned()).hint(SUPPORTED));
        }
        Err(e) => e.exit(),
    };
    let mut env = Env::from_process();
    crate::cmd::block_on(run(cli.command, &mut env))
}

async fn run(command: Command, env: &mut Env) -> Result<ExitCode> {
    match command {
        Command::Auth(args) => {
            // An explicit login ignores a ready token in the environment.
            env.remove(AKEYLESS_TOKEN);
            set(env, AKEYLESS_ACCESS_ID, args.access_id.as_deref());
            set(env, AKEYLESS_ACCESS_TYPE, args.access_type.as_deref());
            if let Some(key) = &args.access_key {
                secret_flag(env, "--access-key", AKEYLESS_ACCESS_KEY, key)?;
            }
            if let Some(jwt) = &args.jwt {
                secret_flag(env, "--jwt", AKEYLESS_JWT, jwt)?;
                env.remove(AKEYLESS_JWT_VAR);
                if args.access_type.is_none() {
                    env.set(AKEYLESS_ACCESS_TYPE, "jwt");
                }
            }
            let session = Session::start(&settings(env, &args.gateway)?).await?;
            let secret = session.token().secret();
            let token = secret.expose();
            let text = if args.output.json || args.output.jq_expression.is_some() {
                output(json!({ "token": token }), &args.output)?
            } else {
                format!("Authentication succeeded.\nToken: {token}")
            };
            print(env, secret, &text)
        }
        Command::GetSecretValue(Versioned { item, version }) => {
            let session = login(env, &item).await?;
            let values = session
                .api()
                .get_secret_values(session.token(), &[item.name.as_str()], version)
                .await
                .map_err(|e| failed("get-secret-value", &item.name, e))?;
            let secret = values
                .into_iter()
                .next()
                .map(|(_, v)| v)
                .unwrap_or_default();
            let value = secret.expose();
            let text = match item.output.json || item.output.jq_expression.is_some() {
                true => output(json!({ item.name.clone(): value }), &item.output)?,
                false => value.to_owned(),
            };
            print(env, &secret, &text)
        }
        Command::GetDynamicSecretValue(item) => {
            let session = login(env, &item).await?;
            let value = session
                .api()
                .get_dynamic_secret_value(session.token(), &item.name)
                .await
                .map_err(|e| failed("get-dynamic-secret-value", &item.name, e))?;
            let value = Value::Object(value);
            let secret = Secret::new(value.to_string());
            print(env, &secret, &output(value, &item.output)?)
        }
        Command::GetRotatedSecretValue(Versioned { item, version }) => {
            let session = login(env, &item).await?;
            let value = session
                .api()
                .get_rotated_secret_value(session.token(), &item.name, version)
                .await
                .map_err(|e| failed("get-rotated-secret-value", &item.name, e))?;
            let secret = Secret::new(value.to_string());
            print(
                env,
                &secret,
                &output(json!({ "value": value }), &item.output)?,
            )
        }
        Command::DescribeItem(item) => {
            let session = login(env, &item).await?;
            let info = session
                .api()
                .describe_item(session.token(), &item.name)
                .await
                .map_err(|e| failed("describe-item", &item.name, e))?;
            let value = json!({
                "item_name": info.item_name,
                "item_type": info.item_type,
                "last_version": info.last_version,
            });
            crate::cmd::print(&format!("{}\n", output(value, &item.output)?))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn set(env: &mut Env, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        env.set(name, value);
    }
}

/// Takes a secret given as a flag, with the warning it deserves.
fn secret_flag(env: &mut Env, flag: &str, var: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        let mut err = Error::usage(format!("{flag} was given no value"));
        if flag == "--jwt" {
            err = err.hint(
                "was it $CI_JOB_JWT_V2? GitLab 17.0 removed it; declare an ID token instead:\n  my-job:\n    id_tokens:\n      AKEYLESS_JWT:\n        aud: https://akeyless.example.com",
            );
        }
        return Err(err);
    }
    error::warn(format!(
        "{flag} puts a secret on the command line, where any process on the machine can read it; set {var} instead"
    ));
    crate::cmd::register(env, [&Secret::new(value.trim())])?;
    env.set(var, value);
    Ok(())
}

/// The settings of the environment, with the CLI's `--gateway-url` (V1 style) mapped.
fn settings(env: &Env, gateway: &GatewayArg) -> Result<Settings> {
    let overrides = Overrides {
        gateway: gateway
            .gateway_url
            .as_deref()
            .map(|url| {
                Gateway::parse_v1_compatible(url).map_err(|why| {
                    Error::usage(format!("--gateway-url is not a usable gateway URL: {why}"))
                })
            })
            .transpose()?,
        ..Overrides::default()
    };
    Settings::from_env(env, &overrides)
}

/// The session for an item command: `--token`/`--uid-token`, else the environment's.
async fn login(env: &mut Env, item: &Item) -> Result<Session> {
    if let Some(token) = &item.token {
        secret_flag(env, "--token", AKEYLESS_TOKEN, token)?;
    }
    if let Some(token) = &item.uid_token {
        secret_flag(env, "--uid-token", AKEYLESS_TOKEN, token)?;
    }
    Session::start(&settings(env, &item.gateway)?).await
}

fn failed(command: &str, name: &str, e: ApiError) -> Error {
    Error::new(e.kind(During::Fetch), format!("{command} {name} failed")).cause(e)
}

/// Compact JSON, or what `--jq-expression` selects from it (strings raw, as `jq -r`).
fn output(value: Value, out: &Output) -> Result<String> {
    let Some(expr) = &out.jq_expression else {
        return Ok(value.to_string());
    };
    let path = reference::jq_path(expr).map_err(Error::usage)?;
    let selected = select::select(value, &path)
        .map_err(|e| Error::usage(format!("--jq-expression {expr}: {e}")))?;
    Ok(select::text(selected))
}

/// Prints text that shows `secret`, once the enclosing masker (if any) masks it.
fn print(env: &Env, secret: &Secret, text: &str) -> Result<ExitCode> {
    crate::cmd::register(env, [secret])?;
    crate::cmd::print(&format!("{text}\n"))?;
    Ok(ExitCode::SUCCESS)
}
