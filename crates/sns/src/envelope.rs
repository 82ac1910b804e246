//! What a subscriber receives, exactly as AWS writes it: the JSON document of an HTTP POST
//! or an SQS message body (`Notification`, `SubscriptionConfirmation`,
//! `UnsubscribeConfirmation`), and the Lambda event (`Records[].Sns`), each signed over
//! AWS's canonical string of its type.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::message::MessageAttribute;
use crate::sign::{canonical, Signer, Version};

/// The type of an SNS message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Notification,
    SubscriptionConfirmation,
    UnsubscribeConfirmation,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notification => "Notification",
            Self::SubscriptionConfirmation => "SubscriptionConfirmation",
            Self::UnsubscribeConfirmation => "UnsubscribeConfirmation",
        }
    }
}

/// One message to one subscriber, as the delivery queue keeps it until delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub kind: Kind,
    pub message_id: String,
    pub topic_arn: String,
    pub subscription_arn: String,
    /// The message for this subscriber's protocol (`MessageStructure: json` resolved).
    pub message: String,
    pub subject: Option<String>,
    /// `2026-12-03T04:31:02.123Z`.
    pub timestamp: String,
    pub attributes: BTreeMap<String, MessageAttribute>,
    pub sequence_number: Option<String>,
    /// Confirmation messages: the token ConfirmSubscription takes.
    pub token: Option<String>,
    /// The topic's `SignatureVersion` when the message was published.
    pub signature_version: String,
}

/// Where a message's URLs point: Hearth's own endpoint.
#[derive(Debug, Clone)]
pub struct Urls<'a> {
    /// `http://127.0.0.1:9001` (no trailing slash).
    pub base: &'a str,
    pub signer: &'a Signer,
}

fn encode(v: &str) -> String {
    form_encode(v)
}

/// Percent-encodes a query value (everything but unreserved characters).
pub fn form_encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Urls<'_> {
    pub fn cert_url(&self) -> String {
        format!(
            "{}/SimpleNotificationService-{}.pem",
            self.base, self.signer.cert_id
        )
    }

    pub fn unsubscribe_url(&self, subscription: &str) -> String {
        format!(
            "{}/?Action=Unsubscribe&SubscriptionArn={}",
            self.base,
            encode(subscription)
        )
    }

    pub fn subscribe_url(&self, topic: &str, token: &str) -> String {
        format!(
            "{}/?Action=ConfirmSubscription&TopicArn={}&Token={}",
            self.base,
            encode(topic),
            encode(token)
        )
    }
}

/// The envelope's `MessageAttributes`: `{"name": {"Type": ..., "Value": ...}}`.
fn attributes_json(attrs: &BTreeMap<String, MessageAttribute>) -> Value {
    Value::Object(
        attrs
            .iter()
            .map(|(k, a)| (k.clone(), json!({"Type": a.data_type, "Value": a.value()})))
            .collect(),
    )
}

/// Fields in order, written as one JSON object in that order (serde_json's maps sort).
fn object(fields: &[(&str, Value)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::String((*k).to_string()).to_string());
        out.push(':');
        out.push_str(&v.to_string());
    }
    out.push('}');
    out
}

impl Message {
    fn version(&self) -> Version {
        Version::of(&self.signature_version)
    }

    /// The canonical string AWS signs for this message's type.
    pub fn canonical(&self, urls: &Urls<'_>) -> String {
        match self.kind {
            Kind::Notification => canonical(&[
                ("Message", Some(&self.message)),
                ("MessageId", Some(&self.message_id)),
                ("Subject", self.subject.as_deref()),
                ("Timestamp", Some(&self.timestamp)),
                ("TopicArn", Some(&self.topic_arn)),
                ("Type", Some(self.kind.as_str())),
            ]),
            _ => {
                let token = self.token.as_deref().unwrap_or("");
                canonical(&[
                    ("Message", Some(&self.message)),
                    ("MessageId", Some(&self.message_id)),
                    (
                        "SubscribeURL",
                        Some(&urls.subscribe_url(&self.topic_arn, token)),
                    ),
                    ("Timestamp", Some(&self.timestamp)),
                    ("Token", Some(token)),
                    ("TopicArn", Some(&self.topic_arn)),
                    ("Type", Some(self.kind.as_str())),
                ])
            }
        }
    }

    /// The JSON document an HTTP endpoint or an SQS queue receives.
    pub fn envelope(&self, urls: &Urls<'_>) -> String {
        let signature = urls.signer.sign(&self.canonical(urls), self.version());
        let s = |v: &str| Value::String(v.to_string());
        let mut fields: Vec<(&str, Value)> = vec![
            ("Type", s(self.kind.as_str())),
            ("MessageId", s(&self.message_id)),
        ];
        match self.kind {
            Kind::Notification => {
                if let Some(seq) = &self.sequence_number {
                    fields.push(("SequenceNumber", s(seq)));
                }
                fields.push(("TopicArn", s(&self.topic_arn)));
                if let Some(subject) = &self.subject {
                    fields.push(("Subject", s(subject)));
                }
                fields.push(("Message", s(&self.message)));
                fields.push(("Timestamp", s(&self.timestamp)));
                fields.push(("SignatureVersion", s(&self.signature_version)));
                fields.push(("Signature", s(&signature)));
                fields.push(("SigningCertURL", s(&urls.cert_url())));
                fields.push((
                    "UnsubscribeURL",
                    s(&urls.unsubscribe_url(&self.subscription_arn)),
                ));
                if !self.attributes.is_empty() {
                    fields.push(("MessageAttributes", attributes_json(&self.attributes)));
                }
            }
            _ => {
                let token = self.token.as_deref().unwrap_or("");
                fields.push(("Token", s(token)));
                fields.push(("TopicArn", s(&self.topic_arn)));
                fields.push(("Message", s(&self.message)));
                fields.push((
                    "SubscribeURL",
                    s(&urls.subscribe_url(&self.topic_arn, token)),
                ));
                fields.push(("Timestamp", s(&self.timestamp)));
                fields.push(("SignatureVersion", s(&self.signature_version)));
                fields.push(("Signature", s(&signature)));
                fields.push(("SigningCertURL", s(&urls.cert_url())));
            }
        }
        object(&fields)
    }

    /// The event a Lambda function subscribed to the topic is invoked with.
    pub fn lambda_event(&self, urls: &Urls<'_>) -> Value {
        let signature = urls.signer.sign(&self.canonical(urls), self.version());
        json!({
            "Records": [{
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": self.subscription_arn,
                "Sns": {
                    "Type": self.kind.as_str(),
                    "MessageId": self.message_id,
                    "TopicArn": self.topic_arn,
                    "Subject": self.subject,
                    "Message": self.message,
                    "Timestamp": self.timestamp,
                    "SignatureVersion": self.signature_version,
                    "Signature": signature,
                    "SigningCertUrl": urls.cert_url(),
                    "UnsubscribeUrl": urls.unsubscribe_url(&self.subscription_arn),
                    "MessageAttributes": attributes_json(&self.attributes),
                }
            }]
        })
    }
}

/// The confirmation messages' texts, as AWS writes them.
pub fn subscribe_text(topic: &str) -> String {
    format!("You have chosen to subscribe to the topic {topic}.\nTo confirm the subscription, visit the SubscribeURL included in this message.")
}

pub fn unsubscribe_text(subscription: &str) -> String {
    format!("You have chosen to deactivate subscription {subscription}.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: Kind) -> Message {
        Message {
            kind,
            message_id: "m-1".into(),
            topic_arn: "arn:aws:sns:us-east-1:000000000000:t".into(),
            subscription_arn: "arn:aws:sns:us-east-1:000000000000:t:s".into(),
            message: "hello".into(),
            subject: None,
            timestamp: "2026-12-03T04:31:02.123Z".into(),
            attributes: BTreeMap::new(),
            sequence_number: None,
            token: Some("tok".into()),
            signature_version: "1".into(),
        }
    }

    #[test]
    fn canonical_strings_follow_awss_order() {
        let (signer, _) = Signer::generate().expect("key");
        let urls = Urls {
            base: "http://h:1",
            signer: &signer,
        };
        assert_eq!(
            message(Kind::Notification).canonical(&urls),
            "Message\nhello\nMessageId\nm-1\nTimestamp\n2026-12-03T04:31:02.123Z\nTopicArn\narn:aws:sns:us-east-1:000000000000:t\nType\nNotification\n"
        );
        let mut with_subject = message(Kind::Notification);
        with_subject.subject = Some("s".into());
        assert!(with_subject
            .canonical(&urls)
            .contains("MessageId\nm-1\nSubject\ns\nTimestamp\n"));
        assert_eq!(
            message(Kind::SubscriptionConfirmation).canonical(&urls),
            "Message\nhello\nMessageId\nm-1\nSubscribeURL\nhttp://h:1/?Action=ConfirmSubscription&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&Token=tok\nTimestamp\n2026-12-03T04:31:02.123Z\nToken\ntok\nTopicArn\narn:aws:sns:us-east-1:000000000000:t\nType\nSubscriptionConfirmation\n"
        );
        let env: Value =
            serde_json::from_str(&message(Kind::Notification).envelope(&urls)).expect("json");
        let keys: Vec<&str> = env
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys.len(),
            9,
            "Type, MessageId, TopicArn, Message, Timestamp, SignatureVersion, Signature, SigningCertURL, UnsubscribeURL"
        );
        let event = message(Kind::Notification).lambda_event(&urls);
        assert_eq!(event["Records"][0]["Sns"]["Subject"], Value::Null);
        assert_eq!(event["Records"][0]["EventSource"], "aws:sns");
    }

    fn signer() -> &'static Signer {
        static SIGNER: std::sync::OnceLock<Signer> = std::sync::OnceLock::new();
        SIGNER.get_or_init(|| Signer::generate().expect("key").0)
    }

    proptest::proptest! {
        // Each case signs twice with a 2048-bit key: fewer cases than the default.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

        /// Any message, subject and attribute text make a JSON envelope and event that
        /// carry them unchanged.
        #[test]
        fn envelopes_carry_any_text(text in "\\PC{0,40}", subject in proptest::option::of("\\PC{0,8}"), value in "\\PC{0,8}") {
            let urls = Urls { base: "http://h:1", signer: signer() };
            let mut m = message(Kind::Notification);
            m.message = text.clone();
            m.subject = subject.clone();
            m.attributes.insert("a".into(), MessageAttribute {
                data_type: "String".into(),
                string_value: Some(value.clone()),
                binary_value: None,
            });
            let env: Value = serde_json::from_str(&m.envelope(&urls)).expect("json");
            proptest::prop_assert_eq!(&env["Message"], &Value::String(text.clone()));
            proptest::prop_assert_eq!(&env["MessageAttributes"]["a"]["Value"], &Value::String(value));
            let event = m.lambda_event(&urls);
            proptest::prop_assert_eq!(&event["Records"][0]["Sns"]["Subject"], &json!(subject));
        }
    }
}
