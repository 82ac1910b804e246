//! The event Lambda invokes a function with for a batch of SQS messages (`Records[]`),
//! and what it makes of the function's answer when the mapping reports batch item
//! failures.

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use crate::client::{AttributeValue, Message};

/// The system attributes Lambda passes on in a record's `attributes`.
const SYSTEM_ATTRIBUTES: &[&str] = &[
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
];

/// One message as a record of the Lambda SQS event.
pub fn record(m: &Message, queue_arn: &str, region: &str) -> Value {
    let attributes: Map<String, Value> = SYSTEM_ATTRIBUTES
        .iter()
        .filter_map(|k| m.attributes.get(*k).map(|v| (k.to_string(), json!(v))))
        .collect();
    let message_attributes: Map<String, Value> = m
        .message_attributes
        .iter()
        .map(|(k, v)| (k.clone(), attribute(v)))
        .collect();
    let mut r = json!({
        "messageId": m.message_id,
        "receiptHandle": m.receipt_handle,
        "body": m.body,
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": m.md5_of_body,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    });
    if let Some(md5) = &m.md5_of_message_attributes {
        r["md5OfMessageAttributes"] = json!(md5);
    }
    r
}

/// A message attribute in Lambda's casing.
fn attribute(v: &AttributeValue) -> Value {
    let mut a = Map::new();
    if let Some(s) = &v.string_value {
        a.insert("stringValue".into(), json!(s));
    }
    if let Some(b) = &v.binary_value {
        a.insert("binaryValue".into(), json!(b));
    }
    a.insert("stringListValues".into(), json!(v.string_list_values));
    a.insert("binaryListValues".into(), json!(v.binary_list_values));
    a.insert("dataType".into(), json!(v.data_type));
    Value::Object(a)
}

/// What a function's answer says of its batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOutcome {
    /// Every message was processed: delete them all.
    Success,
    /// These message ids failed: keep them, delete the rest.
    Partial(Vec<String>),
    /// The whole batch failed (an error, or an answer that is not a valid report).
    Failure,
}

/// Reads a `ReportBatchItemFailures` answer as Lambda documents it: an empty or null
/// answer, or an empty or null `batchItemFailures`, is a success; an answer that is not
/// JSON, or an item whose `itemIdentifier` is missing, empty, null, or not a message of
/// the batch, fails the whole batch.
pub fn item_failures(payload: &[u8], batch: &[String]) -> BatchOutcome {
    let text = std::str::from_utf8(payload).unwrap_or("").trim();
    if text.is_empty() {
        return BatchOutcome::Success;
    }
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return BatchOutcome::Failure;
    };
    let failures = match &v {
        Value::Null => return BatchOutcome::Success,
        Value::Object(o) => match o.get("batchItemFailures") {
            None | Some(Value::Null) => return BatchOutcome::Success,
            Some(Value::Array(items)) => items,
            Some(_) => return BatchOutcome::Failure,
        },
        _ => return BatchOutcome::Failure,
    };
    if failures.is_empty() {
        return BatchOutcome::Success;
    }
    let known: HashSet<&str> = batch.iter().map(String::as_str).collect();
    let mut ids = Vec::new();
    for item in failures {
        match item.get("itemIdentifier").and_then(Value::as_str) {
            Some(id) if !id.is_empty() && known.contains(id) => ids.push(id.to_string()),
            _ => return BatchOutcome::Failure,
        }
    }
    BatchOutcome::Partial(ids)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn message() -> Message {
        Message {
            message_id: "m1".into(),
            receipt_handle: "rh".into(),
            body: r#"{"kind":"order"}"#.into(),
            md5_of_body: "abc".into(),
            md5_of_message_attributes: Some("def".into()),
            attributes: BTreeMap::from([
                ("ApproximateReceiveCount".into(), "1".into()),
                ("SentTimestamp".into(), "1700000000000".into()),
                ("SenderId".into(), "AIDA".into()),
                (
                    "ApproximateFirstReceiveTimestamp".into(),
                    "1700000000001".into(),
                ),
                ("Policy".into(), "not a message attribute".into()),
            ]),
            message_attributes: BTreeMap::from([(
                "team".into(),
                AttributeValue {
                    data_type: "String".into(),
                    string_value: Some("a".into()),
                    ..Default::default()
                },
            )]),
        }
    }

    #[test]
    fn a_record_is_lambdas_sqs_record() {
        let r = record(
            &message(),
            "arn:aws:sqs:us-east-1:000000000000:q",
            "us-east-1",
        );
        assert_eq!(
            r,
            json!({
                "messageId": "m1", "receiptHandle": "rh", "body": "{\"kind\":\"order\"}",
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000",
                               "SenderId": "AIDA", "ApproximateFirstReceiveTimestamp": "1700000000001"},
                "messageAttributes": {"team": {"stringValue": "a", "stringListValues": [],
                                               "binaryListValues": [], "dataType": "String"}},
                "md5OfBody": "abc", "md5OfMessageAttributes": "def",
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:q",
                "awsRegion": "us-east-1"
            })
        );
    }

    #[test]
    fn batch_item_failures_are_read_as_lambda_documents() {
        let batch = vec!["a".to_string(), "b".to_string()];
        let f = |s: &str| item_failures(s.as_bytes(), &batch);
        assert_eq!(f(""), BatchOutcome::Success);
        assert_eq!(f("null"), BatchOutcome::Success);
        assert_eq!(f("{}"), BatchOutcome::Success);
        assert_eq!(f(r#"{"batchItemFailures": []}"#), BatchOutcome::Success);
        assert_eq!(f(r#"{"batchItemFailures": null}"#), BatchOutcome::Success);
        assert_eq!(
            f(r#"{"batchItemFailures": [{"itemIdentifier": "b"}]}"#),
            BatchOutcome::Partial(vec!["b".into()])
        );
        assert_eq!(f("not json"), BatchOutcome::Failure);
        assert_eq!(
            f(r#"{"batchItemFailures": [{"itemIdentifier": ""}]}"#),
            BatchOutcome::Failure
        );
        assert_eq!(
            f(r#"{"batchItemFailures": [{"itemIdentifier": "zzz"}]}"#),
            BatchOutcome::Failure
        );
        assert_eq!(
            f(r#"{"batchItemFailures": [{"id": "a"}]}"#),
            BatchOutcome::Failure
        );
    }
}
