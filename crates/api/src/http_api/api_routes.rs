//! CreateRoute, GetRoute, GetRoutes, UpdateRoute and DeleteRoute: an API's route keys
//! and their targets.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde_json::Value;

use super::children::*;
use super::error::{GwError, GwResult};
use super::model::{self, Route, ROUTE};
use super::records;
use crate::tenant::Tenant;
use crate::AppState;

pub(crate) async fn create_route(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(api): Path<String>,
    body: axum::body::Body,
) -> GwResult<Response> {
    let m = members(body, "CreateRoute").await?;
    records::api(&s, tenant.as_str(), &api).await?;
    let key = m
        .string("routeKey")?
        .ok_or_else(|| GwError::bad_request("RouteKey is required"))?;
    check_route_key(&key)?;
    let target = m.string("target")?;
    if let Some(t) = &target {
        check_target(&s, &api, t).await?;
    }
    let routes: Vec<Route> = records::children(&s, &api, ROUTE).await?;
    if routes.iter().any(|r| r.route_key == key) {
        return Err(GwError::conflict(format!(
            "Route with key {key} already exists for this API"
        )));
    }
    let route = Route {
        api_gateway_managed: None,
        api_key_required: m.boolean("apiKeyRequired")?.unwrap_or(false),
        authorization_type: match m.string("authorizationType")?.as_deref() {
            None | Some("NONE") => "NONE".into(),
            Some(other) => {
                return Err(GwError::bad_request(format!(
                    "Hearth has no authorizers: AuthorizationType {other} is not supported"
                )))
            }
        },
        operation_name: m.string("operationName")?,
        route_id: model::new_id(7),
        route_key: key,
        target,
    };
    records::insert_child(&s, &api, ROUTE, &route.route_id, &route).await?;
    created(&route)
}

pub(crate) async fn get_route(
    State(s): State<AppState>,
    tenant: Tenant,
    Path((api, id)): Path<(String, String)>,
) -> GwResult<Json<Value>> {
    let r: Route = one(&s, &tenant, &api, ROUTE, &id, no_route).await?;
    ok(&r)
}

pub(crate) async fn get_routes(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(api): Path<String>,
) -> GwResult<Json<Value>> {
    records::api(&s, tenant.as_str(), &api).await?;
    items(&records::children::<Route>(&s, &api, ROUTE).await?)
}

pub(crate) async fn update_route(
    State(s): State<AppState>,
    tenant: Tenant,
    Path((api, id)): Path<(String, String)>,
    body: axum::body::Body,
) -> GwResult<Json<Value>> {
    let m = members(body, "UpdateRoute").await?;
    let mut r: Route = one(&s, &tenant, &api, ROUTE, &id, no_route).await?;
    if let Some(key) = m.string("routeKey")? {
        check_route_key(&key)?;
        let routes: Vec<Route> = records::children(&s, &api, ROUTE).await?;
        if routes
            .iter()
            .any(|o| o.route_key == key && o.route_id != id)
        {
            return Err(GwError::conflict(format!(
                "Route with key {key} already exists for this API"
            )));
        }
        r.route_key = key;
    }
    if let Some(t) = m.string("target")? {
        check_target(&s, &api, &t).await?;
        r.target = Some(t);
    }
    if m.has("operationName") {
        r.operation_name = m.string("operationName")?;
    }
    records::put_child(&s, &api, ROUTE, &id, &r).await?;
    ok(&r)
}

pub(crate) async fn delete_route(
    State(s): State<AppState>,
    tenant: Tenant,
    Path((api, id)): Path<(String, String)>,
) -> GwResult<StatusCode> {
    let _: Route = one(&s, &tenant, &api, ROUTE, &id, no_route).await?;
    records::delete_child(&s, &api, ROUTE, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
