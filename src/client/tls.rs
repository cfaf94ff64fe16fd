//! The TLS trust store: Mozilla's roots compiled in, the system's CA bundle when there is
//! one, and the CA certificates the user names.
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

use crate::error::{Error, Result};

/// CA certificates to trust, and where they came from (for messages).
#[derive(Debug, Clone)]
pub struct Anchors {
    /// E.g. "AKEYLESS_CA_CERT names /ca.pem".
    pub source: String,
    pub certs: Vec<CertificateDer<'static>>,
}

pub fn client_config(anchors: &[Anchors]) -> Result<rustls::ClientConfig> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for extra in anchors {
        // System bundles routinely carry a few certificates webpki cannot use; skipping
        // them is what every TLS client does. A source with nothing usable is an error.
        let (added, _ignored) = roots.add_parsable_certificates(extra.certs.iter().cloned());
        if added == 0 {
            return Err(Error::usage(format!(
                "{}, which holds no usable CA certificate",
                extra.source
            ))
            .hint("point it at a PEM file of CA certificates, or unset it"));
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::other(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_with_only_the_compiled_in_roots() {
        client_config(&[]).unwrap();
    }

    #[test]
    fn a_source_without_a_usable_certificate_is_named() {
        let junk = Anchors {
            source: "AKEYLESS_CA_CERT names /x.pem".into(),
            certs: vec![CertificateDer::from(vec![1, 2, 3])],
        };
        let err = client_config(&[junk]).unwrap_err().to_string();
        assert!(
            err.contains("AKEYLESS_CA_CERT names /x.pem, which holds no usable CA certificate"),
            "{err}"
        );
    }
}
