//! Which SQS endpoint a mapping polls, and with whose credentials ([`Endpoints`], the
//! server's [`QueueClients`]): Hearth's own port with a session of the function's
//! execution role, unless the queue's region and account are configured to another
//! SQS-compatible endpoint (`--sqs-endpoint REGION/ACCOUNT=URL`), which is signed with
//! that endpoint's own credentials.

use std::collections::HashMap;
use std::sync::Arc;

use hearth_model::event_source_mapping::sqs_queue;

use crate::client::{QueueClient, QueueClients};
use crate::http::{http_client, CredentialSource, HttpClient, HttpQueueClient, Secret};

/// Mints the session credentials of a function's execution role, as Lambda polls with
/// the role; `None` when the server does not authenticate (requests go unsigned).
pub trait RoleSessions: Send + Sync {
    fn session(&self, role_arn: &str, session_name: &str) -> Option<Secret>;
}

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
    own: String,
    sessions: Arc<dyn RoleSessions>,
    overrides: HashMap<(String, String), Override>,
    http: HttpClient,
}

impl Endpoints {
    /// Hearth's own endpoint (`http://127.0.0.1:9000`) with role sessions from
    /// `sessions`, and the configured other endpoints.
    pub fn new(
        own: &str,
        sessions: Arc<dyn RoleSessions>,
        overrides: HashMap<(String, String), Override>,
    ) -> Self {
        Self {
            own: own.to_string(),
            sessions,
            overrides,
            http: http_client(),
        }
    }
}

/// A role's session, minted afresh for each call.
struct RoleSource {
    sessions: Arc<dyn RoleSessions>,
    role: String,
    name: String,
}

impl CredentialSource for RoleSource {
    fn credentials(&self) -> Option<Secret> {
        self.sessions.session(&self.role, &self.name)
    }
}

impl QueueClients for Endpoints {
    fn client(&self, queue_arn: &str, role_arn: &str, session: &str) -> Arc<dyn QueueClient> {
        let (region, account) = sqs_queue(queue_arn).map_or_else(
            || (String::new(), String::new()),
            |q| (q.region.to_string(), q.account.to_string()),
        );
        let signing_region = if region.is_empty() {
            hearth_model::arn::REGION.to_string()
        } else {
            region.clone()
        };
        match self.overrides.get(&(region, account)) {
            Some(o) => Arc::new(HttpQueueClient::new(
                &o.url,
                &signing_region,
                Arc::new(o.credentials.clone()),
                self.http.clone(),
            )),
            None => Arc::new(HttpQueueClient::new(
                &self.own,
                &signing_region,
                Arc::new(RoleSource {
                    sessions: self.sessions.clone(),
                    role: role_arn.to_string(),
                    name: session.to_string(),
                }),
                self.http.clone(),
            )),
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
