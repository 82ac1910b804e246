//! The HTTP client Hearth's outbound requests share: to other nodes of a fleet (forwarded
//! invokes and SQS calls) and to SNS's HTTP/S subscribers. HTTP/1.1 with keep-alive, plain
//! TCP or TLS as each request's scheme says (rustls with the `ring` provider, trusting the
//! roots given), and a bounded connect time so that an unreachable peer fails fast.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// A client for requests with a whole body.
pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// How long an idle kept-alive connection is kept for the next request.
const POOL_IDLE: Duration = Duration::from_secs(30);

/// A client trusting `roots` for `https://` URLs, giving up on a connection after
/// `connect_timeout`. Needs the tokio runtime when used.
pub fn http_client(roots: rustls::RootCertStore, connect_timeout: Duration) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(connect_timeout));
    connector.set_nodelay(true);
    // The scheme of each request picks plain TCP or TLS.
    connector.enforce_http(false);
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE)
        .build(connector)
}

/// The public web's roots (Mozilla's, as `webpki-roots` ships them): what SNS trusts for
/// its HTTPS subscribers.
pub fn public_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    roots
}
