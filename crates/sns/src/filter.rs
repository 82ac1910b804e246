//! Subscription filter policies: stored as the client gave them, checked and matched
//! with the one event-pattern matcher (`hearth-patterns`, its SNS dialects) against a
//! message's attributes or body.

use std::collections::BTreeMap;

use hearth_patterns::{sns_attributes_document, sns_body_document, Dialect, Pattern, PatternError};

use crate::message::MessageAttribute;
use crate::SnsError;

/// Checks a filter policy's text with the one pattern grammar (`hearth-patterns`), as SNS
/// refuses it. The subscription's scope may be set apart from its policy, so a policy
/// valid for either scope is kept; one valid for neither gets the attribute scope's
/// refusal (the default scope).
pub fn check(text: &str) -> Result<(), SnsError> {
    if serde_json::from_str::<serde_json::Value>(text).is_err() {
        // SNS says no more than this of text that is not JSON.
        return Err(SnsError::invalid("FilterPolicy: failed to parse JSON."));
    }
    match Pattern::parse(text, Dialect::SnsMessageAttributes) {
        Ok(_) => Ok(()),
        Err(e) => match Pattern::parse(text, Dialect::SnsMessageBody) {
            Ok(_) => Ok(()),
            Err(_) => Err(refusal(&e)),
        },
    }
}

/// SNS's `InvalidParameter` for a refused policy.
fn refusal(e: &PatternError) -> SnsError {
    let message = e.message();
    SnsError::invalid(
        message
            .strip_prefix("Invalid parameter: ")
            .unwrap_or(&message),
    )
}

/// What a filter policy looks at: the message's attributes, or its body (when the
/// subscription's `FilterPolicyScope` is `MessageBody`).
pub enum Scope<'a> {
    Attributes(&'a BTreeMap<String, MessageAttribute>),
    Body(&'a str),
}

/// The JSON document a policy of `scope` is matched against (`hearth-patterns`'
/// builders): typed attributes as values (a `Number` as a number, a `String.Array` as
/// its array; binary ones left out), or the body if it is a JSON object.
pub fn document(scope: &Scope<'_>) -> Option<serde_json::Value> {
    match scope {
        Scope::Body(body) => sns_body_document(body),
        Scope::Attributes(attrs) => Some(sns_attributes_document(attrs.iter().filter_map(
            |(name, a)| {
                let value = a.string_value.clone()?;
                Some((name.clone(), a.data_type.clone(), value))
            },
        ))),
    }
}

/// Whether a message passes `policy` (the subscription's `FilterPolicy`; none, or an
/// empty one, passes everything), read in the dialect of its scope.
pub fn matches(policy: Option<&str>, scope: &Scope<'_>) -> bool {
    let Some(policy) = policy.filter(|p| !p.trim().is_empty()) else {
        return true;
    };
    let dialect = match scope {
        Scope::Body(_) => Dialect::SnsMessageBody,
        Scope::Attributes(_) => Dialect::SnsMessageAttributes,
    };
    let Ok(pattern) = Pattern::parse(policy, dialect) else {
        return false;
    };
    document(scope).is_some_and(|doc| pattern.matches(&doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_values_filter_attributes_and_bodies() {
        let attrs = BTreeMap::from([(
            "color".to_string(),
            MessageAttribute {
                data_type: "String".into(),
                string_value: Some("red".into()),
                binary_value: None,
            },
        )]);
        let scope = Scope::Attributes(&attrs);
        assert!(matches(None, &scope));
        assert!(matches(Some(r#"{"color":["red","blue"]}"#), &scope));
        assert!(!matches(Some(r#"{"color":["blue"]}"#), &scope));
        assert!(!matches(Some(r#"{"size":["s"]}"#), &scope));
        let body = Scope::Body(r#"{"kind":"order"}"#);
        assert!(matches(Some(r#"{"kind":["order"]}"#), &body));
        assert!(!matches(
            Some(r#"{"kind":["order"]}"#),
            &Scope::Body("not json")
        ));
        assert!(check("[1]").is_err());
        assert!(check(r#"{"a":["b"]}"#).is_ok());
        // The grammar beyond exact values: prefixes, numbers, anything-but.
        assert!(matches(Some(r#"{"color":[{"prefix":"r"}]}"#), &scope));
        assert!(!matches(
            Some(r#"{"color":[{"anything-but":"red"}]}"#),
            &scope
        ));
        let nested = Scope::Body(r#"{"order":{"total":120}}"#);
        assert!(matches(
            Some(r#"{"order":{"total":[{"numeric":[">",100]}]}}"#),
            &nested
        ));
        assert_eq!(
            check(r#"{"a":[{"bogus":1}]}"#)
                .expect_err("refused")
                .to_string(),
            "Invalid parameter: FilterPolicy: Unrecognized match type bogus"
        );
    }
}
