//! The [`QueueClient`] of the queues this server serves itself: calls on
//! [`hearth_sqs::Sqs`] in-process, with no HTTP, signing or TLS between the poller and
//! its queue. Lambda polls with the function's execution role, so each call is first
//! authorized as the API would authorize the role's own request: the role (of the
//! mapping's version or alias, [`Invoker::role_may_call`]) must be allowed the call's
//! action on the queue, with the queue's `Policy` as its resource policy, which can let
//! another account's role in and deny anyone. The role is the engine's to judge, asked
//! through the [`Invoker`] as a source asks it everything.
//!
//! A node that does not serve SQS (on a fleet, another node holds the `sqs` lease)
//! answers a transport error, which the poller retries.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use hearth_model::event_source_mapping::sqs_queue;
use hearth_sqs::{ErrorKind, QueueId, ReceiveRequest, ReceivedMessage, Sqs, SqsError};
use hearth_triggers::{EngineError, Invoker};

use crate::client::{AttributeValue, Entry, Message, QueueClient, QueueError, Receive};
use crate::BoxFuture;

/// SQS's actions, as the API authorizes the operations a poller calls.
const RECEIVE: &str = "sqs:ReceiveMessage";
const DELETE: &str = "sqs:DeleteMessage";
const CHANGE_VISIBILITY: &str = "sqs:ChangeMessageVisibility";
const GET_ATTRIBUTES: &str = "sqs:GetQueueAttributes";

/// This server's queues, as one mapping's pollers call them: with the execution role of
/// the mapping's function at its qualifier.
pub struct LocalQueueClient {
    sqs: Sqs,
    invoker: Invoker,
    /// The function's key, and the version or alias the mapping names.
    function: String,
    qualifier: Option<String>,
}

impl LocalQueueClient {
    pub fn new(sqs: Sqs, invoker: Invoker, function: &str, qualifier: Option<&str>) -> Self {
        Self {
            sqs,
            invoker,
            function: function.to_string(),
            qualifier: qualifier.map(str::to_string),
        }
    }

    /// The queue `queue_arn` names here, and whether the role may call `action` on it;
    /// a queue of another region is none of this server's.
    async fn authorized(&self, queue_arn: &str, action: &str) -> Result<QueueId, QueueError> {
        let q = sqs_queue(queue_arn)
            .ok_or_else(|| QueueError::Transport(format!("not a queue ARN: {queue_arn}")))?;
        let id = QueueId {
            account: q.account.to_string(),
            name: q.name.to_string(),
        };
        let exists = q.region == hearth_sqs::REGION;
        // The API authorizes before it looks for the queue: a role that may not call the
        // queue learns nothing of whether it exists.
        // The policy is read where SQS is served (another node of a fleet, perhaps): none
        // when the queue has none or does not exist.
        let policy = if exists {
            self.sqs.resource_policy(&id).await.map_err(queue_error)?
        } else {
            None
        };
        let allowed = self
            .invoker
            .role_may_call(
                &self.function,
                self.qualifier.as_deref(),
                action,
                queue_arn,
                policy.as_ref(),
            )
            .map_err(role_error)?;
        if !allowed {
            return Err(QueueError::Service {
                code: "AccessDenied".into(),
                message: format!(
                    "The execution role of {} is not authorized to perform: {action} on resource: {queue_arn}",
                    hearth_model::arn::function_arn(&self.function, self.qualifier.as_deref())
                ),
            });
        }
        if !exists {
            return Err(queue_error(SqsError::no_queue()));
        }
        Ok(id)
    }

    /// A receive's error: a node that stood down while the long poll waited answers that
    /// the queue is gone, which is a transport matter if the node no longer serves SQS.
    async fn receive_error(&self, id: &QueueId, e: SqsError) -> QueueError {
        if e.kind == ErrorKind::QueueDoesNotExist {
            if let Err(now) = self.sqs.get_queue_attributes(id, &[]).await {
                return queue_error(now);
            }
        }
        queue_error(e)
    }
}

/// The service's own failures (the store, another node serving SQS) are worth retrying;
/// the rest are the queue's answers, in SQS's codes.
fn queue_error(e: SqsError) -> QueueError {
    match e.kind {
        ErrorKind::Unavailable | ErrorKind::Internal => QueueError::Transport(e.message),
        kind => QueueError::Service {
            code: kind.query_code().to_string(),
            message: e.message,
        },
    }
}

/// The role could not be read: the function is gone, or the store failed.
fn role_error(e: EngineError) -> QueueError {
    match e {
        EngineError::NotFound(m) => QueueError::Service {
            code: "ResourceNotFoundException".into(),
            message: m.to_string(),
        },
        other => QueueError::Transport(other.to_string()),
    }
}

/// A received message as ReceiveMessage's JSON answer carries it.
fn message(m: ReceivedMessage) -> Message {
    let b64 = base64::engine::general_purpose::STANDARD;
    Message {
        message_id: m.message_id,
        receipt_handle: m.receipt_handle,
        body: m.body,
        md5_of_body: m.md5_of_body,
        md5_of_message_attributes: m.md5_of_message_attributes,
        attributes: m.attributes,
        message_attributes: m
            .message_attributes
            .into_iter()
            .map(|(name, a)| {
                (
                    name,
                    AttributeValue {
                        data_type: a.data_type,
                        string_value: a.string_value,
                        binary_value: a.binary_value.map(|b| b64.encode(b)),
                        string_list_values: Vec::new(),
                        binary_list_values: Vec::new(),
                    },
                )
            })
            .collect(),
    }
}

/// The ids of a batch's failed entries.
fn failed<T>(results: Vec<hearth_sqs::EntryResult<T>>) -> Vec<String> {
    results
        .into_iter()
        .filter_map(|(id, r)| r.is_err().then_some(id))
        .collect()
}

impl QueueClient for LocalQueueClient {
    fn receive<'a>(
        &'a self,
        queue_arn: &'a str,
        req: Receive,
    ) -> BoxFuture<'a, Result<Vec<Message>, QueueError>> {
        Box::pin(async move {
            let id = self.authorized(queue_arn, RECEIVE).await?;
            let all = vec!["All".to_string()];
            let got = match self
                .sqs
                .receive_message(
                    &id,
                    ReceiveRequest {
                        max_messages: Some(i64::from(req.max_messages)),
                        visibility_timeout: req.visibility_timeout.map(i64::from),
                        wait_seconds: Some(i64::from(req.wait_seconds)),
                        attribute_names: all.clone(),
                        message_attribute_names: all,
                        attempt_id: None,
                    },
                )
                .await
            {
                Ok(got) => got,
                Err(e) => return Err(self.receive_error(&id, e).await),
            };
            Ok(got.into_iter().map(message).collect())
        })
    }

    fn delete_batch<'a>(
        &'a self,
        queue_arn: &'a str,
        entries: Vec<Entry>,
    ) -> BoxFuture<'a, Result<Vec<String>, QueueError>> {
        Box::pin(async move {
            let id = self.authorized(queue_arn, DELETE).await?;
            let pairs = entries
                .into_iter()
                .map(|e| (e.id, e.receipt_handle))
                .collect();
            let results = self
                .sqs
                .delete_message_batch(&id, pairs)
                .await
                .map_err(queue_error)?;
            Ok(failed(results))
        })
    }

    fn change_visibility_batch<'a>(
        &'a self,
        queue_arn: &'a str,
        entries: Vec<Entry>,
        timeout: u32,
    ) -> BoxFuture<'a, Result<Vec<String>, QueueError>> {
        Box::pin(async move {
            let id = self.authorized(queue_arn, CHANGE_VISIBILITY).await?;
            let triples = entries
                .into_iter()
                .map(|e| (e.id, e.receipt_handle, i64::from(timeout)))
                .collect();
            let results = self
                .sqs
                .change_message_visibility_batch(&id, triples)
                .await
                .map_err(queue_error)?;
            Ok(failed(results))
        })
    }

    fn attributes<'a>(
        &'a self,
        queue_arn: &'a str,
        names: &'a [&'a str],
    ) -> BoxFuture<'a, Result<BTreeMap<String, String>, QueueError>> {
        Box::pin(async move {
            let id = self.authorized(queue_arn, GET_ATTRIBUTES).await?;
            let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            self.sqs
                .get_queue_attributes(&id, &names)
                .await
                .map_err(queue_error)
        })
    }
}

/// The local queues, as [`crate::Endpoints`] hands them out.
#[derive(Clone)]
pub struct LocalQueues {
    pub sqs: Sqs,
    pub invoker: Invoker,
}

impl LocalQueues {
    pub fn client(&self, function: &str, qualifier: Option<&str>) -> Arc<dyn QueueClient> {
        Arc::new(LocalQueueClient::new(
            self.sqs.clone(),
            self.invoker.clone(),
            function,
            qualifier,
        ))
    }
}
