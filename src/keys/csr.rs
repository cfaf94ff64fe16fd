//! A PKCS#10 certificate request (RFC 2986) for a P-256 key: the subject's common name,
//! the names the certificate is for as subjectAltName (DNS names and IP addresses), and
//! the key's signature over it all (ECDSA with SHA-256), which proves the requester holds
//! the key. The issuer reads the names from here; the private key never leaves the job.
//!
//! Written here (with `der.rs`) rather than by `rcgen`: rcgen made the release binary
//! 45,056 bytes larger for this one request, against a 3.5 MB budget. The request is
//! checked by its own signature below, and by `openssl` and a real parser in the tests.

use std::net::IpAddr;

use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};

use super::KeyError;
use super::der::{self, oids};

/// The DER of a request for `common_name` and `names`, signed with `key`.
pub fn request(
    key: &EcdsaKeyPair,
    common_name: &str,
    names: &[String],
    rng: &SystemRandom,
) -> Result<Vec<u8>, KeyError> {
    let subject = der::sequence(&[&der::set(&[&der::sequence(&[
        &der::oid(oids::COMMON_NAME),
        &der::utf8_string(common_name),
    ])])]);
    let algorithm = der::sequence(&[&der::oid(oids::EC_PUBLIC_KEY), &der::oid(oids::P256)]);
    let public_key = der::sequence(&[&algorithm, &der::bit_string(key.public_key().as_ref())]);
    let mut attributes = Vec::new();
    if !names.is_empty() {
        let general_names: Vec<u8> = names.iter().flat_map(|n| general_name(n)).collect();
        let extension = der::sequence(&[
            &der::oid(oids::SUBJECT_ALT_NAME),
            &der::octet_string(&der::tlv(0x30, &general_names)),
        ]);
        attributes = der::sequence(&[
            &der::oid(oids::EXTENSION_REQUEST),
            &der::set(&[&der::sequence(&[&extension])]),
        ]);
    }
    let info = der::sequence(&[
        &der::small_uint(0),
        &subject,
        &public_key,
        // [0] IMPLICIT SET OF Attribute, present even when empty.
        &der::tlv(0xa0, &attributes),
    ]);
    let signature = key
        .sign(rng, &info)
        .map_err(|_| KeyError("signing the request failed"))?;
    Ok(der::sequence(&[
        &info,
        &der::sequence(&[&der::oid(oids::ECDSA_SHA256)]),
        &der::bit_string(signature.as_ref()),
    ]))
}

/// A name as GeneralName: an IP address as `iPAddress` (its 4 or 16 bytes), anything else
/// as `dNSName`.
fn general_name(name: &str) -> Vec<u8> {
    match name.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => der::tlv(0x87, &ip.octets()),
        Ok(IpAddr::V6(ip)) => der::tlv(0x87, &ip.octets()),
        Err(_) => der::tlv(0x82, name.as_bytes()),
    }
}

/// A new P-256 key in PKCS#8, as ring makes it.
pub fn generate(rng: &SystemRandom) -> Result<(EcdsaKeyPair, Vec<u8>), KeyError> {
    let failed = || KeyError("generating a P-256 key failed");
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, rng).map_err(|_| failed())?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), rng)
        .map_err(|_| failed())?;
    Ok((pair, pkcs8.as_ref().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dns_or_ip() {
        assert_eq!(general_name("a.example"), der::tlv(0x82, b"a.example"));
        assert_eq!(general_name("10.0.0.1"), [0x87, 4, 10, 0, 0, 1]);
        assert_eq!(general_name("::1")[..2], [0x87, 16]);
    }

    #[test]
    fn the_request_is_signed_by_its_key_and_carries_the_names() {
        let rng = SystemRandom::new();
        let (key, _) = generate(&rng).unwrap();
        let names = ["app.example.com".to_owned(), "10.1.2.3".to_owned()];
        let csr = request(&key, "app.example.com", &names, &rng).unwrap();
        // Outer SEQUENCE { info, algorithm, signature }: find info's extent, then check
        // the signature over it with the public key, as an issuer does.
        assert_eq!(csr[0], 0x30);
        let (body, _) = split(&csr[1..]);
        assert_eq!(body[0], 0x30);
        let (info_content, info_len) = split(&body[1..]);
        let info = &body[..1 + info_len];
        assert!(info_content.windows(15).any(|w| w == b"app.example.com"));
        assert!(info_content.windows(6).any(|w| w == [0x87, 4, 10, 1, 2, 3]));
        let rest = &body[1 + info_len..];
        let algorithm = der::sequence(&[&der::oid(oids::ECDSA_SHA256)]);
        assert!(rest.starts_with(&algorithm));
        let bits = &rest[algorithm.len()..];
        assert_eq!(bits[0], 0x03);
        let (signature, _) = split(&bits[1..]);
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_ASN1,
            key.public_key().as_ref(),
        );
        public
            .verify(info, &signature[1..])
            .expect("a valid signature");
    }

    /// A length and what it covers: (content, header length + content length).
    fn split(after_tag: &[u8]) -> (&[u8], usize) {
        let (len, header) = match after_tag[0] {
            n if n < 0x80 => (n as usize, 1),
            0x81 => (after_tag[1] as usize, 2),
            0x82 => (((after_tag[1] as usize) << 8) | after_tag[2] as usize, 3),
            other => panic!("length form {other:#x}"),
        };
        (&after_tag[header..header + len], header + len)
    }
}
