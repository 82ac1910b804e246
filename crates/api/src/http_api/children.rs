//! An API's integrations, routes, stages and deployments: Create, Get, Get*s, Update
//! and Delete of each.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hearth_http_events::routes::RouteKey;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use super::error::{GwError, GwResult};
use super::model::{
    self, Deployment, Integration, Members, Route, Snapshot, Stage, DEFAULT_STAGE, DEPLOYMENT,
    INTEGRATION, ROUTE, SNAPSHOT, STAGE,
};
use super::records;
use crate::tenant::Tenant;
use crate::AppState;

async fn members(body: axum::body::Body, op: &str) -> GwResult<Members> {
    let bytes = crate::body::control(body, op)
        .await
        .map_err(|e| GwError::bad_request(e.0.message))?;
    Members::parse(&bytes)
}

fn created<T: Serialize>(record: &T) -> GwResult<Response> {
    let v = serde_json::to_value(record).map_err(GwError::internal)?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

fn ok<T: Serialize>(record: &T) -> GwResult<Json<Value>> {
    Ok(Json(
        serde_json::to_value(record).map_err(GwError::internal)?,
    ))
}

fn items<T: Serialize>(list: &[T]) -> GwResult<Json<Value>> {
    let v = serde_json::to_value(list).map_err(GwError::internal)?;
    Ok(Json(json!({ "items": v })))
}

pub(crate) fn no_stage(name: &str) -> GwError {
    GwError::not_found(format!("Invalid stage identifier specified {name}"))
}

fn no_integration(id: &str) -> GwError {
    GwError::not_found(format!("Invalid Integration identifier specified {id}"))
}

fn no_route(id: &str) -> GwError {
    GwError::not_found(format!("Invalid Route identifier specified {id}"))
}

fn no_deployment(id: &str) -> GwError {
    GwError::not_found(format!("Invalid Deployment identifier specified {id}"))
}

/// The stage message API Gateway writes after a deployment.
pub(crate) fn deployed_message(deployment: &str) -> String {
    format!("Successfully deployed stage with deployment ID '{deployment}'")
}

/// The function an `AWS_PROXY` integration URI names: a function's ARN (with an alias
/// or version, or not), or API Gateway's `.../functions/<arn>/invocations` form.
pub(crate) fn function_arn_of(uri: &str) -> Option<&str> {
    let arn = match uri.strip_prefix("arn:aws:apigateway:") {
        Some(rest) => rest
            .split_once(":lambda:path/2015-03-31/functions/")?
            .1
            .strip_suffix("/invocations")?,
        None => uri,
    };
    let parts: Vec<&str> = arn.split(':').collect();
    let shape_ok = parts.len() >= 7
        && parts.len() <= 8
        && parts[..3] == ["arn", "aws", "lambda"]
        && parts[5] == "function"
        && !parts[6].is_empty();
    shape_ok.then_some(arn)
}

pub(crate) fn check_function_uri(uri: &str) -> GwResult<()> {
    function_arn_of(uri).map(|_| ()).ok_or_else(|| {
        GwError::bad_request(format!(
            "Invalid integration URI specified: {uri}. Hearth integrates Lambda function ARNs (AWS_PROXY) only"
        ))
    })
}

pub(crate) fn check_route_key(key: &str) -> GwResult<()> {
    RouteKey::parse(key)
        .map(|_| ())
        .map_err(|e| GwError::bad_request(format!("Unable to create route {key}: {e}")))
}

fn check_payload_version(v: &str) -> GwResult<()> {
    match v {
        "1.0" | "2.0" => Ok(()),
        _ => Err(GwError::bad_request(format!(
            "Invalid payload format version specified: {v}. Supported values are 1.0 and 2.0"
        ))),
    }
}

fn check_timeout(t: i64) -> GwResult<()> {
    if (50..=30000).contains(&t) {
        Ok(())
    } else {
        Err(GwError::bad_request(
            "TimeoutInMillis must be between 50 and 30000 milliseconds for HTTP APIs",
        ))
    }
}

/// The integration id of a route's `integrations/<id>` target, which must exist.
async fn check_target(s: &AppState, api: &str, target: &str) -> GwResult<()> {
    let id = target.strip_prefix("integrations/").ok_or_else(|| {
        GwError::bad_request(format!(
            "Invalid target {target}: a target must be integrations/<integration id>"
        ))
    })?;
    match records::child::<Integration>(s, api, INTEGRATION, id).await? {
        Some(_) => Ok(()),
        None => Err(GwError::bad_request(format!(
            "Invalid integration identifier specified in target {target}"
        ))),
    }
}

async fn one<T: DeserializeOwned>(
    s: &AppState,
    tenant: &Tenant,
    api: &str,
    kind: &'static str,
    id: &str,
    missing: fn(&str) -> GwError,
) -> GwResult<T> {
    records::api(s, tenant.as_str(), api).await?;
    records::child(s, api, kind, id)
        .await?
        .ok_or_else(|| missing(id))
}

// Integrations.

pub(crate) async fn create_integration(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(api): Path<String>,
    body: axum::body::Body,
) -> GwResult<Response> {
    let m = members(body, "CreateIntegration").await?;
    records::api(&s, tenant.as_str(), &api).await?;
    match m.string("integrationType")?.as_deref() {
        Some("AWS_PROXY") => {}
        Some(other) => {
            return Err(GwError::bad_request(format!(
                "Hearth supports AWS_PROXY integrations only, not {other}"
            )))
        }
        None => return Err(GwError::bad_request("IntegrationType is required")),
    }
    let uri = m.string("integrationUri")?.ok_or_else(|| {
        GwError::bad_request("IntegrationUri is required for AWS_PROXY integrations")
    })?;
    check_function_uri(&uri)?;
    let version = m.string("payloadFormatVersion")?.ok_or_else(|| {
        GwError::bad_request("PayloadFormatVersion is required for AWS_PROXY integrations")
    })?;
    check_payload_version(&version)?;
    let timeout = m.integer("timeoutInMillis")?.unwrap_or(30000);
    check_timeout(timeout)?;
    let integration = Integration {
        api_gateway_managed: None,
        connection_type: m
            .string("connectionType")?
            .unwrap_or_else(|| "INTERNET".into()),
        description: m.string("description")?,
        integration_id: model::new_id(7),
        integration_method: m
            .string("integrationMethod")?
            .unwrap_or_else(|| "POST".into()),
        integration_type: "AWS_PROXY".into(),
        integration_uri: uri,
        payload_format_version: version,
        timeout_in_millis: timeout,
    };
    records::insert_child(
        &s,
        &api,
        INTEGRATION,
        &integration.integration_id,
        &integration,
    )
    .await?;
    created(&integration)
}

pub(crate) async fn get_integration(
    State(s): State<AppState>,
    tenant: Tenant,
    Path((api, id)): Path<(String, String)>,
) -> GwResult<Json<Value>> {
    let i: Integration = one(&s, &tenant, &api, INTEGRATION, &id, no_integration).await?;
    ok(&i)
}

pub(crate) async fn get_integrations(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(api): Path<String>,
) -> GwResult<Json<Value>> {
    records::api(&s, tenant.as_str(), &api).await?;
    items(&records::children::<Integration>(&s, &api, INTEGRATION).await?)
}

pub(crate) async fn update_integration(
    State(s): State<AppState>,
    tenant: Tenant,
    Path((api, id)): Path<(String, String)>,
    body: axum::body::Body,
) -> GwResult<Json<Value>> {
    let m = members(body, "UpdateIntegration").await?;
    let mut i: Integration = one(&s, &tenant, &api, INTEGRATION, &id, no_integration).await?;
    if let Some(t) = m.string("integrationType")? {
        if t != "AWS_PROXY" {
            return Err(GwError::bad_request(format!(
                "Hearth supports AWS_PROXY integrations only, not {t}"
            )));
        }
    }
    if let Some(uri) = m.string("integrationUri")? {
        check_function_uri(&uri)?;
        i.integration_uri = uri;
    }
    if let Some(v) = m.string("payloadFormatVersion")? {
        check_payload_version(&v)?;
        i.payload_format_version = v;
    }
    if let Some(t) = m.integer("timeoutInMillis")? {
        check_timeout(t)?;
        i.timeout_in_millis = t;
    }
    if m.has("description") {
        i.description = m.string("description")?;
    }
    records::put_child(&s, &api, INTEGRATION, &id, &i).await?;
    ok(&i)
}

pub(crate) async fn delete_integration(
    State(s): State<AppState>,
    tenant: Tenant,
    Path((api, id)): Path<(String, String)>,
) -> GwResult<StatusCode> {
    let _: Integration = one(&s, &tenant, &api, INTEGRATION, &id, no_integration).await?;
    let target = format!("integrations/{id}");
    let routes: Vec<Route> = records::children(&s, &api, ROUTE).await?;
    if routes
        .iter()
        .any(|r| r.target.as_deref() == Some(target.as_str()))
    {
        return Err(GwError::conflict(format!(
            "Cannot delete integration {id}: it is the target of a route"
        )));
    }
    records::delete_child(&s, &api, INTEGRATION, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// Routes.

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

// Stages.

fn check_stage_name(name: &str) -> GwResult<()> {
    let ok = name == DEFAULT_STAGE
        || (!name.is_empty()
            && name.len() <= 128
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
    if ok {
        Ok(())
    } else {
        Err(GwError::bad_request(format!(
            "Stage name only allows a-zA-Z0-9_- and $default: {name}"
        )))
    }
}

pub(crate) async fn create_stage(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(api): Path<String>,
    body: axum::body::Body,
) -> GwResult<Response> {
    let m = members(body, "CreateStage").await?;
    records::api(&s, tenant.as_str(), &api).await?;
    let name = m
        .string("stageName")?
        .ok_or_else(|| GwError::bad_request("StageName is required"))?;
    check_stage_name(&name)?;
    let vars = m.string_map("stageVariables")?.unwrap_or_default();
    model::check_stage_variables(&vars)?;
    let deployment_id = m.string("deploymentId")?;
    if let Some(d) = &deployment_id {
        records::child::<Deployment>(&s, &api, DEPLOYMENT, d)
            .await?
            .ok_or_else(|| no_deployment(d))?;
    }
    let now = model::now();
    let stage = Stage {
        api_gateway_managed: None,
        auto_deploy: m.boolean("autoDeploy")?.unwrap_or(false),
        created_date: now.clone(),
        default_route_settings: m
            .raw("defaultRouteSettings")
            .unwrap_or_else(|| json!({ "detailedMetricsEnabled": false })),
        last_deployment_status_message: deployment_id.as_deref().map(deployed_message),
        deployment_id,
        description: m.string("description")?,
        last_updated_date: now,
        route_settings: m.raw("routeSettings").unwrap_or_else(|| json!({})),
        stage_name: name.clone(),
        stage_variables: vars,
        tags: m.string_map("tags")?.unwrap_or_default(),
    };
    if !records::insert_child(&s, &api, STAGE, &name, &stage).await? {
        return Err(GwError::conflict(format!("Stage {name} already exists")));
    }
    created(&stage)
}

pub(crate) async fn get_stage(
    State(s): State<AppState>,
    tenant: Tenant,
    Path((api, name)): Path<(String, String)>,
) -> GwResult<Json<Value>> {
    let st: Stage = one(&s, &tenant, &api, STAGE, &name, no_stage).await?;
    ok(&st)
}

pub(crate) async fn get_stages(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(api): Path<String>,
) -> GwResult<Json<Value>> {
    records::api(&s, tenant.as_str(), &api).await?;
    items(&records::children::<Stage>(&s, &api, STAGE).await?)
}

pub(crate) async fn update_stage(
    State(s): State<AppState>,
    tenant: Tenant,
    Path((api, name)): Path<(String, String)>,
    body: axum::body::Body,
) -> GwResult<Json<Value>> {
    let m = members(body, "UpdateStage").await?;
    let mut st: Stage = one(&s, &tenant, &api, STAGE, &name, no_stage).await?;
    if let Some(a) = m.boolean("autoDeploy")? {
        st.auto_deploy = a;
    }
    if let Some(vars) = m.string_map("stageVariables")? {
        model::check_stage_variables(&vars)?;
        st.stage_variables = vars;
    }
    if m.has("description") {
        st.description = m.string("description")?;
    }
    if let Some(d) = m.string("deploymentId")? {
        records::child::<Deployment>(&s, &api, DEPLOYMENT, &d)
            .await?
            .ok_or_else(|| no_deployment(&d))?;
        st.last_deployment_status_message = Some(deployed_message(&d));
        st.deployment_id = Some(d);
    }
    if let Some(r) = m.raw("defaultRouteSettings") {
        st.default_route_settings = r;
    }
    st.last_updated_date = model::now();
    records::put_child(&s, &api, STAGE, &name, &st).await?;
    ok(&st)
}

pub(crate) async fn delete_stage(
    State(s): State<AppState>,
    tenant: Tenant,
    Path((api, name)): Path<(String, String)>,
) -> GwResult<StatusCode> {
    let _: Stage = one(&s, &tenant, &api, STAGE, &name, no_stage).await?;
    records::delete_child(&s, &api, STAGE, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

// Deployments.

pub(crate) async fn create_deployment(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(api): Path<String>,
    body: axum::body::Body,
) -> GwResult<Response> {
    let m = members(body, "CreateDeployment").await?;
    records::api(&s, tenant.as_str(), &api).await?;
    let stage_name = m.string("stageName")?;
    let mut stage = match &stage_name {
        Some(n) => Some(
            records::child::<Stage>(&s, &api, STAGE, n)
                .await?
                .ok_or_else(|| no_stage(n))?,
        ),
        None => None,
    };
    if stage.as_ref().is_some_and(|st| st.auto_deploy) {
        return Err(GwError::bad_request(
            "Stage is configured for automatic deployment; cannot create a deployment for it",
        ));
    }
    let deployment = Deployment {
        auto_deployed: false,
        created_date: model::now(),
        deployment_id: model::new_id(6),
        deployment_status: "DEPLOYED".into(),
        description: m.string("description")?,
    };
    let snapshot = Snapshot {
        routes: records::children(&s, &api, ROUTE).await?,
        integrations: records::children(&s, &api, INTEGRATION).await?,
    };
    records::insert_child(&s, &api, SNAPSHOT, &deployment.deployment_id, &snapshot).await?;
    records::insert_child(&s, &api, DEPLOYMENT, &deployment.deployment_id, &deployment).await?;
    if let (Some(st), Some(n)) = (stage.as_mut(), stage_name) {
        st.deployment_id = Some(deployment.deployment_id.clone());
        st.last_deployment_status_message = Some(deployed_message(&deployment.deployment_id));
        st.last_updated_date = model::now();
        records::put_child(&s, &api, STAGE, &n, st).await?;
    }
    created(&deployment)
}

pub(crate) async fn get_deployment(
    State(s): State<AppState>,
    tenant: Tenant,
    Path((api, id)): Path<(String, String)>,
) -> GwResult<Json<Value>> {
    let d: Deployment = one(&s, &tenant, &api, DEPLOYMENT, &id, no_deployment).await?;
    ok(&d)
}

pub(crate) async fn get_deployments(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(api): Path<String>,
) -> GwResult<Json<Value>> {
    records::api(&s, tenant.as_str(), &api).await?;
    items(&records::children::<Deployment>(&s, &api, DEPLOYMENT).await?)
}

pub(crate) async fn delete_deployment(
    State(s): State<AppState>,
    tenant: Tenant,
    Path((api, id)): Path<(String, String)>,
) -> GwResult<StatusCode> {
    let _: Deployment = one(&s, &tenant, &api, DEPLOYMENT, &id, no_deployment).await?;
    let stages: Vec<Stage> = records::children(&s, &api, STAGE).await?;
    if stages
        .iter()
        .any(|st| st.deployment_id.as_deref() == Some(id.as_str()))
    {
        return Err(GwError::bad_request(
            "Active stages pointing to this deployment must be moved or deleted",
        ));
    }
    records::delete_child(&s, &api, DEPLOYMENT, &id).await?;
    records::delete_child(&s, &api, SNAPSHOT, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integration_uris_name_functions() {
        let f = "arn:aws:lambda:us-east-1:000000000000:function:echo";
        assert_eq!(function_arn_of(f), Some(f));
        let alias = "arn:aws:lambda:us-east-1:000000000000:function:echo:live";
        assert_eq!(function_arn_of(alias), Some(alias));
        let wrapped = format!(
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{f}/invocations"
        );
        assert_eq!(function_arn_of(&wrapped), Some(f));
        assert_eq!(function_arn_of("https://example.com"), None);
        assert_eq!(function_arn_of("arn:aws:lambda:us-east-1:0:layer:x"), None);
    }
}
