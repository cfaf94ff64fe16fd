//! A throwaway certificate authority and server certificate, generated at every start.
//!
//! Clients trust the fake the way users trust a private gateway: by pointing
//! `AKEYLESS_CA_CERT` (or the SDK's `ssl_ca_cert`) at the CA's PEM file. Nothing is
//! trusted system-wide.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

#[derive(Debug)]
pub struct Tls {
    pub ca_pem: String,
    pub server: Arc<rustls::ServerConfig>,
}

/// A CA, and a server certificate it signed for `localhost`, the loopback addresses and
/// any extra `names` (host names or IP addresses).
pub fn generate(names: &[String]) -> Tls {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("empty SAN list");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "fake-akeyless test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().expect("CA key");
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);

    let mut sans = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    sans.extend(names.iter().cloned());
    let mut leaf_params = CertificateParams::new(sans).expect("valid SANs");
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "fake-akeyless");
    leaf_params.use_authority_key_identifier_extension = true;
    let leaf_key = KeyPair::generate().expect("server key");
    let leaf_cert = leaf_params
        .signed_by(&leaf_key, &issuer)
        .expect("server certificate");

    let chain: Vec<CertificateDer<'static>> = vec![leaf_cert.der().clone(), ca_cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("server certificate and key match");

    Tls {
        ca_pem: ca_cert.pem(),
        server: Arc::new(server),
    }
}
