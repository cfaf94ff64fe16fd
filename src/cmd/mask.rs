//! `akl mask`: register values from stdin with the enclosing masker.

use std::io::Read;
use std::process::ExitCode;

use crate::cli::MaskArgs;
use crate::error::{self, Error, Result};
use crate::mask::MIN_LEN;
use crate::secret::Secret;
use crate::settings::{Env, vars};

/// More than any secret a job mints; stdin beyond it is refused rather than held.
const MAX_INPUT: u64 = 16 << 20;

pub fn run(env: &Env, args: &MaskArgs) -> Result<ExitCode> {
    if env.get(vars::AKL_MASK_SOCKET)?.is_none() {
        return Err(Error::usage(
            "akl mask has no masker to register with: nothing would be masked",
        )
        .hint("run the job under `akl run -- …`, or in the ci_base-rs image, whose job shell is masked"));
    }
    let mut input = Vec::new();
    std::io::stdin()
        .take(MAX_INPUT + 1)
        .read_to_end(&mut input)
        .map_err(|e| Error::other(format!("cannot read stdin: {e}")))?;
    if input.len() as u64 > MAX_INPUT {
        return Err(Error::usage(format!(
            "stdin holds more than {} MiB: that is not a secret to mask",
            MAX_INPUT >> 20
        )));
    }
    let text = String::from_utf8_lossy(&input);
    let values: Vec<Secret> = if args.whole {
        let value = text.strip_suffix('\n').unwrap_or(&text);
        vec![Secret::new(value.strip_suffix('\r').unwrap_or(value))]
    } else {
        text.lines().map(Secret::new).collect()
    };
    let values: Vec<Secret> = values.into_iter().filter(|v| !v.is_empty()).collect();
    let short = values.iter().filter(|v| v.expose().len() < MIN_LEN).count();
    super::register(env, &values)?;
    if short > 0 {
        error::warn(format!(
            "{short} of the values are shorter than {MIN_LEN} characters and are not masked"
        ));
    }
    error::note(format!(
        "{} value(s) will be masked from now on",
        values.len() - short
    ));
    Ok(ExitCode::SUCCESS)
}
