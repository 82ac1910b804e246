//! API Gateway's errors as its REST-JSON protocol sends them: the status, the
//! `x-amzn-ErrorType` header and `{"message": ...}` (lower case, unlike Lambda's).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// One failure of a control-plane operation.
#[derive(Debug)]
pub(crate) struct GwError {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

pub(crate) type GwResult<T> = Result<T, GwError>;

impl GwError {
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: "BadRequestException",
            message: message.into(),
        }
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            kind: "ConflictException",
            message: message.into(),
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            kind: "NotFoundException",
            message: message.into(),
        }
    }

    /// AWS's answer for an API id that is not the caller's account's.
    pub(crate) fn no_api(account: &str, id: &str) -> Self {
        Self::not_found(format!("Invalid API identifier specified {account}:{id}"))
    }

    pub(crate) fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "an HTTP API operation failed");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "InternalServerErrorException",
            message: "Internal server error".into(),
        }
    }
}

impl IntoResponse for GwError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            axum::Json(serde_json::json!({ "message": self.message })),
        )
            .into_response();
        resp.headers_mut()
            .insert("x-amzn-errortype", HeaderValue::from_static(self.kind));
        resp
    }
}
