//! Streamed responses: a `POST /invocation/{id}/response` with
//! `Lambda-Runtime-Function-Response-Mode: streaming` and a chunked body, as Node's
//! `awslambda.streamifyResponse`, Rust's `lambda_runtime::streaming` and custom runtimes
//! send them. The bytes go to the invocation's [`ResponseSink`] as they arrive (the
//! body is not read further while the sink is full), or, when the caller wants the
//! answer whole (`Invoke`), are buffered up to the buffered limit. An error after the
//! stream began comes in the trailers `Lambda-Runtime-Function-Error-Type` and
//! `Lambda-Runtime-Function-Error-Body` (base64).

use axum::body::Body;
use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use hearth_model::limits::{STREAM_RESPONSE_MAX_BYTES, SYNC_RESPONSE_MAX_BYTES};
use http_body_util::BodyExt;

use crate::types::{FunctionFailure, Outcome, ResponseSink, StreamPart};

const MODE_HEADER: &str = "lambda-runtime-function-response-mode";
const ERROR_TYPE_TRAILER: &str = "lambda-runtime-function-error-type";
const ERROR_BODY_TRAILER: &str = "lambda-runtime-function-error-body";
/// What Node's client and Lambda assume when a stream names no type.
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// Whether a `/response` post is a streamed one.
pub(crate) fn is_streaming(headers: &HeaderMap) -> bool {
    headers
        .get(MODE_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("streaming"))
}

/// How reading a streamed post ended, for the runtime's answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Read {
    /// The whole body was read (202).
    Done,
    /// It passed the limit of `limit` bytes (413).
    TooLarge { limit: u64 },
    /// The body could not be read (the runtime's connection broke).
    Broken,
}

/// Reads a streamed post: into `sink` part by part when there is one, else buffered.
/// Returns the invocation's outcome and how reading ended.
pub(crate) async fn read(
    body: Body,
    headers: &HeaderMap,
    sink: Option<ResponseSink>,
) -> (Outcome, Read) {
    let streaming = sink.is_some();
    let mut sink = sink;
    if let Some(s) = &sink {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(DEFAULT_CONTENT_TYPE)
            .to_string();
        if s.send(StreamPart::Start { content_type }).await.is_err() {
            sink = None;
        }
    }
    let limit = if streaming {
        STREAM_RESPONSE_MAX_BYTES
    } else {
        SYNC_RESPONSE_MAX_BYTES as u64
    };
    let mut body = body;
    let mut buffer = BytesMut::new();
    let mut total: u64 = 0;
    let mut failure = None;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return (Outcome::StreamBroken { bytes: total }, Read::Broken);
        };
        let data = match frame.into_data() {
            Ok(data) => data,
            Err(frame) => {
                if let Ok(trailers) = frame.into_trailers() {
                    failure = failure_of(&trailers);
                }
                continue;
            }
        };
        if data.is_empty() {
            continue;
        }
        total += data.len() as u64;
        if total > limit {
            let outcome = if streaming {
                Outcome::StreamTooLarge
            } else {
                Outcome::ResponseTooLarge
            };
            return (outcome, Read::TooLarge { limit });
        }
        if !streaming {
            buffer.extend_from_slice(&data);
        } else if let Some(s) = &sink {
            // A caller that went away stops reading; the function still finishes, as
            // on Lambda, and what it writes is dropped.
            if s.send(StreamPart::Chunk(data)).await.is_err() {
                sink = None;
            }
        }
    }
    let outcome = match (streaming, failure) {
        (true, failure) => Outcome::Streamed {
            bytes: total,
            failure,
        },
        (false, None) => Outcome::Response(buffer.freeze()),
        (false, Some(f)) => Outcome::Error {
            body: f.body,
            error_type: f.error_type,
        },
    };
    (outcome, Read::Done)
}

/// The error a stream's trailers report, if they report one.
fn failure_of(trailers: &HeaderMap) -> Option<FunctionFailure> {
    let error_type = trailers
        .get(ERROR_TYPE_TRAILER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let raw = trailers.get(ERROR_BODY_TRAILER).map(|v| v.as_bytes());
    if error_type.is_none() && raw.is_none() {
        return None;
    }
    // The body is base64 by contract; a runtime that sent it plain still gets it seen.
    let body = raw
        .map(|r| {
            BASE64
                .decode(r)
                .map(Bytes::from)
                .unwrap_or_else(|_| Bytes::copy_from_slice(r))
        })
        .unwrap_or_default();
    Some(FunctionFailure { body, error_type })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_mode_header_is_read_case_blind() {
        let mut h = HeaderMap::new();
        assert!(!is_streaming(&h));
        h.insert(MODE_HEADER, HeaderValue::from_static("Streaming"));
        assert!(is_streaming(&h));
        h.insert(MODE_HEADER, HeaderValue::from_static("buffered"));
        assert!(!is_streaming(&h));
    }

    #[test]
    fn trailers_give_the_error_with_its_body_decoded() {
        let mut t = HeaderMap::new();
        assert_eq!(failure_of(&t), None);
        t.insert(ERROR_TYPE_TRAILER, HeaderValue::from_static("Error"));
        t.insert(
            ERROR_BODY_TRAILER,
            HeaderValue::from_str(&BASE64.encode(br#"{"errorMessage":"boom"}"#)).expect("ascii"),
        );
        assert_eq!(
            failure_of(&t),
            Some(FunctionFailure {
                body: Bytes::from_static(br#"{"errorMessage":"boom"}"#),
                error_type: Some("Error".into()),
            })
        );
    }
}
