//! Get/PutRuntimeManagementConfig, Get/PutFunctionRecursionConfig and
//! GetFunctionCodeSigningConfig: settings that SDKs and IaC tools read and write
//! beside a function's configuration.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::routing::{get, put};
use axum::{Extension, Json, Router};
use hearth_model::arn::function_arn;
use hearth_model::function_settings::{
    PutFunctionRecursionConfigRequest, PutRuntimeManagementConfigRequest, RecursionConfigResponse,
    RuntimeManagement, RuntimeManagementConfigResponse,
};
use hearth_model::FunctionRef;
use serde_json::{json, Value};

use crate::action::{Operation, ResourceOf};
use crate::error::ApiResult;
use crate::functions::{function_ref, unqualified_name};
use crate::tenant::Tenant;
use crate::{body, AppState};

const GET_RUNTIME: Operation = Operation::new(
    "GetRuntimeManagementConfig",
    "lambda:GetRuntimeManagementConfig",
    ResourceOf::Function,
);
const PUT_RUNTIME: Operation = Operation::new(
    "PutRuntimeManagementConfig",
    "lambda:PutRuntimeManagementConfig",
    ResourceOf::Function,
);
const GET_RECURSION: Operation = Operation::new(
    "GetFunctionRecursionConfig",
    "lambda:GetFunctionRecursionConfig",
    ResourceOf::UnqualifiedFunction,
);
const PUT_RECURSION: Operation = Operation::new(
    "PutFunctionRecursionConfig",
    "lambda:PutFunctionRecursionConfig",
    ResourceOf::UnqualifiedFunction,
);
const GET_CODE_SIGNING: Operation = Operation::new(
    "GetFunctionCodeSigningConfig",
    "lambda:GetFunctionCodeSigningConfig",
    ResourceOf::UnqualifiedFunction,
);
#[cfg(test)]
pub(crate) const OPERATIONS: &[Operation] = &[
    GET_RUNTIME,
    PUT_RUNTIME,
    GET_RECURSION,
    PUT_RECURSION,
    GET_CODE_SIGNING,
];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/2021-07-20/functions/{function}/runtime-management-config",
            get(get_runtime)
                .layer(Extension(GET_RUNTIME))
                .merge(put(put_runtime).layer(Extension(PUT_RUNTIME))),
        )
        .route(
            "/2024-08-31/functions/{function}/recursion-config",
            get(get_recursion)
                .layer(Extension(GET_RECURSION))
                .merge(put(put_recursion).layer(Extension(PUT_RECURSION))),
        )
        .route(
            "/2020-06-30/functions/{function}/code-signing-config",
            get(get_code_signing).layer(Extension(GET_CODE_SIGNING)),
        )
}

fn runtime_response(r: &FunctionRef, c: RuntimeManagement) -> RuntimeManagementConfigResponse {
    RuntimeManagementConfigResponse {
        update_runtime_on: c.update_runtime_on,
        runtime_version_arn: c.runtime_version_arn,
        function_arn: function_arn(&r.name, r.qualifier.as_deref()),
    }
}

async fn get_runtime(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<RuntimeManagementConfigResponse>> {
    let r = function_ref(&function, &query, &tenant)?;
    let c = s.engine.get_runtime_management(&r)?;
    Ok(Json(runtime_response(&r, c)))
}

async fn put_runtime(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: Body,
) -> ApiResult<Json<RuntimeManagementConfigResponse>> {
    let r = function_ref(&function, &query, &tenant)?;
    let req: PutRuntimeManagementConfigRequest = body::json(body, PUT_RUNTIME.name).await?;
    let c = s.engine.put_runtime_management(&r, req.validated()?)?;
    Ok(Json(runtime_response(&r, c)))
}

async fn get_recursion(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
) -> ApiResult<Json<RecursionConfigResponse>> {
    let name = unqualified_name(&function, &tenant)?;
    Ok(Json(RecursionConfigResponse {
        recursive_loop: s.engine.get_recursion(&name)?,
    }))
}

async fn put_recursion(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    body: Body,
) -> ApiResult<Json<RecursionConfigResponse>> {
    let name = unqualified_name(&function, &tenant)?;
    let req: PutFunctionRecursionConfigRequest = body::json(body, PUT_RECURSION.name).await?;
    Ok(Json(RecursionConfigResponse {
        recursive_loop: s.engine.put_recursion(&name, req.validated()?)?,
    }))
}

/// Hearth has no code signing configs: a function has none, which Lambda answers
/// with an empty object.
async fn get_code_signing(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
) -> ApiResult<Json<Value>> {
    let r = FunctionRef::parse(&function, tenant.as_str())?;
    s.engine.check_function_exists(&r)?;
    Ok(Json(json!({})))
}
