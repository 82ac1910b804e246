//! A JSON request body read into its model shape, refused as AWS's service framework
//! refuses it (EventBridge's and Scheduler's): a missing required member is `Member must
//! not be null` with the member named in camelCase; a member of the wrong type is a
//! `SerializationException` (AWS's words for it are UNSURE: serde's are given).

use serde::de::DeserializeOwned;
use serde_json::Value;

/// The shape `T` of `body`, or the error's code and message.
pub(crate) fn read<T: DeserializeOwned>(body: &Value) -> Result<T, (&'static str, String)> {
    T::deserialize(body).map_err(|e| {
        let text = e.to_string();
        match text
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            Some(field) => (
                "ValidationException",
                format!(
                    "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                    camel(field)
                ),
            ),
            None => ("SerializationException", text),
        }
    })
}

/// `EventBusName` → `eventBusName`, as the framework names members.
fn camel(field: &str) -> String {
    let mut chars = field.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_ascii_lowercase().to_string() + chars.as_str()
    })
}
