//! What the operations on an API's integrations, routes, stages and deployments share:
//! reading a body, answering records, the not-found answers and the checks of their
//! members.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hearth_http_events::routes::RouteKey;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use super::error::{GwError, GwResult};
use super::model::{Integration, Members, INTEGRATION};
use super::records;
use crate::tenant::Tenant;
use crate::AppState;

pub(crate) async fn members(body: axum::body::Body, op: &str) -> GwResult<Members> {
    let bytes = crate::body::control(body, op)
        .await
        .map_err(|e| GwError::bad_request(e.0.message))?;
    Members::parse(&bytes)
}

pub(crate) fn created<T: Serialize>(record: &T) -> GwResult<Response> {
    let v = serde_json::to_value(record).map_err(GwError::internal)?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

pub(crate) fn ok<T: Serialize>(record: &T) -> GwResult<Json<Value>> {
    Ok(Json(
        serde_json::to_value(record).map_err(GwError::internal)?,
    ))
}

pub(crate) fn items<T: Serialize>(list: &[T]) -> GwResult<Json<Value>> {
    let v = serde_json::to_value(list).map_err(GwError::internal)?;
    Ok(Json(json!({ "items": v })))
}

pub(crate) fn no_stage(name: &str) -> GwError {
    GwError::not_found(format!("Invalid stage identifier specified {name}"))
}

pub(crate) fn no_integration(id: &str) -> GwError {
    GwError::not_found(format!("Invalid Integration identifier specified {id}"))
}

pub(crate) fn no_route(id: &str) -> GwError {
    GwError::not_found(format!("Invalid Route identifier specified {id}"))
}

pub(crate) fn no_deployment(id: &str) -> GwError {
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

pub(crate) fn check_payload_version(v: &str) -> GwResult<()> {
    match v {
        "1.0" | "2.0" => Ok(()),
        _ => Err(GwError::bad_request(format!(
            "Invalid payload format version specified: {v}. Supported values are 1.0 and 2.0"
        ))),
    }
}

pub(crate) fn check_timeout(t: i64) -> GwResult<()> {
    if (50..=30000).contains(&t) {
        Ok(())
    } else {
        Err(GwError::bad_request(
            "TimeoutInMillis must be between 50 and 30000 milliseconds for HTTP APIs",
        ))
    }
}

/// The integration id of a route's `integrations/<id>` target, which must exist.
pub(crate) async fn check_target(s: &AppState, api: &str, target: &str) -> GwResult<()> {
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

pub(crate) async fn one<T: DeserializeOwned>(
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
