//! CloudWatch's three wires in-process: RPC v2 CBOR by path, AWS JSON 1.0 by target and
//! the query protocol by version are each routed to it, authorised per operation, and
//! answered in their own error shape (CloudWatch not enabled, an operation Hearth does not
//! serve, a caller without permission). Whole scenarios with boto3, the query protocol's
//! botocore and the AWS CLI are `tests/e2e/test_cloudwatch.py`.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use common::{app, user, Users};
use hearth_model::caller::Caller;
use hearth_serve::BoxApp;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

async fn send(app: &BoxApp, req: Request<Body>, caller: Option<Caller>) -> Reply {
    let mut req = req;
    if let Some(c) = caller {
        req.extensions_mut().insert(c);
    }
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        headers,
        body: body.to_vec(),
    }
}

fn cbor(op: &str, body: &ciborium::Value) -> Request<Body> {
    let mut bytes = Vec::new();
    ciborium::into_writer(body, &mut bytes).expect("cbor");
    Request::post(format!(
        "/service/GraniteServiceVersion20100801/operation/{op}"
    ))
    .header("smithy-protocol", "rpc-v2-cbor")
    .header("content-type", "application/cbor")
    .body(Body::from(bytes))
    .expect("request")
}

fn json_1_0(op: &str, body: Value) -> Request<Body> {
    Request::post("/")
        .header(
            "x-amz-target",
            format!("GraniteServiceVersion20100801.{op}"),
        )
        .header("content-type", "application/x-amz-json-1.0")
        .body(Body::from(body.to_string()))
        .expect("request")
}

fn query(form: &str) -> Request<Body> {
    Request::post("/")
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(Body::from(form.to_string()))
        .expect("request")
}

/// A CBOR error body as JSON (`__type`, `message`).
fn cbor_error(body: &[u8]) -> Value {
    let v: ciborium::Value = ciborium::from_reader(body).expect("cbor body");
    let mut out = serde_json::Map::new();
    for (k, v) in v.as_map().expect("a map") {
        out.insert(
            k.as_text().expect("text key").to_string(),
            json!(v.as_text().expect("text value")),
        );
    }
    Value::Object(out)
}

fn header<'a>(r: &'a Reply, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn empty_map() -> ciborium::Value {
    ciborium::Value::Map(Vec::new())
}

#[tokio::test]
async fn without_the_service_every_wire_answers_not_enabled_in_its_shape() {
    let (app, _store, _dir) = app();
    let r = send(&app, cbor("ListMetrics", &empty_map()), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(header(&r, "content-type"), "application/cbor");
    assert_eq!(header(&r, "smithy-protocol"), "rpc-v2-cbor");
    assert_eq!(
        header(&r, "x-amzn-query-error"),
        "UnknownOperationException;Sender"
    );
    assert_eq!(
        cbor_error(&r.body),
        json!({"__type": "UnknownOperationException",
               "message": "CloudWatch's ListMetrics is not enabled on this server"})
    );

    let r = send(&app, json_1_0("ListMetrics", json!({})), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(header(&r, "content-type"), "application/x-amz-json-1.0");
    assert_eq!(
        header(&r, "x-amzn-query-error"),
        "UnknownOperationException;Sender"
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&r.body).expect("json"),
        json!({"__type": "UnknownOperationException",
               "message": "CloudWatch's ListMetrics is not enabled on this server"})
    );

    let r = send(&app, query("Action=ListMetrics&Version=2010-08-01"), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(header(&r, "content-type"), "text/xml");
    let text = String::from_utf8(r.body).expect("utf-8");
    let rid = text
        .split("<RequestId>")
        .nth(1)
        .and_then(|t| t.split("</RequestId>").next())
        .expect("a request id");
    assert_eq!(
        text,
        format!(
            "<ErrorResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><Error><Type>Sender</Type><Code>UnknownOperationException</Code><Message>CloudWatch&apos;s ListMetrics is not enabled on this server</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>"
        )
    );
}

#[tokio::test]
async fn operations_hearth_does_not_serve_are_unknown_in_every_wire() {
    let (app, _store, _dir) = app();
    let r = send(&app, cbor("PutDashboard", &empty_map()), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        cbor_error(&r.body),
        json!({"__type": "UnknownOperationException",
               "message": "The operation PutDashboard is not supported by Hearth's CloudWatch."})
    );
    // Another Smithy service's path is not CloudWatch's.
    let r = send(
        &app,
        Request::post("/service/Other/operation/ListMetrics")
            .body(Body::empty())
            .expect("request"),
        None,
    )
    .await;
    assert_eq!(
        cbor_error(&r.body)["__type"],
        json!("UnknownOperationException")
    );
    let r = send(&app, json_1_0("PutDashboard", json!({})), None).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&r.body).expect("json")["__type"],
        "UnknownOperationException"
    );
    let r = send(&app, query("Action=PutDashboard&Version=2010-08-01"), None).await;
    let text = String::from_utf8(r.body).expect("utf-8");
    assert!(
        text.contains("<Code>InvalidAction</Code><Message>Could not find operation PutDashboard for version 2010-08-01</Message>"),
        "{text}"
    );
    // A body that is not CBOR.
    let r = send(
        &app,
        Request::post("/service/GraniteServiceVersion20100801/operation/ListMetrics")
            .body(Body::from(vec![0xa1u8]))
            .expect("request"),
        None,
    )
    .await;
    assert_eq!(cbor_error(&r.body)["__type"], "SerializationException");
}

#[tokio::test]
async fn each_operation_is_authorised_on_its_alarms() {
    let mut users = HashMap::new();
    users.insert(
        "ana".to_string(),
        vec![hearth_iam_policy::parse(
            &json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow",
                "Action": "cloudwatch:SetAlarmState",
                "Resource": "arn:aws:cloudwatch:us-east-1:000000000000:alarm:mine"}})
            .to_string(),
            hearth_iam_policy::PolicyKind::Identity,
        )
        .expect("policy")],
    );
    let (app, _store, _dir) = common::app_with(hearth_api::ApiOptions {
        authorizer: Arc::new(Users(users)),
        ..Default::default()
    });
    let ana = || Some(user("000000000000", "ana"));
    let set = |name: &str| {
        json_1_0(
            "SetAlarmState",
            json!({"AlarmName": name, "StateValue": "OK", "StateReason": "r"}),
        )
    };
    let r = send(&app, set("theirs"), ana()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(header(&r, "x-amzn-query-error"), "AccessDenied;Sender");
    let body: Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(body["__type"], "AccessDenied");
    assert!(body["message"]
        .as_str()
        .is_some_and(|m| m.contains("cloudwatch:SetAlarmState")
            && m.contains("arn:aws:cloudwatch:us-east-1:000000000000:alarm:theirs")));
    // Allowed: it reaches the service (here not enabled).
    let r = send(&app, set("mine"), ana()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        header(&r, "x-amzn-query-error"),
        "UnknownOperationException;Sender"
    );
    let r = send(
        &app,
        query(
            "Action=SetAlarmState&Version=2010-08-01&AlarmName=theirs&StateValue=OK&StateReason=r",
        ),
        ana(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(String::from_utf8(r.body)
        .expect("utf-8")
        .contains("<Code>AccessDenied</Code>"));
}
