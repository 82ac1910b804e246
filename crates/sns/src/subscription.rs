//! A subscription's record and its rules: the protocols Hearth delivers to (`lambda`,
//! `sqs`, `http`, `https`) and their endpoints, the attributes a client may set, and what
//! GetSubscriptionAttributes answers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::SnsError;

/// A subscription as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub arn: String,
    pub topic_arn: String,
    /// The account that subscribed.
    pub owner: String,
    pub protocol: String,
    pub endpoint: String,
    /// The attributes a client set, by name.
    pub attributes: BTreeMap<String, String>,
    /// False until an http/https endpoint confirms (lambda and sqs are confirmed at once).
    pub confirmed: bool,
    /// The token the SubscriptionConfirmation message carries (http/https).
    pub token: Option<String>,
    /// Whether the confirmation was an authenticated call (Unsubscribe then needs one too).
    pub authenticated: bool,
}

/// The protocols Hearth delivers to; every other is refused as AWS refuses an unknown one.
pub const PROTOCOLS: &[&str] = &["lambda", "sqs", "http", "https"];

/// The attributes Subscribe and SetSubscriptionAttributes take.
const SETTABLE: &[&str] = &[
    "DeliveryPolicy",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "SubscriptionRoleArn",
    "ReplayPolicy",
];

/// Checks a protocol and its endpoint for a topic (`fifo`).
pub fn check_endpoint(protocol: &str, endpoint: &str, fifo: bool) -> Result<(), SnsError> {
    if !PROTOCOLS.contains(&protocol) {
        return Err(SnsError::invalid(format!(
            "Amazon SNS does not support this protocol string: {protocol}"
        )));
    }
    if fifo && protocol != "sqs" {
        return Err(SnsError::invalid(format!(
            "Invalid protocol type: {protocol}"
        )));
    }
    let ok = match protocol {
        "lambda" => is_arn_of(endpoint, "lambda", |rest| {
            rest.strip_prefix("function:")
                .is_some_and(|n| !n.is_empty())
        }),
        "sqs" => is_sqs_arn(endpoint),
        "http" => endpoint.starts_with("http://") && endpoint.len() > 7,
        _ => endpoint.starts_with("https://") && endpoint.len() > 8,
    };
    if ok && protocol == "sqs" && endpoint.ends_with(".fifo") && !fifo {
        // AWS's message repeats its prefix.
        return Err(SnsError::invalid(
            "Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics",
        ));
    }
    if ok {
        return Ok(());
    }
    Err(match protocol {
        "lambda" => SnsError::invalid("Lambda endpoint ARN"),
        "sqs" => SnsError::invalid("SQS endpoint ARN"),
        _ => SnsError::invalid("Endpoint must match the specified protocol"),
    })
}

/// `arn:aws:SERVICE:REGION:ACCOUNT:REST` with `rest` accepted by `tail`.
fn is_arn_of(arn: &str, service: &str, tail: impl Fn(&str) -> bool) -> bool {
    let Some(rest) = arn.strip_prefix(&format!("arn:aws:{service}:")) else {
        return false;
    };
    let mut parts = rest.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(region), Some(account), Some(rest)) => {
            !region.is_empty() && hearth_model::arn::is_account_id(account) && tail(rest)
        }
        _ => false,
    }
}

/// An SQS queue's ARN (`arn:aws:sqs:REGION:ACCOUNT:NAME`).
pub fn is_sqs_arn(arn: &str) -> bool {
    is_arn_of(arn, "sqs", |name| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    })
}

/// Checks one attribute a client sets on a subscription of `protocol`.
pub fn check_attribute(protocol: &str, name: &str, value: &str) -> Result<(), SnsError> {
    match name {
        "RawMessageDelivery" => {
            if value != "true" && value != "false" {
                return Err(SnsError::invalid("RawMessageDelivery"));
            }
            if !matches!(protocol, "sqs" | "http" | "https") {
                return Err(SnsError::invalid(format!(
                    "Attributes Reason: Delivery protocol [{protocol}] does not support raw message delivery."
                )));
            }
        }
        "FilterPolicy" if value.is_empty() => {}
        "FilterPolicy" => crate::filter::check(value)?,
        "FilterPolicyScope" => {
            if value != "MessageAttributes" && value != "MessageBody" {
                return Err(SnsError::invalid(format!(
                    "FilterPolicyScope: Invalid value [{value}]. Please use either MessageBody or MessageAttributes"
                )));
            }
        }
        "RedrivePolicy" => {
            let parsed: serde_json::Value = serde_json::from_str(value)
                .map_err(|_| SnsError::invalid("RedrivePolicy: failed to parse JSON."))?;
            let target = parsed
                .get("deadLetterTargetArn")
                .and_then(|v| v.as_str())
                .ok_or_else(|| {
                    SnsError::invalid("RedrivePolicy: deadLetterTargetArn is missing.")
                })?;
            if !is_sqs_arn(target) {
                return Err(SnsError::invalid(
                    "RedrivePolicy: deadLetterTargetArn is an invalid arn",
                ));
            }
        }
        "DeliveryPolicy" | "ReplayPolicy" => {
            if serde_json::from_str::<serde_json::Value>(value).is_err() {
                return Err(SnsError::invalid(format!("{name}: failed to parse JSON.")));
            }
        }
        n if SETTABLE.contains(&n) => {}
        _ => return Err(SnsError::invalid("AttributeName")),
    }
    Ok(())
}

impl Subscription {
    /// Whether messages go as they were published, without the JSON envelope.
    pub fn raw(&self) -> bool {
        self.attributes
            .get("RawMessageDelivery")
            .map(String::as_str)
            == Some("true")
    }

    /// The dead-letter queue of messages that could not be delivered, if any.
    pub fn dead_letter_queue(&self) -> Option<String> {
        let policy: serde_json::Value =
            serde_json::from_str(self.attributes.get("RedrivePolicy")?).ok()?;
        policy
            .get("deadLetterTargetArn")?
            .as_str()
            .map(str::to_string)
    }

    /// The ARN listings show: `PendingConfirmation` until confirmed.
    pub fn listed_arn(&self) -> &str {
        if self.confirmed {
            &self.arn
        } else {
            "PendingConfirmation"
        }
    }

    /// The attributes GetSubscriptionAttributes answers.
    pub fn view(&self) -> BTreeMap<String, String> {
        let mut out = self.attributes.clone();
        out.insert("Owner".into(), self.owner.clone());
        out.insert("SubscriptionArn".into(), self.arn.clone());
        out.insert("TopicArn".into(), self.topic_arn.clone());
        out.insert("Protocol".into(), self.protocol.clone());
        out.insert("Endpoint".into(), self.endpoint.clone());
        out.insert("PendingConfirmation".into(), (!self.confirmed).to_string());
        out.insert(
            "ConfirmationWasAuthenticated".into(),
            self.authenticated.to_string(),
        );
        out.entry("RawMessageDelivery".into())
            .or_insert_with(|| "false".into());
        out.insert(
            "SubscriptionPrincipal".into(),
            format!("arn:aws:iam::{}:root", self.owner),
        );
        if out.contains_key("FilterPolicy") {
            out.entry("FilterPolicyScope".into())
                .or_insert_with(|| "MessageAttributes".into());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_match_their_protocol() {
        let f = "arn:aws:lambda:us-east-1:000000000000:function:f";
        assert!(check_endpoint("lambda", f, false).is_ok());
        assert!(check_endpoint("lambda", "f", false).is_err());
        assert!(check_endpoint("sqs", "arn:aws:sqs:us-east-1:000000000000:q", false).is_ok());
        assert!(check_endpoint("http", "http://127.0.0.1:1/x", false).is_ok());
        assert_eq!(
            check_endpoint("https", "http://x", false)
                .expect_err("scheme")
                .to_string(),
            "Invalid parameter: Endpoint must match the specified protocol"
        );
        assert_eq!(
            check_endpoint("email", "a@b.c", false)
                .expect_err("email")
                .to_string(),
            "Invalid parameter: Amazon SNS does not support this protocol string: email"
        );
        assert!(check_endpoint("lambda", f, true).is_err());
        let fifo_queue = "arn:aws:sqs:us-east-1:000000000000:q.fifo";
        assert!(check_endpoint("sqs", fifo_queue, true).is_ok());
        assert_eq!(
            check_endpoint("sqs", fifo_queue, false)
                .expect_err("standard topic")
                .to_string(),
            "Invalid parameter: Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics"
        );
    }

    #[test]
    fn attributes_are_checked() {
        assert!(check_attribute("sqs", "RawMessageDelivery", "true").is_ok());
        assert!(check_attribute("lambda", "RawMessageDelivery", "true").is_err());
        assert!(check_attribute("sqs", "FilterPolicyScope", "Nope").is_err());
        assert!(check_attribute(
            "sqs",
            "RedrivePolicy",
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq"}"#
        )
        .is_ok());
        assert!(check_attribute("sqs", "RedrivePolicy", r#"{"deadLetterTargetArn":"x"}"#).is_err());
        assert!(check_attribute("sqs", "Nope", "x").is_err());
    }
}
