//! Which references a job asked for: every variable whose value is an `akeyless:`
//! reference, parsed, and what `--reuse` compares them by.

use crate::error::{Error, Result};
use crate::settings::vars::{
    AKEYLESS_ACCESS_ID, AKEYLESS_API_GW_URL, AKEYLESS_GATEWAY_URL, CI_JOB_ID,
};
use crate::settings::{Env, valid_name};

use super::reference::{self, Reference};

/// A variable and the reference it holds.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub var: String,
    pub reference: Reference,
}

/// Every variable whose value is an `akeyless:` reference, parsed. All malformed
/// references are reported at once, each with its variable.
pub fn references(env: &Env) -> Result<Vec<Wanted>> {
    // Room for every variable: a job of 10,000 references is not copied at each doubling.
    let mut wanted = Vec::with_capacity(env.count());
    let mut bad = Vec::new();
    for (var, raw) in env.iter() {
        let value = match raw.to_str() {
            Some(v) if reference::is_reference(v) => v,
            Some(_) => continue,
            None if raw
                .as_encoded_bytes()
                .starts_with(reference::PREFIX.as_bytes()) =>
            {
                bad.push(format!("{var}: the reference is not valid UTF-8"));
                continue;
            }
            None => continue,
        };
        if !valid_name(var) {
            bad.push(format!(
                "{var}: this name cannot be exported from a shell; use letters, digits and _"
            ));
            continue;
        }
        match reference::parse(value) {
            Ok(reference) => wanted.push(Wanted {
                var: var.to_owned(),
                reference,
            }),
            Err(why) => bad.push(format!("{var}: {why}")),
        }
    }
    if bad.is_empty() {
        return Ok(wanted);
    }
    let mut err = Error::usage(match bad.len() {
        1 => "a variable holds a malformed akeyless: reference".to_owned(),
        n => format!("{n} variables hold malformed akeyless: references"),
    });
    for line in bad {
        err = err.detail(line);
    }
    Err(err.hint("references look like akeyless://path/to/secret, akeyless://path#field or akeyless:/path|version=2|jq=.field"))
}

/// A reference given on the command line: `akeyless://…` or a plain item path.
pub fn reference_arg(text: &str) -> Result<Reference> {
    let parsed = if reference::is_reference(text) {
        reference::parse(text)
    } else {
        Reference::item(text)
    };
    parsed.map_err(|why| {
        Error::usage(format!("`{text}` is not a usable reference: {why}"))
            .hint("give an item path such as /ci/db-password, or akeyless://ci/db-password#field")
    })
}

/// What `akl env --reuse` compares: the references and the settings that decide what they
/// resolve to. Nothing here is secret.
pub fn fingerprint(env: &Env, wanted: &[Wanted]) -> Result<String> {
    let mut text = String::from("akl-refs v1\n");
    for name in [
        AKEYLESS_GATEWAY_URL,
        AKEYLESS_API_GW_URL,
        AKEYLESS_ACCESS_ID,
        CI_JOB_ID,
    ] {
        text.push_str(&format!("{name}={}\n", env.get(name)?.unwrap_or_default()));
    }
    for w in wanted {
        text.push_str(&format!("{}={}\n", w.var, w.reference));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::vars::AKEYLESS_JWT;

    const JWT_VALUE: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn references_are_collected_and_every_bad_one_named() {
        let wanted = references(&env(&[
            ("B", "akeyless://ci/b#f"),
            ("A", "akeyless:/ci/a|version=2"),
            ("PLAIN", "hello"),
            ("URL", "https://akeyless.io"),
        ]))
        .unwrap();
        let vars: Vec<_> = wanted
            .iter()
            .map(|w| (w.var.as_str(), &*w.reference.item))
            .collect();
        assert_eq!(vars, [("A", "/ci/a"), ("B", "/ci/b")]);

        let msg = references(&env(&[
            ("X", "akeyless:nope"),
            ("Y-Z", "akeyless://ci/a"),
            ("OK", "akeyless://a"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(msg.contains("2 variables hold malformed"), "{msg}");
        assert!(msg.contains("X: write it as akeyless://"), "{msg}");
        assert!(msg.contains("Y-Z: this name cannot be exported"), "{msg}");
    }

    #[test]
    fn fingerprint_covers_references_and_settings_but_no_secret() {
        let base = [
            (AKEYLESS_ACCESS_ID, "p-a"),
            (AKEYLESS_JWT, JWT_VALUE),
            ("X", "akeyless://ci/x"),
        ];
        let print = |extra: &[(&str, &str)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            let e = env(&pairs);
            fingerprint(&e, &references(&e).unwrap()).unwrap()
        };
        let one = print(&[]);
        assert!(
            one.contains("X=akeyless://ci/x") && one.contains("AKEYLESS_ACCESS_ID=p-a"),
            "{one}"
        );
        assert!(!one.contains(JWT_VALUE));
        assert_eq!(
            one,
            print(&[(AKEYLESS_JWT, "eyJh.eyJi.c2ln")]),
            "a new token is the same job"
        );
        assert_ne!(one, print(&[(CI_JOB_ID, "7")]));
        assert_ne!(one, print(&[("Y", "akeyless://ci/y")]));
    }
}
