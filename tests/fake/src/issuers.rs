//! The fake's certificate issuers, with keys of their own generated at every start: an
//! SSH CA (Ed25519) that signs OpenSSH user certificates for the public keys clients
//! send, and a PKI of a root and an intermediate CA that signs certificate requests.
//! Tests trust them the way servers do: `TrustedUserCAKeys` with [`Issuers::ssh_ca`],
//! `openssl verify -CAfile` with [`Issuers::root_pem`].

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use rustls_pki_types::CertificateSigningRequestDer;

/// What an SSH issuer is asked to sign.
#[derive(Debug)]
pub struct SshRequest<'a> {
    /// The OpenSSH public key line (`ssh-ed25519 AAAA… comment`).
    pub public_key: &'a str,
    pub principals: &'a [String],
    pub ttl: u64,
    pub key_id: &'a str,
    pub serial: u64,
    /// Name an RSA certificate `ssh-rsa-cert-v01@openssh.com` rather than by its
    /// SHA-2 signature algorithm, as the API's `legacy-signing-alg-name` asks.
    pub legacy_name: bool,
}

/// An issued TLS certificate: the leaf and the chain above it, PEM.
#[derive(Debug)]
pub struct Issued {
    pub leaf: String,
    pub parent: String,
    /// The names it holds, CN first.
    pub names: Vec<String>,
}

pub struct Issuers {
    ssh_ca: Ed25519KeyPair,
    root_pem: String,
    intermediate_pem: String,
    intermediate: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Issuers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Issuers")
    }
}

impl Default for Issuers {
    fn default() -> Self {
        Self::new()
    }
}

impl Issuers {
    pub fn new() -> Issuers {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("an SSH CA key");
        let ssh_ca = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("an SSH CA key");

        let ca = |name: &str, depth: u8| {
            let mut params = CertificateParams::new(Vec::<String>::new()).expect("no SANs");
            params.is_ca = IsCa::Ca(match depth {
                0 => BasicConstraints::Unconstrained,
                n => BasicConstraints::Constrained(n - 1),
            });
            params.distinguished_name.push(DnType::CommonName, name);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            params
        };
        let root_params = ca("fake-akeyless PKI root", 0);
        let root_key = KeyPair::generate().expect("a root key");
        let root_cert = root_params.self_signed(&root_key).expect("the root");
        let root = Issuer::new(root_params, root_key);
        let mut intermediate_params = ca("fake-akeyless PKI issuer", 1);
        intermediate_params.use_authority_key_identifier_extension = true;
        let intermediate_key = KeyPair::generate().expect("an intermediate key");
        let intermediate_cert = intermediate_params
            .signed_by(&intermediate_key, &root)
            .expect("the intermediate");
        Issuers {
            ssh_ca,
            root_pem: root_cert.pem(),
            intermediate_pem: intermediate_cert.pem(),
            intermediate: Issuer::new(intermediate_params, intermediate_key),
        }
    }

    /// The SSH CA's public key line, for `TrustedUserCAKeys`.
    pub fn ssh_ca(&self) -> String {
        format!(
            "ssh-ed25519 {} fake-akeyless-ssh-ca",
            STANDARD.encode(self.ssh_ca_blob())
        )
    }

    fn ssh_ca_blob(&self) -> Vec<u8> {
        let mut blob = Vec::new();
        string(&mut blob, b"ssh-ed25519");
        string(&mut blob, self.ssh_ca.public_key().as_ref());
        blob
    }

    /// The PKI's root, for `openssl verify -CAfile` and servers that check clients.
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    /// An OpenSSH user certificate for the public key (OpenSSH's PROTOCOL.certkeys),
    /// valid from a minute ago (clock skew) for `ttl` seconds: the line a `-cert.pub`
    /// file holds.
    pub fn sign_ssh(&self, request: &SshRequest<'_>) -> Result<String, String> {
        let mut parts = request.public_key.split_whitespace();
        let (Some(kind), Some(body)) = (parts.next(), parts.next()) else {
            return Err("public-key-data is not an OpenSSH public key line".into());
        };
        let blob = STANDARD
            .decode(body)
            .map_err(|_| "public-key-data: the key is not base64".to_owned())?;
        let (inner, key_fields) = read_string(&blob).ok_or("public-key-data: a truncated key")?;
        if inner != kind.as_bytes() {
            return Err("public-key-data: the key's type and its text differ".into());
        }
        let (cert_type, name) = match kind {
            "ssh-ed25519" => {
                let (key, rest) = read_string(key_fields).ok_or("a truncated key")?;
                if key.len() != 32 || !rest.is_empty() {
                    return Err("public-key-data: not an Ed25519 key".into());
                }
                (
                    "ssh-ed25519-cert-v01@openssh.com",
                    "ssh-ed25519-cert-v01@openssh.com",
                )
            }
            "ssh-rsa" => {
                let (_, rest) = read_string(key_fields).ok_or("a truncated key")?;
                let (n, rest) = read_string(rest).ok_or("a truncated key")?;
                if n.len() < 256 || !rest.is_empty() {
                    return Err("public-key-data: an RSA key below 2048 bits".into());
                }
                let name = match request.legacy_name {
                    true => "ssh-rsa-cert-v01@openssh.com",
                    false => "rsa-sha2-256-cert-v01@openssh.com",
                };
                ("ssh-rsa-cert-v01@openssh.com", name)
            }
            other => return Err(format!("public-key-data: unsupported key type {other}")),
        };
        let now = crate::jwt::now() as u64;
        let mut nonce = [0u8; 32];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| "no randomness")?;
        let mut cert = Vec::new();
        string(&mut cert, cert_type.as_bytes());
        string(&mut cert, &nonce);
        cert.extend_from_slice(key_fields);
        cert.extend_from_slice(&request.serial.to_be_bytes());
        cert.extend_from_slice(&1u32.to_be_bytes()); // a user certificate
        string(&mut cert, request.key_id.as_bytes());
        let mut principals = Vec::new();
        for p in request.principals {
            string(&mut principals, p.as_bytes());
        }
        string(&mut cert, &principals);
        cert.extend_from_slice(&(now - 60).to_be_bytes());
        cert.extend_from_slice(&(now + request.ttl).to_be_bytes());
        string(&mut cert, b""); // no critical options
        // What `ssh-keygen -s` grants by default, in its order (sorted by name).
        let mut extensions = Vec::new();
        for name in [
            "permit-X11-forwarding",
            "permit-agent-forwarding",
            "permit-port-forwarding",
            "permit-pty",
            "permit-user-rc",
        ] {
            string(&mut extensions, name.as_bytes());
            string(&mut extensions, b"");
        }
        string(&mut cert, &extensions);
        string(&mut cert, b""); // reserved
        string(&mut cert, &self.ssh_ca_blob());
        let signature = self.ssh_ca.sign(&cert);
        let mut sig = Vec::new();
        string(&mut sig, b"ssh-ed25519");
        string(&mut sig, signature.as_ref());
        string(&mut cert, &sig);
        Ok(format!("{name} {}", STANDARD.encode(cert)))
    }

    /// Signs a certificate request (base64 of its PEM or DER, as `csr-data-base64`
    /// carries it) for `ttl` seconds, once its signature checks out; `allowed` says
    /// which names may be in it.
    pub fn sign_csr(
        &self,
        csr_base64: &str,
        ttl: u64,
        allowed: impl Fn(&str) -> bool,
    ) -> Result<Issued, String> {
        let bytes = STANDARD
            .decode(csr_base64.trim())
            .map_err(|_| "csr-data-base64 is not base64".to_owned())?;
        let der = match std::str::from_utf8(&bytes) {
            Ok(text) if text.trim_start().starts_with("-----BEGIN") => {
                let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
                STANDARD
                    .decode(body.trim())
                    .map_err(|_| "the CSR's PEM is not base64".to_owned())?
            }
            _ => bytes,
        };
        let mut csr = CertificateSigningRequestParams::from_der(
            &CertificateSigningRequestDer::from(der.as_slice()),
        )
        .map_err(|e| format!("invalid CSR: {e}"))?;
        let cn = csr
            .params
            .distinguished_name
            .get(&DnType::CommonName)
            .map(dn_text)
            .ok_or("the CSR has no common name")?;
        let mut names = vec![cn];
        for san in &csr.params.subject_alt_names {
            let name = match san {
                rcgen::SanType::DnsName(n) => n.to_string(),
                rcgen::SanType::IpAddress(ip) => ip.to_string(),
                other => return Err(format!("unsupported subject alternative name {other:?}")),
            };
            if !names.contains(&name) {
                names.push(name);
            }
        }
        check_names(&names, &allowed)?;
        prepare(&mut csr.params, ttl)?;
        let cert = csr
            .signed_by(&self.intermediate)
            .map_err(|e| format!("signing failed: {e}"))?;
        Ok(Issued {
            leaf: cert.pem(),
            parent: self.intermediate_pem.clone(),
            names,
        })
    }

    /// Signs a public key (PEM, SubjectPublicKeyInfo) for the common name and the
    /// alternative names, as `key-data-base64` with `common-name` and `alt-names` asks.
    pub fn sign_public_key(
        &self,
        public_pem: &str,
        common_name: &str,
        alt_names: &[String],
        ttl: u64,
        allowed: impl Fn(&str) -> bool,
    ) -> Result<Issued, String> {
        let key = rcgen::SubjectPublicKeyInfo::from_pem(public_pem)
            .map_err(|e| format!("key-data-base64 is not a public key: {e}"))?;
        let mut names = vec![common_name.to_owned()];
        for name in alt_names {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        check_names(&names, &allowed)?;
        let mut params = CertificateParams::new(names[1..].to_vec())
            .map_err(|e| format!("invalid alt-names: {e}"))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        prepare(&mut params, ttl)?;
        let cert = params
            .signed_by(&key, &self.intermediate)
            .map_err(|e| format!("signing failed: {e}"))?;
        Ok(Issued {
            leaf: cert.pem(),
            parent: self.intermediate_pem.clone(),
            names,
        })
    }
}

fn check_names(names: &[String], allowed: &impl Fn(&str) -> bool) -> Result<(), String> {
    match names.iter().find(|n| !allowed(n)) {
        Some(name) => Err(format!(
            "common name or SAN {name} not allowed by the issuer"
        )),
        None => Ok(()),
    }
}

/// A leaf's validity (from a minute ago, for clock skew), usages and serial.
fn prepare(params: &mut CertificateParams, ttl: u64) -> Result<(), String> {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::seconds(60);
    params.not_after = now + time::Duration::seconds(ttl as i64);
    params.is_ca = IsCa::NoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.use_authority_key_identifier_extension = true;
    let mut serial = [0u8; 16];
    SystemRandom::new()
        .fill(&mut serial)
        .map_err(|_| "no randomness")?;
    serial[0] &= 0x7f;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    Ok(())
}

fn dn_text(value: &rcgen::DnValue) -> String {
    match value {
        rcgen::DnValue::Utf8String(s) => s.clone(),
        rcgen::DnValue::PrintableString(s) => s.to_string(),
        rcgen::DnValue::Ia5String(s) => s.to_string(),
        other => format!("{other:?}"),
    }
}

fn string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// An SSH `string` at the start of `bytes`, and what follows it.
fn read_string(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let end = 4usize.checked_add(len)?;
    Some((bytes.get(4..end)?, &bytes[end..]))
}
