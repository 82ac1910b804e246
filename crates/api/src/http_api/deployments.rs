//! CreateDeployment (which freezes the API's routes and integrations), GetDeployment,
//! GetDeployments and DeleteDeployment.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde_json::Value;

use super::children::*;
use super::error::{GwError, GwResult};
use super::model::{
    self, Deployment, Snapshot, Stage, DEPLOYMENT, INTEGRATION, ROUTE, SNAPSHOT, STAGE,
};
use super::records;
use crate::tenant::Tenant;
use crate::AppState;

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
