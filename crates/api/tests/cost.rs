//! `GET /_hearth/cost` in-process: metering rows put in the store come back priced for the
//! caller's account only, with AWS's prices worked out by hand here; a bad query is a 400
//! `InvalidParameterValueException` that flushes and reads nothing; a caller whose policy
//! does not allow `hearth:GetCost` is denied.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{policy, user, Users};
use hearth_model::caller::Caller;
use hearth_serve::BoxApp;
use hearth_store::MeterRow;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const ME: &str = "000000000000";
const OTHER: &str = "111111111111";

/// Dollars per GB-second and per request in us-east-1 (crates/cost/data/lambda-prices.json).
const X86_PER_GB_S: f64 = 0.000_016_666_7;
const ARM_PER_GB_S: f64 = 0.000_013_333_4;
const PER_REQUEST: f64 = 0.000_000_2;

fn meter(account: &str, function: &str, day: i64, architecture: &str, memory_mb: u32) -> MeterRow {
    MeterRow {
        account: account.into(),
        function: function.into(),
        version: "$LATEST".into(),
        day,
        architecture: architecture.into(),
        memory_mb,
        ephemeral_mb: 512,
        requests: 10,
        billed_ms: 2000,
        init_billed_ms: 500,
        provisioned_s: 0,
        host_cpu_ms: 300,
        host_memory_mb_ms: 1_024_000,
    }
}

/// The router with metering rows in its store, and a count of the flushes it asked for.
fn app() -> (BoxApp, Arc<AtomicUsize>, tempfile::TempDir) {
    let mut users = HashMap::new();
    users.insert(
        "carol".to_string(),
        vec![policy(json!({"Version": "2012-10-17", "Statement":
            {"Effect": "Allow", "Action": "hearth:GetCost", "Resource": "*"}}))],
    );
    users.insert(
        "bob".to_string(),
        vec![policy(json!({"Version": "2012-10-17", "Statement":
            {"Effect": "Allow", "Action": "hearth:GetMetering", "Resource": "*"}}))],
    );
    let flushes = Arc::new(AtomicUsize::new(0));
    let counter = flushes.clone();
    let (app, store, dir) = common::app_with(hearth_api::ApiOptions {
        authorizer: Arc::new(Users(users)),
        metrics_flush: Some(Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        })),
        ..Default::default()
    });
    store
        .metrics()
        .add_metering(&[
            meter(ME, "a", 20_425, "x86_64", 1024),
            // 4 requests, 4000 ms at 512 MB = 2 GB-s on Arm, no INIT.
            MeterRow {
                requests: 4,
                billed_ms: 4000,
                init_billed_ms: 0,
                ..meter(ME, "b", 20_425, "arm64", 512)
            },
            // Before the period asked for.
            meter(ME, "a", 20_300, "x86_64", 1024),
            // Another account's.
            MeterRow {
                requests: 1000,
                ..meter(OTHER, "a", 20_425, "x86_64", 1024)
            },
        ])
        .expect("metering stored");
    (app, flushes, dir)
}

struct Reply {
    status: StatusCode,
    error_type: Option<String>,
    body: Value,
}

async fn get(app: &BoxApp, caller: Caller, uri: &str) -> Reply {
    let mut req = Request::builder()
        .method("GET")
        .uri(uri)
        .body(Body::empty())
        .expect("request");
    req.extensions_mut().insert(caller);
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let error_type = resp
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        error_type,
        body: serde_json::from_slice(&bytes).expect("a JSON body"),
    }
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-12)
}

#[tokio::test]
async fn prices_the_callers_metering_of_the_period() {
    let (app, flushes, _dir) = app();
    let r = get(
        &app,
        user(ME, "carol"),
        "/_hearth/cost?from_day=20400&to_day=20426&free_tier=false",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(flushes.load(Ordering::SeqCst), 1);
    let doc = &r.body;
    assert_eq!(doc["Region"], "us-east-1");
    assert_eq!(doc["FreeTier"], false);
    assert_eq!(
        (doc["FromDay"].clone(), doc["ToDay"].clone()),
        (json!(20_400), json!(20_426))
    );
    assert_eq!(doc["Currency"], "USD");
    assert_eq!(doc["PricesReadOn"], "2026-12-03");
    assert_eq!(
        doc["PricesSource"],
        "https://aws.amazon.com/lambda/pricing/"
    );
    assert_eq!(doc["Months"], json!(["2025-12"]));
    let names: Vec<&String> = doc["Functions"]
        .as_object()
        .expect("functions")
        .keys()
        .collect();
    assert_eq!(names, ["a", "b"]);

    // a: 2000 ms × 1 GB = 2 GB-s on x86 (0.5 of them INIT); 10 requests.
    let a = &doc["Functions"]["a"];
    assert_eq!(a["Requests"], 10);
    assert_eq!(
        [
            &a["GbSeconds"],
            &a["InitGbSeconds"],
            &a["X86GbSeconds"],
            &a["ArmGbSeconds"]
        ],
        [&json!(2.0), &json!(0.5), &json!(2.0), &json!(0.0)]
    );
    assert!(close(&a["Charges"]["Duration"], 2.0 * X86_PER_GB_S));
    assert!(close(&a["Charges"]["Requests"], 10.0 * PER_REQUEST));
    assert!(close(&a["Total"], 2.0 * X86_PER_GB_S + 10.0 * PER_REQUEST));
    assert!(close(&a["HostCpuSeconds"], 0.3));
    assert!(close(&a["HostMemoryGbSeconds"], 1.0));
    // b: 4000 ms × 0.5 GB = 2 GB-s on Arm; 4 requests.
    let b = &doc["Functions"]["b"];
    assert_eq!(b["ArmGbSeconds"], 2.0);
    assert!(close(&b["Total"], 2.0 * ARM_PER_GB_S + 4.0 * PER_REQUEST));
    let total = &doc["Total"];
    assert_eq!(total["Requests"], 14);
    assert_eq!(total["GbSeconds"], 4.0);
    assert!(close(
        &total["Total"],
        2.0 * X86_PER_GB_S + 2.0 * ARM_PER_GB_S + 14.0 * PER_REQUEST
    ));

    // One function; the free tier covers all of it.
    let r = get(
        &app,
        user(ME, "carol"),
        "/_hearth/cost?since=30000d&function=b",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["FreeTier"], true);
    assert_eq!(r.body["FromDay"], 0);
    let names: Vec<&String> = r.body["Functions"]
        .as_object()
        .expect("functions")
        .keys()
        .collect();
    assert_eq!(names, ["b"]);
    assert_eq!(r.body["Total"]["Total"], 0.0);

    // The other account sees its own use only.
    let r = get(
        &app,
        user(OTHER, "carol"),
        "/_hearth/cost?from_day=20400&to_day=20426&free_tier=false",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["Total"]["Requests"], 1000);
}

#[tokio::test]
async fn a_bad_query_is_a_400_that_reads_nothing() {
    let (app, flushes, _dir) = app();
    for (uri, message) in [
        (
            "/_hearth/cost?since=a%20month",
            "since must be a whole number and a unit (s, m, h or d), such as 30d, got \"a month\"",
        ),
        (
            "/_hearth/cost?region=eu-west-9",
            "no AWS Lambda prices for region \"eu-west-9\" (known: us-east-1)",
        ),
        (
            "/_hearth/cost?from_day=3",
            "from_day and to_day go together: give both",
        ),
    ] {
        let r = get(&app, user(ME, "carol"), uri).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(
            r.error_type.as_deref(),
            Some("InvalidParameterValueException")
        );
        assert_eq!(r.body, json!({"Type": "User", "message": message}));
    }
    assert_eq!(flushes.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_bill_needs_hearth_get_cost() {
    let (app, flushes, _dir) = app();
    let r = get(&app, user(ME, "bob"), "/_hearth/cost").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.error_type.as_deref(), Some("AccessDeniedException"));
    assert_eq!(flushes.load(Ordering::SeqCst), 0);
}
