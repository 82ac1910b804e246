//! The [`QueueClient`] of another SQS-compatible endpoint, configured for a queue's
//! region and account (`--sqs-endpoint`): SQS's AWS JSON 1.0 protocol over HTTP
//! (`POST /`, `X-Amz-Target: AmazonSQS.<Operation>`, `application/x-amz-json-1.0`),
//! SigV4-signed for the service `sqs` with the endpoint's credentials, or unsigned
//! without. Plain `http://` endpoints only. (This server's own queues are called
//! in-process: `crate::local`.)

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

use crate::client::{Entry, Message, QueueClient, QueueError, Receive};
use crate::BoxFuture;

/// Credentials to sign with.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// How long a call may take beyond its long poll.
const CALL_SLACK: Duration = Duration::from_secs(10);

/// A shared HTTP connection pool: one per server.
pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A pool for [`HttpQueueClient`]s.
pub fn http_client() -> HttpClient {
    let mut c = HttpConnector::new();
    c.set_nodelay(true);
    c.set_connect_timeout(Some(Duration::from_secs(5)));
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(c)
}

/// One endpoint, with the credentials to sign for it.
pub struct HttpQueueClient {
    /// `http://host:port`, without a trailing slash.
    endpoint: String,
    region: String,
    /// `None` sends unsigned requests.
    credentials: Option<Secret>,
    http: HttpClient,
}

impl HttpQueueClient {
    pub fn new(
        endpoint: &str,
        region: &str,
        credentials: Option<Secret>,
        http: HttpClient,
    ) -> Self {
        Self {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            region: region.to_string(),
            credentials,
            http,
        }
    }

    /// The queue's URL at this endpoint: `ENDPOINT/ACCOUNT/NAME`, as SQS forms them.
    fn queue_url(&self, queue_arn: &str) -> Result<String, QueueError> {
        let q = hearth_model::event_source_mapping::sqs_queue(queue_arn)
            .ok_or_else(|| QueueError::Transport(format!("not a queue ARN: {queue_arn}")))?;
        Ok(format!("{}/{}/{}", self.endpoint, q.account, q.name))
    }

    async fn call(&self, operation: &str, body: Value, wait: u32) -> Result<Value, QueueError> {
        let payload = serde_json::to_vec(&body).expect("JSON values serialize");
        let uri = format!("{}/", self.endpoint);
        let host = uri
            .split("://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or("localhost")
            .to_string();
        let target = format!("AmazonSQS.{operation}");
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), host),
            ("content-type".into(), "application/x-amz-json-1.0".into()),
            ("x-amz-target".into(), target),
        ];
        if let Some(secret) = &self.credentials {
            headers.extend(signature(
                &self.region,
                &uri,
                &headers,
                &payload,
                secret,
                SystemTime::now(),
            )?);
        }
        let mut req = http::Request::post(&uri);
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req
            .body(Full::new(Bytes::from(payload)))
            .map_err(|e| QueueError::Transport(e.to_string()))?;
        let limit = Duration::from_secs(u64::from(wait)) + CALL_SLACK;
        let resp = tokio::time::timeout(limit, self.http.request(req))
            .await
            .map_err(|_| QueueError::Transport(format!("{operation} timed out")))?
            .map_err(|e| QueueError::Transport(e.to_string()))?;
        let status = resp.status();
        let query_error = resp
            .headers()
            .get("x-amzn-query-error")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).to_string());
        let bytes = tokio::time::timeout(limit, resp.into_body().collect())
            .await
            .map_err(|_| QueueError::Transport(format!("{operation} timed out")))?
            .map_err(|e| QueueError::Transport(e.to_string()))?
            .to_bytes();
        let v: Value = if bytes.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|e| QueueError::Transport(format!("{operation}: {e}")))?
        };
        if status.is_success() {
            return Ok(v);
        }
        let code = query_error.unwrap_or_else(|| {
            v["__type"]
                .as_str()
                .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
                .unwrap_or_else(|| status.to_string())
        });
        let message = v["message"]
            .as_str()
            .or_else(|| v["Message"].as_str())
            .unwrap_or("")
            .to_string();
        Err(QueueError::Service { code, message })
    }

    fn entries(entries: &[Entry]) -> Value {
        json!(entries
            .iter()
            .map(|e| json!({"Id": e.id, "ReceiptHandle": e.receipt_handle}))
            .collect::<Vec<_>>())
    }
}

/// The SigV4 headers (`authorization`, `x-amz-date`, and the session token's) of a
/// request to the service `sqs` signed at `at`.
fn signature(
    region: &str,
    uri: &str,
    headers: &[(String, String)],
    payload: &[u8],
    secret: &Secret,
    at: SystemTime,
) -> Result<Vec<(String, String)>, QueueError> {
    let identity = Credentials::new(
        secret.access_key_id.clone(),
        secret.secret_access_key.clone(),
        secret.session_token.clone(),
        None,
        "hearth-mappings",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sqs")
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| QueueError::Transport(e.to_string()))?
        .into();
    let signable = SignableRequest::new(
        "POST",
        uri,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(payload),
    )
    .map_err(|e| QueueError::Transport(e.to_string()))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| QueueError::Transport(e.to_string()))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

/// The ids of a batch answer's `Failed` entries.
fn failed_ids(v: &Value) -> Vec<String> {
    v["Failed"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["Id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl QueueClient for HttpQueueClient {
    fn receive<'a>(
        &'a self,
        queue_arn: &'a str,
        req: Receive,
    ) -> BoxFuture<'a, Result<Vec<Message>, QueueError>> {
        Box::pin(async move {
            let mut body = json!({
                "QueueUrl": self.queue_url(queue_arn)?,
                "MaxNumberOfMessages": req.max_messages,
                "WaitTimeSeconds": req.wait_seconds,
                "AttributeNames": ["All"],
                "MessageSystemAttributeNames": ["All"],
                "MessageAttributeNames": ["All"],
            });
            if let Some(v) = req.visibility_timeout {
                body["VisibilityTimeout"] = json!(v);
            }
            let v = self.call("ReceiveMessage", body, req.wait_seconds).await?;
            match v.get("Messages") {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(m) => serde_json::from_value(m.clone())
                    .map_err(|e| QueueError::Transport(format!("ReceiveMessage: {e}"))),
            }
        })
    }

    fn delete_batch<'a>(
        &'a self,
        queue_arn: &'a str,
        entries: Vec<Entry>,
    ) -> BoxFuture<'a, Result<Vec<String>, QueueError>> {
        Box::pin(async move {
            let body = json!({
                "QueueUrl": self.queue_url(queue_arn)?,
                "Entries": Self::entries(&entries),
            });
            Ok(failed_ids(&self.call("DeleteMessageBatch", body, 0).await?))
        })
    }

    fn change_visibility_batch<'a>(
        &'a self,
        queue_arn: &'a str,
        entries: Vec<Entry>,
        timeout: u32,
    ) -> BoxFuture<'a, Result<Vec<String>, QueueError>> {
        Box::pin(async move {
            let list: Vec<Value> = entries
                .iter()
                .map(|e| json!({"Id": e.id, "ReceiptHandle": e.receipt_handle, "VisibilityTimeout": timeout}))
                .collect();
            let body = json!({ "QueueUrl": self.queue_url(queue_arn)?, "Entries": list });
            Ok(failed_ids(
                &self.call("ChangeMessageVisibilityBatch", body, 0).await?,
            ))
        })
    }

    fn attributes<'a>(
        &'a self,
        queue_arn: &'a str,
        names: &'a [&'a str],
    ) -> BoxFuture<'a, Result<BTreeMap<String, String>, QueueError>> {
        Box::pin(async move {
            let body = json!({ "QueueUrl": self.queue_url(queue_arn)?, "AttributeNames": names });
            let v = self.call("GetQueueAttributes", body, 0).await?;
            Ok(v["Attributes"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                        .collect()
                })
                .unwrap_or_default())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signature botocore's SigV4Auth makes of the same request (credentials
    /// AKID/SECRET, 2024-01-01T00:00:00Z), so that any SQS endpoint that verifies as AWS
    /// does accepts the poller's requests.
    #[test]
    fn requests_are_signed_as_botocore_signs_them() {
        let headers = vec![
            ("host".to_string(), "127.0.0.1:9000".to_string()),
            (
                "content-type".to_string(),
                "application/x-amz-json-1.0".to_string(),
            ),
            (
                "x-amz-target".to_string(),
                "AmazonSQS.ReceiveMessage".to_string(),
            ),
        ];
        let secret = Secret {
            access_key_id: "AKID".into(),
            secret_access_key: "SECRET".into(),
            session_token: None,
        };
        let at = std::time::UNIX_EPOCH + Duration::from_secs(1_704_067_200);
        let signed = signature(
            "us-east-1",
            "http://127.0.0.1:9000/",
            &headers,
            br#"{"a":1}"#,
            &secret,
            at,
        )
        .expect("signed");
        let auth = signed
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.as_str())
            .expect("an authorization header");
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/sqs/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-target, \
             Signature=8988855bb51fb2faf378fff90cb6fada6451000c719ec5b007686f3b9bb33dc2"
        );
    }
}
