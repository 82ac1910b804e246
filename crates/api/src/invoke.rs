//! Invoke (`POST /2015-03-31/functions/{fn}/invocations`): synchronous, dry run, or
//! asynchronous (`Event`, queued durably and answered 202); and the legacy InvokeAsync.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use hearth_engine::InvokeRequest;
use hearth_events::AcceptRequest;
use hearth_model::event_invoke::ASYNC_REQUEST_MAX_BYTES;
use hearth_model::limits::{CLIENT_CONTEXT_MAX_BYTES, SYNC_REQUEST_MAX_BYTES};
use hearth_model::{AwsError, ErrorCode, FunctionRef};

use crate::error::{ApiError, ApiResult};
use crate::functions::function_ref;
use crate::{body, AppState, RequestId};

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn invalid_content(message: impl Into<String>) -> ApiError {
    ApiError(AwsError::new(ErrorCode::InvalidRequestContent, message))
}

/// Reads an invoke payload: JSON (or nothing) within `limit` bytes.
async fn read_payload(body: Body, limit: usize, operation: &str) -> ApiResult<Bytes> {
    let payload = body::read(body, limit, operation).await?;
    if !payload.iter().all(u8::is_ascii_whitespace) {
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&payload) {
            return Err(invalid_content(format!(
                "Could not parse request body into json: Could not parse payload into json: {e}"
            )));
        }
    }
    Ok(payload)
}

/// InvokeAsync (`POST /2014-11-13/functions/{fn}/invoke-async/`), deprecated by Lambda
/// but still served: the same queue as an `Event` invoke, answered `202 {"Status": 202}`.
pub(crate) async fn invoke_async(
    State(s): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    Path(function): Path<String>,
    body: Body,
) -> ApiResult<Response> {
    let function = FunctionRef::parse(&function)?;
    let payload = read_payload(body, ASYNC_REQUEST_MAX_BYTES, "InvokeAsync").await?;
    s.events
        .accept(AcceptRequest {
            request_id,
            function,
            payload,
            client_context: None,
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
    Extension(RequestId(request_id)): Extension<RequestId>,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let function = function_ref(&function, &query)?;
    let (dry_run, event) =
        match header_str(&headers, "x-amz-invocation-type").unwrap_or("RequestResponse") {
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
    let log_tail = match header_str(&headers, "x-amz-log-type").unwrap_or("None") {
        "Tail" => true,
        "None" => false,
        other => {
            return Err(AwsError::constraint(
                other,
                "logType",
                "Member must satisfy enum value set: [None, Tail]",
            )
            .into())
        }
    };
    let client_context = match header_str(&headers, "x-amz-client-context") {
        None => None,
        Some(cc) if cc.len() > CLIENT_CONTEXT_MAX_BYTES => {
            return Err(AwsError::invalid(format!(
                "Client context must be no longer than {CLIENT_CONTEXT_MAX_BYTES} bytes"
            ))
            .into())
        }
        Some(cc) => {
            let decoded = BASE64
                .decode(cc)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .filter(|s| serde_json::from_str::<serde_json::Value>(s).is_ok())
                .ok_or_else(|| {
                    invalid_content("Client context must be a valid Base64-encoded JSON object.")
                })?;
            Some(decoded)
        }
    };
    let limit = if event {
        ASYNC_REQUEST_MAX_BYTES
    } else {
        SYNC_REQUEST_MAX_BYTES
    };
    let payload = read_payload(body, limit, "Invoke").await?;
    if event {
        s.events
            .accept(AcceptRequest {
                request_id,
                function,
                payload,
                client_context,
            })
            .await?;
        return Ok(StatusCode::ACCEPTED.into_response());
    }
    let resp = s
        .engine
        .invoke(InvokeRequest {
            request_id,
            function,
            payload,
            log_tail,
            client_context,
            dry_run,
            attempt: None,
        })
        .await?;
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
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set("x-amz-executed-version", &resp.executed_version);
    if let Some(fe) = &resp.function_error {
        set("x-amz-function-error", fe);
    }
    if let Some(log) = &resp.log_result {
        set("x-amz-log-result", log);
    }
    Ok(out)
}
