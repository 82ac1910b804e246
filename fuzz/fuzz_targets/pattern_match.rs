//! Any bytes as an event pattern and a document (split at the first NUL): each dialect's
//! parser refuses or accepts, never panics; what it accepts is matched against the
//! document, as SNS attributes and as a Lambda SQS record too. Beyond "never panics", it
//! checks that `anything-but` of a list is the complement of the list on a present value.
#![no_main]

use hearth_patterns::{
    lambda_sqs_document, sns_attributes_document, sns_body_document, Dialect, Pattern,
};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (pattern, doc_text) = text.split_once('\0').unwrap_or((text, "{}"));
    let doc: Value = serde_json::from_str(doc_text).unwrap_or(Value::String(doc_text.into()));
    for dialect in [
        Dialect::EventBridge,
        Dialect::SnsMessageAttributes,
        Dialect::SnsMessageBody,
        Dialect::LambdaFilter,
    ] {
        let Ok(p) = Pattern::parse(pattern, dialect) else {
            continue;
        };
        let _ = p.matches(&doc);
        let _ = p.matches(&lambda_sqs_document(&json!({"body": doc_text})));
        if let Some(body) = sns_body_document(doc_text) {
            let _ = p.matches(&body);
        }
        if let Value::Object(map) = &doc {
            let attrs = map.iter().map(|(k, v)| {
                let t = match v {
                    Value::Number(_) => "Number",
                    Value::Array(_) => "String.Array",
                    _ => "String",
                };
                (
                    k.clone(),
                    t.to_string(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_string),
                )
            });
            let _ = p.matches(&sns_attributes_document(attrs));
        }
    }
    // The complement law, on values taken from the document.
    if let Value::Object(map) = &doc {
        let strings: Vec<&str> = map.values().filter_map(Value::as_str).collect();
        if let Some((first, rest)) = strings.split_first() {
            let exact = json!({ "f": rest });
            let but = json!({ "f": [{ "anything-but": rest }] });
            if !rest.is_empty() {
                let e = Pattern::parse(&exact.to_string(), Dialect::EventBridge).expect("valid");
                let b = Pattern::parse(&but.to_string(), Dialect::EventBridge).expect("valid");
                let event = json!({ "f": first });
                assert_ne!(e.matches(&event), b.matches(&event), "{event} {rest:?}");
            }
        }
    }
});
