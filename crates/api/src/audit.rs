//! The audit trail's recording: a layer on every route that, for each write (any
//! request that is not a read: Lambda's POST, PUT and DELETE operations, the mutating
//! operations of the JSON and query services on `POST /`, the `/_hearth` writes),
//! records who made it, the operation, the resource, the client's address, the request
//! id and the outcome, once the answer is ready. The event goes to the store writer,
//! so no request waits for its event to be committed. Invoke (a data event in
//! CloudTrail's terms) is not recorded. Also `GET /_hearth/audit`, what `hearth audit`
//! reads.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, MatchedPath, Query, RawPathParams, Request, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hearth_model::arn::REGION;
use hearth_model::audit::{AuditEvent, AuditQuery};
use hearth_model::caller::{Caller, CallerKind};
use hearth_model::AwsError;

use crate::action::Operation;
use crate::error::{ApiError, ApiResult};
use crate::{AppState, RequestId, Transport};

/// The `eventName` CloudTrail records for a Lambda operation whose name differs from it
/// (the operation's API date and version), from the Lambda Developer Guide's list of
/// CloudTrail management events; every other operation is recorded by its own name.
const LAMBDA_EVENT_NAMES: &[(&str, &str)] = &[
    ("AddPermission", "AddPermission20150331v2"),
    ("CreateAlias", "CreateAlias20150331"),
    (
        "CreateEventSourceMapping",
        "CreateEventSourceMapping20150331",
    ),
    ("CreateFunction", "CreateFunction20150331"),
    ("DeleteAlias", "DeleteAlias20150331"),
    (
        "DeleteEventSourceMapping",
        "DeleteEventSourceMapping20150331",
    ),
    ("DeleteFunction", "DeleteFunction20150331"),
    (
        "DeleteFunctionConcurrency",
        "DeleteFunctionConcurrency20171031",
    ),
    ("PublishLayerVersion", "PublishLayerVersion20181031"),
    ("PublishVersion", "PublishVersion20150331"),
    ("PutFunctionConcurrency", "PutFunctionConcurrency20171031"),
    ("RemovePermission", "RemovePermission20150331v2"),
    ("TagResource", "TagResource20170331v2"),
    ("UntagResource", "UntagResource20170331v2"),
    ("UpdateAlias", "UpdateAlias20150331"),
    (
        "UpdateEventSourceMapping",
        "UpdateEventSourceMapping20150331",
    ),
    ("UpdateFunctionCode", "UpdateFunctionCode20150331v2"),
    (
        "UpdateFunctionConfiguration",
        "UpdateFunctionConfiguration20150331v2",
    ),
];

/// CloudTrail's `eventName` of the Lambda operation `operation`.
fn lambda_event_name(operation: String) -> String {
    LAMBDA_EVENT_NAMES
        .iter()
        .find(|(op, _)| *op == operation)
        .map_or(operation, |(_, event)| event.to_string())
}

/// Lambda's writes by HTTP method and path (each `{...}` segment written `{}`), from
/// botocore's `lambda/2015-03-31` model: the operation a route serves.
const LAMBDA_WRITES: &[(&str, &str, &str)] = &[
    (
        "POST",
        "/2018-10-31/layers/{}/versions/{}/policy",
        "AddLayerVersionPermission",
    ),
    ("POST", "/2015-03-31/functions/{}/policy", "AddPermission"),
    (
        "POST",
        "/2025-12-01/durable-executions/{}/checkpoint",
        "CheckpointDurableExecution",
    ),
    ("POST", "/2015-03-31/functions/{}/aliases", "CreateAlias"),
    (
        "POST",
        "/2025-11-30/capacity-providers",
        "CreateCapacityProvider",
    ),
    (
        "POST",
        "/2020-04-22/code-signing-configs",
        "CreateCodeSigningConfig",
    ),
    (
        "POST",
        "/2015-03-31/event-source-mappings",
        "CreateEventSourceMapping",
    ),
    ("POST", "/2015-03-31/functions", "CreateFunction"),
    (
        "POST",
        "/2021-10-31/functions/{}/url",
        "CreateFunctionUrlConfig",
    ),
    (
        "DELETE",
        "/2015-03-31/functions/{}/aliases/{}",
        "DeleteAlias",
    ),
    (
        "DELETE",
        "/2025-11-30/capacity-providers/{}",
        "DeleteCapacityProvider",
    ),
    (
        "DELETE",
        "/2020-04-22/code-signing-configs/{}",
        "DeleteCodeSigningConfig",
    ),
    (
        "DELETE",
        "/2025-12-01/durable-executions/{}",
        "DeleteDurableExecution",
    ),
    (
        "DELETE",
        "/2015-03-31/event-source-mappings/{}",
        "DeleteEventSourceMapping",
    ),
    ("DELETE", "/2015-03-31/functions/{}", "DeleteFunction"),
    (
        "DELETE",
        "/2020-06-30/functions/{}/code-signing-config",
        "DeleteFunctionCodeSigningConfig",
    ),
    (
        "DELETE",
        "/2017-10-31/functions/{}/concurrency",
        "DeleteFunctionConcurrency",
    ),
    (
        "DELETE",
        "/2019-09-25/functions/{}/event-invoke-config",
        "DeleteFunctionEventInvokeConfig",
    ),
    (
        "DELETE",
        "/2021-10-31/functions/{}/url",
        "DeleteFunctionUrlConfig",
    ),
    (
        "DELETE",
        "/2018-10-31/layers/{}/versions/{}",
        "DeleteLayerVersion",
    ),
    (
        "DELETE",
        "/2019-09-30/functions/{}/provisioned-concurrency",
        "DeleteProvisionedConcurrencyConfig",
    ),
    (
        "DELETE",
        "/2026-07-09/resource-policy/{}",
        "DeleteResourcePolicy",
    ),
    ("POST", "/2015-03-31/functions/{}/invocations", "Invoke"),
    (
        "POST",
        "/2014-11-13/functions/{}/invoke-async",
        "InvokeAsync",
    ),
    (
        "POST",
        "/2021-11-15/functions/{}/response-streaming-invocations",
        "InvokeWithResponseStream",
    ),
    (
        "POST",
        "/2025-12-01/durable-executions/{}/pause",
        "PauseDurableExecution",
    ),
    (
        "POST",
        "/2018-10-31/layers/{}/versions",
        "PublishLayerVersion",
    ),
    (
        "POST",
        "/2015-03-31/functions/{}/versions",
        "PublishVersion",
    ),
    (
        "PUT",
        "/2020-06-30/functions/{}/code-signing-config",
        "PutFunctionCodeSigningConfig",
    ),
    (
        "PUT",
        "/2017-10-31/functions/{}/concurrency",
        "PutFunctionConcurrency",
    ),
    (
        "PUT",
        "/2019-09-25/functions/{}/event-invoke-config",
        "PutFunctionEventInvokeConfig",
    ),
    (
        "PUT",
        "/2024-08-31/functions/{}/recursion-config",
        "PutFunctionRecursionConfig",
    ),
    (
        "PUT",
        "/2025-11-30/functions/{}/function-scaling-config",
        "PutFunctionScalingConfig",
    ),
    (
        "PUT",
        "/2019-09-30/functions/{}/provisioned-concurrency",
        "PutProvisionedConcurrencyConfig",
    ),
    ("PUT", "/2026-07-09/resource-policy/{}", "PutResourcePolicy"),
    (
        "PUT",
        "/2021-07-20/functions/{}/runtime-management-config",
        "PutRuntimeManagementConfig",
    ),
    (
        "DELETE",
        "/2018-10-31/layers/{}/versions/{}/policy/{}",
        "RemoveLayerVersionPermission",
    ),
    (
        "DELETE",
        "/2015-03-31/functions/{}/policy/{}",
        "RemovePermission",
    ),
    (
        "POST",
        "/2025-12-01/durable-executions/{}/resume",
        "ResumeDurableExecution",
    ),
    (
        "POST",
        "/2025-12-01/durable-execution-callbacks/{}/fail",
        "SendDurableExecutionCallbackFailure",
    ),
    (
        "POST",
        "/2025-12-01/durable-execution-callbacks/{}/heartbeat",
        "SendDurableExecutionCallbackHeartbeat",
    ),
    (
        "POST",
        "/2025-12-01/durable-execution-callbacks/{}/succeed",
        "SendDurableExecutionCallbackSuccess",
    ),
    (
        "POST",
        "/2025-12-01/durable-executions/{}/stop",
        "StopDurableExecution",
    ),
    ("POST", "/2017-03-31/tags/{}", "TagResource"),
    ("DELETE", "/2017-03-31/tags/{}", "UntagResource"),
    ("PUT", "/2015-03-31/functions/{}/aliases/{}", "UpdateAlias"),
    (
        "PUT",
        "/2025-11-30/capacity-providers/{}",
        "UpdateCapacityProvider",
    ),
    (
        "PUT",
        "/2020-04-22/code-signing-configs/{}",
        "UpdateCodeSigningConfig",
    ),
    (
        "PUT",
        "/2015-03-31/event-source-mappings/{}",
        "UpdateEventSourceMapping",
    ),
    ("PUT", "/2015-03-31/functions/{}/code", "UpdateFunctionCode"),
    (
        "PUT",
        "/2015-03-31/functions/{}/configuration",
        "UpdateFunctionConfiguration",
    ),
    (
        "POST",
        "/2019-09-25/functions/{}/event-invoke-config",
        "UpdateFunctionEventInvokeConfig",
    ),
    (
        "PUT",
        "/2021-10-31/functions/{}/url",
        "UpdateFunctionUrlConfig",
    ),
];

/// Bodies of `POST /` requests up to this size are read to name their operation's
/// resource (a log group) or operation (the query protocol's `Action`).
const PEEK_MAX: usize = 64 * 1024;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/_hearth/audit", get(list))
}

/// What one request is, for the trail.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Described {
    source: &'static str,
    name: String,
    action: Option<String>,
    resource: Option<(String, &'static str)>,
}

/// The layer (a `route_layer`, so the route is matched and its path known).
/// The audit trail's route layer (`hearth_serve::GateLayer`): a read or an invocation,
/// never recorded, passes straight on with nothing gathered and nothing boxed; a write
/// is recorded around its handler ([`write`]).
#[derive(Clone)]
pub(crate) struct Trail(pub AppState);

impl hearth_serve::Gate for Trail {
    type Carry = ();

    fn check<S: hearth_serve::App>(&self, req: Request, inner: &S) -> hearth_serve::Step<()> {
        if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
            return hearth_serve::Step::Pass(req, ());
        }
        // The route's declaration (the authorization layer runs inside this one), told
        // before anything is gathered for the trail: an invocation, the warm invoke
        // path's most frequent request, is never recorded.
        let declared = {
            let matched = req
                .extensions()
                .get::<MatchedPath>()
                .map_or(req.uri().path(), MatchedPath::as_str);
            match crate::action::declared(req.method(), matched, req.uri().query()) {
                crate::action::Declared::Op(op) => Some(op),
                _ => None,
            }
        };
        if declared.is_some_and(|op| is_invoke_name(op.name)) {
            return hearth_serve::Step::Pass(req, ());
        }
        let (s, inner) = (self.0.clone(), inner.clone());
        hearth_serve::Step::Answer(Box::pin(write(s, req, declared, inner)))
    }
}

/// A write, run by `inner` and recorded with its outcome.
async fn write(
    s: AppState,
    req: Request,
    declared: Option<Operation>,
    inner: impl hearth_serve::App,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let params: Vec<(String, String)> = RawPathParams::from_request_parts(&mut parts, &())
        .await
        .map(|p| {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let matched = parts
        .extensions
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| parts.uri.path().to_string());
    // `POST /` names its operation in a header or in the body: peek at a small body.
    let service = matched == "/";
    let (body, peeked) = if service {
        peek(&parts.headers, body).await
    } else {
        (body, None)
    };
    let query = parts.uri.query().unwrap_or("").to_string();
    let caller = parts
        .extensions
        .get::<Caller>()
        .cloned()
        .unwrap_or_else(Caller::default_root);
    let described = describe(
        &parts.method,
        &matched,
        &params,
        &query,
        (&parts.headers, peeked.as_deref()),
        declared,
        &caller.account,
    );
    // A recorded REST write's body is read whole for its parameters (its handler reads
    // it whole too, within the same limit); what is not recorded (Invoke) is not touched.
    let declared_small = |headers: &HeaderMap| {
        header(headers, "content-length")
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| n <= crate::body::CONTROL_BODY_MAX)
    };
    let (body, whole, refused) = match &described {
        Some(d) if !service && declared_small(&parts.headers) => {
            match crate::body::read(body, crate::body::CONTROL_BODY_MAX, &d.name).await {
                Ok(bytes) => (Body::from(bytes.clone()), Some(bytes), None),
                // Too slow, or gone: what the handler's own read would have answered.
                Err(e) => (Body::empty(), None, Some(e.into_response())),
            }
        }
        _ => (body, None, None),
    };
    // Only the services whose sensitive members `audit_params` knows: another service's
    // parameters are left out until its own are listed there.
    let request_parameters = match (&described, service) {
        (None, _) => None,
        (Some(d), true) => peeked.as_deref().and_then(|b| match d.source {
            "logs.amazonaws.com" | "cloudtrail.amazonaws.com" => crate::audit_params::json_body(b),
            "iam.amazonaws.com" | "sts.amazonaws.com" => {
                crate::audit_params::query_form(&String::from_utf8_lossy(b))
            }
            _ => None,
        }),
        // Scheduler's members are not listed in `audit_params` (a target's Input may
        // carry secrets): left out.
        (Some(d), false) if d.source == "scheduler.amazonaws.com" => None,
        // Nor are EventBridge Schemas' (a schema's content is a function's test events,
        // which may carry secrets).
        (Some(d), false) if d.source == "schemas.amazonaws.com" => None,
        (Some(_), false) => crate::audit_params::rest(&params, &query, whole.as_deref()),
    };
    let transport = parts.extensions.get::<Transport>().copied();
    let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone());
    let user_agent = header(&parts.headers, "user-agent");
    let resp = match refused {
        Some(resp) => resp,
        None => {
            let Ok(resp) =
                tower::ServiceExt::oneshot(inner, Request::from_parts(parts, body)).await;
            resp
        }
    };
    let Some(d) = described else {
        return resp;
    };
    let status = resp.status().as_u16();
    let error_code = (status >= 400).then(|| {
        header(resp.headers(), "x-amzn-errortype")
            .map(|t| t.split(':').next().unwrap_or_default().to_string())
            .unwrap_or_else(|| format!("HTTP{status}"))
    });
    let (principal_type, user_name) = identity(&caller);
    s.engine.record_audit(AuditEvent {
        event_id: uuid::Uuid::new_v4().to_string(),
        time_ms: hearth_model::time::now_ms(),
        account: caller.account.clone(),
        principal_arn: caller.arn.clone(),
        principal_id: caller.user_id.clone(),
        principal_type: principal_type.to_string(),
        user_name,
        access_key_id: caller.access_key_id.clone(),
        event_source: d.source.to_string(),
        event_name: d.name,
        action: d.action,
        resource_type: d.resource.as_ref().map(|r| r.1.to_string()),
        resource_account: d
            .resource
            .as_ref()
            .and_then(|r| hearth_model::arn::arn_account(&r.0))
            .filter(|a| *a != caller.account)
            .map(str::to_string),
        resource_arn: d.resource.map(|r| r.0),
        source_ip: transport.map_or_else(String::new, |t| t.peer.ip().to_string()),
        user_agent,
        request_id: request_id.unwrap_or_default(),
        region: REGION.to_string(),
        secure: transport.is_some_and(|t| t.secure),
        status,
        error_code,
        request_parameters,
    });
    resp
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A sign-in to the web console, as CloudTrail records one: `ConsoleLogin` from
/// `signin.amazonaws.com`, the key's principal (who tried, when the key exists: a wrong
/// secret is recorded against it; an unknown key in the default account's trail), and
/// the error `Failed authentication` when refused.
pub(crate) fn console_login(
    s: &AppState,
    req: &axum::http::request::Parts,
    access_key_id: &str,
    principal: Option<&Caller>,
    succeeded: bool,
) {
    let (principal_type, user_name) = principal.map_or(("Unknown", String::new()), identity);
    let transport = req.extensions.get::<Transport>().copied();
    s.engine.record_audit(AuditEvent {
        event_id: uuid::Uuid::new_v4().to_string(),
        time_ms: hearth_model::time::now_ms(),
        account: principal.map_or_else(
            || hearth_model::arn::ACCOUNT.to_string(),
            |c| c.account.clone(),
        ),
        principal_arn: principal.map_or_else(String::new, |c| c.arn.clone()),
        principal_id: principal.map_or_else(String::new, |c| c.user_id.clone()),
        principal_type: principal_type.to_string(),
        user_name,
        access_key_id: Some(access_key_id.to_string()),
        event_source: "signin.amazonaws.com".to_string(),
        event_name: "ConsoleLogin".to_string(),
        action: None,
        resource_arn: None,
        resource_account: None,
        resource_type: None,
        source_ip: transport.map_or_else(String::new, |t| t.peer.ip().to_string()),
        user_agent: header(&req.headers, "user-agent"),
        request_id: req
            .extensions
            .get::<RequestId>()
            .map_or_else(String::new, |r| r.0.clone()),
        region: REGION.to_string(),
        secure: transport.is_some_and(|t| t.secure),
        status: if succeeded { 200 } else { 403 },
        error_code: (!succeeded).then(|| "Failed authentication".to_string()),
        request_parameters: None,
    });
}

/// CloudTrail's `userIdentity.type` and `Username` of a caller.
fn identity(c: &Caller) -> (&'static str, String) {
    match &c.kind {
        CallerKind::Root => ("Root", "root".to_string()),
        CallerKind::User { name } => ("IAMUser", name.clone()),
        CallerKind::AssumedRole { session_name, .. } => ("AssumedRole", session_name.clone()),
    }
}

/// Reads a small body whole (to be handed on unchanged), or leaves it as it is.
async fn peek(headers: &HeaderMap, body: Body) -> (Body, Option<Bytes>) {
    let small = header(headers, "content-length")
        .and_then(|n| n.parse::<usize>().ok())
        .is_some_and(|n| n <= PEEK_MAX);
    if !small {
        return (body, None);
    }
    match axum::body::to_bytes(body, PEEK_MAX).await {
        Ok(bytes) => (Body::from(bytes.clone()), Some(bytes)),
        // The client went away mid-body: nothing will be answered anyway.
        Err(_) => (Body::empty(), None),
    }
}

/// What a write is; `None` for a read, or what is not recorded (Invoke).
/// `account` is the caller's: the account a resource named without one belongs to.
/// Invocations are data events, which CloudTrail leaves out unless asked for (so does
/// Hearth's trail).
fn is_invoke_name(name: &str) -> bool {
    matches!(name, "Invoke" | "InvokeAsync" | "InvokeWithResponseStream")
}

fn describe(
    method: &Method,
    matched: &str,
    params: &[(String, String)],
    query: &str,
    (headers, body): (&HeaderMap, Option<&[u8]>),
    declared: Option<Operation>,
    account: &str,
) -> Option<Described> {
    if matched == "/" {
        return describe_service(headers, body, account);
    }
    let param = |names: &[&str]| {
        params
            .iter()
            .find(|(k, _)| names.contains(&k.as_str()))
            .map(|(_, v)| v.clone())
    };
    if let Some(rest) = matched.strip_prefix("/_hearth/") {
        let function = param(&["function"]);
        return Some(Described {
            source: "hearth",
            name: format!("{method} /_hearth/{}", rest.split('/').next().unwrap_or("")),
            action: None,
            resource: function.map(|f| (function_arn(&f, None, account), "AWS::Lambda::Function")),
        });
    }
    if let Some(rest) = matched.strip_prefix("/v2/") {
        return describe_api_gateway(method, rest, &param, declared);
    }
    // CloudWatch's RPC v2 CBOR names its operation in the path.
    if matched == "/service/{service}/operation/{operation}" {
        let op = param(&["operation"]).filter(|op| !is_read(op))?;
        return Some(Described {
            source: "monitoring.amazonaws.com",
            action: Some(format!("cloudwatch:{op}")),
            name: op,
            resource: None,
        });
    }
    if crate::schemas::is_schemas_path(matched) {
        return describe_schemas(method, &param, declared, account);
    }
    if crate::auth::scheduler_path(matched) {
        return Some(describe_scheduler(
            matched, &param, query, declared, account,
        ));
    }
    let shape = normalize(matched);
    let name = declared.map(|o| o.name.to_string()).or_else(|| {
        LAMBDA_WRITES
            .iter()
            .find(|(m, p, _)| *m == method.as_str() && *p == shape)
            .map(|(_, _, n)| n.to_string())
    });
    if name.as_deref().is_some_and(is_invoke_name) {
        return None;
    }
    let qualifier = query_param(query, "Qualifier");
    let resource = if let Some(f) = param(&["function", "FunctionName"]) {
        let alias = param(&["name", "alias", "Name"]);
        Some((
            function_arn(&f, alias.as_deref().or(qualifier.as_deref()), account),
            "AWS::Lambda::Function",
        ))
    } else {
        param(&["arn", "resource", "ARN", "Resource"]).map(|a| (a, "AWS::Lambda::Function"))
    };
    Some(Described {
        source: "lambda.amazonaws.com",
        name: name.map_or_else(|| format!("{method} {matched}"), lambda_event_name),
        action: declared.map(|o| o.action.to_string()),
        resource,
    })
}

/// A write of API Gateway's HTTP APIs (`/v2/...`): its operation and IAM action, and the
/// API Gateway resource it names (`arn:aws:apigateway:REGION::/apis/ID/...`).
fn describe_api_gateway(
    method: &Method,
    rest: &str,
    param: &dyn Fn(&[&str]) -> Option<String>,
    declared: Option<Operation>,
) -> Option<Described> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let mut path = String::new();
    for segment in rest.split('/') {
        path.push('/');
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => path.push_str(&param(&[name]).unwrap_or_default()),
            None => path.push_str(segment),
        }
    }
    let resource = match path.strip_prefix("/tags/") {
        Some(arn) => arn.to_string(),
        None => format!("arn:aws:apigateway:{}::{path}", hearth_model::arn::REGION),
    };
    Some(Described {
        source: "apigateway.amazonaws.com",
        name: declared.map_or_else(|| format!("{method} /v2/{rest}"), |o| o.name.to_string()),
        action: declared.map(|o| o.action.to_string()),
        resource: Some((resource, "AWS::ApiGatewayV2::Api")),
    })
}

/// A write of EventBridge Scheduler: its operation and action, and the schedule or group
/// it names (a schedule's group is taken from the query; one named in the body is not
/// read here, and is recorded as `default`).
fn describe_scheduler(
    matched: &str,
    param: &dyn Fn(&[&str]) -> Option<String>,
    query: &str,
    declared: Option<Operation>,
    account: &str,
) -> Described {
    let resource = match (matched, param(&["Name"]), param(&["ResourceArn"])) {
        (_, _, Some(arn)) => Some((arn, "AWS::Scheduler::ScheduleGroup")),
        (m, Some(name), _) if m.starts_with("/schedule-groups/") => Some((
            hearth_scheduler::arn::group_arn(account, &name),
            "AWS::Scheduler::ScheduleGroup",
        )),
        (_, Some(name), _) => {
            let group = query_param(query, "groupName")
                .unwrap_or_else(|| hearth_scheduler::arn::DEFAULT_GROUP.to_string());
            Some((
                hearth_scheduler::arn::schedule_arn(account, &group, &name),
                "AWS::Scheduler::Schedule",
            ))
        }
        _ => None,
    };
    Described {
        source: "scheduler.amazonaws.com",
        name: declared.map_or_else(|| matched.to_string(), |o| o.name.to_string()),
        action: declared.map(|o| o.action.to_string()),
        resource,
    }
}

/// A write of EventBridge Schemas: its operation and action, and the registry or schema
/// its path names.
fn describe_schemas(
    method: &Method,
    param: &dyn Fn(&[&str]) -> Option<String>,
    declared: Option<Operation>,
    account: &str,
) -> Option<Described> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let region = hearth_model::arn::REGION;
    let resource = match (param(&["registryName"]), param(&["schemaName"])) {
        (Some(r), Some(s)) => Some((
            format!("arn:aws:schemas:{region}:{account}:schema/{r}/{s}"),
            "AWS::EventSchemas::Schema",
        )),
        (Some(r), None) => Some((
            format!("arn:aws:schemas:{region}:{account}:registry/{r}"),
            "AWS::EventSchemas::Registry",
        )),
        _ => None,
    };
    Some(Described {
        source: "schemas.amazonaws.com",
        name: declared.map_or_else(
            || format!("{method} /v1/registries"),
            |o| o.name.to_string(),
        ),
        action: declared.map(|o| o.action.to_string()),
        resource,
    })
}

/// A `POST /` request of a JSON service (`X-Amz-Target`) or of the query protocol
/// (`Action=` in a form, the service in the signature's scope).
fn describe_service(headers: &HeaderMap, body: Option<&[u8]>, account: &str) -> Option<Described> {
    if let Some(target) = header(headers, "x-amz-target") {
        let (prefix, op) = target.rsplit_once('.').unwrap_or(("", target.as_str()));
        if is_read(op) {
            return None;
        }
        let (source, service) = if prefix.starts_with("Logs_") {
            ("logs.amazonaws.com", "logs")
        } else if prefix.contains("CloudTrail") {
            ("cloudtrail.amazonaws.com", "cloudtrail")
        } else if prefix == "AWSEvents" {
            ("events.amazonaws.com", "events")
        } else if prefix == crate::sqs::TARGET_PREFIX.trim_end_matches('.') {
            ("sqs.amazonaws.com", "sqs")
        } else if prefix == crate::cloudwatch::TARGET_PREFIX.trim_end_matches('.') {
            ("monitoring.amazonaws.com", "cloudwatch")
        } else {
            ("unknown", "unknown")
        };
        let group = body
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
            .and_then(|v| v.get("logGroupName")?.as_str().map(str::to_string));
        return Some(Described {
            source,
            name: op.to_string(),
            action: Some(format!("{service}:{op}")),
            resource: group.map(|g| {
                (
                    format!("arn:aws:logs:{REGION}:{account}:log-group:{g}"),
                    "AWS::Logs::LogGroup",
                )
            }),
        });
    }
    let form = body.map(|b| String::from_utf8_lossy(b).into_owned())?;
    let action = query_param(&form, "Action")?;
    if is_read(&action) || action == "GetCallerIdentity" {
        return None;
    }
    // CloudWatch signs as `monitoring` and authorises as `cloudwatch:`.
    let version = query_param(&form, "Version");
    let service = match crate::services::scope_service(headers) {
        Some(crate::cloudwatch::SCOPE) => "cloudwatch",
        Some(scope) => scope,
        None => version
            .as_deref()
            .and_then(crate::services::version_service)
            .unwrap_or("iam"),
    }
    .to_string();
    let source = match service.as_str() {
        "cloudwatch" => "monitoring.amazonaws.com",
        "sts" => "sts.amazonaws.com",
        "iam" => "iam.amazonaws.com",
        "sqs" => "sqs.amazonaws.com",
        "sns" => "sns.amazonaws.com",
        _ => "unknown",
    };
    let role = query_param(&form, "RoleName")
        .map(|r| (format!("arn:aws:iam::{account}:role/{r}"), "AWS::IAM::Role"))
        .or_else(|| query_param(&form, "RoleArn").map(|r| (r, "AWS::IAM::Role")));
    Some(Described {
        source,
        action: Some(format!("{service}:{action}")),
        name: action,
        resource: role,
    })
}

/// Whether an operation only reads (AWS's naming: Get, List, Describe, ...).
fn is_read(op: &str) -> bool {
    ["Get", "List", "Describe", "Lookup", "Filter", "Test"]
        .iter()
        .any(|p| op.starts_with(p))
}

/// `/2015-03-31/functions/{function}/aliases/{name}` -> `.../functions/{}/aliases/{}`.
fn normalize(path: &str) -> String {
    let joined = path
        .split('/')
        .map(|seg| if seg.starts_with('{') { "{}" } else { seg })
        .collect::<Vec<_>>()
        .join("/");
    joined.trim_end_matches('/').to_string()
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

pub(crate) fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A function's ARN from what a path names (a name, a partial or a full ARN), in
/// `account` when it names none.
fn function_arn(named: &str, qualifier: Option<&str>, account: &str) -> String {
    let base = if named.starts_with("arn:") {
        named.to_string()
    } else if let Some((named_account, name)) = named.split_once(":function:") {
        format!("arn:aws:lambda:{REGION}:{named_account}:function:{name}")
    } else {
        format!("arn:aws:lambda:{REGION}:{account}:function:{named}")
    };
    match qualifier {
        Some(q) if !base.ends_with(&format!(":{q}")) => format!("{base}:{q}"),
        _ => base,
    }
}

/// `GET /_hearth/audit?since=MS&until=MS&principal=P&action=A&limit=N&before=SEQ`:
/// `{"events": [...], "next": SEQ}`, newest first.
async fn list(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<serde_json::Value>> {
    let int = |name: &str| -> ApiResult<Option<i64>> {
        q.get(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    ApiError(AwsError::invalid(format!(
                        "{name} must be an integer, not {v:?}"
                    )))
                })
            })
            .transpose()
    };
    let query = AuditQuery {
        start_ms: int("since")?,
        end_ms: int("until")?,
        before: int("before")?,
        principal: q.get("principal").cloned(),
        action: q.get("action").cloned(),
        account: q.get("account").cloned(),
        attribute: None,
        limit: int("limit")?.map_or(1000, |n| n.clamp(1, 10_000) as usize),
    };
    let page = s.engine.lookup_audit(query).await?;
    Ok(Json(serde_json::json!({
        "events": page.events,
        "next": page.next,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::arn::ACCOUNT;

    fn d(method: Method, matched: &str, params: &[(&str, &str)], query: &str) -> Option<Described> {
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        describe(
            &method,
            matched,
            &params,
            query,
            (&HeaderMap::new(), None),
            None,
            ACCOUNT,
        )
    }

    #[test]
    fn schemas_writes_name_their_registry_or_schema_and_reads_are_not_recorded() {
        let op = crate::action::Operation::new(
            "UpdateSchema",
            "schemas:UpdateSchema",
            crate::action::ResourceOf::Dispatched,
        );
        let params = vec![
            (
                "registryName".to_string(),
                "lambda-testevent-schemas".to_string(),
            ),
            ("schemaName".to_string(), "_f-schema".to_string()),
        ];
        let path = "/v1/registries/name/{registryName}/schemas/name/{schemaName}";
        let updated = describe(
            &Method::PUT,
            path,
            &params,
            "",
            (&HeaderMap::new(), None),
            Some(op),
            ACCOUNT,
        );
        assert_eq!(
            updated,
            Some(Described {
                source: "schemas.amazonaws.com",
                name: "UpdateSchema".into(),
                action: Some("schemas:UpdateSchema".into()),
                resource: Some((
                    "arn:aws:schemas:us-east-1:000000000000:schema/lambda-testevent-schemas/_f-schema"
                        .into(),
                    "AWS::EventSchemas::Schema"
                )),
            })
        );
        let registry = d(
            Method::POST,
            "/v1/registries/name/{registryName}",
            &[("registryName", "r")],
            "",
        )
        .expect("a write");
        assert_eq!(
            registry.resource,
            Some((
                "arn:aws:schemas:us-east-1:000000000000:registry/r".into(),
                "AWS::EventSchemas::Registry"
            ))
        );
        assert_eq!(d(Method::GET, path, &[("registryName", "r")], ""), None);
    }

    #[test]
    fn scheduler_writes_name_their_schedule_or_group() {
        let op = crate::action::Operation::new(
            "DeleteSchedule",
            "scheduler:DeleteSchedule",
            crate::action::ResourceOf::Dispatched,
        );
        let params = vec![("Name".to_string(), "nightly".to_string())];
        let deleted = describe(
            &Method::DELETE,
            "/schedules/{Name}",
            &params,
            "groupName=ops&clientToken=t",
            (&HeaderMap::new(), None),
            Some(op),
            ACCOUNT,
        );
        assert_eq!(
            deleted,
            Some(Described {
                source: "scheduler.amazonaws.com",
                name: "DeleteSchedule".into(),
                action: Some("scheduler:DeleteSchedule".into()),
                resource: Some((
                    "arn:aws:scheduler:us-east-1:000000000000:schedule/ops/nightly".into(),
                    "AWS::Scheduler::Schedule"
                )),
            })
        );
        let group = d(
            Method::POST,
            "/schedule-groups/{Name}",
            &[("Name", "ops")],
            "",
        )
        .expect("write");
        assert_eq!(
            (group.source, group.resource),
            (
                "scheduler.amazonaws.com",
                Some((
                    "arn:aws:scheduler:us-east-1:000000000000:schedule-group/ops".into(),
                    "AWS::Scheduler::ScheduleGroup"
                ))
            )
        );
    }

    #[test]
    fn lambda_writes_are_named_from_the_model() {
        let f = "arn:aws:lambda:us-east-1:000000000000:function:f";
        assert_eq!(
            d(Method::POST, "/2015-03-31/functions", &[], ""),
            Some(Described {
                source: "lambda.amazonaws.com",
                // CloudTrail's name, with the API's date.
                name: "CreateFunction20150331".into(),
                action: None,
                resource: None,
            })
        );
        let alias = d(
            Method::DELETE,
            "/2015-03-31/functions/{function}/aliases/{name}",
            &[("function", "f"), ("name", "live")],
            "",
        )
        .expect("write");
        assert_eq!(alias.name, "DeleteAlias20150331");
        assert_eq!(
            alias.resource,
            Some((format!("{f}:live"), "AWS::Lambda::Function"))
        );
        let conf = d(
            Method::PUT,
            "/2015-03-31/functions/{function}/configuration",
            &[("function", f)],
            "",
        )
        .expect("write");
        assert_eq!(conf.name, "UpdateFunctionConfiguration20150331v2");
        assert_eq!(
            conf.resource,
            Some((f.to_string(), "AWS::Lambda::Function"))
        );
        // Reads and invocations are not recorded.
        assert_eq!(
            d(
                Method::POST,
                "/2015-03-31/functions/{function}/invocations",
                &[("function", "f")],
                ""
            ),
            None
        );
        // An operation the model lacks keeps its method and path.
        assert_eq!(
            d(
                Method::DELETE,
                "/_hearth/logs/{function}",
                &[("function", "f")],
                ""
            )
            .expect("write")
            .name,
            "DELETE /_hearth/logs"
        );
    }

    #[test]
    fn service_writes_are_named_by_target_or_action() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-amz-target",
            "Logs_20140328.PutRetentionPolicy".parse().expect("h"),
        );
        let body = br#"{"logGroupName": "/aws/lambda/f", "retentionInDays": 1}"#;
        let logs = describe_service(&h, Some(body), ACCOUNT).expect("write");
        assert_eq!(logs.name, "PutRetentionPolicy");
        assert_eq!(
            logs.resource,
            Some((
                "arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/f".to_string(),
                "AWS::Logs::LogGroup"
            ))
        );
        h.insert(
            "x-amz-target",
            "Logs_20140328.FilterLogEvents".parse().expect("h"),
        );
        assert_eq!(describe_service(&h, None, ACCOUNT), None);
        let form = HeaderMap::new();
        let role = describe_service(
            &form,
            Some(b"Action=CreateRole&RoleName=r%2Fx&Version=2010-05-08"),
            ACCOUNT,
        )
        .expect("write");
        assert_eq!(
            (role.source, role.name.as_str(), role.resource),
            (
                "iam.amazonaws.com",
                "CreateRole",
                Some((
                    "arn:aws:iam::000000000000:role/r/x".to_string(),
                    "AWS::IAM::Role"
                ))
            )
        );
        assert_eq!(
            describe_service(&form, Some(b"Action=ListRoles"), ACCOUNT),
            None
        );
        let put = describe_service(
            &form,
            Some(b"Action=PutMetricAlarm&Version=2010-08-01&AlarmName=a"),
            ACCOUNT,
        )
        .expect("write");
        assert_eq!(
            (put.source, put.name.as_str(), put.action.as_deref()),
            (
                "monitoring.amazonaws.com",
                "PutMetricAlarm",
                Some("cloudwatch:PutMetricAlarm")
            )
        );
        h.insert(
            "x-amz-target",
            "GraniteServiceVersion20100801.DeleteAlarms"
                .parse()
                .expect("h"),
        );
        let deleted = describe_service(&h, None, ACCOUNT).expect("write");
        assert_eq!(
            (deleted.source, deleted.action.as_deref()),
            ("monitoring.amazonaws.com", Some("cloudwatch:DeleteAlarms"))
        );
        // Unsigned (the web console, `--auth off`): the query protocol's version names
        // the service; SQS's JSON target its own.
        let publish = describe_service(
            &form,
            Some(b"Action=Publish&Version=2010-03-31&TopicArn=t"),
            ACCOUNT,
        )
        .expect("write");
        assert_eq!(
            (publish.source, publish.action.as_deref()),
            ("sns.amazonaws.com", Some("sns:Publish"))
        );
        h.insert("x-amz-target", "AmazonSQS.SendMessage".parse().expect("h"));
        let sent = describe_service(&h, None, ACCOUNT).expect("write");
        assert_eq!(
            (sent.source, sent.action.as_deref()),
            ("sqs.amazonaws.com", Some("sqs:SendMessage"))
        );
        let params = vec![("operation".to_string(), "SetAlarmState".to_string())];
        let cbor = describe(
            &Method::POST,
            "/service/{service}/operation/{operation}",
            &params,
            "",
            (&HeaderMap::new(), None),
            None,
            ACCOUNT,
        )
        .expect("write");
        assert_eq!(
            (cbor.source, cbor.name.as_str()),
            ("monitoring.amazonaws.com", "SetAlarmState")
        );
    }
}
