//! TLS client settings shared by the IMAP source and the SMTP client:
//! rustls with the usual web roots plus an optional extra CA (PEM), for
//! servers with a private CA.

use std::sync::Arc;

use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// A connector trusting the web roots and, if given, the certificates in
/// `extra_ca_pem`.
pub fn connector(extra_ca_pem: Option<&[u8]>) -> anyhow::Result<TlsConnector> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_ca_pem {
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert =
                cert.map_err(|e| anyhow::anyhow!("ca_file is not a PEM certificate: {e}"))?;
            roots.add(cert)?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_ca_file_is_named() {
        let error = connector(Some(
            b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        ))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(error.contains("ca_file"), "{error}");
        assert!(connector(None).is_ok());
    }
}
