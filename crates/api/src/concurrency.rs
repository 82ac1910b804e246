//! Put/Get/DeleteFunctionConcurrency and the provisioned-concurrency operations.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hearth_model::concurrency::{
    Concurrency, GetFunctionConcurrencyResponse, ListProvisionedConcurrencyConfigsResponse,
    PutFunctionConcurrencyRequest, PutProvisionedConcurrencyConfigRequest,
};
use hearth_model::{validate, AwsError, FunctionRef, NameShape};

use crate::error::ApiResult;
use crate::page::page;
use crate::reference::{function_ref as reference, QualifierShape};
use crate::tenant::Tenant;
use crate::{body, AppState};

pub(crate) async fn put_reserved(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    body: Body,
) -> ApiResult<Json<Concurrency>> {
    let r = crate::functions::path_ref(&function, NameShape::FunctionName, &tenant)?;
    let req: PutFunctionConcurrencyRequest = body::json(body, "PutFunctionConcurrency").await?;
    let reserved = req
        .reserved_concurrent_executions
        .ok_or_else(|| AwsError::null_member("reservedConcurrentExecutions"))?;
    validate::at_least(reserved, 0, "reservedConcurrentExecutions")?;
    let n = s.engine.put_function_concurrency(&r, reserved)?;
    Ok(Json(Concurrency {
        reserved_concurrent_executions: n,
    }))
}

pub(crate) async fn get_reserved(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
) -> ApiResult<Json<GetFunctionConcurrencyResponse>> {
    let r = crate::functions::path_ref(&function, NameShape::FunctionName, &tenant)?;
    Ok(Json(GetFunctionConcurrencyResponse {
        reserved_concurrent_executions: s.engine.get_function_concurrency(&r)?,
    }))
}

pub(crate) async fn delete_reserved(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
) -> ApiResult<StatusCode> {
    let r = crate::functions::path_ref(&function, NameShape::FunctionName, &tenant)?;
    s.engine.delete_function_concurrency(&r)?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn put_provisioned(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: Body,
) -> ApiResult<Response> {
    let r = provisioned_ref(&function, &query, &tenant)?;
    let req: PutProvisionedConcurrencyConfigRequest =
        body::json(body, "PutProvisionedConcurrencyConfig").await?;
    let requested = req
        .provisioned_concurrent_executions
        .ok_or_else(|| AwsError::null_member("provisionedConcurrentExecutions"))?;
    validate::at_least(requested, 1, "provisionedConcurrentExecutions")?;
    let c = s.engine.put_provisioned(&r, requested)?;
    Ok((StatusCode::ACCEPTED, Json(c)).into_response())
}

/// GetProvisionedConcurrencyConfig, or with `?List=ALL` ListProvisionedConcurrencyConfigs.
pub(crate) async fn get_provisioned(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    // The binding its declaration (`action.rs`) was authorized by.
    if crate::operations::binds(raw.as_deref(), "List=ALL") {
        let r = crate::functions::path_ref(&function, NameShape::FunctionName, &tenant)?;
        let all = s.engine.list_provisioned(&r)?;
        let (configs, next_marker) = page(all, &query, 50, 50)?;
        return Ok(Json(ListProvisionedConcurrencyConfigsResponse {
            provisioned_concurrency_configs: configs,
            next_marker,
        })
        .into_response());
    }
    let r = provisioned_ref(&function, &query, &tenant)?;
    Ok(Json(s.engine.get_provisioned(&r)?).into_response())
}

pub(crate) async fn delete_provisioned(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    let r = provisioned_ref(&function, &query, &tenant)?;
    s.engine.delete_provisioned(&r)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The provisioned-concurrency operations' `FunctionName` and `Qualifier` shapes.
fn provisioned_ref(
    function: &str,
    query: &HashMap<String, String>,
    tenant: &Tenant,
) -> ApiResult<FunctionRef> {
    Ok(reference(
        function,
        tenant,
        NameShape::FunctionName,
        query,
        Some(QualifierShape::Plain),
    )?)
}
