//! A queue's settable attributes: their defaults, AWS's limits and messages, the rules
//! between them ([`apply`]: one server-side encryption at a time, high-throughput FIFO's
//! pair), what GetQueueAttributes shows ([`view`]), and the settings the service reads
//! from them ([`Config`]).
//!
//! The encryption attributes are kept and shown as SQS keeps them, but Hearth encrypts
//! nothing per queue: messages are protected at rest as the store protects everything
//! (docs/data-protection.md), not by a queue's key.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{ErrorKind, SqsError};

/// Longest a message may stay invisible after a receive (12 hours).
pub const MAX_VISIBILITY: i64 = 43_200;
/// Most a ReceiveMessage may wait.
pub const MAX_WAIT: i64 = 20;
/// Most a message may be delayed.
pub const MAX_DELAY: i64 = 900;
/// Largest message (body and attributes): 1 MiB, the most and the default since AWS raised
/// it from 256 KiB in 2025 (botocore's model documents 1,048,576).
pub const MAX_MESSAGE_SIZE: i64 = 1_048_576;

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

/// The data key reuse period a queue encrypted with a KMS key has unless given.
const DEFAULT_KMS_REUSE: &str = "300";

/// The attributes a new queue has unless given.
pub fn defaults(fifo: bool) -> BTreeMap<String, String> {
    let mut a: BTreeMap<String, String> = [
        ("DelaySeconds", "0"),
        ("MaximumMessageSize", "1048576"),
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
            let message = if name == "ContentBasedDeduplication" {
                format!("Unknown Attribute {name}.")
            } else {
                format!("You can specify the {name} only when FifoQueue is set to true.")
            };
            return Err(SqsError::new(ErrorKind::InvalidAttributeName, message));
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
                // SQS knows the attribute only as `true` on a FIFO queue's creation: a
                // standard queue's `false` is refused too.
                if !creating || !fifo {
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
    let kms_key = attrs.get("KmsMasterKeyId").is_some_and(|k| !k.is_empty());
    if kms_key && attrs.get("SqsManagedSseEnabled").map(String::as_str) == Some("true") {
        return Err(SqsError::new(
            ErrorKind::InvalidAttributeName,
            "You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE.",
        ));
    }
    Ok(())
}

/// A queue's attributes once `attrs` (checked by [`check`]) are applied to `current`
/// (a new queue's [`defaults`] at CreateQueue), as SQS applies them:
/// - an empty `Policy`, `RedrivePolicy`, `RedriveAllowPolicy` or `KmsMasterKeyId`
///   removes it;
/// - a KMS key turns SQS-managed encryption off, and `SqsManagedSseEnabled=true` turns
///   KMS encryption off: a queue has one kind of server-side encryption at a time;
/// - `FifoThroughputLimit=perMessageGroupId` needs `DeduplicationScope=messageGroup`
///   (high throughput is the two together), whichever request set either.
pub fn apply(
    current: &BTreeMap<String, String>,
    attrs: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, SqsError> {
    let mut out = current.clone();
    for (k, v) in attrs {
        let removable = matches!(
            k.as_str(),
            "Policy" | "RedrivePolicy" | "RedriveAllowPolicy" | "KmsMasterKeyId"
        );
        if k == "KmsMasterKeyId" && !v.is_empty() {
            out.insert("SqsManagedSseEnabled".into(), "false".into());
        }
        if k == "SqsManagedSseEnabled" && v == "true" {
            out.remove("KmsMasterKeyId");
        }
        if v.is_empty() && removable {
            out.remove(&k);
        } else {
            out.insert(k, v);
        }
    }
    if out.get("FifoThroughputLimit").map(String::as_str) == Some("perMessageGroupId")
        && out.get("DeduplicationScope").map(String::as_str) != Some("messageGroup")
    {
        return Err(SqsError::new(
            ErrorKind::InvalidAttributeValue,
            "Invalid value for the parameter FifoThroughputLimit. Reason: The perMessageGroupId value is allowed only when the value for DeduplicationScope is messageGroup.",
        ));
    }
    Ok(out)
}

/// The value an attribute has for CreateQueue's comparison with an existing queue: its
/// own, else its default.
pub fn effective(attrs: &BTreeMap<String, String>, fifo: bool, name: &str) -> Option<String> {
    if let Some(v) = attrs.get(name) {
        return Some(v.clone());
    }
    if name == "KmsDataKeyReusePeriodSeconds" {
        return Some(DEFAULT_KMS_REUSE.into());
    }
    defaults(fifo).remove(name)
}

/// The stored attributes as GetQueueAttributes shows them: the data key reuse period
/// only while a KMS key is set (300 unless given), as SQS shows it.
pub fn view(attrs: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut out = attrs.clone();
    if out.contains_key("KmsMasterKeyId") {
        out.entry("KmsDataKeyReusePeriodSeconds".into())
            .or_insert_with(|| DEFAULT_KMS_REUSE.into());
    } else {
        out.remove("KmsDataKeyReusePeriodSeconds");
    }
    out
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
    fn fifo_attributes_on_a_standard_queue_are_named() {
        let e = check(&one("DeduplicationScope", "queue"), false, true).expect_err("std");
        assert_eq!(
            (e.kind, e.message.as_str()),
            (
                ErrorKind::InvalidAttributeName,
                "You can specify the DeduplicationScope only when FifoQueue is set to true."
            )
        );
        let e = check(&one("FifoThroughputLimit", "perQueue"), false, false).expect_err("std");
        assert_eq!(
            e.message,
            "You can specify the FifoThroughputLimit only when FifoQueue is set to true."
        );
        let e = check(&one("ContentBasedDeduplication", "false"), false, true).expect_err("std");
        assert_eq!(e.message, "Unknown Attribute ContentBasedDeduplication.");
        // Even `FifoQueue=false` (a client naming the type it wants): SQS knows only `true`.
        let e = check(&one("FifoQueue", "false"), false, true).expect_err("std");
        assert_eq!(
            (e.kind, e.message.as_str()),
            (
                ErrorKind::InvalidAttributeName,
                "Unknown Attribute FifoQueue."
            )
        );
        assert!(check(&one("FifoQueue", "true"), true, true).is_ok());
    }

    #[test]
    fn high_throughput_needs_both_attributes_whichever_request_set_them() {
        let fifo = defaults(true);
        let both = [
            ("DeduplicationScope".to_string(), "messageGroup".to_string()),
            ("FifoThroughputLimit".into(), "perMessageGroupId".into()),
        ];
        let high = apply(&fifo, both.into_iter().collect()).expect("both at once");
        assert_eq!(high["FifoThroughputLimit"], "perMessageGroupId");
        // The limit alone on a queue-scoped queue, or the scope set back under it.
        let e = apply(&fifo, one("FifoThroughputLimit", "perMessageGroupId")).expect_err("alone");
        assert_eq!(e.kind, ErrorKind::InvalidAttributeValue);
        assert!(apply(&high, one("DeduplicationScope", "queue")).is_err());
        // Deduplication per group alone is allowed (normal throughput).
        assert!(apply(&fifo, one("DeduplicationScope", "messageGroup")).is_ok());
        assert!(
            Config::of(&apply(&fifo, one("DeduplicationScope", "messageGroup")).expect("ok"))
                .dedup_per_group
        );
    }

    #[test]
    fn one_server_side_encryption_at_a_time() {
        let new = defaults(false);
        assert_eq!(new["SqsManagedSseEnabled"], "true");
        let both = [
            ("KmsMasterKeyId".to_string(), "alias/aws/sqs".to_string()),
            ("SqsManagedSseEnabled".into(), "true".into()),
        ];
        let e = check(&both.into_iter().collect(), false, true).expect_err("both");
        assert_eq!(
            (e.kind, e.message.as_str()),
            (
                ErrorKind::InvalidAttributeName,
                "You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE."
            )
        );
        // A KMS key turns SSE-SQS off; the reuse period shows while there is a key.
        let kms = apply(&new, one("KmsMasterKeyId", "k")).expect("kms");
        assert_eq!(kms["SqsManagedSseEnabled"], "false");
        assert_eq!(view(&kms)["KmsDataKeyReusePeriodSeconds"], "300");
        let kms = apply(&kms, one("KmsDataKeyReusePeriodSeconds", "6000")).expect("period");
        assert_eq!(view(&kms)["KmsDataKeyReusePeriodSeconds"], "6000");
        // Removing the key leaves the queue unencrypted, and hides the period.
        let none = apply(&kms, one("KmsMasterKeyId", "")).expect("remove");
        let shown = view(&none);
        assert!(!shown.contains_key("KmsMasterKeyId"));
        assert!(!shown.contains_key("KmsDataKeyReusePeriodSeconds"));
        assert_eq!(shown["SqsManagedSseEnabled"], "false");
        // SSE-SQS turned on replaces a KMS key.
        let sqs = apply(&kms, one("SqsManagedSseEnabled", "true")).expect("sse-sqs");
        assert!(!sqs.contains_key("KmsMasterKeyId"));
        for bad in ["59", "86401", "x"] {
            let e =
                check(&one("KmsDataKeyReusePeriodSeconds", bad), false, false).expect_err("range");
            assert_eq!(
                e.message,
                "Invalid value for the parameter KmsDataKeyReusePeriodSeconds."
            );
        }
        assert_eq!(
            effective(&new, false, "KmsDataKeyReusePeriodSeconds").as_deref(),
            Some("300")
        );
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
