//! SNS's side of filtering: the documents a policy is matched against (typed message
//! attributes, or the message body) and the limits SNS puts on a policy, from
//! <https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html>.

use crate::{Dialect, PatternError};
use serde_json::{Map, Number, Value};

/// "The maximum size of a filter policy is 256 KB."
const MAX_POLICY_BYTES: usize = 256 * 1024;
/// "A filter policy can have a maximum of five keys" (for a nested policy, the top-level
/// ones).
const MAX_KEYS: usize = 5;
/// "The total combination of values in a filter policy must not exceed 150."
const MAX_COMBINATIONS: u128 = 150;

/// The document an attribute-scope policy is matched against, built from a message's
/// attributes as (name, `DataType`, `StringValue`):
/// - `String` (and custom `String.x` types): the string;
/// - `String.Array`: the parsed JSON array (its strings, numbers, booleans and nulls each a
///   value that can match); a value that is not a JSON array stays a string;
/// - `Number` (and `Number.x`): the number, so that numeric and exact number matching
///   compare by value; a value that is not a number stays a string;
/// - `Binary`: left out, since SNS does not filter on binary attributes.
pub fn sns_attributes_document(attrs: impl IntoIterator<Item = (String, String, String)>) -> Value {
    let mut doc = Map::new();
    for (name, data_type, value) in attrs {
        let base = data_type.split('.').next().unwrap_or_default();
        // `String.Array` is SNS's array type; the SNS guide's examples also show a
        // `Number.Array`, read the same way.
        let v = if data_type.ends_with(".Array") {
            match serde_json::from_str::<Value>(&value) {
                Ok(array @ Value::Array(_)) => array,
                _ => Value::String(value),
            }
        } else if base == "Number" {
            match value.trim().parse::<Number>() {
                Ok(n) => Value::Number(n),
                Err(_) => Value::String(value),
            }
        } else if base == "Binary" {
            continue;
        } else {
            Value::String(value)
        };
        doc.insert(name, v);
    }
    Value::Object(doc)
}

/// The document a body-scope policy is matched against: the message parsed as a JSON
/// object. `None` for any other message, which no body-scope policy matches ("payload-based
/// filtering assumes the message is a well-formed JSON object"); callers drop the message
/// for such a subscription.
pub fn sns_body_document(message: &str) -> Option<Value> {
    match serde_json::from_str::<Value>(message) {
        Ok(doc @ Value::Object(_)) => Some(doc),
        _ => None,
    }
}

pub(crate) fn check_size(text: &str, dialect: Dialect) -> Result<(), PatternError> {
    if text.len() > MAX_POLICY_BYTES {
        // SNS documents the limit but not its message; this wording is Hearth's.
        return Err(PatternError::new(
            dialect,
            "Filter policy is too large: the maximum size is 256 KB",
        ));
    }
    Ok(())
}

pub(crate) fn check_key_count(
    policy: &Map<String, Value>,
    dialect: Dialect,
) -> Result<(), PatternError> {
    if policy.len() > MAX_KEYS {
        return Err(PatternError::new(
            dialect,
            "Filter policy can not have more than 5 keys",
        ));
    }
    Ok(())
}

pub(crate) fn check_combinations(
    policy: &Map<String, Value>,
    dialect: Dialect,
) -> Result<(), PatternError> {
    if combinations(policy, 1, 1) > MAX_COMBINATIONS {
        return Err(PatternError::new(dialect, "Filter policy is too complex"));
    }
    Ok(())
}

/// SNS's count: the product, over the value arrays, of each array's length times the
/// depth of its key (the documented example: four values three levels deep and three
/// values two levels deep make 3 × 4 × 2 × 3 = 72); `$or` adds its branches' counts.
fn combinations(policy: &Map<String, Value>, depth: u128, so_far: u128) -> u128 {
    let mut total = so_far;
    for (key, value) in policy {
        match value {
            Value::Object(inner) => total = combinations(inner, depth + 1, total),
            Value::Array(items) if key == "$or" => {
                total = items
                    .iter()
                    .filter_map(Value::as_object)
                    .map(|branch| combinations(branch, depth, total))
                    .fold(0u128, u128::saturating_add);
            }
            Value::Array(items) => {
                total = total
                    .saturating_mul(items.len() as u128)
                    .saturating_mul(depth);
            }
            _ => {}
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Pattern;
    use serde_json::json;

    fn attrs(list: &[(&str, &str, &str)]) -> Value {
        sns_attributes_document(
            list.iter()
                .map(|(n, t, v)| (n.to_string(), t.to_string(), v.to_string())),
        )
    }

    #[test]
    fn attributes_become_typed_values() {
        let doc = attrs(&[
            ("s", "String", "hello"),
            ("custom", "String.custom", "x"),
            ("arr", "String.Array", r#"["a", 1, true, null]"#),
            ("bad_arr", "String.Array", "not json"),
            ("n", "Number", "210.75"),
            ("narr", "Number.Array", "[100, 50]"),
            ("n2", "Number.float", "1e3"),
            ("bad_n", "Number", "abc"),
            ("b", "Binary", "AAEC"),
        ]);
        assert_eq!(
            doc,
            json!({
                "s": "hello", "custom": "x", "arr": ["a", 1, true, null], "bad_arr": "not json",
                "n": 210.75, "narr": [100, 50], "n2": 1000.0, "bad_n": "abc"
            })
        );
    }

    #[test]
    fn body_document_is_a_json_object_or_nothing() {
        assert_eq!(sns_body_document(r#"{"a":1}"#), Some(json!({"a": 1})));
        assert_eq!(sns_body_document("[1]"), None);
        assert_eq!(sns_body_document("plain text"), None);
    }

    #[test]
    fn combinations_follow_the_documented_count() {
        let nested = json!({
            "key_a": {"key_b": {"key_c": ["value_one", "value_two", "value_three", "value_four"]}},
            "key_d": {"key_e": ["value_one", "value_two", "value_three"]}
        });
        assert_eq!(combinations(nested.as_object().expect("object"), 1, 1), 72);
        let flat = json!({"a": [1, 2, 3], "b": ["x", "y"], "$or": [{"c": [1]}, {"d": [1, 2]}]});
        assert_eq!(combinations(flat.as_object().expect("object"), 1, 1), 18);
    }

    #[test]
    fn limits_are_enforced_with_sns_messages() {
        let six = r#"{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"]}"#;
        let e = Pattern::parse(six, Dialect::SnsMessageAttributes).expect_err("six keys");
        assert_eq!(
            e.to_string(),
            "Invalid parameter: FilterPolicy: Filter policy can not have more than 5 keys"
        );
        let values: Vec<String> = (0..151).map(|i| format!("\"v{i}\"")).collect();
        let complex = format!(r#"{{"a":[{}]}}"#, values.join(","));
        let e = Pattern::parse(&complex, Dialect::SnsMessageBody).expect_err("151 combinations");
        assert_eq!(
            e.to_string(),
            "Invalid parameter: FilterPolicy: Filter policy is too complex"
        );
        let at_limit: Vec<String> = (0..150).map(|i| format!("\"v{i}\"")).collect();
        let ok = format!(r#"{{"a":[{}]}}"#, at_limit.join(","));
        assert!(Pattern::parse(&ok, Dialect::SnsMessageBody).is_ok());
        let huge = format!(r#"{{"a":["{}"]}}"#, "x".repeat(MAX_POLICY_BYTES));
        assert!(Pattern::parse(&huge, Dialect::SnsMessageAttributes).is_err());
    }

    #[test]
    fn attribute_scope_refuses_nesting_body_scope_allows_it() {
        let nested = r#"{"store": {"name": ["x"]}}"#;
        let e = Pattern::parse(nested, Dialect::SnsMessageAttributes).expect_err("nested");
        assert_eq!(
            e.to_string(),
            "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy"
        );
        let p = Pattern::parse(nested, Dialect::SnsMessageBody).expect("nested body policy");
        assert!(p.matches(&json!({"store": {"name": "x"}})));
    }

    #[test]
    fn an_empty_policy_matches_everything() {
        let p = Pattern::parse("{}", Dialect::SnsMessageAttributes).expect("empty is allowed");
        assert!(p.matches(&json!({})));
        let blank = Pattern::parse("", Dialect::SnsMessageBody).expect("blank is no filter");
        assert!(blank.matches(&json!({"a": 1})));
        assert!(Pattern::parse("{}", Dialect::EventBridge).is_err());
    }
}
