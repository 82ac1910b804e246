//! The values passed between the engine and the Runtime API handlers.

use bytes::Bytes;
use tokio::sync::mpsc;

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
    /// Where a streamed response goes as the runtime writes it, when the caller reads
    /// the response as a stream (`InvokeWithResponseStream`); without it a streamed
    /// response is buffered whole, as a buffered one.
    pub stream: Option<ResponseSink>,
}

/// The sending end of a streamed response. Bounded: a caller that reads slowly makes
/// the runtime's writes wait (back-pressure), nothing piles up in memory.
pub type ResponseSink = mpsc::Sender<StreamPart>;

/// A piece of a streamed response, in the order the runtime sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamPart {
    /// The runtime began a streamed response; always the first part.
    Start {
        /// The `Content-Type` of its post (`application/octet-stream` if none).
        content_type: String,
    },
    /// Bytes as the runtime wrote them.
    Chunk(Bytes),
}

/// A function error reported by a runtime: the body it posted (or the decoded
/// `Lambda-Runtime-Function-Error-Body` trailer of a stream) and its error type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionFailure {
    pub body: Bytes,
    pub error_type: Option<String>,
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
    /// A streamed response went to the invocation's [`ResponseSink`] (its parts are
    /// there, in order, before this outcome is sent); `failure` is the error the
    /// runtime reported in the stream's trailers, if any.
    Streamed {
        bytes: u64,
        failure: Option<FunctionFailure>,
    },
    /// A streamed response broke off after `bytes` (the runtime's connection closed
    /// before the body ended, as when it crashes while writing).
    StreamBroken {
        bytes: u64,
    },
    /// A streamed response passed [`hearth_model::limits::STREAM_RESPONSE_MAX_BYTES`];
    /// what came before went to the sink, the rest was refused with a 413.
    StreamTooLarge,
}

/// When the Runtime API received an invocation's response, for the Telemetry API's
/// `platform.runtimeDone` spans and `producedBytes`. Noted only while an extension is
/// subscribed (see [`crate::RuntimeApi::take_response_timing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseTiming {
    /// The response's request arrived (its headers; the body follows): the runtime's
    /// first response byte, as far as the Runtime API can tell.
    pub first_byte: std::time::Instant,
    /// The response's body was read to its end.
    pub done: std::time::Instant,
    /// The response's size in bytes (what reached Hearth, for a stream cut short too).
    pub bytes: u64,
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
