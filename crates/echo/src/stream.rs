//! Streaming function for Hearth's end-to-end tests, on the official `lambda_runtime`
//! crate's response streaming (`lambda_runtime::streaming`): writes each of the event's
//! `chunks`, waiting `waitMs` between them. The crate sends its metadata prelude (status,
//! headers, cookies) and eight NUL bytes before the body, with content type
//! `application/vnd.awslambda.http-integration-response`.

use std::time::Duration;

use lambda_runtime::streaming::{channel, Body, Response};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

async fn handler(event: LambdaEvent<Value>) -> Result<Response<Body>, Error> {
    let chunks: Vec<String> = event.payload["chunks"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let wait = Duration::from_millis(event.payload["waitMs"].as_u64().unwrap_or(0));
    let (mut tx, rx) = channel();
    tokio::spawn(async move {
        for (i, chunk) in chunks.into_iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(wait).await;
            }
            if tx.send_data(chunk.into()).await.is_err() {
                return;
            }
        }
    });
    Ok(Response::from(rx))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
