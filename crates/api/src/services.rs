//! One endpoint for every AWS service: the requests that all arrive as `POST /` are told
//! apart here, by protocol, and handed to their service's module. JSON protocols name
//! their operation in `X-Amz-Target` (`Logs_20140328.*`, CloudTrail's
//! `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.*`); the query protocol (IAM, STS,
//! and later SQS and SNS) sends a form with `Action=`, whose service the signature's
//! credential scope names (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`), or, when
//! unsigned (`--auth off`), its `Version`. Lambda's REST paths are routed by path and
//! never reach this. `GET /` with a query string is the query protocol's other form.
//!
//! Each service adds one arm to [`Service`], [`service_of_scope`] and, for the query
//! protocol, [`service_of_version`]. CloudWatch (`GraniteServiceVersion20100801.*`, scope
//! `monitoring`, `Version=2010-08-01`) is handed to `cloudwatch/`. EventBridge (`AWSEvents.*`, scope `events`) is
//! told by its target or scope before the others.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};

use crate::authorize::{Access, Refused};
use crate::query::{QueryError, QueryRequest};
use crate::{
    cloudtrail, cloudwatch, cloudwatch_logs, eventbridge, iam, sns, sqs, sts, AppState, RequestId,
};

/// A query-protocol form is at most this long: a policy document (128 KiB of text)
/// percent-encoded, with room for the other parameters.
const QUERY_BODY_MAX: usize = 1 << 20;

/// The AWS service a `POST /` request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    /// CloudWatch Logs (AWS JSON 1.1), and any request no other service claims: it
    /// answers `UnknownOperationException` as before services were told apart.
    Logs,
    /// IAM (query protocol, `Version=2010-05-08`).
    Iam,
    /// STS (query protocol, `Version=2011-06-15`).
    Sts,
    /// SQS (AWS JSON 1.0 `AmazonSQS.*`, or the query protocol, `Version=2012-11-05`).
    Sqs,
    /// SNS (query protocol, `Version=2010-03-31`; it authorises each operation itself,
    /// with its topic's policy).
    Sns,
    /// CloudWatch (query protocol, `Version=2010-08-01`, scope `monitoring`; its JSON 1.0
    /// and CBOR forms are told by target and path).
    CloudWatch,
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", post(dispatch).get(dispatch_get))
        .route("/{account}/{queue}", post(sqs::at_queue_url))
}

fn request_id_of(id: Option<Extension<RequestId>>) -> String {
    id.map_or_else(|| uuid::Uuid::new_v4().to_string(), |Extension(r)| r.0)
}

/// Each service's dispatcher checks the operation it finds with `access` before it runs it.
async fn dispatch(
    state: State<AppState>,
    Extension(access): Extension<Access>,
    request_id: Option<Extension<RequestId>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if target.starts_with(sqs::TARGET_PREFIX) {
        return sqs::dispatch_json(&state.0, &access, &headers, body, request_id_of(request_id))
            .await;
    }
    if target.starts_with(cloudwatch::TARGET_PREFIX) {
        let id = request_id_of(request_id);
        return cloudwatch::dispatch_json(&state.0, &access, &headers, body, &id).await;
    }
    if target.starts_with(cloudtrail::TARGET_PREFIX) {
        return cloudtrail::dispatch(&state.0, &access, &headers, body).await;
    }
    // EventBridge (AWS JSON 1.1, `AWSEvents.*`), or anything signed for `events`, which
    // its dispatcher answers as an unknown operation unless it is one of its own.
    if target.starts_with(eventbridge::TARGET_PREFIX) || scope_service(&headers) == Some("events") {
        let trace = headers.get("x-amzn-trace-id").and_then(|v| v.to_str().ok());
        return eventbridge::dispatch(&state.0, &access, target, trace, body).await;
    }
    if !target.is_empty() {
        return cloudwatch_logs::dispatch(state, access, headers, body).await;
    }
    let scoped = service_of_scope(&headers);
    let form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if scoped == Some(Service::Logs) || (scoped.is_none() && !form) {
        return cloudwatch_logs::dispatch(state, access, headers, body).await;
    }
    let bytes = match crate::body::read(body, QUERY_BODY_MAX, "query").await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    // botocore gzips CloudWatch's PutMetricData forms (`Content-Encoding: gzip`).
    let bytes = match cloudwatch::inflate(&headers, bytes) {
        Ok(b) => b,
        Err(m) => {
            let e = QueryError::sender(StatusCode::BAD_REQUEST, "MalformedQueryString", m);
            return cloudwatch::PROTOCOL.error(&e, &request_id_of(request_id));
        }
    };
    let req = QueryRequest::parse(&bytes);
    match scoped.or_else(|| service_of_version(&req)) {
        Some(Service::Sqs) => {
            let id = request_id_of(request_id);
            sqs::dispatch_query(&state.0, &access, &headers, &req, None, &id).await
        }
        Some(Service::Sns) => {
            sns::dispatch(&state, &access, &headers, &req, &request_id_of(request_id))
        }
        Some(Service::CloudWatch) => {
            cloudwatch::dispatch_query(&state.0, &access, &req, &request_id_of(request_id)).await
        }
        Some(service @ (Service::Iam | Service::Sts)) => {
            answer(service, &state, &access, &req, request_id_of(request_id))
        }
        _ => cloudwatch_logs::dispatch(state, access, headers, Body::from(bytes)).await,
    }
}

/// `GET /?Action=...&Version=...`: the query protocol's other form.
async fn dispatch_get(
    state: State<AppState>,
    Extension(access): Extension<Access>,
    request_id: Option<Extension<RequestId>>,
    headers: HeaderMap,
    method: Method,
    uri: Uri,
) -> Response {
    let req = QueryRequest::parse(uri.query().unwrap_or("").as_bytes());
    match service_of_scope(&headers).or_else(|| service_of_version(&req)) {
        Some(Service::Sqs) => {
            let id = request_id_of(request_id);
            sqs::dispatch_query(&state.0, &access, &headers, &req, None, &id).await
        }
        Some(Service::Sns) => {
            sns::dispatch(&state, &access, &headers, &req, &request_id_of(request_id))
        }
        Some(Service::CloudWatch) => {
            cloudwatch::dispatch_query(&state.0, &access, &req, &request_id_of(request_id)).await
        }
        Some(service @ (Service::Iam | Service::Sts)) => {
            answer(service, &state, &access, &req, request_id_of(request_id))
        }
        _ => crate::error::unknown_operation(method, uri).await,
    }
}

fn answer(
    service: Service,
    state: &AppState,
    access: &Access,
    req: &QueryRequest,
    request_id: String,
) -> Response {
    let protocol = match service {
        Service::Sts => sts::PROTOCOL,
        _ => iam::PROTOCOL,
    };
    if let Err(e) = authorize_query(service, state, access, req) {
        return protocol.error(&e, &request_id);
    }
    match service {
        Service::Sts => sts::dispatch(state, access, req, &request_id),
        _ => iam::dispatch(state, &access.caller, req, &request_id),
    }
}

/// The IAM action and resource a query-protocol operation is authorised as: IAM's
/// operations on the role they name (or the policy, or `*` for lists).
fn authorize_query(
    service: Service,
    state: &AppState,
    access: &Access,
    req: &QueryRequest,
) -> Result<(), QueryError> {
    let account = &access.caller.account;
    let (action, resource) = match service {
        // GetCallerIdentity needs no permission; AssumeRole is decided by the role's
        // trust policy and the caller's identity policies together, which `sts.rs` asks
        // after validating the request, answering STS's own denial text.
        Service::Sts => return Ok(()),
        _ => {
            let resource = match (req.get("RoleName"), req.get("PolicyArn")) {
                (Some(role), _) => format!("arn:aws:iam::{account}:role/{role}"),
                (None, Some(policy)) => policy.to_string(),
                (None, None) => "*".to_string(),
            };
            (format!("iam:{}", req.action), resource)
        }
    };
    // AWS's managed policies (`arn:aws:iam::aws:policy/...`) are readable from every
    // account: they are checked as the caller's own.
    let owner = match hearth_model::arn::arn_account(&resource) {
        Some("aws") | None => account.as_str(),
        Some(a) => a,
    };
    access
        .check_in(state, &action, &resource, owner)
        .map_err(|refused| match refused {
            Refused::Denied(m) => QueryError::sender(StatusCode::FORBIDDEN, "AccessDenied", m),
            Refused::Failed(m) => QueryError::internal(&m),
        })
}

/// The service the signature's credential scope names, if it is one Hearth has.
fn service_of_scope(headers: &HeaderMap) -> Option<Service> {
    match scope_service(headers)? {
        "iam" => Some(Service::Iam),
        "sts" => Some(Service::Sts),
        "sqs" => Some(Service::Sqs),
        "sns" => Some(Service::Sns),
        cloudwatch::SCOPE => Some(Service::CloudWatch),
        _ => Some(Service::Logs),
    }
}

/// The query-protocol service an unsigned request names by its API version.
fn service_of_version(req: &QueryRequest) -> Option<Service> {
    // The links in SNS's messages (`SubscribeURL`, `UnsubscribeURL`) carry no version.
    if req.version.is_none() && matches!(req.action.as_str(), "ConfirmSubscription" | "Unsubscribe")
    {
        return Some(Service::Sns);
    }
    match version_service(req.version.as_deref()?)? {
        "iam" => Some(Service::Iam),
        "sts" => Some(Service::Sts),
        "sqs" => Some(Service::Sqs),
        "sns" => Some(Service::Sns),
        _ => Some(Service::CloudWatch),
    }
}

/// The query-protocol service (its IAM prefix) whose API version is `version`: how a
/// request that names no service by a signature (`--auth off`, the web console's) is told.
pub(crate) fn version_service(version: &str) -> Option<&'static str> {
    match version {
        v if v == iam::PROTOCOL.version => Some("iam"),
        v if v == sts::PROTOCOL.version => Some("sts"),
        v if v == sqs::PROTOCOL.version => Some("sqs"),
        v if v == sns::PROTOCOL.version => Some("sns"),
        cloudwatch::VERSION => Some("cloudwatch"),
        _ => None,
    }
}

/// The service named by the request's SigV4 credential scope, if it is signed in the
/// `Authorization` header (`AWS4-HMAC-SHA256 Credential=AK/20261201/us-east-1/iam/aws4_request, ...`).
pub(crate) fn scope_service(headers: &HeaderMap) -> Option<&str> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let credential = auth
        .split([' ', ','])
        .find_map(|part| part.trim().strip_prefix("Credential="))?;
    let mut scope = credential.rsplitn(3, '/');
    scope.next().filter(|t| *t == "aws4_request")?;
    scope.next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_scope_names_the_service() {
        let mut h = HeaderMap::new();
        assert_eq!(scope_service(&h), None);
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
                .parse()
                .expect("header"),
        );
        assert_eq!(scope_service(&h), Some("iam"));
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AK/2026/us-east-1/sts"
                .parse()
                .expect("header"),
        );
        assert_eq!(scope_service(&h), None);
    }
}
