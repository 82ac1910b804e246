//! The data plane of HTTP APIs: a request for an API (its path after the API: the stage
//! first for a named stage) finds its stage and route, becomes a 1.0 or 2.0 event per
//! the route's integration, runs the function through the one invoke path
//! ([`hearth_triggers::Invoker`]), and its answer becomes the HTTP response. An API with
//! a `CorsConfiguration` answers preflights itself (whatever the routes) and puts its
//! CORS headers on every other answer in place of the function's
//! ([`hearth_http_events::cors`]). Failures answer as API Gateway does
//! (`{"message": "Not Found"}` and the like), and every answer carries `apigw-requestid`.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE as BASE64_URL;
use base64::Engine as _;
use bytes::Bytes;
use hearth_http_events::cors::CorsRules;
use hearth_http_events::response;
use hearth_http_events::routes::{match_route, RouteKey};
use hearth_http_events::v1::{self, V1Context, V1Request};
use hearth_http_events::v2::{self, Front, V2Context};
use hearth_model::limits::SYNC_REQUEST_MAX_BYTES;
use hearth_model::FunctionRef;
use hearth_triggers::InvokeRequest;

use super::children::function_arn_of;
use super::model::{
    Api, Integration, Route, Snapshot, Stage, DEFAULT_STAGE, INTEGRATION, ROUTE, SNAPSHOT, STAGE,
};
use super::{permission, records};
use crate::AppState;

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

/// Where a request goes, found before its body is read.
struct Target {
    account: String,
    stage: Stage,
    route: Route,
    /// The route's path (`/items/{id}`, `$default`).
    resource: String,
    path_parameters: BTreeMap<String, String>,
    integration: Integration,
    function_arn: String,
    function: FunctionRef,
    /// The path after the stage.
    route_path: String,
}

/// The API's CORS first (a preflight answered here, the answer's headers set), then the
/// route.
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
    let cors = api
        .cors_configuration
        .as_ref()
        .and_then(CorsRules::from_json);
    crate::front::with_cors(cors.as_ref(), req, |req| {
        invoke_route(s, api_id, (account, api), path, req, request_id)
    })
    .await
}

/// The request's route, its function invoked.
async fn invoke_route(
    s: &AppState,
    api_id: &str,
    found: (String, Api),
    path: &str,
    req: Request,
    request_id: &str,
) -> Response {
    let target = match resolve(s, found, path, req.method()).await {
        Ok(t) => t,
        Err(resp) => return resp,
    };
    let source = permission::source_arn(
        &target.account,
        api_id,
        &target.stage.stage_name,
        req.method().as_str(),
        &target.route.route_key,
    );
    let allowed = permission::check(
        s,
        &target.function_arn,
        &target.function,
        &source,
        &target.account,
    );
    if let Err(why) = allowed {
        tracing::warn!(api = api_id, route = %target.route.route_key, reason = %why, "API Gateway may not invoke the function");
        return internal_error();
    }
    let (parts, body) = req.into_parts();
    let body = match crate::body::read(body, SYNC_REQUEST_MAX_BYTES, "execute-api").await {
        Ok(b) => b,
        Err(_) => return answer(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large"),
    };
    let event = event(s, api_id, request_id, &target, &parts, &body);
    let trace = parts
        .headers
        .get("x-amzn-trace-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match serde_json::to_vec(&event) {
        Ok(payload) => run(s, api_id, target, Bytes::from(payload), trace).await,
        Err(_) => internal_error(),
    }
}

/// The API's stage, route and integration for a request, or API Gateway's answer when
/// there is none.
async fn resolve(
    s: &AppState,
    (account, api): (String, Api),
    path: &str,
    method: &axum::http::Method,
) -> Result<Target, Response> {
    let api_id = api.api_id.as_str();
    let stages: Vec<Stage> = records::children(s, api_id, STAGE)
        .await
        .map_err(|_| internal_error())?;
    let (stage, route_path) = stage_of(&stages, path).ok_or_else(not_found)?;
    if !stage.auto_deploy && stage.deployment_id.is_none() {
        return Err(not_found());
    }
    let served = served(s, api_id, stage)
        .await
        .map_err(|_| internal_error())?;
    // Keys were checked when stored; one that no longer parses matches nothing.
    let (routes, keys): (Vec<&Route>, Vec<RouteKey>) = served
        .routes
        .iter()
        .filter_map(|r| RouteKey::parse(&r.route_key).ok().map(|k| (r, k)))
        .unzip();
    let matched = match_route(&keys, method, route_path).ok_or_else(not_found)?;
    let route = routes[matched.index].clone();
    let integration_id = route
        .target
        .as_deref()
        .and_then(|t| t.strip_prefix("integrations/"))
        .ok_or_else(not_found)?;
    let integration = served
        .integrations
        .iter()
        .find(|i| i.integration_id == integration_id)
        .cloned()
        .ok_or_else(internal_error)?;
    let function_arn = function_arn_of(&integration.integration_uri)
        .map(str::to_string)
        .ok_or_else(internal_error)?;
    let function = FunctionRef::parse(&function_arn, &account).map_err(|_| internal_error())?;
    Ok(Target {
        account,
        stage: stage.clone(),
        resource: keys[matched.index].resource(),
        route,
        path_parameters: matched.path_parameters,
        integration,
        function_arn,
        function,
        route_path: route_path.to_string(),
    })
}

/// The event of the integration's payload format.
fn event(
    s: &AppState,
    api_id: &str,
    request_id: &str,
    t: &Target,
    parts: &axum::http::request::Parts,
    body: &[u8],
) -> serde_json::Value {
    let source_ip =
        crate::front::source_ip(parts).map_or_else(|| "127.0.0.1".to_string(), |ip| ip.to_string());
    let host = parts
        .headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok());
    let domain_name = s.options.endpoints.domain_name(api_id, "execute-api", host);
    let (time, epoch_ms) = v2::request_time(chrono::Utc::now());
    // Both formats' paths keep a named stage, as HTTP APIs send them.
    let full_path = match t.stage.stage_name.as_str() {
        DEFAULT_STAGE => t.route_path.clone(),
        name if t.route_path == "/" => format!("/{name}"),
        name => format!("/{name}{}", t.route_path),
    };
    let request = V1Request {
        method: &parts.method,
        version: parts.version,
        headers: &parts.headers,
        query: parts.uri.query(),
        body,
    };
    if t.integration.payload_format_version == "1.0" {
        return v1::event(
            &request,
            &V1Context {
                account_id: &t.account,
                api_id,
                domain_name: &domain_name,
                request_id,
                stage: &t.stage.stage_name,
                path: &full_path,
                route_key: &t.route.route_key,
                resource: &t.resource,
                path_parameters: &t.path_parameters,
                stage_variables: &t.stage.stage_variables,
                source_ip: &source_ip,
                request_time: &time,
                request_time_epoch_ms: epoch_ms,
            },
        );
    }
    v2::event(
        &request,
        &V2Context {
            account_id: &t.account,
            api_id,
            domain_name: &domain_name,
            request_id,
            route_key: &t.route.route_key,
            stage: &t.stage.stage_name,
            raw_path: &full_path,
            path_parameters: Some(&t.path_parameters),
            stage_variables: Some(&t.stage.stage_variables),
            source_ip: &source_ip,
            time: &time,
            time_epoch_ms: epoch_ms,
            authorizer: None,
            front: Front::HttpApi,
        },
    )
}

/// Invokes the function within the integration's timeout and maps its answer. The
/// request's `X-Amzn-Trace-Id` (`trace`) is continued by the function, as API Gateway
/// passes its trace to Lambda. UNSURE: AWS documents X-Ray for REST APIs, not HTTP APIs;
/// that an HTTP API hands the caller's header on is our reading of its event, whose
/// headers keep it.
async fn run(
    s: &AppState,
    api_id: &str,
    t: Target,
    payload: Bytes,
    trace: Option<String>,
) -> Response {
    let invoke = s.invoker.invoke(InvokeRequest {
        trace_id: trace,
        ..InvokeRequest::new(uuid::Uuid::new_v4().to_string(), t.function, payload)
    });
    let timeout =
        Duration::from_millis(u64::try_from(t.integration.timeout_in_millis).unwrap_or(30000));
    let out = match tokio::time::timeout(timeout, invoke).await {
        Err(_) => return answer(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
        Ok(Err(e)) if e.is_throttle() => {
            return answer(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests")
        }
        Ok(Err(e)) => {
            tracing::warn!(api = api_id, error = %e, "an HTTP API's function could not be invoked");
            return internal_error();
        }
        Ok(Ok(out)) => out,
    };
    if out.function_error.is_some() {
        return internal_error();
    }
    let mapped = if t.integration.payload_format_version == "1.0" {
        v1::response(&out.payload).map_err(|e| e.to_string())
    } else {
        response::response(&out.payload).map_err(|e| e.to_string())
    };
    match mapped {
        Ok(r) => r.map(Body::from).into_response(),
        Err(why) => {
            tracing::warn!(api = api_id, reason = %why, "an HTTP API's function answered a malformed response");
            internal_error()
        }
    }
}

#[cfg(test)]
mod tests {

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
