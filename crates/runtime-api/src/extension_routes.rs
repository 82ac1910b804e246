//! The Extensions API (2020-01-01) routes, on the same listener as the Runtime API.
//!
//! Refusals answer 403 with `{"errorMessage", "errorType"}` as Lambda's runtime
//! interface emulator does (its `RenderForbiddenWithTypeMsg`); a missing
//! `Lambda-Extension-Identifier` is `Extension.MissingHeader`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use serde_json::json;

use crate::extensions::Refusal;
use crate::Shared;

const NAME_HEADER: &str = "lambda-extension-name";
const ID_HEADER: &str = "lambda-extension-identifier";
const ERROR_TYPE_HEADER: &str = "lambda-extension-function-error-type";
const FEATURE_HEADER: &str = "lambda-extension-accept-feature";

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/2020-01-01/extension/register", post(register))
        .route("/2020-01-01/extension/event/next", get(next))
        .route("/2020-01-01/extension/init/error", post(init_error))
        .route("/2020-01-01/extension/exit/error", post(exit_error))
        .route("/_hearth/extension/exited", post(exited))
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"errorMessage": self.message, "errorType": self.error_type})),
        )
            .into_response()
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

pub(crate) fn identifier(headers: &HeaderMap) -> Result<&str, Refusal> {
    header(headers, ID_HEADER).ok_or_else(|| Refusal {
        error_type: "Extension.MissingHeader",
        message: "Lambda-Extension-Identifier not found".into(),
    })
}

#[derive(serde::Deserialize)]
struct RegisterBody {
    #[serde(default)]
    events: Vec<String>,
}

async fn register(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let name = header(&headers, NAME_HEADER).unwrap_or_default();
    let events = match serde_json::from_slice::<RegisterBody>(&body) {
        Ok(b) => b.events,
        Err(e) => {
            return Refusal {
                error_type: "InvalidRequestFormat",
                message: e.to_string(),
            }
            .into_response()
        }
    };
    let account_id = header(&headers, FEATURE_HEADER)
        .is_some_and(|f| f.split(',').any(|f| f.trim() == "accountId"));
    match shared.extensions.register(name, &events, account_id) {
        Ok(registered) => {
            let mut response = (StatusCode::OK, axum::Json(registered.body)).into_response();
            if let Ok(v) = HeaderValue::from_str(&registered.id) {
                response.headers_mut().insert(ID_HEADER, v);
            }
            response
        }
        Err(refusal) => refusal.into_response(),
    }
}

async fn next(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let id = match identifier(&headers) {
        Ok(id) => id,
        Err(refusal) => return refusal.into_response(),
    };
    let inbox = match shared.extensions.next(id) {
        Ok(inbox) => inbox,
        Err(refusal) => return refusal.into_response(),
    };
    // The long poll; receiving is cancel-safe, so an extension that hangs up while
    // waiting loses no event.
    let event = inbox.lock().await.recv().await;
    match event {
        Some(body) => {
            shared.extensions.received(id);
            let mut response = (StatusCode::OK, body).into_response();
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            if let Some(id) = header(&headers, ID_HEADER).and_then(|v| HeaderValue::from_str(v).ok()) {
                response.headers_mut().insert(ID_HEADER, id);
            }
            response
        }
        None => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"errorMessage": "environment is shutting down", "errorType": "ServiceException"})),
        )
            .into_response(),
    }
}

async fn reported(shared: &Shared, headers: &HeaderMap, during_init: bool) -> Response {
    let result = identifier(headers).and_then(|id| {
        let error_type = header(headers, ERROR_TYPE_HEADER).ok_or_else(|| Refusal {
            error_type: "Extension.MissingHeader",
            message: "Lambda-Extension-Function-Error-Type not found".into(),
        })?;
        shared.extensions.error(id, error_type, during_init)
    });
    match result {
        Ok(()) => (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

async fn init_error(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    reported(&shared, &headers, true).await
}

async fn exit_error(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    reported(&shared, &headers, false).await
}

/// Hearth's own: the jail's watcher of an external extension reports that its process
/// ended (`Hearth-Extension-Name`, `Hearth-Extension-Status`: the wait status). A
/// function that calls it can only fail its own environment.
async fn exited(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let name = header(&headers, "hearth-extension-name").unwrap_or_default();
    let status = header(&headers, "hearth-extension-status").and_then(|s| s.parse::<i32>().ok());
    match status {
        Some(status) if shared.extensions.exited(name, status) => {
            (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
        }
        _ => StatusCode::BAD_REQUEST.into_response(),
    }
}
