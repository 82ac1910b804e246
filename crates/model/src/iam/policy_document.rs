//! The checks IAM makes of a policy document before it stores one, with IAM's
//! `MalformedPolicyDocument` messages: the policy language crate's parser
//! (`hearth-iam-policy`), the one grammar the authorization layer evaluates with, so that
//! a document IAM stores is one every request can be decided by.

use serde_json::Value;

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
pub struct Malformed(pub String);

/// Checks `document` as IAM does before storing it; the parsed JSON on success.
pub fn check(document: &str, kind: PolicyKind) -> Result<Value, Malformed> {
    let grammar = match kind {
        PolicyKind::Identity => hearth_iam_policy::PolicyKind::Identity,
        PolicyKind::Trust => hearth_iam_policy::PolicyKind::Trust,
    };
    hearth_iam_policy::parse(document, grammar).map_err(|e| Malformed(e.to_string()))?;
    serde_json::from_str(document)
        .map_err(|_| Malformed("This policy contains invalid Json".to_string()))
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
                "Syntax errors in policy.",
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
                Err(Malformed(message.to_string())),
                "{doc}"
            );
        }
    }
}
