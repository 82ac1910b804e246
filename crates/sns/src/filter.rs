//! Subscription filter policies: stored as the client gave them, checked to be JSON
//! objects, and matched against a message's attributes or body.

use std::collections::BTreeMap;

use crate::message::MessageAttribute;
use crate::SnsError;

/// Checks a filter policy's text.
// TODO(merge): hearth_patterns — parse with `Pattern::parse(text, Dialect::SnsMessageAttributes
// | Dialect::SnsMessageBody)` (by the subscription's scope) and answer its `PatternError`.
pub fn check(text: &str) -> Result<(), SnsError> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        _ => Err(SnsError::invalid("FilterPolicy: failed to parse JSON.")),
    }
}

/// What a filter policy looks at: the message's attributes, or its body (when the
/// subscription's `FilterPolicyScope` is `MessageBody`).
pub enum Scope<'a> {
    Attributes(&'a BTreeMap<String, MessageAttribute>),
    Body(&'a str),
}

/// The JSON document a policy of `scope` is matched against: attributes as
/// `{"name": value}` (a `Number` as a number, a `String.Array` as its array), or the body
/// parsed (a body that is not JSON matches no body policy).
pub fn document(scope: &Scope<'_>) -> Option<serde_json::Value> {
    match scope {
        Scope::Body(body) => serde_json::from_str(body).ok(),
        Scope::Attributes(attrs) => {
            let mut doc = serde_json::Map::new();
            for (name, a) in attrs.iter() {
                let Some(text) = a.string_value.as_deref() else {
                    continue;
                };
                let value = if a.data_type.starts_with("Number") {
                    text.parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map_or_else(|| text.into(), serde_json::Value::Number)
                } else if a.data_type == "String.Array" {
                    serde_json::from_str(text).unwrap_or_else(|_| text.into())
                } else {
                    serde_json::Value::String(text.to_string())
                };
                doc.insert(name.clone(), value);
            }
            Some(serde_json::Value::Object(doc))
        }
    }
}

/// Whether a message passes `policy` (the subscription's `FilterPolicy`; none passes
/// everything).
// TODO(merge): hearth_patterns — `Pattern::parse(policy, dialect)?.matches(&doc)`; until
// then every key of the policy must be an array of exact values, one of which the
// document's value (or one of its array's values) equals.
pub fn matches(policy: Option<&str>, scope: &Scope<'_>) -> bool {
    let Some(policy) = policy else {
        return true;
    };
    let Ok(serde_json::Value::Object(policy)) = serde_json::from_str(policy) else {
        return false;
    };
    let Some(doc) = document(scope) else {
        return false;
    };
    policy.iter().all(|(key, allowed)| {
        let Some(value) = doc.get(key) else {
            return false;
        };
        let Some(allowed) = allowed.as_array() else {
            return false;
        };
        let values: Vec<&serde_json::Value> = match value {
            serde_json::Value::Array(items) => items.iter().collect(),
            v => vec![v],
        };
        values.iter().any(|v| allowed.contains(v))
    })
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
    }
}
