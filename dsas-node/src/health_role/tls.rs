//! TLS for SSL_GET (rustls with the `ring` provider).
//!
//! keepalived's SSL_GET does not verify the server certificate (it checks
//! that the TLS handshake and the HTTP exchange work, not who the server
//! is), so `verify = false` is the default here too: the certificate chain
//! and name are not checked, but the handshake signature still is (so a
//! peer must hold the key of the certificate it presents). With
//! `verify = true` the chain is checked against `ca_file` (PEM) or the
//! Mozilla roots (`webpki-roots`), and the name against the SNI name (or
//! the IP address).

use std::io;
use std::net::IpAddr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, Error, SignatureScheme};

use crate::config::health::Checker;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Accepts any certificate; still checks the handshake signatures.
#[derive(Debug)]
struct NoVerify {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The client configuration of one SSL_GET.
///
/// # Errors
/// An unreadable or empty `ca_file`, or no usable protocol versions.
pub fn client_config(c: &Checker) -> io::Result<Arc<rustls::ClientConfig>> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?;
    let config = if c.verify.unwrap_or(false) {
        let mut roots = rustls::RootCertStore::empty();
        match &c.ca_file {
            Some(path) => {
                for cert in CertificateDer::pem_file_iter(path)
                    .map_err(|e| io::Error::other(format!("ca_file {}: {e}", path.display())))?
                {
                    let cert = cert.map_err(|e| {
                        io::Error::other(format!("ca_file {}: {e}", path.display()))
                    })?;
                    roots.add(cert).map_err(|e| {
                        io::Error::other(format!("ca_file {}: {e}", path.display()))
                    })?;
                }
                if roots.is_empty() {
                    return Err(io::Error::other(format!(
                        "ca_file {}: no certificates",
                        path.display()
                    )));
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify {
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// The name to send as SNI (a DNS name) or, without one, the address
/// (rustls sends no SNI for an IP address).
#[must_use]
pub fn server_name(sni: Option<&str>, ip: IpAddr) -> ServerName<'static> {
    sni.and_then(|s| ServerName::try_from(s.to_owned()).ok())
        .unwrap_or(ServerName::IpAddress(ip.into()))
}
