//! Where a cloud identity is found, as each cloud's own SDKs look for it: the variables
//! that point at credentials or metadata services, parsed and checked. No request is made
//! here; `identity` turns these into the proof `/auth` takes.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::secret::Secret;

use super::env::Env;
use super::vars::{
    AKEYLESS_AZURE_OBJECT_ID, AKEYLESS_GCP_AUDIENCE, AWS_ACCESS_KEY_ID,
    AWS_CONTAINER_AUTHORIZATION_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
    AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
    AWS_EC2_METADATA_DISABLED, AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_SECRET_ACCESS_KEY,
    AWS_SESSION_TOKEN, AWS_WEB_IDENTITY_TOKEN_FILE, AZURE_POD_IDENTITY_AUTHORITY_HOST,
    GCE_METADATA_HOST, IDENTITY_ENDPOINT, IDENTITY_HEADER,
};

/// The instance metadata services' default address, on AWS and Azure alike.
pub const INSTANCE_METADATA: &str = "http://169.254.169.254";
/// Where ECS serves container credentials for `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`.
const ECS_CREDENTIALS: &str = "http://169.254.170.2";
/// Google's metadata server, by the name every Google SDK uses.
const GCE_METADATA: &str = "metadata.google.internal";
/// The audience Akeyless's GCP auth method expects by default.
pub const DEFAULT_GCP_AUDIENCE: &str = "akeyless.io";

/// Where AWS credentials come from, in the AWS SDKs' order: the environment, the container
/// credentials endpoint, the instance metadata service (IMDSv2).
#[derive(Debug, Clone)]
pub struct Aws {
    pub from_env: Option<AwsCredentials>,
    pub container: Option<ContainerCredentials>,
    /// The instance metadata service's base URL; none when `AWS_EC2_METADATA_DISABLED`.
    pub imds: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
}

#[derive(Debug, Clone)]
pub struct ContainerCredentials {
    pub url: String,
    pub authorization: Option<Authorization>,
}

/// The `Authorization` header for the container credentials endpoint.
#[derive(Debug, Clone)]
pub enum Authorization {
    Value(Secret),
    /// Read when used: EKS Pod Identity rotates the file.
    File(PathBuf),
}

/// Where an Azure managed identity's token comes from.
#[derive(Debug, Clone)]
pub struct Azure {
    pub endpoint: AzureEndpoint,
    /// A user-assigned identity's object id; the system-assigned one when none.
    pub object_id: Option<String>,
}

#[derive(Debug, Clone)]
pub enum AzureEndpoint {
    /// App Service, Functions, Container Apps: `IDENTITY_ENDPOINT` with `X-IDENTITY-HEADER`.
    AppService { url: String, header: Secret },
    /// The instance metadata service (VMs, scale sets, AKS), at this base URL.
    Imds { base: String },
}

/// Where a Google ID token comes from: the metadata server.
#[derive(Debug, Clone)]
pub struct Gcp {
    pub host: String,
    pub audience: String,
}

impl Aws {
    pub fn from_env(env: &Env) -> Result<Aws> {
        let from_env = match (env.get(AWS_ACCESS_KEY_ID)?, env.get(AWS_SECRET_ACCESS_KEY)?) {
            (Some(id), Some(key)) => Some(AwsCredentials {
                access_key_id: id.trim().to_owned(),
                secret_access_key: Secret::new(key.trim()),
                session_token: env.get(AWS_SESSION_TOKEN)?.map(|t| Secret::new(t.trim())),
            }),
            (Some(_), None) => {
                return Err(Error::usage(format!(
                    "{AWS_ACCESS_KEY_ID} is set but {AWS_SECRET_ACCESS_KEY} is not"
                ))
                .hint("set both, or neither to use the runner's own role"));
            }
            (None, Some(_)) => {
                return Err(Error::usage(format!(
                    "{AWS_SECRET_ACCESS_KEY} is set but {AWS_ACCESS_KEY_ID} is not"
                ))
                .hint("set both, or neither to use the runner's own role"));
            }
            (None, None) => None,
        };
        // The SDKs take a web identity (EKS IRSA) next, with an STS call akl does not
        // make; going on to the container endpoint or IMDS would sign as the node's role
        // instead of the pod's, and fail later with a confusing refusal.
        if from_env.is_none() && env.get(AWS_WEB_IDENTITY_TOKEN_FILE)?.is_some() {
            return Err(Error::usage(format!(
                "{AWS_WEB_IDENTITY_TOKEN_FILE} is set (IAM roles for service accounts), which akl does not use"
            ))
            .detail("the AWS SDKs would act as the role in AWS_ROLE_ARN; the node's credentials would be another identity")
            .hint(format!(
                "on EKS, give the pod an EKS Pod Identity association (akl uses its container endpoint) or use AKEYLESS_ACCESS_TYPE=k8s; or put the role's credentials in {AWS_ACCESS_KEY_ID}, {AWS_SECRET_ACCESS_KEY} and {AWS_SESSION_TOKEN}"
            )));
        }
        let container = match (
            env.get(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)?,
            env.get(AWS_CONTAINER_CREDENTIALS_FULL_URI)?,
        ) {
            (Some(path), _) => Some(format!("{ECS_CREDENTIALS}{}", path.trim())),
            (None, Some(url)) => Some(container_url(url.trim())?),
            (None, None) => None,
        };
        let container = match container {
            None => None,
            Some(url) => {
                let authorization = match (
                    env.get(AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)?,
                    env.get(AWS_CONTAINER_AUTHORIZATION_TOKEN)?,
                ) {
                    (Some(file), _) => Some(Authorization::File(PathBuf::from(file.trim()))),
                    (None, Some(token)) => Some(Authorization::Value(Secret::new(token.trim()))),
                    (None, None) => None,
                };
                Some(ContainerCredentials { url, authorization })
            }
        };
        let disabled = env
            .get(AWS_EC2_METADATA_DISABLED)?
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let imds = match disabled {
            true => None,
            false => Some(base_url(
                AWS_EC2_METADATA_SERVICE_ENDPOINT,
                env.get(AWS_EC2_METADATA_SERVICE_ENDPOINT)?
                    .unwrap_or(INSTANCE_METADATA),
            )?),
        };
        Ok(Aws {
            from_env,
            container,
            imds,
        })
    }

    /// Where the credentials will come from, the first configured source as the SDKs
    /// pick it (for `akl doctor` and messages; never a secret).
    pub fn describe(&self) -> String {
        match (&self.from_env, &self.container, &self.imds) {
            (Some(keys), _, _) => format!(
                "the keys in {AWS_ACCESS_KEY_ID} ({}){}",
                keys.access_key_id,
                if keys.session_token.is_some() {
                    " and AWS_SESSION_TOKEN"
                } else {
                    ""
                }
            ),
            (None, Some(_), _) => {
                "the role from the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_*)"
                    .to_owned()
            }
            (None, None, Some(base)) => {
                format!(
                    "the instance profile's role from the EC2 instance metadata service (IMDSv2) at {base}"
                )
            }
            (None, None, None) => {
                "no AWS credentials (none in the environment, and IMDS is disabled)".to_owned()
            }
        }
    }

    pub fn secrets(&self) -> Vec<Secret> {
        let mut all = Vec::new();
        if let Some(c) = &self.from_env {
            all.push(c.secret_access_key.clone());
            all.extend(c.session_token.clone());
        }
        if let Some(ContainerCredentials {
            authorization: Some(Authorization::Value(v)),
            ..
        }) = &self.container
        {
            all.push(v.clone());
        }
        all
    }
}

/// The AWS SDKs take a full container credentials URI over http only to addresses that
/// cannot be anyone else's: loopback and the ECS and EKS agents. The same here: the
/// answer is a set of credentials.
fn container_url(url: &str) -> Result<String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        Error::usage(format!(
            "{AWS_CONTAINER_CREDENTIALS_FULL_URI} is not a URL: {e}"
        ))
    })?;
    let host = parsed.host_str().unwrap_or_default();
    let ip: Option<std::net::IpAddr> = host.trim_matches(['[', ']']).parse().ok();
    let agent = |ip: std::net::IpAddr| match ip {
        std::net::IpAddr::V4(v4) => {
            [[169, 254, 170, 2], [169, 254, 170, 23]].contains(&v4.octets())
        }
        std::net::IpAddr::V6(v6) => {
            v6 == std::net::Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23)
        }
    };
    let allowed = match parsed.scheme() {
        "https" => !host.is_empty(),
        "http" => host == "localhost" || ip.is_some_and(|ip| ip.is_loopback() || agent(ip)),
        _ => false,
    };
    if !allowed {
        return Err(Error::usage(format!(
            "{AWS_CONTAINER_CREDENTIALS_FULL_URI} must be https, or http to loopback or the ECS/EKS agent (169.254.170.2, 169.254.170.23)"
        ))
        .hint("a plain-http address elsewhere could hand the job's credentials to someone else"));
    }
    Ok(url.to_owned())
}

impl Azure {
    pub fn from_env(env: &Env) -> Result<Azure> {
        let endpoint = match (env.get(IDENTITY_ENDPOINT)?, env.get(IDENTITY_HEADER)?) {
            (Some(url), Some(header)) => AzureEndpoint::AppService {
                url: base_url(IDENTITY_ENDPOINT, url)?,
                header: Secret::new(header.trim()),
            },
            (Some(_), None) => {
                return Err(Error::usage(format!(
                    "{IDENTITY_ENDPOINT} is set but {IDENTITY_HEADER} is not"
                ))
                .detail("App Service, Functions and Container Apps set both; an Azure Arc server sets IDENTITY_ENDPOINT alone, for a challenge flow akl does not do")
                .hint("run akl where both are set, or unset IDENTITY_ENDPOINT to use the instance metadata service"));
            }
            _ => AzureEndpoint::Imds {
                base: base_url(
                    AZURE_POD_IDENTITY_AUTHORITY_HOST,
                    env.get(AZURE_POD_IDENTITY_AUTHORITY_HOST)?
                        .unwrap_or(INSTANCE_METADATA),
                )?,
            },
        };
        Ok(Azure {
            endpoint,
            object_id: env
                .get(AKEYLESS_AZURE_OBJECT_ID)?
                .map(|o| o.trim().to_owned()),
        })
    }

    /// Which managed identity, from where (for `akl doctor` and messages).
    pub fn describe(&self) -> String {
        let which = match &self.object_id {
            Some(id) => format!("the user-assigned managed identity {id}"),
            None => "the system-assigned managed identity".to_owned(),
        };
        match &self.endpoint {
            AzureEndpoint::AppService { .. } => {
                format!("{which}'s token from the App Service endpoint ({IDENTITY_ENDPOINT})")
            }
            AzureEndpoint::Imds { base } => {
                format!("{which}'s token from the Azure instance metadata service at {base}")
            }
        }
    }

    pub fn secrets(&self) -> Vec<Secret> {
        match &self.endpoint {
            AzureEndpoint::AppService { header, .. } => vec![header.clone()],
            AzureEndpoint::Imds { .. } => Vec::new(),
        }
    }
}

impl Gcp {
    pub fn from_env(env: &Env) -> Result<Gcp> {
        let host = env.get(GCE_METADATA_HOST)?.unwrap_or(GCE_METADATA).trim();
        // A host, optionally with a port: the Google SDKs put it after http://.
        if host.is_empty() || host.contains(['/', '@', '?', '#', ' ']) {
            return Err(
                Error::usage(format!("{GCE_METADATA_HOST}={host} is not a host[:port]"))
                    .hint("set it to the metadata server's host, e.g. 127.0.0.1:8080, or unset it"),
            );
        }
        Ok(Gcp {
            host: host.to_owned(),
            audience: env
                .get(AKEYLESS_GCP_AUDIENCE)?
                .map_or(DEFAULT_GCP_AUDIENCE, str::trim)
                .to_owned(),
        })
    }
}

/// A base URL from a variable: http or https, without a trailing slash.
fn base_url(var: &str, raw: &str) -> Result<String> {
    let raw = raw.trim();
    match reqwest::Url::parse(raw) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(raw.trim_end_matches('/').to_owned())
        }
        _ => Err(
            Error::usage(format!("{var}={raw} is not an http(s) URL")).hint(format!(
                "set {var} to the service's address, e.g. http://169.254.169.254, or unset it"
            )),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn aws_sources_as_the_sdks_find_them() {
        let aws = Aws::from_env(&env(&[])).unwrap();
        assert!(aws.from_env.is_none() && aws.container.is_none());
        assert_eq!(aws.imds.as_deref(), Some(INSTANCE_METADATA));
        let aws = Aws::from_env(&env(&[
            (AWS_ACCESS_KEY_ID, "AKIA1"),
            (AWS_SECRET_ACCESS_KEY, "s"),
            (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, "/v2/credentials/x"),
            (AWS_EC2_METADATA_DISABLED, "true"),
        ]))
        .unwrap();
        assert_eq!(aws.from_env.unwrap().access_key_id, "AKIA1");
        assert_eq!(
            aws.container.unwrap().url,
            "http://169.254.170.2/v2/credentials/x"
        );
        assert!(aws.imds.is_none());
        for bad in ["http://evil.example.com/creds", "ftp://127.0.0.1/x", "nope"] {
            let msg = Aws::from_env(&env(&[(AWS_CONTAINER_CREDENTIALS_FULL_URI, bad)]))
                .unwrap_err()
                .to_string();
            assert!(
                msg.contains(AWS_CONTAINER_CREDENTIALS_FULL_URI),
                "{bad}: {msg}"
            );
        }
        for good in [
            "http://127.0.0.1:8080/c",
            "http://169.254.170.23/v1/credentials",
            "https://creds.example.com/x",
        ] {
            assert!(
                Aws::from_env(&env(&[(AWS_CONTAINER_CREDENTIALS_FULL_URI, good)])).is_ok(),
                "{good}"
            );
        }
        let msg = Aws::from_env(&env(&[(AWS_ACCESS_KEY_ID, "AKIA1")]))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("AWS_SECRET_ACCESS_KEY is not"), "{msg}");
    }

    #[test]
    fn azure_and_gcp_endpoints() {
        let azure = Azure::from_env(&env(&[])).unwrap();
        assert!(
            matches!(azure.endpoint, AzureEndpoint::Imds { base } if base == INSTANCE_METADATA)
        );
        let azure = Azure::from_env(&env(&[
            (IDENTITY_ENDPOINT, "http://127.0.0.1:41741/msi/token/"),
            (IDENTITY_HEADER, "h"),
            (AKEYLESS_AZURE_OBJECT_ID, "o-1"),
        ]))
        .unwrap();
        assert!(
            matches!(azure.endpoint, AzureEndpoint::AppService { url, .. } if url == "http://127.0.0.1:41741/msi/token")
        );
        assert_eq!(azure.object_id.as_deref(), Some("o-1"));
        let gcp = Gcp::from_env(&env(&[])).unwrap();
        assert_eq!(
            (gcp.host.as_str(), gcp.audience.as_str()),
            (GCE_METADATA, DEFAULT_GCP_AUDIENCE)
        );
        assert!(Gcp::from_env(&env(&[(GCE_METADATA_HOST, "http://x/")])).is_err());
    }
}
