//! Authentication of every request (issue 14): the layer that verifies its SigV4
//! signature for the service it is for and inserts who signed it
//! ([`hearth_model::caller::Caller`]) as a request extension, or answers the failure as
//! that service's protocol does (Lambda's REST-JSON, JSON 1.1, the query protocol's XML).
//!
//! The body is read here (with the largest limit any operation has) because a signature
//! covers its hash; the handler then reads it from memory with its own limit. Open
//! without a signature: only `/_hearth/code/*`, the `Code.Location` URLs GetFunction
//! hands out (as AWS hands out presigned S3 URLs). `/_hearth/*` needs the default
//! account's root.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hearth_auth::{AuthError, Incoming, Protocol, ServiceCheck, Verifier};
use hearth_model::caller::{Caller, CallerKind};

use crate::body::{self, CONTROL_BODY_MAX};
use crate::request_id::RequestId;

/// The services of the query protocol (`POST /` with a form), told apart by the scope.
const QUERY_SERVICES: &[&str] = &["iam", "sts", "sqs", "sns", "monitoring"];

/// How requests are authenticated.
#[derive(Clone)]
pub enum Auth {
    /// `--auth off`: every request is the default account's root.
    Off,
    /// `--auth sigv4`.
    SigV4(Arc<Verifier>),
}

impl Auth {
    pub fn sigv4(verifier: Verifier) -> Self {
        Self::SigV4(Arc::new(verifier))
    }
}

/// What a request is for: which service's signature it needs, and its error protocol.
fn classify(req: &Request) -> (Protocol, ServiceCheck<'static>) {
    if req.uri().path().starts_with("/v2/") {
        return (Protocol::RestJson, ServiceCheck::Is("apigateway"));
    }
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok());
    if queue_url_path(req.uri().path()) {
        // SQS sent to a queue's URL (`/<account>/<queue>`): its JSON or query protocol.
        return match target {
            Some(_) => (Protocol::Json, ServiceCheck::Is("sqs")),
            None => (Protocol::Query, ServiceCheck::Is("sqs")),
        };
    }
    if crate::cloudwatch::is_cbor_path(req.uri().path()) {
        // CloudWatch's RPC v2 CBOR: refused in CBOR (`refusal`), signed for `monitoring`.
        return (Protocol::Json, ServiceCheck::Is(crate::cloudwatch::SCOPE));
    }
    if scheduler_path(req.uri().path()) {
        return (Protocol::RestJson, ServiceCheck::Is("scheduler"));
    }
    if crate::schemas::is_schemas_path(req.uri().path()) {
        return (Protocol::RestJson, ServiceCheck::Is("schemas"));
    }
    if req.uri().path() != "/" {
        return (Protocol::RestJson, ServiceCheck::Is("lambda"));
    }
    match target {
        Some(t) if t.starts_with("Logs_") => (Protocol::Json, ServiceCheck::Is("logs")),
        Some(t) if t.starts_with("AmazonSQS.") => (Protocol::Json, ServiceCheck::Is("sqs")),
        Some(t) if t.starts_with("com.amazonaws.cloudtrail.") => {
            (Protocol::Json, ServiceCheck::Is("cloudtrail"))
        }
        Some(t) if t.starts_with("AWSEvents.") => (Protocol::Json, ServiceCheck::Is("events")),
        Some(t) if t.starts_with(crate::cloudwatch::TARGET_PREFIX) => {
            (Protocol::Json, ServiceCheck::Is(crate::cloudwatch::SCOPE))
        }
        // An operation no service claims: any scope, the dispatch answers it unknown.
        Some(_) => (Protocol::Json, ServiceCheck::OneOf(&["logs", "lambda"])),
        None => (Protocol::Query, ServiceCheck::OneOf(QUERY_SERVICES)),
    }
}

/// EventBridge Scheduler's paths: `/schedules[/…]`, `/schedule-groups[/…]` and its tags,
/// `/tags/{ResourceArn}` (Lambda's are under `/2017-03-31/tags/`, API Gateway's under
/// `/v2/tags/`).
pub(crate) fn scheduler_path(path: &str) -> bool {
    ["/schedules", "/schedule-groups"]
        .iter()
        .any(|p| path == *p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
        || path.starts_with("/tags/")
}

/// `/<12-digit account>/<queue name>`: an SQS queue URL's path.
fn queue_url_path(path: &str) -> bool {
    let mut parts = path.trim_start_matches('/').split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(account), Some(name), None) => {
            account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty()
        }
        _ => false,
    }
}

fn open_path(path: &str) -> bool {
    // `/metrics` checks its own bearer token (`prometheus.rs`).
    path.starts_with("/_hearth/code/") || path == crate::prometheus::PATH
}

fn private_path(path: &str) -> bool {
    path == "/_hearth" || path.starts_with("/_hearth/")
}

/// The layer: see the module's documentation.
pub(crate) async fn authenticate(State(auth): State<Auth>, req: Request, next: Next) -> Response {
    if req.extensions().get::<crate::console::SignedIn>().is_some() {
        // The console's session stands for a signature (`console/`): its caller is set.
        return match req.extensions().get::<Caller>() {
            Some(caller) if private_path(req.uri().path()) && !is_admin(caller) => {
                not_admin(caller, req.method(), req.uri().path())
            }
            _ => next.run(req).await,
        };
    }
    let verifier = match auth {
        // A caller set in-process (tests of authorization) stands; extensions never come
        // from the wire.
        Auth::Off if req.extensions().get::<Caller>().is_some() => return next.run(req).await,
        Auth::Off => return with_caller(req, Caller::default_root(), next).await,
        Auth::SigV4(v) => v,
    };
    if open_path(req.uri().path())
        || (!req.headers().contains_key("authorization")
            && crate::sns::open_link(req.method(), req.uri()))
    {
        return next.run(req).await;
    }
    let (protocol, service) = classify(&req);
    let (mut parts, body) = req.into_parts();
    // Every operation's own limit is at most this one, and its handler still applies it.
    let bytes = match body::read(body, CONTROL_BODY_MAX, "this").await {
        Ok(b) => b,
        Err(e) if e.0.code == hearth_model::ErrorCode::RequestTooLarge => {
            return crate::error::ApiError(hearth_model::AwsError::new(
                hearth_model::ErrorCode::RequestEntityTooLarge,
                format!("Request must be smaller than {CONTROL_BODY_MAX} bytes"),
            ))
            .into_response()
        }
        Err(e) => return e.into_response(),
    };

    // HTTP/2 carries the host as the `:authority` pseudo-header, which clients sign as
    // `host`: give it back its header name.
    if !parts.headers.contains_key(axum::http::header::HOST) {
        if let Some(host) = parts
            .uri
            .authority()
            .and_then(|a| axum::http::HeaderValue::from_str(a.as_str()).ok())
        {
            parts.headers.insert(axum::http::header::HOST, host);
        }
    }
    let incoming = Incoming {
        method: parts.method.as_str(),
        path_and_query: parts.uri.path_and_query().map_or("/", |p| p.as_str()),
        headers: &parts.headers,
        body: &bytes,
    };
    let caller = match verifier.verify(&incoming, service, SystemTime::now()) {
        Ok(c) => c,
        Err(e) => {
            let request_id = parts.extensions.get::<RequestId>().map_or("", |r| &r.0);
            if crate::cloudwatch::is_cbor_path(parts.uri.path()) {
                return crate::cloudwatch::refusal(
                    e.code(Protocol::Json),
                    e.code(Protocol::Query),
                    &e.message(Protocol::Json),
                    e.status(Protocol::Json),
                    request_id,
                );
            }
            return refusal(&e, protocol, &parts.headers, request_id);
        }
    };
    let path = parts.uri.path();
    if private_path(path) && !is_admin(&caller) {
        return not_admin(&caller, &parts.method, path);
    }
    let req = Request::from_parts(parts, Body::from(bytes));
    with_caller(req, caller, next).await
}

/// Signed, but not by the administrator: AWS's answer to a principal without the
/// permission, in Lambda's encoding.
fn not_admin(caller: &Caller, method: &axum::http::Method, path: &str) -> Response {
    crate::error::ApiError(hearth_model::AwsError::new(
        hearth_model::ErrorCode::AccessDenied,
        format!(
            "User: {} is not authorized to perform: {method} {path}: Hearth's own endpoints are the administrator's (the default account's root)",
            caller.arn
        ),
    ))
    .into_response()
}

fn is_admin(c: &Caller) -> bool {
    c.kind == CallerKind::Root && c.account == hearth_model::arn::ACCOUNT
}

async fn with_caller(mut req: Request, caller: Caller, next: Next) -> Response {
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// A failure as the service's protocol answers it (CloudWatch's CBOR aside: see
/// `cloudwatch::refusal`). A JSON answer has the request's JSON version (SQS and
/// CloudWatch speak 1.0, the others 1.1); SQS and CloudWatch, compatible with their query protocol, also
/// names the query protocol's code in `x-amzn-query-error`, which SDKs report as the
/// error's code.
fn refusal(
    e: &AuthError,
    protocol: Protocol,
    headers: &axum::http::HeaderMap,
    request_id: &str,
) -> Response {
    let code = e.code(protocol);
    let message = e.message(protocol);
    let status = StatusCode::from_u16(e.status(protocol)).unwrap_or(StatusCode::FORBIDDEN);
    match protocol {
        Protocol::RestJson => {
            let mut r = (
                status,
                [("content-type", "application/json")],
                serde_json::json!({ "message": message }).to_string(),
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(code) {
                r.headers_mut().insert("x-amzn-errortype", v);
            }
            r
        }
        Protocol::Json => {
            let content_type = match headers.get(axum::http::header::CONTENT_TYPE) {
                Some(v) if v.as_bytes() == b"application/x-amz-json-1.0" => v.clone(),
                _ => HeaderValue::from_static("application/x-amz-json-1.1"),
            };
            let mut r = (
                status,
                [(axum::http::header::CONTENT_TYPE, content_type)],
                serde_json::json!({ "__type": code, "message": message }).to_string(),
            )
                .into_response();
            // SQS and CloudWatch are compatible with their query protocol.
            let query_compatible = matches!(
                crate::services::scope_service(headers),
                Some("sqs" | crate::cloudwatch::SCOPE)
            ) || headers.get("x-amz-target").is_some_and(|t| {
                [crate::sqs::TARGET_PREFIX, crate::cloudwatch::TARGET_PREFIX]
                    .iter()
                    .any(|p| t.as_bytes().starts_with(p.as_bytes()))
            });
            if query_compatible {
                let query = format!("{};Sender", e.code(Protocol::Query));
                if let Ok(v) = HeaderValue::from_str(&query) {
                    r.headers_mut().insert("x-amzn-query-error", v);
                }
            }
            r
        }
        Protocol::Query => {
            let ns = query_namespace(headers);
            (
                status,
                [("content-type", "text/xml")],
                format!(
                    "<ErrorResponse xmlns=\"{ns}\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>{code}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
                    xml_escape(&message)
                ),
            )
                .into_response()
        }
    }
}

/// The XML namespace of a query-protocol service's answers, by the scope's service.
fn query_namespace(headers: &axum::http::HeaderMap) -> &'static str {
    match crate::services::scope_service(headers) {
        Some("sts") => "https://sts.amazonaws.com/doc/2011-06-15/",
        Some("sqs") => "http://queue.amazonaws.com/doc/2012-11-05/",
        Some("sns") => "http://sns.amazonaws.com/doc/2010-03-31/",
        Some(crate::cloudwatch::SCOPE) => crate::cloudwatch::PROTOCOL.namespace,
        _ => "https://iam.amazonaws.com/doc/2010-05-08/",
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}
