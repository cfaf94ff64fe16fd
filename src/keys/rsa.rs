//! RSA key pairs, for SSH servers too old to take Ed25519 certificates (`legacy_rsa=true`).
//! ring signs with RSA but cannot make RSA keys, and the crate that can costs 70 KB of the
//! 3.5 MB budget (and carries an advisory, RUSTSEC-2023-0071) for an option few jobs use.
//! A job that talks to such a server runs OpenSSH, and OpenSSH's `ssh-keygen` makes the
//! key: into a fresh private directory, read back and removed at once. Its command line
//! holds paths and an empty passphrase, nothing secret.

use std::fs;
use std::io::ErrorKind;
use std::process::{Command, Stdio};

use super::{COMMENT, KeyError, SshKey};
use crate::secret::Secret;

/// What `ssh-keygen -t rsa` makes by default.
pub const BITS: &str = "3072";

const MISSING: &str = "legacy_rsa=true needs OpenSSH's ssh-keygen on PATH to make the RSA \
    key: install OpenSSH's client (Alpine and Debian: openssh-client), or drop legacy_rsa=true \
    for an Ed25519 key";
const FAILED: &str = "ssh-keygen could not make an RSA key (run `ssh-keygen -t rsa -b 3072` \
    in the job to see why), or drop legacy_rsa=true for an Ed25519 key";

pub fn generate() -> Result<SshKey, KeyError> {
    // A directory only this user can enter, under a name nobody could have planted; it
    // and the key in it are removed when `dir` drops, whatever happens.
    let dir = tempfile::Builder::new()
        .prefix("akl-rsa-")
        .tempdir()
        .map_err(|_| KeyError("no private directory for ssh-keygen could be made in TMPDIR"))?;
    let path = dir.path().join("key");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "rsa", "-b", BITS, "-N", "", "-C", COMMENT, "-f"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound | ErrorKind::PermissionDenied => KeyError(MISSING),
            _ => KeyError(FAILED),
        })?;
    if !status.success() {
        return Err(KeyError(FAILED));
    }
    let private = fs::read_to_string(&path).map_err(|_| KeyError(FAILED))?;
    let public = fs::read_to_string(path.with_extension("pub")).map_err(|_| KeyError(FAILED))?;
    let public = public.trim_end().to_owned();
    // Whatever this ssh-keygen writes (OpenSSH's own format since 7.8, PEM before), ssh
    // reads; anything else is not a key.
    if !public.starts_with("ssh-rsa ") || !private.starts_with("-----BEGIN ") {
        return Err(KeyError(FAILED));
    }
    Ok(SshKey {
        public,
        private: Secret::new(private),
    })
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    #[test]
    fn rsa_keys_from_ssh_keygen_in_openssh_form() {
        let key = generate().unwrap();
        let blob = STANDARD
            .decode(key.public.split(' ').nth(1).unwrap())
            .unwrap();
        // string "ssh-rsa", mpint e (65537), mpint n (a zero byte, then 384 bytes).
        assert_eq!(&blob[..11], b"\0\0\0\x07ssh-rsa");
        assert_eq!(&blob[11..18], [0, 0, 0, 3, 1, 0, 1]);
        assert_eq!(u32::from_be_bytes(blob[18..22].try_into().unwrap()), 385);
        assert!(key.public.ends_with(" akl"));
        assert!(
            key.private
                .expose()
                .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n")
        );
    }
}
