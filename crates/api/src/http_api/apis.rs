//! CreateApi (with quick create: `Target` and `RouteKey`), GetApi, GetApis, UpdateApi,
//! DeleteApi, and the tag operations on APIs and stages.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hearth_model::arn::REGION;
use serde_json::{json, Value};

use super::children::{check_function_uri, deployed_message};
use super::error::{GwError, GwResult};
use super::model::{
    self, Api, Deployment, Integration, Members, Route, Stage, DEFAULT_STAGE, DEPLOYMENT,
    INTEGRATION, ROUTE, STAGE,
};
use super::records;
use crate::tenant::Tenant;
use crate::AppState;

/// An API as the operations answer it: its record and where it answers.
pub(crate) fn shape(s: &AppState, api: &Api) -> Value {
    let mut v = serde_json::to_value(api).unwrap_or_default();
    if let Value::Object(m) = &mut v {
        m.insert(
            "apiEndpoint".into(),
            Value::String(s.options.endpoints.api_endpoint(&api.api_id)),
        );
    }
    v
}

async fn members(body: axum::body::Body, op: &str) -> GwResult<Members> {
    let bytes = crate::body::control(body, op)
        .await
        .map_err(|e| GwError::bad_request(e.0.message))?;
    Members::parse(&bytes)
}

pub(crate) async fn create(
    State(s): State<AppState>,
    tenant: Tenant,
    body: axum::body::Body,
) -> GwResult<Response> {
    let m = members(body, "CreateApi").await?;
    let name = m
        .string("name")?
        .filter(|n| !n.is_empty())
        .ok_or_else(|| GwError::bad_request("Name is required"))?;
    match m.string("protocolType")?.as_deref() {
        Some("HTTP") => {}
        Some("WEBSOCKET") => {
            return Err(GwError::bad_request(
                "Hearth serves HTTP APIs only: WEBSOCKET APIs are not supported",
            ))
        }
        _ => {
            return Err(GwError::bad_request(
                "Invalid protocol type specified. Valid values: HTTP, WEBSOCKET",
            ))
        }
    }
    let target = m.string("target")?;
    let route_key = m.string("routeKey")?;
    if route_key.is_some() && target.is_none() {
        return Err(GwError::bad_request(
            "RouteKey can only be specified with Target for quick create",
        ));
    }
    if let Some(t) = &target {
        check_function_uri(t)?;
    }
    if let Some(k) = &route_key {
        super::children::check_route_key(k)?;
    }
    let api = Api {
        api_id: model::new_id(10),
        api_key_selection_expression: m
            .string("apiKeySelectionExpression")?
            .unwrap_or_else(|| "$request.header.x-api-key".into()),
        cors_configuration: m.raw("corsConfiguration"),
        created_date: model::now(),
        description: m.string("description")?,
        disable_execute_api_endpoint: m.boolean("disableExecuteApiEndpoint")?.unwrap_or(false),
        ip_address_type: m.string("ipAddressType")?.unwrap_or_else(|| "ipv4".into()),
        name,
        protocol_type: "HTTP".into(),
        route_selection_expression: m
            .string("routeSelectionExpression")?
            .unwrap_or_else(|| "$request.method $request.path".into()),
        tags: m.string_map("tags")?.unwrap_or_default(),
        version: m.string("version")?,
    };
    records::insert_api(&s, tenant.as_str(), &api).await?;
    if let Some(target) = target {
        quick_create(&s, &api.api_id, target, route_key).await?;
    }
    Ok((StatusCode::CREATED, Json(shape(&s, &api))).into_response())
}

/// What quick create makes beside the API: an `AWS_PROXY` integration (payload 2.0) to
/// the target, a route to it (`$default` unless a key is given) and a `$default` stage
/// that deploys automatically, each marked as API Gateway's own.
async fn quick_create(
    s: &AppState,
    api: &str,
    target: String,
    route_key: Option<String>,
) -> GwResult<()> {
    let integration = Integration {
        api_gateway_managed: Some(true),
        connection_type: "INTERNET".into(),
        description: None,
        integration_id: model::new_id(7),
        integration_method: "POST".into(),
        integration_type: "AWS_PROXY".into(),
        integration_uri: target,
        payload_format_version: "2.0".into(),
        timeout_in_millis: 30000,
    };
    records::insert_child(
        s,
        api,
        INTEGRATION,
        &integration.integration_id,
        &integration,
    )
    .await?;
    let route = Route {
        api_gateway_managed: Some(true),
        api_key_required: false,
        authorization_type: "NONE".into(),
        operation_name: None,
        route_id: model::new_id(7),
        route_key: route_key.unwrap_or_else(|| "$default".into()),
        target: Some(format!("integrations/{}", integration.integration_id)),
    };
    records::insert_child(s, api, ROUTE, &route.route_id, &route).await?;
    let now = model::now();
    let deployment = Deployment {
        auto_deployed: true,
        created_date: now.clone(),
        deployment_id: model::new_id(6),
        deployment_status: "DEPLOYED".into(),
        description: Some(
            "Automatic deployment triggered by changes to the Api configuration".into(),
        ),
    };
    records::insert_child(s, api, DEPLOYMENT, &deployment.deployment_id, &deployment).await?;
    let stage = Stage {
        api_gateway_managed: Some(true),
        auto_deploy: true,
        created_date: now.clone(),
        default_route_settings: json!({ "detailedMetricsEnabled": false }),
        deployment_id: Some(deployment.deployment_id.clone()),
        description: None,
        last_deployment_status_message: Some(deployed_message(&deployment.deployment_id)),
        last_updated_date: now,
        route_settings: json!({}),
        stage_name: DEFAULT_STAGE.into(),
        stage_variables: BTreeMap::new(),
        tags: BTreeMap::new(),
    };
    records::insert_child(s, api, STAGE, DEFAULT_STAGE, &stage).await?;
    Ok(())
}

pub(crate) async fn get(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> GwResult<Json<Value>> {
    let api = records::api(&s, tenant.as_str(), &id).await?;
    Ok(Json(shape(&s, &api)))
}

#[derive(serde::Deserialize)]
pub(crate) struct Paging {
    #[serde(rename = "maxResults")]
    max_results: Option<String>,
    #[serde(rename = "nextToken")]
    next_token: Option<String>,
}

pub(crate) async fn list(
    State(s): State<AppState>,
    tenant: Tenant,
    Query(p): Query<Paging>,
) -> GwResult<Json<Value>> {
    let limit = match p.max_results.as_deref() {
        None => 100,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| GwError::bad_request("Invalid MaxResults"))?,
    };
    let mut apis = records::list_apis(&s, tenant.as_str(), p.next_token, limit + 1).await?;
    let next = if apis.len() > limit {
        apis.truncate(limit);
        apis.last().map(|a| a.api_id.clone())
    } else {
        None
    };
    let items: Vec<Value> = apis.iter().map(|a| shape(&s, a)).collect();
    let mut out = json!({ "items": items });
    if let Some(n) = next {
        out["nextToken"] = Value::String(n);
    }
    Ok(Json(out))
}

pub(crate) async fn update(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
    body: axum::body::Body,
) -> GwResult<Json<Value>> {
    let m = members(body, "UpdateApi").await?;
    let mut api = records::api(&s, tenant.as_str(), &id).await?;
    if let Some(n) = m.string("name")? {
        api.name = n;
    }
    if m.has("description") {
        api.description = m.string("description")?;
    }
    if m.has("version") {
        api.version = m.string("version")?;
    }
    if m.has("corsConfiguration") {
        api.cors_configuration = m.raw("corsConfiguration");
    }
    if let Some(d) = m.boolean("disableExecuteApiEndpoint")? {
        api.disable_execute_api_endpoint = d;
    }
    if let Some(e) = m.string("routeSelectionExpression")? {
        api.route_selection_expression = e;
    }
    let target = m.string("target")?;
    let route_key = m.string("routeKey")?;
    if let Some(t) = &target {
        check_function_uri(t)?;
    }
    if let Some(k) = &route_key {
        super::children::check_route_key(k)?;
    }
    if target.is_some() || route_key.is_some() {
        update_quick_create(&s, &id, target, route_key).await?;
    }
    records::put_api(&s, &api).await?;
    Ok(Json(shape(&s, &api)))
}

/// UpdateApi's `Target` and `RouteKey`: they change what quick create made, the
/// integration's URI and the route's key ("If not specified, the route created using
/// quick create is kept. Otherwise, this value replaces the route key of the quick create
/// route"). An API that quick create did not make has neither to change.
async fn update_quick_create(
    s: &AppState,
    api: &str,
    target: Option<String>,
    route_key: Option<String>,
) -> GwResult<()> {
    let not_quick = || {
        GwError::bad_request(
            "Target and RouteKey can only be updated on an API made by quick create",
        )
    };
    let managed = |m: Option<bool>| m == Some(true);
    if let Some(target) = target {
        let mut integration = records::children::<Integration>(s, api, INTEGRATION)
            .await?
            .into_iter()
            .find(|i| managed(i.api_gateway_managed))
            .ok_or_else(not_quick)?;
        integration.integration_uri = target;
        records::put_child(
            s,
            api,
            INTEGRATION,
            &integration.integration_id.clone(),
            &integration,
        )
        .await?;
    }
    if let Some(key) = route_key {
        let routes: Vec<Route> = records::children(s, api, ROUTE).await?;
        let mut route = routes
            .iter()
            .find(|r| managed(r.api_gateway_managed))
            .cloned()
            .ok_or_else(not_quick)?;
        if routes
            .iter()
            .any(|r| r.route_key == key && r.route_id != route.route_id)
        {
            return Err(GwError::conflict(format!(
                "Route with key {key} already exists for this API"
            )));
        }
        route.route_key = key;
        records::put_child(s, api, ROUTE, &route.route_id.clone(), &route).await?;
    }
    Ok(())
}

pub(crate) async fn delete(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> GwResult<StatusCode> {
    records::api(&s, tenant.as_str(), &id).await?;
    records::delete_api(&s, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a tag operation's ARN names: an API, or one of its stages.
enum Tagged {
    Api(String),
    Stage(String, String),
}

fn tagged(arn: &str) -> GwResult<Tagged> {
    let prefix = format!("arn:aws:apigateway:{REGION}::/apis/");
    let rest = arn
        .strip_prefix(&prefix)
        .ok_or_else(|| GwError::bad_request(format!("Invalid resource ARN {arn}")))?;
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        [api] if !api.is_empty() => Ok(Tagged::Api((*api).into())),
        [api, "stages", stage] if !stage.is_empty() => {
            Ok(Tagged::Stage((*api).into(), (*stage).into()))
        }
        _ => Err(GwError::bad_request(format!("Invalid resource ARN {arn}"))),
    }
}

/// Reads, changes and writes the tags of what `arn` names.
async fn edit_tags(
    s: &AppState,
    account: &str,
    arn: &str,
    edit: impl FnOnce(&mut BTreeMap<String, String>),
) -> GwResult<BTreeMap<String, String>> {
    match tagged(arn)? {
        Tagged::Api(id) => {
            let mut api = records::api(s, account, &id).await?;
            edit(&mut api.tags);
            records::put_api(s, &api).await?;
            Ok(api.tags)
        }
        Tagged::Stage(id, name) => {
            records::api(s, account, &id).await?;
            let mut stage: Stage = records::child(s, &id, STAGE, &name)
                .await?
                .ok_or_else(|| super::children::no_stage(&name))?;
            edit(&mut stage.tags);
            records::put_child(s, &id, STAGE, &name, &stage).await?;
            Ok(stage.tags)
        }
    }
}

pub(crate) async fn get_tags(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(arn): Path<String>,
) -> GwResult<Json<Value>> {
    let tags = edit_tags(&s, tenant.as_str(), &arn, |_| {}).await?;
    Ok(Json(json!({ "tags": tags })))
}

pub(crate) async fn tag(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(arn): Path<String>,
    body: axum::body::Body,
) -> GwResult<Response> {
    let m = members(body, "TagResource").await?;
    let new = m.string_map("tags")?.unwrap_or_default();
    edit_tags(&s, tenant.as_str(), &arn, |t| t.extend(new)).await?;
    Ok((StatusCode::CREATED, Json(json!({}))).into_response())
}

pub(crate) async fn untag(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(arn): Path<String>,
    RawQuery(query): RawQuery,
) -> GwResult<StatusCode> {
    let keys: Vec<String> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "tagKeys")
        .map(|(_, v)| v.into_owned())
        .collect();
    edit_tags(&s, tenant.as_str(), &arn, |t| {
        for k in &keys {
            t.remove(k);
        }
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
