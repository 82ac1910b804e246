//! InvokeWithResponseStream (`POST /2021-11-15/functions/{fn}/response-streaming-invocations`):
//! a synchronous invoke whose answer is an AWS event stream of `PayloadChunk` events,
//! sent as the function writes, and one `InvokeComplete` (the function's error, the log
//! tail). The response's `Content-Type` is the type the function gave its stream (the
//! model's `ResponseStreamContentType`). Errors before the function runs (no such
//! function, throttled, a bad header) answer exactly as Invoke answers them. In a fleet
//! the call may run on another node, whose event stream is passed through (`forward.rs`).

use std::collections::HashMap;
use std::convert::Infallible;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use bytes::Bytes;
use hearth_model::limits::SYNC_REQUEST_MAX_BYTES;
use hearth_model::AwsError;
use hearth_triggers::{StreamEvent, StreamedInvoke};

use crate::error::ApiResult;
use crate::eventstream::lambda::{invoke_complete, payload_chunk, InvokeComplete};
use crate::functions::function_ref;
use crate::invoke::{client_context, header_str, log_tail, read_payload, SyncInvoke};
use crate::tenant::Tenant;
use crate::{AppState, RequestId};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/2021-11-15/functions/{function}/response-streaming-invocations",
        post(invoke_with_response_stream),
    )
}

async fn invoke_with_response_stream(
    State(s): State<AppState>,
    tenant: Tenant,
    Extension(RequestId(request_id)): Extension<RequestId>,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    // The headers, and the caller the authentication layer found (forwarded in a fleet).
    // Taken whole and split: a `Parts` extractor would clone the headers and extensions.
    request: axum::extract::Request,
) -> ApiResult<Response> {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let function = function_ref(&function, &query, &tenant)?;
    let dry_run = match header_str(headers, "x-amz-invocation-type").unwrap_or("RequestResponse") {
        "RequestResponse" => false,
        "DryRun" => true,
        other => {
            return Err(AwsError::constraint(
                other,
                "invocationType",
                "Member must satisfy enum value set: [RequestResponse, DryRun]",
            )
            .into())
        }
    };
    let log_tail = log_tail(headers)?;
    let client_context = client_context(headers)?;
    let payload = read_payload(body, SYNC_REQUEST_MAX_BYTES, "InvokeWithResponseStream").await?;
    let sync = SyncInvoke {
        request_id,
        function,
        payload,
        log_tail,
        client_context,
        dry_run,
        trace_id: header_str(headers, "x-amzn-trace-id").map(str::to_string),
    };
    if let Some(answer) = sync.forwarded(&s, &parts, true).await {
        return Ok(answer);
    }
    let streamed = s.invoker.invoke_stream(sync.into_request()).await?;
    Ok(respond(streamed, dry_run))
}

/// The answer: status, `X-Amz-Executed-Version`, the stream's content type, and the
/// events as the stream yields them (each one frame of the chunked body).
pub(crate) fn respond(streamed: StreamedInvoke, dry_run: bool) -> Response {
    if dry_run {
        let mut out = StatusCode::NO_CONTENT.into_response();
        set_version(out.headers_mut(), &streamed.executed_version);
        return out;
    }
    let version = streamed.executed_version.clone();
    let content_type = HeaderValue::from_str(&streamed.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let events = futures_util::stream::unfold(streamed, |mut s| async move {
        let frame = match s.next().await? {
            StreamEvent::Chunk(bytes) => payload_chunk(&bytes),
            StreamEvent::End(end) => {
                let (code, details) = end
                    .error
                    .as_ref()
                    .map(|e| (e.code.as_str(), e.details.as_str()))
                    .unzip();
                invoke_complete(&InvokeComplete {
                    error_code: code,
                    error_details: details,
                    log_result: end.log_result.as_deref(),
                })
            }
        };
        Some((Ok::<Bytes, Infallible>(frame), s))
    });
    let mut out = (StatusCode::OK, Body::from_stream(events)).into_response();
    let h = out.headers_mut();
    h.insert(header::CONTENT_TYPE, content_type);
    set_version(h, &version);
    out
}

fn set_version(h: &mut HeaderMap, version: &str) {
    if let Ok(v) = HeaderValue::from_str(version) {
        h.insert("x-amz-executed-version", v);
    }
}
