//! Certificates issued for the job: a key pair made here (`crate::keys`), only its
//! public half sent to the issuer (`get-ssh-certificate` with the public key,
//! `get-pki-certificate` with a CSR), and the two files that come of it. A refusal is
//! explained from the issuer's limits (`describe-item`): a wrong type, a user or name it
//! does not allow, a TTL above its longest, each with what to change.

use crate::client::{Api, ApiError, IssuerLimits, ItemInfo, PkiCertOptions, SshCertOptions, Token};
use crate::keys::{self, SshAlgorithm};
use crate::secret::Blob;

use super::fetch::{FetchResult, ItemKey};
use super::reason::{IssuerRefusal, Reason, classify};
use super::reference::{CertRequest, Reference};
use super::shape::{Fetched, KeyFiles, SSH_CERT_SUFFIX, TLS_KEY_SUFFIX};
use super::{ItemType, describe_info};

/// The kind of issuer a request asks.
fn issuer_of(request: &CertRequest) -> ItemType {
    match request {
        CertRequest::Ssh { .. } => ItemType::SshIssuer,
        CertRequest::Pki { .. } => ItemType::PkiIssuer,
    }
}

/// Whether a reference can be resolved from an item of type `t`: a certificate request
/// needs an issuer of its kind, anything else a secret.
fn fits(request: Option<&CertRequest>, t: ItemType) -> Result<(), Reason> {
    match (request, t) {
        (None, ItemType::SshIssuer | ItemType::PkiIssuer) => Err(Reason::IssuerNeedsRequest(t)),
        (None, _) => Ok(()),
        (Some(request), t) if issuer_of(request) == t => Ok(()),
        (Some(request), t) => Err(Reason::NotAnIssuer {
            wanted: issuer_of(request),
            found: t.api_name().to_owned(),
        }),
    }
}

/// Makes a key pair, has the issuer sign it, and returns the files. Called once per
/// distinct request: two variables asking the same get the same key and certificate.
pub async fn issue(api: &Api, token: &Token, key: &ItemKey) -> FetchResult {
    let Some(request) = key.cert.as_deref() else {
        return Err(Reason::Certificate("no certificate was asked for".into()));
    };
    let issued = match request {
        CertRequest::Ssh {
            users,
            ttl,
            legacy_rsa,
        } => {
            let pair = match legacy_rsa {
                // ssh-keygen takes up to seconds: waited for on a thread of its own, so
                // the requests already under way go on meanwhile.
                true => tokio::task::spawn_blocking(|| keys::ssh_key(SshAlgorithm::Rsa))
                    .await
                    .map_err(|_| Reason::Certificate("generating an RSA key failed".into()))?,
                false => keys::ssh_key(SshAlgorithm::Ed25519),
            }
            .map_err(|e| Reason::Certificate(e.to_string()))?;
            let options = SshCertOptions {
                users: &users.join(","),
                public_key: &pair.public,
                ttl: *ttl,
                legacy_signing_alg_name: *legacy_rsa,
            };
            api.get_ssh_certificate(token, &key.name, options)
                .await
                .map(|cert| ssh_files(&pair.private, &cert))
        }
        CertRequest::Pki {
            common_name,
            alt_names,
            ttl,
        } => {
            let pair = keys::tls_key(common_name, &san_names(common_name, alt_names))
                .map_err(|e| Reason::Certificate(e.to_string()))?;
            let csr = keys::pem("CERTIFICATE REQUEST", &pair.request);
            let options = PkiCertOptions {
                csr: Some(csr.as_bytes()),
                ttl: *ttl,
                ..PkiCertOptions::default()
            };
            api.get_pki_certificate(token, &key.name, &options)
                .await
                .map(|answer| tls_files(&pair.private, &answer.data, answer.parent_cert))
        }
    };
    match issued {
        Ok(files) => Ok((issuer_of(request), Fetched::Issued(Box::new(files?)))),
        Err(ApiError::Status {
            status: 401,
            message,
        }) => Err(Reason::Unauthorized(message)),
        Err(e) if e.is_refusal() => Err(explain(api, token, &key.name, request, e).await),
        Err(e) => Err(classify(e, None, None)),
    }
}

/// The names a TLS certificate is for: the common name first when it is a host name or
/// an address (clients match names only there now), then the alternative names.
fn san_names(common_name: &str, alt_names: &[String]) -> Vec<String> {
    let host = common_name.parse::<std::net::IpAddr>().is_ok()
        || (common_name.contains('.') || common_name == "localhost")
            && common_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.*".contains(&b));
    let mut names: Vec<String> = Vec::with_capacity(alt_names.len() + 1);
    if host {
        names.push(common_name.to_owned());
    }
    for name in alt_names {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}

/// SSH: `X` is the private key, `$X-cert.pub` the certificate line.
fn ssh_files(private: &crate::secret::Secret, cert: &str) -> Result<KeyFiles, Reason> {
    let cert = cert.trim();
    if !cert.contains("-cert-v01@openssh.com ") {
        return Err(Reason::Certificate(
            "the issuer's answer is not an OpenSSH certificate".into(),
        ));
    }
    Ok(KeyFiles {
        main: Blob::new(private.expose().as_bytes()),
        beside: Blob::new(format!("{cert}\n")),
        suffix: SSH_CERT_SUFFIX,
        key_is_main: true,
    })
}

/// TLS: `X` is the certificate followed by the issuer's chain, `$X.key` the private key.
fn tls_files(
    private: &crate::secret::Secret,
    data: &str,
    parent: Option<String>,
) -> Result<KeyFiles, Reason> {
    let mut chain = pem_text(data).ok_or_else(|| {
        Reason::Certificate("the issuer's answer is not a PEM certificate".into())
    })?;
    if let Some(parent) = parent.as_deref().filter(|p| !p.trim().is_empty()) {
        chain.push_str(&pem_text(parent).ok_or_else(|| {
            Reason::Certificate("the issuer's chain (parent_cert) is not PEM".into())
        })?);
    }
    Ok(KeyFiles {
        main: Blob::new(chain),
        beside: Blob::new(private.expose().as_bytes()),
        suffix: TLS_KEY_SUFFIX,
        key_is_main: false,
    })
}

/// PEM text ending with a newline; base64 DER without armour is given its armour.
fn pem_text(text: &str) -> Option<String> {
    use base64::Engine;
    let text = text.trim();
    if text.starts_with("-----BEGIN ") && text.ends_with("-----") {
        return Some(format!("{text}\n"));
    }
    let compact: String = text.split_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()?;
    (der.first() == Some(&0x30)).then(|| keys::pem("CERTIFICATE", &der))
}

/// Why an issuer refused: the item's type, then its limits against the request; the
/// gateway's own words when neither explains it. The `akeyless` emulation asks this too.
pub async fn explain(
    api: &Api,
    token: &Token,
    item: &str,
    request: &CertRequest,
    e: ApiError,
) -> Reason {
    let wanted = issuer_of(request);
    match describe_info(api, token, item).await {
        Ok((t, _)) if t != wanted => fits(Some(request), t).unwrap_err(),
        Ok((_, info)) => match info.certificate_issue_details.as_ref() {
            Some(limits) => refusal(request, limits).map_or_else(
                || classify(e, None, None),
                |refusal| Reason::Issuer(Box::new(refusal)),
            ),
            None => classify(e, None, None),
        },
        Err(Reason::WrongType(found)) => Reason::NotAnIssuer { wanted, found },
        Err(reason) => reason,
    }
}

/// What of the request the issuer's limits do not allow, if anything: the TTL first
/// (one number to change), then the users or names.
pub fn refusal(request: &CertRequest, limits: &IssuerLimits) -> Option<IssuerRefusal> {
    if let (Some(ttl), Some(max)) = (request.ttl(), limits.max_ttl) {
        if max > 0 && i64::from(ttl) > max {
            return Some(IssuerRefusal::Ttl { ttl, max });
        }
    }
    match request {
        CertRequest::Ssh { users, .. } => {
            let allowed = limits
                .ssh_cert_issuer_details
                .as_ref()?
                .allowed_users
                .clone()?;
            if allowed.is_empty() || allowed.iter().any(|a| a == "*") {
                return None;
            }
            let refused: Vec<String> = users
                .iter()
                .filter(|u| !allowed.iter().any(|a| glob(a, u)))
                .cloned()
                .collect();
            (!refused.is_empty()).then_some(IssuerRefusal::Users { refused, allowed })
        }
        CertRequest::Pki {
            common_name,
            alt_names,
            ..
        } => {
            let pki = limits.pki_cert_issuer_details.as_ref()?;
            if pki.allow_any_name == Some(true) {
                return None;
            }
            let allowed = pki.allowed_domains_list.clone()?;
            if allowed.is_empty() {
                return None;
            }
            let subdomains = pki.allow_subdomains == Some(true);
            let permitted = |name: &str| {
                name.parse::<std::net::IpAddr>().is_ok()
                    || allowed.iter().any(|domain| {
                        glob(domain, name) || (subdomains && name.ends_with(&format!(".{domain}")))
                    })
            };
            // An empty common name is one not known here (in a CSR the user gave).
            let refused: Vec<String> = std::iter::once(common_name)
                .chain(alt_names)
                .filter(|n| !n.is_empty() && !permitted(n))
                .cloned()
                .collect();
            (!refused.is_empty()).then_some(IssuerRefusal::Names {
                refused,
                allowed,
                subdomains,
            })
        }
    }
}

/// Whether `text` matches an issuer's allowed entry, where `*` stands for any run of
/// characters (issuers allow users such as `session_*`).
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// What keeps a reference from being resolved from an item, as `describe-item` shows it
/// (`akl doctor` asks this without fetching or issuing anything): a type that does not
/// fit, or a certificate request the issuer's limits do not allow.
pub fn unfit(reference: &Reference, t: ItemType, info: &ItemInfo) -> Option<Reason> {
    let request = reference.cert.as_deref();
    if let Err(reason) = fits(request, t) {
        return Some(reason);
    }
    let limits = info.certificate_issue_details.as_ref()?;
    refusal(request?, limits).map(|r| Reason::Issuer(Box::new(r)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn limits(value: Value) -> IssuerLimits {
        serde_json::from_value(value).unwrap()
    }

    fn ssh(users: &[&str], ttl: Option<u32>) -> CertRequest {
        CertRequest::Ssh {
            users: users.iter().map(|u| u.to_string()).collect(),
            ttl,
            legacy_rsa: false,
        }
    }

    fn pki(cn: &str, alt: &[&str], ttl: Option<u32>) -> CertRequest {
        CertRequest::Pki {
            common_name: cn.into(),
            alt_names: alt.iter().map(|u| u.to_string()).collect(),
            ttl,
        }
    }

    #[test]
    fn refusals_from_the_issuers_limits() {
        let ssh_limits = limits(
            json!({"max_ttl": 3600, "ssh_cert_issuer_details": {"allowed_users": ["deploy", "ci"]}}),
        );
        assert_eq!(refusal(&ssh(&["deploy"], Some(600)), &ssh_limits), None);
        assert_eq!(
            refusal(&ssh(&["deploy", "root"], None), &ssh_limits),
            Some(IssuerRefusal::Users {
                refused: vec!["root".into()],
                allowed: vec!["deploy".into(), "ci".into()]
            })
        );
        assert_eq!(
            refusal(&ssh(&["root"], Some(7200)), &ssh_limits),
            Some(IssuerRefusal::Ttl {
                ttl: 7200,
                max: 3600
            }),
            "the TTL first"
        );
        let anyone = limits(json!({"ssh_cert_issuer_details": {"allowed_users": ["*"]}}));
        assert_eq!(refusal(&ssh(&["root"], Some(99999)), &anyone), None);

        let pki_limits = limits(json!({"max_ttl": 86400, "pki_cert_issuer_details": {
            "allowed_domains_list": ["example.com"], "allow_subdomains": true}}));
        assert_eq!(
            refusal(
                &pki("app.example.com", &["example.com", "10.0.0.1"], None),
                &pki_limits
            ),
            None
        );
        assert_eq!(
            refusal(
                &pki("app.example.com", &["evil.com", "notexample.com"], None),
                &pki_limits
            ),
            Some(IssuerRefusal::Names {
                refused: vec!["evil.com".into(), "notexample.com".into()],
                allowed: vec!["example.com".into()],
                subdomains: true
            })
        );
        let any = limits(
            json!({"pki_cert_issuer_details": {"allowed_domains_list": ["x"], "allow_any_name": true}}),
        );
        assert_eq!(refusal(&pki("evil.com", &[], None), &any), None);
        assert_eq!(
            refusal(&pki("evil.com", &[], None), &IssuerLimits::default()),
            None,
            "unknown limits explain nothing"
        );
    }

    #[test]
    fn allowed_entries_are_globs() {
        assert!(glob("deploy", "deploy") && !glob("deploy", "deployer"));
        assert!(glob("session_*", "session_42") && glob("session_*", "session_"));
        assert!(!glob("session_*", "root"));
        assert!(glob("*", "anyone") && glob("a*b*c", "a-b-c") && !glob("a*b*c", "a-c-b"));
        assert!(glob("*.example.com", "app.example.com") && !glob("*.example.com", "example.com"));
        let limits = limits(json!({"ssh_cert_issuer_details": {"allowed_users": ["session_*"]}}));
        assert_eq!(refusal(&ssh(&["session_7"], None), &limits), None);
    }

    #[test]
    fn references_fit_their_items() {
        assert_eq!(fits(None, ItemType::Static), Ok(()));
        assert_eq!(fits(Some(&ssh(&["u"], None)), ItemType::SshIssuer), Ok(()));
        assert_eq!(
            fits(None, ItemType::PkiIssuer),
            Err(Reason::IssuerNeedsRequest(ItemType::PkiIssuer))
        );
        let wrong = fits(Some(&ssh(&["u"], None)), ItemType::Static).unwrap_err();
        assert_eq!(
            wrong.to_string(),
            "wrong type: the item is a STATIC_SECRET, not an SSH certificate issuer: ssh_user= asks an item of type SSH_CERT_ISSUER for a certificate; point the reference at one, or remove ssh_user="
        );
    }

    #[test]
    fn names_in_the_request_and_files() {
        assert_eq!(
            san_names(
                "app.example.com",
                &["a.example.com".into(), "app.example.com".into()]
            ),
            ["app.example.com", "a.example.com"]
        );
        assert_eq!(
            san_names("deploy bot", &["a.example".into()]),
            ["a.example"]
        );
        assert_eq!(san_names("10.0.0.1", &[]), ["10.0.0.1"]);

        let key = crate::secret::Secret::new("-----BEGIN OPENSSH PRIVATE KEY-----\nx\n");
        let files = ssh_files(&key, "ssh-ed25519-cert-v01@openssh.com AAAA akl").unwrap();
        assert_eq!(files.key().expose(), key.expose().as_bytes());
        assert_eq!(
            files.beside.expose(),
            b"ssh-ed25519-cert-v01@openssh.com AAAA akl\n"
        );
        assert!(ssh_files(&key, "<html>").is_err());

        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
        let files = tls_files(&key, cert, Some(format!("{cert}\n"))).unwrap();
        assert_eq!(files.main.expose(), format!("{cert}\n{cert}\n").as_bytes());
        assert_eq!(files.key().expose(), key.expose().as_bytes());
        assert!(tls_files(&key, "not a certificate", None).is_err());
        // Bare base64 DER gets its armour.
        let bare = tls_files(&key, "MAMCAQA=", Some(String::new())).unwrap();
        assert!(
            bare.main
                .expose()
                .starts_with(b"-----BEGIN CERTIFICATE-----\nMAMCAQA=\n")
        );
    }
}
