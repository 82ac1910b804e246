//! CreateIntegration, GetIntegration, GetIntegrations, UpdateIntegration and
//! DeleteIntegration: `AWS_PROXY` integrations to functions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde_json::Value;

use super::children::*;
use super::error::{GwError, GwResult};
use super::model::{self, Integration, Route, INTEGRATION, ROUTE};
use super::records;
use crate::tenant::Tenant;
use crate::AppState;

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
