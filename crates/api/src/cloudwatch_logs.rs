//! The part of the CloudWatch Logs API (AWS JSON 1.1, `X-Amz-Target: Logs_20140328.*` on
//! `POST /`) over functions' log groups `/aws/lambda/<fn>`: the dispatch, the errors,
//! PutRetentionPolicy, DeleteRetentionPolicy and DeleteLogGroup; the reading operations
//! are in `logs_read.rs`. Shapes and errors from botocore's
//! `logs/2014-03-28` model.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hearth_engine::{EngineError, RETENTION_DAYS};
use hearth_model::arn::function_key;
use hearth_model::{AwsError, ErrorCode};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::authorize::{Access, Refused};
use crate::{logs_read, AppState};

/// Every Logs operation Hearth serves and its IAM action; each acts on the log group its
/// request names (`arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*`), DescribeLogGroups on
/// every group of the account (`log-group:*`). An operation not listed here is answered
/// `UnknownOperationException` before anything runs.
pub(crate) const OPERATIONS: &[(&str, &str)] = &[
    ("PutRetentionPolicy", "logs:PutRetentionPolicy"),
    ("DeleteRetentionPolicy", "logs:DeleteRetentionPolicy"),
    ("DeleteLogGroup", "logs:DeleteLogGroup"),
    ("DescribeLogGroups", "logs:DescribeLogGroups"),
    ("DescribeLogStreams", "logs:DescribeLogStreams"),
    ("GetLogEvents", "logs:GetLogEvents"),
    ("FilterLogEvents", "logs:FilterLogEvents"),
];

/// The log group ARN a Logs request acts on, read from its body without its whole shape.
fn log_group_arn(operation: &str, account: &str, bytes: &[u8]) -> String {
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Group {
        log_group_name: Option<String>,
        log_group_identifier: Option<String>,
    }
    let all = format!(
        "arn:aws:logs:{}:{account}:log-group:*",
        hearth_model::arn::REGION
    );
    if operation == "DescribeLogGroups" {
        return all;
    }
    let g: Group = serde_json::from_slice(bytes).unwrap_or_default();
    match (g.log_group_name, g.log_group_identifier) {
        (Some(name), _) => format!(
            "arn:aws:logs:{}:{account}:log-group:{name}:*",
            hearth_model::arn::REGION
        ),
        (None, Some(id)) if id.starts_with("arn:") => {
            let id = id.strip_suffix(":*").unwrap_or(&id);
            format!("{id}:*")
        }
        (None, Some(name)) => format!(
            "arn:aws:logs:{}:{account}:log-group:{name}:*",
            hearth_model::arn::REGION
        ),
        // No group named: the request fails its validation if allowed to get there; the
        // check is on every group.
        (None, None) => all,
    }
}

impl From<Refused> for LogsError {
    fn from(r: Refused) -> Self {
        match r {
            Refused::Denied(m) => Self::client("AccessDeniedException", m),
            Refused::Failed(m) => Self {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "ServiceUnavailableException",
                message: m,
            },
        }
    }
}

const TARGET_PREFIX: &str = "Logs_20140328.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// Requests of these operations are a few hundred bytes.
const BODY_MAX: usize = 64 * 1024;
/// The prefix of a Lambda function's log group.
pub(crate) const GROUP_PREFIX: &str = "/aws/lambda/";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutRetentionPolicy {
    log_group_name: String,
    retention_in_days: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupOnly {
    log_group_name: String,
}

/// An error in the JSON 1.1 encoding: `{"__type": code, "message": ...}`.
pub(crate) struct LogsError {
    status: StatusCode,
    pub(crate) code: &'static str,
    message: String,
}

impl LogsError {
    pub(crate) fn client(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }
}

impl From<AwsError> for LogsError {
    fn from(e: AwsError) -> Self {
        match e.code {
            ErrorCode::ResourceNotFound => Self::client("ResourceNotFoundException", e.message),
            ErrorCode::InvalidParameterValue => {
                Self::client("InvalidParameterException", e.message)
            }
            ErrorCode::Validation => Self::client("ValidationException", e.message),
            _ => Self {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "ServiceUnavailableException",
                message: e.message,
            },
        }
    }
}

/// The engine's errors in Lambda's terms (`crate::error`), then in this API's.
impl From<EngineError> for LogsError {
    fn from(e: EngineError) -> Self {
        Self::from(crate::error::ApiError::from(e).0)
    }
}

impl IntoResponse for LogsError {
    fn into_response(self) -> Response {
        let body = json!({"__type": self.code, "message": self.message}).to_string();
        let mut resp = (self.status, body).into_response();
        let h = resp.headers_mut();
        h.insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
        h.insert("x-amzn-errortype", HeaderValue::from_static(self.code));
        resp
    }
}

/// The function a log group name belongs to.
pub(crate) fn function_of(group: &str) -> Result<&str, LogsError> {
    let valid = (1..=512).contains(&group.len())
        && group
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/#".contains(&b));
    if !valid {
        return Err(LogsError::client(
            "InvalidParameterException",
            format!("1 validation error detected: Value '{group}' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"),
        ));
    }
    group
        .strip_prefix(GROUP_PREFIX)
        .filter(|name| hearth_model::validate::function_name(name).is_ok())
        .ok_or_else(|| {
            LogsError::from(AwsError::not_found(
                "The specified log group does not exist.",
            ))
        })
}

/// `retentionInDays`: one of the values CloudWatch accepts.
fn retention_days(days: i64) -> Result<u32, LogsError> {
    u32::try_from(days)
        .ok()
        .filter(|d| RETENTION_DAYS.contains(d))
        .ok_or_else(|| {
            LogsError::from(AwsError::invalid(format!(
                "1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: {RETENTION_DAYS:?}"
            )))
        })
}

fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, LogsError> {
    serde_json::from_slice(bytes)
        .map_err(|e| LogsError::client("SerializationException", e.to_string()))
}

/// `POST /` with `X-Amz-Target: Logs_20140328.<Operation>`.
pub(crate) async fn dispatch(
    State(s): State<AppState>,
    access: Access,
    headers: HeaderMap,
    body: Body,
) -> Response {
    json_answer(handle(&s, &access, &headers, body).await)
}

/// An AWS JSON 1.1 answer (Logs', CloudTrail's): the value with its content type, or the
/// error's own response.
pub(crate) fn json_answer(result: Result<Value, impl IntoResponse>) -> Response {
    match result {
        Ok(answer) => {
            let mut resp = (StatusCode::OK, answer.to_string()).into_response();
            resp.headers_mut()
                .insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
            resp
        }
        Err(e) => e.into_response(),
    }
}

async fn handle(
    s: &AppState,
    access: &Access,
    headers: &HeaderMap,
    body: Body,
) -> Result<Value, LogsError> {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let operation = target.strip_prefix(TARGET_PREFIX).unwrap_or(target);
    let bytes = crate::body::read(body, BODY_MAX, operation)
        .await
        .map_err(|e| LogsError::from(e.0))?;
    let declared = OPERATIONS
        .iter()
        .find(|(name, _)| target.starts_with(TARGET_PREFIX) && *name == operation);
    let Some((_, action)) = declared else {
        return Err(unknown(target));
    };
    let resource = log_group_arn(operation, &access.caller.account, &bytes);
    access.check(s, action, &resource, None)?;
    // Log groups are the caller's account's functions' (no cross-account reads).
    let account = access.caller.account.as_str();
    match (target.starts_with(TARGET_PREFIX), operation) {
        (true, "PutRetentionPolicy") => {
            let req: PutRetentionPolicy = parse(&bytes)?;
            let f = function_key(account, function_of(&req.log_group_name)?);
            let days = retention_days(req.retention_in_days)?;
            s.engine.put_log_retention(&f, days).await?;
            Ok(json!({}))
        }
        (true, "DeleteRetentionPolicy") => {
            let req: GroupOnly = parse(&bytes)?;
            s.engine
                .delete_log_retention(&function_key(account, function_of(&req.log_group_name)?))
                .await?;
            Ok(json!({}))
        }
        (true, "DeleteLogGroup") => {
            let req: GroupOnly = parse(&bytes)?;
            s.engine
                .delete_log_group(&function_key(account, function_of(&req.log_group_name)?))
                .await?;
            Ok(json!({}))
        }
        (true, "DescribeLogGroups") => {
            logs_read::describe_log_groups(s, account, parse(&bytes)?).await
        }
        (true, "DescribeLogStreams") => {
            logs_read::describe_log_streams(s, account, parse(&bytes)?).await
        }
        (true, "GetLogEvents") => logs_read::get_log_events(s, account, parse(&bytes)?).await,
        (true, "FilterLogEvents") => logs_read::filter_log_events(s, account, parse(&bytes)?).await,
        _ => Err(unknown(target)),
    }
}

fn unknown(target: &str) -> LogsError {
    LogsError::client(
        "UnknownOperationException",
        format!("Hearth does not implement the operation {target:?}"),
    )
}
