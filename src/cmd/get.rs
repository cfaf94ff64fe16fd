//! `akl get REF`: print one resolved value.

use std::process::ExitCode;

use crate::cli::GetArgs;
use crate::error::{Error, Result};
use crate::resolve::{Wanted, reference_arg};
use crate::settings::{Env, Overrides};

pub async fn run(env: &Env, overrides: &Overrides, args: &GetArgs) -> Result<ExitCode> {
    let reference = reference_arg(&args.reference)?;
    let wanted = vec![Wanted {
        var: "REF".to_owned(),
        reference,
    }];
    let (mut outcome, _) = super::resolve(env, overrides, wanted).await?;
    if let Some(failure) = outcome.failed.pop() {
        return Err(Error::new(
            failure.reason.kind(),
            format!("{} could not be resolved", failure.reference),
        )
        .cause(&failure.reason));
    }
    let value = outcome.resolved.remove(0).value;
    super::register(env, [&value])?;
    let newline = if args.no_newline { "" } else { "\n" };
    super::print(&format!("{}{newline}", value.expose()))?;
    Ok(ExitCode::SUCCESS)
}
