//! Lambda's side of filtering: the document a mapping's filter is matched against.

use serde_json::Value;

/// The document Lambda matches an SQS record against: the record as the function receives
/// it (`messageId`, `body`, `attributes`, `messageAttributes`, ...), with `body` replaced
/// by its parse when the body is a JSON object.
///
/// Lambda documents that it checks the body's format against the pattern's: a JSON body
/// is filtered by a pattern that looks inside `body` (`{"body": {"k": [...]}}`) and a
/// plain-string body by a pattern on the text (`{"body": ["text"]}`); a mismatch drops the
/// message. Parsing only JSON objects gives exactly that: a nested pattern finds no fields
/// in a string, and a leaf pattern finds no value in an object. A body that is a JSON
/// scalar or array (`42`, `"x"`, `[1]`) is kept as text, since only an object can carry
/// the fields a nested pattern names, and a leaf pattern written for it compares the text.
pub fn lambda_sqs_document(record: &Value) -> Value {
    let mut doc = record.clone();
    if let Some(body) = doc.get_mut("body") {
        if let Some(Value::Object(parsed)) = body
            .as_str()
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .filter(Value::is_object)
        {
            *body = Value::Object(parsed);
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_object_bodies_are_parsed_others_kept() {
        let doc = lambda_sqs_document(&json!({"messageId": "1", "body": "{\"a\": 1}"}));
        assert_eq!(doc, json!({"messageId": "1", "body": {"a": 1}}));
        let doc = lambda_sqs_document(&json!({"body": "plain"}));
        assert_eq!(doc, json!({"body": "plain"}));
        let doc = lambda_sqs_document(&json!({"body": "42"}));
        assert_eq!(doc, json!({"body": "42"}));
        let doc = lambda_sqs_document(&json!({"body": "{broken"}));
        assert_eq!(doc, json!({"body": "{broken"}));
    }
}
