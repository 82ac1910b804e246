//! CloudWatch (metrics and alarms) on Hearth's one endpoint, in each of the three protocols
//! botocore's model lists for it: Smithy RPC v2 CBOR (`POST /service/
//! GraniteServiceVersion20100801/operation/<Op>`, botocore's default), AWS JSON 1.0
//! (`POST /` with `X-Amz-Target: GraniteServiceVersion20100801.<Op>`) and the query
//! protocol (`Action=<Op>&Version=2010-08-01`, credential scope `monitoring`, told apart
//! in `services.rs`). Every protocol is decoded into one JSON form (AWS JSON 1.0's:
//! timestamps epoch seconds, blobs base64) by codecs that walk the model's shapes
//! (`model.rs`, `cbor.rs`, `form.rs`), each operation of [`OPERATIONS`] is authorised as
//! its IAM action on its alarms (or `*`), run by `hearth_metrics::CloudWatch`, and its
//! output or error encoded back in the request's protocol (`wire.rs`).

mod cbor;
mod form;
mod model;
mod wire;

use std::io::Read as _;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::Value;

use crate::authorize::{Access, Refused};
use crate::query::QueryRequest;
use crate::{AppState, RequestId};
use wire::Wire;
use wire::WireError;
pub(crate) use wire::PROTOCOL;

/// The JSON protocol's `X-Amz-Target` prefix.
pub(crate) const TARGET_PREFIX: &str = "GraniteServiceVersion20100801.";
/// The Smithy service name in the RPC v2 CBOR path.
const SERVICE: &str = "GraniteServiceVersion20100801";
/// The query protocol's API version.
pub(crate) const VERSION: &str = "2010-08-01";
/// The credential scope's service name (the model's `endpointPrefix`).
pub(crate) const SCOPE: &str = "monitoring";
/// A request body is at most this long (AWS's PutMetricData limit, "1 MB for HTTP POST
/// requests"), and so is a gzip body once inflated (botocore compresses PutMetricData).
const BODY_MAX: usize = 1 << 20;

/// What an operation's IAM resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    /// `*`: the metric operations and DescribeAlarmsForMetric.
    Any,
    /// The alarm of `AlarmName` (`*` when absent: DescribeAlarmHistory of every alarm).
    AlarmName,
    /// Each alarm of `AlarmNames` (`*` when none: DescribeAlarms of every alarm).
    AlarmNames,
    /// The ARN in `ResourceARN` (the tag operations).
    ArnInBody,
}

/// Every operation Hearth's CloudWatch serves, its IAM action and resource, as "Actions,
/// resources, and condition keys for Amazon CloudWatch" lists them (the alarm operations
/// on `alarm*`, the metric ones on no resource). UNSURE: which resource AWS checks
/// DescribeAlarms and DescribeAlarmHistory against when they name no alarm; `*` here.
/// PutMetricData's condition key `cloudwatch:namespace` is not offered to policies.
pub(crate) const OPERATIONS: &[(&str, &str, Resource)] = &[
    ("GetMetricData", "cloudwatch:GetMetricData", Resource::Any),
    (
        "GetMetricStatistics",
        "cloudwatch:GetMetricStatistics",
        Resource::Any,
    ),
    ("ListMetrics", "cloudwatch:ListMetrics", Resource::Any),
    ("PutMetricData", "cloudwatch:PutMetricData", Resource::Any),
    (
        "PutMetricAlarm",
        "cloudwatch:PutMetricAlarm",
        Resource::AlarmName,
    ),
    (
        "DescribeAlarms",
        "cloudwatch:DescribeAlarms",
        Resource::AlarmNames,
    ),
    (
        "DescribeAlarmsForMetric",
        "cloudwatch:DescribeAlarmsForMetric",
        Resource::Any,
    ),
    (
        "DescribeAlarmHistory",
        "cloudwatch:DescribeAlarmHistory",
        Resource::AlarmName,
    ),
    (
        "DeleteAlarms",
        "cloudwatch:DeleteAlarms",
        Resource::AlarmNames,
    ),
    (
        "SetAlarmState",
        "cloudwatch:SetAlarmState",
        Resource::AlarmName,
    ),
    (
        "EnableAlarmActions",
        "cloudwatch:EnableAlarmActions",
        Resource::AlarmNames,
    ),
    (
        "DisableAlarmActions",
        "cloudwatch:DisableAlarmActions",
        Resource::AlarmNames,
    ),
    ("TagResource", "cloudwatch:TagResource", Resource::ArnInBody),
    (
        "UntagResource",
        "cloudwatch:UntagResource",
        Resource::ArnInBody,
    ),
    (
        "ListTagsForResource",
        "cloudwatch:ListTagsForResource",
        Resource::ArnInBody,
    ),
];

/// Whether `path` is an RPC v2 CBOR request's (`/service/<Service>/operation/<Op>`).
pub(crate) fn is_cbor_path(path: &str) -> bool {
    path.strip_prefix("/service/")
        .and_then(|rest| rest.split_once("/operation/"))
        .is_some_and(|(service, op)| !service.contains('/') && !op.contains('/'))
}

/// `arn:aws:cloudwatch:<region>:<account>:alarm:<name>`.
pub(crate) fn alarm_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:cloudwatch:{region}:{account}:alarm:{name}")
}

/// The resources an operation on `input` (its JSON form) is authorised on.
pub(crate) fn resources_of(
    resource: Resource,
    input: &Value,
    region: &str,
    account: &str,
) -> Vec<String> {
    let alarm = |name: &str| alarm_arn(region, account, name);
    let any = || vec!["*".to_string()];
    match resource {
        Resource::Any => any(),
        Resource::AlarmName => input
            .get("AlarmName")
            .and_then(Value::as_str)
            .map_or_else(any, |n| vec![alarm(n)]),
        Resource::AlarmNames => {
            let mut arns: Vec<String> = Vec::new();
            for name in input
                .get("AlarmNames")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                let arn = alarm(name);
                if !arns.contains(&arn) {
                    arns.push(arn);
                }
            }
            if arns.is_empty() {
                any()
            } else {
                arns
            }
        }
        Resource::ArnInBody => input
            .get("ResourceARN")
            .and_then(Value::as_str)
            .map_or_else(any, |a| vec![a.to_string()]),
    }
}

/// `bytes`, inflated when the request says they are gzip (`Content-Encoding: gzip`, as
/// botocore sends a large PutMetricData), refused beyond [`BODY_MAX`] inflated.
pub(crate) fn inflate(headers: &HeaderMap, bytes: bytes::Bytes) -> Result<bytes::Bytes, String> {
    let gzip = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().eq_ignore_ascii_case("gzip")));
    if !gzip {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .take(BODY_MAX as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("the gzip body does not inflate: {e}"))?;
    if out.len() > BODY_MAX {
        return Err(format!("the request body is longer than {BODY_MAX} bytes"));
    }
    Ok(out.into())
}

/// An authentication failure of a CBOR request, in CBOR: `__type` the JSON protocols'
/// code (`MissingAuthenticationTokenException`), `x-amzn-query-error` the query
/// protocol's (`MissingAuthenticationToken`).
pub(crate) fn refusal(
    type_: &str,
    code: &str,
    message: &str,
    status: u16,
    request_id: &str,
) -> Response {
    let e = WireError {
        status,
        ..WireError::client(code, message)
    };
    Wire::Cbor.typed_error(type_, &e, request_id)
}

fn request_id_of(id: Option<Extension<RequestId>>) -> String {
    id.map_or_else(|| uuid::Uuid::new_v4().to_string(), |Extension(r)| r.0)
}

/// `POST /service/<Service>/operation/<Op>`: Smithy RPC v2 CBOR.
pub(crate) async fn dispatch_cbor(
    State(s): State<AppState>,
    Extension(access): Extension<Access>,
    request_id: Option<Extension<RequestId>>,
    Path((service, operation)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let request_id = request_id_of(request_id);
    let op = if service == SERVICE {
        operation
    } else {
        String::new()
    };
    let input = read_body(&headers, body, &op).await.and_then(|bytes| {
        let shape = input_shape(&op);
        cbor::decode(&bytes, shape.unwrap_or(&EMPTY))
            .map_err(|m| WireError::client("SerializationException", m))
    });
    let name = if op.is_empty() { service.as_str() } else { &op };
    answer(&s, &access, Wire::Cbor, name, input, &request_id).await
}

/// `POST /` with `X-Amz-Target: GraniteServiceVersion20100801.<Op>`: AWS JSON 1.0.
pub(crate) async fn dispatch_json(
    s: &AppState,
    access: &Access,
    headers: &HeaderMap,
    body: Body,
    request_id: &str,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let op = target.strip_prefix(TARGET_PREFIX).unwrap_or(target);
    let input = read_body(headers, body, op).await.and_then(|bytes| {
        let body: Value = serde_json::from_slice(if bytes.is_empty() { b"{}" } else { &bytes })
            .map_err(|e| WireError::client("SerializationException", e.to_string()))?;
        if body.is_object() {
            Ok(body)
        } else {
            Err(WireError::client(
                "SerializationException",
                "the request body is not a JSON object",
            ))
        }
    });
    answer(s, access, Wire::Json, op, input, request_id).await
}

/// A query-protocol request (`Action=<Op>&Version=2010-08-01&...`).
pub(crate) async fn dispatch_query(
    s: &AppState,
    access: &Access,
    req: &QueryRequest,
    request_id: &str,
) -> Response {
    let op = req.action.as_str();
    let input = match input_shape(op) {
        Some(shape) => form::decode(req.params(), shape)
            .map_err(|m| WireError::client("InvalidParameterValue", m)),
        None => Ok(Value::Object(serde_json::Map::new())),
    };
    answer(s, access, Wire::Query, op, input, request_id).await
}

/// A structure with no members: what an unknown operation's body is read as.
static EMPTY: model::Shape = model::Shape {
    kind: model::Kind::Structure,
    members: std::collections::BTreeMap::new(),
    member: None,
    value: None,
    error: None,
};

fn input_shape(op: &str) -> Option<&'static model::Shape> {
    let m = model::model();
    let input = m.operations.get(op)?.input.as_ref()?;
    Some(m.shape(&input.shape))
}

async fn read_body(headers: &HeaderMap, body: Body, op: &str) -> Result<bytes::Bytes, WireError> {
    let bytes = crate::body::read(body, BODY_MAX, op)
        .await
        .map_err(|e| WireError::client("SerializationException", e.0.message))?;
    inflate(headers, bytes).map_err(|m| WireError::client("SerializationException", m))
}

async fn answer(
    s: &AppState,
    access: &Access,
    wire: Wire,
    op: &str,
    input: Result<Value, WireError>,
    request_id: &str,
) -> Response {
    match run(s, access, wire, op, input).await {
        Ok(output) => wire.output(op, &output, request_id),
        Err(e) => wire.error(&e, request_id),
    }
    .into_response()
}

/// An operation of the table, authorised and run; an operation not in it is unknown
/// before its body is looked at.
async fn run(
    s: &AppState,
    access: &Access,
    wire: Wire,
    op: &str,
    input: Result<Value, WireError>,
) -> Result<Value, WireError> {
    let Some((_, action, resource)) = OPERATIONS.iter().find(|(name, _, _)| *name == op) else {
        return Err(wire.unknown_operation(op));
    };
    let input = input?;
    let account = access.caller.account.as_str();
    let region = s
        .options
        .cloudwatch
        .as_ref()
        .map_or(hearth_model::arn::REGION, |cw| cw.region());
    for arn in resources_of(*resource, &input, region, account) {
        let owner = hearth_model::arn::arn_account(&arn).unwrap_or(account);
        access
            .check_in(s, action, &arn, owner)
            .map_err(|refused| match refused {
                Refused::Denied(m) => WireError::denied(m),
                Refused::Failed(m) => WireError::internal(&m),
            })?;
    }
    let Some(cw) = s.options.cloudwatch.as_ref() else {
        return Err(WireError::not_enabled(op));
    };
    // A read sees every invocation answered before it: what the engine's observer
    // counted since its last flush goes to CloudWatch first.
    let reads = ["Get", "List", "Describe"]
        .iter()
        .any(|p| op.starts_with(p));
    if let (true, Some(flush)) = (reads, s.options.metrics_flush.clone()) {
        let _ = tokio::task::spawn_blocking(move || flush()).await;
    }
    Ok(cw.call(account, op, input).await?)
}

#[cfg(test)]
mod tests;
