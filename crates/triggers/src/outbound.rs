//! [`MessageSink`]: how Hearth hands a message to an SQS queue or an SNS topic on a
//! function's behalf — an asynchronous invocation's record for its destination, its event
//! for the dead-letter queue, a mapping's failure record. The queue and topic services
//! sit above this crate; the server joins them to the sources that send through this
//! trait, as it joins the asynchronous queue to the [`crate::Invoker`].

use crate::BoxFuture;

/// A message attribute as SQS and SNS take it: `String`, `Number` or `Binary`
/// (base64 text) with its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageAttribute {
    pub name: String,
    pub data_type: String,
    pub value: String,
}

impl MessageAttribute {
    pub fn new(name: &str, data_type: &str, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            data_type: data_type.into(),
            value: value.into(),
        }
    }
}

/// What is sent: the body (an SQS message's, an SNS notification's `Message`) and its
/// attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundMessage {
    pub body: String,
    pub attributes: Vec<MessageAttribute>,
    /// For an event bus: the event's `detail-type` (the body is its detail).
    pub detail_type: Option<String>,
}

/// Why a message was not taken.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The queue or topic does not exist (or the ARN names neither).
    #[error("{0} does not exist")]
    NotFound(String),
    /// The queue or topic refused it: too large, a FIFO queue or topic (which Lambda does
    /// not send to), an invalid attribute. Sending it again would fail the same way.
    #[error("{0}")]
    Refused(String),
    /// The service could not take it now (its store failed).
    #[error("{0}")]
    Failed(String),
}

/// Sends messages to queues and topics by ARN. Authorization (the function's execution
/// role may `sqs:SendMessage` or `sns:Publish` on the target) is the sender's to check
/// first, with [`crate::Invoker::role_may_send_to`].
pub trait MessageSink: Send + Sync {
    /// Sends `message` to the SQS queue or SNS topic `target` names; returns once the
    /// queue or topic holds it durably.
    fn send<'a>(
        &'a self,
        target: &'a str,
        message: OutboundMessage,
    ) -> BoxFuture<'a, Result<(), SendError>>;
}
