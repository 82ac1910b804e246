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

use tokio::task::JoinHandle;

/// Connections one environment may hold open to the API at once: an SDK keeps a small
/// pool; the cap keeps a function from taking the server's descriptors.
pub const FUNCTION_API_LIMITS: hearth_serve::Limits = hearth_serve::Limits {
    max_connections: 16,
    header_read_timeout: Some(Duration::from_secs(10)),
    idle_timeout: Some(Duration::from_secs(60)),
};

/// How long an environment lives at most: its credentials (see [`CredentialIssuer`])
/// must outlive it by more than the longest invocation (15 minutes), so an environment
/// this old takes no more invocations and is stopped when its current one ends.
pub const ENVIRONMENT_MAX_AGE: Duration = Duration::from_secs(11 * 3600);

/// Temporary credentials an environment's SDK signs its calls with.
#[derive(Clone)]
pub struct EnvCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
}

/// Makes the temporary credentials of a function's execution role for one environment,
/// valid for longer than [`ENVIRONMENT_MAX_AGE`] plus an invocation.
pub trait CredentialIssuer: Send + Sync {
    /// `None` when none can be made (the environment then gets none).
    fn issue(&self, role_arn: &str, function: &str) -> Option<EnvCredentials>;
}

/// What environments are given to reach Hearth's AWS API.
#[derive(Clone)]
pub struct FunctionApi {
    app: hearth_serve::BoxApp,
    host_endpoint: String,
    credentials: Option<std::sync::Arc<dyn CredentialIssuer>>,
}

impl FunctionApi {
    /// `router` serves the connections of jailed environments; `host_endpoint`
    /// (`http://127.0.0.1:9000`) is what environments on the host's network are told.
    pub fn new(app: impl hearth_serve::App, host_endpoint: String) -> Self {
        Self {
            app: hearth_serve::boxed(app),
            host_endpoint,
            credentials: None,
        }
    }

    /// Environments get credentials of their function's role from `issuer` instead of
    /// placeholders.
    pub fn with_credentials(mut self, issuer: std::sync::Arc<dyn CredentialIssuer>) -> Self {
        self.credentials = Some(issuer);
        self
    }

    /// The credentials of a new environment of `function`, whose role is `role_arn`.
    pub(crate) fn credentials_for(&self, role_arn: &str, function: &str) -> Option<EnvCredentials> {
        self.credentials.as_ref()?.issue(role_arn, function)
    }

    /// Serves `listener` (inside an environment's network namespace) until the returned
    /// server is dropped; the URL the environment is told.
    pub(crate) fn serve(&self, listener: TcpListener) -> std::io::Result<(ApiServer, String)> {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(hearth_serve::serve(
            listener,
            self.app.clone(),
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
