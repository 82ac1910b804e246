//! Echo function for Hearth's end-to-end tests and `hearth-bench`, built on the official
//! `lambda_runtime` crate. Deployed as a `provided.al2023` function: the binary is zipped as
//! `bootstrap`.
//!
//! Returns the payload and the invocation context as the runtime client saw it, so the tests
//! can check the Runtime API headers and environment variables the crate insists on.
//! A payload of `{"fail": "message"}` returns an error instead. An SQS event (from an
//! event-source mapping) whose message bodies carry `{"sent_us": <epoch µs>}` gets a log
//! line per such message, `hearth-bench-sqs-latency-us <µs>`: how long after its sender
//! wrote it the handler saw it (`hearth-bench`'s send-to-handler figure; the sender and
//! the function share the host's clock).

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, context) = event.into_parts();
    if let Some(message) = payload.get("fail").and_then(Value::as_str) {
        return Err(message.to_string().into());
    }
    println!("rust-echo handling {}", context.request_id);
    report_queue_latency(&payload);
    Ok(json!({
        "rust": true,
        "event": payload,
        "context": {
            "request_id": context.request_id,
            "deadline": context.deadline,
            "invoked_function_arn": context.invoked_function_arn,
            "function_name": context.env_config.function_name,
            "memory": context.env_config.memory,
            "version": context.env_config.version,
            "log_stream": context.env_config.log_stream,
            "log_group": context.env_config.log_group,
        },
        "pid": std::process::id(),
    }))
}

/// Prints the send-to-handler latency of each SQS record that carries its send time.
fn report_queue_latency(payload: &Value) {
    let Some(records) = payload.get("Records").and_then(Value::as_array) else {
        return;
    };
    let now_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    for record in records {
        if record.get("eventSource").and_then(Value::as_str) != Some("aws:sqs") {
            continue;
        }
        let sent = record
            .get("body")
            .and_then(Value::as_str)
            .and_then(|b| serde_json::from_str::<Value>(b).ok())
            .and_then(|b| b.get("sent_us").and_then(Value::as_i64));
        if let Some(sent) = sent {
            println!("hearth-bench-sqs-latency-us {}", now_us - sent);
        }
    }
}

// One thread: the function handles one event at a time, and a work-stealing runtime
// would only add wake-ups between its threads to every invocation.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
