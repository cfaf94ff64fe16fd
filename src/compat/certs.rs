//! `akeyless get-ssh-certificate` and `get-pki-certificate`: an issuer signs a key the
//! job already has. Only public material travels: the OpenSSH public key, a CSR, or the
//! public half of a key file (a private key given to `--key-file-path` is read here and
//! reduced to its public key, and masked from then on; the API would store it).
//! Certificates are not secret: they are printed or written as they come.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::json;

use crate::client::{ApiError, PkiCertOptions, SshCertOptions};
use crate::error::{self, Error, Result};
use crate::files;
use crate::keys::{self, KeyFile};
use crate::resolve::reference::CertRequest;
use crate::resolve::{self, Options, Reason};
use crate::secret::Secret;
use crate::settings::Env;

use super::cli::{PkiCertArgs, SshCertArgs};
use super::{call, login, output, print_public};

/// Key files and requests are small; anything larger is not one.
const MAX_KEY_FILE: u64 = 1 << 20;

/// `get-ssh-certificate`: signs the public key for the users and writes the certificate
/// to `-o`, or beside the public key (`<public key path>-cert.pub`, as the Akeyless CLI
/// does).
pub async fn ssh(env: &mut Env, args: SshCertArgs) -> Result<ExitCode> {
    const FLAG: &str = "--public-key-file-path";
    let path = &args.public_key_file_path;
    let text = read(path, FLAG)?;
    let text = String::from_utf8_lossy(&text);
    if text.contains("PRIVATE KEY") {
        return Err(Error::usage(format!(
            "{FLAG} {} holds a private key, which akl never sends",
            path.display()
        ))
        .hint(format!(
            "give its public key: ssh-keygen -y -f {0} > {0}.pub, then {FLAG} {0}.pub",
            path.display()
        )));
    }
    let public_key = text.trim();
    let kind = public_key.split_whitespace().next().unwrap_or_default();
    if !(kind.starts_with("ssh-") || kind.starts_with("ecdsa-") || kind.starts_with("sk-")) {
        return Err(Error::usage(format!(
            "{FLAG} {} is not an OpenSSH public key (ssh-ed25519 AAAA…)",
            path.display()
        ))
        .hint("give the .pub file ssh-keygen wrote beside the private key"));
    }
    let legacy = args.legacy_signing_alg_name.unwrap_or(false);
    let issuer = &args.cert_issuer_name;
    let mut session = login(env, &args.access).await?;
    let options = SshCertOptions {
        users: &args.cert_username,
        public_key,
        ttl: args.ttl,
        legacy_signing_alg_name: legacy,
    };
    let answer = call(&mut session, async |api, token| {
        api.get_ssh_certificate(token, issuer, options).await
    })
    .await;
    let certificate = match answer {
        Ok(certificate) => certificate,
        Err(e) => {
            let request = CertRequest::Ssh {
                users: args.cert_username.split(',').map(str::to_owned).collect(),
                ttl: args.ttl,
                legacy_rsa: legacy,
            };
            return Err(refused(&session, "get-ssh-certificate", issuer, &request, e).await);
        }
    };
    let out = args.outfile.clone().unwrap_or_else(|| {
        let mut name = path.clone().into_os_string();
        name.push("-cert.pub");
        PathBuf::from(name)
    });
    write_public(&out, &format!("{}\n", certificate.trim()))?;
    let value = json!({ "data": certificate.trim(), "path": out.display().to_string() });
    let shown = &args.access.output;
    match shown.json || shown.jq_expression.is_some() {
        true => print_public(&output(value, shown)?),
        false => {
            error::note(format!("the certificate is in {}", out.display()));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `get-pki-certificate`: signs the CSR (the names come from it) or the public half of
/// the key file (with `--common-name` and `--alt-names`); prints the certificate and
/// the issuer's chain, or writes them to `--outfile`.
pub async fn pki(env: &mut Env, args: PkiCertArgs) -> Result<ExitCode> {
    let csr = match &args.csr_file_path {
        Some(path) => {
            let csr = read(path, "--csr-file-path")?;
            if String::from_utf8_lossy(&csr).contains("PRIVATE KEY") {
                return Err(Error::usage(format!(
                    "--csr-file-path {} holds a private key, which akl never sends",
                    path.display()
                ))
                .hint("give the certificate request (BEGIN CERTIFICATE REQUEST), or the key with --key-file-path"));
            }
            Some(csr)
        }
        None => None,
    };
    let public_key = match &args.key_file_path {
        Some(path) => Some(public_key(env, path)?),
        None => None,
    };
    if public_key.is_some() && args.common_name.is_none() {
        return Err(Error::usage(
            "--key-file-path needs --common-name: a bare key names nothing to certify",
        )
        .hint("add --common-name NAME (and --alt-names a,b), or give a CSR with --csr-file-path"));
    }
    let issuer = &args.cert_issuer_name;
    let mut session = login(env, &args.access).await?;
    let options = PkiCertOptions {
        csr: csr.as_deref(),
        public_key: public_key.as_deref().map(str::as_bytes),
        common_name: args.common_name.as_deref(),
        alt_names: args.alt_names.as_deref(),
        ttl: args.ttl,
    };
    let answer = call(&mut session, async |api, token| {
        api.get_pki_certificate(token, issuer, &options).await
    })
    .await;
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => {
            let request = CertRequest::Pki {
                // Unknown when the names are in a CSR: then only the TTL is checked.
                common_name: args.common_name.clone().unwrap_or_default(),
                alt_names: (args.alt_names.as_deref().unwrap_or_default().split(','))
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
                    .collect(),
                ttl: args.ttl,
            };
            return Err(refused(&session, "get-pki-certificate", issuer, &request, e).await);
        }
    };
    let mut chain = format!("{}\n", answer.data.trim());
    if let Some(parent) = answer
        .parent_cert
        .as_deref()
        .filter(|p| !p.trim().is_empty())
    {
        chain.push_str(&format!("{}\n", parent.trim()));
    }
    if let Some(out) = &args.outfile {
        write_public(out, &chain)?;
    }
    let shown = &args.access.output;
    if shown.json || shown.jq_expression.is_some() {
        let value = json!({
            "data": answer.data,
            "parent_cert": answer.parent_cert,
            "path": args.outfile.as_ref().map(|p| p.display().to_string()),
        });
        return print_public(&output(value, shown)?);
    }
    match &args.outfile {
        Some(out) => {
            error::note(format!(
                "the certificate and its chain are in {}",
                out.display()
            ));
            Ok(ExitCode::SUCCESS)
        }
        None => print_public(chain.trim_end()),
    }
}

/// The public key of `--key-file-path`, as PEM. A private key in the file is a secret
/// akl has now read: the masker learns it before anything else happens.
fn public_key(env: &Env, path: &Path) -> Result<String> {
    let text = read(path, "--key-file-path")?;
    let text = Secret::new(String::from_utf8_lossy(&text));
    match keys::public_pem(text.expose()) {
        Ok(KeyFile::Public(pem)) => Ok(pem),
        Ok(KeyFile::FromPrivate(pem)) => {
            crate::cmd::register(env, [&text])?;
            Ok(pem)
        }
        Err(why) => {
            crate::cmd::register(env, [&text])?;
            Err(Error::usage(format!(
                "--key-file-path {}: {why}",
                path.display()
            )))
        }
    }
}

/// A refused certificate, explained from the issuer's limits with the flag to change.
async fn refused(
    session: &crate::auth::Session,
    command: &str,
    issuer: &str,
    request: &CertRequest,
    e: ApiError,
) -> Error {
    if !e.is_refusal() || matches!(e, ApiError::Status { status: 401, .. }) {
        return super::failed(command, issuer, e);
    }
    let reason = resolve::explain_refusal(session.api(), session.token(), issuer, request, e).await;
    let text = match &reason {
        Reason::Issuer(refusal) => refusal.explained(Options::CLI),
        Reason::NotAnIssuer { wanted, found } => format!(
            "the item is a {found}, not {}: give --cert-issuer-name the path of one",
            wanted.described()
        ),
        other => other.to_string(),
    };
    Error::new(reason.kind(), format!("{command} {issuer}: {text}"))
}

fn read(path: &Path, flag: &str) -> Result<Vec<u8>> {
    files::read_regular(path, MAX_KEY_FILE).map_err(|e| {
        Error::usage(format!("{flag} {}: {e}", path.display()))
            .hint(format!("give {flag} the path of a readable file"))
    })
}

/// Writes a certificate (public: mode 0644, as ssh-keygen writes one), replacing the file.
fn write_public(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let failed = |e: std::io::Error| {
        Error::other(format!(
            "cannot write the certificate to {}: {e}",
            path.display()
        ))
        .hint("give a writable path with -o/--outfile")
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(path)
        .map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)
}
