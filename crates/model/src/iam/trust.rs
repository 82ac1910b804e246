//! Whether a role's trust policy lets a principal call `sts:AssumeRole`: a structural
//! reading of the document in one function, [`allows`], for the policy language
//! crate's evaluator to replace.
//!
//! A statement applies when its action (`Action`, or everything but `NotAction`)
//! covers `sts:AssumeRole` (wildcards `*` and `?`, case-insensitive) and its
//! `Principal` names the principal (or `NotPrincipal` does not). An applying `Deny`
//! refuses; otherwise an applying `Allow` allows. Conditions are not evaluated: a
//! statement with a `Condition` is read as if it held (documented in docs/iam.md).

use serde_json::Value;

/// Who asks to assume the role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal<'a> {
    /// An AWS service (`lambda.amazonaws.com`).
    Service(&'a str),
    /// A principal of an account: its account, and the ARNs it is known by (its own,
    /// and for an assumed-role session the role's).
    Aws {
        account: &'a str,
        arns: Vec<&'a str>,
    },
}

const ACTION: &str = "sts:assumerole";

/// Whether `document` (a trust policy already checked by `policy_document::check`)
/// lets `principal` assume the role.
pub fn allows(document: &str, principal: &Principal<'_>) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(document) else {
        return false;
    };
    let statements: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => return false,
    };
    let mut allowed = false;
    for s in statements {
        if !applies(s, principal) {
            continue;
        }
        match s.get("Effect").and_then(Value::as_str) {
            Some("Deny") => return false,
            Some("Allow") => allowed = true,
            _ => {}
        }
    }
    allowed
}

fn applies(s: &Value, principal: &Principal<'_>) -> bool {
    let action = match (s.get("Action"), s.get("NotAction")) {
        (Some(a), _) => strings(a).any(|p| wildcard(&p.to_ascii_lowercase(), ACTION)),
        (None, Some(n)) => !strings(n).any(|p| wildcard(&p.to_ascii_lowercase(), ACTION)),
        (None, None) => false,
    };
    if !action {
        return false;
    }
    match (s.get("Principal"), s.get("NotPrincipal")) {
        (Some(p), _) => names(p, principal),
        (None, Some(n)) => !names(n, principal),
        (None, None) => false,
    }
}

/// Whether a `Principal` element names `principal`.
fn names(element: &Value, principal: &Principal<'_>) -> bool {
    if element.as_str() == Some("*") {
        return true;
    }
    let Some(map) = element.as_object() else {
        return false;
    };
    match principal {
        Principal::Service(service) => map
            .get("Service")
            .is_some_and(|v| strings(v).any(|s| s == *service)),
        Principal::Aws { account, arns } => map.get("AWS").is_some_and(|v| {
            strings(v).any(|s| {
                s == "*"
                    || s == *account
                    || s == format!("arn:aws:iam::{account}:root")
                    || arns.contains(&s)
            })
        }),
    }
}

fn strings(v: &Value) -> impl Iterator<Item = &str> {
    let list: Vec<&str> = match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
}

/// IAM's action wildcards: `*` any run, `?` any one character.
fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAMBDA: Principal<'static> = Principal::Service("lambda.amazonaws.com");

    fn root(account: &str) -> Principal<'_> {
        Principal::Aws {
            account,
            arns: vec![],
        }
    }

    #[test]
    fn a_service_principal_is_trusted_when_named() {
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","lambda.amazonaws.com"]},"Action":["sts:AssumeRole"]}]}"#;
        assert!(allows(doc, &LAMBDA));
        assert!(!allows(doc, &Principal::Service("sqs.amazonaws.com")));
        assert!(!allows(doc, &root("000000000000")));
    }

    #[test]
    fn the_action_must_cover_assume_role() {
        for (action, ok) in [
            (r#""sts:AssumeRole""#, true),
            (r#""sts:*""#, true),
            (r#""*""#, true),
            (r#""STS:assumerole""#, true),
            (r#""sts:AssumeRoleWithSAML""#, false),
            (r#"["sts:TagSession"]"#, false),
        ] {
            let doc = format!(
                r#"{{"Statement":{{"Effect":"Allow","Principal":{{"Service":"lambda.amazonaws.com"}},"Action":{action}}}}}"#
            );
            assert_eq!(allows(&doc, &LAMBDA), ok, "{action}");
        }
    }

    #[test]
    fn accounts_and_arns_and_denies() {
        let doc = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sts:AssumeRole"}]}"#;
        assert!(allows(doc, &root("111111111111")));
        assert!(!allows(doc, &root("222222222222")));
        let doc = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:user/alice"]},"Action":"sts:AssumeRole"}]}"#;
        let alice = Principal::Aws {
            account: "111111111111",
            arns: vec!["arn:aws:iam::111111111111:user/alice"],
        };
        assert!(allows(doc, &alice));
        assert!(!allows(doc, &root("111111111111")));
        let doc = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:*"}]}"#;
        assert!(!allows(doc, &root("111111111111")));
        assert!(allows(doc, &root("222222222222")));
    }
}
