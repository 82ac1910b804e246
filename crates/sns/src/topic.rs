//! A topic's record and its rules: names (standard and `.fifo`), the attributes a client
//! may set, and the attributes GetTopicAttributes answers (AWS's defaults included).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::tags::Tag;
use crate::SnsError;

/// A topic as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    pub arn: String,
    pub account: String,
    pub name: String,
    /// The attributes a client set (CreateTopic's and SetTopicAttributes'), by name.
    pub attributes: BTreeMap<String, String>,
    pub tags: Vec<Tag>,
}

/// The most characters in a topic's name (`.fifo` included).
const NAME_MAX: usize = 256;

/// The attributes SetTopicAttributes and CreateTopic take (the delivery-status logging
/// attributes are kept, not acted on).
const SETTABLE: &[&str] = &[
    "DeliveryPolicy",
    "DisplayName",
    "Policy",
    "TracingConfig",
    "KmsMasterKeyId",
    "SignatureVersion",
    "ContentBasedDeduplication",
    "ArchivePolicy",
    "FifoThroughputScope",
    "DataProtectionPolicy",
    "ApplicationSuccessFeedbackRoleArn",
    "ApplicationSuccessFeedbackSampleRate",
    "ApplicationFailureFeedbackRoleArn",
    "HTTPSuccessFeedbackRoleArn",
    "HTTPSuccessFeedbackSampleRate",
    "HTTPFailureFeedbackRoleArn",
    "LambdaSuccessFeedbackRoleArn",
    "LambdaSuccessFeedbackSampleRate",
    "LambdaFailureFeedbackRoleArn",
    "SQSSuccessFeedbackRoleArn",
    "SQSSuccessFeedbackSampleRate",
    "SQSFailureFeedbackRoleArn",
    "FirehoseSuccessFeedbackRoleArn",
    "FirehoseSuccessFeedbackSampleRate",
    "FirehoseFailureFeedbackRoleArn",
];

/// AWS's effective delivery policy of a topic with none of its own.
pub const DEFAULT_EFFECTIVE_DELIVERY_POLICY: &str = r#"{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}"#;

/// Checks a topic name: letters, digits, `-` and `_`, 1 to 256 characters, and `.fifo` at
/// the end exactly when the topic is FIFO.
pub fn check_name(name: &str, fifo: bool) -> Result<(), SnsError> {
    let stem = if fifo {
        match name.strip_suffix(".fifo") {
            Some(s) => s,
            None => {
                return Err(SnsError::invalid(
                    "Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.",
                ))
            }
        }
    } else {
        name
    };
    let valid = !stem.is_empty()
        && name.len() <= NAME_MAX
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(SnsError::invalid("Topic Name"))
    }
}

/// Checks one attribute a client sets on a topic (`creating`: CreateTopic, which alone
/// may name `FifoTopic`).
pub fn check_attribute(
    name: &str,
    value: &str,
    fifo: bool,
    creating: bool,
) -> Result<(), SnsError> {
    match name {
        "FifoTopic" if creating => {
            if value != "true" && value != "false" {
                return Err(SnsError::invalid("Attributes Reason: FifoTopic"));
            }
        }
        "ContentBasedDeduplication" => {
            if !fifo {
                return Err(SnsError::invalid(
                    "ContentBasedDeduplication Reason: Content based deduplication can only be set for FIFO topics",
                ));
            }
            if value != "true" && value != "false" {
                return Err(SnsError::invalid("ContentBasedDeduplication"));
            }
        }
        "Policy" => {
            let policy = hearth_iam_policy::parse(value, hearth_iam_policy::PolicyKind::Resource)
                .map_err(|e| SnsError::invalid(format!("Policy Error: {e}")))?;
            crate::permission::check_scope(&policy)?;
        }
        "DeliveryPolicy" | "DataProtectionPolicy" | "ArchivePolicy" => {
            if serde_json::from_str::<serde_json::Value>(value).is_err() {
                return Err(SnsError::invalid(format!("{name}: failed to parse JSON.")));
            }
        }
        "TracingConfig" => {
            if value != "PassThrough" && value != "Active" {
                return Err(SnsError::invalid("TracingConfig"));
            }
        }
        "SignatureVersion" => {
            if value != "1" && value != "2" {
                return Err(SnsError::invalid("SignatureVersion"));
            }
        }
        "DisplayName" => {
            if value.chars().count() > 100 {
                return Err(SnsError::invalid("DisplayName"));
            }
        }
        n if SETTABLE.contains(&n) => {}
        _ => return Err(SnsError::invalid("AttributeName")),
    }
    Ok(())
}

impl Topic {
    pub fn fifo(&self) -> bool {
        self.attributes.get("FifoTopic").map(String::as_str) == Some("true")
    }

    pub fn content_based_dedup(&self) -> bool {
        self.attributes
            .get("ContentBasedDeduplication")
            .map(String::as_str)
            == Some("true")
    }

    /// `1` (SHA1withRSA, AWS's default) or `2` (SHA256withRSA).
    pub fn signature_version(&self) -> &str {
        self.attributes
            .get("SignatureVersion")
            .map_or("1", String::as_str)
    }

    /// AWS's default policy of a new topic: its account may do the topic operations.
    pub fn default_policy(&self) -> String {
        serde_json::json!({
            "Version": "2008-10-17",
            "Id": "__default_policy_ID",
            "Statement": [{
                "Sid": "__default_statement_ID",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [
                    "SNS:GetTopicAttributes",
                    "SNS:SetTopicAttributes",
                    "SNS:AddPermission",
                    "SNS:RemovePermission",
                    "SNS:DeleteTopic",
                    "SNS:Subscribe",
                    "SNS:ListSubscriptionsByTopic",
                    "SNS:Publish"
                ],
                "Resource": self.arn,
                "Condition": {"StringEquals": {"AWS:SourceOwner": self.account}}
            }]
        })
        .to_string()
    }

    /// The attributes GetTopicAttributes answers, with the subscription counts given.
    pub fn view(&self, confirmed: usize, pending: usize) -> BTreeMap<String, String> {
        let mut out = self.attributes.clone();
        out.entry("Policy".into())
            .or_insert_with(|| self.default_policy());
        out.insert("Owner".into(), self.account.clone());
        out.insert("TopicArn".into(), self.arn.clone());
        out.insert("SubscriptionsConfirmed".into(), confirmed.to_string());
        out.insert("SubscriptionsPending".into(), pending.to_string());
        out.insert("SubscriptionsDeleted".into(), "0".into());
        out.entry("DisplayName".into()).or_default();
        let effective = match self.attributes.get("DeliveryPolicy") {
            Some(p) => p.clone(),
            None => DEFAULT_EFFECTIVE_DELIVERY_POLICY.to_string(),
        };
        out.insert("EffectiveDeliveryPolicy".into(), effective);
        if self.fifo() {
            out.entry("ContentBasedDeduplication".into())
                .or_insert_with(|| "false".into());
        } else {
            out.remove("FifoTopic");
        }
        out
    }

    /// Whether a CreateTopic of an existing topic asks for what it has: its attributes
    /// as given (`FifoTopic=false` as none) are the topic's.
    pub fn same_attributes(&self, asked: &BTreeMap<String, String>) -> bool {
        asked.iter().all(|(k, v)| match self.attributes.get(k) {
            Some(have) => have == v,
            None => k == "FifoTopic" && v == "false",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_awss_rules() {
        assert!(check_name("a-B_9", false).is_ok());
        assert!(check_name(&"a".repeat(256), false).is_ok());
        assert!(check_name(&"a".repeat(257), false).is_err());
        assert_eq!(
            check_name("a.fifo", false).expect_err("dot").to_string(),
            "Invalid parameter: Topic Name"
        );
        assert!(check_name("a.fifo", true).is_ok());
        assert!(check_name(".fifo", true).is_err());
        assert!(check_name("a", true)
            .expect_err("no suffix")
            .to_string()
            .starts_with("Invalid parameter: Fifo Topic names must end with .fifo"));
    }

    #[test]
    fn attributes_are_checked() {
        assert!(check_attribute("DisplayName", "x", false, false).is_ok());
        assert_eq!(
            check_attribute("Bogus", "x", false, false)
                .expect_err("unknown")
                .to_string(),
            "Invalid parameter: AttributeName"
        );
        assert!(check_attribute("FifoTopic", "true", false, false).is_err());
        assert!(check_attribute("ContentBasedDeduplication", "true", false, false).is_err());
        assert!(check_attribute("ContentBasedDeduplication", "true", true, false).is_ok());
        assert!(check_attribute("DeliveryPolicy", "{", false, false).is_err());
    }

    #[test]
    fn a_policy_names_only_the_topics_own_actions() {
        let policy = |action: &str| {
            serde_json::json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["SNS:Publish", action],
                "Resource": "arn:aws:sns:us-east-1:000000000000:t"}]})
            .to_string()
        };
        for ok in ["sns:Subscribe", "SNS:*", "sns:Get*", "*"] {
            assert!(
                check_attribute("Policy", &policy(ok), false, false).is_ok(),
                "{ok}"
            );
        }
        for out in ["sns:CreateTopic", "sqs:SendMessage", "sns:List*Topics"] {
            assert_eq!(
                check_attribute("Policy", &policy(out), false, false)
                    .expect_err(out)
                    .to_string(),
                "Invalid parameter: Policy statement action out of service scope!",
                "{out}"
            );
        }
    }

    #[test]
    fn the_view_has_awss_defaults() {
        let t = Topic {
            arn: "arn:aws:sns:us-east-1:000000000000:t".into(),
            account: "000000000000".into(),
            name: "t".into(),
            attributes: BTreeMap::new(),
            tags: vec![],
        };
        let v = t.view(1, 2);
        let keys: Vec<&str> = v.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "DisplayName",
                "EffectiveDeliveryPolicy",
                "Owner",
                "Policy",
                "SubscriptionsConfirmed",
                "SubscriptionsDeleted",
                "SubscriptionsPending",
                "TopicArn"
            ]
        );
        assert_eq!(v["SubscriptionsPending"], "2");
        assert!(t.same_attributes(&BTreeMap::from([("FifoTopic".into(), "false".into())])));
        assert!(!t.same_attributes(&BTreeMap::from([("DisplayName".into(), "x".into())])));
    }
}
