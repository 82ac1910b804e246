//! Invoke (`POST /2015-03-31/functions/{fn}/invocations`).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hearth_engine::InvokeRequest;
use hearth_model::limits::{CLIENT_CONTEXT_MAX_BYTES, SYNC_REQUEST_MAX_BYTES};
use hearth_model::{AwsError, ErrorCode};

use crate::error::{ApiError, ApiResult};
use crate::functions::function_ref;
use crate::{body, AppState, RequestId};

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn invalid_content(message: impl Into<String>) -> ApiError {
    ApiError(AwsError::new(ErrorCode::InvalidRequestContent, message))
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
    let dry_run = match header_str(&headers, "x-amz-invocation-type").unwrap_or("RequestResponse") {
        "RequestResponse" => false,
        "DryRun" => true,
        "Event" => {
            return Err(AwsError::invalid(
                "InvocationType Event (asynchronous invocation) is not supported by Hearth yet",
            )
            .into())
        }
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
    let payload = body::read(body, SYNC_REQUEST_MAX_BYTES, "Invoke").await?;
    if !payload.iter().all(u8::is_ascii_whitespace) {
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&payload) {
            return Err(invalid_content(format!(
                "Could not parse request body into json: Could not parse payload into json: {e}"
            )));
        }
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
