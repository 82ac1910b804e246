//! How a request reached the server: over TLS or not, and from which address. Policy
//! conditions read it (`aws:SecureTransport`, `aws:SourceIp`), and so does the audit trail.

use std::net::SocketAddr;
use std::sync::Arc;

/// A request extension set on every request [`crate::serve`] hands to the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transport {
    /// Whether the request came over TLS.
    pub secure: bool,
    /// The client's address (the TCP peer: a proxy's, behind one).
    pub peer: SocketAddr,
}

impl Transport {
    pub fn plain(peer: SocketAddr) -> Self {
        Self {
            secure: false,
            peer,
        }
    }

    pub fn tls(peer: SocketAddr) -> Self {
        Self { secure: true, peer }
    }
}

/// A rustls server configuration for a certificate chain and its key, offering HTTP/2
/// and HTTP/1.1 by ALPN (a client that names neither speaks HTTP/1.1).
pub fn tls_config(
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
