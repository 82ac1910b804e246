//! Which SQS endpoint a mapping polls, and with whose credentials ([`Endpoints`], the
//! server's [`QueueClients`]): this server's own queues, in-process and authorized for
//! the function's execution role (`crate::local`), unless the queue's region and account
//! are configured to another SQS-compatible endpoint (`--sqs-endpoint REGION/ACCOUNT=URL`),
//! which is called over HTTP and signed with that endpoint's own credentials.

use std::collections::HashMap;
use std::sync::Arc;

use hearth_model::event_source_mapping::{sqs_queue, EventSourceMapping};

use crate::client::{QueueClient, QueueClients};
use crate::http::{http_client, HttpClient, HttpQueueClient, Secret};
use crate::local::LocalQueues;

/// Another endpoint for one region and account.
#[derive(Debug, Clone)]
pub struct Override {
    pub url: String,
    pub credentials: Option<Secret>,
}

/// `REGION/ACCOUNT=URL`, as `--sqs-endpoint` takes it: the key and the URL.
pub fn parse_endpoint(s: &str) -> Result<((String, String), String), String> {
    let (key, url) = s
        .split_once('=')
        .ok_or_else(|| format!("expected REGION/ACCOUNT=URL, not {s:?}"))?;
    let key = parse_key(key)?;
    if !url.starts_with("http://") {
        return Err(format!("the endpoint must be an http:// URL, not {url:?}"));
    }
    Ok((key, url.trim_end_matches('/').to_string()))
}

/// `REGION/ACCOUNT=ACCESS_KEY_ID:SECRET_ACCESS_KEY`, as `--sqs-endpoint-credentials`
/// takes it.
pub fn parse_credentials(s: &str) -> Result<((String, String), Secret), String> {
    let (key, creds) = s
        .split_once('=')
        .ok_or_else(|| "expected REGION/ACCOUNT=ACCESS_KEY_ID:SECRET_ACCESS_KEY".to_string())?;
    let key = parse_key(key)?;
    let (id, secret) = creds
        .split_once(':')
        .ok_or_else(|| "expected ACCESS_KEY_ID:SECRET_ACCESS_KEY".to_string())?;
    Ok((
        key,
        Secret {
            access_key_id: id.to_string(),
            secret_access_key: secret.to_string(),
            session_token: None,
        },
    ))
}

fn parse_key(key: &str) -> Result<(String, String), String> {
    let (region, account) = key
        .split_once('/')
        .ok_or_else(|| format!("expected REGION/ACCOUNT, not {key:?}"))?;
    if region.is_empty() || !hearth_model::arn::is_account_id(account) {
        return Err(format!(
            "expected REGION/ACCOUNT with a 12-digit account, not {key:?}"
        ));
    }
    Ok((region.to_string(), account.to_string()))
}

/// The server's [`QueueClients`].
pub struct Endpoints {
    local: LocalQueues,
    overrides: HashMap<(String, String), Override>,
    http: HttpClient,
}

impl Endpoints {
    /// This server's queues, and the configured other endpoints.
    pub fn new(local: LocalQueues, overrides: HashMap<(String, String), Override>) -> Self {
        Self {
            local,
            overrides,
            http: http_client(),
        }
    }
}

impl QueueClients for Endpoints {
    fn client(&self, mapping: &EventSourceMapping) -> Arc<dyn QueueClient> {
        let queue = sqs_queue(&mapping.event_source_arn);
        let key = queue.map(|q| (q.region.to_string(), q.account.to_string()));
        match key.as_ref().and_then(|k| self.overrides.get(k)) {
            Some(o) => Arc::new(HttpQueueClient::new(
                &o.url,
                queue.map_or(hearth_model::arn::REGION, |q| q.region),
                o.credentials.clone(),
                self.http.clone(),
            )),
            None => self
                .local
                .client(&mapping.function, mapping.qualifier.as_deref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_settings_parse() {
        let ((r, a), url) =
            parse_endpoint("eu-west-1/123456789012=http://10.0.0.2:9324/").expect("parses");
        assert_eq!(
            (r.as_str(), a.as_str(), url.as_str()),
            ("eu-west-1", "123456789012", "http://10.0.0.2:9324")
        );
        assert!(parse_endpoint("eu-west-1=http://x").is_err());
        assert!(parse_endpoint("eu-west-1/12=http://x").is_err());
        let (_, s) = parse_credentials("eu-west-1/123456789012=AKID:SECRET").expect("parses");
        assert_eq!(s.access_key_id, "AKID");
        assert_eq!(s.secret_access_key, "SECRET");
    }
}
