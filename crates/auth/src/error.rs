//! Why a request is not authenticated, as the kinds AWS tells apart. The API layer
//! turns each into its service's protocol (codes, status and body shape): see
//! [`AuthError::code`].

/// One failed authentication.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header and no presigned query.
    #[error("Missing Authentication Token")]
    Missing,
    /// A signature whose parts are missing or malformed.
    #[error("{0}")]
    Incomplete(String),
    /// An access key (or session token) this server does not know.
    #[error("The security token included in the request is invalid.")]
    UnknownKey,
    /// The signature does not match, with AWS's message for why (a wrong scope, an
    /// expired or not-yet-valid date, or simply a different signature).
    #[error("{0}")]
    Signature(String),
    /// Temporary credentials past their expiration.
    #[error("The security token included in the request is expired")]
    TokenExpired,
}

/// AWS's message for a signature computed differently than the client's.
pub const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// The protocol a service answers errors in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Lambda's REST-JSON: `x-amzn-ErrorType`, JSON `message`.
    RestJson,
    /// AWS JSON 1.0/1.1 (CloudWatch Logs): JSON `__type` and `message`.
    Json,
    /// The query protocol (IAM, STS): XML `ErrorResponse`.
    Query,
}

impl AuthError {
    /// A mismatched signature.
    pub fn mismatch() -> Self {
        Self::Signature(MISMATCH.to_string())
    }

    /// The error code in `protocol`.
    pub fn code(&self, protocol: Protocol) -> &'static str {
        let query = protocol == Protocol::Query;
        match (self, query) {
            (Self::Missing, false) => "MissingAuthenticationTokenException",
            (Self::Missing, true) => "MissingAuthenticationToken",
            (Self::Incomplete(_), false) => "IncompleteSignatureException",
            (Self::Incomplete(_), true) => "IncompleteSignature",
            (Self::UnknownKey, false) => "UnrecognizedClientException",
            (Self::UnknownKey, true) => "InvalidClientTokenId",
            (Self::Signature(_), false) => "InvalidSignatureException",
            (Self::Signature(_), true) => "SignatureDoesNotMatch",
            (Self::TokenExpired, false) => "ExpiredTokenException",
            (Self::TokenExpired, true) => "ExpiredToken",
        }
    }

    /// The message in `protocol` (the JSON 1.1 and query services word a missing
    /// token differently from Lambda's front end).
    pub fn message(&self, protocol: Protocol) -> String {
        match (self, protocol) {
            (Self::Missing, Protocol::RestJson) => "Missing Authentication Token".into(),
            (Self::Missing, _) => "Request is missing Authentication Token".into(),
            (other, _) => other.to_string(),
        }
    }

    /// The HTTP status in `protocol`: Lambda's front end answers 403 to every
    /// authentication failure; JSON 1.1 services 400; the query services 403, but 400
    /// for a malformed signature and an expired token.
    pub fn status(&self, protocol: Protocol) -> u16 {
        match (self, protocol) {
            (_, Protocol::RestJson) => 403,
            (_, Protocol::Json) => 400,
            (Self::Incomplete(_) | Self::TokenExpired, Protocol::Query) => 400,
            (_, Protocol::Query) => 403,
        }
    }
}
