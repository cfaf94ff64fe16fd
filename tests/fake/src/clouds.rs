//! The `cloud-id` of `aws_iam`, `azure_ad` and `gcp`, checked the way Akeyless and the
//! clouds behind it check it: the AWS request replayed as STS would verify it, the Azure
//! and Google tokens verified against their issuers' keys (the fake's own key here), with
//! the audience, issuer and the auth method's bounds. Each returns the caller's claims.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::api::Failure;
use super::fixture::glob;
use super::identities::*;
use super::{jwt, sigv4};

/// How far a signature's date may be from STS's clock (STS: "Signature expired").
const STS_SKEW_SECS: i64 = 15 * 60;
const STS_BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";

/// The Entra issuer of a tenant's managed identity tokens (v1 tokens).
pub fn azure_issuer(tenant: &str) -> String {
    format!("https://sts.windows.net/{tenant}/")
}

pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// The keys STS knows: key id → (secret, session token of temporary keys, caller ARN).
fn aws_caller(key_id: &str) -> Option<(&'static str, Option<&'static str>, String)> {
    Some(match key_id {
        AWS_USER_KEY_ID => (
            AWS_USER_SECRET,
            None,
            format!("arn:aws:iam::{AWS_ACCOUNT}:user/ci"),
        ),
        AWS_INTRUDER_KEY_ID => (
            AWS_INTRUDER_SECRET,
            None,
            format!("arn:aws:iam::{AWS_ACCOUNT}:user/intruder"),
        ),
        AWS_ROLE_KEY_ID => (
            AWS_ROLE_SECRET,
            Some(AWS_SESSION_TOKEN),
            format!("arn:aws:sts::{AWS_ACCOUNT}:assumed-role/{AWS_ROLE}/i-0fake0runner"),
        ),
        _ => return None,
    })
}

fn refuse<T>(why: impl std::fmt::Display) -> Result<T, Failure> {
    Err((401, format!("Authentication failed: {why}")))
}

fn decode_b64(value: &str, what: &str) -> Result<Vec<u8>, Failure> {
    STANDARD
        .decode(value.trim())
        .or_else(|_| refuse(format!("{what} is not base64")))
}

fn decode_text(value: &str, what: &str) -> Result<String, Failure> {
    String::from_utf8(decode_b64(value, what)?).or_else(|_| refuse(format!("{what} is not text")))
}

/// `aws_iam`: the cloud-id's request as STS would take it, then the bounds.
pub fn aws_iam(
    cloud_id: &str,
    now: i64,
    bound_arns: &[String],
    bound_accounts: &[String],
) -> Result<Map<String, Value>, Failure> {
    let outer: Map<String, Value> = serde_json::from_slice(&decode_b64(cloud_id, "cloud-id")?)
        .or_else(|_| refuse("cloud-id is not a JSON object"))?;
    let field = |name: &str| {
        outer.get(name).and_then(Value::as_str).ok_or_else(|| {
            (
                401,
                format!("Authentication failed: cloud-id has no {name}"),
            )
        })
    };
    if field("sts_request_method")? != "POST" {
        return refuse("sts_request_method is not POST");
    }
    let url = decode_text(field("sts_request_url")?, "sts_request_url")?;
    let body = decode_text(field("sts_request_body")?, "sts_request_body")?;
    let headers: Map<String, Value> = serde_json::from_str(&decode_text(
        field("sts_request_headers")?,
        "sts_request_headers",
    )?)
    .or_else(|_| refuse("sts_request_headers is not a JSON map"))?;
    let headers: Vec<(String, Vec<String>)> = headers
        .into_iter()
        .map(|(name, values)| {
            let values = values
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            (name, values)
        })
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.first())
            .map(String::as_str)
    };
    // Akeyless replays only to STS: the global endpoint (us-east-1) or a regional one.
    let host = url
        .strip_prefix("https://")
        .map(|rest| rest.trim_end_matches('/'))
        .filter(|h| {
            *h == "sts.amazonaws.com" || (h.starts_with("sts.") && h.ends_with(".amazonaws.com"))
        })
        .ok_or((
            401,
            "Authentication failed: sts_request_url is not an STS endpoint".to_owned(),
        ))?;
    if header("host") != Some(host) {
        return refuse("the signed Host is not the STS endpoint's");
    }
    if body != STS_BODY {
        return refuse("the request is not GetCallerIdentity");
    }
    let auth = sigv4::Authorization::parse(header("authorization").unwrap_or(""))
        .or_else(|why| refuse(format!("IncompleteSignature: {why}")))?;
    let signed: Vec<&str> = auth.signed_headers.split(';').collect();
    if !signed.contains(&"host") || !signed.contains(&"x-amz-date") {
        return refuse("IncompleteSignature: host and x-amz-date must be signed");
    }
    if auth.service != "sts" {
        return refuse("SignatureDoesNotMatch: the credential scope is not for sts");
    }
    let region = match host {
        "sts.amazonaws.com" => "us-east-1",
        regional => regional
            .trim_start_matches("sts.")
            .trim_end_matches(".amazonaws.com"),
    };
    if auth.region != region {
        return refuse(format!(
            "SignatureDoesNotMatch: the credential scope's region {} is not {region}",
            auth.region
        ));
    }
    let Some((secret, session_token, arn)) = aws_caller(auth.access_key_id) else {
        return refuse(
            "InvalidClientTokenId: the security token included in the request is invalid",
        );
    };
    let amz_date = header("x-amz-date").unwrap_or("");
    let Some(signed_at) = sigv4::parse_amz_date(amz_date) else {
        return refuse("IncompleteSignature: X-Amz-Date is malformed");
    };
    if !amz_date.starts_with(auth.date) {
        return refuse("SignatureDoesNotMatch: the credential scope's date is not X-Amz-Date's");
    }
    if (now - signed_at).abs() > STS_SKEW_SECS {
        return refuse(format!(
            "SignatureDoesNotMatch: Signature expired: {amz_date} is now earlier than {} (15 min skew)",
            amz_date_of(now - STS_SKEW_SECS)
        ));
    }
    // Temporary keys are valid only with their session token, signed.
    if let Some(token) = session_token {
        if header("x-amz-security-token") != Some(token)
            || !signed.contains(&"x-amz-security-token")
        {
            return refuse(
                "InvalidClientTokenId: the security token included in the request is invalid",
            );
        }
    }
    let expected = sigv4::signature(&auth, secret, amz_date, "POST", &headers, body.as_bytes())
        .or_else(|why| refuse(format!("SignatureDoesNotMatch: {why}")))?;
    if expected != auth.signature {
        return refuse(
            "SignatureDoesNotMatch: the request signature we calculated does not match the signature you provided",
        );
    }
    let account = arn.split(':').nth(4).unwrap_or_default().to_owned();
    if !bound_accounts.is_empty() && !bound_accounts.contains(&account) {
        return refuse(format!(
            "account {account} is not bound to this auth method"
        ));
    }
    if !bound_arns.is_empty() && !bound_arns.iter().any(|b| glob(b, &arn)) {
        return refuse(format!("{arn} is not bound to this auth method"));
    }
    Ok(json!({"arn": arn, "account": account})
        .as_object()
        .cloned()
        .unwrap_or_default())
}

fn amz_date_of(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map(|t| {
            format!(
                "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_default()
}

/// `azure_ad`: the base64 of an access token for the auth method's audience, issued for
/// its tenant, by a bound identity.
pub fn azure_ad(
    cloud_id: &str,
    tenant: &str,
    audience: &str,
    bound_object_ids: &[String],
) -> Result<Map<String, Value>, Failure> {
    let token = decode_text(cloud_id, "cloud-id")?;
    let own = [jwt::keys().0.jwk()];
    let issuer = azure_issuer(tenant);
    let audiences = [audience.to_owned()];
    let claims = jwt::verify(
        &token,
        &jwt::Bounds {
            jwks: &own,
            issuer: Some(&issuer),
            audiences: &audiences,
        },
    )
    .or_else(refuse)?;
    let oid = claims
        .get("oid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !bound_object_ids.is_empty() && !bound_object_ids.iter().any(|b| b == oid) {
        return refuse(format!("object id {oid} is not bound to this auth method"));
    }
    Ok(claims)
}

/// `gcp`: the base64 of a Google ID token whose audience is `gcp-audience`, which must be
/// the auth method's, for a bound service account.
pub fn gcp(
    cloud_id: &str,
    sent_audience: Option<&str>,
    audience: &str,
    bound_service_accounts: &[String],
) -> Result<Map<String, Value>, Failure> {
    if sent_audience != Some(audience) {
        return refuse(format!(
            "gcp-audience {} is not the auth method's audience",
            sent_audience.unwrap_or("(none)")
        ));
    }
    let token = decode_text(cloud_id, "cloud-id")?;
    let own = [jwt::keys().0.jwk()];
    let audiences = [audience.to_owned()];
    let claims = jwt::verify(
        &token,
        &jwt::Bounds {
            jwks: &own,
            issuer: Some(GOOGLE_ISSUER),
            audiences: &audiences,
        },
    )
    .or_else(refuse)?;
    let email = claims
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !bound_service_accounts.is_empty() && !bound_service_accounts.iter().any(|b| b == email) {
        return refuse(format!(
            "service account {email} is not bound to this auth method"
        ));
    }
    Ok(claims)
}
