//! `akl get REF`: print one resolved value (a `|file=true` one as its raw bytes).

use std::process::ExitCode;

use crate::cli::GetArgs;
use crate::error::{Error, Result};
use crate::resolve::{Content, Failure, Wanted, reference_arg};
use crate::settings::{Env, Overrides};

use super::outputs;

pub async fn run(env: &Env, overrides: &Overrides, args: &GetArgs) -> Result<ExitCode> {
    let reference = reference_arg(&args.reference)?;
    if reference.fans_out() {
        return Err(Error::usage(format!(
            "{reference} makes several variables; akl get prints one value"
        ))
        .hint("name one field (#field) or item, or see them all with: X='…' akl env --stdout"));
    }
    if reference.cert.is_some() {
        // Its private key would have nowhere to go but the terminal.
        return Err(Error::usage(format!(
            "{reference} issues a certificate for a key akl makes: two files, not one value to print"
        ))
        .hint("set it as a variable for `akl env` or `akl run` (X='…' akl run -- ssh -i \"$X\" …), or use `akeyless get-ssh-certificate` / `get-pki-certificate` with a key of your own"));
    }
    let wanted = vec![Wanted {
        var: "REF".to_owned(),
        reference,
    }];
    let resolution = super::resolve(env, overrides, wanted, None, the_one).await?;
    // What is printed is the caller's to use: nothing minted is revoked.
    let resolved = &resolution.outcome.resolved;
    super::register(env, &outputs::masks(resolved))?;
    match resolved.first().map(|r| &r.content) {
        Some(Content::Text(value)) => {
            let newline = if args.no_newline { "" } else { "\n" };
            super::print(&format!("{}{newline}", value.expose()))?;
        }
        Some(Content::File(blob)) => super::print_bytes(blob.expose())?,
        // Refused above: a key pair is never printed.
        Some(Content::KeyFiles(_)) => return Err(Error::other("a key pair cannot be printed")),
        // `the_one` fails a run that gave no value; this is for completeness.
        None => return Err(Error::other("the gateway gave no value")),
    }
    Ok(ExitCode::SUCCESS)
}

/// The one reference could not be resolved: that is the error, whatever
/// AKEYLESS_ALLOW_MISSING says.
fn the_one(_: &Env, failed: &[Failure]) -> Result<()> {
    match failed.first() {
        None => Ok(()),
        Some(failure) => Err(Error::new(
            failure.reason.kind(),
            format!("{} could not be resolved", failure.reference),
        )
        .cause(&failure.reason)),
    }
}
