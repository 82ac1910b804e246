//! SQS on the one endpoint: AWS JSON 1.0 (`X-Amz-Target: AmazonSQS.<Op>`, what current
//! SDKs speak) and the query protocol (`Action=<Op>&Version=2012-11-05`, POSTed to `/` or
//! to a queue's URL `/<account>/<queue>`, answered in XML; what older SDKs speak). Both
//! decode into the JSON shape `ops.rs` runs, so every operation is written once; the
//! service itself is `hearth-sqs`.
//!
//! Every operation is authorized before it runs as [`OPERATIONS`] declares: its IAM
//! action (a batch as its single operation, as SQS's documentation says) on the queue's
//! ARN, with the queue's `Policy` attribute as its resource policy (so another account
//! can be let in, and anyone can be denied).

pub(crate) mod fleet;
mod form;
mod ops;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use hearth_sqs::{QueueId, Sqs, SqsError, REGION};
use serde_json::{json, Value};

use crate::authorize::{Access, Refused};
use crate::query::{Protocol, QueryError, QueryRequest};
use crate::{AppState, RequestId};

/// `X-Amz-Target`'s prefix.
pub(crate) const TARGET_PREFIX: &str = "AmazonSQS.";

/// The query protocol's namespace and version.
pub(crate) const PROTOCOL: Protocol = Protocol {
    namespace: "http://queue.amazonaws.com/doc/2012-11-05/",
    version: "2012-11-05",
};

/// The largest request body: a send batch of 1 MiB in all, with base64 and JSON escapes.
const BODY_MAX: usize = 8 << 20;

/// Every operation and the IAM action that authorizes it.
pub(crate) const OPERATIONS: &[(&str, &str)] = &[
    ("AddPermission", "sqs:AddPermission"),
    ("CancelMessageMoveTask", "sqs:CancelMessageMoveTask"),
    ("ChangeMessageVisibility", "sqs:ChangeMessageVisibility"),
    (
        "ChangeMessageVisibilityBatch",
        "sqs:ChangeMessageVisibility",
    ),
    ("CreateQueue", "sqs:CreateQueue"),
    ("DeleteMessage", "sqs:DeleteMessage"),
    ("DeleteMessageBatch", "sqs:DeleteMessage"),
    ("DeleteQueue", "sqs:DeleteQueue"),
    ("GetQueueAttributes", "sqs:GetQueueAttributes"),
    ("GetQueueUrl", "sqs:GetQueueUrl"),
    (
        "ListDeadLetterSourceQueues",
        "sqs:ListDeadLetterSourceQueues",
    ),
    ("ListMessageMoveTasks", "sqs:ListMessageMoveTasks"),
    ("ListQueueTags", "sqs:ListQueueTags"),
    ("ListQueues", "sqs:ListQueues"),
    ("PurgeQueue", "sqs:PurgeQueue"),
    ("ReceiveMessage", "sqs:ReceiveMessage"),
    ("RemovePermission", "sqs:RemovePermission"),
    ("SendMessage", "sqs:SendMessage"),
    ("SendMessageBatch", "sqs:SendMessage"),
    ("SetQueueAttributes", "sqs:SetQueueAttributes"),
    ("StartMessageMoveTask", "sqs:StartMessageMoveTask"),
    ("TagQueue", "sqs:TagQueue"),
    ("UntagQueue", "sqs:UntagQueue"),
];

/// An error as both protocols write it.
struct WireError {
    status: u16,
    shape: &'static str,
    code: &'static str,
    message: String,
    sender: bool,
}

impl From<SqsError> for WireError {
    fn from(e: SqsError) -> Self {
        Self {
            status: e.kind.status(),
            shape: e.kind.shape(),
            code: e.kind.query_code(),
            message: e.message,
            sender: e.kind.sender(),
        }
    }
}

impl From<Refused> for WireError {
    fn from(r: Refused) -> Self {
        match r {
            Refused::Denied(m) => Self {
                status: 403,
                shape: "AccessDeniedException",
                code: "AccessDenied",
                message: m,
                sender: true,
            },
            Refused::Failed(m) => SqsError::internal(&m).into(),
        }
    }
}

/// The JSON protocol's errors that are not shapes of SQS's model, which SQS answers in
/// its service framework's namespace (`com.amazon.coral.service#...`, as observed of
/// `InvalidParameterValueException`) rather than `com.amazonaws.sqs#...`. SDKs read the
/// shape after the `#` and the code from `x-amzn-query-error` either way.
const FRAMEWORK_SHAPES: &[&str] = &[
    "InvalidParameterValueException",
    "MissingRequiredParameterException",
    "AccessDeniedException",
    "SerializationException",
];

impl WireError {
    fn json(self, request_id: &str) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let namespace = if FRAMEWORK_SHAPES.contains(&self.shape) {
            "com.amazon.coral.service"
        } else {
            "com.amazonaws.sqs"
        };
        let body = json!({
            "__type": format!("{namespace}#{}", self.shape),
            "message": self.message,
        });
        let mut resp = (status, body.to_string()).into_response();
        let h = resp.headers_mut();
        h.insert(
            "content-type",
            HeaderValue::from_static("application/x-amz-json-1.0"),
        );
        let fault = if self.sender { "Sender" } else { "Receiver" };
        if let Ok(v) = HeaderValue::from_str(&format!("{};{fault}", self.code)) {
            h.insert("x-amzn-query-error", v);
        }
        if let Ok(v) = HeaderValue::from_str(request_id) {
            h.insert("x-amzn-requestid", v);
        }
        resp
    }

    fn query(self, request_id: &str) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let e = if self.sender {
            QueryError::sender(status, self.code, self.message)
        } else {
            QueryError {
                status,
                code: self.code.into(),
                message: self.message,
                sender: false,
            }
        };
        PROTOCOL.error(&e, request_id)
    }
}

fn service(state: &AppState) -> Result<&Sqs, WireError> {
    state.options.sqs.as_ref().ok_or_else(|| {
        SqsError::new(
            hearth_sqs::ErrorKind::UnsupportedOperation,
            "SQS is not enabled on this server.",
        )
        .into()
    })
}

/// The queue an operation acts on, for its authorization: its ARN and owner.
fn resource_of(op: &str, input: &Value, account: &str) -> Result<(String, String), WireError> {
    let s = |n: &str| input.get(n).and_then(Value::as_str);
    let id = match op {
        "ListQueues" => return Ok((format!("arn:aws:sqs:{REGION}:{account}:*"), account.into())),
        "CreateQueue" | "GetQueueUrl" => QueueId {
            account: s("QueueOwnerAWSAccountId").unwrap_or(account).into(),
            name: s("QueueName").unwrap_or_default().into(),
        },
        "StartMessageMoveTask" | "ListMessageMoveTasks" => {
            QueueId::parse(s("SourceArn").unwrap_or_default(), account).map_err(WireError::from)?
        }
        "CancelMessageMoveTask" => {
            let handle = s("TaskHandle").ok_or_else(|| SqsError::missing("TaskHandle"))?;
            let source = hearth_sqs::move_task_source(handle)?;
            QueueId::parse(&source, account).map_err(|_| {
                WireError::from(SqsError::new(
                    hearth_sqs::ErrorKind::ResourceNotFound,
                    "The resource that you specified for the SourceArn parameter doesn't exist.",
                ))
            })?
        }
        _ => QueueId::parse(
            s("QueueUrl").ok_or_else(|| SqsError::missing("QueueUrl"))?,
            account,
        )?,
    };
    Ok((id.arn(), id.account))
}

async fn authorize(
    state: &AppState,
    sqs: &Sqs,
    access: &Access,
    op: &str,
    input: &Value,
) -> Result<(), WireError> {
    let Some((_, action)) = OPERATIONS.iter().find(|(name, _)| *name == op) else {
        return Err(SqsError::new(
            hearth_sqs::ErrorKind::UnsupportedOperation,
            format!("The action {op} is not valid for this endpoint."),
        )
        .into());
    };
    let (arn, owner) = resource_of(op, input, &access.caller.account)?;
    // The queue's policy is read where SQS is served (another node of a fleet, perhaps);
    // when it cannot be, nothing is authorized (it may deny).
    let policy = match QueueId::parse(&arn, &owner) {
        Ok(id) if id.name != "*" => sqs.resource_policy(&id).await?,
        _ => None,
    }
    .map(Arc::new);
    access
        .check_with_policy(state, action, &arn, &owner, policy)
        .map_err(WireError::from)
}

/// The queue URLs' base: the host the client used, with the scheme a proxy in front
/// reports, else the server's own (`https` when it serves TLS).
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_else(|| match state.options.endpoints.scheme() {
            "" => "http",
            scheme => scheme,
        });
    format!("{scheme}://{host}")
}

async fn execute(
    state: &AppState,
    access: &Access,
    headers: &HeaderMap,
    op: &str,
    input: &Value,
) -> Result<Value, WireError> {
    let sqs = service(state)?;
    authorize(state, sqs, access, op, input).await?;
    let base = base_url(state, headers);
    let caller = ops::Caller {
        account: &access.caller.account,
        sender_id: &access.caller.user_id,
        base_url: &base,
        trace_header: headers
            .get("x-amzn-trace-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty()),
    };
    Ok(ops::run(sqs, &caller, op, input).await?)
}

fn request_id_of(id: Option<Extension<RequestId>>) -> String {
    id.map_or_else(|| uuid::Uuid::new_v4().to_string(), |Extension(r)| r.0)
}

/// AWS JSON 1.0: `X-Amz-Target: AmazonSQS.<Op>`.
pub(crate) async fn dispatch_json(
    state: &AppState,
    access: &Access,
    headers: &HeaderMap,
    body: Body,
    request_id: String,
) -> Response {
    let op = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix(TARGET_PREFIX))
        .unwrap_or("")
        .to_string();
    let bytes = match crate::body::read(body, BODY_MAX, &op).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let input: Value = if bytes.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                return WireError {
                    status: 400,
                    shape: "SerializationException",
                    code: "SerializationException",
                    message: "The request body is not a JSON object.".into(),
                    sender: true,
                }
                .json(&request_id)
            }
        }
    };
    match execute(state, access, headers, &op, &input).await {
        Ok(out) => {
            let mut resp = (StatusCode::OK, out.to_string()).into_response();
            let h = resp.headers_mut();
            h.insert(
                "content-type",
                HeaderValue::from_static("application/x-amz-json-1.0"),
            );
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                h.insert("x-amzn-requestid", v);
            }
            resp
        }
        Err(e) => e.json(&request_id),
    }
}

/// The query protocol: `Action=<Op>` in a form, to `/` or to a queue URL (`queue`).
pub(crate) async fn dispatch_query(
    state: &AppState,
    access: &Access,
    headers: &HeaderMap,
    req: &QueryRequest,
    queue: Option<(String, String)>,
    request_id: &str,
) -> Response {
    let mut input = form::to_json(req.params(), &req.action);
    if let (Some((account, name)), Some(obj)) = (queue, input.as_object_mut()) {
        if !obj.contains_key("QueueUrl") {
            let url = format!("{}/{account}/{name}", base_url(state, headers));
            obj.insert("QueueUrl".into(), Value::String(url));
        }
    }
    match execute(state, access, headers, &req.action, &input).await {
        Ok(out) => PROTOCOL.answer(&req.action, request_id, form::to_xml(&out, &req.action)),
        Err(e) => e.query(request_id),
    }
}

/// `POST /<account>/<queue>`: the query protocol sent to a queue's URL. A path whose
/// first segment is not an account (`/2015-03-31/event-source-mappings`) is Lambda's, and
/// answered as the router answers an operation it does not have.
pub(crate) async fn at_queue_url(
    State(state): State<AppState>,
    Extension(access): Extension<Access>,
    request_id: Option<Extension<RequestId>>,
    Path((account, queue)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return crate::error::unknown_operation(Method::POST, uri).await;
    }
    let request_id = request_id_of(request_id);
    let bytes = match crate::body::read(body, BODY_MAX, "query").await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    if headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with(TARGET_PREFIX))
    {
        return dispatch_json(&state, &access, &headers, Body::from(bytes), request_id).await;
    }
    let req = QueryRequest::parse(&bytes);
    dispatch_query(
        &state,
        &access,
        &headers,
        &req,
        Some((account, queue)),
        &request_id,
    )
    .await
}
