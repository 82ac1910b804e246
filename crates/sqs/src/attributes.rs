//! A queue's settable attributes: their defaults, AWS's limits and messages, and the
//! settings the service reads from them ([`Config`]).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{ErrorKind, SqsError};

/// Longest a message may stay invisible after a receive (12 hours).
pub const MAX_VISIBILITY: i64 = 43_200;
/// Most a ReceiveMessage may wait.
pub const MAX_WAIT: i64 = 20;
/// Most a message may be delayed.
pub const MAX_DELAY: i64 = 900;
/// Largest message (body and attributes).
pub const MAX_MESSAGE_SIZE: i64 = 262_144;

/// Attributes a client may set, in the order GetQueueAttributes lists them.
pub const SETTABLE: &[&str] = &[
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "Policy",
    "ReceiveMessageWaitTimeSeconds",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "VisibilityTimeout",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// Attributes that only FIFO queues have.
const FIFO_ONLY: &[&str] = &[
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// The attributes a new queue has unless given.
pub fn defaults(fifo: bool) -> BTreeMap<String, String> {
    let mut a: BTreeMap<String, String> = [
        ("DelaySeconds", "0"),
        ("MaximumMessageSize", "262144"),
        ("MessageRetentionPeriod", "345600"),
        ("ReceiveMessageWaitTimeSeconds", "0"),
        ("VisibilityTimeout", "30"),
        ("SqsManagedSseEnabled", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if fifo {
        for (k, v) in [
            ("FifoQueue", "true"),
            ("ContentBasedDeduplication", "false"),
            ("DeduplicationScope", "queue"),
            ("FifoThroughputLimit", "perQueue"),
        ] {
            a.insert(k.into(), v.into());
        }
    }
    a
}

fn bad_value(name: &str) -> SqsError {
    SqsError::new(
        ErrorKind::InvalidAttributeValue,
        format!("Invalid value for the parameter {name}."),
    )
}

fn int_in(name: &str, v: &str, lo: i64, hi: i64) -> Result<(), SqsError> {
    match v.parse::<i64>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(()),
        _ => Err(bad_value(name)),
    }
}

fn boolean(name: &str, v: &str) -> Result<(), SqsError> {
    match v {
        "true" | "false" => Ok(()),
        _ => Err(bad_value(name)),
    }
}

/// Checks attributes given to CreateQueue (`creating`) or SetQueueAttributes of a queue
/// that is (`fifo`) a FIFO queue or not.
pub fn check(attrs: &BTreeMap<String, String>, fifo: bool, creating: bool) -> Result<(), SqsError> {
    for (name, v) in attrs {
        if !SETTABLE.contains(&name.as_str()) {
            return Err(SqsError::new(
                ErrorKind::InvalidAttributeName,
                format!("Unknown Attribute {name}."),
            ));
        }
        if FIFO_ONLY.contains(&name.as_str()) && !fifo {
            return Err(SqsError::new(
                ErrorKind::InvalidAttributeName,
                format!("Unknown Attribute {name}."),
            ));
        }
        match name.as_str() {
            "DelaySeconds" => int_in(name, v, 0, MAX_DELAY)?,
            "MaximumMessageSize" => int_in(name, v, 1024, MAX_MESSAGE_SIZE)?,
            "MessageRetentionPeriod" => int_in(name, v, 60, 1_209_600)?,
            "ReceiveMessageWaitTimeSeconds" => int_in(name, v, 0, MAX_WAIT)?,
            "VisibilityTimeout" => int_in(name, v, 0, MAX_VISIBILITY)?,
            "KmsDataKeyReusePeriodSeconds" => int_in(name, v, 60, 86_400)?,
            "SqsManagedSseEnabled" | "ContentBasedDeduplication" => boolean(name, v)?,
            "FifoQueue" => {
                if !creating {
                    return Err(SqsError::new(
                        ErrorKind::InvalidAttributeName,
                        "Unknown Attribute FifoQueue.",
                    ));
                }
                boolean(name, v)?;
            }
            "DeduplicationScope" if !matches!(v.as_str(), "queue" | "messageGroup") => {
                return Err(bad_value(name))
            }
            "FifoThroughputLimit" if !matches!(v.as_str(), "perQueue" | "perMessageGroupId") => {
                return Err(bad_value(name))
            }
            "Policy"
                if !v.is_empty()
                    && serde_json::from_str::<Value>(v).map_or(true, |p| !p.is_object()) =>
            {
                return Err(bad_value(name));
            }
            "RedrivePolicy" if !v.is_empty() => {
                redrive_policy(v)?;
            }
            "RedriveAllowPolicy" if !v.is_empty() => redrive_allow_policy(v)?,
            _ => {}
        }
    }
    if attrs.get("FifoThroughputLimit").map(String::as_str) == Some("perMessageGroupId")
        && attrs.get("DeduplicationScope").map(String::as_str) == Some("queue")
    {
        return Err(SqsError::invalid_value(
            "FifoThroughputLimit",
            "perMessageGroupId",
            "The perMessageGroupId value is allowed only when the value for DeduplicationScope is messageGroup.",
        ));
    }
    Ok(())
}

/// A redrive policy: the dead-letter queue's ARN and the receives before a move.
pub fn redrive_policy(text: &str) -> Result<(String, i64), SqsError> {
    let reason = |r: &str| SqsError::invalid_value("RedrivePolicy", text, r);
    let v: Value = serde_json::from_str(text)
        .map_err(|_| reason("Redrive policy is not a valid JSON map."))?;
    let target = v
        .get("deadLetterTargetArn")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            reason("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
        })?;
    let count = match v.get("maxReceiveCount") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        reason("Redrive policy does not contain mandatory attribute: maxReceiveCount.")
    })?;
    if !(1..=1000).contains(&count) {
        return Err(reason(
            "Invalid value for maxReceiveCount: must be an integer from 1 to 1000.",
        ));
    }
    if !target.starts_with("arn:aws:sqs:") {
        return Err(reason("Invalid value for deadLetterTargetArn."));
    }
    Ok((target.to_string(), count))
}

fn redrive_allow_policy(text: &str) -> Result<(), SqsError> {
    let reason = |r: &str| SqsError::invalid_value("RedriveAllowPolicy", text, r);
    let v: Value = serde_json::from_str(text)
        .map_err(|_| reason("Redrive allow policy is not a valid JSON map."))?;
    match v.get("redrivePermission").and_then(Value::as_str) {
        Some("allowAll" | "denyAll") => Ok(()),
        Some("byQueue") => match v.get("sourceQueueArns").and_then(Value::as_array) {
            Some(a) if !a.is_empty() && a.len() <= 10 => Ok(()),
            _ => Err(reason(
                "Redrive allow policy with byQueue permission must have 1 to 10 sourceQueueArns.",
            )),
        },
        _ => Err(reason("Invalid value for redrivePermission.")),
    }
}

/// Whether a redrive allow policy lets `source` use the queue as its dead-letter queue.
pub fn allows_source(policy: Option<&str>, source: &str) -> bool {
    let Some(v) = policy.and_then(|p| serde_json::from_str::<Value>(p).ok()) else {
        return true;
    };
    match v.get("redrivePermission").and_then(Value::as_str) {
        Some("denyAll") => false,
        Some("byQueue") => v
            .get("sourceQueueArns")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(source))),
        _ => true,
    }
}

/// The settings the service acts on, read from a queue's attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub visibility: i64,
    pub retention_s: i64,
    pub delay: i64,
    pub wait: i64,
    pub max_size: i64,
    pub redrive: Option<(String, i64)>,
    pub fifo: bool,
    pub content_dedup: bool,
    pub dedup_per_group: bool,
}

impl Config {
    pub fn of(attrs: &BTreeMap<String, String>) -> Self {
        let int = |k: &str, d: i64| attrs.get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
        Self {
            visibility: int("VisibilityTimeout", 30),
            retention_s: int("MessageRetentionPeriod", 345_600),
            delay: int("DelaySeconds", 0),
            wait: int("ReceiveMessageWaitTimeSeconds", 0),
            max_size: int("MaximumMessageSize", MAX_MESSAGE_SIZE),
            redrive: attrs
                .get("RedrivePolicy")
                .filter(|p| !p.is_empty())
                .and_then(|p| redrive_policy(p).ok()),
            fifo: attrs.get("FifoQueue").map(String::as_str) == Some("true"),
            content_dedup: attrs.get("ContentBasedDeduplication").map(String::as_str)
                == Some("true"),
            dedup_per_group: attrs.get("DeduplicationScope").map(String::as_str)
                == Some("messageGroup"),
        }
    }
}

/// Whether `name` is a valid queue name (1 to 80 characters of letters, digits, `-`
/// and `_`, with `.fifo` at the end of a FIFO queue's).
pub fn check_name(name: &str, fifo: bool) -> Result<(), SqsError> {
    let stem = name.strip_suffix(".fifo").unwrap_or(name);
    let ok = !stem.is_empty()
        && name.len() <= 80
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(SqsError::invalid(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ));
    }
    if fifo != name.ends_with(".fifo") {
        return Err(SqsError::invalid(if fifo {
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length."
        } else {
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(k: &str, v: &str) -> BTreeMap<String, String> {
        [(k.to_string(), v.to_string())].into_iter().collect()
    }

    #[test]
    fn limits() {
        assert!(check(&one("VisibilityTimeout", "43200"), false, true).is_ok());
        let e = check(&one("VisibilityTimeout", "43201"), false, true).expect_err("over");
        assert_eq!(
            e.message,
            "Invalid value for the parameter VisibilityTimeout."
        );
        let e = check(&one("Nope", "1"), false, true).expect_err("unknown");
        assert_eq!(e.kind, ErrorKind::InvalidAttributeName);
        assert!(check(&one("ContentBasedDeduplication", "true"), false, true).is_err());
        assert!(check(&one("ContentBasedDeduplication", "true"), true, true).is_ok());
    }

    #[test]
    fn redrive() {
        let p = r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"3"}"#;
        assert_eq!(
            redrive_policy(p).expect("valid"),
            ("arn:aws:sqs:us-east-1:000000000000:dlq".into(), 3)
        );
        assert!(redrive_policy(r#"{"maxReceiveCount":3}"#).is_err());
        assert!(!allows_source(
            Some(r#"{"redrivePermission":"denyAll"}"#),
            "x"
        ));
        assert!(allows_source(None, "x"));
    }

    #[test]
    fn names() {
        assert!(check_name("a-b_c", false).is_ok());
        assert!(check_name("q.fifo", true).is_ok());
        assert!(check_name("q.fifo", false).is_err());
        assert!(check_name("q", true).is_err());
        assert!(check_name(&"x".repeat(81), false).is_err());
        assert!(check_name("a b", false).is_err());
    }
}
