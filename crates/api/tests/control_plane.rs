//! The control plane in-process: status codes, error encoding and JSON shapes as
//! botocore expects them. Behaviour with real clients is covered by `tests/e2e`.

mod common;

use std::io::Write;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use hearth_serve::BoxApp;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

struct Fixture {
    app: BoxApp,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let (app, _, dir) = common::app();
    Fixture { app, _dir: dir }
}

fn zip_b64(files: &[(&str, &str, u32)]) -> String {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        for (name, body, mode) in files {
            let opts = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
            w.start_file(*name, opts).expect("start");
            w.write_all(body.as_bytes()).expect("write");
        }
        w.finish().expect("finish");
    }
    base64::engine::general_purpose::STANDARD.encode(buf.into_inner())
}

struct Reply {
    status: StatusCode,
    error_type: Option<String>,
    request_id: Option<String>,
    body: Value,
}

async fn call(app: &BoxApp, method: &str, uri: &str, body: Option<Value>) -> Reply {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .body(match body {
            Some(v) => Body::from(v.to_string()),
            None => Body::empty(),
        })
        .expect("request");
    call_req(app, req).await
}

async fn call_req(app: &BoxApp, req: Request<Body>) -> Reply {
    let resp = app.clone().oneshot(req).await.expect("response");
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let status = resp.status();
    let error_type = header("x-amzn-errortype");
    let request_id = header("x-amzn-requestid");
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        error_type,
        request_id,
        body,
    }
}

fn create_body(name: &str) -> Value {
    json!({
        "FunctionName": name,
        "Runtime": "provided.al2023",
        "Role": "arn:aws:iam::000000000000:role/test",
        "Handler": "bootstrap",
        "Code": {"ZipFile": zip_b64(&[("bootstrap", "#!/bin/sh\nsleep 60\n", 0o755)])},
    })
}

async fn wait_active(app: &BoxApp, name: &str) -> Value {
    for _ in 0..200 {
        let r = call(
            app,
            "GET",
            &format!("/2015-03-31/functions/{name}/configuration"),
            None,
        )
        .await;
        if r.body["State"] == "Active" && r.body["LastUpdateStatus"] == "Successful" {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{name} never became Active");
}

#[tokio::test]
async fn create_returns_pending_then_active_with_lambda_shape() {
    let f = fixture();
    let r = call(
        &f.app,
        "POST",
        "/2015-03-31/functions",
        Some(create_body("shape")),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(r.request_id.is_some());
    assert_eq!(r.body["State"], "Pending");
    assert_eq!(r.body["StateReasonCode"], "Creating");
    assert_eq!(
        r.body["FunctionArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:shape"
    );
    assert_eq!(r.body["Version"], "$LATEST");
    assert_eq!(r.body["MemorySize"], 128);
    assert_eq!(r.body["Timeout"], 3);
    assert_eq!(r.body["EphemeralStorage"]["Size"], 512);
    assert_eq!(r.body["PackageType"], "Zip");
    let stamp = r.body["LastModified"].as_str().expect("LastModified");
    assert!(stamp.ends_with("+0000") && stamp.len() == 28, "{stamp}");
    let sha = r.body["CodeSha256"].as_str().expect("CodeSha256");
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(sha)
            .expect("b64")
            .len(),
        32
    );
    let active = wait_active(&f.app, "shape").await;
    assert_ne!(active["RevisionId"], Value::Null);

    let again = call(
        &f.app,
        "POST",
        "/2015-03-31/functions",
        Some(create_body("shape")),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        again.error_type.as_deref(),
        Some("ResourceConflictException")
    );
}

#[tokio::test]
async fn unknown_function_is_404_with_lambda_body() {
    let f = fixture();
    let r = call(&f.app, "GET", "/2015-03-31/functions/nope", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error_type.as_deref(), Some("ResourceNotFoundException"));
    assert_eq!(r.body["Type"], "User");
    assert_eq!(
        r.body["Message"],
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope"
    );
    assert!(r.request_id.is_some());
}

#[tokio::test]
async fn malformed_json_is_invalid_request_content() {
    let f = fixture();
    let req = Request::builder()
        .method("POST")
        .uri("/2015-03-31/functions")
        .body(Body::from("{not json"))
        .expect("request");
    let r = call_req(&f.app, req).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.error_type.as_deref(),
        Some("InvalidRequestContentException")
    );
}

#[tokio::test]
async fn validation_codes() {
    let f = fixture();
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "memory-low",
            Box::new(|b| b["MemorySize"] = json!(64)),
            "ValidationException",
        ),
        (
            "memory-high",
            Box::new(|b| b["MemorySize"] = json!(10241)),
            "InvalidParameterValueException",
        ),
        (
            "timeout-high",
            Box::new(|b| b["Timeout"] = json!(901)),
            "InvalidParameterValueException",
        ),
        (
            "timeout-low",
            Box::new(|b| b["Timeout"] = json!(0)),
            "ValidationException",
        ),
        (
            "ephemeral",
            Box::new(|b| b["EphemeralStorage"] = json!({"Size": 100})),
            "ValidationException",
        ),
        (
            "runtime",
            Box::new(|b| b["Runtime"] = json!("cobol9")),
            "InvalidParameterValueException",
        ),
        (
            "reserved",
            Box::new(|b| b["Environment"] = json!({"Variables": {"AWS_REGION": "x"}})),
            "InvalidParameterValueException",
        ),
        (
            "env-size",
            Box::new(|b| b["Environment"] = json!({"Variables": {"BIG": "x".repeat(5000)}})),
            "InvalidParameterValueException",
        ),
        (
            "bad-zip",
            Box::new(|b| b["Code"] = json!({"ZipFile": "bm90IGEgemlw"})),
            "InvalidParameterValueException",
        ),
        (
            "no-handler",
            Box::new(|b| {
                b.as_object_mut().expect("object").remove("Handler");
            }),
            "InvalidParameterValueException",
        ),
        ("bad name!", Box::new(|_| {}), "ValidationException"),
        (
            "unknown-field",
            Box::new(|b| b["Bogus"] = json!(1)),
            "InvalidRequestContentException",
        ),
    ];
    for (name, mutate, code) in cases {
        let mut body = create_body(name);
        mutate(&mut body);
        let r = call(&f.app, "POST", "/2015-03-31/functions", Some(body)).await;
        assert_eq!(r.error_type.as_deref(), Some(code), "{name}: {}", r.body);
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{name}");
    }
    let listed = call(&f.app, "GET", "/2015-03-31/functions/", None).await;
    assert_eq!(
        listed.body["Functions"],
        json!([]),
        "no failed create may leave a function"
    );
}

#[tokio::test]
async fn list_pages_with_marker() {
    let f = fixture();
    for name in ["a1", "a2", "a3"] {
        let r = call(
            &f.app,
            "POST",
            "/2015-03-31/functions",
            Some(create_body(name)),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let p1 = call(&f.app, "GET", "/2015-03-31/functions/?MaxItems=2", None).await;
    let names: Vec<_> = p1.body["Functions"]
        .as_array()
        .expect("list")
        .iter()
        .map(|f| f["FunctionName"].clone())
        .collect();
    assert_eq!(names, [json!("a1"), json!("a2")]);
    let marker = p1.body["NextMarker"].as_str().expect("marker");
    let p2 = call(
        &f.app,
        "GET",
        &format!("/2015-03-31/functions/?MaxItems=2&Marker={marker}"),
        None,
    )
    .await;
    assert_eq!(p2.body["Functions"][0]["FunctionName"], "a3");
    assert_eq!(p2.body.get("NextMarker"), None);
}

#[tokio::test]
async fn function_reference_forms_and_delete() {
    let f = fixture();
    call(
        &f.app,
        "POST",
        "/2015-03-31/functions",
        Some(create_body("refs")),
    )
    .await;
    for path in [
        "refs",
        "000000000000:function:refs",
        "arn:aws:lambda:us-east-1:000000000000:function:refs",
        "refs:$LATEST",
    ] {
        let r = call(
            &f.app,
            "GET",
            &format!("/2015-03-31/functions/{path}"),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        assert_eq!(r.body["Configuration"]["FunctionName"], "refs");
        let loc = r.body["Code"]["Location"].as_str().expect("location");
        assert!(loc.contains("/_hearth/code/"), "{loc}");
    }
    let d = call(&f.app, "DELETE", "/2015-03-31/functions/refs", None).await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    let gone = call(&f.app, "GET", "/2015-03-31/functions/refs", None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn invoke_limits_and_pending() {
    let f = fixture();
    let r = call(
        &f.app,
        "POST",
        "/2015-03-31/functions",
        Some(create_body("lim")),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    wait_active(&f.app, "lim").await;
    let big = Request::builder()
        .method("POST")
        .uri("/2015-03-31/functions/lim/invocations")
        .body(Body::from(vec![b' '; 6 * 1024 * 1024 + 1]))
        .expect("request");
    let r = call_req(&f.app, big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.error_type.as_deref(), Some("RequestTooLargeException"));
    let bad = Request::builder()
        .method("POST")
        .uri("/2015-03-31/functions/lim/invocations")
        .body(Body::from("{oops"))
        .expect("request");
    let r = call_req(&f.app, bad).await;
    assert_eq!(
        r.error_type.as_deref(),
        Some("InvalidRequestContentException")
    );
    let dry = Request::builder()
        .method("POST")
        .uri("/2015-03-31/functions/lim/invocations")
        .header("x-amz-invocation-type", "DryRun")
        .body(Body::empty())
        .expect("request");
    let r = call_req(&f.app, dry).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn account_settings_count_functions() {
    let f = fixture();
    call(
        &f.app,
        "POST",
        "/2015-03-31/functions",
        Some(create_body("acct")),
    )
    .await;
    let r = call(&f.app, "GET", "/2016-08-19/account-settings/", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["AccountUsage"]["FunctionCount"], 1);
    assert_eq!(r.body["AccountLimit"]["ConcurrentExecutions"], 1000);
    assert_eq!(r.body["AccountLimit"]["CodeSizeZipped"], 52428800);
}
