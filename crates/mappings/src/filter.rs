//! A mapping's `FilterCriteria`: each filter's `Pattern` checked when the mapping is
//! written ([`check`]) and matched against each SQS record before a batch is made
//! ([`keeps`]). A record that no filter matches is deleted from the queue unseen, as
//! Lambda does.
//!
//! The grammar is the event-pattern one that EventBridge, SNS and Lambda share. Until
//! the shared matcher is merged only its common core is matched here: exact values,
//! `prefix`, `exists` and `anything-but` of a value list, nested objects; every other
//! operator is refused at write time rather than matched wrongly.
// TODO(merge): hearth_patterns — `check` becomes `Pattern::parse(text,
// Dialect::LambdaFilter)` (its error's Display is AWS's message) and `keeps` its
// `matches`; this file's matcher goes.

use serde_json::Value;

/// Lambda's answer for a pattern it cannot read.
pub const INVALID_PATTERN: &str = "Invalid filter pattern definition.";

/// Whether `pattern` is a filter pattern this build can match: a JSON object whose leaves
/// are arrays of values or of supported operators. `Err` carries Lambda's message.
pub fn check(pattern: &str) -> Result<(), String> {
    let v: Value = serde_json::from_str(pattern).map_err(|_| INVALID_PATTERN.to_string())?;
    match &v {
        Value::Object(o) if !o.is_empty() => check_object(o),
        _ => Err(INVALID_PATTERN.to_string()),
    }
}

fn check_object(o: &serde_json::Map<String, Value>) -> Result<(), String> {
    for v in o.values() {
        match v {
            Value::Object(inner) if !inner.is_empty() => check_object(inner)?,
            Value::Array(items) if !items.is_empty() => {
                for item in items {
                    check_matcher(item)?;
                }
            }
            _ => return Err(INVALID_PATTERN.to_string()),
        }
    }
    Ok(())
}

fn check_matcher(item: &Value) -> Result<(), String> {
    let Value::Object(op) = item else {
        return Ok(());
    };
    let supported = op.len() == 1
        && match op.iter().next() {
            Some((k, Value::String(_))) if k == "prefix" => true,
            Some((k, Value::Bool(_))) if k == "exists" => true,
            Some((k, Value::Array(list))) if k == "anything-but" => {
                list.iter().all(|v| !v.is_object() && !v.is_array())
            }
            Some((k, v)) if k == "anything-but" => !v.is_object() && !v.is_array(),
            _ => false,
        };
    if supported {
        Ok(())
    } else {
        Err(INVALID_PATTERN.to_string())
    }
}

/// Whether a record (the Lambda SQS record, its `body` parsed when it is JSON) passes the
/// mapping's filters: any one matching is enough; no filters keep everything.
pub fn keeps(patterns: &[String], record: &Value) -> bool {
    patterns.is_empty()
        || patterns.iter().any(|p| {
            serde_json::from_str::<Value>(p)
                .ok()
                .and_then(|p| p.as_object().map(|o| matches_object(o, Some(record))))
                .unwrap_or(false)
        })
}

fn matches_object(pattern: &serde_json::Map<String, Value>, doc: Option<&Value>) -> bool {
    pattern.iter().all(|(key, want)| {
        let field = doc.and_then(|d| d.get(key));
        match want {
            Value::Object(inner) => matches_object(inner, field),
            Value::Array(matchers) => matchers.iter().any(|m| matches_leaf(m, field)),
            _ => false,
        }
    })
}

/// One matcher against a field's value; an array value matches if any element does.
fn matches_leaf(matcher: &Value, field: Option<&Value>) -> bool {
    if let Value::Object(op) = matcher {
        if let Some(Value::Bool(want)) = op.get("exists") {
            return field.is_some() == *want;
        }
    }
    let Some(field) = field else {
        return false;
    };
    if let Value::Array(items) = field {
        return items.iter().any(|i| matches_value(matcher, i));
    }
    matches_value(matcher, field)
}

fn matches_value(matcher: &Value, value: &Value) -> bool {
    match matcher {
        Value::Object(op) => match op.iter().next() {
            Some((k, Value::String(prefix))) if k == "prefix" => value
                .as_str()
                .is_some_and(|s| s.starts_with(prefix.as_str())),
            Some((k, Value::Array(list))) if k == "anything-but" => {
                !list.iter().any(|v| same(v, value))
            }
            Some((k, v)) if k == "anything-but" => !same(v, value),
            _ => false,
        },
        other => same(other, value),
    }
}

/// Equal as the grammar compares values: numbers by value.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn patterns_that_are_not_json_objects_of_matchers_are_refused() {
        assert!(check(r#"{"body": {"kind": ["a"]}}"#).is_ok());
        assert!(check(r#"{"body": {"n": [{"anything-but": [1, 2]}]}}"#).is_ok());
        for bad in ["not json", "[]", "{}", r#"{"body": "x"}"#, r#"{"a": []}"#] {
            assert_eq!(check(bad), Err(INVALID_PATTERN.to_string()), "{bad}");
        }
    }

    #[test]
    fn a_record_matches_if_any_filter_does() {
        let rec = json!({"body": {"kind": "order", "n": 3, "tags": ["x", "y"]},
                         "attributes": {"ApproximateReceiveCount": "1"}});
        let f = |p: &str| keeps(&[p.to_string()], &rec);
        assert!(f(r#"{"body": {"kind": ["order"]}}"#));
        assert!(!f(r#"{"body": {"kind": ["refund"]}}"#));
        assert!(f(r#"{"body": {"kind": [{"prefix": "ord"}]}}"#));
        assert!(f(r#"{"body": {"n": [3]}}"#));
        assert!(f(r#"{"body": {"tags": ["y"]}}"#));
        assert!(f(r#"{"body": {"missing": [{"exists": false}]}}"#));
        assert!(!f(r#"{"body": {"kind": [{"anything-but": ["order"]}]}}"#));
        assert!(keeps(
            &[
                r#"{"body": {"kind": ["refund"]}}"#.to_string(),
                r#"{"attributes": {"ApproximateReceiveCount": ["1"]}}"#.to_string()
            ],
            &rec
        ));
        assert!(keeps(&[], &rec));
    }
}
