//! [`EventsError`]: what a control-plane operation answers instead of its result — the
//! error code botocore's `events` model names and AWS's message for a client's mistake,
//! or the store's failure.

use hearth_store::StoreError;

/// An EventBridge operation's error.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// A client's mistake, as AWS answers it (`code` is the model's error shape; every
    /// one of them is answered with HTTP 400).
    #[error("{message}")]
    Client { code: &'static str, message: String },
    /// The store failed; the client is told little.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored record the service cannot read.
    #[error("{0}")]
    Internal(String),
}

impl EventsError {
    pub(crate) fn client(code: &'static str, message: impl Into<String>) -> Self {
        Self::Client {
            code,
            message: message.into(),
        }
    }

    /// `ValidationException` with AWS's whole message.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::client("ValidationException", message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::client("ResourceNotFoundException", message)
    }

    /// The error code the wire answers.
    pub fn code(&self) -> &str {
        match self {
            Self::Client { code, .. } => code,
            Self::Store(_) | Self::Internal(_) => "InternalException",
        }
    }
}

impl From<serde_json::Error> for EventsError {
    fn from(e: serde_json::Error) -> Self {
        Self::Internal(format!("corrupt EventBridge record: {e}"))
    }
}
