//! PublishVersion, ListVersionsByFunction and the alias operations.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hearth_model::alias::{
    AliasConfiguration, CreateAliasRequest, ListAliasesResponse, ListVersionsByFunctionResponse,
    PublishVersionRequest, UpdateAliasRequest,
};
use hearth_model::arn::{function_arn, LATEST};
use hearth_model::{FunctionRef, NameShape};

use crate::error::ApiResult;
use crate::page::page;
use crate::tenant::Tenant;
use crate::{body, AppState};

pub(crate) async fn publish(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    body: Body,
) -> ApiResult<Response> {
    let req: PublishVersionRequest = body::json(body, "PublishVersion").await?;
    let (r, new) = crate::version_request::new_version(&function, tenant.as_str(), req)?;
    let v = s.engine.publish_version(&r, new)?;
    Ok((StatusCode::CREATED, Json(v.to_configuration())).into_response())
}

pub(crate) async fn list_versions(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<ListVersionsByFunctionResponse>> {
    let r = FunctionRef::parse(&function, tenant.as_str())?;
    let versions = s
        .engine
        .list_versions(&r)?
        .iter()
        .map(|v| {
            let mut c = v.to_list_entry();
            // Listed among versions, $LATEST carries its qualifier.
            if v.is_latest() {
                c.function_arn = function_arn(&v.name, Some(LATEST));
            }
            c
        })
        .collect();
    let (versions, next_marker) = page(versions, &query, 50, 10_000)?;
    Ok(Json(ListVersionsByFunctionResponse {
        versions,
        next_marker,
    }))
}

pub(crate) async fn create_alias(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    body: Body,
) -> ApiResult<Response> {
    let req: CreateAliasRequest = body::json(body, "CreateAlias").await?;
    let (r, new) = crate::version_request::new_alias(&function, tenant.as_str(), req)?;
    let a = s.engine.create_alias(&r, new)?;
    Ok((StatusCode::CREATED, Json(a.to_configuration())).into_response())
}

pub(crate) async fn get_alias(
    State(s): State<AppState>,
    tenant: Tenant,
    Path((function, name)): Path<(String, String)>,
) -> ApiResult<Json<AliasConfiguration>> {
    let r = crate::functions::path_ref(&function, NameShape::FunctionName, &tenant)?;
    Ok(Json(s.engine.get_alias(&r, &name)?.to_configuration()))
}

pub(crate) async fn update_alias(
    State(s): State<AppState>,
    tenant: Tenant,
    Path((function, name)): Path<(String, String)>,
    body: Body,
) -> ApiResult<Json<AliasConfiguration>> {
    let req: UpdateAliasRequest = body::json(body, "UpdateAlias").await?;
    let (r, change) = crate::version_request::alias_change(&function, tenant.as_str(), &name, req)?;
    Ok(Json(
        s.engine.update_alias(&r, &name, change)?.to_configuration(),
    ))
}

pub(crate) async fn delete_alias(
    State(s): State<AppState>,
    tenant: Tenant,
    Path((function, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let r = crate::functions::path_ref(&function, NameShape::FunctionName, &tenant)?;
    s.engine.delete_alias(&r, &name)?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn list_aliases(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<ListAliasesResponse>> {
    let r = crate::functions::path_ref(&function, NameShape::FunctionName, &tenant)?;
    let version = query.get("FunctionVersion").map(String::as_str);
    let aliases = s
        .engine
        .list_aliases(&r, version)?
        .iter()
        .map(|a| a.to_configuration())
        .collect();
    let (aliases, next_marker) = page(aliases, &query, 50, 10_000)?;
    Ok(Json(ListAliasesResponse {
        aliases,
        next_marker,
    }))
}
