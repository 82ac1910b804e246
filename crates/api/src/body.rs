//! Reading request bodies with a size limit checked as the bytes arrive, and parsing
//! JSON bodies into the model's request shapes.

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use hearth_model::{AwsError, ErrorCode};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;

use crate::body_budget::Exhausted;
use crate::error::{bad_content, ApiError};

/// Control-plane bodies: a 50 MB zip, base64-encoded, plus the rest of the request.
pub(crate) const CONTROL_BODY_MAX: usize = 69_905_067;

pub(crate) async fn read(body: Body, limit: usize, operation: &str) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError(AwsError::new(
            ErrorCode::RequestTooLarge,
            format!("Request must be smaller than {limit} bytes for the {operation} operation"),
        ))
    };
    let mut body = body;
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(body_error)?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(too_large());
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

/// A body that could not be read: the body budget's wait ran out (429), or the bytes
/// are not a valid HTTP body.
fn body_error(e: axum::Error) -> ApiError {
    match e.into_inner().downcast::<Exhausted>() {
        Ok(exhausted) => ApiError(exhausted.0),
        Err(other) => bad_content(other),
    }
}

/// Reads and parses a JSON request body; an empty body is an empty object.
pub(crate) async fn json<T: DeserializeOwned>(body: Body, operation: &str) -> Result<T, ApiError> {
    let bytes = read(body, CONTROL_BODY_MAX, operation).await?;
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &bytes
    };
    serde_json::from_slice(bytes).map_err(bad_content)
}
