//! `akl auth`: authenticate once and print the token for scripts.

use std::process::ExitCode;

use crate::api::Api;
use crate::auth;
use crate::cli::AuthArgs;
use crate::config::{Connection, Overrides};
use crate::env::Env;
use crate::error::Result;

pub async fn run(env: &Env, overrides: &Overrides, args: &AuthArgs) -> Result<ExitCode> {
    let conn = Connection::from_env(env, overrides)?;
    let mut api = Api::new(&conn)?;
    let token = auth::login(&mut api, &conn.credentials).await?;
    let value = token.secret().expose();
    let out = if args.json {
        format!("{}\n", serde_json::json!({ "token": value }))
    } else {
        format!("{value}\n")
    };
    super::print(&out)?;
    Ok(ExitCode::SUCCESS)
}
