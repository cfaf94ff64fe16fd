//! `akl doctor`: explains the configuration, the ID token and the gateway, and says what to
//! fix. It reads item types with describe-item, so no secret value is fetched and no
//! dynamic credentials are minted; it prints no secret, token or JWT.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use crate::api::{Api, ApiError};
use crate::auth::{self, Token};
use crate::config::{self, Connection, Credentials, Overrides};
use crate::env::Env;
use crate::error::{Error, Kind, Result};
use crate::jwt::Claims;

/// The report, and the most serious problem found (which decides the exit code).
struct Report {
    text: String,
    worst: Option<Kind>,
}

impl Report {
    fn section(&mut self, title: &str) {
        let _ = writeln!(self.text, "\n{title}");
    }

    fn ok(&mut self, line: impl AsRef<str>) {
        let _ = writeln!(self.text, "  ok    {}", line.as_ref());
    }

    fn info(&mut self, line: impl AsRef<str>) {
        let _ = writeln!(self.text, "        {}", line.as_ref());
    }

    fn warn(&mut self, line: impl AsRef<str>) {
        let _ = writeln!(self.text, "  warn  {}", line.as_ref());
    }

    /// A problem; `fix` says what to do. The exit code follows the contract's order of
    /// precedence: configuration, then authentication, references, reachability.
    fn fail(&mut self, kind: Kind, line: impl AsRef<str>, fix: impl AsRef<str>) {
        let _ = writeln!(self.text, "  FAIL  {}", line.as_ref());
        for (i, l) in fix.as_ref().lines().enumerate() {
            let lead = if i == 0 { "fix:  " } else { "      " };
            let _ = writeln!(self.text, "        {lead}{l}");
        }
        self.record(kind);
    }

    fn record(&mut self, kind: Kind) {
        let rank = |k: Kind| match k {
            Kind::Usage => 0,
            Kind::Auth => 1,
            Kind::Unresolved => 2,
            _ => 3,
        };
        if self.worst.is_none_or(|w| rank(kind) < rank(w)) {
            self.worst = Some(kind);
        }
    }

    /// An `Error` as a problem: its message and details, its hint as the fix.
    fn error(&mut self, err: &Error) {
        let text = err.to_string();
        let mut in_hint = false;
        for (i, line) in text.lines().enumerate() {
            let line = if i == 0 {
                format!("  FAIL  {}", line.trim_start_matches("error: "))
            } else if let Some(hint) = line.strip_prefix("hint: ") {
                in_hint = true;
                format!("        fix:  {hint}")
            } else if in_hint {
                // Hint continuation lines keep their own indentation (YAML snippets).
                format!(
                    "              {}",
                    line.strip_prefix("      ").unwrap_or(line)
                )
            } else {
                format!("      {line}")
            };
            let _ = writeln!(self.text, "{line}");
        }
        let kind = match err.exit_code() {
            2 => Kind::Usage,
            3 => Kind::Auth,
            4 => Kind::Unresolved,
            5 => Kind::Unreachable,
            _ => Kind::Other,
        };
        self.record(kind);
    }
}

pub async fn run(env: &Env, overrides: &Overrides) -> Result<ExitCode> {
    let mut report = Report {
        text: String::from("akl doctor: what akl sees, and whether it works"),
        worst: None,
    };

    report.section("configuration");
    let conn = match Connection::from_env(env, overrides) {
        Ok(conn) => {
            report.ok(format!("gateway {}", conn.gateway.as_str()));
            match &conn.credentials {
                Credentials::Token(_) => report.ok("a ready token in AKEYLESS_TOKEN (no login)"),
                Credentials::AccessKey { access_id, .. } => {
                    report.ok(format!("access key login with access id {access_id}"))
                }
                Credentials::Jwt { access_id, var, .. } => report.ok(format!(
                    "JWT login with access id {access_id}, ID token from {var}"
                )),
            }
            for ca in &conn.ca_files {
                report.ok(format!(
                    "extra CA certificates from {}={}",
                    ca.var,
                    ca.path.display()
                ));
            }
            report.ok(format!(
                "deadline {}s (AKEYLESS_TIMEOUT)",
                conn.timeout.as_secs_f64()
            ));
            Some(conn)
        }
        Err(err) => {
            report.error(&err);
            None
        }
    };
    let wanted = match config::references(env) {
        Ok(wanted) => {
            report.ok(format!("{} akeyless: reference(s)", wanted.len()));
            for w in &wanted {
                report.info(format!("{} = {}", w.var, w.reference));
            }
            wanted
        }
        Err(err) => {
            report.error(&err);
            Vec::new()
        }
    };
    match config::env_file(env, None) {
        Ok(config::EnvFile::Given(path) | config::EnvFile::Home(path)) => {
            report.ok(format!("env file {}", path.display()))
        }
        Ok(config::EnvFile::NoHome) => {
            report.warn("HOME is not set: akl env writes under TMPDIR and says where")
        }
        Err(err) => report.error(&err),
    }

    if let Some(Credentials::Jwt { jwt, var, .. }) = conn.as_ref().map(|c| &c.credentials) {
        report.section(&format!("ID token ({var}; its claims, never the token)"));
        match Claims::decode(jwt) {
            Ok(claims) => {
                for line in claims.summary() {
                    report.info(line);
                }
                match claims.expires_in() {
                    Some(left) if left <= 0 => report.fail(
                        Kind::Auth,
                        "the token has expired",
                        "ID tokens live as long as the job's timeout: fetch them in the job that uses them",
                    ),
                    Some(left) if left < 60 => report.warn(format!("the token expires in {left}s")),
                    Some(_) => report.ok("the token is within its validity period"),
                    None => report.warn("the token has no exp claim"),
                }
                if claims.has("user_login") && !claims.has("project_path") {
                    report.warn("no project_path claim: bind role associations to project_path, not user_login");
                }
            }
            Err(why) => report.fail(
                Kind::Usage,
                format!("the token cannot be decoded: {why}"),
                "set it from an id_tokens: block",
            ),
        }
    }

    if let Some(conn) = &conn {
        report.section(&format!("gateway {}", conn.gateway.as_str()));
        let mut api = Api::new(conn)?;
        if probe(&api, &mut report).await {
            match auth::login(&mut api, &conn.credentials).await {
                Ok(token) => {
                    if !matches!(conn.credentials, Credentials::Token(_)) {
                        report.ok("login succeeded");
                    }
                    check_items(&api, &token, &wanted, &mut report).await;
                }
                Err(err) => report.error(&err),
            }
        }
    }

    match report.worst {
        None => report.text.push_str("\nno problems found\n"),
        Some(_) => report.text.push_str("\nproblems found: see FAIL above\n"),
    }
    super::print(&report.text)?;
    Ok(match report.worst {
        None => ExitCode::SUCCESS,
        Some(kind) => ExitCode::from(Error::new(kind, "").exit_code()),
    })
}

/// Whether the URL is a V2 API: a probe token must be refused in JSON, not by a web page
/// or a missing path.
async fn probe(api: &Api, report: &mut Report) -> bool {
    let started = Instant::now();
    let ms = || started.elapsed().as_millis();
    match api.validate_probe().await {
        Ok(())
        | Err(ApiError::Status {
            status: 400 | 401 | 403,
            ..
        }) => {
            report.ok(format!("answers the V2 API ({} ms)", ms()));
            true
        }
        Err(ApiError::Status { status, message })
            if status == 404 || (300..400).contains(&status) =>
        {
            report.fail(
                Kind::Unreachable,
                format!("no V2 API at this URL ({status}: {message})"),
                "use the V2 base: https://api.akeyless.io, or https://<gateway>:8000/api/v2 (older gateways: :8081)",
            );
            false
        }
        Err(e) => {
            report.fail(
                Kind::Unreachable,
                format!("not usable: {e}"),
                "check the URL, the network path from the runner, and AKEYLESS_CA_CERT for a private CA",
            );
            false
        }
    }
}

/// The type of every referenced item, via describe-item only.
async fn check_items(
    api: &Api,
    token: &Token,
    wanted: &[crate::resolve::Wanted],
    report: &mut Report,
) {
    let items: BTreeSet<&str> = wanted.iter().map(|w| w.reference.item.as_str()).collect();
    for item in items {
        match api.describe_item(token, item).await {
            Ok(info) if info.item_name.is_some() => {
                let kind = info.item_type.unwrap_or_else(|| "unknown type".into());
                match kind.as_str() {
                    "STATIC_SECRET" | "DYNAMIC_SECRET" | "ROTATED_SECRET" => {
                        report.ok(format!("{item}: {kind}"))
                    }
                    _ => report.fail(
                        Kind::Unresolved,
                        format!("{item}: {kind}"),
                        "akl reads static, dynamic and rotated secrets",
                    ),
                }
            }
            Ok(_)
            | Err(ApiError::Status {
                status: 403 | 404, ..
            }) => report.fail(
                Kind::Unresolved,
                format!("{item}: not found or not permitted"),
                "check the path, and that the role has a read rule covering it",
            ),
            Err(e) => report.fail(
                Kind::Unreachable,
                format!("{item}: {e}"),
                "retry; check the gateway",
            ),
        }
    }
}
