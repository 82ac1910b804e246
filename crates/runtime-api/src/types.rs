//! The values passed between the engine and the Runtime API handlers.

use bytes::Bytes;

/// One event for the runtime, with the context its `next` headers carry.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub payload: Bytes,
    /// Epoch milliseconds.
    pub deadline_ms: i64,
    pub invoked_function_arn: String,
    pub trace_id: String,
    /// Decoded JSON of the caller's base64 `X-Amz-Client-Context`.
    pub client_context: Option<String>,
    pub cognito_identity: Option<String>,
}

/// How the runtime finished an invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Response(Bytes),
    /// The body posted to `/error`, and its `Lambda-Runtime-Function-Error-Type` header.
    Error {
        body: Bytes,
        error_type: Option<String>,
    },
    /// The response was larger than Lambda allows; the runtime was told with a 413.
    ResponseTooLarge,
}

/// How the runtime's init phase ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitSignal {
    /// The runtime asked for its first event.
    Ready,
    /// The runtime posted to `/runtime/init/error`.
    Error {
        body: Bytes,
        error_type: Option<String>,
    },
}
