//! Create-, Get-, Update-, Delete- and ListFunctionUrlConfig(s)
//! (`/2021-10-31/functions/{function}/url` and `/urls`): one URL per function and
//! qualifier (`$LATEST`, or an alias named by `?Qualifier=`), answered at the address
//! this server serves it at ([`crate::http_endpoints`]). The URLs themselves are served
//! by [`serve`], who may call them is [`access`].

mod access;
pub(crate) mod serve;

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hearth_model::function_url::{check_qualifier, FunctionUrl, UrlConfigRequest};
use hearth_model::FunctionRef;

use crate::error::ApiResult;
use crate::functions::function_ref;
use crate::page::max_items;
use crate::tenant::Tenant;
use crate::{body, AppState};

/// ListFunctionUrlConfigs' `MaxItems` bounds (and its default, the most).
const LIST_MAX_ITEMS: usize = 50;

/// The function and qualifier of a URL operation; the qualifier must be an alias.
fn url_ref(
    function: &str,
    query: &HashMap<String, String>,
    tenant: &Tenant,
) -> ApiResult<FunctionRef> {
    if let Some(q) = query.get("Qualifier") {
        check_qualifier(q)?;
    }
    let r = function_ref(function, query, tenant)?;
    if let Some(q) = &r.qualifier {
        check_qualifier(q)?;
    }
    Ok(r)
}

fn shape(s: &AppState, url: &FunctionUrl, with_modified: bool) -> serde_json::Value {
    url.to_shape(
        &s.options.endpoints.function_url(&url.url_id),
        with_modified,
    )
}

pub(crate) async fn create(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: Body,
) -> ApiResult<Response> {
    let r = url_ref(&function, &query, &tenant)?;
    let req: UrlConfigRequest = body::json(body, "CreateFunctionUrlConfig").await?;
    let url = s.engine.create_function_url(&r, req.check(true)?)?;
    Ok((StatusCode::CREATED, Json(shape(&s, &url, false))).into_response())
}

pub(crate) async fn get(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<serde_json::Value>> {
    let r = url_ref(&function, &query, &tenant)?;
    Ok(Json(shape(&s, &s.engine.get_function_url(&r)?, true)))
}

pub(crate) async fn update(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: Body,
) -> ApiResult<Json<serde_json::Value>> {
    let r = url_ref(&function, &query, &tenant)?;
    let req: UrlConfigRequest = body::json(body, "UpdateFunctionUrlConfig").await?;
    let url = s.engine.update_function_url(&r, req.check(false)?)?;
    Ok(Json(shape(&s, &url, true)))
}

pub(crate) async fn delete(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    let r = url_ref(&function, &query, &tenant)?;
    s.engine.delete_function_url(&r)?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn list(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<serde_json::Value>> {
    let r = FunctionRef::parse(&function, tenant.as_str())?;
    let max = max_items(&query, LIST_MAX_ITEMS, LIST_MAX_ITEMS)?;
    let marker = crate::page::marker(&query);
    let (urls, next) = s.engine.list_function_urls(&r, marker, max)?;
    let mut out = serde_json::json!({
        "FunctionUrlConfigs": urls.iter().map(|u| shape(&s, u, true)).collect::<Vec<_>>(),
    });
    if let Some(next) = next {
        out["NextMarker"] = next.into();
    }
    Ok(Json(out))
}
