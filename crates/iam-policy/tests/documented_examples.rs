//! Policy evaluation table from AWS's documented examples: the IAM User Guide's "Policy
//! evaluation for requests within a single account" (Carlos's buckets), "Cross-account
//! policy evaluation logic", the condition-operator and policy-variable pages, and Lambda's
//! resource-based policy examples (service principals with `aws:SourceArn` /
//! `aws:SourceAccount`). Each row: policies, a request, the expected decision and the kind
//! of policy that decided.

use hearth_iam_policy::{
    denial_message, evaluate, evaluate_trust, parse, DecidedBy, Decision, Policy, PolicyKind,
    RequestContext, RequestPrincipal, ResourcePolicy, TrustedRole,
};
use proptest::prelude::*;
use serde_json::{json, Value};

const A: &str = "111122223333";
const B: &str = "444455556666";

struct Row {
    name: &'static str,
    identity: Vec<Value>,
    resource: Option<Value>,
    resource_account: &'static str,
    ctx: RequestContext,
    action: &'static str,
    target: &'static str,
    want: (Decision, DecidedBy),
}

fn identity(v: &Value) -> Policy {
    parse(&v.to_string(), PolicyKind::Identity).expect("identity policy parses")
}

fn resource(v: &Value) -> Policy {
    parse(&v.to_string(), PolicyKind::Resource).expect("resource policy parses")
}

fn carlos_identity() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "AllowS3ListRead", "Effect": "Allow",
         "Action": ["s3:GetBucketLocation", "s3:GetAccountPublicAccessBlock", "s3:ListAccessPoints", "s3:ListAllMyBuckets"],
         "Resource": "arn:aws:s3:::*"},
        {"Sid": "AllowS3Self", "Effect": "Allow", "Action": "s3:*",
         "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/*", "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar"]},
        {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*log*"}
    ]})
}

fn logs_bucket_policy() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "AllowS3PutObject", "Effect": "Allow",
         "Principal": {"AWS": format!("arn:aws:iam::{A}:user/carlossalazar")},
         "Action": "s3:PutObject",
         "Resource": "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar-logs/*"}
    ]})
}

fn lambda_permission(principal: Value, condition: Value) -> Value {
    json!({"Version": "2012-10-17", "Id": "default", "Statement": [
        {"Sid": "s", "Effect": "Allow", "Principal": principal, "Action": "lambda:InvokeFunction",
         "Resource": format!("arn:aws:lambda:us-east-1:{A}:function:f"), "Condition": condition}
    ]})
}

fn f() -> &'static str {
    "arn:aws:lambda:us-east-1:111122223333:function:f"
}

fn user(account: &str, name: &str) -> RequestContext {
    RequestContext::new(RequestPrincipal::user(account, name))
}

fn rows() -> Vec<Row> {
    use DecidedBy::*;
    use Decision::*;
    let invoke_only = json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:*:*:function:*"}});
    let everything = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}});
    vec![
        Row {
            name: "Carlos: the identity policy's Deny on *log* wins over the bucket policy's Allow",
            identity: vec![carlos_identity()],
            resource: Some(logs_bucket_policy()),
            resource_account: A,
            ctx: user(A, "carlossalazar"),
            action: "s3:PutObject",
            target: "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar-logs/file.txt",
            want: (ExplicitDeny, IdentityPolicy),
        },
        Row {
            name: "Carlos: his own bucket, allowed by AllowS3Self",
            identity: vec![carlos_identity()],
            resource: None,
            resource_account: A,
            ctx: user(A, "carlossalazar"),
            action: "s3:PutObject",
            target: "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/file.txt",
            want: (Allow, IdentityPolicy),
        },
        Row {
            name: "Carlos: listing any bucket's location (AllowS3ListRead)",
            identity: vec![carlos_identity()],
            resource: None,
            resource_account: A,
            ctx: user(A, "carlossalazar"),
            action: "s3:GetBucketLocation",
            target: "arn:aws:s3:::someone-elses-bucket",
            want: (Allow, IdentityPolicy),
        },
        Row {
            name: "Carlos: reading another bucket is implicitly denied",
            identity: vec![carlos_identity()],
            resource: None,
            resource_account: A,
            ctx: user(A, "carlossalazar"),
            action: "s3:GetObject",
            target: "arn:aws:s3:::someone-elses-bucket/x",
            want: (ImplicitDeny, IdentityPolicy),
        },
        Row {
            name: "same account: a resource policy naming the user allows without an identity policy",
            identity: vec![],
            resource: Some(json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{A}:user/bob")},
                "Action": "lambda:GetFunction", "Resource": f()}})),
            resource_account: A,
            ctx: user(A, "bob"),
            action: "lambda:GetFunction",
            target: f(),
            want: (Allow, ResourcePolicy),
        },
        Row {
            name: "same account: a resource policy naming only the account delegates to identity policies",
            identity: vec![],
            resource: Some(lambda_permission(json!({"AWS": A}), json!({}))),
            resource_account: A,
            ctx: user(A, "bob"),
            action: "lambda:InvokeFunction",
            target: f(),
            want: (ImplicitDeny, IdentityPolicy),
        },
        Row {
            name: "the account's root needs no policy on its own resources",
            identity: vec![],
            resource: None,
            resource_account: A,
            ctx: RequestContext::new(RequestPrincipal::root(A)),
            action: "lambda:DeleteFunction",
            target: f(),
            want: (Allow, AccountRoot),
        },
        Row {
            name: "another account's root without a resource policy is denied",
            identity: vec![],
            resource: None,
            resource_account: A,
            ctx: RequestContext::new(RequestPrincipal::root(B)),
            action: "lambda:InvokeFunction",
            target: f(),
            want: (ImplicitDeny, ResourcePolicy),
        },
        Row {
            name: "another account's root granted by AddPermission --principal ACCOUNT",
            identity: vec![],
            resource: Some(lambda_permission(json!({"AWS": format!("arn:aws:iam::{B}:root")}), json!({}))),
            resource_account: A,
            ctx: RequestContext::new(RequestPrincipal::root(B)),
            action: "lambda:InvokeFunction",
            target: f(),
            want: (Allow, ResourcePolicy),
        },
        Row {
            name: "cross-account: the resource policy trusts the account but the user's identity policy does not allow",
            identity: vec![],
            resource: Some(lambda_permission(json!({"AWS": B}), json!({}))),
            resource_account: A,
            ctx: user(B, "dana"),
            action: "lambda:InvokeFunction",
            target: f(),
            want: (ImplicitDeny, IdentityPolicy),
        },
        Row {
            name: "cross-account: identity policy allows but the resource has no policy",
            identity: vec![invoke_only.clone()],
            resource: None,
            resource_account: A,
            ctx: user(B, "dana"),
            action: "lambda:InvokeFunction",
            target: f(),
            want: (ImplicitDeny, ResourcePolicy),
        },
        Row {
            name: "cross-account: both allow",
            identity: vec![invoke_only.clone()],
            resource: Some(lambda_permission(json!({"AWS": B}), json!({}))),
            resource_account: A,
            ctx: user(B, "dana"),
            action: "lambda:InvokeFunction",
            target: f(),
            want: (Allow, ResourcePolicy),
        },
        Row {
            name: "a role's session is named by the role's ARN",
            identity: vec![],
            resource: Some(lambda_permission(json!({"AWS": format!("arn:aws:iam::{A}:role/app")}), json!({}))),
            resource_account: A,
            ctx: RequestContext::new(RequestPrincipal::assumed_role(A, "app", "s1")),
            action: "lambda:InvokeFunction",
            target: f(),
            want: (Allow, ResourcePolicy),
        },
        Row {
            name: "a service principal with the documented SourceArn condition (S3 -> Lambda)",
            identity: vec![],
            resource: Some(lambda_permission(
                json!({"Service": "s3.amazonaws.com"}),
                json!({"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::my-bucket"}, "StringEquals": {"AWS:SourceAccount": A}}),
            )),
            resource_account: A,
            ctx: RequestContext::new(RequestPrincipal::service("s3.amazonaws.com"))
                .with("aws:SourceArn", "arn:aws:s3:::my-bucket")
                .with("aws:SourceAccount", A),
            action: "lambda:InvokeFunction",
            target: f(),
            want: (Allow, ResourcePolicy),
        },
        Row {
            name: "the same service from another bucket is denied",
            identity: vec![],
            resource: Some(lambda_permission(
                json!({"Service": "s3.amazonaws.com"}),
                json!({"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::my-bucket"}}),
            )),
            resource_account: A,
            ctx: RequestContext::new(RequestPrincipal::service("s3.amazonaws.com"))
                .with("aws:SourceArn", "arn:aws:s3:::other-bucket"),
            action: "lambda:InvokeFunction",
            target: f(),
            want: (ImplicitDeny, ResourcePolicy),
        },
        Row {
            name: "a service named nowhere in the resource policy is denied even with identity-wide policies",
            identity: vec![everything.clone()],
            resource: Some(lambda_permission(json!({"Service": "sns.amazonaws.com"}), json!({}))),
            resource_account: A,
            ctx: RequestContext::new(RequestPrincipal::service("events.amazonaws.com")),
            action: "lambda:InvokeFunction",
            target: f(),
            want: (ImplicitDeny, ResourcePolicy),
        },
        Row {
            name: "a function URL open to everyone with lambda:FunctionUrlAuthType NONE",
            identity: vec![],
            resource: Some(json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": "*",
                "Action": "lambda:InvokeFunctionUrl", "Resource": f(),
                "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}}})),
            resource_account: A,
            ctx: user(B, "anyone").with("lambda:FunctionUrlAuthType", "NONE"),
            action: "lambda:InvokeFunctionUrl",
            target: f(),
            want: (ImplicitDeny, IdentityPolicy),
        },
        Row {
            name: "an anonymous caller reaches a function URL whose policy allows * with auth type NONE",
            identity: vec![],
            resource: Some(json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": "*",
                "Action": "lambda:InvokeFunctionUrl", "Resource": f(),
                "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}}})),
            resource_account: A,
            ctx: RequestContext::new(RequestPrincipal::anonymous()).with("lambda:FunctionUrlAuthType", "NONE"),
            action: "lambda:InvokeFunctionUrl",
            target: f(),
            want: (Allow, ResourcePolicy),
        },
        Row {
            name: "an anonymous caller is not named by an account principal",
            identity: vec![],
            resource: Some(lambda_permission(json!({"AWS": A}), json!({}))),
            resource_account: A,
            ctx: RequestContext::new(RequestPrincipal::anonymous()),
            action: "lambda:InvokeFunction",
            target: f(),
            want: (ImplicitDeny, ResourcePolicy),
        },
        Row {
            name: "an anonymous caller with no resource policy is denied",
            identity: vec![],
            resource: None,
            resource_account: A,
            ctx: RequestContext::new(RequestPrincipal::anonymous()).with("lambda:FunctionUrlAuthType", "NONE"),
            action: "lambda:InvokeFunctionUrl",
            target: f(),
            want: (ImplicitDeny, ResourcePolicy),
        },
        Row {
            name: "an explicit Deny in a resource policy wins over the identity Allow",
            identity: vec![everything.clone()],
            resource: Some(json!({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Principal": "*",
                "Action": "lambda:*", "Resource": f(),
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}}})),
            resource_account: A,
            ctx: user(A, "bob").with("aws:SecureTransport", "false"),
            action: "lambda:GetFunction",
            target: f(),
            want: (ExplicitDeny, ResourcePolicy),
        },
        Row {
            name: "NotPrincipal with Deny spares the named user",
            identity: vec![everything.clone()],
            resource: Some(json!({"Version": "2012-10-17", "Statement": {"Effect": "Deny",
                "NotPrincipal": {"AWS": format!("arn:aws:iam::{A}:user/bob")},
                "Action": "lambda:*", "Resource": f()}})),
            resource_account: A,
            ctx: user(A, "bob"),
            action: "lambda:GetFunction",
            target: f(),
            want: (Allow, IdentityPolicy),
        },
        Row {
            name: "IpAddress: the documented 'deny outside these ranges' policy",
            identity: vec![everything.clone(), json!({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "*", "Resource": "*",
                "Condition": {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]}}}})],
            resource: None,
            resource_account: A,
            ctx: user(A, "bob").with("aws:SourceIp", "198.51.100.7"),
            action: "lambda:ListFunctions",
            target: "*",
            want: (ExplicitDeny, IdentityPolicy),
        },
        Row {
            name: "IpAddress: inside the range",
            identity: vec![everything.clone(), json!({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "*", "Resource": "*",
                "Condition": {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]}}}})],
            resource: None,
            resource_account: A,
            ctx: user(A, "bob").with("aws:SourceIp", "203.0.113.40"),
            action: "lambda:ListFunctions",
            target: "*",
            want: (Allow, IdentityPolicy),
        },
        Row {
            name: "DateGreaterThan/DateLessThan: the documented time window",
            identity: vec![json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "lambda:*", "Resource": "*",
                "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-04-01T00:00:00Z"},
                              "DateLessThan": {"aws:CurrentTime": "2020-06-30T23:59:59Z"}}}})],
            resource: None,
            resource_account: A,
            ctx: user(A, "bob").at_time(1_590_000_000), // 2020-05-20
            action: "lambda:ListFunctions",
            target: "*",
            want: (Allow, IdentityPolicy),
        },
        Row {
            name: "the time window, after it closed",
            identity: vec![json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "lambda:*", "Resource": "*",
                "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-04-01T00:00:00Z"},
                              "DateLessThan": {"aws:CurrentTime": "2020-06-30T23:59:59Z"}}}})],
            resource: None,
            resource_account: A,
            ctx: user(A, "bob").at_time(1_600_000_000),
            action: "lambda:ListFunctions",
            target: "*",
            want: (ImplicitDeny, IdentityPolicy),
        },
        Row {
            name: "policy variable: each user their own functions (${aws:username})",
            identity: vec![json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "lambda:*",
                "Resource": "arn:aws:lambda:*:*:function:${aws:username}-*"}})],
            resource: None,
            resource_account: A,
            ctx: user(A, "bob"),
            action: "lambda:UpdateFunctionCode",
            target: "arn:aws:lambda:us-east-1:111122223333:function:bob-api",
            want: (Allow, IdentityPolicy),
        },
        Row {
            name: "policy variable: not another user's functions",
            identity: vec![json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "lambda:*",
                "Resource": "arn:aws:lambda:*:*:function:${aws:username}-*"}})],
            resource: None,
            resource_account: A,
            ctx: user(A, "bob"),
            action: "lambda:UpdateFunctionCode",
            target: "arn:aws:lambda:us-east-1:111122223333:function:alice-api",
            want: (ImplicitDeny, IdentityPolicy),
        },
        Row {
            name: "2008-10-17 documents take ${...} literally",
            identity: vec![json!({"Version": "2008-10-17", "Statement": {"Effect": "Allow", "Action": "lambda:*",
                "Resource": "arn:aws:lambda:*:*:function:${aws:username}-*"}})],
            resource: None,
            resource_account: A,
            ctx: user(A, "bob"),
            action: "lambda:UpdateFunctionCode",
            target: "arn:aws:lambda:us-east-1:111122223333:function:bob-api",
            want: (ImplicitDeny, IdentityPolicy),
        },
        Row {
            name: "NotAction: everything but IAM",
            identity: vec![json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}})],
            resource: None,
            resource_account: A,
            ctx: user(A, "bob"),
            action: "iam:CreateUser",
            target: "arn:aws:iam::111122223333:user/x",
            want: (ImplicitDeny, IdentityPolicy),
        },
        Row {
            name: "actions match case-insensitively",
            identity: vec![json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "LAMBDA:get*", "Resource": "*"}})],
            resource: None,
            resource_account: A,
            ctx: user(A, "bob"),
            action: "lambda:GetFunction",
            target: f(),
            want: (Allow, IdentityPolicy),
        },
        Row {
            name: "an unqualified function ARN does not cover its versions and aliases",
            identity: vec![json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": f()}})],
            resource: None,
            resource_account: A,
            ctx: user(A, "bob"),
            action: "lambda:InvokeFunction",
            target: "arn:aws:lambda:us-east-1:111122223333:function:f:prod",
            want: (ImplicitDeny, IdentityPolicy),
        },
        Row {
            name: "a service asking for a role with no policy naming it is denied",
            identity: vec![],
            resource: None,
            resource_account: A,
            ctx: RequestContext::new(RequestPrincipal::service("lambda.amazonaws.com")),
            action: "sts:AssumeRole",
            target: "arn:aws:iam::111122223333:role/exec",
            want: (ImplicitDeny, ResourcePolicy),
        },
        Row {
            name: "ForAllValues:StringEquals: the documented allowed tag keys, all within the set",
            identity: vec![json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "lambda:TagResource", "Resource": "*",
                "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}}}})],
            resource: None,
            resource_account: A,
            ctx: {
                let mut c = user(A, "bob");
                c.set_many("aws:TagKeys", vec!["environment".into()]);
                c
            },
            action: "lambda:TagResource",
            target: f(),
            want: (Allow, IdentityPolicy),
        },
        Row {
            name: "ForAllValues:StringEquals: one tag key outside the set",
            identity: vec![json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "lambda:TagResource", "Resource": "*",
                "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}}}})],
            resource: None,
            resource_account: A,
            ctx: {
                let mut c = user(A, "bob");
                c.set_many("aws:TagKeys", vec!["environment".into(), "owner".into()]);
                c
            },
            action: "lambda:TagResource",
            target: f(),
            want: (ImplicitDeny, IdentityPolicy),
        },
        Row {
            name: "StringLike with a policy variable: the documented home-folder condition",
            identity: vec![json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::amzn-s3-demo-bucket",
                "Condition": {"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}}}})],
            resource: None,
            resource_account: A,
            ctx: user(A, "bob").with("s3:prefix", "home/bob/photos/"),
            action: "s3:ListBucket",
            target: "arn:aws:s3:::amzn-s3-demo-bucket",
            want: (Allow, IdentityPolicy),
        },
        Row {
            name: "the home-folder condition for another user's folder",
            identity: vec![json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::amzn-s3-demo-bucket",
                "Condition": {"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}}}})],
            resource: None,
            resource_account: A,
            ctx: user(A, "bob").with("s3:prefix", "home/alice/"),
            action: "s3:ListBucket",
            target: "arn:aws:s3:::amzn-s3-demo-bucket",
            want: (ImplicitDeny, IdentityPolicy),
        },
        Row {
            name: "Null: deny requests made without temporary credentials (aws:TokenIssueTime absent)",
            identity: vec![everything.clone(), json!({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "*", "Resource": "*",
                "Condition": {"Null": {"aws:TokenIssueTime": "true"}}}})],
            resource: None,
            resource_account: A,
            ctx: user(A, "bob"),
            action: "lambda:ListFunctions",
            target: "*",
            want: (ExplicitDeny, IdentityPolicy),
        },
        Row {
            name: "NumericLessThanEquals with IfExists: an absent key passes",
            identity: vec![json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*",
                "Condition": {"NumericLessThanEqualsIfExists": {"s3:max-keys": "10"}}}})],
            resource: None,
            resource_account: A,
            ctx: user(A, "bob"),
            action: "s3:ListBucket",
            target: "arn:aws:s3:::b",
            want: (Allow, IdentityPolicy),
        },
        Row {
            name: "NumericLessThanEquals: over the limit",
            identity: vec![json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*",
                "Condition": {"NumericLessThanEquals": {"s3:max-keys": "10"}}}})],
            resource: None,
            resource_account: A,
            ctx: user(A, "bob").with("s3:max-keys", "11"),
            action: "s3:ListBucket",
            target: "arn:aws:s3:::b",
            want: (ImplicitDeny, IdentityPolicy),
        },
        Row {
            name: "StringNotEquals on an absent key holds (Deny unless tagged)",
            identity: vec![everything.clone(), json!({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "lambda:*", "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "core"}}}})],
            resource: None,
            resource_account: A,
            ctx: user(A, "bob"),
            action: "lambda:GetFunction",
            target: f(),
            want: (ExplicitDeny, IdentityPolicy),
        },
    ]
}

#[test]
fn documented_examples() {
    for row in rows() {
        let identity: Vec<Policy> = row.identity.iter().map(identity).collect();
        let rp = row.resource.as_ref().map(resource);
        let got = evaluate(
            &row.ctx,
            row.action,
            row.target,
            &identity,
            ResourcePolicy {
                account: row.resource_account,
                policy: rp.as_ref(),
            },
        );
        assert_eq!((got.decision, got.by), row.want, "{}", row.name);
    }
}

/// A role's trust policy is its resource policy, with the User Guide's exception: it must
/// allow the principal itself, even in its own account, where an identity policy allowing
/// `sts:AssumeRole` would be enough for any other resource (`evaluate`).
#[test]
fn a_trust_policy_is_evaluated_as_the_roles_resource_policy() {
    let trust = parse(
        &json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}})
        .to_string(),
        PolicyKind::Trust,
    )
    .expect("trust policy");
    let role = "arn:aws:iam::111122223333:role/exec";
    let assume = |who: RequestPrincipal, ids: &[Policy]| {
        let ctx = RequestContext::new(who);
        let as_trust = evaluate_trust(
            &ctx,
            TrustedRole {
                arn: role,
                account: A,
                trust: &trust,
            },
            ids,
        )
        .decision;
        let as_resource = evaluate(
            &ctx,
            "sts:AssumeRole",
            role,
            ids,
            ResourcePolicy {
                account: A,
                policy: Some(&trust),
            },
        )
        .decision;
        (as_trust, as_resource)
    };
    assert_eq!(
        assume(RequestPrincipal::service("lambda.amazonaws.com"), &[]),
        (Decision::Allow, Decision::Allow)
    );
    assert_eq!(
        assume(RequestPrincipal::service("states.amazonaws.com"), &[]),
        (Decision::ImplicitDeny, Decision::ImplicitDeny)
    );
    let may_assume = identity(&json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role}}));
    assert_eq!(
        assume(RequestPrincipal::user(A, "bob"), &[may_assume]),
        (Decision::ImplicitDeny, Decision::Allow)
    );
}

#[test]
fn denial_messages_are_awss() {
    let ctx = user(A, "bob");
    let out = evaluate(
        &ctx,
        "lambda:GetFunction",
        f(),
        &[],
        ResourcePolicy {
            account: A,
            policy: None,
        },
    );
    assert_eq!(
        denial_message(&out, &ctx.principal.arn, "lambda:GetFunction", f()).as_deref(),
        Some("User: arn:aws:iam::111122223333:user/bob is not authorized to perform: lambda:GetFunction on resource: arn:aws:lambda:us-east-1:111122223333:function:f because no identity-based policy allows the lambda:GetFunction action")
    );
    let deny = identity(
        &json!({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}}),
    );
    let out = evaluate(
        &ctx,
        "lambda:GetFunction",
        f(),
        &[deny],
        ResourcePolicy {
            account: A,
            policy: None,
        },
    );
    assert!(
        denial_message(&out, &ctx.principal.arn, "lambda:GetFunction", f())
            .expect("denied")
            .ends_with(" with an explicit deny in an identity-based policy")
    );
    let other = user(B, "dana");
    let allow = identity(
        &json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}),
    );
    let out = evaluate(
        &other,
        "lambda:GetFunction",
        f(),
        &[allow],
        ResourcePolicy {
            account: A,
            policy: None,
        },
    );
    assert!(
        denial_message(&out, &other.principal.arn, "lambda:GetFunction", f())
            .expect("denied")
            .ends_with(" because no resource-based policy allows the lambda:GetFunction action")
    );
}

fn arb_effect() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("Allow"), Just("Deny")]
}

fn arb_action() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("*"),
        Just("lambda:*"),
        Just("lambda:Get*"),
        Just("lambda:InvokeFunction"),
        Just("logs:*"),
    ]
}

fn arb_resource() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("*"),
        Just("arn:aws:lambda:*:*:function:*"),
        Just("arn:aws:lambda:us-east-1:111122223333:function:f"),
        Just("arn:aws:lambda:*:*:function:g*"),
    ]
}

proptest! {
    /// Explicit deny always wins: adding a statement that denies everything to any set of
    /// identity policies turns every decision into an explicit deny, for any principal
    /// that has identity policies.
    #[test]
    fn explicit_deny_always_wins(
        stmts in proptest::collection::vec((arb_effect(), arb_action(), arb_resource()), 0..6),
        action in prop_oneof![Just("lambda:GetFunction"), Just("lambda:InvokeFunction"), Just("logs:GetLogEvents")],
        cross in any::<bool>(),
    ) {
        let mut statements: Vec<Value> = stmts
            .iter()
            .map(|(e, a, r)| json!({"Effect": e, "Action": a, "Resource": r}))
            .collect();
        statements.push(json!({"Effect": "Deny", "Action": "*", "Resource": "*"}));
        let p = identity(&json!({"Version": "2012-10-17", "Statement": statements}));
        let ctx = user(if cross { B } else { A }, "bob");
        let everyone = resource(&json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}}));
        let out = evaluate(&ctx, action, f(), &[p], ResourcePolicy { account: A, policy: Some(&everyone) });
        prop_assert_eq!(out.decision, Decision::ExplicitDeny);
    }

    /// Adding Allow statements never turns an explicit deny into anything else, and
    /// without any Allow nothing is allowed (default deny).
    #[test]
    fn default_deny_without_allows(
        stmts in proptest::collection::vec((arb_action(), arb_resource()), 1..6),
        action in prop_oneof![Just("lambda:GetFunction"), Just("lambda:InvokeFunction")],
    ) {
        let statements: Vec<Value> = stmts
            .iter()
            .map(|(a, r)| json!({"Effect": "Deny", "Action": a, "Resource": r}))
            .collect();
        let p = identity(&json!({"Version": "2012-10-17", "Statement": statements}));
        let out = evaluate(&user(A, "bob"), action, f(), &[p], ResourcePolicy { account: A, policy: None });
        prop_assert_ne!(out.decision, Decision::Allow);
    }

    /// Whatever the caller's identity policies allow, a trust policy naming neither the
    /// caller nor its account lets no one in, and one denying everyone refuses everyone.
    #[test]
    fn the_trust_policy_must_allow_and_its_deny_wins(
        stmts in proptest::collection::vec((
            arb_effect(),
            prop_oneof![Just("sts:AssumeRole"), Just("sts:*"), Just("*")],
            prop_oneof![Just("*"), Just("arn:aws:iam::111122223333:role/r")],
        ), 0..6),
        cross in any::<bool>(),
        deny_all in any::<bool>(),
    ) {
        let role = "arn:aws:iam::111122223333:role/r";
        let statements: Vec<Value> = stmts
            .iter()
            .map(|(e, a, r)| json!({"Effect": e, "Action": a, "Resource": r}))
            .chain([json!({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role})])
            .collect();
        let ids = [identity(&json!({"Version": "2012-10-17", "Statement": statements}))];
        let trust_doc = if deny_all {
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"},
                {"Effect": "Deny", "Principal": "*", "Action": "sts:*"}]})
        } else {
            json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "*"}})
        };
        let trust = parse(&trust_doc.to_string(), PolicyKind::Trust).expect("trust policy");
        let ctx = user(if cross { B } else { A }, "bob");
        let out = evaluate_trust(&ctx, TrustedRole { arn: role, account: A, trust: &trust }, &ids);
        prop_assert_ne!(out.decision, Decision::Allow);
    }
}
