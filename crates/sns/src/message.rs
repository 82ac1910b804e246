//! What a Publish carries and SNS's rules for it: message attributes (types `String`,
//! `Number`, `Binary` and their custom suffixes, `String.Array`), the subject, the size
//! limit, `MessageStructure: json` with its per-protocol messages, and FIFO's group and
//! deduplication ids.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::SnsError;

/// The most bytes of a message with its attributes (256 KiB).
pub const MAX_MESSAGE_BYTES: usize = 262_144;

/// One message attribute as the client gave it (a binary value base64-encoded, as the
/// query protocol carries it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAttribute {
    pub data_type: String,
    pub string_value: Option<String>,
    pub binary_value: Option<String>,
}

impl MessageAttribute {
    /// The type the envelopes show: `String`, `Number`, `Binary` or `String.Array`
    /// (a custom suffix is kept, as AWS does).
    pub fn value(&self) -> &str {
        self.string_value
            .as_deref()
            .or(self.binary_value.as_deref())
            .unwrap_or("")
    }
}

/// A publish request, validated against its topic by [`check`].
#[derive(Debug, Clone, Default)]
pub struct PublishInput {
    pub message: String,
    pub subject: Option<String>,
    pub message_structure: Option<String>,
    pub attributes: BTreeMap<String, MessageAttribute>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    /// The publisher's `X-Amzn-Trace-Id`, which a topic passes through to its queue
    /// subscriptions as their messages' `AWSTraceHeader` (`TracingConfig` `PassThrough`, the
    /// default; `Active` passes it on too).
    pub trace_header: Option<String>,
}

/// Checks a message attribute's name as SNS does: letters, digits, `_`, `-` and `.`, no
/// `.` first, last or twice in a row, under 256 bytes (ParameterValueInvalid).
fn check_attribute_name(name: &str) -> Result<(), SnsError> {
    if name.len() > 256 {
        return Err(SnsError::value_invalid(
            "Length of message attribute name must be less than 256 bytes.",
        ));
    }
    if name.starts_with('.') {
        return Err(SnsError::value_invalid(
            "Invalid message attribute name starting with character '.' was found.",
        ));
    }
    if name.ends_with('.') {
        return Err(SnsError::value_invalid(
            "Invalid message attribute name ending with character '.' was found.",
        ));
    }
    let mut last = '\0';
    for c in name.chars() {
        if !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
            return Err(SnsError::value_invalid(format!(
                "Invalid non-alphanumeric character '#x{:X}' was found in the message attribute name. Can only include alphanumeric characters, hyphens, underscores, or dots.",
                c as u32
            )));
        }
        if c == '.' && last == '.' {
            return Err(SnsError::value_invalid(
                "Message attribute name can not have successive '.' character.",
            ));
        }
        last = c;
    }
    Ok(())
}

/// Checks the message attributes (ParameterValueInvalid, as AWS answers).
pub fn check_attributes(attrs: &BTreeMap<String, MessageAttribute>) -> Result<(), SnsError> {
    for (name, a) in attrs {
        check_attribute_name(name)?;
        let data_type = a.data_type.as_str();
        let base = data_type.split('.').next().unwrap_or("");
        let custom_ok = data_type.len() == base.len()
            || data_type[base.len() + 1..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !matches!(base, "String" | "Number" | "Binary") || !custom_ok {
            return Err(SnsError::value_invalid(format!(
                "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
            )));
        }
        let (field, value) = if base == "Binary" {
            ("Binary", a.binary_value.as_deref())
        } else {
            ("String", a.string_value.as_deref())
        };
        let Some(value) = value else {
            return Err(SnsError::value_invalid(format!(
                "The message attribute '{name}' with type '{data_type}' must use field '{field}'."
            )));
        };
        if value.is_empty() {
            return Err(SnsError::value_invalid(format!(
                "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{data_type}'."
            )));
        }
        if base == "Number" && value.trim().parse::<f64>().is_err() {
            return Err(SnsError::value_invalid(format!(
                "Could not cast message attribute '{name}' value to number."
            )));
        }
    }
    Ok(())
}

/// Bytes counted against [`MAX_MESSAGE_BYTES`]: the message, and each attribute's name,
/// type and value.
pub fn size(input: &PublishInput) -> usize {
    input.message.len()
        + input
            .attributes
            .iter()
            .map(|(n, a)| n.len() + a.data_type.len() + a.value().len())
            .sum::<usize>()
}

/// Checks a publish for a topic (`fifo`, `content_dedup`): everything AWS checks before
/// it accepts a message.
pub fn check(input: &PublishInput, fifo: bool, content_dedup: bool) -> Result<(), SnsError> {
    if let Some(subject) = &input.subject {
        let ok = !subject.is_empty()
            && subject.chars().count() <= 100
            && subject
                .chars()
                .all(|c| c.is_ascii() && !c.is_ascii_control());
        if !ok {
            return Err(SnsError::invalid("Subject"));
        }
    }
    if input.message.is_empty() {
        return Err(SnsError::invalid("Empty message"));
    }
    if input.message.len() > MAX_MESSAGE_BYTES {
        return Err(SnsError::invalid("Message too long"));
    }
    if fifo {
        if input.group_id.is_none() {
            return Err(SnsError::invalid(
                "The MessageGroupId parameter is required for FIFO topics",
            ));
        }
        if input.dedup_id.is_none() && !content_dedup {
            return Err(SnsError::invalid(
                "The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
            ));
        }
        for (field, id) in [
            ("MessageGroupId", &input.group_id),
            ("MessageDeduplicationId", &input.dedup_id),
        ] {
            if let Some(id) = id {
                let ok =
                    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic());
                if !ok {
                    return Err(SnsError::invalid(field));
                }
            }
        }
    } else if input.dedup_id.is_some() {
        return Err(SnsError::invalid(
            "MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type",
        ));
    } else if input.group_id.is_some() {
        return Err(SnsError::invalid(
            "MessageGroupId Reason: The request includes MessageGroupId parameter that is not valid for this topic type",
        ));
    }
    if let Some(structure) = &input.message_structure {
        if structure != "json" {
            return Err(SnsError::invalid("MessageStructure"));
        }
        structured(&input.message)?;
    }
    check_attributes(&input.attributes)?;
    if size(input) > MAX_MESSAGE_BYTES {
        return Err(SnsError::invalid("Message too long"));
    }
    Ok(())
}

/// The per-protocol messages of a `MessageStructure: json` message: a JSON object of
/// strings with a `default` entry.
pub fn structured(message: &str) -> Result<BTreeMap<String, String>, SnsError> {
    let parsed: serde_json::Value = serde_json::from_str(message)
        .map_err(|_| SnsError::invalid("Message Structure - JSON message body failed to parse"))?;
    let serde_json::Value::Object(map) = parsed else {
        return Err(SnsError::invalid(
            "Message Structure - JSON message body failed to parse",
        ));
    };
    // Entries whose values are not strings are ignored, as AWS ignores them.
    let out: BTreeMap<String, String> = map
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k, s)),
            _ => None,
        })
        .collect();
    if !out.contains_key("default") {
        return Err(SnsError::invalid(
            "Message Structure - No default entry in JSON message body",
        ));
    }
    Ok(out)
}

/// The message a subscription of `protocol` receives.
pub fn for_protocol(input: &PublishInput, protocol: &str) -> String {
    match input.message_structure.as_deref() {
        Some("json") => match structured(&input.message) {
            Ok(map) => map
                .get(protocol)
                .or_else(|| map.get("default"))
                .cloned()
                .unwrap_or_default(),
            Err(_) => input.message.clone(),
        },
        _ => input.message.clone(),
    }
}

/// The deduplication id of a FIFO message: its own, else the SHA-256 of its body
/// (content-based deduplication).
pub fn dedup_id(input: &PublishInput) -> String {
    use sha2::Digest;
    input
        .dedup_id
        .clone()
        .unwrap_or_else(|| hex::encode(sha2::Sha256::digest(input.message.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(t: &str, s: Option<&str>) -> MessageAttribute {
        MessageAttribute {
            data_type: t.into(),
            string_value: s.map(str::to_string),
            binary_value: None,
        }
    }

    fn msg(m: &str) -> PublishInput {
        PublishInput {
            message: m.into(),
            ..Default::default()
        }
    }

    #[test]
    fn attributes_are_validated_as_sns_does() {
        let one = |a| BTreeMap::from([("a".to_string(), a)]);
        assert!(check_attributes(&one(attr("String", Some("x")))).is_ok());
        assert!(check_attributes(&one(attr("Number.int", Some("12")))).is_ok());
        let e = check_attributes(&one(attr("Nope", Some("x")))).expect_err("type");
        assert_eq!(e.code(), "ParameterValueInvalid");
        assert_eq!(
            e.to_string(),
            "The message attribute 'a' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
        );
        assert_eq!(
            check_attributes(&one(attr("Number", Some("x"))))
                .expect_err("nan")
                .to_string(),
            "Could not cast message attribute 'a' value to number."
        );
        assert_eq!(
            check_attributes(&one(attr("String", None)))
                .expect_err("no value")
                .to_string(),
            "The message attribute 'a' with type 'String' must use field 'String'."
        );
        assert_eq!(
            check_attributes(&one(attr("String.x", Some(""))))
                .expect_err("empty")
                .to_string(),
            "The message attribute 'a' must contain non-empty message attribute value for message attribute type 'String.x'."
        );
        let named = |n: &str| BTreeMap::from([(n.to_string(), attr("String", Some("x")))]);
        assert_eq!(
            check_attributes(&named("a b")).expect_err("space").to_string(),
            "Invalid non-alphanumeric character '#x20' was found in the message attribute name. Can only include alphanumeric characters, hyphens, underscores, or dots."
        );
        assert!(check_attributes(&named("a..b")).is_err());
        assert!(check_attributes(&named(".a")).is_err());
        assert!(check_attributes(&one(attr("String.Array", Some("[1,\"a\"]")))).is_ok());
    }

    #[test]
    fn publishes_are_checked() {
        assert_eq!(
            check(&msg(""), false, false)
                .expect_err("empty")
                .to_string(),
            "Invalid parameter: Empty message"
        );
        let long = msg(&"x".repeat(MAX_MESSAGE_BYTES + 1));
        assert_eq!(
            check(&long, false, false).expect_err("long").to_string(),
            "Invalid parameter: Message too long"
        );
        let mut fifo = msg("m");
        assert!(check(&fifo, true, true).is_err());
        fifo.group_id = Some("g".into());
        assert!(check(&fifo, true, true).is_ok());
        assert!(check(&fifo, true, false).is_err());
        assert!(check(&fifo, false, false).is_err());
        let mut subject = msg("m");
        subject.subject = Some("line\nbreak".into());
        assert!(check(&subject, false, false).is_err());
    }

    #[test]
    fn structured_messages_pick_the_protocols_entry() {
        let mut m = msg(r#"{"default":"d","sqs":"q"}"#);
        m.message_structure = Some("json".into());
        assert!(check(&m, false, false).is_ok());
        assert_eq!(for_protocol(&m, "sqs"), "q");
        assert_eq!(for_protocol(&m, "lambda"), "d");
        m.message = r#"{"sqs":"q"}"#.into();
        assert_eq!(
            check(&m, false, false).expect_err("no default").to_string(),
            "Invalid parameter: Message Structure - No default entry in JSON message body"
        );
        m.message = "nope".into();
        assert!(check(&m, false, false).is_err());
        assert_eq!(dedup_id(&msg("a")).len(), 64);
    }

    proptest::proptest! {
        /// Whatever a client sends, the checks answer (an error or not) without panicking,
        /// and a structured message that passes has its `default` entry for every protocol.
        #[test]
        fn checks_take_any_input(
            message in ".{0,64}",
            subject in proptest::option::of(".{0,8}"),
            name in ".{0,8}",
            data_type in "(String|Number|Binary|Nope)(\\.[a-z.]{0,3})?",
            value in proptest::option::of(".{0,8}"),
            json in proptest::bool::ANY,
            fifo in proptest::bool::ANY,
        ) {
            let input = PublishInput {
                message: message.clone(),
                subject,
                message_structure: json.then(|| "json".to_string()),
                attributes: BTreeMap::from([(name, MessageAttribute {
                    data_type,
                    string_value: value.clone(),
                    binary_value: value,
                })]),
                group_id: fifo.then(|| "g".to_string()),
                dedup_id: None,
                trace_header: None,
            };
            if check(&input, fifo, true).is_ok() && json {
                let map = structured(&message).expect("checked");
                proptest::prop_assert_eq!(for_protocol(&input, "nothing"), map["default"].clone());
            }
        }
    }
}
