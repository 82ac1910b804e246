//! Hearth's own AWS API as functions reach it (`AWS_ENDPOINT_URL`), so that an SDK
//! inside a function that calls Lambda or CloudWatch Logs works unmodified.
//!
//! A jailed environment has only loopback: its sandbox makes a second listener in the
//! environment's network namespace (`127.0.0.1:9002`), and the executor serves its
//! connections in-process with the router the server hands the engine at start
//! ([`FunctionApi`]), with no TCP hop to the host and nothing of the host's loopback
//! opened. The engine does not know that router: the server builds it (from the api
//! crate, without Hearth's own `/_hearth` endpoints). An environment on the host's
//! network (`--sandbox process`) is given the server's own endpoint instead.

use std::net::TcpListener;
use std::time::Duration;

use axum::Router;
use tokio::task::JoinHandle;

/// Connections one environment may hold open to the API at once: an SDK keeps a small
/// pool; the cap keeps a function from taking the server's descriptors.
pub const FUNCTION_API_LIMITS: hearth_serve::Limits = hearth_serve::Limits {
    max_connections: 16,
    header_read_timeout: Some(Duration::from_secs(10)),
    idle_timeout: Some(Duration::from_secs(60)),
};

/// What environments are given to reach Hearth's AWS API.
#[derive(Clone)]
pub struct FunctionApi {
    router: Router,
    host_endpoint: String,
}

impl FunctionApi {
    /// `router` serves the connections of jailed environments; `host_endpoint`
    /// (`http://127.0.0.1:9000`) is what environments on the host's network are told.
    pub fn new(router: Router, host_endpoint: String) -> Self {
        Self {
            router,
            host_endpoint,
        }
    }

    /// Serves `listener` (inside an environment's network namespace) until the returned
    /// server is dropped; the URL the environment is told.
    pub(crate) fn serve(&self, listener: TcpListener) -> std::io::Result<(ApiServer, String)> {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(hearth_serve::serve(
            listener,
            self.router.clone(),
            FUNCTION_API_LIMITS,
            std::future::pending(),
        ));
        Ok((ApiServer(task), url))
    }

    pub(crate) fn host_endpoint(&self) -> &str {
        &self.host_endpoint
    }
}

/// One environment's server of the API; dropping it closes its connections.
pub(crate) struct ApiServer(JoinHandle<()>);

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.0.abort();
    }
}
