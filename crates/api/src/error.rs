//! The one error type that becomes an HTTP response, in Lambda's encoding.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hearth_model::{AwsError, ErrorCode};
use serde_json::{json, Map, Value};

#[derive(Debug)]
pub struct ApiError(pub AwsError);

impl From<AwsError> for ApiError {
    fn from(e: AwsError) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let mut body = Map::new();
        body.insert("Type".into(), json!(e.code.fault_type()));
        body.insert(e.code.message_key().into(), json!(e.message));
        if let Some(reason) = &e.reason {
            body.insert("Reason".into(), json!(reason));
        }
        let status =
            StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, axum::Json(Value::Object(body))).into_response();
        resp.headers_mut()
            .insert("x-amzn-errortype", HeaderValue::from_static(e.code.name()));
        if let Some(seconds) = e.retry_after {
            resp.headers_mut()
                .insert("retry-after", HeaderValue::from(seconds));
        }
        resp
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

pub(crate) async fn unknown_operation() -> Response {
    let mut resp = (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"Type": "User", "message": "Unknown operation"})),
    )
        .into_response();
    resp.headers_mut().insert(
        "x-amzn-errortype",
        HeaderValue::from_static("UnknownOperationException"),
    );
    resp
}

/// For request bodies that are not the JSON the operation expects.
pub(crate) fn bad_content(detail: impl std::fmt::Display) -> ApiError {
    ApiError(AwsError::new(
        ErrorCode::InvalidRequestContent,
        format!("Could not parse request body into json: {detail}"),
    ))
}
