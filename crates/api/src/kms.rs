//! Hearth's KMS keys as `KMSKeyArn` names them: the check that a function's key exists
//! (with Lambda's answer when it does not), and `/_hearth/kms` (`GET`: the keys; `POST`
//! with `{"Description": ...}`: a new key), what `hearth kms list|create` use.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hearth_model::settings::kms_key_not_found;
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// `Ok` when `arn` is absent, empty, or names a Hearth key.
pub(crate) async fn check_key(s: &AppState, arn: Option<&str>) -> ApiResult<()> {
    match arn.filter(|a| !a.is_empty()) {
        Some(a) if !s.engine.kms_key_exists(a) => Err(ApiError(kms_key_not_found(a))),
        _ => Ok(()),
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/_hearth/kms", get(list).post(create))
}

fn shape(k: &hearth_engine::KmsKeyInfo) -> serde_json::Value {
    json!({
        "KeyId": k.key_id,
        "KeyArn": k.arn,
        "Description": k.description,
        "CreationDate": k.created_ms as f64 / 1000.0,
    })
}

async fn list(State(s): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    let keys = s.engine.list_kms_keys().await?;
    Ok(Json(
        json!({ "Keys": keys.iter().map(shape).collect::<Vec<_>>() }),
    ))
}

async fn create(State(s): State<AppState>, body: axum::body::Body) -> ApiResult<Response> {
    let bytes = crate::body::control(body, "CreateKey").await?;
    let description = if bytes.is_empty() {
        String::new()
    } else {
        let v: serde_json::Value = crate::body::parse(&bytes)?;
        v.get("Description")
            .and_then(|d| d.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let key = s.engine.create_kms_key(description).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "KeyMetadata": shape(&key) })),
    )
        .into_response())
}
