//! The invocation record sent to an OnSuccess or OnFailure destination, and the message
//! sent to a dead-letter queue or topic; their shapes are written down in
//! `docs/wire/destinations.md`.

use hearth_model::arn::{function_arn, LATEST};
use hearth_store::QueuedEvent;
use hearth_triggers::{MessageAttribute, OutboundMessage};
use serde_json::{json, Value};

use crate::policy::{Condition, Outcome};

/// A payload as JSON when it is JSON, else as a string (what the function returned
/// need not be JSON); `null` when empty.
fn as_json(text: &[u8]) -> Value {
    if text.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(text)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(text).into_owned()))
}

/// The record for `event`, which ran `runs` times and ended with `condition`; `last` is
/// the function's last answer, if it ever answered.
pub(crate) fn destination_record(
    event: &QueuedEvent,
    payload: &[u8],
    condition: Condition,
    last: Option<&Outcome>,
    now: chrono::DateTime<chrono::Utc>,
) -> Value {
    let qualifier = event.qualifier.as_deref().unwrap_or(LATEST);
    let request_payload = match as_json(payload) {
        Value::Null => json!({}),
        v => v,
    };
    let mut record = json!({
        "version": "1.0",
        "timestamp": now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        "requestContext": {
            "requestId": event.request_id,
            "functionArn": function_arn(&event.function, Some(qualifier)),
            "condition": condition.as_str(),
            "approximateInvokeCount": event.progress.runs,
        },
        "requestPayload": request_payload,
    });
    if let Some(o) = last {
        let mut context = json!({
            "statusCode": o.status_code,
            "executedVersion": o.executed_version,
        });
        if let Some(fe) = &o.function_error {
            context["functionError"] = json!(fe);
        }
        record["responseContext"] = context;
        record["responsePayload"] = as_json(o.payload.as_bytes());
    }
    record
}

/// Lambda truncates a dead letter's `ErrorMessage` to 1 KB.
const ERROR_MESSAGE_MAX: usize = 1024;

/// The dead letter for `event`: its payload unchanged as the body, and why it failed as
/// attributes — `RequestID`, `ErrorCode` (the 3-digit HTTP status of the last answer:
/// 200 for a function error, 429 for a throttle; 500 when the function never answered)
/// and `ErrorMessage` (the function's `errorMessage`, else what it answered, else the
/// condition).
pub(crate) fn dead_letter_message(
    event: &QueuedEvent,
    payload: &[u8],
    last: Option<&Outcome>,
    condition: Condition,
) -> OutboundMessage {
    let code = last.map_or(500, |o| o.status_code);
    let message = last
        .map(|o| match serde_json::from_str::<Value>(&o.payload) {
            Ok(Value::Object(m)) => match m.get("errorMessage") {
                Some(Value::String(text)) => text.clone(),
                _ => o.payload.clone(),
            },
            _ => o.payload.clone(),
        })
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| condition.as_str().to_string());
    OutboundMessage {
        body: String::from_utf8_lossy(payload).into_owned(),
        attributes: vec![
            MessageAttribute::new("RequestID", "String", event.request_id.clone()),
            MessageAttribute::new("ErrorCode", "Number", code.to_string()),
            MessageAttribute::new(
                "ErrorMessage",
                "String",
                truncate(&message, ERROR_MESSAGE_MAX),
            ),
        ],
        detail_type: None,
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character.
fn truncate(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_store::Progress;

    #[test]
    fn failure_record_has_lambdas_shape() {
        let e = QueuedEvent {
            owner: None,
            seq: 7,
            request_id: "req-1".into(),
            function: "f".into(),
            qualifier: None,
            client_context: None,
            accepted_ms: 0,
            due_ms: 0,
            progress: Progress {
                runs: 3,
                ..Default::default()
            },
            trace_header: None,
            counts_lineage: false,
        };
        let last = Outcome {
            status_code: 200,
            executed_version: "$LATEST".into(),
            function_error: Some("Unhandled".into()),
            payload: r#"{"errorMessage":"boom","errorType":"E"}"#.into(),
        };
        let t = chrono::DateTime::from_timestamp(1_574_636_905, 651_000_000).expect("time");
        let r = destination_record(
            &e,
            br#"{"k": 1}"#,
            Condition::RetriesExhausted,
            Some(&last),
            t,
        );
        assert_eq!(
            r,
            json!({
                "version": "1.0",
                "timestamp": "2019-11-24T23:08:25.651Z",
                "requestContext": {
                    "requestId": "req-1",
                    "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST",
                    "condition": "RetriesExhausted",
                    "approximateInvokeCount": 3
                },
                "requestPayload": {"k": 1},
                "responseContext": {
                    "statusCode": 200,
                    "executedVersion": "$LATEST",
                    "functionError": "Unhandled"
                },
                "responsePayload": {"errorMessage": "boom", "errorType": "E"}
            })
        );
    }

    #[test]
    fn non_json_and_empty_payloads() {
        assert_eq!(as_json(b"plain"), json!("plain"));
        assert_eq!(as_json(b"  "), Value::Null);
        assert_eq!(as_json(b"42"), json!(42));
    }
}
