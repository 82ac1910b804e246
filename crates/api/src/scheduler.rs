//! EventBridge Scheduler on Hearth's endpoint (REST-JSON, credential scope `scheduler`):
//! the model's `requestUri`s (`/schedules/{Name}`, `/schedule-groups/{Name}`,
//! `/tags/{ResourceArn}` and the two listings), each method one operation of
//! [`OPERATIONS`], authorised as its IAM action (`scheduler:<Operation>`) on the schedule or
//! group it names (`*` for the listings) before the typed service (`hearth-scheduler`) runs
//! it. Answers are `application/json`; errors carry the model's status, the error shape in
//! `x-amzn-errortype` (where botocore reads the code) and `{"Message": "..."}`.
//!
//! Also Hearth's own `GET /schedules/{Name}/fire-times?groupName=&MaxResults=`
//! (GetScheduleFireTimes, IAM action `hearth:GetScheduleFireTimes` on the schedule's ARN):
//! when a schedule fires next, which no AWS operation tells (the console's schedules page
//! shows it). It is on the Scheduler's paths, signed for `scheduler`, rather than under
//! `/_hearth` (the administrator's alone), so that a key granted the action may read it.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use hearth_scheduler::arn::{group_arn, schedule_arn, DEFAULT_GROUP};
use hearth_scheduler::requests::{
    CreateScheduleGroup, ListScheduleGroups, ListSchedules, ScheduleInput, TagResource,
};
use hearth_scheduler::{status_of, Scheduler, SchedulerError};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::authorize::{Access, Refused};
use crate::AppState;

/// A request is at most this long: a schedule with an 8 KiB input, or 200 tags.
const BODY_MAX: usize = 1 << 20;

/// What an operation's IAM resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    /// `*` (the listings).
    Any,
    /// The schedule `{Name}` in the group the body's `GroupName` or the query's
    /// `groupName` names (`default` when absent).
    Schedule,
    /// The schedule group `{Name}`.
    Group,
    /// The ARN in `{ResourceArn}`.
    PathArn,
}

/// Every operation, the IAM action that authorises it and its resource, as "Actions,
/// resources, and condition keys for Amazon EventBridge Scheduler" lists them.
pub(crate) const OPERATIONS: &[(&str, &str, Resource)] = &[
    (
        "CreateSchedule",
        "scheduler:CreateSchedule",
        Resource::Schedule,
    ),
    ("GetSchedule", "scheduler:GetSchedule", Resource::Schedule),
    (
        "UpdateSchedule",
        "scheduler:UpdateSchedule",
        Resource::Schedule,
    ),
    (
        "DeleteSchedule",
        "scheduler:DeleteSchedule",
        Resource::Schedule,
    ),
    ("ListSchedules", "scheduler:ListSchedules", Resource::Any),
    (
        "CreateScheduleGroup",
        "scheduler:CreateScheduleGroup",
        Resource::Group,
    ),
    (
        "GetScheduleGroup",
        "scheduler:GetScheduleGroup",
        Resource::Group,
    ),
    (
        "DeleteScheduleGroup",
        "scheduler:DeleteScheduleGroup",
        Resource::Group,
    ),
    (
        "ListScheduleGroups",
        "scheduler:ListScheduleGroups",
        Resource::Any,
    ),
    ("TagResource", "scheduler:TagResource", Resource::PathArn),
    (
        "UntagResource",
        "scheduler:UntagResource",
        Resource::PathArn,
    ),
    (
        "ListTagsForResource",
        "scheduler:ListTagsForResource",
        Resource::PathArn,
    ),
    // Hearth's own: the schedule's next fire times (`groupName`, `MaxResults` in the query).
    (
        "GetScheduleFireTimes",
        "hearth:GetScheduleFireTimes",
        Resource::Schedule,
    ),
];

/// The routes; `action.rs` declares each (method, path) as its operation, dispatched
/// here, which checks it.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/schedules", get(listing))
        .route(
            "/schedules/{Name}",
            get(schedule).post(schedule).put(schedule).delete(schedule),
        )
        .route("/schedule-groups", get(listing))
        .route(
            "/schedule-groups/{Name}",
            get(group).post(group).delete(group),
        )
        .route("/tags/{ResourceArn}", get(tags).post(tags).delete(tags))
        .route("/schedules/{Name}/fire-times", get(fire_times))
}

/// An error in the REST-JSON encoding.
#[derive(Debug)]
struct WireError {
    status: StatusCode,
    code: String,
    message: String,
}

fn client(code: &str, message: impl Into<String>) -> WireError {
    // The wire's own refusals (a body that does not parse, a service not enabled) are
    // the client's: 400, as AWS's frameworks answer them.
    let status = match code {
        "SerializationException" | "UnknownOperationException" => 400,
        _ => status_of(code),
    };
    WireError {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        code: code.to_string(),
        message: message.into(),
    }
}

impl IntoResponse for WireError {
    fn into_response(self) -> Response {
        let body = json!({"Message": self.message}).to_string();
        let mut resp = (self.status, body).into_response();
        let h = resp.headers_mut();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        if let Ok(v) = HeaderValue::from_str(&self.code) {
            h.insert("x-amzn-errortype", v);
        }
        resp
    }
}

impl From<SchedulerError> for WireError {
    fn from(e: SchedulerError) -> Self {
        match e {
            SchedulerError::Client { code, message } => client(code, message),
            other => {
                tracing::error!(error = %other, "EventBridge Scheduler failed");
                WireError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "InternalServerException".into(),
                    message: "Internal error".into(),
                }
            }
        }
    }
}

/// A body read into a request shape (`crate::shape`).
fn parse<T: DeserializeOwned>(body: &Value) -> Result<T, WireError> {
    crate::shape::read(body).map_err(|(code, message)| client(code, message))
}

/// The query string's parameters, repeated ones (`TagKeys`) in order.
struct Query(Vec<(String, String)>);

impl Query {
    fn of(uri: &Uri) -> Query {
        Query(
            form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// An integer parameter (`MaxResults`).
    fn int(&self, key: &str, at: &str) -> Result<Option<i64>, WireError> {
        self.get(key)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    client(
                        "ValidationException",
                        format!("1 validation error detected: Value '{v}' at '{at}' failed to satisfy constraint: Member must be an integer"),
                    )
                })
            })
            .transpose()
    }
}

/// One request, as its route and method name it.
struct Call<'a> {
    op: &'static str,
    /// `{Name}` or `{ResourceArn}`, decoded.
    param: &'a str,
    query: Query,
    body: Value,
}

async fn listing(
    State(s): State<AppState>,
    Extension(access): Extension<Access>,
    uri: Uri,
) -> Response {
    let op = if uri.path().starts_with("/schedule-groups") {
        "ListScheduleGroups"
    } else {
        "ListSchedules"
    };
    serve(&s, &access, op, "", &uri, Body::empty()).await
}

async fn schedule(
    State(s): State<AppState>,
    Extension(access): Extension<Access>,
    method: Method,
    Path(name): Path<String>,
    uri: Uri,
    body: Body,
) -> Response {
    let op = match method {
        Method::POST => "CreateSchedule",
        Method::PUT => "UpdateSchedule",
        Method::DELETE => "DeleteSchedule",
        _ => "GetSchedule",
    };
    serve(&s, &access, op, &name, &uri, body).await
}

async fn group(
    State(s): State<AppState>,
    Extension(access): Extension<Access>,
    method: Method,
    Path(name): Path<String>,
    uri: Uri,
    body: Body,
) -> Response {
    let op = match method {
        Method::POST => "CreateScheduleGroup",
        Method::DELETE => "DeleteScheduleGroup",
        _ => "GetScheduleGroup",
    };
    serve(&s, &access, op, &name, &uri, body).await
}

async fn tags(
    State(s): State<AppState>,
    Extension(access): Extension<Access>,
    method: Method,
    Path(arn): Path<String>,
    uri: Uri,
    body: Body,
) -> Response {
    let op = match method {
        Method::POST => "TagResource",
        Method::DELETE => "UntagResource",
        _ => "ListTagsForResource",
    };
    serve(&s, &access, op, &arn, &uri, body).await
}

async fn fire_times(
    State(s): State<AppState>,
    Extension(access): Extension<Access>,
    Path(name): Path<String>,
    uri: Uri,
) -> Response {
    serve(
        &s,
        &access,
        "GetScheduleFireTimes",
        &name,
        &uri,
        Body::empty(),
    )
    .await
}

async fn serve(
    s: &AppState,
    access: &Access,
    op: &'static str,
    param: &str,
    uri: &Uri,
    body: Body,
) -> Response {
    match handle(s, access, op, param, uri, body).await {
        Ok(v) => (
            StatusCode::OK,
            [("content-type", "application/json")],
            v.to_string(),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn handle(
    s: &AppState,
    access: &Access,
    op: &'static str,
    param: &str,
    uri: &Uri,
    body: Body,
) -> Result<Value, WireError> {
    let found = OPERATIONS.iter().find(|(name, _, _)| *name == op);
    let (Some(scheduler), Some((_, action, resource))) = (s.options.scheduler.as_ref(), found)
    else {
        return Err(client(
            "UnknownOperationException",
            format!("EventBridge Scheduler's {op} is not enabled on this server"),
        ));
    };
    let bytes = crate::body::read(body, BODY_MAX, op)
        .await
        .map_err(|e| client("SerializationException", e.0.message))?;
    let body: Value = serde_json::from_slice(if bytes.is_empty() { b"{}" } else { &bytes })
        .map_err(|e| client("SerializationException", e.to_string()))?;
    if !body.is_object() {
        return Err(client(
            "SerializationException",
            "the request body is not a JSON object",
        ));
    }
    let call = Call {
        op,
        param,
        query: Query::of(uri),
        body,
    };
    let account = access.caller.account.as_str();
    let arn = resource_of(*resource, &call, account);
    let owner = hearth_model::arn::arn_account(&arn).unwrap_or(account);
    access
        .check_in(s, action, &arn, owner)
        .map_err(|refused| match refused {
            Refused::Denied(m) => WireError {
                status: StatusCode::FORBIDDEN,
                code: "AccessDeniedException".into(),
                message: m,
            },
            Refused::Failed(m) => WireError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "InternalServerException".into(),
                message: m,
            },
        })?;
    run(scheduler, account, &call)
}

/// The resource an operation is authorised on.
fn resource_of(resource: Resource, call: &Call<'_>, account: &str) -> String {
    match resource {
        Resource::Any => "*".to_string(),
        Resource::Group => group_arn(account, call.param),
        Resource::PathArn => call.param.to_string(),
        Resource::Schedule => {
            let group = call
                .body
                .get("GroupName")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| call.query.get("groupName"))
                .unwrap_or_else(|| DEFAULT_GROUP.to_string());
            schedule_arn(account, &group, call.param)
        }
    }
}

fn run(scheduler: &Scheduler, account: &str, call: &Call<'_>) -> Result<Value, WireError> {
    let empty = || Ok(json!({}));
    let q = &call.query;
    let name = call.param;
    match call.op {
        "CreateSchedule" => {
            Ok(scheduler.create_schedule(account, name, parse::<ScheduleInput>(&call.body)?)?)
        }
        "UpdateSchedule" => {
            Ok(scheduler.update_schedule(account, name, parse::<ScheduleInput>(&call.body)?)?)
        }
        "GetSchedule" => {
            Ok(scheduler.get_schedule(account, name, q.get("groupName").as_deref())?)
        }
        "DeleteSchedule" => {
            scheduler.delete_schedule(
                account,
                name,
                q.get("groupName").as_deref(),
                q.get("clientToken").as_deref(),
            )?;
            empty()
        }
        "ListSchedules" => Ok(scheduler.list_schedules(
            account,
            &ListSchedules {
                group_name: q.get("ScheduleGroup"),
                name_prefix: q.get("NamePrefix"),
                state: q.get("State"),
                max_results: q.int("MaxResults", "maxResults")?,
                next_token: q.get("NextToken"),
            },
        )?),
        "CreateScheduleGroup" => Ok(scheduler.create_schedule_group(
            account,
            name,
            parse::<CreateScheduleGroup>(&call.body)?,
        )?),
        "GetScheduleGroup" => Ok(scheduler.get_schedule_group(account, name)?),
        "DeleteScheduleGroup" => {
            scheduler.delete_schedule_group(account, name, q.get("clientToken").as_deref())?;
            empty()
        }
        "ListScheduleGroups" => Ok(scheduler.list_schedule_groups(
            account,
            &ListScheduleGroups {
                name_prefix: q.get("NamePrefix"),
                max_results: q.int("MaxResults", "maxResults")?,
                next_token: q.get("NextToken"),
            },
        )?),
        "TagResource" => {
            let r: TagResource = parse(&call.body)?;
            let tags = r.tags.ok_or_else(|| {
                client(
                    "ValidationException",
                    "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null",
                )
            })?;
            scheduler.tag_resource(account, name, &tags)?;
            empty()
        }
        "UntagResource" => {
            scheduler.untag_resource(account, name, &q.all("TagKeys"))?;
            empty()
        }
        "ListTagsForResource" => Ok(scheduler.list_tags_for_resource(account, name)?),
        "GetScheduleFireTimes" => Ok(scheduler.schedule_fire_times(
            account,
            name,
            q.get("groupName").as_deref(),
            q.int("MaxResults", "maxResults")?,
        )?),
        other => Err(client(
            "UnknownOperationException",
            format!("Hearth does not implement EventBridge Scheduler's {other}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(param: &'static str, query: &str, body: Value) -> Call<'static> {
        Call {
            op: "GetSchedule",
            param,
            query: Query::of(&format!("/x?{query}").parse().expect("uri")),
            body,
        }
    }

    #[test]
    fn operations_are_authorised_on_their_schedule_or_group() {
        let acct = "123456789012";
        assert_eq!(
            resource_of(
                Resource::Schedule,
                &call("s", "groupName=ops", json!({})),
                acct
            ),
            "arn:aws:scheduler:us-east-1:123456789012:schedule/ops/s"
        );
        assert_eq!(
            resource_of(
                Resource::Schedule,
                &call("s", "", json!({"GroupName": "g"})),
                acct
            ),
            "arn:aws:scheduler:us-east-1:123456789012:schedule/g/s"
        );
        assert_eq!(
            resource_of(Resource::Schedule, &call("s", "", json!({})), acct),
            "arn:aws:scheduler:us-east-1:123456789012:schedule/default/s"
        );
        assert_eq!(
            resource_of(Resource::Group, &call("g", "", json!({})), acct),
            "arn:aws:scheduler:us-east-1:123456789012:schedule-group/g"
        );
        assert_eq!(
            resource_of(Resource::Any, &call("", "", json!({})), acct),
            "*"
        );
        for (op, action, _) in OPERATIONS {
            // AWS's operations are their own actions; Hearth's own is a `hearth:` one.
            let service = if *op == "GetScheduleFireTimes" {
                "hearth"
            } else {
                "scheduler"
            };
            assert_eq!(*action, format!("{service}:{op}"));
        }
    }

    #[test]
    fn the_declarations_are_the_table() {
        for route in crate::action::ROUTES {
            if route.op.action.starts_with("scheduler:")
                || route.op.action == "hearth:GetScheduleFireTimes"
            {
                assert!(
                    OPERATIONS
                        .iter()
                        .any(|(op, action, _)| *op == route.op.name && *action == route.op.action),
                    "{route:?}"
                );
            }
        }
        for (op, _, _) in OPERATIONS {
            assert!(
                crate::action::ROUTES.iter().any(|r| r.op.name == *op),
                "{op} is not routed"
            );
        }
    }

    #[test]
    fn repeated_query_parameters_are_all_kept() {
        let q = Query::of(&"/tags/x?TagKeys=a&TagKeys=b%20c".parse().expect("uri"));
        assert_eq!(q.all("TagKeys"), ["a", "b c"]);
        let e = Query::of(&"/schedules?MaxResults=x".parse().expect("uri"))
            .int("MaxResults", "maxResults")
            .expect_err("not a number");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.code, "ValidationException");
    }
}
