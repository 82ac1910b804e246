//! Hearth's KMS keys as `KMSKeyArn` names them: the check that a function's key exists
//! in the function's account (with Lambda's answer when it does not), and `/_hearth/kms`
//! (`GET`: every account's keys; `POST` with `{"Description": ..., "Account": ...}`: a new
//! key of that account, the default one if none), what `hearth kms list|create` use.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hearth_model::arn::{arn_account, is_account_id, ACCOUNT};
use hearth_model::settings::kms_key_not_found;
use hearth_model::AwsError;
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// `Ok` when `arn` is absent, empty, or names a Hearth key of `account` (the function's):
/// another account's key is not found, as Hearth keys have no key policies to share them.
pub(crate) async fn check_key(s: &AppState, arn: Option<&str>, account: &str) -> ApiResult<()> {
    match arn.filter(|a| !a.is_empty()) {
        Some(a) if arn_account(a) != Some(account) || !s.engine.kms_key_exists(a) => {
            Err(ApiError(kms_key_not_found(a)))
        }
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
    let v: serde_json::Value = if bytes.is_empty() {
        json!({})
    } else {
        crate::body::parse(&bytes)?
    };
    let field = |name| v.get(name).and_then(|d| d.as_str());
    let account = field("Account").unwrap_or(ACCOUNT);
    if !is_account_id(account) {
        return Err(ApiError(AwsError::invalid(format!(
            "Account must be 12 digits, not '{account}'"
        ))));
    }
    let description = field("Description").unwrap_or_default().to_string();
    let key = s
        .engine
        .create_kms_key(account.to_string(), description)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "KeyMetadata": shape(&key) })),
    )
        .into_response())
}
