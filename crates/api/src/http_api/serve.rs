//! The data plane of HTTP APIs: a request for an API (its path after the API: the stage
//! first for a named stage) finds its stage and route, becomes a 1.0 or 2.0 event per
//! the route's integration, runs the function through the one invoke path
//! ([`hearth_triggers::Invoker`]), and its answer becomes the HTTP response. Failures
//! answer as API Gateway does (`{"message": "Not Found"}` and the like), and every answer
//! carries `apigw-requestid`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE as BASE64_URL;
use base64::Engine as _;
use bytes::Bytes;
use hearth_http_events::routes::{match_route, RouteKey};
use hearth_http_events::v1::{self, V1Context, V1Request};
use hearth_model::limits::SYNC_REQUEST_MAX_BYTES;
use hearth_model::FunctionRef;
use hearth_triggers::InvokeRequest;

use super::children::function_arn_of;
use super::model::{Api, Snapshot, Stage, DEFAULT_STAGE, INTEGRATION, ROUTE, SNAPSHOT, STAGE};
use super::{permission, records, v2_interim};
use crate::{AppState, Transport};

/// API Gateway's answers of its own.
fn answer(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "message": message })),
    )
        .into_response()
}

fn not_found() -> Response {
    answer(StatusCode::NOT_FOUND, "Not Found")
}

fn internal_error() -> Response {
    answer(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
}

/// An id in the style of API Gateway's `apigw-requestid` (`Jh2-BjKqIAMEMxA=`).
fn request_id() -> String {
    BASE64_URL.encode(&uuid::Uuid::new_v4().as_bytes()[..11])
}

/// Serves a request for the API `api_id`; `path` is what follows the API in the URL
/// (`/prod/items/1` for a named stage, `/items/1` for `$default`), still percent-encoded.
pub(crate) async fn serve(s: &AppState, api_id: &str, path: &str, req: Request) -> Response {
    let id = request_id();
    let mut resp = route_and_invoke(s, api_id, path, req, &id).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("apigw-requestid", v);
    }
    resp
}

/// The routes and integrations a stage serves: the API's own for a stage that deploys
/// automatically, else those its deployment froze (the API's own for a deployment made
/// before deployments froze anything).
async fn served(s: &AppState, api_id: &str, stage: &Stage) -> Result<Snapshot, ()> {
    if let (false, Some(d)) = (stage.auto_deploy, stage.deployment_id.as_deref()) {
        if let Some(frozen) = records::child::<Snapshot>(s, api_id, SNAPSHOT, d)
            .await
            .map_err(drop)?
        {
            return Ok(frozen);
        }
    }
    Ok(Snapshot {
        routes: records::children(s, api_id, ROUTE).await.map_err(drop)?,
        integrations: records::children(s, api_id, INTEGRATION)
            .await
            .map_err(drop)?,
    })
}

/// The stage a request is for and the path after it.
fn stage_of<'a>(stages: &'a [Stage], path: &'a str) -> Option<(&'a Stage, &'a str)> {
    let rest = path.strip_prefix('/').unwrap_or(path);
    let (first, after) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if let Some(stage) = stages
        .iter()
        .find(|st| st.stage_name != DEFAULT_STAGE && st.stage_name == first)
    {
        return Some((stage, after));
    }
    let default = stages.iter().find(|st| st.stage_name == DEFAULT_STAGE)?;
    Some((default, if path.is_empty() { "/" } else { path }))
}

async fn route_and_invoke(
    s: &AppState,
    api_id: &str,
    path: &str,
    req: Request,
    request_id: &str,
) -> Response {
    let (account, api): (String, Api) = match records::find_api(s, api_id).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(),
        Err(_) => return internal_error(),
    };
    if api.disable_execute_api_endpoint {
        return answer(StatusCode::FORBIDDEN, "Forbidden");
    }
    let stages: Vec<Stage> = match records::children(s, api_id, STAGE).await {
        Ok(st) => st,
        Err(_) => return internal_error(),
    };
    let Some((stage, route_path)) = stage_of(&stages, path) else {
        return not_found();
    };
    if !stage.auto_deploy && stage.deployment_id.is_none() {
        return not_found();
    }
    let Ok(served) = served(s, api_id, stage).await else {
        return internal_error();
    };
    let routes = &served.routes;
    let keys: Vec<RouteKey> = routes
        .iter()
        .map(|r| RouteKey::parse(&r.route_key).unwrap_or(RouteKey::Default))
        .collect();
    let Some(matched) = match_route(&keys, req.method(), route_path) else {
        return not_found();
    };
    let route = &routes[matched.index];
    let Some(integration_id) = route
        .target
        .as_deref()
        .and_then(|t| t.strip_prefix("integrations/"))
    else {
        return not_found();
    };
    let Some(integration) = served
        .integrations
        .iter()
        .find(|i| i.integration_id == integration_id)
    else {
        return internal_error();
    };
    let Some(function_arn) = function_arn_of(&integration.integration_uri).map(str::to_string)
    else {
        return internal_error();
    };
    let function = match FunctionRef::parse(&function_arn, &account) {
        Ok(f) => f,
        Err(_) => return internal_error(),
    };
    let method = req.method().as_str().to_string();
    let source = permission::source_arn(
        &account,
        api_id,
        &stage.stage_name,
        &method,
        &route.route_key,
    );
    if let Err(why) = permission::check(s, &function_arn, &function, &source, &account) {
        tracing::warn!(api = api_id, route = %route.route_key, reason = %why, "API Gateway may not invoke the function");
        return internal_error();
    }

    let (parts, body) = req.into_parts();
    let body = match crate::body::read(body, SYNC_REQUEST_MAX_BYTES, "execute-api").await {
        Ok(b) => b,
        Err(_) => return answer(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large"),
    };
    let source_ip = parts
        .extensions
        .get::<Transport>()
        .map(|t| t.peer.ip().to_string())
        .or_else(|| {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
        })
        .unwrap_or_else(|| "127.0.0.1".into());
    let host = parts
        .headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok());
    let domain_name = s.options.endpoints.domain_name(api_id, "execute-api", host);
    let now = chrono::Utc::now();
    let time = now.format("%d/%b/%Y:%H:%M:%S %z").to_string();
    let epoch_ms = now.timestamp_millis();
    let full_path = if stage.stage_name == DEFAULT_STAGE {
        route_path.to_string()
    } else {
        format!(
            "/{}{}",
            stage.stage_name,
            if route_path == "/" { "" } else { route_path }
        )
    };
    let request = V1Request {
        method: &parts.method,
        version: parts.version,
        headers: &parts.headers,
        query: parts.uri.query(),
        body: &body,
    };
    let v1 = integration.payload_format_version == "1.0";
    let resource = keys[matched.index].resource();
    let event = if v1 {
        v1::event(
            &request,
            &V1Context {
                account_id: &account,
                api_id,
                domain_name: &domain_name,
                request_id,
                stage: &stage.stage_name,
                path: &full_path,
                route_key: &route.route_key,
                resource: &resource,
                path_parameters: &matched.path_parameters,
                stage_variables: &stage.stage_variables,
                source_ip: &source_ip,
                request_time: &time,
                request_time_epoch_ms: epoch_ms,
            },
        )
    } else {
        v2_interim::event(
            &request,
            &v2_interim::V2Context {
                account_id: &account,
                api_id,
                domain_name: &domain_name,
                request_id,
                route_key: &route.route_key,
                stage: &stage.stage_name,
                raw_path: &full_path,
                path_parameters: &matched.path_parameters,
                stage_variables: &stage.stage_variables,
                source_ip: &source_ip,
                time: &time,
                time_epoch_ms: epoch_ms,
            },
        )
    };
    let payload = match serde_json::to_vec(&event) {
        Ok(p) => Bytes::from(p),
        Err(_) => return internal_error(),
    };
    let invoke = s.invoker.invoke(InvokeRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        function,
        payload,
        log_tail: false,
        client_context: None,
        dry_run: false,
        attempt: None,
    });
    let timeout =
        Duration::from_millis(u64::try_from(integration.timeout_in_millis).unwrap_or(30000));
    let result = match tokio::time::timeout(timeout, invoke).await {
        Ok(r) => r,
        Err(_) => return answer(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
    };
    let out = match result {
        Ok(out) => out,
        Err(e) if e.is_throttle() => {
            return answer(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests")
        }
        Err(e) => {
            tracing::warn!(api = api_id, error = %e, "an HTTP API's function could not be invoked");
            return internal_error();
        }
    };
    if out.function_error.is_some() {
        return internal_error();
    }
    let mapped = if v1 {
        v1::response(&out.payload).map_err(|e| e.to_string())
    } else {
        v2_interim::response(&out.payload).ok_or_else(|| "not a 2.0 response".to_string())
    };
    match mapped {
        Ok(r) => r.map(Body::from).into_response(),
        Err(why) => {
            tracing::warn!(api = api_id, reason = %why, "an HTTP API's function answered a malformed response");
            internal_error()
        }
    }
}

/// The router's stand-in for the front middleware: `/execute-api/<api-id>/...` (any
/// method), outside authentication, as API Gateway's endpoints are.
pub(crate) async fn by_path(
    axum::extract::State(s): axum::extract::State<AppState>,
    req: Request,
) -> Response {
    let uri_path = req.uri().path().to_string();
    match s.options.endpoints.target(None, &uri_path) {
        Some(crate::http_endpoints::FrontTarget::HttpApi { id, path }) => {
            let (id, path) = (id.to_string(), path.to_string());
            serve(&s, &id, &path, req).await
        }
        _ => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use serde_json::json;

    fn stage(name: &str) -> Stage {
        Stage {
            api_gateway_managed: None,
            auto_deploy: true,
            created_date: String::new(),
            default_route_settings: json!({}),
            deployment_id: None,
            description: None,
            last_deployment_status_message: None,
            last_updated_date: String::new(),
            route_settings: json!({}),
            stage_name: name.into(),
            stage_variables: BTreeMap::new(),
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn a_named_stage_is_the_first_segment_else_default() {
        let stages = vec![stage("$default"), stage("prod")];
        let (st, rest) = stage_of(&stages, "/prod/items/1").expect("a stage");
        assert_eq!((st.stage_name.as_str(), rest), ("prod", "/items/1"));
        let (st, rest) = stage_of(&stages, "/prod").expect("a stage");
        assert_eq!((st.stage_name.as_str(), rest), ("prod", "/"));
        let (st, rest) = stage_of(&stages, "/items/1").expect("a stage");
        assert_eq!((st.stage_name.as_str(), rest), ("$default", "/items/1"));
        assert!(stage_of(&stages[1..], "/items").is_none());
    }
}
