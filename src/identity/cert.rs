//! `cert`: the gateway sends a challenge for the certificate, and the private key signs it
//! here; only the certificate and the signature travel. RSA keys sign with PKCS#1 v1.5
//! and SHA-256, P-256 keys with ECDSA over SHA-256 in ASN.1, as Akeyless's own client
//! does. Keys in PKCS#8, PKCS#1 (RSA) or SEC1 (EC) PEM.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, RsaKeyPair};

use crate::client::Api;
use crate::error::{Error, Kind, Result};
use crate::files;
use crate::keys;
use crate::secret::Secret;
use crate::settings::vars::{AKEYLESS_CERT_FILE, AKEYLESS_KEY_FILE};

/// What `/auth` gets for `cert`.
#[derive(Debug)]
pub struct Answer {
    /// Base64 of the certificate's PEM file (not secret).
    pub cert_data: String,
    /// The challenge as the gateway sent it.
    pub challenge: Secret,
    /// Base64 of the signature over the decoded challenge.
    pub signature: Secret,
}

pub async fn answer(
    api: &Api,
    access_id: &str,
    cert_file: &Path,
    key_file: &Path,
) -> Result<Answer> {
    let cert_pem = files::read_regular(cert_file, 1 << 20).map_err(|e| {
        Error::usage(format!(
            "cannot read {AKEYLESS_CERT_FILE}={}: {e}",
            cert_file.display()
        ))
        .hint(format!(
            "point {AKEYLESS_CERT_FILE} at the client certificate (PEM)"
        ))
    })?;
    if keys::pem_blocks(&String::from_utf8_lossy(&cert_pem))
        .iter()
        .all(|(label, der)| *label != "CERTIFICATE" || der.is_none())
    {
        return Err(Error::usage(format!(
            "{AKEYLESS_CERT_FILE}={} holds no PEM certificate",
            cert_file.display()
        ))
        .hint("give the client certificate in PEM (-----BEGIN CERTIFICATE-----)"));
    }
    // The key is read before any request: a wrong file fails the run at once.
    let key = Key::read(key_file)?;
    let cert_data = STANDARD.encode(&cert_pem);
    let challenge = api
        .get_cert_challenge(access_id, &cert_data)
        .await
        .map_err(|e| {
            let kind = e.kind(crate::client::During::Login);
            Error::new(kind, format!("the gateway gave no challenge for {}", cert_file.display()))
                .cause(&e)
                .hint(format!("check that {access_id} is a certificate auth method that trusts this certificate's issuer"))
        })?;
    let decoded = STANDARD.decode(challenge.expose().trim()).map_err(|_| {
        Error::new(
            Kind::Auth,
            "the gateway's certificate challenge is not base64",
        )
    })?;
    let signature = Secret::new(STANDARD.encode(key.sign(&decoded)?));
    Ok(Answer {
        cert_data,
        challenge,
        signature,
    })
}

enum Key {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
}

impl Key {
    fn read(path: &Path) -> Result<Key> {
        let shown = path.display();
        let bad = |why: &str| {
            Error::usage(format!("{AKEYLESS_KEY_FILE}={shown}: {why}")).hint(
                "give the certificate's private key in PEM: PKCS#8 (BEGIN PRIVATE KEY), RSA (BEGIN RSA PRIVATE KEY) or EC (BEGIN EC PRIVATE KEY), unencrypted",
            )
        };
        let pem =
            files::read_trusted(path, 1 << 20)?.ok_or_else(|| bad("the file does not exist"))?;
        let rng = SystemRandom::new();
        for (label, der) in keys::pem_blocks(&String::from_utf8_lossy(&pem)) {
            let Some(der) = der else { continue };
            let key = match label {
                "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der)
                    .map(Key::Rsa)
                    .or_else(|_| ecdsa_pkcs8(&der, &rng).map(Key::Ecdsa)),
                "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der).map(Key::Rsa),
                "EC PRIVATE KEY" => match keys::sec1_to_pkcs8(&der) {
                    Some(pkcs8) => ecdsa_pkcs8(&pkcs8, &rng).map(Key::Ecdsa),
                    None => return Err(bad("an EC key on a curve other than P-256")),
                },
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(bad("the key is encrypted; akl needs it unencrypted"));
                }
                _ => continue,
            };
            return key.map_err(|e| bad(&format!("the key cannot be used ({e})")));
        }
        Err(bad("no private key in it"))
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let rng = SystemRandom::new();
        let failed = |_| Error::other("signing the certificate challenge failed");
        match self {
            Key::Rsa(key) => {
                let mut sig = vec![0; key.public().modulus_len()];
                key.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(failed)?;
                Ok(sig)
            }
            Key::Ecdsa(key) => Ok(key.sign(&rng, message).map_err(failed)?.as_ref().to_vec()),
        }
    }
}

fn ecdsa_pkcs8(
    der: &[u8],
    rng: &SystemRandom,
) -> std::result::Result<EcdsaKeyPair, ring::error::KeyRejected> {
    // The challenge is signed over SHA-256, as Akeyless's client does: on P-256.
    EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, der, rng)
}
