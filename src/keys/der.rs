//! The little of DER that a PKCS#10 request and a SubjectPublicKeyInfo need: definite lengths, and the handful of
//! types it is built from. Writing only; nothing here parses.

/// A tag, its length and the content.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        // The long form: 0x80 + the count of length bytes, then the length big-endian.
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A SEQUENCE of already encoded parts.
pub fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// A SET of already encoded parts (DER sorts a SET OF; every set here holds one).
pub fn set(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x31, &parts.concat())
}

/// An INTEGER from a small non-negative number.
pub fn small_uint(n: u8) -> Vec<u8> {
    match n < 0x80 {
        true => tlv(0x02, &[n]),
        false => tlv(0x02, &[0, n]),
    }
}

/// An OBJECT IDENTIFIER from its encoded arcs (the constants below).
pub fn oid(encoded: &[u8]) -> Vec<u8> {
    tlv(0x06, encoded)
}

/// A BIT STRING of whole bytes.
pub fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(bytes.len() + 1);
    content.push(0); // no unused bits
    content.extend_from_slice(bytes);
    tlv(0x03, &content)
}

pub fn octet_string(bytes: &[u8]) -> Vec<u8> {
    tlv(0x04, bytes)
}

pub fn utf8_string(text: &str) -> Vec<u8> {
    tlv(0x0c, text.as_bytes())
}

/// Encoded arcs of the object identifiers used here.
pub mod oids {
    /// 2.5.4.3, commonName
    pub const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
    /// 1.2.840.10045.2.1, id-ecPublicKey
    pub const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    /// 1.2.840.10045.3.1.7, prime256v1 (P-256)
    pub const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    /// 1.3.132.0.34, secp384r1 (P-384)
    pub const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
    /// 1.2.840.113549.1.1.1, rsaEncryption
    pub const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    /// 1.2.840.10045.4.3.2, ecdsa-with-SHA256
    pub const ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
    /// 1.2.840.113549.1.9.14, PKCS#9 extensionRequest
    pub const EXTENSION_REQUEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e];
    /// 2.5.29.17, subjectAltName
    pub const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_short_and_long() {
        assert_eq!(tlv(0x04, b"ab"), [0x04, 2, b'a', b'b']);
        let long = tlv(0x04, &[7; 200]);
        assert_eq!(&long[..3], [0x04, 0x81, 200]);
        assert_eq!(long.len(), 203);
        let longer = tlv(0x04, &[7; 300]);
        assert_eq!(&longer[..4], [0x04, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn small_types() {
        assert_eq!(small_uint(0), [0x02, 1, 0]);
        assert_eq!(small_uint(0x80), [0x02, 2, 0, 0x80], "kept positive");
        assert_eq!(bit_string(&[0xff]), [0x03, 2, 0, 0xff]);
        assert_eq!(sequence(&[&[0x05, 0]]), [0x30, 2, 0x05, 0]);
        assert_eq!(oid(oids::COMMON_NAME), [0x06, 3, 0x55, 0x04, 0x03]);
    }
}
