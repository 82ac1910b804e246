//! IAM and STS over the query protocol in-process: STS AssumeRole with a test
//! [`SessionIssuer`] (the server's comes from the authentication layer), the answer
//! without one, callers of other accounts, and how `POST /` tells the services apart.
//! The wire with boto3 and the AWS CLI is covered by `tests/e2e/test_iam.py` and
//! `tests/e2e/test_sts.py`.

mod common;

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::TimeZone;
use common::{app_with, policy, user, Users};
use hearth_api::sts::{IssueError, SessionCredentials, SessionGrant, SessionIssuer};
use hearth_api::ApiOptions;
use hearth_model::caller::Caller;
use hearth_serve::BoxApp;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// Issues fixed credentials and keeps the grants it was asked for.
#[derive(Default)]
struct TestIssuer {
    grants: Mutex<Vec<SessionGrant>>,
}

impl SessionIssuer for TestIssuer {
    fn issue(&self, grant: &SessionGrant) -> Result<SessionCredentials, IssueError> {
        self.grants.lock().expect("lock").push(grant.clone());
        Ok(SessionCredentials {
            access_key_id: "ASIATESTTESTTESTTEST".into(),
            secret_access_key: "secret".into(),
            session_token: "token".into(),
            expiration: chrono::Utc
                .with_ymd_and_hms(2030, 1, 2, 3, 4, 5)
                .single()
                .expect("date"),
        })
    }
}

/// A user of `account` whose identity policy allows every STS action, with the
/// options that know its policy and mint sessions with `issuer`: STS refuses AssumeRole
/// to an account's root.
fn assumer(account: &str, issuer: Option<Arc<TestIssuer>>) -> (Caller, ApiOptions) {
    let users = Users(
        [(
            "assumer".to_string(),
            vec![policy(
                serde_json::json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "sts:*", "Resource": "*"}]}),
            )],
        )]
        .into(),
    );
    (
        user(account, "assumer"),
        ApiOptions {
            authorizer: Arc::new(users),
            session_issuer: issuer.map(|i| i as Arc<dyn SessionIssuer>),
            ..Default::default()
        },
    )
}

/// POSTs a form, as `caller` when given, and answers the status and the body with the
/// request id replaced by `RID`.
async fn post(app: &BoxApp, form: &str, caller: Option<Caller>) -> (StatusCode, String) {
    let mut req = Request::builder()
        .method("POST")
        .uri("/")
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(Body::from(form.to_string()))
        .expect("request");
    if let Some(c) = caller {
        req.extensions_mut().insert(c);
    }
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let rid = resp
        .headers()
        .get("x-amzn-requestid")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none")
        .to_string();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let body = String::from_utf8(bytes.to_vec()).expect("utf-8");
    (status, body.replace(&rid, "RID"))
}

const TRUST_ACCOUNT: &str = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22000000000000%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
/// As `TRUST_ACCOUNT`, also letting the session be tagged (`sts:TagSession`).
const TRUST_ACCOUNT_TAGGED: &str = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22000000000000%22%7D%2C%22Action%22%3A%5B%22sts%3AAssumeRole%22%2C%22sts%3ATagSession%22%5D%7D%5D%7D";
const TRUST_LAMBDA: &str = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22lambda.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";

fn sts_error(code: &str, message: &str, kind: &str) -> String {
    format!(
        r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>RID</RequestId></ErrorResponse>"#
    )
}

async fn create_role(app: &BoxApp, name: &str, trust: &str, extra: &str) {
    let (status, body) = post(
        app,
        &format!("Action=CreateRole&Version=2010-05-08&RoleName={name}&AssumeRolePolicyDocument={trust}{extra}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn assume_role_issues_a_session_for_a_trusting_role() {
    let issuer = Arc::new(TestIssuer::default());
    let (me, options) = assumer("000000000000", Some(issuer.clone()));
    let (app, _store, _dir) = app_with(options);
    create_role(
        &app,
        "trusting",
        TRUST_ACCOUNT_TAGGED,
        "&Path=%2Fteam%2F&MaxSessionDuration=7200",
    )
    .await;
    create_role(&app, "lambda-only", TRUST_LAMBDA, "").await;

    let (status, body) = post(
        &app,
        "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2Fteam%2Ftrusting&RoleSessionName=s-1&DurationSeconds=7200&Tags.member.1.Key=team&Tags.member.1.Value=a",
        Some(me.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let grants = issuer.grants.lock().expect("lock").clone();
    assert_eq!(grants.len(), 1);
    let g = &grants[0];
    assert_eq!(
        (
            g.account.as_str(),
            g.role_arn.as_str(),
            g.role_name.as_str(),
            g.session_name.as_str()
        ),
        (
            "000000000000",
            "arn:aws:iam::000000000000:role/team/trusting",
            "trusting",
            "s-1"
        )
    );
    assert_eq!(g.duration, std::time::Duration::from_secs(7200));
    assert_eq!(g.tags, [("team".to_string(), "a".to_string())]);
    assert!(g.role_id.starts_with("AROA") && g.role_id.len() == 21);
    assert_eq!(
        body,
        format!(
            r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIATESTTESTTESTTEST</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>token</SessionToken><Expiration>2030-01-02T03:04:05Z</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>{}:s-1</AssumedRoleId><Arn>arn:aws:sts::000000000000:assumed-role/trusting/s-1</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></AssumeRoleResponse>"#,
            g.role_id
        )
    );

    // A role that trusts only Lambda, and one that does not exist: the same refusal.
    for arn in [
        "arn:aws:iam::000000000000:role/lambda-only",
        "arn:aws:iam::000000000000:role/missing",
    ] {
        let (status, body) = post(
            &app,
            &format!("Action=AssumeRole&Version=2011-06-15&RoleArn={arn}&RoleSessionName=s-1"),
            Some(me.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(
            body,
            sts_error(
                "AccessDenied",
                &format!("User: arn:aws:iam::000000000000:user/assumer is not authorized to perform: sts:AssumeRole on resource: {arn}"),
                "Sender"
            )
        );
    }

    // Longer than the role allows.
    let (status, body) = post(
        &app,
        "Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::000000000000:role/team/trusting&RoleSessionName=s-1&DurationSeconds=7201",
        Some(me.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        sts_error(
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            "Sender"
        )
    );
    // The account's root, whatever the trust policy says.
    let (status, body) = post(
        &app,
        "Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::000000000000:role/team/trusting&RoleSessionName=s-1",
        Some(Caller::default_root()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        sts_error(
            "AccessDenied",
            "Roles may not be assumed by root accounts.",
            "Sender"
        )
    );
    assert_eq!(issuer.grants.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn assume_role_without_an_issuer_is_unavailable() {
    let (me, options) = assumer("000000000000", None);
    let (app, _store, _dir) = app_with(options);
    create_role(&app, "trusting", TRUST_ACCOUNT, "").await;
    // A user, and the root every caller is with authentication off: the same answer.
    for caller in [me, Caller::default_root()] {
        let (status, body) = post(
            &app,
            "Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::000000000000:role/trusting&RoleSessionName=s-1",
            Some(caller),
        )
        .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body,
            sts_error(
                "ServiceUnavailable",
                "Hearth issues temporary credentials only with SigV4 authentication on (--auth sigv4).",
                "Receiver"
            )
        );
    }
}

#[tokio::test]
async fn a_caller_sees_its_own_account_only() {
    let issuer = Arc::new(TestIssuer::default());
    let (theirs, options) = assumer("111111111111", Some(issuer.clone()));
    let (app, _store, _dir) = app_with(options);
    create_role(&app, "mine", TRUST_ACCOUNT, "").await;
    // The other account's root: allowed everything in its own account, which has no
    // role named `mine`.
    let other = Caller::root("111111111111");
    let (status, body) = post(
        &app,
        "Action=GetCallerIdentity&Version=2011-06-15",
        Some(other.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><UserId>111111111111</UserId><Account>111111111111</Account><Arn>arn:aws:iam::111111111111:root</Arn></GetCallerIdentityResult><ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></GetCallerIdentityResponse>"#
    );
    let (status, body) = post(
        &app,
        "Action=GetRole&Version=2010-05-08&RoleName=mine",
        Some(other),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        r#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The role with name mine cannot be found.</Message></Error><RequestId>RID</RequestId></ErrorResponse>"#
    );
    // Account 000000000000 trusts only itself: a user of 111111111111, though its own
    // policy allows it, may not assume its role.
    let (status, body) = post(
        &app,
        "Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::000000000000:role/mine&RoleSessionName=s-1",
        Some(theirs),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        sts_error(
            "AccessDenied",
            "User: arn:aws:iam::111111111111:user/assumer is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::000000000000:role/mine",
            "Sender"
        )
    );
    assert!(issuer.grants.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn services_are_told_apart_by_scope_then_version() {
    let (app, _store, _dir) = app_with(ApiOptions::default());
    // Signed for IAM: an STS action is not IAM's.
    let req = Request::builder()
        .method("POST")
        .uri("/")
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AK/20261201/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00",
        )
        .body(Body::from("Action=GetCallerIdentity&Version=2011-06-15"))
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("response");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let body = String::from_utf8(bytes.to_vec()).expect("utf-8");
    assert!(
        body.contains("<Code>InvalidAction</Code><Message>Could not find operation GetCallerIdentity for version 2010-05-08</Message>"),
        "{body}"
    );
    // Unsigned: the version decides; GET with a query string works too.
    let req = Request::builder()
        .method("GET")
        .uri("/?Action=GetCallerIdentity&Version=2011-06-15")
        .body(Body::empty())
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("response");
    assert_eq!(resp.status(), StatusCode::OK);
    // SQS's version reaches SQS (not enabled in this app: it says so, in its XML).
    let (status, body) = post(&app, "Action=ListQueues&Version=2012-11-05", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.contains("http://queue.amazonaws.com/doc/2012-11-05/")
            && body.contains("SQS is not enabled on this server."),
        "{body}"
    );
    // A form of no query-protocol service Hearth has goes to the JSON services' answer.
    let (status, body) = post(&app, "Action=ListThings&Version=2099-01-01", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("UnknownOperationException"), "{body}");
}
