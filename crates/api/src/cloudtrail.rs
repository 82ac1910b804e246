//! CloudTrail's `LookupEvents` (AWS JSON 1.1, `X-Amz-Target:
//! com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents` on `POST /`) over
//! Hearth's audit trail: events newest first, one lookup attribute, a time range, pages
//! of up to 50. Shapes and errors from botocore's `cloudtrail/2013-11-01` model.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hearth_model::audit::{AuditAttribute, AuditEvent, AuditQuery};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::authorize::{Access, Refused};
use crate::AppState;

pub(crate) const TARGET_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
const BODY_MAX: usize = 64 * 1024;
/// `MaxResults`' bounds and default.
const MAX_RESULTS: i64 = 50;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupEvents {
    #[serde(default)]
    lookup_attributes: Option<Vec<LookupAttribute>>,
    start_time: Option<f64>,
    end_time: Option<f64>,
    event_category: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupAttribute {
    attribute_key: String,
    attribute_value: String,
}

/// An error in the JSON 1.1 encoding.
struct TrailError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

fn client(code: &'static str, message: impl Into<String>) -> TrailError {
    TrailError {
        status: StatusCode::BAD_REQUEST,
        code,
        message: message.into(),
    }
}

impl IntoResponse for TrailError {
    fn into_response(self) -> Response {
        let body = json!({"__type": self.code, "Message": self.message}).to_string();
        let mut resp = (self.status, body).into_response();
        let h = resp.headers_mut();
        h.insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
        h.insert("x-amzn-errortype", HeaderValue::from_static(self.code));
        resp
    }
}

pub(crate) async fn dispatch(
    s: &AppState,
    access: &Access,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    crate::cloudwatch_logs::json_answer(handle(s, access, headers, body).await)
}

async fn handle(
    s: &AppState,
    access: &Access,
    headers: &HeaderMap,
    body: Body,
) -> Result<Value, TrailError> {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let operation = target.strip_prefix(TARGET_PREFIX).unwrap_or(target);
    if operation != "LookupEvents" {
        return Err(client(
            "UnknownOperationException",
            format!("Hearth does not implement CloudTrail's {operation}"),
        ));
    }
    // LookupEvents reads the account's whole trail: its resource is `*`.
    access
        .check_in(s, "cloudtrail:LookupEvents", "*", &access.caller.account)
        .map_err(|refused| match refused {
            Refused::Denied(m) => TrailError {
                status: StatusCode::BAD_REQUEST,
                code: "AccessDeniedException",
                message: m,
            },
            Refused::Failed(m) => TrailError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "CloudTrailException",
                message: m,
            },
        })?;
    let bytes = crate::body::read(body, BODY_MAX, operation)
        .await
        .map_err(|e| client("SerializationException", e.0.message))?;
    let req: LookupEvents = serde_json::from_slice(if bytes.is_empty() { b"{}" } else { &bytes })
        .map_err(|e| client("SerializationException", e.to_string()))?;
    let query = AuditQuery {
        // The caller's account's trail only: its principals' calls, and others' calls on
        // its resources.
        account: Some(access.caller.account.clone()),
        ..query_of(&req)?
    };
    if req.event_category.is_some() {
        // Only management events are recorded: no Insights events.
        return Ok(json!({"Events": []}));
    }
    let page = s.engine.lookup_audit(query).await.map_err(|e| TrailError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        code: "ServiceUnavailableException",
        message: crate::error::ApiError::from(e).0.message,
    })?;
    let events: Vec<Value> = page
        .events
        .iter()
        .map(|e| event(e, &access.caller.account))
        .collect();
    let mut out = json!({ "Events": events });
    if let Some(next) = page.next {
        out["NextToken"] = json!(next.to_string());
    }
    Ok(out)
}

fn query_of(req: &LookupEvents) -> Result<AuditQuery, TrailError> {
    let attrs = req.lookup_attributes.as_deref().unwrap_or_default();
    if attrs.len() > 1 {
        return Err(client(
            "InvalidLookupAttributesException",
            "You can specify only one lookup attribute.",
        ));
    }
    let attribute = attrs
        .first()
        .map(|a| {
            let key = AuditAttribute::parse(&a.attribute_key).ok_or_else(|| {
                client(
                    "InvalidLookupAttributesException",
                    format!("Invalid attribute key: {}", a.attribute_key),
                )
            })?;
            Ok::<_, TrailError>((key, a.attribute_value.clone()))
        })
        .transpose()?;
    if let Some(c) = &req.event_category {
        if c != "insight" {
            return Err(client(
                "InvalidEventCategoryException",
                format!("Invalid event category: {c}"),
            ));
        }
    }
    let ms = |t: Option<f64>| t.map(|s| (s * 1000.0).round() as i64);
    let (start_ms, end_ms) = (ms(req.start_time), ms(req.end_time));
    if let (Some(s), Some(e)) = (start_ms, end_ms) {
        if s > e {
            return Err(client(
                "InvalidTimeRangeException",
                "Start time must be before end time.",
            ));
        }
    }
    let limit = match req.max_results {
        None => MAX_RESULTS,
        Some(n) if (1..=MAX_RESULTS).contains(&n) => n,
        Some(n) => {
            return Err(client(
                "InvalidMaxResultsException",
                format!("MaxResults {n} is not between 1 and {MAX_RESULTS}."),
            ))
        }
    };
    let before = req
        .next_token
        .as_deref()
        .map(|t| {
            t.parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| client("InvalidNextTokenException", "Invalid NextToken."))
        })
        .transpose()?;
    Ok(AuditQuery {
        start_ms,
        end_ms,
        attribute,
        principal: None,
        action: None,
        account: None,
        before,
        limit: limit as usize,
    })
}

/// Unix seconds (JSON 1.1's timestamps).
fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// ISO 8601 UTC, as CloudTrail's records write `eventTime`.
fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// One `Event` of the answer, as delivered to `recipient`'s trail.
fn event(e: &AuditEvent, recipient: &str) -> Value {
    let resources: Vec<Value> = e
        .resource_arn
        .iter()
        .map(|arn| json!({"ResourceType": e.resource_type, "ResourceName": arn}))
        .collect();
    let mut out = json!({
        "EventId": e.event_id,
        "EventName": e.event_name,
        "ReadOnly": "false",
        "EventTime": seconds(e.time_ms),
        "EventSource": e.event_source,
        "Username": e.user_name,
        "Resources": resources,
        "CloudTrailEvent": record(e, recipient).to_string(),
    });
    if let Some(k) = &e.access_key_id {
        out["AccessKeyId"] = json!(k);
    }
    out
}

/// The CloudTrail record (`CloudTrailEvent`, a JSON string in the answer) in
/// `recipient`'s trail: the caller's, or the resource owner's for a cross-account call.
fn record(e: &AuditEvent, recipient: &str) -> Value {
    let mut identity = json!({
        "type": e.principal_type,
        "principalId": e.principal_id,
        "arn": e.principal_arn,
        "accountId": e.account,
    });
    if let Some(k) = &e.access_key_id {
        identity["accessKeyId"] = json!(k);
    }
    if e.principal_type == "IAMUser" {
        identity["userName"] = json!(e.user_name);
    }
    let mut out = json!({
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": iso(e.time_ms),
        "eventSource": e.event_source,
        "eventName": e.event_name,
        "awsRegion": e.region,
        "sourceIPAddress": e.source_ip,
        "userAgent": e.user_agent,
        "requestParameters": e.request_parameters,
        "responseElements": null,
        "requestID": e.request_id,
        "eventID": e.event_id,
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": recipient,
        "eventCategory": "Management",
    });
    if let Some(arn) = &e.resource_arn {
        // The resource's own account (another's, for a cross-account call).
        let owner = hearth_model::arn::arn_account(arn).unwrap_or(&e.account);
        out["resources"] = json!([{"ARN": arn, "accountId": owner, "type": e.resource_type}]);
    }
    if let Some(code) = &e.error_code {
        out["errorCode"] = json!(code);
    }
    out
}
