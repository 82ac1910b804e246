//! CreateStage, GetStage, GetStages, UpdateStage and DeleteStage: `$default` and named
//! stages with their variables and deployments.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde_json::{json, Value};

use super::children::*;
use super::error::{GwError, GwResult};
use super::model::{self, Deployment, Stage, DEFAULT_STAGE, DEPLOYMENT, STAGE};
use super::records;
use crate::tenant::Tenant;
use crate::AppState;

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
