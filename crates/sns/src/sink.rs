//! [`QueueSink`]: how SNS hands a message to an SQS queue (a subscription of protocol
//! `sqs`, or a subscription's dead-letter queue) without depending on the SQS service.
//! The server implements it over Hearth's own queues.

use std::collections::BTreeMap;

use crate::message::MessageAttribute;
use crate::BoxFuture;

/// One message for a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// The body: the SNS notification JSON, or the raw message (`RawMessageDelivery`).
    pub body: String,
    /// SQS message attributes: the message's own with raw delivery, else none (they are
    /// inside the envelope). Types and values as SNS received them (binary values
    /// base64-encoded).
    pub attributes: BTreeMap<String, MessageAttribute>,
    /// FIFO topics: the message group and deduplication ids.
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    /// The sender the queue records (`SenderId`): SNS's service identity.
    pub sender_id: String,
    /// The topic the message comes from (the queue policy's `aws:SourceArn`).
    pub source_arn: String,
    /// The publisher's trace header: the queue message's `AWSTraceHeader`.
    pub trace_header: Option<String>,
}

/// Why a queue did not take a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// The queue does not exist (or is not reachable): a client-side failure, retried by
    /// the delivery policy and then sent to the dead-letter queue.
    #[error("the queue {0} does not exist")]
    NoQueue(String),
    /// The queue's policy does not let the topic send to it.
    #[error("the queue {0} does not allow the topic to send to it")]
    Denied(String),
    /// Anything else; retried.
    #[error("{0}")]
    Failed(String),
}

/// A place SNS delivers queue messages to.
pub trait QueueSink: Send + Sync + 'static {
    /// Sends `msg` to the queue `queue_arn`; done once the queue has it durably.
    fn send(&self, queue_arn: &str, msg: QueueMessage) -> BoxFuture<'_, Result<(), SinkError>>;
}

/// The sink of a server without queues: every queue is missing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoQueues;

impl QueueSink for NoQueues {
    fn send(&self, queue_arn: &str, _msg: QueueMessage) -> BoxFuture<'_, Result<(), SinkError>> {
        let arn = queue_arn.to_string();
        Box::pin(async move { Err(SinkError::NoQueue(arn)) })
    }
}
