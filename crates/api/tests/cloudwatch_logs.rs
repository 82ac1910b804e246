//! CloudWatch Logs' retention operations in-process: AWS JSON 1.1 shapes and errors as
//! botocore's `logs/2014-03-28` model has them. Behaviour with the AWS CLI is covered by
//! `tests/e2e/test_log_limits.py`.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::app;
use hearth_serve::BoxApp;
use hearth_store::{Change, Durability, LogBatch};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

async fn logs_call(app: &BoxApp, target: &str, body: Value) -> (StatusCode, Option<String>, Value) {
    let req = Request::builder()
        .method("POST")
        .uri("/")
        .header("x-amz-target", target)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Body::from(body.to_string()))
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        content_type,
        serde_json::from_slice(&bytes).expect("json"),
    )
}

#[tokio::test]
async fn retention_and_log_group_operations() {
    let (app, store, _dir) = app();
    let group = json!({"logGroupName": "/aws/lambda/gone", "retentionInDays": 7});
    let (status, content_type, body) =
        logs_call(&app, "Logs_20140328.PutRetentionPolicy", group.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(content_type.as_deref(), Some("application/x-amz-json-1.1"));
    assert_eq!(
        body,
        json!({"__type": "ResourceNotFoundException", "message": "The specified log group does not exist."})
    );

    // A deleted function's lines make its group exist.
    store
        .changes()
        .apply_changes(
            &[Change::Logs(LogBatch::from_lines(
                "gone",
                "s",
                [(1, "line")],
            ))],
            Durability::Committed,
        )
        .expect("lines");
    let (status, _, body) = logs_call(&app, "Logs_20140328.PutRetentionPolicy", group).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    assert_eq!(
        store.metadata().retention("gone").expect("retention"),
        Some(7)
    );

    let (status, _, body) = logs_call(
        &app,
        "Logs_20140328.PutRetentionPolicy",
        json!({"logGroupName": "/aws/lambda/gone", "retentionInDays": 2}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["__type"], "InvalidParameterException");

    let only = json!({"logGroupName": "/aws/lambda/gone"});
    let (status, _, _) = logs_call(&app, "Logs_20140328.DeleteRetentionPolicy", only.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(store.metadata().retention("gone").expect("retention"), None);
    let (status, _, _) = logs_call(&app, "Logs_20140328.DeleteLogGroup", only.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = logs_call(&app, "Logs_20140328.DeleteLogGroup", only).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["__type"], "ResourceNotFoundException");

    let (status, _, body) = logs_call(
        &app,
        "Logs_20140328.DeleteLogGroup",
        json!({"logGroupName": "/not/lambda"}),
    )
    .await;
    assert_eq!(
        (status, &body["__type"]),
        (StatusCode::BAD_REQUEST, &json!("ResourceNotFoundException"))
    );
    let (status, _, body) = logs_call(&app, "Logs_20140328.PutLogEvents", json!({})).await;
    assert_eq!(
        (status, &body["__type"]),
        (StatusCode::BAD_REQUEST, &json!("UnknownOperationException"))
    );
    let (status, _, body) = logs_call(&app, "Logs_20140328.DeleteLogGroup", json!({})).await;
    assert_eq!(
        (status, &body["__type"]),
        (StatusCode::BAD_REQUEST, &json!("SerializationException"))
    );
}
