//! `/_hearth/keys`: the server's access keys for `hearth keys` (issue 14). Like every
//! `/_hearth` endpoint it needs the administrator's signature (see `auth`), and the
//! server, which holds the data directory's lock, is the one writer of the keys.
//!
//! - `GET /_hearth/keys`: `{"Keys": [...]}`, never a secret;
//! - `POST /_hearth/keys` `{"Account", "UserName", "Policy"}`: the new key with its
//!   `SecretAccessKey`, shown this once;
//! - `POST /_hearth/keys/{id}/rotate`: a new key for the same principal and policy, the
//!   old one removed;
//! - `DELETE /_hearth/keys/{id}`.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use hearth_auth::{KeyError, KeyRing};
use hearth_model::{AwsError, ErrorCode};
use serde::Deserialize;

use crate::error::ApiError;
use crate::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/_hearth/keys", get(list).post(create))
        .route("/_hearth/keys/{id}/rotate", post(rotate))
        .route("/_hearth/keys/{id}", delete(remove))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateKey {
    account: String,
    user_name: Option<String>,
    policy: Option<String>,
}

fn ring(s: &AppState) -> Result<&KeyRing, ApiError> {
    s.options.keys.as_ref().ok_or_else(|| {
        ApiError(AwsError::new(
            ErrorCode::Service,
            "this server keeps no access keys",
        ))
    })
}

fn key_error(e: KeyError) -> ApiError {
    ApiError(match e {
        KeyError::NotFound(id) => AwsError::not_found(format!("No access key {id}")),
        KeyError::Invalid(m) => AwsError::invalid(m),
        e @ KeyError::Exists { .. } => AwsError::new(ErrorCode::ResourceConflict, e.to_string()),
        other => AwsError::service(other.to_string()),
    })
}

async fn list(State(s): State<AppState>) -> Result<Response, ApiError> {
    let keys = ring(&s)?.list();
    Ok(Json(serde_json::json!({ "Keys": keys })).into_response())
}

async fn create(State(s): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let req: CreateKey = crate::body::json(body, "CreateKey").await?;
    // A key's policy is evaluated at every request it signs: refuse one that would not parse.
    if let Some(doc) = &req.policy {
        hearth_iam_policy::parse(doc, hearth_iam_policy::PolicyKind::Identity).map_err(|e| {
            ApiError(hearth_model::AwsError::invalid(format!(
                "The key's policy is not a valid identity policy ({}): {e}",
                e.code()
            )))
        })?;
    }
    let key = ring(&s)?
        .create(&req.account, req.user_name.as_deref(), req.policy)
        .map_err(key_error)?;
    Ok((StatusCode::CREATED, Json(key)).into_response())
}

async fn rotate(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let key = ring(&s)?.rotate(&id).map_err(key_error)?;
    Ok(Json(key).into_response())
}

async fn remove(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    ring(&s)?.delete(&id).map_err(key_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
