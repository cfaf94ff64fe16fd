//! `aws_iam`: the `cloud-id` is a SigV4-signed STS `GetCallerIdentity` that is never
//! sent; Akeyless replays it to STS to learn who signed it. The credentials come from
//! where the AWS SDKs look, in their order: the environment, the container credentials
//! endpoint (ECS, EKS Pod Identity), the instance metadata service (IMDSv2). As in the
//! SDKs, the first source that is configured is the one used: a container endpoint that
//! fails does not fall back to the instance's role.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::client::{ENDPOINT_TIMEOUT, Endpoints, Route};
use crate::error::{Error, Result};
use crate::files;
use crate::secret::Secret;
use crate::settings::cloud::{Authorization, Aws, AwsCredentials, ContainerCredentials};
use crate::settings::vars::{
    AWS_ACCESS_KEY_ID, AWS_CONTAINER_AUTHORIZATION_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
    AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
    AWS_EC2_METADATA_DISABLED, AWS_SECRET_ACCESS_KEY,
};

use super::CloudId;
use super::service::Service;
use super::sigv4::{self, Request, Signer};

/// The global STS endpoint, signed for us-east-1: what Akeyless's own clients (the Go
/// `akeyless-go-cloud-id` before 2026, the Jenkins plugin) sign, and the `--sts-url` an
/// aws-iam auth method has by default (`docs/akeyless-api.md`).
const STS_URL: &str = "https://sts.amazonaws.com/";
const STS_HOST: &str = "sts.amazonaws.com";
const STS_REGION: &str = "us-east-1";
const STS_BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";
/// As the AWS SDKs and the Jenkins plugin send it.
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

const CONTAINER: Service = Service {
    name: "the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_*)",
    route: Route::Direct,
    unreachable_hint: "on ECS the task needs a task role; on EKS the pod needs an EKS Pod Identity association and the agent running on the node",
    timeout: ENDPOINT_TIMEOUT,
};

const IMDS: Service = Service {
    name: "the EC2 instance metadata service (IMDSv2)",
    route: Route::Direct,
    unreachable_hint: "in a container on EC2 (the Docker executor, ECS on EC2, EKS), IMDSv2 answers only when the instance's hop limit is at least 2: aws ec2 modify-instance-metadata-options --instance-id i-… --http-put-response-hop-limit 2 --http-endpoint enabled; off EC2, give the job credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    timeout: IMDS_TIMEOUT,
};

/// IMDS answers in milliseconds when it is there. With a hop limit of 1, a container
/// connects but the reply to the token PUT never reaches it: the request hangs after
/// connecting, which only a short timeout ends (botocore gives IMDS 1 s; twice that leaves
/// room for a loaded runner).
const IMDS_TIMEOUT: Duration = Duration::from_secs(2);

/// The IMDSv2 session token lives this long: one login needs seconds.
const IMDS_TOKEN_TTL: &str = "300";
/// A container authorization token or an EKS Pod Identity token is a few KiB.
const MAX_TOKEN_FILE: u64 = 64 << 10;

pub async fn cloud_id(endpoints: &Endpoints, aws: &Aws) -> Result<CloudId> {
    let credentials = credentials(endpoints, aws).await?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let signed = sign(&credentials.found, &sigv4::amz_date(now));
    let mut used = credentials.used;
    used.push(credentials.found.secret_access_key.clone());
    used.extend(credentials.found.session_token.clone());
    used.push(signed.authorization);
    Ok(CloudId {
        value: signed.cloud_id,
        used,
    })
}

/// Credentials, and the secrets read on the way to them (a container authorization token,
/// an IMDS session token).
struct Found {
    found: AwsCredentials,
    used: Vec<Secret>,
}

/// The credentials the AWS SDKs would use.
async fn credentials(endpoints: &Endpoints, aws: &Aws) -> Result<Found> {
    if let Some(found) = &aws.from_env {
        return Ok(Found {
            found: found.clone(),
            used: Vec::new(),
        });
    }
    if let Some(container) = &aws.container {
        return from_container(endpoints, container).await;
    }
    if let Some(base) = &aws.imds {
        return from_imds(endpoints, base).await;
    }
    Err(Error::usage("no AWS credentials found")
        .detail(format!(
            "{AWS_ACCESS_KEY_ID} is not set, no container credentials endpoint is set, and {AWS_EC2_METADATA_DISABLED} turns the instance metadata service off"
        ))
        .hint(format!(
            "set {AWS_ACCESS_KEY_ID} and {AWS_SECRET_ACCESS_KEY} (and AWS_SESSION_TOKEN for temporary credentials), or unset {AWS_EC2_METADATA_DISABLED} to use the instance's role"
        )))
}

/// What the container endpoint and IMDS answer with (IMDS adds `Code`, `Type`,
/// `LastUpdated`; ECS adds `RoleArn`).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Document {
    #[serde(default)]
    code: Option<String>,
    access_key_id: String,
    secret_access_key: Secret,
    #[serde(default)]
    token: Option<Secret>,
}

impl Document {
    fn credentials(self, service: &Service) -> Result<AwsCredentials> {
        if let Some(code) = self.code.filter(|c| c != "Success") {
            return Err(Error::auth(format!(
                "{} answered with credentials whose Code is {}",
                service.name,
                crate::error::printable(&code, 60)
            ))
            .hint("the instance profile's role could not be assumed: check its trust policy"));
        }
        if self.access_key_id.trim().is_empty() || self.secret_access_key.is_empty() {
            return Err(Error::unreachable(format!(
                "{} answered without an access key",
                service.name
            )));
        }
        Ok(AwsCredentials {
            access_key_id: self.access_key_id.trim().to_owned(),
            secret_access_key: self.secret_access_key,
            session_token: self.token.filter(|t| !t.is_empty()),
        })
    }
}

async fn from_container(endpoints: &Endpoints, container: &ContainerCredentials) -> Result<Found> {
    let mut used = Vec::new();
    let authorization = match &container.authorization {
        None => None,
        Some(Authorization::Value(value)) => {
            Some((AWS_CONTAINER_AUTHORIZATION_TOKEN, value.clone()))
        }
        // Read at every use: EKS Pod Identity rotates the file.
        Some(Authorization::File(path)) => {
            let bytes = files::read_regular(path, MAX_TOKEN_FILE).map_err(|e| {
                Error::usage(format!(
                    "{AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE} names {}, which cannot be read ({e})",
                    path.display()
                ))
                .hint("on EKS the Pod Identity webhook mounts it; check the pod's service account has an association")
            })?;
            let text = String::from_utf8(bytes).map_err(|_| {
                Error::usage(format!(
                    "{AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE} names {}, which does not hold text",
                    path.display()
                ))
            })?;
            Some((
                AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
                Secret::new(text.trim()),
            ))
        }
    };
    let mut headers = vec![("Accept", "application/json")];
    if let Some((from, value)) = &authorization {
        // A header cannot hold a line break; the SDKs refuse such a token too.
        if value.expose().contains(['\r', '\n']) || value.is_empty() {
            return Err(Error::usage(format!(
                "the container authorization token from {from} is empty or holds a line break"
            )));
        }
        used.push(value.clone());
        headers.push(("Authorization", value.expose()));
    }
    let answer = CONTAINER
        .send(endpoints, Method::GET, &container.url, &headers, None)
        .await?;
    if answer.status != 200 {
        return Err(CONTAINER.refused(
            &answer,
            &format!(
                "check {AWS_CONTAINER_AUTHORIZATION_TOKEN} or {AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE}, and {AWS_CONTAINER_CREDENTIALS_FULL_URI} or {AWS_CONTAINER_CREDENTIALS_RELATIVE_URI}, as ECS or EKS set them"
            ),
        ));
    }
    let found = CONTAINER
        .json::<Document>(&answer)?
        .credentials(&CONTAINER)?;
    Ok(Found { found, used })
}

/// IMDSv2: a session token from `PUT /latest/api/token`, then the role's name and its
/// credentials with that token.
async fn from_imds(endpoints: &Endpoints, base: &str) -> Result<Found> {
    let answer = IMDS
        .send(
            endpoints,
            Method::PUT,
            &format!("{base}/latest/api/token"),
            &[("X-aws-ec2-metadata-token-ttl-seconds", IMDS_TOKEN_TTL)],
            None,
        )
        .await?;
    if answer.status != 200 {
        return Err(IMDS.refused(
            &answer,
            "the instance's metadata service is off or refuses sessions: aws ec2 modify-instance-metadata-options --http-endpoint enabled --http-tokens required",
        ));
    }
    let token = Secret::new(text(&answer.body, &IMDS)?);
    let with_token = [("X-aws-ec2-metadata-token", token.expose())];
    let roles = format!("{base}/latest/meta-data/iam/security-credentials/");
    let answer = IMDS
        .send(endpoints, Method::GET, &roles, &with_token, None)
        .await?;
    if answer.status == 404 {
        return Err(Error::auth(format!(
            "{} has no IAM role for this instance (it answered 404)",
            IMDS.name
        ))
        .hint("attach an instance profile: aws ec2 associate-iam-instance-profile --instance-id i-… --iam-instance-profile Name=…"));
    }
    if answer.status != 200 {
        return Err(IMDS.refused(&answer, "the IMDSv2 session token was refused"));
    }
    let listed = text(&answer.body, &IMDS)?;
    let role = listed.lines().map(str::trim).find(|l| !l.is_empty());
    // An IAM role name's characters; anything else is not IMDS talking.
    let valid = |r: &&str| {
        r.len() <= 128
            && r.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
    };
    let Some(role) = role.filter(valid) else {
        return Err(Error::unreachable(format!(
            "{} answered with no usable IAM role name",
            IMDS.name
        )));
    };
    let answer = IMDS
        .send(
            endpoints,
            Method::GET,
            &format!("{roles}{role}"),
            &with_token,
            None,
        )
        .await?;
    if answer.status != 200 {
        return Err(IMDS.refused(
            &answer,
            "the instance profile's credentials were not given: check the instance profile",
        ));
    }
    let found = IMDS.json::<Document>(&answer)?.credentials(&IMDS)?;
    Ok(Found {
        found,
        used: vec![token],
    })
}

/// A plain-text answer (a token, a list of roles).
fn text(body: &[u8], service: &Service) -> Result<String> {
    match std::str::from_utf8(body).map(str::trim) {
        Ok(text) if !text.is_empty() => Ok(text.to_owned()),
        _ => Err(Error::unreachable(format!(
            "{} answered with something that is not text",
            service.name
        ))),
    }
}

/// The cloud-id and the `Authorization` header inside it.
struct Signed {
    cloud_id: Secret,
    authorization: Secret,
}

/// The signed `GetCallerIdentity`, as the cloud-id Akeyless takes: base64 of a JSON object
/// with the method, and base64 of the URL, the body and the headers (a JSON map from each
/// header's name to its values, as Go's `http.Header` marshals).
fn sign(credentials: &AwsCredentials, amz_date: &str) -> Signed {
    let mut headers = vec![
        ("Content-Type", FORM),
        ("Host", STS_HOST),
        ("X-Amz-Date", amz_date),
    ];
    if let Some(token) = &credentials.session_token {
        headers.push(("X-Amz-Security-Token", token.expose()));
    }
    let signer = Signer {
        access_key_id: &credentials.access_key_id,
        secret_access_key: credentials.secret_access_key.expose(),
        region: STS_REGION,
        service: "sts",
        amz_date,
    };
    let authorization = signer.authorization(&Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body: STS_BODY.as_bytes(),
    });
    let mut map = Map::new();
    for (name, value) in &headers {
        map.insert((*name).to_owned(), json!([value]));
    }
    map.insert("Authorization".into(), json!([authorization]));
    let request = json!({
        "sts_request_method": "POST",
        "sts_request_url": STANDARD.encode(STS_URL),
        "sts_request_body": STANDARD.encode(STS_BODY),
        "sts_request_headers": STANDARD.encode(Value::Object(map).to_string()),
    });
    Signed {
        cloud_id: Secret::new(STANDARD.encode(request.to_string())),
        authorization: Secret::new(authorization),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(b64: &str) -> String {
        String::from_utf8(STANDARD.decode(b64).unwrap()).unwrap()
    }

    /// The cloud-id has the shape `akeyless-go-cloud-id` gives it, and its signature is
    /// over what it says was sent.
    #[test]
    fn the_cloud_id_is_a_replayable_signed_request() {
        let credentials = AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            session_token: Some(Secret::new("session-token-example")),
        };
        let signed = sign(&credentials, "20150830T123600Z");
        let outer: Map<String, Value> =
            serde_json::from_str(&decode(signed.cloud_id.expose())).unwrap();
        let mut keys: Vec<&str> = outer.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "sts_request_body",
                "sts_request_headers",
                "sts_request_method",
                "sts_request_url"
            ]
        );
        assert_eq!(outer["sts_request_method"], "POST");
        assert_eq!(
            decode(outer["sts_request_url"].as_str().unwrap()),
            "https://sts.amazonaws.com/"
        );
        assert_eq!(
            decode(outer["sts_request_body"].as_str().unwrap()),
            "Action=GetCallerIdentity&Version=2011-06-15"
        );
        let headers: Map<String, Value> =
            serde_json::from_str(&decode(outer["sts_request_headers"].as_str().unwrap())).unwrap();
        assert_eq!(headers["Host"], json!(["sts.amazonaws.com"]));
        assert_eq!(headers["X-Amz-Date"], json!(["20150830T123600Z"]));
        assert_eq!(
            headers["Content-Type"],
            json!(["application/x-www-form-urlencoded; charset=utf-8"])
        );
        assert_eq!(
            headers["X-Amz-Security-Token"],
            json!(["session-token-example"])
        );
        let authorization = headers["Authorization"][0].as_str().unwrap();
        assert_eq!(authorization, signed.authorization.expose());
        assert!(
            authorization.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="
            ),
            "{authorization}"
        );
        // Without a session token there is no such header, signed or sent.
        let signed = sign(
            &AwsCredentials {
                session_token: None,
                ..credentials
            },
            "20150830T123600Z",
        );
        let outer: Map<String, Value> =
            serde_json::from_str(&decode(signed.cloud_id.expose())).unwrap();
        let headers = decode(outer["sts_request_headers"].as_str().unwrap());
        assert!(!headers.contains("X-Amz-Security-Token"), "{headers}");
        assert!(headers.contains("SignedHeaders=content-type;host;x-amz-date,"));
    }

    #[test]
    fn documents_from_imds_and_ecs() {
        let imds: Document = serde_json::from_str(
            r#"{"Code":"Success","LastUpdated":"2026-01-05T10:00:00Z","Type":"AWS-HMAC","AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"s","Token":"t","Expiration":"2026-01-05T16:00:00Z"}"#,
        )
        .unwrap();
        let found = imds.credentials(&IMDS).unwrap();
        assert_eq!(found.access_key_id, "ASIAEXAMPLE");
        assert_eq!(found.session_token.unwrap().expose(), "t");
        let ecs: Document = serde_json::from_str(
            r#"{"RoleArn":"arn:aws:iam::123456789012:role/x","AccessKeyId":"ASIA2","SecretAccessKey":"s","Token":"t","Expiration":"2026-01-05T16:00:00Z"}"#,
        )
        .unwrap();
        assert!(ecs.credentials(&CONTAINER).is_ok());
        let failed: Document = serde_json::from_str(
            r#"{"Code":"AssumeRoleUnauthorizedAccess","AccessKeyId":"","SecretAccessKey":""}"#,
        )
        .unwrap();
        let err = failed.credentials(&IMDS).err().unwrap().to_string();
        assert!(
            err.contains("Code is AssumeRoleUnauthorizedAccess"),
            "{err}"
        );
    }
}
