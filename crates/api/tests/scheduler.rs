//! EventBridge Scheduler's REST-JSON wire in-process: routes and methods, query
//! parameters, whole answers, and errors with the model's status, `x-amzn-errortype` and
//! `{"Message"}`. Behaviour with boto3 and the AWS CLI is `tests/e2e/test_scheduler.py`.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::app_with;
use hearth_api::ApiOptions;
use hearth_serve::BoxApp;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const SCHEDULER: &str = "arn:aws:scheduler:us-east-1:000000000000";

/// The status, `x-amzn-errortype` and JSON answer of `method uri` with `body`.
async fn call(
    app: &BoxApp,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, String, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let error_type = resp
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        error_type,
        serde_json::from_slice(&bytes).expect("json"),
    )
}

fn with_scheduler() -> (BoxApp, tempfile::TempDir, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = hearth_store::Store::open(dir.path()).expect("store");
    let (app, _store, app_dir) = app_with(ApiOptions {
        scheduler: Some(hearth_scheduler::Scheduler::new(store)),
        ..Default::default()
    });
    (app, dir, app_dir)
}

fn schedule(expression: &str) -> Value {
    json!({"ScheduleExpression": expression, "FlexibleTimeWindow": {"Mode": "OFF"},
           "Target": {"Arn": "arn:aws:sqs:us-east-1:000000000000:q",
                      "RoleArn": "arn:aws:iam::000000000000:role/r"}})
}

#[tokio::test]
async fn schedules_are_served_at_the_models_paths() {
    let (app, _dir, _app_dir) = with_scheduler();
    let (status, _, made) = call(
        &app,
        "POST",
        "/schedule-groups/ops",
        Some(json!({"ClientToken": "t"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        made,
        json!({"ScheduleGroupArn": format!("{SCHEDULER}:schedule-group/ops")})
    );
    let mut body = schedule("rate(1 hour)");
    body["GroupName"] = json!("ops");
    let (status, _, made) = call(&app, "POST", "/schedules/s1", Some(body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        made,
        json!({"ScheduleArn": format!("{SCHEDULER}:schedule/ops/s1")})
    );
    let (_, _, got) = call(&app, "GET", "/schedules/s1?groupName=ops", None).await;
    assert_eq!(got["Arn"], json!(format!("{SCHEDULER}:schedule/ops/s1")));
    assert_eq!(got["ScheduleExpression"], json!("rate(1 hour)"));
    let mut update = schedule("rate(2 hours)");
    update["GroupName"] = json!("ops");
    let (status, _, _) = call(&app, "PUT", "/schedules/s1", Some(update)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, listed) = call(
        &app,
        "GET",
        "/schedules?ScheduleGroup=ops&State=ENABLED&MaxResults=5",
        None,
    )
    .await;
    assert_eq!(listed["Schedules"][0]["Name"], json!("s1"));
    assert_eq!(listed.get("NextToken"), None);
    let (_, _, groups) = call(&app, "GET", "/schedule-groups?NamePrefix=o", None).await;
    assert_eq!(groups["ScheduleGroups"].as_array().map(Vec::len), Some(1));
    let tags = format!(
        "/tags/{}",
        "arn%3Aaws%3Ascheduler%3Aus-east-1%3A000000000000%3Aschedule-group%2Fops"
    );
    let (status, _, _) = call(
        &app,
        "POST",
        &tags,
        Some(json!({"Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = call(&app, "DELETE", &format!("{tags}?TagKeys=b"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, listed) = call(&app, "GET", &tags, None).await;
    assert_eq!(listed, json!({"Tags": [{"Key": "a", "Value": "1"}]}));
    let (status, _, deleted) = call(
        &app,
        "DELETE",
        "/schedules/s1?groupName=ops&clientToken=d",
        None,
    )
    .await;
    assert_eq!((status, deleted), (StatusCode::OK, json!({})));
}

#[tokio::test]
async fn errors_carry_the_models_status_and_type() {
    let (app, _dir, _app_dir) = with_scheduler();
    let (status, kind, answer) = call(&app, "GET", "/schedules/nope", None).await;
    assert_eq!(
        (status, kind.as_str(), answer),
        (
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            json!({"Message": "Schedule nope does not exist."})
        )
    );
    let (status, kind, answer) = call(
        &app,
        "POST",
        "/schedules/bad",
        Some(schedule("rate(1 minute")),
    )
    .await;
    assert_eq!(
        (status, kind.as_str(), answer),
        (
            StatusCode::BAD_REQUEST,
            "ValidationException",
            json!({"Message": "Invalid Schedule Expression rate(1 minute."})
        )
    );
    call(&app, "POST", "/schedules/s", Some(schedule("rate(1 hour)"))).await;
    let (status, kind, answer) =
        call(&app, "POST", "/schedules/s", Some(schedule("rate(1 hour)"))).await;
    assert_eq!(
        (status, kind.as_str(), answer),
        (
            StatusCode::CONFLICT,
            "ConflictException",
            json!({"Message": "Schedule s already exists."})
        )
    );
    let (status, kind, _) = call(
        &app,
        "POST",
        "/schedule-groups/g",
        Some(json!({"Tags": [{"Key": "k"}]})),
    )
    .await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::BAD_REQUEST, "ValidationException")
    );
    let (status, kind, _) = call(&app, "GET", "/schedules?MaxResults=0", None).await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::BAD_REQUEST, "ValidationException")
    );
}

#[tokio::test]
async fn without_the_service_its_operations_are_not_enabled() {
    let (app, _store, _dir) = app_with(ApiOptions::default());
    let (status, kind, answer) = call(&app, "GET", "/schedule-groups", None).await;
    assert_eq!(
        (status, kind.as_str(), answer),
        (
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            json!({"Message": "EventBridge Scheduler's ListScheduleGroups is not enabled on this server"})
        )
    );
}
