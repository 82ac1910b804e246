//! What the probe makes of a failed call: the SDK's own view of an expected error, printed
//! as a line (the error type it chose, the code and message it read, the HTTP status), and
//! an unexpected one turned into an `anyhow` error that says everything the SDK knew.

use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use serde_json::{json, Value};

use crate::print;

/// The name of the error type the SDK chose (`QueueDoesNotExist`, `NotFoundException`;
/// `Unhandled` for a code the model does not name): the variant of its operation's error
/// enum, as the derived `Debug` writes it.
fn variant(e: &impl std::fmt::Debug) -> String {
    let debug = format!("{e:?}");
    debug
        .split(['(', ' ', '{'])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Prints the line of a call that should have failed: `{"op": op, "error": {...}}`, with
/// `"error": null` when it did not.
pub(crate) fn print_failure<T, E>(op: &str, result: Result<T, SdkError<E>>)
where
    E: ProvideErrorMetadata + std::fmt::Debug + std::error::Error + 'static,
{
    let error = match result {
        Ok(_) => Value::Null,
        Err(SdkError::ServiceError(s)) => json!({
            "name": variant(s.err()),
            "code": s.err().code(),
            "status": s.raw().status().as_u16(),
            "message": s.err().message(),
        }),
        // Not an answer the SDK could read as an error of the service: say what it was.
        Err(other) => {
            json!({"name": "SdkError", "message": DisplayErrorContext(&other).to_string()})
        }
    };
    print(op, json!({ "error": error }));
}

/// `?` on an SDK call whose failure ends the flow, naming the call and all the SDK said.
pub(crate) trait OrFail<T> {
    fn or_fail(self, op: &str) -> anyhow::Result<T>;
}

impl<T, E> OrFail<T> for Result<T, SdkError<E>>
where
    E: std::error::Error + 'static,
{
    fn or_fail(self, op: &str) -> anyhow::Result<T> {
        self.map_err(|e| anyhow::anyhow!("{op}: {}", DisplayErrorContext(&e)))
    }
}
