//! CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions,
//! UpdateFunctionCode, UpdateFunctionConfiguration, DeleteFunction.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use hearth_model::alias::is_version_number;
use hearth_model::arn::{function_arn, LATEST};
use hearth_model::concurrency::Concurrency;
use hearth_model::shapes::{
    CreateFunctionRequest, FunctionCodeLocation, FunctionConfiguration, GetFunctionResponse,
    ListFunctionsResponse, UpdateFunctionCodeRequest, UpdateFunctionConfigurationRequest,
};
use hearth_model::{validate, AwsError, FunctionConfig, FunctionRef, NameShape};

use crate::authorize::Access;
use crate::error::ApiResult;
use crate::function_request::EnvOrder;
use crate::reference::{self, QualifierShape};
use crate::tenant::Tenant;
use crate::{body, AppState};

/// The function reference from the path, with `?Qualifier=` folded in (the shapes of
/// GetFunction, Invoke, DeleteFunction and the event invoke configs).
pub(crate) fn function_ref(
    path: &str,
    query: &HashMap<String, String>,
    tenant: &Tenant,
) -> ApiResult<FunctionRef> {
    Ok(reference::function_ref(
        path,
        tenant,
        NameShape::Namespaced,
        query,
        Some(QualifierShape::Namespaced),
    )?)
}

/// The function reference from the path alone, as `shape`.
pub(crate) fn path_ref(path: &str, shape: NameShape, tenant: &Tenant) -> ApiResult<FunctionRef> {
    Ok(FunctionRef::parse_as(path, shape, tenant.as_str())?)
}

/// The function name a path names as the model's `UnqualifiedFunctionName` (a name, ARN
/// or partial ARN without a qualifier), for the operations on a whole function.
pub(crate) fn unqualified_name(path: &str, tenant: &Tenant) -> ApiResult<String> {
    Ok(path_ref(path, NameShape::Unqualified, tenant)?.name)
}

/// The configuration `r` names. Through an alias it is the alias's version's, under
/// the alias's ARN, as Lambda shows it.
fn configuration(
    s: &AppState,
    r: &FunctionRef,
) -> ApiResult<(FunctionConfig, FunctionConfiguration)> {
    let f = s.engine.get_function(r)?;
    let mut c = f.to_configuration();
    if let Some(q) = r.qualifier.as_deref() {
        if !is_version_number(q) && q != LATEST {
            c.function_arn = function_arn(&r.name, Some(q));
        }
    }
    Ok((f, c))
}

/// Where the zip of hash `hex` downloads from on this server: the stand-in for the
/// presigned S3 URL of GetFunction's `Code.Location` and GetLayerVersion's
/// `Content.Location`.
pub(crate) fn code_location(headers: &HeaderMap, hex: &str) -> String {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:9000");
    format!("http://{host}/_hearth/code/{hex}.zip")
}

pub(crate) async fn create(
    State(s): State<AppState>,
    tenant: Tenant,
    access: Option<Extension<Access>>,
    body: Body,
) -> ApiResult<Response> {
    let bytes = body::control(body, "CreateFunction").await?;
    let req: CreateFunctionRequest = body::parse(&bytes)?;
    let order = EnvOrder::of(&bytes);
    let layers = req.layers.clone().unwrap_or_default();
    let mut new = crate::function_request::new_function(req, &order, tenant.as_str())?;
    crate::role_check::check(&s, access.as_ref().map(|a| &a.0), &new.role, &new.name)?;
    if let Some(target) = &new.dead_letter_target_arn {
        crate::role_check::check_dead_letters(&s, &new.role, &new.name, target)?;
    }
    crate::kms::check_key(&s, new.kms_key_arn.as_deref(), tenant.as_str()).await?;
    new.layers = crate::layers::resolve(&s, &tenant, access.as_ref(), layers).await?;
    let f = s.engine.create_function(new).await?;
    Ok((StatusCode::CREATED, Json(f.to_configuration())).into_response())
}

pub(crate) async fn get(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Json<GetFunctionResponse>> {
    let r = function_ref(&function, &query, &tenant)?;
    let (f, configuration) = configuration(&s, &r)?;
    let concurrency = s
        .engine
        .get_function_concurrency(&FunctionRef {
            name: r.name.clone(),
            qualifier: None,
        })?
        .map(|n| Concurrency {
            reserved_concurrent_executions: n,
        });
    Ok(Json(GetFunctionResponse {
        configuration,
        code: FunctionCodeLocation {
            repository_type: "S3".into(),
            location: code_location(&headers, &f.code.sha256_hex),
        },
        tags: s.engine.function_tags(&r.name)?,
        concurrency,
        hearth: Some(serde_json::json!({
            "Egress": crate::egress::egress_json(&s.engine.get_egress(&r.name)?),
            // The version asked for: a published one keeps its own.
            "FreshEnv": f.fresh_env,
        })),
    }))
}

pub(crate) async fn get_configuration(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let (_, c) = configuration(&s, &function_ref(&function, &query, &tenant)?)?;
    Ok(Json(c).into_response())
}

pub(crate) async fn list(
    State(s): State<AppState>,
    tenant: Tenant,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<ListFunctionsResponse>> {
    let all = match query.get("FunctionVersion").map(String::as_str) {
        None => false,
        Some("ALL") => true,
        Some(other) => {
            return Err(AwsError::constraint(
                other,
                "functionVersion",
                "Member must satisfy enum value set: [ALL]",
            )
            .into())
        }
    };
    if let Some(region) = query.get("MasterRegion") {
        if region.is_empty() || region.len() > 50 || !validate::master_region_matches(region) {
            return Err(AwsError::constraint(
                region,
                "masterRegion",
                &format!(
                    "Member must satisfy regular expression pattern: {}",
                    validate::MASTER_REGION_PATTERN
                ),
            )
            .into());
        }
        if !all {
            return Err(AwsError::invalid(format!(
                "The combination MasterArn={region} and FunctionVersion=NULL is not supported. Please see our documentation for valid combinations of ListFunctions options."
            ))
            .into());
        }
    }
    // Lambda answers at most 50 entries a page, whatever MaxItems asks.
    let max = crate::page::max_items(&query, 50, 10_000)?.min(50);
    let marker = crate::page::marker(&query);
    if query.contains_key("MasterRegion") {
        // Only Lambda@Edge replicas of functions in another region match, and Hearth
        // has none.
        return Ok(Json(ListFunctionsResponse {
            functions: Vec::new(),
            next_marker: None,
        }));
    }
    let (functions, next_marker) = if all {
        s.engine.list_all_versions(tenant.as_str(), marker, max)?
    } else {
        s.engine.list_functions(tenant.as_str(), marker, max)?
    };
    let functions = functions
        .iter()
        .map(|f| {
            let mut entry = f.to_list_entry();
            // With ALL, `$LATEST` is listed under its qualified ARN, as Lambda lists it.
            if all && f.is_latest() {
                entry.function_arn = function_arn(&f.name, Some(LATEST));
            }
            entry
        })
        .collect();
    Ok(Json(ListFunctionsResponse {
        functions,
        next_marker,
    }))
}

pub(crate) async fn update_code(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    body: Body,
) -> ApiResult<Response> {
    let req: UpdateFunctionCodeRequest = body::json(body, "UpdateFunctionCode").await?;
    let (r, change) = crate::function_request::code_change(&function, tenant.as_str(), req)?;
    let f = s.engine.update_code(&r, change).await?;
    Ok(Json(f.to_configuration()).into_response())
}

pub(crate) async fn update_configuration(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    access: Option<Extension<Access>>,
    body: Body,
) -> ApiResult<Response> {
    let bytes = body::control(body, "UpdateFunctionConfiguration").await?;
    let req: UpdateFunctionConfigurationRequest = body::parse(&bytes)?;
    let order = EnvOrder::of(&bytes);
    let layers = req.layers.clone();
    let (r, mut change) =
        crate::function_request::config_change(&function, tenant.as_str(), req, &order)?;
    if let Some(role) = &change.role {
        crate::role_check::check(&s, access.as_ref().map(|a| &a.0), role, &r.name)?;
    }
    if change.role.is_some() || matches!(change.dead_letter_target_arn, Some(Some(_))) {
        // The role and the target the function will have: either may be the one changed.
        let current = s.engine.get_function(&r)?;
        let role = change.role.as_ref().unwrap_or(&current.role);
        let target = match &change.dead_letter_target_arn {
            Some(t) => t.as_ref(),
            None => current.dead_letter_target_arn.as_ref(),
        };
        if let Some(target) = target {
            crate::role_check::check_dead_letters(&s, role, &r.name, target)?;
        }
    }
    if let Some(arn) = &change.kms_key_arn {
        crate::kms::check_key(&s, arn.as_deref(), tenant.as_str()).await?;
    }
    if let Some(arns) = layers {
        change.layers = Some(crate::layers::resolve(&s, &tenant, access.as_ref(), arns).await?);
    }
    let f = s.engine.update_configuration(&r, change).await?;
    Ok(Json(f.to_configuration()).into_response())
}

pub(crate) async fn delete(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    let r = function_ref(&function, &query, &tenant)?;
    // Off the workers: the store's write waits for its fsync, and a burst of deletions
    // on the workers held up every invocation queued behind them.
    let engine = s.engine.clone();
    tokio::task::spawn_blocking(move || engine.delete_function(&r))
        .await
        .map_err(|e| AwsError::service(format!("the deletion stopped: {e}")))??;
    Ok(StatusCode::NO_CONTENT)
}
