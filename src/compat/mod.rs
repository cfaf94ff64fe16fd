//! `akeyless`: the subset of the Akeyless CLI that CI scripts use, so pipelines written for
//! the `akeyless/ci_base` image run unchanged. The image links `akeyless` to `akl`; called
//! by that name, `akl` parses the CLI's commands and flags and maps them onto its own
//! configuration.
//!
//! Output follows the CLI: the bare value, or JSON with `--json`, narrowed by
//! `--jq-expression` (path expressions only; a string result prints raw, as `jq -r`).
//! `auth` keeps the token where the CLI keeps it, so a later command without `--token`
//! uses it. Requests carry the CLI's client type (`cli`) unless `AKEYLESS_CLIENT_TYPE`
//! says otherwise. Secrets given as flags (`--jwt`, `--access-key`, `--token`) work, with
//! a warning: a command line is readable by every process on the machine.

mod certs;
mod cli;

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::auth::Session;
use crate::client::{Api, ApiError, During, Gateway, ListQuery, ProducerArgs, Token};
use crate::envfile;
use crate::error::{self, Error, Result};
use crate::resolve::{reference, select};
use crate::secret::Secret;
use crate::settings::profile::Profile;
use crate::settings::vars::{
    AKEYLESS_ACCESS_ID, AKEYLESS_ACCESS_KEY, AKEYLESS_ACCESS_TYPE, AKEYLESS_CLIENT_TYPE,
    AKEYLESS_JWT, AKEYLESS_JWT_VAR, AKEYLESS_TIMEOUT, AKEYLESS_TOKEN,
};
use crate::settings::{Env, EnvBlock, Overrides, Settings};
use cli::{Access, Cli, Command, Dynamic, GatewayArg, ListArgs, Output, Versioned};

const SUPPORTED: &str = "This `akeyless` is akl (ci_base-rs) standing in for the Akeyless CLI in CI \
jobs. It supports: auth, get-secret-value, get-dynamic-secret-value, get-rotated-secret-value, \
describe-item, list-items, get-ssh-certificate, get-pki-certificate. For anything else, install the Akeyless CLI, or use `akl env` / `akl get`.";

/// The client type the Akeyless CLI sends (docs/akeyless-api.md, "Transport").
const CLI_CLIENT_TYPE: &str = "cli";

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

pub fn main(environ: EnvBlock) -> Result<ExitCode> {
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
    let mut env = Env::from_process(environ);
    if env.get(AKEYLESS_CLIENT_TYPE)?.is_none() {
        env.set(AKEYLESS_CLIENT_TYPE, CLI_CLIENT_TYPE);
    }
    if let Command::GetDynamicSecretValue(Dynamic {
        timeout: Some(timeout),
        ..
    }) = &cli.command
    {
        // A producer told to take minutes (Let's Encrypt) must not meet akl's default
        // deadline first.
        if env.get(AKEYLESS_TIMEOUT)?.is_none() {
            env.set(AKEYLESS_TIMEOUT, &(u64::from(*timeout) + 60).to_string());
        }
    }
    let watched = env.clone();
    crate::cmd::block_on(&watched, run(cli.command, &mut env))?
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
            let settings = settings(env, &args.gateway)?;
            let session = Session::start(&settings).await?;
            let token = session.token().secret();
            let answer = session
                .login()
                .map(|login| login.answer.clone())
                .unwrap_or_else(|| Secret::new(json!({ "token": token.expose() }).to_string()));
            keep(env, &settings, &session)?;
            let text = if args.output.json || args.output.jq_expression.is_some() {
                let answer: Value = crate::json::parse(answer.expose().as_bytes())
                    .map_err(|e| Error::other(format!("the login answer is not JSON: {e}")))?;
                output(answer, &args.output)?
            } else {
                // What the Akeyless CLI prints.
                format!("Authentication succeeded.\nToken: {}", token.expose())
            };
            print(env, &answer, &text)
        }
        Command::GetSecretValue(Versioned { item, version }) => {
            let mut session = login(env, &item.access).await?;
            let name = [item.name.as_str()];
            let values = call(&mut session, async |api, token| {
                api.get_secret_values(token, &name, version).await
            })
            .await
            .map_err(|e| failed("get-secret-value", &item.name, e))?;
            let secret = values.into_first().unwrap_or_default();
            let value = secret.expose();
            let out = &item.access.output;
            let text = match out.json || out.jq_expression.is_some() {
                true => output(json!({ item.name.clone(): value }), out)?,
                false => value.to_owned(),
            };
            print(env, &secret, &text)
        }
        Command::GetDynamicSecretValue(Dynamic {
            item,
            args,
            timeout,
        }) => {
            let mut session = login(env, &item.access).await?;
            let producer = ProducerArgs { args, timeout };
            let value = call(&mut session, async |api, token| {
                api.get_dynamic_secret_value(token, &item.name, &producer)
                    .await
            })
            .await
            .map_err(|e| failed("get-dynamic-secret-value", &item.name, e))?;
            let value = Value::Object(value);
            let secret = Secret::new(value.to_string());
            print(env, &secret, &output(value, &item.access.output)?)
        }
        Command::GetRotatedSecretValue(Versioned { item, version }) => {
            let mut session = login(env, &item.access).await?;
            let value = call(&mut session, async |api, token| {
                api.get_rotated_secret_value(token, &item.name, version)
                    .await
            })
            .await
            .map_err(|e| failed("get-rotated-secret-value", &item.name, e))?;
            let secret = Secret::new(value.to_string());
            print(
                env,
                &secret,
                &output(json!({ "value": value }), &item.access.output)?,
            )
        }
        Command::DescribeItem(item) => {
            let mut session = login(env, &item.access).await?;
            let info = call(&mut session, async |api, token| {
                api.describe_item(token, &item.name).await
            })
            .await
            .map_err(|e| failed("describe-item", &item.name, e))?;
            let value = json!({
                "item_name": info.item_name,
                "item_type": info.item_type,
                "last_version": info.last_version,
            });
            print_public(&output(value, &item.access.output)?)
        }
        Command::ListItems(args) => list_items(env, args).await,
        Command::GetSshCertificate(args) => certs::ssh(env, args).await,
        Command::GetPkiCertificate(args) => certs::pki(env, args).await,
    }
}

/// `list-items`: every page joined, printed as the CLI prints it (`items`, `folders`,
/// `next_page`, an empty list as `null`).
async fn list_items(env: &mut Env, args: ListArgs) -> Result<ExitCode> {
    #[derive(Serialize)]
    struct Listed {
        items: Option<Vec<Map<String, Value>>>,
        folders: Option<Vec<String>>,
        next_page: &'static str,
    }
    let mut session = login(env, &args.access).await?;
    let query = ListQuery {
        path: args.path.clone(),
        filter: args.filter,
        types: args.types,
        current_folder: args.current_folder,
        one_page: false,
    };
    let listing = call(&mut session, async |api, token| {
        api.list_items::<Map<String, Value>>(token, &query).await
    })
    .await
    .map_err(|e| failed("list-items", &args.path, e))?;
    let listed = Listed {
        items: Some(listing.items).filter(|i| !i.is_empty()),
        folders: Some(listing.folders).filter(|f| !f.is_empty()),
        next_page: "",
    };
    let value = serde_json::to_value(&listed).map_err(|e| Error::other(e.to_string()))?;
    let text = match &args.access.output.jq_expression {
        Some(_) => output(value, &args.access.output)?,
        None => serde_json::to_string(&listed).map_err(|e| Error::other(e.to_string()))?,
    };
    print_public(&text)
}

/// Keeps the token where the Akeyless CLI keeps it (`settings::profile`), so that a later
/// `akeyless …` without `--token`, and `akeyless_env.sh`, use it. Nothing is kept without
/// a HOME; a HOME that cannot hold it only costs a warning.
fn keep(env: &Env, settings: &Settings, session: &Session) -> Result<()> {
    let credentials = &settings.credentials;
    let (Some(access_id), Some(access_type)) = (credentials.access_id(), credentials.access_type())
    else {
        return Ok(());
    };
    let access_type = access_type.name();
    let Some(profile) = Profile::locate(env, None)? else {
        return Ok(());
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs() as i64;
    // Akeyless tokens live for minutes; without a stated expiry, assume the shortest.
    let expiry = session
        .login()
        .and_then(|login| login.expiry)
        .unwrap_or(now + 10 * 60);
    let kept = envfile::write(
        &profile.profile_file(),
        &profile.render_profile(access_id, access_type),
    )
    .and_then(|()| {
        envfile::write(
            &profile.creds_file(access_id),
            &Profile::render_creds(
                access_id,
                session.token().secret(),
                expiry,
                credentials.login_digest().as_deref(),
            ),
        )
    });
    if let Err(e) = kept {
        error::warn(format!(
            "the token is not kept for later akeyless commands: {}",
            Error::from(e).parts().0
        ));
        return Ok(());
    }
    crate::cmd::scoped_to_the_job(env, &[profile.creds_file(access_id)], None)
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

/// The session for an item command: `--token`/`--uid-token`, else the environment's, else
/// the token `akeyless auth` kept. That is used when no access id is set, as the Akeyless
/// CLI does, and also when the environment's credentials are the very ones it was kept
/// from (`Credentials::login_digest`): a script that logs in once and then runs a command
/// per secret, with `AKEYLESS_ACCESS_ID` and the ID token set as CI variables are, logs in
/// once. Else a login.
async fn login(env: &mut Env, access: &Access) -> Result<Session> {
    if let Some(token) = &access.token {
        secret_flag(env, "--token", AKEYLESS_TOKEN, token)?;
    }
    if let Some(token) = &access.uid_token {
        secret_flag(env, "--uid-token", AKEYLESS_TOKEN, token)?;
    }
    let settings = settings(env, &access.gateway)?;
    if let (Some(digest), Some(profile)) = (
        settings.credentials.login_digest(),
        Profile::locate(env, None)?,
    ) {
        if let Some((_, token, _)) = profile.kept_token().filter(|(id, _, login)| {
            Some(id.as_str()) == settings.credentials.access_id()
                && login.as_deref() == Some(digest.as_str())
        }) {
            // The credentials stay with it: a refused token is replaced by a login (`call`).
            return Session::resume(&settings, token);
        }
    }
    Session::start(&settings).await
}

/// One API call with the session's token. When the gateway refuses it (a kept token it
/// revoked, a gateway that restarted), the environment's credentials log in once and the
/// call is made again; a ready token (`--token`, `AKEYLESS_TOKEN`) is not replaced. A
/// refused call minted nothing, so a dynamic secret is safe to ask again.
async fn call<T>(
    session: &mut Session,
    f: impl AsyncFn(&Api, &Token) -> std::result::Result<T, ApiError>,
) -> std::result::Result<T, ApiError> {
    match f(session.api(), session.token()).await {
        Err(ApiError::Status { status: 401, .. }) if session.renew().await.unwrap_or(false) => {
            f(session.api(), session.token()).await
        }
        result => result,
    }
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
    let selected = select::select(&value, &path)
        .map_err(|e| Error::usage(format!("--jq-expression {expr}: {e}")))?;
    Ok(select::text(selected.clone()))
}

/// Prints text that shows `secret`, once the enclosing masker (if any) masks it.
fn print(env: &Env, secret: &Secret, text: &str) -> Result<ExitCode> {
    crate::cmd::register(env, [secret])?;
    print_public(text)
}

/// Prints text that holds no secret (item names and types).
fn print_public(text: &str) -> Result<ExitCode> {
    crate::cmd::print(&format!("{text}\n"))?;
    Ok(ExitCode::SUCCESS)
}
