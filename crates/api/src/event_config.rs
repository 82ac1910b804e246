//! Put-, Update-, Get-, Delete- and ListFunctionEventInvokeConfig(s): asynchronous
//! invocation settings per function, version or alias.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use hearth_model::event_invoke::{
    EventInvokeConfigRequest, FunctionEventInvokeConfig, ListFunctionEventInvokeConfigsResponse,
    LIST_MAX_ITEMS,
};
use hearth_model::FunctionRef;

use crate::error::ApiResult;
use crate::functions::function_ref;
use crate::page::max_items;
use crate::tenant::Tenant;
use crate::{body, AppState};

pub(crate) async fn put(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: Body,
) -> ApiResult<Json<FunctionEventInvokeConfig>> {
    let r = function_ref(&function, &query, &tenant)?;
    let req: EventInvokeConfigRequest = body::json(body, "PutFunctionEventInvokeConfig").await?;
    Ok(Json(
        s.engine.put_event_invoke_config(&r, req.validated()?)?,
    ))
}

pub(crate) async fn update(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: Body,
) -> ApiResult<Json<FunctionEventInvokeConfig>> {
    let r = function_ref(&function, &query, &tenant)?;
    let req: EventInvokeConfigRequest = body::json(body, "UpdateFunctionEventInvokeConfig").await?;
    Ok(Json(
        s.engine.update_event_invoke_config(&r, req.validated()?)?,
    ))
}

pub(crate) async fn get(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<FunctionEventInvokeConfig>> {
    let r = function_ref(&function, &query, &tenant)?;
    Ok(Json(s.engine.get_event_invoke_config(&r)?))
}

pub(crate) async fn delete(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    let r = function_ref(&function, &query, &tenant)?;
    s.engine.delete_event_invoke_config(&r)?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn list(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<ListFunctionEventInvokeConfigsResponse>> {
    let r = FunctionRef::parse(&function, tenant.as_str())?;
    let max = max_items(&query, LIST_MAX_ITEMS, LIST_MAX_ITEMS)?;
    let marker = crate::page::marker(&query);
    Ok(Json(s.engine.list_event_invoke_configs(&r, marker, max)?))
}
