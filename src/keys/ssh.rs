//! OpenSSH's formats for a key pair: the public key line (`ssh-ed25519 AAAA… comment`, as
//! in `id_ed25519.pub`) and the unencrypted private key file (`openssh-key-v1`, between
//! `-----BEGIN OPENSSH PRIVATE KEY-----` lines) that `ssh -i` reads. Written by RustCrypto's
//! `ssh-key` crate rather than by hand: a key file `ssh` refuses would only show at deploy
//! time.

use ssh_key::private::{Ed25519Keypair, Ed25519PrivateKey, KeypairData};
use ssh_key::public::Ed25519PublicKey;
use ssh_key::{LineEnding, PrivateKey};

use super::KeyError;

/// An Ed25519 pair as ring gives it: the 32-byte public key and the 32-byte seed. No
/// `Debug`: it is the private key.
pub struct Ed25519 {
    pub public: [u8; 32],
    pub seed: [u8; 32],
}

impl Ed25519 {
    /// The public key line without a newline, and the private key file.
    pub fn files(&self, comment: &str) -> Result<(String, String), KeyError> {
        let failed = |_| KeyError("writing the key in OpenSSH's format failed");
        let pair = KeypairData::Ed25519(Ed25519Keypair {
            public: Ed25519PublicKey(self.public),
            private: Ed25519PrivateKey::from_bytes(&self.seed),
        });
        let key = PrivateKey::new(pair, comment).map_err(failed)?;
        let public = key.public_key().to_openssh().map_err(failed)?;
        let private = key.to_openssh(LineEnding::LF).map_err(failed)?;
        Ok((public, private.as_str().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ed25519_key_as_ssh_keygen_writes_it() {
        // A throwaway key made with `ssh-keygen -t ed25519 -N '' -C test`, taken apart
        // and written again: the same public line, and a private file that holds the
        // same key (OpenSSH's own file differs only in its random check value).
        let key = Ed25519 {
            public: hex("7c3548ed92ca1b6aa0b9718b1caba2b0dbe5355186466bd47b3fa2edd10ec751")
                .try_into()
                .unwrap(),
            seed: hex("be2a59b4e906514a105315ea0882cb0963d5bc42013f063058af7bed5ce323da")
                .try_into()
                .unwrap(),
        };
        let (public, private) = key.files("test").unwrap();
        assert_eq!(
            public,
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHw1SO2SyhtqoLlxixyrorDb5TVRhkZr1Hs/ou3RDsdR test"
        );
        let by_ssh_keygen = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACB8NUjtksobaqC5cYscq6Kw2+U1UYZGa9R7P6Lt0Q7HUQAAAIj5CSdN+Qkn
TQAAAAtzc2gtZWQyNTUxOQAAACB8NUjtksobaqC5cYscq6Kw2+U1UYZGa9R7P6Lt0Q7HUQ
AAAEC+Klm06QZRShBTFeoIgssJY9W8QgE/BjBYr3vtXOMj2nw1SO2SyhtqoLlxixyrorDb
5TVRhkZr1Hs/ou3RDsdRAAAABHRlc3QB
-----END OPENSSH PRIVATE KEY-----
";
        assert!(private.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
        assert!(private.ends_with("\n-----END OPENSSH PRIVATE KEY-----\n"));
        let ours = PrivateKey::from_openssh(&private).unwrap();
        let theirs = PrivateKey::from_openssh(by_ssh_keygen).unwrap();
        assert_eq!(ours.key_data(), theirs.key_data());
        assert_eq!(ours.comment(), "test");
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }
}
