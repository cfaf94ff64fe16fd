//! The TLS trust store: Mozilla's roots compiled in, the system's CA bundle when there is
//! one, and the CA files the user names.
//!
//! Compiling the roots in is what lets `akl` run in an image with no CA bundle at all
//! (scratch, distroless, a bare busybox). Enterprise images add their private CA to the
//! system bundle (`update-ca-certificates`), which every other tool in the job trusts, so
//! `akl` does too. Private gateways can also name their CA with `AKEYLESS_CA_CERT`;
//! `SSL_CERT_FILE` is honoured as well. rustls on the ring provider: no OpenSSL, no C
//! toolchain at run time.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::crypto::ring;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::config::CaFile;
use crate::error::{Error, Result};

pub fn client_config(ca_files: &[CaFile]) -> Result<rustls::ClientConfig> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for file in ca_files {
        add_ca_file(&mut roots, file)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::other(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

fn add_ca_file(roots: &mut RootCertStore, file: &CaFile) -> Result<()> {
    let CaFile { var, path } = file;
    let shown = path.display();
    let bad = |why: String| {
        Error::usage(format!("{var} names {shown}, which {why}")).hint(format!(
            "point {var} at a PEM file of CA certificates, or unset it"
        ))
    };
    let pem = std::fs::read(path).map_err(|e| bad(format!("cannot be read ({e})")))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| bad(format!("is not valid PEM ({e})")))?;
    if certs.is_empty() {
        return Err(bad("holds no PEM certificate".to_owned()));
    }
    // System bundles routinely carry a few certificates webpki cannot use; skipping them
    // is what every TLS client does. A file with nothing usable is an error.
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(bad("holds no usable CA certificate".to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn ca(var: &'static str, path: impl Into<PathBuf>) -> CaFile {
        CaFile {
            var,
            path: path.into(),
        }
    }

    #[test]
    fn builds_with_only_the_compiled_in_roots() {
        client_config(&[]).unwrap();
    }

    #[test]
    fn unreadable_or_empty_ca_files_name_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let err = client_config(&[ca("AKEYLESS_CA_CERT", dir.path().join("missing.pem"))])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("AKEYLESS_CA_CERT names") && err.contains("cannot be read"),
            "{err}"
        );

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificates here\n").unwrap();
        let err = client_config(&[ca("SSL_CERT_FILE", &empty)])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("SSL_CERT_FILE names") && err.contains("no PEM certificate"),
            "{err}"
        );
    }
}
