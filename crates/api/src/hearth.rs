//! Hearth-private endpoints: code downloads (GetFunction's `Code.Location`), a
//! function's logs for `hearth logs` (read and delete), the runtime list, and the environments busy with
//! an invocation right now, the async queue per function, and the fleet's nodes (listed,
//! drained and undrained).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hearth_engine::LogQuery;
use hearth_model::{AwsError, FunctionRef};
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::tenant::Tenant;
use crate::AppState;

pub(crate) async fn code(
    State(s): State<AppState>,
    Path(file): Path<String>,
) -> ApiResult<Response> {
    let hex = file.strip_suffix(".zip").unwrap_or(&file).to_string();
    // Off the async workers: a node of a fleet may fetch the zip from the store first.
    let engine = s.engine.clone();
    let (hex, path) = tokio::task::spawn_blocking(move || {
        let path = engine.code_zip_path(&hex);
        (hex, path)
    })
    .await
    .map_err(|e| ApiError(AwsError::service(format!("cannot read code: {e}"))))?;
    let path =
        path.ok_or_else(|| ApiError(AwsError::not_found(format!("No code with hash {hex}"))))?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| ApiError(AwsError::service(format!("cannot read code: {e}"))))?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/zip")],
        bytes,
    )
        .into_response())
}

fn int_param(query: &HashMap<String, String>, name: &str) -> ApiResult<Option<i64>> {
    query
        .get(name)
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                ApiError(AwsError::invalid(format!(
                    "{name} must be an integer, got {v:?}"
                )))
            })
        })
        .transpose()
}

pub(crate) async fn logs(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let r = FunctionRef::parse(&function, tenant.as_str())?;
    // Logs outlive a deleted function (as a CloudWatch log group does), so a missing
    // function is only an error when there is nothing logged under its name either.
    let q = LogQuery {
        after: int_param(&query, "after")?,
        since_ms: int_param(&query, "since")?,
        limit: int_param(&query, "limit")?
            .unwrap_or(10_000)
            .clamp(1, 10_000) as usize,
        ..Default::default()
    };
    let after = q.after;
    let events = s.engine.logs(&r.name, q).await?;
    if events.is_empty() && after.is_none() {
        s.engine.get_function(&FunctionRef {
            name: r.name.clone(),
            qualifier: None,
        })?;
    }
    Ok(Json(json!({ "events": events })).into_response())
}

/// `DELETE /_hearth/logs/{function}`: DeleteLogGroup for `/aws/lambda/<function>`, in
/// Lambda's error encoding; 200 `{}`, or 404 when there is no such log group.
pub(crate) async fn delete_logs(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let r = FunctionRef::parse(&function, tenant.as_str())?;
    s.engine.delete_log_group(&r.name).await?;
    Ok(Json(json!({})))
}

pub(crate) async fn runtimes(State(s): State<AppState>) -> Json<serde_json::Value> {
    let list: Vec<_> = s
        .engine
        .catalog()
        .status()
        .into_iter()
        .map(|(name, installed)| json!({"name": name, "installed": installed}))
        .collect();
    Json(json!({ "runtimes": list }))
}

/// `{"busy": N, "functions": {name: busy}, "idle": M}`: concurrency in use now.
pub(crate) async fn concurrency(State(s): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({
        "busy": s.engine.busy_environments(),
        "functions": s.engine.busy_by_function(),
        "idle": s.engine.idle_environments(),
    }))
}

/// `{"nodes": [...]}`: the fleet's nodes as this node sees them (docs/fleet.md), each
/// with its address, state (`alive` or `gone`), heartbeats and what it told of itself.
pub(crate) async fn nodes(State(s): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let service = |e: String| ApiError(AwsError::new(hearth_model::ErrorCode::Service, e));
    let engine = s.engine.clone();
    let nodes = tokio::task::spawn_blocking(move || engine.nodes())
        .await
        .map_err(|e| service(e.to_string()))?
        .map_err(|e| service(e.to_string()))?;
    Ok(Json(json!({ "nodes": nodes })))
}

/// `POST /_hearth/nodes/{id}/drain`: node `id` takes no new work (docs/fleet.md); its
/// invocations running now finish. `{"id", "state": "draining"}`, or 404.
pub(crate) async fn drain(s: State<AppState>, id: Path<String>) -> ApiResult<Response> {
    set_draining(s, id, true).await
}

/// `POST /_hearth/nodes/{id}/undrain`: node `id` takes new work again.
pub(crate) async fn undrain(s: State<AppState>, id: Path<String>) -> ApiResult<Response> {
    set_draining(s, id, false).await
}

async fn set_draining(
    State(s): State<AppState>,
    Path(id): Path<String>,
    draining: bool,
) -> ApiResult<Response> {
    let engine = s.engine.clone();
    let node = id.clone();
    let found = tokio::task::spawn_blocking(move || engine.drain_node(&node, draining))
        .await
        .map_err(|e| ApiError(AwsError::service(e.to_string())))?
        .map_err(|e| ApiError(AwsError::service(e.to_string())))?;
    if !found {
        return Err(ApiError(AwsError::not_found(format!(
            "No node with id {id}"
        ))));
    }
    let state = if draining { "draining" } else { "alive" };
    Ok(Json(json!({ "id": id, "state": state })).into_response())
}

/// `{"functions": [{"function", "queued", "running", "oldestAgeMs"}]}`: the async
/// queue's events not done yet, per function.
pub(crate) async fn queue(State(s): State<AppState>) -> Json<serde_json::Value> {
    let now = hearth_model::time::now_ms();
    let list: Vec<_> = s
        .invoker
        .queue_stats()
        .into_iter()
        .map(|q| {
            json!({
                "function": q.function,
                "queued": q.queued,
                "running": q.running,
                "oldestAgeMs": (now - q.oldest_accepted_ms).max(0),
            })
        })
        .collect();
    Json(json!({ "functions": list }))
}

/// The query of `GET /_hearth/metering`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct MeteringQuery {
    /// Days since the epoch (UTC), the first included.
    from_day: i64,
    /// The first day not included.
    to_day: i64,
    function: Option<String>,
    /// The account whose functions (the default account when absent).
    account: Option<String>,
}

/// `{"Rows": [...]}`: the metered use of an account's functions per version, day and
/// configuration (`GET /_hearth/cost` prices it).
pub(crate) async fn metering(
    State(s): State<AppState>,
    Query(q): Query<MeteringQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let account = q
        .account
        .unwrap_or_else(|| hearth_model::arn::ACCOUNT.to_string());
    let rows = read_metering(&s, account, q.function, q.from_day, q.to_day).await?;
    let rows: Vec<_> = rows
        .into_iter()
        .map(|r| {
            json!({
                "Function": r.function,
                "Version": r.version,
                "Day": r.day,
                "Architecture": r.architecture,
                "MemoryMB": r.memory_mb,
                "EphemeralMB": r.ephemeral_mb,
                "Requests": r.requests,
                "BilledMs": r.billed_ms,
                "InitBilledMs": r.init_billed_ms,
                "ProvisionedSeconds": r.provisioned_s,
                "HostCpuMs": r.host_cpu_ms,
                "HostMemoryMbMs": r.host_memory_mb_ms,
            })
        })
        .collect();
    Ok(Json(json!({ "Rows": rows })))
}

/// `account`'s metering rows (of `function`, where given) of the days
/// `[from_day, to_day)`, after flushing what the observer counted so far, so that an
/// invocation answered before the request is in them.
pub(crate) async fn read_metering(
    s: &AppState,
    account: String,
    function: Option<String>,
    from_day: i64,
    to_day: i64,
) -> ApiResult<Vec<hearth_store::MeterRow>> {
    let service = |e: String| ApiError(AwsError::new(hearth_model::ErrorCode::Service, e));
    let engine = s.engine.clone();
    let flush = s.options.metrics_flush.clone();
    tokio::task::spawn_blocking(move || {
        if let Some(flush) = flush {
            flush();
        }
        engine
            .store()
            .metrics()
            .metering(&account, function.as_deref(), from_day, to_day)
    })
    .await
    .map_err(|e| service(e.to_string()))?
    .map_err(|e| service(e.to_string()))
}
