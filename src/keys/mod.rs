//! Key pairs made in the job for the certificates Akeyless issuers sign, in the formats
//! the tools that use them read. Only the public half ever leaves: an SSH public key line,
//! or a certificate request signed by the key. Pure: no I/O besides the system's
//! randomness, and `ssh-keygen` for the RSA keys ring cannot make (`rsa.rs`).
//!
//! - SSH: Ed25519, the private key as OpenSSH writes it (`ssh.rs`, by the `ssh-key`
//!   crate), so `ssh -i` takes it unchanged; RSA for old servers, by OpenSSH itself.
//! - TLS: P-256, the private key as PKCS#8 PEM, and a PKCS#10 request (`csr.rs`, DER
//!   from `der.rs`).
//! - A key file the user gives (`public.rs`): its public half, for an issuer.

mod csr;
mod der;
mod public;
mod rsa;
mod ssh;

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair};

use crate::secret::Secret;

pub use public::{KeyFile, public_pem};

/// Why no key could be made (the system's randomness failed): no secret in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyError(pub &'static str);

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for KeyError {}

/// What the comment of the keys `akl` makes says, so a key found later tells its origin.
pub const COMMENT: &str = "akl";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SshAlgorithm {
    Ed25519,
    /// 3072-bit RSA, for servers that take no Ed25519 certificate: made by `ssh-keygen`.
    Rsa,
}

/// An SSH key pair: the public key line (`ssh-ed25519 AAAA… akl`) and the private key file.
#[derive(Debug)]
pub struct SshKey {
    pub public: String,
    pub private: Secret,
}

pub fn ssh_key(algorithm: SshAlgorithm) -> Result<SshKey, KeyError> {
    if algorithm == SshAlgorithm::Rsa {
        return rsa::generate();
    }
    let mut seed = [0u8; 32];
    random(&SystemRandom::new(), &mut seed)?;
    let pair = Ed25519KeyPair::from_seed_unchecked(&seed)
        .map_err(|_| KeyError("generating an Ed25519 key failed"))?;
    let public =
        pair.public_key().as_ref().try_into().map_err(|_| {
            KeyError("generating an Ed25519 key failed: a public key of another size")
        })?;
    let (public, private) = ssh::Ed25519 { public, seed }.files(COMMENT)?;
    Ok(SshKey {
        public,
        private: Secret::new(private),
    })
}

/// A TLS key pair's request: the PKCS#10 request (DER) and the private key (PKCS#8 PEM).
#[derive(Debug)]
pub struct TlsKey {
    pub request: Vec<u8>,
    pub private: Secret,
}

/// A P-256 key and a request for a certificate naming `common_name` and `names`.
pub fn tls_key(common_name: &str, names: &[String]) -> Result<TlsKey, KeyError> {
    let rng = SystemRandom::new();
    let (pair, pkcs8) = csr::generate(&rng)?;
    Ok(TlsKey {
        request: csr::request(&pair, common_name, names, &rng)?,
        private: Secret::new(pem("PRIVATE KEY", &pkcs8)),
    })
}

/// DER in PEM armour: base64 in lines of 64 between BEGIN and END lines.
pub fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}

/// The PEM blocks of a text: each label, and its body decoded (`None` where it is not
/// base64). Lines with a `:` are RFC 1421 headers (old-style encrypted PEM), not body.
pub fn pem_blocks(text: &str) -> Vec<(&str, Option<Vec<u8>>)> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(label) = line
            .trim()
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let body: String = lines
            .by_ref()
            .take_while(|l| l.trim() != end)
            .filter(|l| !l.contains(':'))
            .flat_map(|l| l.split_whitespace())
            .collect();
        blocks.push((label, STANDARD.decode(body).ok()));
    }
    blocks
}

/// Wraps a SEC1 `ECPrivateKey` (what `openssl ecparam -genkey` writes) into the PKCS#8
/// structure ring reads: `SEQUENCE { 0, AlgorithmIdentifier { ecPublicKey, P-256 },
/// OCTET STRING { the SEC1 key } }`. Keys on other curves are not wrapped.
pub fn sec1_to_pkcs8(sec1: &[u8]) -> Option<Vec<u8>> {
    let p256 = der::oid(der::oids::P256);
    if !sec1.windows(p256.len()).any(|w| w == p256) {
        return None;
    }
    let algorithm = der::sequence(&[&der::oid(der::oids::EC_PUBLIC_KEY), &p256]);
    Some(der::sequence(&[
        &der::small_uint(0),
        &algorithm,
        &der::octet_string(sec1),
    ]))
}

fn random(rng: &SystemRandom, out: &mut [u8]) -> Result<(), KeyError> {
    rng.fill(out)
        .map_err(|_| KeyError("the system's random number generator failed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_keys_are_new_each_time_and_shaped_as_openssh_writes_them() {
        let a = ssh_key(SshAlgorithm::Ed25519).unwrap();
        let b = ssh_key(SshAlgorithm::Ed25519).unwrap();
        assert_ne!(a.public, b.public);
        assert!(
            a.public
                .starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI")
        );
        assert!(a.public.ends_with(" akl"));
        assert!(
            a.private
                .expose()
                .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n")
        );
        assert_eq!(format!("{:?}", a.private), "Secret(redacted)");
    }

    #[test]
    fn tls_keys_are_pkcs8_pem_with_a_request() {
        let key = tls_key("app.example.com", &["app.example.com".into()]).unwrap();
        let pem = key.private.expose();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert_eq!(key.request[0], 0x30);
    }

    #[test]
    fn pem_blocks_are_read_with_their_labels() {
        let pem = "junk\n-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n\
                   -----BEGIN X-----\nnot base64!\n-----END X-----\n";
        assert_eq!(
            pem_blocks(pem),
            [("CERTIFICATE", Some(vec![0, 1, 2, 3])), ("X", None)]
        );
    }

    #[test]
    fn pem_lines_are_64_wide() {
        let text = pem("X", &[0u8; 100]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "-----BEGIN X-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines.last(), Some(&"-----END X-----"));
    }
}
