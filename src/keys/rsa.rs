//! RSA key pairs, for SSH servers too old to take Ed25519 certificates (`legacy_rsa=true`).
//! ring signs with RSA but cannot make RSA keys; the `rsa` crate does, with the system's
//! randomness (through ring, so no second source of it is linked in).

use ::rsa::RsaPrivateKey;
use ::rsa::rand_core::{CryptoRng, Error, RngCore};
use ::rsa::traits::{PrivateKeyParts, PublicKeyParts};
use ring::rand::{SecureRandom, SystemRandom};

use super::KeyError;
use super::ssh::Material;

/// 3072 bits: what `ssh-keygen -t rsa` makes by default.
pub const BITS: usize = 3072;

pub fn generate(rng: &SystemRandom, bits: usize) -> Result<Material, KeyError> {
    let failed = || KeyError("generating an RSA key failed");
    let key = RsaPrivateKey::new(&mut Ring(rng), bits).map_err(|_| failed())?;
    let [p, q] = key.primes() else {
        return Err(failed());
    };
    let iqmp = key.crt_coefficient().ok_or_else(failed)?;
    Ok(Material::Rsa {
        n: key.n().to_bytes_be(),
        e: key.e().to_bytes_be(),
        d: key.d().to_bytes_be(),
        iqmp: iqmp.to_bytes_be(),
        p: p.to_bytes_be(),
        q: q.to_bytes_be(),
    })
}

/// ring's system randomness as the `rand_core` source the `rsa` crate draws from.
struct Ring<'a>(&'a SystemRandom);

impl RngCore for Ring<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut bytes = [0; 4];
        self.fill_bytes(&mut bytes);
        u32::from_le_bytes(bytes)
    }

    fn next_u64(&mut self) -> u64 {
        let mut bytes = [0; 8];
        self.fill_bytes(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        // The system's source does not fail once the process runs (getrandom(2) blocks
        // only until the kernel is seeded at boot); if it ever did, no key is better than
        // a predictable one.
        self.0
            .fill(dest)
            .expect("the system's random number generator failed");
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Error> {
        self.0
            .fill(dest)
            // rand_core without std carries only a code: the first of the custom ones.
            .map_err(|_| {
                Error::from(std::num::NonZeroU32::MIN.saturating_add(Error::CUSTOM_START - 1))
            })
    }
}

impl CryptoRng for Ring<'_> {}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    #[test]
    fn rsa_keys_in_openssh_form() {
        // 1024 bits keeps this quick under emulation (make test-arm64); the 3072 bits of
        // real keys are checked with ssh-keygen in tests/it/certs.rs.
        let material = generate(&SystemRandom::new(), 1024).unwrap();
        let (public, private) = material.files("t").unwrap();
        let blob = STANDARD.decode(public.split(' ').nth(1).unwrap()).unwrap();
        // string "ssh-rsa", mpint e (65537), mpint n (a zero byte, then 128 bytes).
        assert_eq!(&blob[..11], b"\0\0\0\x07ssh-rsa");
        assert_eq!(&blob[11..18], [0, 0, 0, 3, 1, 0, 1]);
        assert_eq!(u32::from_be_bytes(blob[18..22].try_into().unwrap()), 129);
        assert!(private.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
        assert_eq!(BITS, 3072, "what ssh-keygen -t rsa makes");
    }
}
