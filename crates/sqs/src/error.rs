//! [`SqsError`]: every error an SQS operation answers, with what both wire protocols
//! need to write it (the JSON protocol's `__type` shape, the query protocol's code, which
//! SDKs also read from the JSON answer's `x-amzn-query-error` header, and the status).

use serde::{Deserialize, Serialize};

/// What went wrong, as the SQS model names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    QueueDoesNotExist,
    QueueNameExists,
    /// CreateQueue of a name whose queue was deleted less than 60 s ago.
    QueueDeletedRecently,
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidParameterValue,
    MissingParameter,
    InvalidMessageContents,
    ReceiptHandleIsInvalid,
    MessageNotInflight,
    PurgeQueueInProgress,
    EmptyBatchRequest,
    TooManyEntriesInBatchRequest,
    BatchEntryIdsNotDistinct,
    InvalidBatchEntryId,
    BatchRequestTooLong,
    UnsupportedOperation,
    ResourceNotFound,
    OverLimit,
    InvalidAddress,
    InvalidSecurity,
    /// SQS is not served here and the call could not be sent to the node that serves it
    /// (or it is being handed over).
    Unavailable,
    /// Hearth's own failure (the store): the client sees little.
    Internal,
}

impl ErrorKind {
    /// The error's shape in the JSON protocol (`com.amazonaws.sqs#<shape>`).
    pub fn shape(self) -> &'static str {
        match self {
            Self::QueueDoesNotExist => "QueueDoesNotExist",
            Self::QueueNameExists => "QueueNameExists",
            Self::QueueDeletedRecently => "QueueDeletedRecently",
            Self::InvalidAttributeName => "InvalidAttributeName",
            Self::InvalidAttributeValue => "InvalidAttributeValue",
            Self::InvalidParameterValue => "InvalidParameterValueException",
            Self::MissingParameter => "MissingRequiredParameterException",
            Self::InvalidMessageContents => "InvalidMessageContents",
            Self::ReceiptHandleIsInvalid => "ReceiptHandleIsInvalid",
            Self::MessageNotInflight => "MessageNotInflight",
            Self::PurgeQueueInProgress => "PurgeQueueInProgress",
            Self::EmptyBatchRequest => "EmptyBatchRequest",
            Self::TooManyEntriesInBatchRequest => "TooManyEntriesInBatchRequest",
            Self::BatchEntryIdsNotDistinct => "BatchEntryIdsNotDistinct",
            Self::InvalidBatchEntryId => "InvalidBatchEntryId",
            Self::BatchRequestTooLong => "BatchRequestTooLong",
            Self::UnsupportedOperation => "UnsupportedOperation",
            Self::ResourceNotFound => "ResourceNotFoundException",
            Self::OverLimit => "OverLimit",
            Self::InvalidAddress => "InvalidAddress",
            Self::InvalidSecurity => "InvalidSecurity",
            Self::Unavailable => "ServiceUnavailable",
            Self::Internal => "InternalError",
        }
    }

    /// The error's code in the query protocol (and the JSON answer's
    /// `x-amzn-query-error` header, from which SDKs take the error code).
    pub fn query_code(self) -> &'static str {
        match self {
            Self::QueueDoesNotExist => "AWS.SimpleQueueService.NonExistentQueue",
            Self::QueueNameExists => "QueueAlreadyExists",
            Self::QueueDeletedRecently => "AWS.SimpleQueueService.QueueDeletedRecently",
            Self::InvalidAttributeName => "InvalidAttributeName",
            Self::InvalidAttributeValue => "InvalidAttributeValue",
            Self::InvalidParameterValue => "InvalidParameterValue",
            Self::MissingParameter => "MissingParameter",
            Self::InvalidMessageContents => "InvalidMessageContents",
            Self::ReceiptHandleIsInvalid => "ReceiptHandleIsInvalid",
            Self::MessageNotInflight => "AWS.SimpleQueueService.MessageNotInflight",
            Self::PurgeQueueInProgress => "AWS.SimpleQueueService.PurgeQueueInProgress",
            Self::EmptyBatchRequest => "AWS.SimpleQueueService.EmptyBatchRequest",
            Self::TooManyEntriesInBatchRequest => {
                "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
            }
            Self::BatchEntryIdsNotDistinct => "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            Self::InvalidBatchEntryId => "AWS.SimpleQueueService.InvalidBatchEntryId",
            Self::BatchRequestTooLong => "AWS.SimpleQueueService.BatchRequestTooLong",
            Self::UnsupportedOperation => "AWS.SimpleQueueService.UnsupportedOperation",
            Self::ResourceNotFound => "ResourceNotFoundException",
            Self::OverLimit => "OverLimit",
            Self::InvalidAddress => "InvalidAddress",
            Self::InvalidSecurity => "InvalidSecurity",
            Self::Unavailable => "ServiceUnavailable",
            Self::Internal => "InternalError",
        }
    }

    /// The HTTP status (the query-protocol model's `httpStatusCode`, which SQS answers
    /// in both protocols).
    pub fn status(self) -> u16 {
        match self {
            Self::OverLimit | Self::InvalidSecurity | Self::PurgeQueueInProgress => 403,
            Self::ResourceNotFound => 404,
            Self::Internal => 500,
            Self::Unavailable => 503,
            _ => 400,
        }
    }

    /// Whether the client is at fault (`Sender`) rather than the service (`Receiver`).
    pub fn sender(self) -> bool {
        !matches!(self, Self::Internal | Self::Unavailable)
    }
}

/// An SQS error: its kind and AWS's message. Serializable: the node that serves SQS
/// answers other nodes' calls with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{message}")]
pub struct SqsError {
    pub kind: ErrorKind,
    pub message: String,
}

impl SqsError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn no_queue() -> Self {
        Self::new(
            ErrorKind::QueueDoesNotExist,
            "The specified queue does not exist.",
        )
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameterValue, message)
    }

    /// `Value V for parameter P is invalid. Reason: R`.
    pub fn invalid_value(param: &str, value: &str, reason: &str) -> Self {
        Self::invalid(format!(
            "Value {value} for parameter {param} is invalid. Reason: {reason}"
        ))
    }

    pub fn missing(param: &str) -> Self {
        Self::new(
            ErrorKind::MissingParameter,
            format!("The request must contain the parameter {param}."),
        )
    }

    /// The store failed: logged in full, answered briefly.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "SQS could not reach its store");
        Self::new(
            ErrorKind::Internal,
            "We encountered an internal error. Please try again.",
        )
    }
}
