//! A mapping's `FilterCriteria`: each filter's `Pattern` checked when the mapping is
//! written ([`check`]) and matched against each SQS record before a batch is made
//! ([`keeps`]), with the one event-pattern matcher (`hearth-patterns`, its Lambda
//! dialect). A record that no filter matches is deleted from the queue unseen, as
//! Lambda does.

use hearth_patterns::{lambda_sqs_document, Dialect, Pattern};
use serde_json::Value;

/// Whether `pattern` is a filter pattern Lambda accepts; `Err` carries Lambda's message.
pub fn check(pattern: &str) -> Result<(), String> {
    Pattern::parse(pattern, Dialect::LambdaFilter)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Whether a record (the Lambda SQS record as the function would get it) passes the
/// mapping's filters: any one matching is enough; no filters keep everything. The body
/// is matched as JSON when it is a JSON object, else as its text.
pub fn keeps(patterns: &[String], record: &Value) -> bool {
    if patterns.is_empty() {
        return true;
    }
    let doc = lambda_sqs_document(record);
    patterns.iter().any(|p| {
        Pattern::parse(p, Dialect::LambdaFilter).is_ok_and(|pattern| pattern.matches(&doc))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn patterns_that_are_not_json_objects_of_matchers_are_refused() {
        assert!(check(r#"{"body": {"kind": ["a"]}}"#).is_ok());
        assert!(check(r#"{"body": {"n": [{"anything-but": [1, 2]}]}}"#).is_ok());
        assert!(check(r#"{"body": {"n": [{"numeric": [">", 1]}]}}"#).is_ok());
        for bad in [
            "not json",
            "[]",
            r#"{"body": "x"}"#,
            r#"{"a": [{"bogus": 1}]}"#,
        ] {
            assert_eq!(
                check(bad),
                Err("Invalid filter pattern definition.".to_string()),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_record_matches_if_any_filter_does() {
        let rec = json!({"body": r#"{"kind": "order", "n": 3, "tags": ["x", "y"]}"#,
                         "attributes": {"ApproximateReceiveCount": "1"}});
        let f = |p: &str| keeps(&[p.to_string()], &rec);
        assert!(f(r#"{"body": {"kind": ["order"]}}"#));
        assert!(!f(r#"{"body": {"kind": ["refund"]}}"#));
        assert!(f(r#"{"body": {"kind": [{"prefix": "ord"}]}}"#));
        assert!(f(r#"{"body": {"n": [3]}}"#));
        assert!(f(r#"{"body": {"n": [{"numeric": [">", 2, "<=", 3]}]}}"#));
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
        // A plain-text body matches only a plain-text pattern.
        let text = json!({"body": "hello"});
        assert!(keeps(&[r#"{"body": ["hello"]}"#.to_string()], &text));
        assert!(!keeps(
            &[r#"{"body": {"kind": ["order"]}}"#.to_string()],
            &text
        ));
    }
}
