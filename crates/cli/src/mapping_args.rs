//! `hearth server`'s settings of the event-source mappings' pollers: which SQS endpoint a
//! queue's region and account are polled at when it is not this server
//! (`--sqs-endpoint`, `--sqs-endpoint-credentials`), and the session credentials the
//! pollers sign with for Hearth's own queues (the function's execution role's).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hearth_mappings::http::Secret;
use hearth_mappings::{Endpoints, Override, RoleSessions};

#[derive(Debug, Clone, clap::Args)]
pub struct MappingArgs {
    /// Polls the SQS queues of one region and account at another SQS-compatible
    /// endpoint instead of this server: `REGION/ACCOUNT=http://HOST:PORT` (repeatable).
    #[arg(
        long,
        env = "HEARTH_SQS_ENDPOINT",
        value_delimiter = ',',
        value_name = "REGION/ACCOUNT=URL"
    )]
    pub sqs_endpoint: Vec<String>,

    /// The credentials to sign with at such an endpoint:
    /// `REGION/ACCOUNT=ACCESS_KEY_ID:SECRET_ACCESS_KEY` (repeatable; unsigned without).
    #[arg(
        long,
        env = "HEARTH_SQS_ENDPOINT_CREDENTIALS",
        value_delimiter = ',',
        value_name = "REGION/ACCOUNT=KEY:SECRET",
        hide_env_values = true
    )]
    pub sqs_endpoint_credentials: Vec<String>,
}

impl MappingArgs {
    /// The endpoints the pollers use: `own` (this server's address) unless overridden.
    pub fn endpoints(
        &self,
        own: &str,
        sessions: Arc<dyn RoleSessions>,
    ) -> anyhow::Result<Endpoints> {
        let mut overrides: HashMap<(String, String), Override> = HashMap::new();
        for s in &self.sqs_endpoint {
            let (key, url) = hearth_mappings::endpoints::parse_endpoint(s)
                .map_err(|e| anyhow::anyhow!("--sqs-endpoint: {e}"))?;
            overrides.insert(
                key,
                Override {
                    url,
                    credentials: None,
                },
            );
        }
        for s in &self.sqs_endpoint_credentials {
            let (key, secret) = hearth_mappings::endpoints::parse_credentials(s)
                .map_err(|e| anyhow::anyhow!("--sqs-endpoint-credentials: {e}"))?;
            let o = overrides.get_mut(&key).ok_or_else(|| {
                anyhow::anyhow!(
                    "--sqs-endpoint-credentials names {}/{}, which no --sqs-endpoint does",
                    key.0,
                    key.1
                )
            })?;
            o.credentials = Some(secret);
        }
        Ok(Endpoints::new(own, sessions, overrides))
    }
}

/// How long a poller's session lasts: each call mints a new one.
const SESSION: Duration = Duration::from_secs(900);

/// Sessions of execution roles, as AssumeRole's are made: verified by this server like a
/// function's own credentials.
pub struct PollerSessions(pub hearth_auth::Sessions);

impl RoleSessions for PollerSessions {
    fn session(&self, role_arn: &str, session_name: &str) -> Option<Secret> {
        let grant = crate::admin_key::role_session_grant(role_arn, session_name, SESSION);
        match self.0.issue_session(&grant, SystemTime::now()) {
            Ok(c) => Some(Secret {
                access_key_id: c.access_key_id,
                secret_access_key: c.secret_access_key,
                session_token: Some(c.session_token),
            }),
            Err(e) => {
                tracing::error!(error = %e, role_arn, "cannot issue a poller's credentials");
                None
            }
        }
    }
}

/// With `--auth off` the pollers send unsigned requests.
pub struct Unsigned;

impl RoleSessions for Unsigned {
    fn session(&self, _role_arn: &str, _session_name: &str) -> Option<Secret> {
        None
    }
}
