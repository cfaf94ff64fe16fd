//! `akl auth`: authenticate once and print the token for scripts.

use std::process::ExitCode;

use crate::auth::Session;
use crate::cli::AuthArgs;
use crate::error::Result;
use crate::settings::{Env, Overrides, Settings};

pub async fn run(env: &Env, overrides: &Overrides, args: &AuthArgs) -> Result<ExitCode> {
    let settings = Settings::from_env(env, overrides)?;
    let session = Session::start(&settings).await?;
    super::register(env, [session.token().secret()])?;
    let value = session.token().secret().expose();
    let out = if args.json {
        format!("{}\n", serde_json::json!({ "token": value }))
    } else {
        format!("{value}\n")
    };
    super::print(&out)?;
    Ok(ExitCode::SUCCESS)
}
