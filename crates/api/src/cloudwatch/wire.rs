//! CloudWatch's answers in each protocol: an output's JSON form encoded as the request
//! came (CBOR with `smithy-protocol: rpc-v2-cbor`, AWS JSON 1.0, or XML in the query
//! protocol's envelope), and errors in each protocol's error shape. CloudWatch is
//! `awsQueryCompatible`: its CBOR and JSON errors name the query protocol's code and fault
//! in `x-amzn-query-error: <Code>;<Sender|Receiver>`, which botocore reports as the error's
//! code (its `RpcV2CBORParser` and `JSONParser` read the header before `__type`), while
//! `__type` names the model's error shape (`com.amazonaws.cloudwatch#ResourceNotFound`).
//! UNSURE: the exact `__type` AWS writes for its framework errors (unknown operation,
//! serialization) — the bare code is given; SDKs read the header's code either way. UNSURE
//! too: whether AWS answers an operation without output in CBOR with an empty body (as
//! here; botocore reads it as no members) or an empty map.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hearth_metrics::CloudWatchError;
use serde_json::{json, Value};

use super::model::model;
use super::{cbor, form};
use crate::query::{Protocol, QueryError};

/// The query protocol's namespace and version for CloudWatch.
pub(crate) const PROTOCOL: Protocol = Protocol {
    namespace: "http://monitoring.amazonaws.com/doc/2010-08-01/",
    version: super::VERSION,
};

/// The protocol a request came in, which its answer is given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire {
    Cbor,
    Json,
    Query,
}

/// An error as the wire answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WireError {
    pub status: u16,
    /// The query protocol's code (`InvalidParameterValue`, `ResourceNotFound`).
    pub code: String,
    pub message: String,
    pub sender: bool,
}

impl WireError {
    pub fn client(code: &str, message: impl Into<String>) -> Self {
        Self {
            status: 400,
            code: code.to_string(),
            message: message.into(),
            sender: true,
        }
    }

    /// Refused by the caller's policies: the query protocol's `AccessDenied` (403).
    pub fn denied(message: String) -> Self {
        Self {
            status: 403,
            ..Self::client("AccessDenied", message)
        }
    }

    /// Hearth's own failure; the cause goes to the log.
    pub fn internal(cause: &str) -> Self {
        tracing::error!(%cause, "CloudWatch failed");
        CloudWatchError::internal("Internal service error").into()
    }

    /// CloudWatch is not enabled on this server (`ApiOptions::cloudwatch` is `None`).
    pub fn not_enabled(op: &str) -> Self {
        Self::client(
            "UnknownOperationException",
            format!("CloudWatch's {op} is not enabled on this server"),
        )
    }
}

impl From<CloudWatchError> for WireError {
    fn from(e: CloudWatchError) -> Self {
        if e.status >= 500 {
            tracing::error!(code = %e.code, message = %e.message, "CloudWatch failed");
        }
        Self {
            status: e.status,
            code: e.code,
            message: e.message,
            sender: e.sender_fault,
        }
    }
}

impl Wire {
    /// An operation Hearth does not serve: `UnknownOperationException` in CBOR and JSON,
    /// `InvalidAction` in the query protocol.
    pub fn unknown_operation(self, op: &str) -> WireError {
        match self {
            Wire::Query => WireError::client(
                "InvalidAction",
                QueryError::invalid_action(op, super::VERSION).message,
            ),
            _ => WireError::client(
                "UnknownOperationException",
                format!("The operation {op} is not supported by Hearth's CloudWatch."),
            ),
        }
    }

    /// The answer of `op` whose output (its JSON form) is `output`.
    pub fn output(self, op: &str, output: &Value, request_id: &str) -> Response {
        let shape = model()
            .operations
            .get(op)
            .and_then(|o| o.output.as_ref())
            .map(|o| model().shape(&o.shape));
        match self {
            Wire::Cbor => {
                // An operation without output answers an empty body, which botocore reads
                // as no members.
                let body = shape.map(|s| cbor::encode(output, s)).unwrap_or_default();
                framed(StatusCode::OK, body, self, request_id)
            }
            Wire::Json => {
                let body = if shape.is_some() {
                    output.to_string()
                } else {
                    "{}".to_string()
                };
                framed(StatusCode::OK, body.into_bytes(), self, request_id)
            }
            Wire::Query => PROTOCOL.answer(op, request_id, shape.map(|s| form::encode(output, s))),
        }
    }

    /// `e` in this protocol's error shape.
    pub fn error(self, e: &WireError, request_id: &str) -> Response {
        let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
        if self == Wire::Query {
            let q = QueryError {
                status,
                code: e.code.clone(),
                message: e.message.clone(),
                sender: e.sender,
            };
            return PROTOCOL.error(&q, request_id);
        }
        self.typed_error(&type_of(&e.code), e, request_id)
    }

    /// `e` in CBOR or JSON with `__type` `type_`.
    pub fn typed_error(self, type_: &str, e: &WireError, request_id: &str) -> Response {
        let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
        let body = match self {
            Wire::Cbor => cbor::encode_error(type_, &e.message),
            _ => json!({"__type": type_, "message": e.message})
                .to_string()
                .into_bytes(),
        };
        let mut resp = framed(status, body, self, request_id);
        let fault = if e.sender { "Sender" } else { "Receiver" };
        if let Ok(v) = HeaderValue::from_str(&format!("{};{fault}", e.code)) {
            resp.headers_mut().insert("x-amzn-query-error", v);
        }
        resp
    }
}

/// The `__type` of an error with the query protocol's `code`: the model's error shape
/// with the service's namespace, or the code itself for errors the model does not have.
pub(crate) fn type_of(code: &str) -> String {
    model().error_shape(code).map_or_else(
        || code.to_string(),
        |shape| format!("com.amazonaws.cloudwatch#{shape}"),
    )
}

/// A CBOR or JSON body with its protocol's headers.
fn framed(status: StatusCode, body: Vec<u8>, wire: Wire, request_id: &str) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    if wire == Wire::Cbor {
        h.insert("content-type", HeaderValue::from_static("application/cbor"));
        h.insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
    } else {
        h.insert(
            "content-type",
            HeaderValue::from_static("application/x-amz-json-1.0"),
        );
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}
