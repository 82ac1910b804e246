//! [`SnsError`]: what an SNS operation answers instead of its result — AWS's error code,
//! status and message for a client's mistake, or the store's failure.

use hearth_store::StoreError;

/// An SNS operation's error.
#[derive(Debug, thiserror::Error)]
pub enum SnsError {
    /// A client's mistake, as AWS answers it (`code` is botocore's error code).
    #[error("{message}")]
    Client {
        code: &'static str,
        status: u16,
        message: String,
    },
    /// The store failed; the client is told little.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something of the service's own failed (a stored record it cannot read, its key).
    #[error("{0}")]
    Internal(String),
}

impl SnsError {
    fn client(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        Self::Client {
            code,
            status,
            message: message.into(),
        }
    }

    /// `InvalidParameter` (400): `Invalid parameter: {what}`.
    pub fn invalid(what: impl std::fmt::Display) -> Self {
        Self::client(
            "InvalidParameter",
            400,
            format!("Invalid parameter: {what}"),
        )
    }

    /// `ParameterValueInvalid` (400) with AWS's whole message.
    pub fn value_invalid(message: impl Into<String>) -> Self {
        Self::client("ParameterValueInvalid", 400, message)
    }

    /// `NotFound` (404) with AWS's whole message (`Topic does not exist`).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::client("NotFound", 404, message)
    }

    /// `Topic does not exist`.
    pub fn no_topic() -> Self {
        Self::not_found("Topic does not exist")
    }

    /// `Subscription does not exist`.
    pub fn no_subscription() -> Self {
        Self::not_found("Subscription does not exist")
    }

    /// `ResourceNotFound` (404): the tag operations' answer for a missing topic.
    pub fn no_resource() -> Self {
        Self::client("ResourceNotFound", 404, "Resource does not exist")
    }

    /// An error of the batch operation itself (`EmptyBatchRequest`, ...), 400.
    pub fn batch(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(code, 400, message)
    }

    /// `TagLimitExceeded` (400).
    pub fn tag_limit() -> Self {
        Self::client(
            "TagLimitExceeded",
            400,
            "Could not complete request: tag quota of per resource exceeded",
        )
    }

    /// `AuthorizationError` (403) with AWS's whole message.
    pub fn authorization(message: impl Into<String>) -> Self {
        Self::client("AuthorizationError", 403, message)
    }

    /// The error code the wire answers.
    pub fn code(&self) -> &str {
        match self {
            Self::Client { code, .. } => code,
            Self::Store(_) | Self::Internal(_) => "InternalError",
        }
    }
}
