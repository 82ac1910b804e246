//! `hearth server`'s settings of the event-source mappings' pollers: which SQS endpoint a
//! queue's region and account are polled at when it is not this server
//! (`--sqs-endpoint`, `--sqs-endpoint-credentials`). This server's own queues are polled
//! in-process (`hearth_mappings::local`).

use std::collections::HashMap;

use hearth_mappings::{Endpoints, LocalQueues, Override};

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
    /// The endpoints the pollers use: this server's queues (`local`) unless overridden.
    pub fn endpoints(&self, local: LocalQueues) -> anyhow::Result<Endpoints> {
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
        Ok(Endpoints::new(local, overrides))
    }
}
