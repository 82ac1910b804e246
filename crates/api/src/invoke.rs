//! Invoke (`POST /2015-03-31/functions/{fn}/invocations`): synchronous, dry run, or
//! asynchronous (`Event`, queued durably and answered 202); and the legacy InvokeAsync.
//! In a fleet a synchronous invoke may run on another node (`forward.rs`).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use hearth_engine::InvokeResponse;
use hearth_model::caller::Caller;
use hearth_model::event_invoke::ASYNC_REQUEST_MAX_BYTES;
use hearth_model::limits::{CLIENT_CONTEXT_MAX_BYTES, SYNC_REQUEST_MAX_BYTES};
use hearth_model::{AwsError, ErrorCode, FunctionRef};
use hearth_triggers::{EnqueueRequest, InvokeRequest};

use crate::error::{ApiError, ApiResult};
use crate::functions::function_ref;
use crate::tenant::Tenant;
use crate::{body, AppState, RequestId};

pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn invalid_content(message: impl Into<String>) -> ApiError {
    ApiError(AwsError::new(ErrorCode::InvalidRequestContent, message))
}

/// Reads an invoke payload: JSON (or nothing) within `limit` bytes.
pub(crate) async fn read_payload(body: Body, limit: usize, operation: &str) -> ApiResult<Bytes> {
    let payload = body::read(body, limit, operation).await?;
    check_payload(&payload).map_err(|detail| {
        invalid_content(format!(
            "Could not parse request body into json: Could not parse payload into json: {detail}"
        ))
    })?;
    Ok(payload)
}

/// Whether a payload is JSON (or blank), as Lambda parses it. serde_json skips over the
/// bytes of a string it does not keep without decoding them, so the UTF-8 is checked on
/// its own: outside strings a non-ASCII byte is already a syntax error, so what this
/// catches is bytes inside a string, which AWS refuses too (its parser decodes them).
fn check_payload(payload: &[u8]) -> Result<(), String> {
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(payload).map_err(|e| e.to_string())?;
    std::str::from_utf8(payload).map_err(|e| utf8_detail(payload, &e))?;
    Ok(())
}

/// AWS's wording (its JSON parser's): `Invalid UTF-8 start byte 0x97` for a byte that
/// cannot begin a character, `Invalid UTF-8 middle byte 0x28` for a character cut short,
/// with where it is in serde_json's style.
fn utf8_detail(payload: &[u8], e: &std::str::Utf8Error) -> String {
    let at = e.valid_up_to();
    let before = &payload[..at];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let column = at
        - before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1)
        + 1;
    let lead = payload[at];
    let what = match e.error_len() {
        _ if !(0xC2..=0xF4).contains(&lead) => format!("Invalid UTF-8 start byte 0x{lead:02x}"),
        Some(len) => match payload.get(at + len) {
            Some(b) if len < 4 => format!("Invalid UTF-8 middle byte 0x{b:02x}"),
            _ => format!("Invalid UTF-8 middle byte 0x{lead:02x}"),
        },
        None => "Unexpected end-of-input in a UTF-8 character".to_string(),
    };
    format!("{what} at line {line} column {column}")
}

/// `X-Amz-Log-Type`: whether the caller asked for the log tail.
pub(crate) fn log_tail(headers: &HeaderMap) -> ApiResult<bool> {
    match header_str(headers, "x-amz-log-type").unwrap_or("None") {
        "Tail" => Ok(true),
        "None" => Ok(false),
        other => Err(AwsError::constraint(
            other,
            "logType",
            "Member must satisfy enum value set: [None, Tail]",
        )
        .into()),
    }
}

/// `X-Amz-Client-Context`: base64 JSON, at most 3,583 bytes; returns the decoded JSON.
pub(crate) fn client_context(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(cc) = header_str(headers, "x-amz-client-context") else {
        return Ok(None);
    };
    if cc.len() > CLIENT_CONTEXT_MAX_BYTES {
        return Err(AwsError::invalid(format!(
            "Client context must be no longer than {CLIENT_CONTEXT_MAX_BYTES} bytes"
        ))
        .into());
    }
    BASE64
        .decode(cc)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|s| serde_json::from_str::<serde_json::Value>(s).is_ok())
        .map(Some)
        .ok_or_else(|| {
            invalid_content("Client context must be a valid Base64-encoded JSON object.")
        })
}

/// InvokeAsync (`POST /2014-11-13/functions/{fn}/invoke-async/`), deprecated by Lambda
/// but still served: the same queue as an `Event` invoke, answered `202 {"Status": 202}`.
pub(crate) async fn invoke_async(
    State(s): State<AppState>,
    tenant: Tenant,
    Extension(RequestId(request_id)): Extension<RequestId>,
    Path(function): Path<String>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let function = FunctionRef::parse(&function, tenant.as_str())?;
    let payload = read_payload(body, ASYNC_REQUEST_MAX_BYTES, "InvokeAsync").await?;
    s.invoker
        .enqueue(EnqueueRequest {
            request_id,
            function,
            payload,
            client_context: None,
            // Kept with the event: every attempt continues the caller's trace.
            trace_header: header_str(&headers, "x-amzn-trace-id").map(str::to_string),
            counts_lineage: false,
        })
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({ "Status": 202 })),
    )
        .into_response())
}

pub(crate) async fn invoke(
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
    let (dry_run, event) =
        match header_str(headers, "x-amz-invocation-type").unwrap_or("RequestResponse") {
            "RequestResponse" => (false, false),
            "DryRun" => (true, false),
            "Event" => (false, true),
            other => {
                return Err(AwsError::constraint(
                    other,
                    "invocationType",
                    "Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
                )
                .into())
            }
        };
    let log_tail = log_tail(headers)?;
    let client_context = client_context(headers)?;
    let limit = if event {
        ASYNC_REQUEST_MAX_BYTES
    } else {
        SYNC_REQUEST_MAX_BYTES
    };
    let payload = read_payload(body, limit, "Invoke").await?;
    if event {
        s.invoker
            .enqueue(EnqueueRequest {
                request_id,
                function,
                payload,
                client_context,
                trace_header: header_str(headers, "x-amzn-trace-id").map(str::to_string),
                counts_lineage: false,
            })
            .await?;
        return Ok(StatusCode::ACCEPTED.into_response());
    }
    let sync = SyncInvoke {
        request_id,
        function,
        payload,
        log_tail,
        client_context,
        dry_run,
        trace_id: header_str(headers, "x-amzn-trace-id").map(str::to_string),
    };
    if let Some(answer) = sync.forwarded(&s, &parts, false).await {
        return Ok(answer);
    }
    let resp = s.invoker.invoke(sync.into_request()).await?;
    Ok(respond(resp, dry_run))
}

/// A synchronous invoke (buffered or streamed), read from its request: forwarded to the
/// node it is placed on, or run here.
pub(crate) struct SyncInvoke {
    pub request_id: String,
    pub function: FunctionRef,
    pub payload: Bytes,
    pub log_tail: bool,
    /// The decoded JSON of `X-Amz-Client-Context`.
    pub client_context: Option<String>,
    pub dry_run: bool,
    /// The caller's `X-Amzn-Trace-Id`, continued as Lambda continues it.
    pub trace_id: Option<String>,
}

impl SyncInvoke {
    /// In a fleet, the answer of the node the invoke is placed on when that is another
    /// node (the caller the authentication layer found and the client context as sent go
    /// with it); `None` when it runs here, as a dry run always does.
    pub(crate) async fn forwarded(
        &self,
        s: &AppState,
        parts: &axum::http::request::Parts,
        stream: bool,
    ) -> Option<Response> {
        if self.dry_run {
            return None;
        }
        let caller = parts
            .extensions
            .get::<Caller>()
            .map_or("", |c| c.arn.as_str());
        let forwardable = crate::forward::Forwardable {
            request_id: &self.request_id,
            caller,
            function: &self.function,
            log_tail: self.log_tail,
            client_context: header_str(&parts.headers, "x-amz-client-context"),
            trace_header: self.trace_id.as_deref(),
            payload: &self.payload,
            stream,
        };
        crate::forward::route(s, &forwardable).await
    }

    /// The engine's request to run it here.
    pub(crate) fn into_request(self) -> InvokeRequest {
        InvokeRequest {
            log_tail: self.log_tail,
            client_context: self.client_context,
            dry_run: self.dry_run,
            trace_id: self.trace_id,
            ..InvokeRequest::new(self.request_id, self.function, self.payload)
        }
    }
}

/// A synchronous invoke's answer, as this node or the node it was forwarded to gives it.
pub(crate) fn respond(resp: InvokeResponse, dry_run: bool) -> Response {
    let status = if dry_run {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::OK
    };
    let mut out = (status, resp.payload).into_response();
    let h = out.headers_mut();
    if !dry_run {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    // Names made once: a `&'static str` name not among `http`'s standard ones is copied
    // into a new `HeaderName` on every insert.
    const EXECUTED_VERSION: HeaderName = HeaderName::from_static("x-amz-executed-version");
    const FUNCTION_ERROR: HeaderName = HeaderName::from_static("x-amz-function-error");
    const LOG_RESULT: HeaderName = HeaderName::from_static("x-amz-log-result");
    let mut set = |name: HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set(EXECUTED_VERSION, &resp.executed_version);
    if let Some(fe) = &resp.function_error {
        set(FUNCTION_ERROR, fe);
    }
    if let Some(log) = &resp.log_result {
        set(LOG_RESULT, log);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_json_in_utf8() {
        for ok in [
            &b""[..],
            b"  ",
            b"{}",
            b"\"\xc3\xa9\"",
            "{\"a\":\"\u{1F600}\"}".as_bytes(),
        ] {
            assert_eq!(check_payload(ok), Ok(()), "{ok:?}");
        }
        assert_eq!(
            check_payload(b"{\"a\":\"\xff\"}"),
            Err("Invalid UTF-8 start byte 0xff at line 1 column 7".into())
        );
        assert_eq!(
            check_payload(b"{\n\"a\":\"x\xc3(\"}"),
            Err("Invalid UTF-8 middle byte 0x28 at line 2 column 7".into())
        );
        assert_eq!(
            check_payload(b"[\"\x80\"]"),
            Err("Invalid UTF-8 start byte 0x80 at line 1 column 3".into())
        );
        // An encoded surrogate (ED A0 80) is not UTF-8 either.
        assert!(check_payload(b"\"\xed\xa0\x80\"")
            .is_err_and(|e| e.starts_with("Invalid UTF-8 middle byte 0xa0")));
        // Outside a string it is a syntax error first, as on AWS.
        assert!(check_payload(b"\xff").is_err_and(|e| !e.contains("UTF-8")));
        assert!(check_payload(b"{\"a\":1").is_err());
    }
}
