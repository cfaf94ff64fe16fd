//! `akl doctor`: explains the configuration, the ID token and the gateway, and says what to
//! fix. It reads item types with describe-item, so no secret value is fetched and no
//! dynamic credentials are minted; it prints no secret, token or JWT.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use futures_util::future::join_all;

use crate::auth::{self, Claims};
use crate::client::{Api, ApiError, During, Login, Token};
use crate::envfile::{self, EnvFile};
use crate::error::{Error, Kind, Result};
use crate::identity;
use crate::resolve::{self, Wanted};
use crate::secret::Secret;
use crate::settings::jwt::JwtSource;
use crate::settings::{self, Credentials, Env, Overrides, Settings, vars};

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
        if self.worst.is_none_or(|worst| kind.outranks(worst)) {
            self.worst = Some(kind);
        }
    }

    /// An `Error` as a problem: its message, details and causes, its hint as the fix.
    fn error(&mut self, err: &Error) {
        let (message, details, causes, hint) = err.parts();
        let _ = writeln!(self.text, "  FAIL  {message}");
        for line in details {
            let _ = writeln!(self.text, "        {line}");
        }
        for cause in causes {
            let _ = writeln!(self.text, "        Caused by: {cause}");
        }
        for (i, line) in hint.unwrap_or_default().lines().enumerate() {
            // Hint continuation lines keep their own indentation (YAML snippets).
            let lead = if i == 0 { "fix:  " } else { "      " };
            let _ = writeln!(self.text, "        {lead}{line}");
        }
        self.record(err.kind());
    }
}

pub async fn run(env: &Env, overrides: &Overrides) -> Result<ExitCode> {
    let mut report = Report {
        text: String::from("akl doctor: what akl sees, and whether it works"),
        worst: None,
    };

    report.section("configuration");
    let settings = match Settings::from_env(env, overrides) {
        Ok(settings) => {
            report.ok(format!(
                "gateway {}, from {}",
                settings.gateway.as_str(),
                settings.gateway_source
            ));
            if let Some(why) = settings.gateway.mapped() {
                report.info(format!("the V2 API of what was given: {why}"));
            }
            if let Some(warning) = settings.plain_http_warning() {
                report.warn(warning);
            }
            for var in settings::PROXY_VARS {
                if let Ok(Some(value)) = env.get(var) {
                    report.info(format!("proxy {var}={}", without_credentials(value)));
                }
            }
            if let Ok(Some(value)) = env.get(vars::NO_PROXY) {
                report.info(format!("no proxy for {value} (NO_PROXY)"));
            }
            let credentials = &settings.credentials;
            report.ok(match (credentials, credentials.access_id()) {
                (Credentials::Token { .. }, _) | (_, None) => {
                    format!("{} (no login)", credentials.describe())
                }
                (Credentials::AccessKey { .. }, Some(id)) => {
                    format!("access key login with access id {id}")
                }
                (Credentials::Jwt { source, .. }, Some(id)) => format!(
                    "JWT login with access id {id}, ID token from {}",
                    source.describe()
                ),
                (_, Some(id)) => format!(
                    "{} login with access id {id}, by {}",
                    credentials.access_type().map_or("?", |t| t.name()),
                    credentials.describe()
                ),
            });
            for ca in &settings.ca_files {
                report.ok(format!("extra CA certificates from {ca}"));
            }
            report.ok(format!(
                "deadline {}s (AKEYLESS_TIMEOUT)",
                settings.timeout.as_secs_f64()
            ));
            Some(settings)
        }
        Err(err) => {
            report.error(&err);
            None
        }
    };
    let wanted = match resolve::references(env) {
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
    match envfile::env_file(env, None) {
        Ok(EnvFile::Given(path) | EnvFile::Home(path)) => {
            report.ok(format!("env file {}", path.display()))
        }
        Ok(EnvFile::NoHome) => {
            report.warn("HOME is not set: akl env writes under TMPDIR and says where")
        }
        Err(err) => report.error(&err),
    }

    // A token in a variable is explained before anything is sent; one a CI mints on
    // request, once it is minted (below).
    if let Some(Credentials::Jwt {
        source: JwtSource::Var { jwt, var },
        ..
    }) = settings.as_ref().map(|s| &s.credentials)
    {
        show_claims(&mut report, var, jwt);
    }

    if let Some(settings) = &settings {
        report.section(&format!("gateway {}", settings.gateway.as_str()));
        let mut api = settings.client()?;
        if probe(&api, &mut report).await {
            match login(&mut api, settings, &mut report).await {
                Ok((token, _)) => {
                    if !matches!(settings.credentials, Credentials::Token { .. }) {
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
        Some(kind) => ExitCode::from(kind.exit_code()),
    })
}

/// Logs in as a run would, showing a minted ID token's claims first.
async fn login(
    api: &mut Api,
    settings: &Settings,
    report: &mut Report,
) -> Result<(Token, Option<Login>)> {
    let credentials = &settings.credentials;
    if let Credentials::Token { token, .. } = credentials {
        return Ok((token.clone(), None));
    }
    let proof = identity::prove(api, &settings.endpoints()?, credentials).await?;
    if let (
        Credentials::Jwt {
            source:
                source @ (JwtSource::GitHub { .. }
                | JwtSource::Buildkite { .. }
                | JwtSource::AzurePipelines { .. }),
            ..
        },
        Some(jwt),
    ) = (credentials, &proof.jwt)
    {
        show_claims(report, &source.describe(), jwt);
        report.section(&format!("gateway {}", settings.gateway.as_str()));
    }
    auth::login_with(api, credentials, proof).await
}

/// The ID token's claims (never the token), and what they mean for the login.
fn show_claims(report: &mut Report, from: &str, jwt: &Secret) {
    report.section(&format!("ID token ({from}; its claims, never the token)"));
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
                report.warn(
                    "no project_path claim: bind role associations to project_path, not user_login",
                );
            }
        }
        Err(why) => report.fail(
            Kind::Usage,
            format!("the token cannot be decoded: {why}"),
            "set it from an id_tokens: block",
        ),
    }
}

/// A proxy URL with its user name and password left out.
fn without_credentials(value: &str) -> String {
    match reqwest::Url::parse(value.trim()) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            format!("{url} (credentials not shown)")
        }
        Ok(url) => url.to_string(),
        Err(_) => "(not a URL)".to_owned(),
    }
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
        Err(e @ ApiError::Status { status, .. })
            if status == 404 || (300..400).contains(&status) =>
        {
            let ApiError::Status { message, .. } = &e else {
                unreachable!("matched above")
            };
            report.fail(
                e.kind(During::Probe),
                format!("no V2 API at this URL ({status}: {message})"),
                "use the V2 base: https://api.akeyless.io, or https://<gateway>:8000/api/v2 (older gateways: :8081)",
            );
            false
        }
        Err(e) => {
            report.fail(
                e.kind(During::Probe),
                format!("not usable: {e}"),
                "check the URL, the network path from the runner, and AKEYLESS_CA_CERT for a private CA",
            );
            false
        }
    }
}

/// The type of every referenced item, asked the way a run asks it (describe-item only),
/// and what each fan-out would produce: a folder's names and types from a walk of it; for
/// `#*`, the rule (its keys are known only once the value is fetched, which doctor never
/// does).
async fn check_items(api: &Api, token: &Token, wanted: &[Wanted], report: &mut Report) {
    // Asked all at once, as a run asks them, and reported in order.
    let limit = tokio::sync::Semaphore::new(resolve::CONCURRENCY);
    let mut referring: BTreeMap<&str, Vec<&Wanted>> = BTreeMap::new();
    for w in wanted.iter().filter(|w| w.reference.folder.is_none()) {
        referring.entry(&w.reference.item).or_default().push(w);
    }
    let described = join_all(referring.keys().map(|item| async {
        let _permit = limit.acquire().await.ok();
        resolve::describe_info(api, token, item).await
    }))
    .await;
    for ((item, referring), result) in referring.iter().zip(described) {
        match result {
            Ok((item_type, info)) => {
                report.ok(format!("{item}: {}", item_type.api_name()));
                // Each reference to it: the right kind of item, and for a certificate,
                // a request within the issuer's limits.
                for w in referring {
                    if let Some(reason) = resolve::unfit(&w.reference, item_type, &info) {
                        report.fail(
                            reason.kind(),
                            format!("{} ({}): {reason}", w.var, w.reference),
                            "change the reference, or the item, as said above",
                        );
                    }
                }
            }
            Err(reason) => {
                let fix = match reason.kind() {
                    Kind::Unreachable => "retry; check the gateway",
                    _ => match reason {
                        resolve::Reason::WrongType(_) => {
                            "reference a static, dynamic or rotated secret, or a certificate issuer with |ssh_user= or |cn="
                        }
                        _ => "check the path, and that the role has a read rule covering it",
                    },
                };
                report.fail(reason.kind(), format!("{item}: {reason}"), fix);
            }
        }
    }
    let all: Vec<&Wanted> = wanted.iter().collect();
    let walked = resolve::folder_outputs(api, token, &all).await;
    for (w, walked) in wanted.iter().zip(walked) {
        let reference = &w.reference;
        let file = match reference.file {
            true => ", each written to a file (the variable holds its path)",
            false => "",
        };
        if reference.fan_out {
            let prefix = resolve::prefix(&w.var, reference);
            report.info(format!(
                "{} = the whole JSON; {prefix}<KEY> for each of its top-level keys{file} (the keys are known once the value is fetched)",
                w.var
            ));
        }
        if reference.folder.is_none() {
            continue;
        }
        match walked {
            Ok(found) if found.is_empty() => report.fail(
                Kind::Unresolved,
                format!("{} ({reference}): {}", w.var, resolve::Reason::EmptyFolder),
                "check the path, and that the role may list and read the folder",
            ),
            Ok(found) => {
                report.ok(format!(
                    "{} ({reference}): {} secret(s){file}",
                    w.var,
                    found.len()
                ));
                for (name, item, item_type) in found.iter().take(FOLDER_PREVIEW) {
                    report.info(format!("{name} <- {item} ({})", item_type.name()));
                }
                if found.len() > FOLDER_PREVIEW {
                    report.info(format!("… and {} more", found.len() - FOLDER_PREVIEW));
                }
            }
            Err(reason) => report.fail(
                reason.kind(),
                format!("{} ({reference}): {reason}", w.var),
                "check the path, and that the role may list the folder",
            ),
        }
    }
}

/// Outputs of a folder listed one per line; the rest are counted.
const FOLDER_PREVIEW: usize = 50;
