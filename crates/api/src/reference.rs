//! The `{FunctionName}` path parameter and the `?Qualifier=` query parameter, checked
//! against the shapes each operation's model gives them: every violated constraint of
//! both in one `ValidationException`, then the region and account, then whether the two
//! qualifiers agree.

use std::collections::HashMap;

use hearth_model::{AwsError, FunctionRef, NameShape, Violations};

/// The model's shapes for a `Qualifier` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QualifierShape {
    /// `NumericLatestPublishedOrAliasQualifier` (GetFunction, Invoke, DeleteFunction,
    /// event invoke configs).
    Namespaced,
    /// `Qualifier` (the provisioned-concurrency operations).
    Plain,
}

impl QualifierShape {
    fn pattern(self) -> &'static str {
        match self {
            Self::Namespaced => r"\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+",
            Self::Plain => r"(|[a-zA-Z0-9$_-]+)",
        }
    }

    fn matches(self, q: &str) -> bool {
        let chars = |q: &str| {
            q.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_$".contains(&b))
        };
        match self {
            Self::Namespaced => {
                q == "$LATEST" || q == "$LATEST.PUBLISHED" || (!q.is_empty() && chars(q))
            }
            Self::Plain => chars(q),
        }
    }
}

/// What AWS says when `name:qualifier` and `?Qualifier=` name different qualifiers.
pub(crate) const QUALIFIER_MISMATCH: &str =
    "The derived qualifier from the function name does not match the specified qualifier.";

/// The function `path` names as `shape`, with `?Qualifier=` (of `qualifier_shape`)
/// folded in when the operation takes one.
pub(crate) fn function_ref(
    path: &str,
    tenant: &crate::tenant::Tenant,
    shape: NameShape,
    query: &HashMap<String, String>,
    qualifier_shape: Option<QualifierShape>,
) -> Result<FunctionRef, AwsError> {
    let mut v = Violations::new();
    let parts = FunctionRef::check(path, shape, "functionName", &mut v);
    let given = qualifier_shape.and_then(|s| query.get("Qualifier").map(|q| (q, s)));
    if let Some((q, s)) = given {
        v.length(q, "qualifier", 1, 128);
        v.pattern(q, "qualifier", s.matches(q), s.pattern());
    }
    v.into_result()?;
    let mut r = parts
        .expect("no violation means the pattern matched")
        .resolve(tenant.as_str())?;
    if let Some((q, _)) = given {
        match &r.qualifier {
            Some(derived) if derived != q => return Err(AwsError::invalid(QUALIFIER_MISMATCH)),
            _ => r.qualifier = Some(q.clone()),
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use hearth_model::ErrorCode;

    use super::*;
    use crate::page::tests::q;

    fn get(path: &str, query: &[(&str, &str)]) -> Result<FunctionRef, AwsError> {
        function_ref(
            path,
            &crate::tenant::Tenant(hearth_model::arn::ACCOUNT.into()),
            NameShape::Namespaced,
            &q(query),
            Some(QualifierShape::Namespaced),
        )
    }

    #[test]
    fn qualifiers_from_the_name_and_the_query() {
        let r = get("f", &[("Qualifier", "$latest")]).expect("well-formed");
        assert_eq!(r.qualifier.as_deref(), Some("$latest"));
        let r = get("f:1", &[("Qualifier", "1")]).expect("the same");
        assert_eq!(r.qualifier.as_deref(), Some("1"));
        let e = get(
            "arn:aws:lambda:us-east-1:000000000000:function:f:1",
            &[("Qualifier", "$LATEST")],
        )
        .expect_err("different");
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::InvalidParameterValue, QUALIFIER_MISMATCH)
        );
    }

    #[test]
    fn every_violation_of_both_members_is_listed() {
        let long = "a".repeat(129);
        let e = get("my-function", &[("Qualifier", &long)]).expect_err("too long");
        assert_eq!(
            e.message,
            format!("1 validation error detected: Value '{long}' at 'qualifier' failed to satisfy constraint: Member must have length less than or equal to 128")
        );
        let e = get("my-function!", &[("Qualifier", "invalid!")]).expect_err("both");
        assert!(
            e.message.starts_with("2 validation errors detected: Value 'my-function!' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:"),
            "{}",
            e.message
        );
        assert!(
            e.message.ends_with(r"; Value 'invalid!' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: \$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+"),
            "{}",
            e.message
        );
    }
}
