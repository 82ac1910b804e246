//! Structured policies (statements built from fuzzed actions, resources, operators, keys
//! and values) evaluated against fuzzed requests. Beyond "never panics", it checks the
//! evaluation's first law: a Deny of everything added to a user's identity policies
//! makes every decision an explicit deny.
#![no_main]

use hearth_iam_policy::{
    evaluate, parse, Decision, PolicyKind, RequestContext, RequestPrincipal, ResourcePolicy,
};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericLessThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateLessThan",
    "DateGreaterThan",
    "Bool",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
    "BinaryEquals",
];
const KEYS: &[&str] = &[
    "aws:SourceIp",
    "aws:SourceArn",
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:username",
    "aws:SecureTransport",
    "aws:TagKeys",
    "lambda:FunctionUrlAuthType",
];

const ACTIONS: &[&str] = &[
    "*",
    "lambda:*",
    "lambda:Get*",
    "lambda:InvokeFunction",
    "logs:?etLogEvents",
    "iam:*",
];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:lambda:*:*:function:*",
    "arn:aws:lambda:us-east-1:111122223333:function:f",
    "arn:aws:lambda:*:*:function:${aws:username}-*",
    "arn:aws:logs:*:*:log-group:*",
];

/// Mostly names the grammar accepts (so that evaluation runs), sometimes anything.
#[derive(Arbitrary, Debug)]
enum Pick {
    Known(u8),
    Raw(String),
}

impl Pick {
    fn text(&self, known: &[&str]) -> String {
        match self {
            Self::Known(i) => known[*i as usize % known.len()].to_string(),
            Self::Raw(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Cond {
    operator: u8,
    qualifier: u8,
    if_exists: bool,
    key: u8,
    values: Vec<String>,
}

#[derive(Arbitrary, Debug)]
struct Stmt {
    deny: bool,
    not_action: bool,
    actions: Vec<Pick>,
    not_resource: bool,
    resources: Vec<Pick>,
    conditions: Vec<Cond>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    statements: Vec<Stmt>,
    version_2012: bool,
    action: Pick,
    resource: Pick,
    keys: Vec<(u8, String)>,
    cross_account: bool,
}

fn statement(s: &Stmt) -> Value {
    let mut conditions = serde_json::Map::new();
    for c in &s.conditions {
        let op = OPERATORS[c.operator as usize % OPERATORS.len()];
        let qualifier = ["", "ForAnyValue:", "ForAllValues:"][c.qualifier as usize % 3];
        let suffix = if c.if_exists { "IfExists" } else { "" };
        let key = KEYS[c.key as usize % KEYS.len()];
        conditions
            .entry(format!("{qualifier}{op}{suffix}"))
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|m| m.insert(key.to_string(), json!(c.values)));
    }
    let mut m = serde_json::Map::new();
    m.insert(
        "Effect".into(),
        json!(if s.deny { "Deny" } else { "Allow" }),
    );
    m.insert(
        if s.not_action { "NotAction" } else { "Action" }.into(),
        json!(s
            .actions
            .iter()
            .map(|a| a.text(ACTIONS))
            .collect::<Vec<_>>()),
    );
    m.insert(
        if s.not_resource {
            "NotResource"
        } else {
            "Resource"
        }
        .into(),
        json!(s
            .resources
            .iter()
            .map(|r| r.text(RESOURCES))
            .collect::<Vec<_>>()),
    );
    if !conditions.is_empty() {
        m.insert("Condition".into(), Value::Object(conditions));
    }
    Value::Object(m)
}

fuzz_target!(|input: Input| {
    let mut statements: Vec<Value> = input.statements.iter().map(statement).collect();
    let mut ctx = RequestContext::new(RequestPrincipal::user(
        if input.cross_account {
            "444455556666"
        } else {
            "111122223333"
        },
        "fuzz",
    ));
    for (k, v) in &input.keys {
        ctx.set(KEYS[*k as usize % KEYS.len()], v);
    }
    let version = if input.version_2012 {
        "2012-10-17"
    } else {
        "2008-10-17"
    };
    let doc = json!({"Version": version, "Statement": statements.clone()}).to_string();
    let action = input.action.text(&[
        "lambda:GetFunction",
        "lambda:InvokeFunction",
        "logs:GetLogEvents",
    ]);
    let resource = input.resource.text(&[
        "arn:aws:lambda:us-east-1:111122223333:function:f",
        "arn:aws:lambda:us-east-1:111122223333:function:fuzz-1:prod",
        "*",
    ]);
    let account = ResourcePolicy {
        account: "111122223333",
        policy: None,
    };
    if let Ok(p) = parse(&doc, PolicyKind::Identity) {
        let _ = evaluate(&ctx, &action, &resource, &[p], account);
    }
    statements.push(json!({"Effect": "Deny", "Action": "*", "Resource": "*"}));
    let doc = json!({"Version": version, "Statement": statements}).to_string();
    if let Ok(p) = parse(&doc, PolicyKind::Identity) {
        let out = evaluate(&ctx, &action, &resource, &[p], account);
        assert_eq!(out.decision, Decision::ExplicitDeny, "{doc}");
    }
});
