//! The authorization layer in-process: requests signed (as the authentication layer would
//! mark them with a `Caller`) by a user whose key has a narrow identity policy are allowed
//! exactly what it allows, and denied with AWS's `AccessDeniedException` and text
//! otherwise, on Lambda's REST routes and CloudWatch Logs' JSON 1.1 operations alike.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use common::{policy, user, Users};
use hearth_model::caller::Caller;
use hearth_serve::BoxApp;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const ME: &str = "000000000000";
const OTHER: &str = "111111111111";

fn app() -> (BoxApp, tempfile::TempDir) {
    let mut users = HashMap::new();
    users.insert(
        "bob".to_string(),
        vec![policy(json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["lambda:GetFunction*", "lambda:InvokeFunction"],
             "Resource": "arn:aws:lambda:*:*:function:allowed-*"},
            {"Effect": "Allow", "Action": "logs:GetLogEvents",
             "Resource": "arn:aws:logs:*:*:log-group:/aws/lambda/allowed-*"},
            {"Effect": "Deny", "Action": "lambda:DeleteFunction", "Resource": "*"}
        ]}))],
    );
    // May create and update functions, and pass one role only.
    users.insert(
        "erin".to_string(),
        vec![policy(json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["lambda:CreateFunction",
                                           "lambda:UpdateFunctionConfiguration"],
             "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:PassRole",
             "Resource": "arn:aws:iam::000000000000:role/passable"}
        ]}))],
    );
    // May read layer versions of one layer and list provisioned-concurrency configs,
    // nothing else: the operations that share a route with another by a query parameter.
    users.insert(
        "lena".to_string(),
        vec![policy(json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "lambda:GetLayerVersion",
             "Resource": "arn:aws:lambda:*:*:layer:shared:*"},
            {"Effect": "Allow", "Action": "lambda:ListProvisionedConcurrencyConfigs",
             "Resource": "arn:aws:lambda:*:*:function:*"}
        ]}))],
    );
    // May see and set the fresh-environment setting (a Hearth extension), but not set it
    // on one function.
    users.insert(
        "frank".to_string(),
        vec![policy(json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow",
             "Action": ["hearth:GetFunctionFreshEnv", "hearth:PutFunctionFreshEnv"],
             "Resource": "arn:aws:lambda:*:*:function:*"},
            {"Effect": "Deny", "Action": "hearth:PutFunctionFreshEnv",
             "Resource": "arn:aws:lambda:*:*:function:locked"}
        ]}))],
    );
    users.insert(
        "dana".to_string(),
        vec![policy(json!({"Version": "2012-10-17", "Statement":
            {"Effect": "Allow", "Action": "*", "Resource": "*"}}))],
    );
    let (app, _store, dir) = common::app_with(hearth_api::ApiOptions {
        authorizer: Arc::new(Users(users)),
        ..Default::default()
    });
    (app, dir)
}

fn zip_b64() -> String {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
        w.start_file("bootstrap", opts).expect("start");
        w.write_all(b"#!/bin/sh\nsleep 60\n").expect("write");
        w.finish().expect("finish");
    }
    base64::engine::general_purpose::STANDARD.encode(buf.into_inner())
}

struct Reply {
    status: StatusCode,
    error_type: Option<String>,
    body: Value,
}

async fn call(
    app: &BoxApp,
    caller: Option<Caller>,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Reply {
    let mut b = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let mut req = b
        .body(body.map_or_else(Body::empty, |v| Body::from(v.to_string())))
        .expect("request");
    if let Some(c) = caller {
        req.extensions_mut().insert(c);
    }
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
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

async fn create(app: &BoxApp, name: &str) {
    let r = call(
        app,
        None,
        "POST",
        "/2015-03-31/functions",
        &[],
        Some(json!({
            "FunctionName": name, "Runtime": "provided.al2023", "Handler": "bootstrap",
            "Role": "arn:aws:iam::000000000000:role/test", "Code": {"ZipFile": zip_b64()},
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

fn denied(action: &str, resource: &str, who: &str, why: &str) -> Value {
    json!({"Message": format!("User: {who} is not authorized to perform: {action} on resource: {resource} {why}")})
}

fn fn_arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:{ME}:function:{name}")
}

/// Handing a role to a function takes `iam:PassRole` on it: a user allowed to create
/// functions cannot run one with a role its policies do not let it pass.
#[tokio::test]
async fn creating_or_updating_a_function_passes_its_role() {
    let (app, _dir) = app();
    let erin = || Some(user(ME, "erin"));
    let body = |role: &str| {
        json!({
            "FunctionName": "passed", "Runtime": "provided.al2023", "Handler": "bootstrap",
            "Role": format!("arn:aws:iam::{ME}:role/{role}"), "Code": {"ZipFile": zip_b64()},
        })
    };
    let r = call(
        &app,
        erin(),
        "POST",
        "/2015-03-31/functions",
        &[],
        Some(body("admin")),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(
        r.body,
        denied(
            "iam:PassRole",
            &format!("arn:aws:iam::{ME}:role/admin"),
            &format!("arn:aws:iam::{ME}:user/erin"),
            "because no identity-based policy allows the iam:PassRole action"
        )
    );
    let r = call(
        &app,
        erin(),
        "POST",
        "/2015-03-31/functions",
        &[],
        Some(body("passable")),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let update = |role: &str| json!({"Role": format!("arn:aws:iam::{ME}:role/{role}")});
    let path = "/2015-03-31/functions/passed/configuration";
    let r = call(&app, erin(), "PUT", path, &[], Some(update("admin"))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // The root of the account passes any of its roles (once the function is Active).
    for _ in 0..200 {
        let got = call(&app, None, "GET", "/2015-03-31/functions/passed", &[], None).await;
        if got.body["Configuration"]["State"] == "Active" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let r = call(&app, None, "PUT", path, &[], Some(update("admin"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// Hearth's own fresh-environment operations are authorized as their declared actions on
/// the unqualified function: an explicit Deny of `hearth:PutFunctionFreshEnv` refuses the
/// PUT on the function it names, and only there.
#[tokio::test]
async fn the_fresh_env_operations_are_authorized_as_their_actions() {
    let (app, _dir) = app();
    create(&app, "locked").await;
    create(&app, "open").await;
    for name in ["locked", "open"] {
        for _ in 0..200 {
            let path = format!("/2015-03-31/functions/{name}");
            let got = call(&app, None, "GET", &path, &[], None).await;
            if got.body["Configuration"]["State"] == "Active" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }
    let frank = || Some(user(ME, "frank"));
    let path = |name: &str| format!("/_hearth/functions/{name}/fresh-env");
    let on = || Some(json!({"Enabled": true}));
    let r = call(&app, frank(), "GET", &path("locked"), &[], None).await;
    assert_eq!(
        (r.status, r.body),
        (StatusCode::OK, json!({"Enabled": false}))
    );
    let r = call(&app, frank(), "PUT", &path("locked"), &[], on()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.error_type.as_deref(), Some("AccessDeniedException"));
    assert_eq!(
        r.body,
        denied(
            "hearth:PutFunctionFreshEnv",
            &fn_arn("locked"),
            &format!("arn:aws:iam::{ME}:user/frank"),
            "with an explicit deny in an identity-based policy"
        )
    );
    let r = call(&app, None, "GET", &path("locked"), &[], None).await;
    assert_eq!(r.body, json!({"Enabled": false}));
    let r = call(&app, frank(), "PUT", &path("open"), &[], on()).await;
    assert_eq!(
        (r.status, r.body),
        (StatusCode::OK, json!({"Enabled": true}))
    );
}

#[tokio::test]
async fn a_narrow_identity_policy_allows_what_it_names_and_nothing_else() {
    let (app, _dir) = app();
    create(&app, "allowed-1").await;
    create(&app, "other").await;
    let bob = || Some(user(ME, "bob"));
    let bob_arn = format!("arn:aws:iam::{ME}:user/bob");

    let r = call(
        &app,
        bob(),
        "GET",
        "/2015-03-31/functions/allowed-1",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["Configuration"]["FunctionName"], "allowed-1");

    let r = call(&app, bob(), "GET", "/2015-03-31/functions/other", &[], None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_type.as_deref(), Some("AccessDeniedException"));
    assert_eq!(
        r.body,
        denied(
            "lambda:GetFunction",
            &fn_arn("other"),
            &bob_arn,
            "because no identity-based policy allows the lambda:GetFunction action"
        )
    );

    // A qualifier is part of the resource: `allowed-*` covers `allowed-1:prod` too.
    let r = call(
        &app,
        bob(),
        "GET",
        "/2015-03-31/functions/other/configuration?Qualifier=prod",
        &[],
        None,
    )
    .await;
    assert_eq!(
        r.body,
        denied(
            "lambda:GetFunctionConfiguration",
            &format!("{}:prod", fn_arn("other")),
            &bob_arn,
            "because no identity-based policy allows the lambda:GetFunctionConfiguration action"
        )
    );

    let r = call(&app, bob(), "GET", "/2015-03-31/functions", &[], None).await;
    assert_eq!(
        r.body,
        denied(
            "lambda:ListFunctions",
            "*",
            &bob_arn,
            "because no identity-based policy allows the lambda:ListFunctions action"
        )
    );

    let r = call(
        &app,
        bob(),
        "DELETE",
        "/2015-03-31/functions/allowed-1",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.body,
        denied(
            "lambda:DeleteFunction",
            &fn_arn("allowed-1"),
            &bob_arn,
            "with an explicit deny in an identity-based policy"
        )
    );
    // Nothing was deleted: the root still sees it.
    let r = call(
        &app,
        None,
        "GET",
        "/2015-03-31/functions/allowed-1",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);

    // CreateFunction's resource is named by its body.
    let r = call(
        &app,
        bob(),
        "POST",
        "/2015-03-31/functions",
        &[],
        Some(json!({"FunctionName": "allowed-2", "Runtime": "provided.al2023"})),
    )
    .await;
    assert_eq!(
        r.body,
        denied(
            "lambda:CreateFunction",
            &fn_arn("allowed-2"),
            &bob_arn,
            "because no identity-based policy allows the lambda:CreateFunction action"
        )
    );

    // Hearth's private endpoints are actions too.
    let r = call(&app, bob(), "GET", "/_hearth/runtimes", &[], None).await;
    assert_eq!(
        r.body,
        denied(
            "hearth:ListRuntimes",
            "*",
            &bob_arn,
            "because no identity-based policy allows the hearth:ListRuntimes action"
        )
    );
}

#[tokio::test]
async fn a_resource_policy_allows_within_the_account_and_is_needed_across_accounts() {
    let (app, _dir) = app();
    create(&app, "shared").await;
    let carol = || Some(user(ME, "carol"));
    let r = call(
        &app,
        carol(),
        "GET",
        "/2015-03-31/functions/shared/policy",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = call(
        &app,
        None,
        "POST",
        "/2015-03-31/functions/shared/policy",
        &[],
        Some(json!({"StatementId": "carol", "Action": "lambda:GetPolicy",
                     "Principal": format!("arn:aws:iam::{ME}:user/carol")})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = call(
        &app,
        carol(),
        "GET",
        "/2015-03-31/functions/shared/policy",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Another account's user allowed everything by its own policies still needs the
    // function's policy to name it.
    let dana = || Some(user(OTHER, "dana"));
    let dana_arn = format!("arn:aws:iam::{OTHER}:user/dana");
    // By name it would be dana's own account's function: the ARN names this one.
    let shared_by_arn = format!(
        "/2015-03-31/functions/{}",
        fn_arn("shared").replace(':', "%3A")
    );
    let r = call(&app, dana(), "GET", &shared_by_arn, &[], None).await;
    assert_eq!(
        r.body,
        denied(
            "lambda:GetFunction",
            &fn_arn("shared"),
            &dana_arn,
            "because no resource-based policy allows the lambda:GetFunction action"
        )
    );
    let r = call(
        &app,
        None,
        "POST",
        "/2015-03-31/functions/shared/policy",
        &[],
        Some(json!({"StatementId": "other", "Action": "lambda:GetFunction", "Principal": OTHER})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = call(&app, dana(), "GET", &shared_by_arn, &[], None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Other actions stay denied.
    let r = call(
        &app,
        dana(),
        "GET",
        &format!("{shared_by_arn}/configuration"),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // By name, dana's account has no function `shared`.
    let r = call(
        &app,
        dana(),
        "GET",
        "/2015-03-31/functions/shared",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(
        r.body["Message"],
        format!("Function not found: arn:aws:lambda:us-east-1:{OTHER}:function:shared")
    );
}

#[tokio::test]
async fn logs_operations_are_checked_on_their_log_group() {
    let (app, _dir) = app();
    let logs = |target: &'static str| {
        [
            ("x-amz-target", target),
            ("content-type", "application/x-amz-json-1.1"),
        ]
    };
    let bob = || Some(user(ME, "bob"));
    let r = call(
        &app,
        bob(),
        "POST",
        "/",
        &logs("Logs_20140328.DescribeLogGroups"),
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_type.as_deref(), Some("AccessDeniedException"));
    assert_eq!(
        r.body,
        json!({"__type": "AccessDeniedException", "message": format!(
            "User: arn:aws:iam::{ME}:user/bob is not authorized to perform: logs:DescribeLogGroups on resource: arn:aws:logs:us-east-1:{ME}:log-group:* because no identity-based policy allows the logs:DescribeLogGroups action")})
    );
    // Allowed on its group: the operation runs (and finds no such group).
    let r = call(
        &app,
        bob(),
        "POST",
        "/",
        &logs("Logs_20140328.GetLogEvents"),
        Some(json!({"logGroupName": "/aws/lambda/allowed-x", "logStreamName": "s"})),
    )
    .await;
    assert_eq!(r.body["__type"], "ResourceNotFoundException", "{}", r.body);
    let r = call(
        &app,
        bob(),
        "POST",
        "/",
        &logs("Logs_20140328.GetLogEvents"),
        Some(json!({"logGroupName": "/aws/lambda/other", "logStreamName": "s"})),
    )
    .await;
    assert_eq!(r.body["__type"], "AccessDeniedException", "{}", r.body);
}

#[tokio::test]
async fn without_a_caller_everyone_is_the_default_root_as_before() {
    let (app, _dir) = app();
    let r = call(&app, None, "GET", "/2015-03-31/functions", &[], None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({"Functions": []}));
    // Another account's root is an outsider to this account's functions (named by
    // ARN), and a bare name is looked up in its own account.
    let theirs = format!(
        "/2015-03-31/functions/{}",
        fn_arn("nothing").replace(':', "%3A")
    );
    let r = call(&app, Some(Caller::root(OTHER)), "GET", &theirs, &[], None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(
        &app,
        Some(Caller::root(OTHER)),
        "GET",
        "/2015-03-31/functions/nothing",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn publish_layer(app: &BoxApp, name: &str) -> String {
    let r = call(
        app,
        None,
        "POST",
        &format!("/2018-10-31/layers/{name}/versions"),
        &[],
        Some(json!({"Content": {"ZipFile": zip_b64()}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["LayerVersionArn"]
        .as_str()
        .expect("LayerVersionArn")
        .to_string()
}

/// GetLayerVersionByArn shares ListLayers' route (`?find=LayerVersion`) and
/// ListProvisionedConcurrencyConfigs GetProvisionedConcurrencyConfig's (`?List=ALL`):
/// each is authorized as its own action on its own resource, and the query is read as
/// the handler reads it.
#[tokio::test]
async fn operations_bound_by_a_query_parameter_are_authorized_as_themselves() {
    let (app, _dir) = app();
    let shared = publish_layer(&app, "shared").await;
    let private = publish_layer(&app, "private").await;
    assert_eq!(
        shared,
        format!("arn:aws:lambda:us-east-1:{ME}:layer:shared:1")
    );
    let lena = || Some(user(ME, "lena"));
    let lena_arn = format!("arn:aws:iam::{ME}:user/lena");
    let by_arn = |arn: &str, find: &str| {
        format!(
            "/2018-10-31/layers?find={find}&Arn={}",
            arn.replace(':', "%3A")
        )
    };

    let r = call(
        &app,
        lena(),
        "GET",
        &by_arn(&shared, "LayerVersion"),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["LayerVersionArn"], json!(shared));
    assert_eq!(r.body["Version"], 1);
    // The binding decoded, as the handler decodes it.
    let r = call(
        &app,
        lena(),
        "GET",
        &by_arn(&shared, "Layer%56ersion"),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["LayerVersionArn"], json!(shared));

    let r = call(
        &app,
        lena(),
        "GET",
        &by_arn(&private, "LayerVersion"),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_type.as_deref(), Some("AccessDeniedException"));
    assert_eq!(
        r.body,
        denied(
            "lambda:GetLayerVersion",
            &private,
            &lena_arn,
            "because no identity-based policy allows the lambda:GetLayerVersion action"
        )
    );

    let r = call(&app, lena(), "GET", "/2018-10-31/layers", &[], None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.body,
        denied(
            "lambda:ListLayers",
            "*",
            &lena_arn,
            "because no identity-based policy allows the lambda:ListLayers action"
        )
    );

    create(&app, "pc").await;
    let r = call(
        &app,
        lena(),
        "GET",
        "/2019-09-30/functions/pc/provisioned-concurrency?List=ALL",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, json!({"ProvisionedConcurrencyConfigs": []}));
    let r = call(
        &app,
        lena(),
        "GET",
        "/2019-09-30/functions/pc/provisioned-concurrency?Qualifier=1",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.body,
        denied(
            "lambda:GetProvisionedConcurrencyConfig",
            &format!("{}:1", fn_arn("pc")),
            &lena_arn,
            "because no identity-based policy allows the lambda:GetProvisionedConcurrencyConfig action"
        )
    );
}
