//! Messages: the attributes a sender gives (checked against SQS's rules and limits),
//! what a send answers, what a receive hands out, and the record kept in the store.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, SqsError};

/// Most message attributes on one message.
pub const MAX_ATTRIBUTES: usize = 10;

/// A message attribute's value: `String`, `Number` or `Binary`, optionally with a custom
/// suffix (`Number.float`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAttributeValue {
    pub data_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "b64")]
    pub binary_value: Option<Vec<u8>>,
}

mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| {
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

impl MessageAttributeValue {
    pub fn string(v: impl Into<String>) -> Self {
        Self {
            data_type: "String".into(),
            string_value: Some(v.into()),
            binary_value: None,
        }
    }

    /// Whether the type is `Binary` (or `Binary.<custom>`).
    pub fn is_binary(&self) -> bool {
        base_type(&self.data_type) == "Binary"
    }

    /// The bytes it counts towards the message size: name, type and value.
    fn size(&self, name: &str) -> usize {
        name.len()
            + self.data_type.len()
            + self.string_value.as_ref().map_or(0, String::len)
            + self.binary_value.as_ref().map_or(0, Vec::len)
    }
}

fn base_type(t: &str) -> &str {
    t.split('.').next().unwrap_or(t)
}

/// Whether `text` holds only the characters SQS accepts in a body or attribute value.
pub fn valid_characters(text: &str) -> bool {
    text.chars().all(|c| {
        matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
    })
}

const INVALID_CHARACTERS: &str = "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF";

/// Checks a message's attributes; answers their size in bytes.
pub fn check_attributes(
    attrs: &BTreeMap<String, MessageAttributeValue>,
) -> Result<usize, SqsError> {
    if attrs.len() > MAX_ATTRIBUTES {
        return Err(SqsError::invalid(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [{MAX_ATTRIBUTES}].",
            attrs.len()
        )));
    }
    let mut size = 0;
    for (name, v) in attrs {
        let name_ok = !name.is_empty()
            && name.len() <= 256
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && !name.starts_with('.')
            && !name.ends_with('.')
            && !name.contains("..")
            && !name.to_ascii_lowercase().starts_with("aws.")
            && !name.to_ascii_lowercase().starts_with("amazon.");
        if !name_ok {
            return Err(SqsError::invalid(format!(
                "Message (user) attribute name '{name}' is invalid."
            )));
        }
        if v.data_type.is_empty() {
            return Err(SqsError::invalid(format!(
                "The message attribute '{name}' must contain non-empty message attribute type."
            )));
        }
        let base = base_type(&v.data_type);
        if !matches!(base, "String" | "Number" | "Binary") {
            return Err(SqsError::invalid(format!(
                "The type of message (user) attribute '{name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String."
            )));
        }
        match base {
            "Binary" => {
                if v.binary_value.is_none() {
                    return Err(SqsError::invalid(format!(
                        "The message attribute '{name}' with type 'Binary' must use field 'Binary'."
                    )));
                }
            }
            _ => {
                let Some(s) = &v.string_value else {
                    return Err(SqsError::invalid(format!(
                        "The message attribute '{name}' with type '{base}' must use field 'String'."
                    )));
                };
                if s.is_empty() {
                    return Err(SqsError::invalid(format!(
                        "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{base}'."
                    )));
                }
                if !valid_characters(s) {
                    return Err(SqsError::new(
                        ErrorKind::InvalidMessageContents,
                        INVALID_CHARACTERS,
                    ));
                }
                if base == "Number" && s.parse::<f64>().is_err() {
                    return Err(SqsError::invalid(format!(
                        "Can't cast the value of message (user) attribute '{name}' to a number."
                    )));
                }
            }
        }
        size += v.size(name);
    }
    Ok(size)
}

/// Checks a body; answers its size.
pub fn check_body(body: &str) -> Result<usize, SqsError> {
    if body.is_empty() {
        return Err(SqsError::missing("MessageBody"));
    }
    if !valid_characters(body) {
        return Err(SqsError::new(
            ErrorKind::InvalidMessageContents,
            INVALID_CHARACTERS,
        ));
    }
    Ok(body.len())
}

/// A message to send, from a client or from Hearth itself ([`crate::Sqs::send_internal`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutgoingMessage {
    pub body: String,
    pub attributes: BTreeMap<String, MessageAttributeValue>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    /// Who sent it (`SenderId`): the caller's user id or account.
    pub sender_id: String,
    pub delay_seconds: Option<u32>,
}

/// A client's SendMessage (or one entry of a batch).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SendRequest {
    pub message: OutgoingMessage,
    /// `MessageSystemAttributes`: only `AWSTraceHeader`.
    pub system_attributes: BTreeMap<String, MessageAttributeValue>,
}

/// What a send answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentMessage {
    pub message_id: String,
    pub md5_of_body: String,
    pub md5_of_attributes: Option<String>,
    pub md5_of_system_attributes: Option<String>,
    /// FIFO queues only.
    pub sequence_number: Option<String>,
}

/// A ReceiveMessage request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReceiveRequest {
    pub max_messages: Option<i64>,
    pub visibility_timeout: Option<i64>,
    pub wait_seconds: Option<i64>,
    /// System attribute names (`AttributeNames` and `MessageSystemAttributeNames`).
    pub attribute_names: Vec<String>,
    pub message_attribute_names: Vec<String>,
    pub attempt_id: Option<String>,
}

/// A received message as the client gets it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub md5_of_body: String,
    pub body: String,
    pub attributes: BTreeMap<String, String>,
    pub md5_of_message_attributes: Option<String>,
    pub message_attributes: BTreeMap<String, MessageAttributeValue>,
}

/// A message's record in the store (its row's `data`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredMessage {
    pub id: String,
    pub body: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, MessageAttributeValue>,
    #[serde(default)]
    pub trace_header: Option<String>,
    pub md5_body: String,
    #[serde(default)]
    pub md5_attributes: Option<String>,
    #[serde(default)]
    pub md5_system: Option<String>,
    pub sent_ms: i64,
    pub sender_id: String,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub dedup_id: Option<String>,
    #[serde(default)]
    pub sequence_number: Option<String>,
    /// When it may first be received (its delay).
    pub available_ms: i64,
    /// The queue it was moved from, when a redrive put it here.
    #[serde(default)]
    pub dead_letter_source: Option<String>,
}

/// Whether `names` (AttributeNames or MessageAttributeNames) selects `name`: `All`, `.*`,
/// the name itself, or a prefix ending in `.*`.
pub(crate) fn selects(names: &[String], name: &str) -> bool {
    names.iter().any(|n| {
        n == "All"
            || n == ".*"
            || n == name
            || n.strip_suffix(".*")
                .is_some_and(|p| name.starts_with(p) && name[p.len()..].starts_with('.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_rules() {
        let mut a = BTreeMap::new();
        a.insert("ok".to_string(), MessageAttributeValue::string("v"));
        assert_eq!(check_attributes(&a).expect("valid"), 2 + 6 + 1);
        a.insert("AWS.x".to_string(), MessageAttributeValue::string("v"));
        assert!(check_attributes(&a).is_err());
        let mut n = BTreeMap::new();
        n.insert(
            "n".to_string(),
            MessageAttributeValue {
                data_type: "Number".into(),
                string_value: Some("abc".into()),
                binary_value: None,
            },
        );
        assert!(check_attributes(&n).is_err());
    }

    #[test]
    fn body_characters() {
        assert!(check_body("hello\n").is_ok());
        assert_eq!(
            check_body("a\u{1}").expect_err("control").kind,
            ErrorKind::InvalidMessageContents
        );
    }

    #[test]
    fn selection() {
        let names = vec!["foo.*".to_string(), "bar".to_string()];
        assert!(selects(&names, "foo.x"));
        assert!(!selects(&names, "foox"));
        assert!(selects(&names, "bar"));
        assert!(selects(&["All".to_string()], "x"));
    }
}
