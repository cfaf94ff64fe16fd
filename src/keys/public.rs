//! The public half of a key file a user gives (`akeyless get-pki-certificate
//! --key-file-path`), as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo): the only form of the
//! key that may travel. The API stores a private key sent in its place with the
//! certificate, so a private key is read here and only its public half leaves.

use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair,
    RsaKeyPair,
};

use super::KeyError;
use super::der::{self, oids};

/// What a key file holds, once read.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyFile {
    /// A public key, as given: it can be sent as it is.
    Public(String),
    /// A private key's public half, as PEM; the file itself is a secret.
    FromPrivate(String),
}

/// The public key of a PEM key file: a `PUBLIC KEY` as it is; a `PRIVATE KEY` (PKCS#8,
/// RSA or EC P-256/P-384) or an `RSA PRIVATE KEY` (PKCS#1) reduced to its public half.
pub fn public_pem(text: &str) -> Result<KeyFile, KeyError> {
    let rng = SystemRandom::new();
    for (label, der) in super::pem_blocks(text) {
        let der = der.ok_or(KeyError("the key file's PEM is not base64"))?;
        let spki = match label {
            "PUBLIC KEY" => return Ok(KeyFile::Public(super::pem("PUBLIC KEY", &der))),
            "PRIVATE KEY" => match RsaKeyPair::from_pkcs8(&der) {
                Ok(rsa) => rsa_spki(rsa.public_key().as_ref()),
                Err(_) => ec_spki(&der, &rng)?,
            },
            "RSA PRIVATE KEY" => {
                let rsa = RsaKeyPair::from_der(&der)
                    .map_err(|_| KeyError("the RSA private key cannot be read"))?;
                rsa_spki(rsa.public_key().as_ref())
            }
            "EC PRIVATE KEY" => {
                return Err(KeyError(
                    "an EC key in SEC1 form (BEGIN EC PRIVATE KEY): convert it with `openssl pkcs8 -topk8 -nocrypt -in KEY`, or give its public key (`openssl pkey -pubout`) or a CSR",
                ));
            }
            "ENCRYPTED PRIVATE KEY" => {
                return Err(KeyError(
                    "the key is encrypted: give its public key (`openssl pkey -pubout`) or a CSR",
                ));
            }
            _ => continue,
        };
        return Ok(KeyFile::FromPrivate(super::pem("PUBLIC KEY", &spki)));
    }
    Err(KeyError(
        "no PEM key in it (BEGIN PUBLIC KEY, BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY)",
    ))
}

/// SubjectPublicKeyInfo of an RSA key: rsaEncryption, NULL parameters, RSAPublicKey.
fn rsa_spki(rsa_public_key: &[u8]) -> Vec<u8> {
    let algorithm = der::sequence(&[&der::oid(oids::RSA_ENCRYPTION), &[0x05, 0x00]]);
    der::sequence(&[&algorithm, &der::bit_string(rsa_public_key)])
}

/// SubjectPublicKeyInfo of a PKCS#8 EC key on P-256 or P-384.
fn ec_spki(pkcs8: &[u8], rng: &SystemRandom) -> Result<Vec<u8>, KeyError> {
    let curves = [
        (&ECDSA_P256_SHA256_ASN1_SIGNING, oids::P256),
        (&ECDSA_P384_SHA384_ASN1_SIGNING, oids::P384),
    ];
    for (algorithm, curve) in curves {
        if let Ok(pair) = EcdsaKeyPair::from_pkcs8(algorithm, pkcs8, rng) {
            let id = der::sequence(&[&der::oid(oids::EC_PUBLIC_KEY), &der::oid(curve)]);
            return Ok(der::sequence(&[
                &id,
                &der::bit_string(pair.public_key().as_ref()),
            ]));
        }
    }
    Err(KeyError(
        "the private key is neither RSA nor EC on P-256 or P-384: give its public key (`openssl pkey -pubout`) or a CSR",
    ))
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    #[test]
    fn a_private_key_gives_its_public_half_only() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let private = super::super::pem("PRIVATE KEY", pkcs8.as_ref());
        let KeyFile::FromPrivate(public) = public_pem(&private).unwrap() else {
            panic!("a private key")
        };
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let body: String = public.lines().filter(|l| !l.starts_with("-----")).collect();
        let spki = STANDARD.decode(body).unwrap();
        assert!(spki.ends_with(pair.public_key().as_ref()));
        assert_eq!(public_pem(&public), Ok(KeyFile::Public(public.clone())));
    }

    #[test]
    fn unusable_files_are_refused_with_the_way_out() {
        let sec1 = "-----BEGIN EC PRIVATE KEY-----\nMAA=\n-----END EC PRIVATE KEY-----\n";
        assert!(public_pem(sec1).unwrap_err().0.contains("openssl pkcs8"));
        assert!(
            public_pem("ssh-ed25519 AAAA")
                .unwrap_err()
                .0
                .contains("no PEM key")
        );
    }
}
