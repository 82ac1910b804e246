//! EventBridge's AWS JSON 1.1 wire in-process: the content type, whole answers and error
//! bodies, and operations Hearth does not serve (PutEvents until events are delivered)
//! answered as unknown. Behaviour with boto3 and the AWS CLI is `tests/e2e/test_eventbridge.py`.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::app_with;
use hearth_api::ApiOptions;
use hearth_serve::BoxApp;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

/// POSTs `body` as `AWSEvents.<op>`: the status, the content type and the JSON answer.
async fn call(app: &BoxApp, op: &str, body: Value) -> (StatusCode, String, Value) {
    let req = Request::builder()
        .method("POST")
        .uri("/")
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("AWSEvents.{op}"))
        .body(Body::from(body.to_string()))
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let answer = serde_json::from_slice(&bytes).expect("json");
    (status, content_type, answer)
}

fn with_events() -> (BoxApp, tempfile::TempDir, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = hearth_store::Store::open(dir.path()).expect("store");
    let (app, _store, app_dir) = app_with(ApiOptions {
        events: Some(hearth_eventbridge::EventBridge::new(store)),
        ..Default::default()
    });
    (app, dir, app_dir)
}

#[tokio::test]
async fn rules_are_answered_in_json_1_1() {
    let (app, _dir, _app_dir) = with_events();
    let pattern = r#"{"source":["orders"]}"#;
    let (status, content_type, answer) = call(
        &app,
        "PutRule",
        json!({"Name": "r", "EventPattern": pattern}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/x-amz-json-1.1");
    assert_eq!(
        answer,
        json!({"RuleArn": "arn:aws:events:us-east-1:000000000000:rule/r"})
    );
    let (_, _, described) = call(&app, "DescribeRule", json!({"Name": "r"})).await;
    assert_eq!(
        described,
        json!({"Name": "r", "Arn": "arn:aws:events:us-east-1:000000000000:rule/r",
               "EventPattern": pattern, "State": "ENABLED", "EventBusName": "default",
               "CreatedBy": "000000000000"})
    );
    let (status, content_type, refused) =
        call(&app, "DescribeRule", json!({"Name": "missing"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(content_type, "application/x-amz-json-1.1");
    assert_eq!(
        refused,
        json!({"__type": "ResourceNotFoundException",
               "message": "Rule missing does not exist on EventBus default."})
    );
}

#[tokio::test]
async fn put_events_answers_each_entry_and_unknown_operations_are_refused() {
    let (app, _dir, _app_dir) = with_events();
    let (status, _, answer) = call(
        &app,
        "PutEvents",
        json!({"Entries": [{"Source": "shop", "DetailType": "t", "Detail": "{}"},
                           {"Source": "shop", "DetailType": "t", "Detail": "[]"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["FailedEntryCount"], json!(1));
    assert!(answer["Entries"][0]["EventId"].is_string());
    assert_eq!(
        answer["Entries"][1],
        json!({"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."})
    );
    let (status, _, refused) = call(&app, "PutEvents", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["__type"], json!("ValidationException"));
    let (status, _, answer) = call(&app, "NoSuchOperation", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer,
        json!({"__type": "UnknownOperationException",
               "message": "Hearth does not implement EventBridge's NoSuchOperation"})
    );
    // Without the service, its operations are unknown too.
    let (app, _, _dir) = app_with(ApiOptions::default());
    let (_, _, answer) = call(&app, "ListRules", json!({})).await;
    assert_eq!(answer["__type"], json!("UnknownOperationException"));
}
