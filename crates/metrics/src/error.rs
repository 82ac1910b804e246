//! The errors CloudWatch answers, with AWS's codes: the wire codecs of `hearth-api` put
//! them in each protocol's error shape.

use hearth_store::StoreError;

/// A refused or failed CloudWatch operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct CloudWatchError {
    /// AWS's error code (`InvalidParameterValue`, `ResourceNotFound`, ...).
    pub code: String,
    pub message: String,
    /// The HTTP status AWS answers with it.
    pub status: u16,
    /// Whether the caller is at fault (the query protocol's `Sender`; else `Receiver`).
    pub sender_fault: bool,
}

impl CloudWatchError {
    /// A caller's error with AWS's `code` and HTTP 400.
    pub fn client(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            message: message.into(),
            status: 400,
            sender_fault: true,
        }
    }

    /// An operation this service does not have.
    pub fn unknown_operation(op: &str) -> Self {
        Self::client(
            "UnknownOperationException",
            format!("The operation {op} is not supported by Hearth's CloudWatch."),
        )
    }

    /// The store failed: `InternalServiceError` (HTTP 500), as AWS names it.
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            code: "InternalServiceError".to_string(),
            message: message.into(),
            status: 500,
            sender_fault: false,
        }
    }
}

impl From<StoreError> for CloudWatchError {
    fn from(e: StoreError) -> Self {
        Self::internal(e.to_string())
    }
}
