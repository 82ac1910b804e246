//! The invocation record sent to an OnSuccess or OnFailure destination; its shape is
//! written down in `docs/wire/destinations.md`.

use hearth_model::arn::{function_arn, LATEST};
use hearth_store::QueuedEvent;
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
