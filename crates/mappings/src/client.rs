//! [`QueueClient`]: what a poller asks of an SQS-compatible queue, in SQS's own terms
//! (ReceiveMessage with long polling, DeleteMessageBatch, ChangeMessageVisibilityBatch,
//! GetQueueAttributes). The server has two: calls on its own queues in-process
//! (`crate::local`), and SQS's AWS JSON 1.0 over HTTP to another endpoint
//! (`crate::http`); tests script one.

use std::collections::BTreeMap;
use std::sync::Arc;

use hearth_model::event_source_mapping::EventSourceMapping;
use serde::Deserialize;

use crate::BoxFuture;

/// One ReceiveMessage call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receive {
    /// 1 to 10.
    pub max_messages: u32,
    /// Long polling: up to 20 s.
    pub wait_seconds: u32,
    /// The visibility timeout of what is received; the queue's own when `None`.
    pub visibility_timeout: Option<u32>,
}

/// A message attribute as SQS's JSON protocol writes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeValue {
    pub data_type: String,
    #[serde(default)]
    pub string_value: Option<String>,
    /// Base64, as the wire carries it.
    #[serde(default)]
    pub binary_value: Option<String>,
    #[serde(default)]
    pub string_list_values: Vec<String>,
    #[serde(default)]
    pub binary_list_values: Vec<String>,
}

/// A received message, as ReceiveMessage answers it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Message {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    #[serde(rename = "MD5OfBody", default)]
    pub md5_of_body: String,
    #[serde(rename = "MD5OfMessageAttributes", default)]
    pub md5_of_message_attributes: Option<String>,
    /// System attributes (`ApproximateReceiveCount`, `SentTimestamp`, `SenderId`,
    /// `ApproximateFirstReceiveTimestamp`, FIFO's `SequenceNumber`, `MessageGroupId`,
    /// `MessageDeduplicationId`).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub message_attributes: BTreeMap<String, AttributeValue>,
}

impl Message {
    /// The FIFO message group, if the queue is a FIFO one.
    pub fn group(&self) -> Option<&str> {
        self.attributes.get("MessageGroupId").map(String::as_str)
    }
}

/// One entry of a batch call: an id of the caller's and the receipt handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub receipt_handle: String,
}

/// Why a call to the queue failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue answered an error (`code` as SQS names it, e.g. `AWS.SimpleQueueService.NonExistentQueue`).
    #[error("{code}: {message}")]
    Service { code: String, message: String },
    /// The queue could not be reached or answered something unreadable.
    #[error("{0}")]
    Transport(String),
}

impl QueueError {
    /// Whether the queue is gone (a poller stops trying until the mapping changes).
    pub fn is_missing_queue(&self) -> bool {
        matches!(self, Self::Service { code, .. } if code.contains("NonExistentQueue") || code.contains("QueueDoesNotExist"))
    }
}

/// An SQS-compatible queue as a poller uses it; each call names the queue by its ARN.
pub trait QueueClient: Send + Sync {
    /// ReceiveMessage with every system and message attribute.
    fn receive<'a>(
        &'a self,
        queue_arn: &'a str,
        req: Receive,
    ) -> BoxFuture<'a, Result<Vec<Message>, QueueError>>;

    /// DeleteMessageBatch (at most 10 entries): the ids that failed.
    fn delete_batch<'a>(
        &'a self,
        queue_arn: &'a str,
        entries: Vec<Entry>,
    ) -> BoxFuture<'a, Result<Vec<String>, QueueError>>;

    /// ChangeMessageVisibilityBatch (at most 10 entries) to `timeout` seconds: the ids
    /// that failed.
    fn change_visibility_batch<'a>(
        &'a self,
        queue_arn: &'a str,
        entries: Vec<Entry>,
        timeout: u32,
    ) -> BoxFuture<'a, Result<Vec<String>, QueueError>>;

    /// GetQueueAttributes of `names`.
    fn attributes<'a>(
        &'a self,
        queue_arn: &'a str,
        names: &'a [&'a str],
    ) -> BoxFuture<'a, Result<BTreeMap<String, String>, QueueError>>;
}

/// Makes the client a mapping polls its queue with: this server's own queues, called
/// with the execution role of the mapping's function (at its qualifier), or the endpoint
/// configured for the queue's region and account, with that endpoint's credentials.
pub trait QueueClients: Send + Sync {
    fn client(&self, mapping: &EventSourceMapping) -> Arc<dyn QueueClient>;
}
