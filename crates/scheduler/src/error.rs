//! [`SchedulerError`]: what an operation answers instead of its result — the error shape
//! botocore's `scheduler` model names (with the HTTP status the model gives it) and AWS's
//! message for a client's mistake, or the store's failure.

use hearth_store::StoreError;

/// An EventBridge Scheduler operation's error.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// A client's mistake, as AWS answers it (`code` is the model's error shape).
    #[error("{message}")]
    Client { code: &'static str, message: String },
    /// The store failed; the client is told little.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored record the service cannot read.
    #[error("{0}")]
    Internal(String),
}

/// The model's `ValidationException` (400).
pub const VALIDATION: &str = "ValidationException";
/// The model's `ResourceNotFoundException` (404).
pub const NOT_FOUND: &str = "ResourceNotFoundException";
/// The model's `ConflictException` (409).
pub const CONFLICT: &str = "ConflictException";
/// The model's `InternalServerException` (500).
pub const INTERNAL: &str = "InternalServerException";

impl SchedulerError {
    /// `ValidationException` with AWS's whole message.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::Client {
            code: VALIDATION,
            message: message.into(),
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::Client {
            code: NOT_FOUND,
            message: message.into(),
        }
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::Client {
            code: CONFLICT,
            message: message.into(),
        }
    }

    /// The error shape the wire names in `x-amzn-errortype`.
    pub fn code(&self) -> &str {
        match self {
            Self::Client { code, .. } => code,
            Self::Store(_) | Self::Internal(_) => INTERNAL,
        }
    }

    /// The HTTP status the model gives the error shape.
    pub fn status(&self) -> u16 {
        status_of(self.code())
    }
}

/// The HTTP status of one of the model's error shapes (`error.httpStatusCode`).
pub fn status_of(code: &str) -> u16 {
    match code {
        VALIDATION => 400,
        NOT_FOUND => 404,
        CONFLICT => 409,
        "ServiceQuotaExceededException" => 402,
        "ThrottlingException" => 429,
        _ => 500,
    }
}

impl From<serde_json::Error> for SchedulerError {
    fn from(e: serde_json::Error) -> Self {
        Self::Internal(format!("corrupt EventBridge Scheduler record: {e}"))
    }
}
