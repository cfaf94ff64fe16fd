//! SHA-256 as lowercase hex: what names content without holding it (the hashes of an AWS
//! signature, the stamp of a written file, the credentials a kept token came from).

use ring::digest::{Context, SHA256};

/// The SHA-256 of `parts`, one after the other, as hex.
pub fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut digest = Context::new(&SHA256);
    for part in parts {
        digest.update(part);
    }
    hex(digest.finish().as_ref())
}

/// Bytes as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}
