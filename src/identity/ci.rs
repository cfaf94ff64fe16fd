//! ID tokens from the CIs that mint them on request: GitHub Actions and Azure Pipelines
//! (an HTTP endpoint and a bearer token the runner gives the job), Buildkite (its agent).
//! A token found in a variable is used as it is.

use reqwest::Method;
use serde::Deserialize;

use crate::client::{ENDPOINT_TIMEOUT, Endpoints, Route};
use crate::error::{Error, Kind, Result};
use crate::secret::Secret;
use crate::settings::jwt::{JwtSource, check_shape};

use super::service::{Service, query_value};

const GITHUB: Service = Service {
    name: "GitHub Actions' ID token endpoint",
    route: Route::Proxied,
    unreachable_hint: "check the runner's network path to GitHub (and HTTPS_PROXY on a self-hosted runner)",
    timeout: ENDPOINT_TIMEOUT,
};

const AZURE_PIPELINES: Service = Service {
    name: "Azure Pipelines' ID token endpoint",
    route: Route::Proxied,
    unreachable_hint: "check the agent's network path to Azure DevOps (and HTTPS_PROXY on a self-hosted agent)",
    timeout: ENDPOINT_TIMEOUT,
};

/// The job's ID token, from wherever `source` says.
pub async fn jwt(endpoints: &Endpoints, source: &JwtSource) -> Result<Secret> {
    let token = match source {
        JwtSource::Var { jwt, .. } => return Ok(jwt.clone()),
        JwtSource::GitHub {
            url,
            bearer,
            audience,
        } => github(endpoints, url, bearer, audience.as_deref()).await?,
        JwtSource::AzurePipelines {
            url,
            bearer,
            connection,
        } => azure_pipelines(endpoints, url, bearer, connection).await?,
        JwtSource::Buildkite { audience } => buildkite(audience.as_deref())?,
    };
    check_shape(&source.describe(), token.expose())?;
    Ok(token)
}

async fn github(
    endpoints: &Endpoints,
    url: &Secret,
    bearer: &Secret,
    audience: Option<&str>,
) -> Result<Secret> {
    #[derive(Deserialize)]
    struct Minted {
        value: Secret,
    }
    let mut url = url.expose().to_owned();
    if let Some(audience) = audience {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str("audience=");
        url.push_str(&query_value(audience));
    }
    let authorization = format!("Bearer {}", bearer.expose());
    let answer = GITHUB
        .send(
            endpoints,
            Method::GET,
            &url,
            &[
                ("Authorization", &authorization),
                ("Accept", "application/json"),
            ],
            None,
        )
        .await?;
    if answer.status != 200 {
        return Err(GITHUB.refused(
            &answer,
            "the job needs permissions: id-token: write (and the token is valid only during the job)",
        ));
    }
    Ok(GITHUB.json::<Minted>(&answer)?.value)
}

async fn azure_pipelines(
    endpoints: &Endpoints,
    url: &Secret,
    bearer: &Secret,
    connection: &str,
) -> Result<Secret> {
    #[derive(Deserialize)]
    struct Minted {
        #[serde(rename = "oidcToken")]
        oidc_token: Secret,
    }
    let mut url = url.expose().to_owned();
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str("api-version=7.1&serviceConnectionId=");
    url.push_str(&query_value(connection));
    let authorization = format!("Bearer {}", bearer.expose());
    let answer = AZURE_PIPELINES
        .send(
            endpoints,
            Method::POST,
            &url,
            &[
                ("Authorization", &authorization),
                ("Content-Type", "application/json"),
                // Without it, a refused token is a redirect to a sign-in page.
                ("X-TFS-FedAuthRedirect", "Suppress"),
            ],
            Some(b"{}".to_vec()),
        )
        .await?;
    if answer.status != 200 {
        return Err(AZURE_PIPELINES.refused(
            &answer,
            "check AKEYLESS_AZURE_SERVICE_CONNECTION_ID and that the pipeline may use that service connection; SYSTEM_ACCESSTOKEN must be $(System.AccessToken)",
        ));
    }
    Ok(AZURE_PIPELINES.json::<Minted>(&answer)?.oidc_token)
}

/// `buildkite-agent oidc request-token`: the agent prints the token. Its stdout is the
/// token and is never shown; its stderr is, when it fails.
fn buildkite(audience: Option<&str>) -> Result<Secret> {
    let mut cmd = std::process::Command::new("buildkite-agent");
    cmd.args(["oidc", "request-token"]);
    if let Some(audience) = audience {
        cmd.args(["--audience", audience]);
    }
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            Error::usage(format!("cannot run buildkite-agent: {e}"))
                .hint("BUILDKITE is set but buildkite-agent is not on PATH: run akl in the job's own environment")
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(Error::new(
            Kind::Auth,
            "buildkite-agent oidc request-token failed",
        )
        .cause(crate::error::printable(stderr.trim(), 300))
        .hint("the agent mints ID tokens only inside a running job; check the pipeline's OIDC policy"));
    }
    let token = String::from_utf8(out.stdout).map_err(|_| {
        Error::new(
            Kind::Auth,
            "buildkite-agent printed a token that is not text",
        )
    })?;
    Ok(Secret::new(token.trim()))
}
