//! The checks IAM makes of a policy document before it stores one, with IAM's
//! `MalformedPolicyDocument` messages: the JSON, the top-level members, and each
//! statement's shape. One function, [`check`], so that the policy language crate can
//! take its place (or its parser be called from it) without touching the callers.
//!
//! What is checked: the document is a JSON object; `Version`, if present, is one IAM
//! knows; `Statement` is an object or a non-empty array of objects; each statement's
//! `Effect` is `Allow` or `Deny`; it has `Action` or `NotAction`; an identity policy's
//! statement names `Resource` or `NotResource` and no `Principal`; a trust policy's
//! names a `Principal` (or `NotPrincipal`) and no `Resource`. What is not: action and
//! ARN syntax, condition operators and keys.

use serde_json::{Map, Value};

/// Which kind of document is checked: the rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// A permissions policy (inline or managed) of an identity.
    Identity,
    /// A role's trust policy (`AssumeRolePolicyDocument`).
    Trust,
}

/// Why IAM refuses a document: the message of its `MalformedPolicyDocument`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub &'static str);

const INVALID_JSON: Malformed = Malformed("This policy contains invalid Json");
const SYNTAX: Malformed = Malformed("Syntax errors in policy.");
const VERSION: Malformed = Malformed("The policy must contain a valid version string");
const NO_ACTIONS: Malformed = Malformed("Policy statement must contain actions.");
const NO_RESOURCES: Malformed = Malformed("Policy statement must contain resources.");
const PRINCIPAL: Malformed = Malformed("Policy document should not specify a principal.");
const NO_PRINCIPAL: Malformed = Malformed("Missing required field Principal");
const RESOURCE_IN_TRUST: Malformed = Malformed("Has prohibited field Resource");

const TOP_LEVEL: &[&str] = &["Version", "Id", "Statement"];
const STATEMENT_MEMBERS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

/// Checks `document` as IAM does before storing it; the parsed JSON on success.
pub fn check(document: &str, kind: PolicyKind) -> Result<Value, Malformed> {
    let value: Value = serde_json::from_str(document).map_err(|_| INVALID_JSON)?;
    let top = value.as_object().ok_or(INVALID_JSON)?;
    if top.keys().any(|k| !TOP_LEVEL.contains(&k.as_str())) {
        return Err(SYNTAX);
    }
    if let Some(v) = top.get("Version") {
        if !matches!(v.as_str(), Some("2012-10-17" | "2008-10-17")) {
            return Err(VERSION);
        }
    }
    let statements: Vec<&Map<String, Value>> = match top.get("Statement") {
        Some(Value::Object(s)) => vec![s],
        Some(Value::Array(list)) if !list.is_empty() => list
            .iter()
            .map(|s| s.as_object().ok_or(SYNTAX))
            .collect::<Result<_, _>>()?,
        _ => return Err(SYNTAX),
    };
    for s in statements {
        statement(s, kind)?;
    }
    Ok(value)
}

fn statement(s: &Map<String, Value>, kind: PolicyKind) -> Result<(), Malformed> {
    if s.keys().any(|k| !STATEMENT_MEMBERS.contains(&k.as_str())) {
        return Err(SYNTAX);
    }
    if !matches!(
        s.get("Effect").and_then(Value::as_str),
        Some("Allow" | "Deny")
    ) {
        return Err(SYNTAX);
    }
    for member in ["Action", "NotAction", "Resource", "NotResource"] {
        if let Some(v) = s.get(member) {
            if !strings(v) {
                return Err(SYNTAX);
            }
        }
    }
    if !s.contains_key("Action") && !s.contains_key("NotAction") {
        return Err(NO_ACTIONS);
    }
    let names_principal = s.contains_key("Principal") || s.contains_key("NotPrincipal");
    let names_resource = s.contains_key("Resource") || s.contains_key("NotResource");
    match kind {
        PolicyKind::Identity => {
            if names_principal {
                return Err(PRINCIPAL);
            }
            if !names_resource {
                return Err(NO_RESOURCES);
            }
        }
        PolicyKind::Trust => {
            if names_resource {
                return Err(RESOURCE_IN_TRUST);
            }
            if !names_principal {
                return Err(NO_PRINCIPAL);
            }
        }
    }
    if let Some(c) = s.get("Condition") {
        if !c.is_object() {
            return Err(SYNTAX);
        }
    }
    Ok(())
}

/// A string or a non-empty array of strings.
fn strings(v: &Value) -> bool {
    match v {
        Value::String(_) => true,
        Value::Array(list) => !list.is_empty() && list.iter().all(Value::is_string),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    const IDENTITY: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["logs:*"],"Resource":"*"}}"#;

    #[test]
    fn good_documents_pass() {
        assert!(check(TRUST, PolicyKind::Trust).is_ok());
        assert!(check(IDENTITY, PolicyKind::Identity).is_ok());
    }

    #[test]
    fn each_fault_has_iams_message() {
        let cases: &[(&str, PolicyKind, &str)] = &[
            (
                "not json",
                PolicyKind::Trust,
                "This policy contains invalid Json",
            ),
            ("[]", PolicyKind::Trust, "This policy contains invalid Json"),
            (
                r#"{"Version":"2012-10-17"}"#,
                PolicyKind::Identity,
                "Syntax errors in policy.",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[]}"#,
                PolicyKind::Identity,
                "Syntax errors in policy.",
            ),
            (
                r#"{"Version":"2001-01-01","Statement":[]}"#,
                PolicyKind::Identity,
                "The policy must contain a valid version string",
            ),
            (
                r#"{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}"#,
                PolicyKind::Identity,
                "Syntax errors in policy.",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Resource":"*"}]}"#,
                PolicyKind::Identity,
                "Policy statement must contain actions.",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"*"}]}"#,
                PolicyKind::Identity,
                "Policy statement must contain resources.",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*"}]}"#,
                PolicyKind::Identity,
                "Policy document should not specify a principal.",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#,
                PolicyKind::Trust,
                "Missing required field Principal",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":"*","Resource":"*"}]}"#,
                PolicyKind::Trust,
                "Has prohibited field Resource",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Bogus":1}]}"#,
                PolicyKind::Identity,
                "Syntax errors in policy.",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":7,"Resource":"*"}]}"#,
                PolicyKind::Identity,
                "Syntax errors in policy.",
            ),
        ];
        for (doc, kind, message) in cases {
            assert_eq!(
                check(doc, *kind).map(|_| ()),
                Err(Malformed(message)),
                "{doc}"
            );
        }
    }
}
