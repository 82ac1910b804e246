//! The stored records of buses and rules (JSON in the store's `EventsStore`), and how
//! the control plane answers them. A rule's targets live inside its record, each the JSON
//! object PutTargets sent, so the delivery that follows reads one record per rule.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::requests::Tag;

/// An event bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Bus {
    pub name: String,
    pub arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_config: Option<Value>,
    /// Milliseconds since the epoch.
    pub created_ms: i64,
    pub modified_ms: i64,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// A rule, its targets inside.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rule {
    pub name: String,
    pub arn: String,
    pub event_bus_name: String,
    pub event_bus_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_expression: Option<String>,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    pub created_by: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub targets: Vec<Value>,
    /// When its `ScheduleExpression` was set (ms since the epoch): a rate counts from
    /// here. Absent in records of an older Hearth (then the epoch).
    #[serde(default)]
    pub scheduled_ms: i64,
}

/// Seconds since the epoch, as the JSON protocol writes a timestamp.
fn seconds(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

fn put_opt(m: &mut Map<String, Value>, key: &str, value: &Option<impl Serialize>) {
    if let Some(v) = value {
        m.insert(key.to_string(), json!(v));
    }
}

impl Bus {
    /// DescribeEventBus's answer.
    pub fn describe(&self) -> Value {
        let mut m = Map::new();
        m.insert("Name".into(), json!(self.name));
        m.insert("Arn".into(), json!(self.arn));
        put_opt(&mut m, "Description", &self.description);
        put_opt(&mut m, "KmsKeyIdentifier", &self.kms_key_identifier);
        put_opt(&mut m, "DeadLetterConfig", &self.dead_letter_config);
        put_opt(&mut m, "Policy", &self.policy);
        put_opt(&mut m, "LogConfig", &self.log_config);
        m.insert("CreationTime".into(), seconds(self.created_ms));
        m.insert("LastModifiedTime".into(), seconds(self.modified_ms));
        Value::Object(m)
    }

    /// ListEventBuses' `EventBus` entry.
    pub fn listed(&self) -> Value {
        let mut m = Map::new();
        m.insert("Name".into(), json!(self.name));
        m.insert("Arn".into(), json!(self.arn));
        put_opt(&mut m, "Description", &self.description);
        put_opt(&mut m, "Policy", &self.policy);
        m.insert("CreationTime".into(), seconds(self.created_ms));
        m.insert("LastModifiedTime".into(), seconds(self.modified_ms));
        Value::Object(m)
    }
}

impl Rule {
    /// ListRules' `Rule` entry.
    pub fn listed(&self) -> Value {
        let mut m = Map::new();
        m.insert("Name".into(), json!(self.name));
        m.insert("Arn".into(), json!(self.arn));
        put_opt(&mut m, "EventPattern", &self.event_pattern);
        m.insert("State".into(), json!(self.state));
        put_opt(&mut m, "Description", &self.description);
        put_opt(&mut m, "ScheduleExpression", &self.schedule_expression);
        put_opt(&mut m, "RoleArn", &self.role_arn);
        m.insert("EventBusName".into(), json!(self.event_bus_name));
        Value::Object(m)
    }

    /// DescribeRule's answer: the listing's fields and `CreatedBy`.
    pub fn describe(&self) -> Value {
        let mut v = self.listed();
        v["CreatedBy"] = json!(self.created_by);
        v
    }

    /// The target's id, as stored.
    pub fn target_id(target: &Value) -> &str {
        target.get("Id").and_then(Value::as_str).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_is_described_with_only_the_fields_it_has() {
        let rule = Rule {
            name: "r".into(),
            arn: "arn:aws:events:us-east-1:123456789012:rule/r".into(),
            event_bus_name: "default".into(),
            event_bus_arn: "arn:aws:events:us-east-1:123456789012:event-bus/default".into(),
            event_pattern: Some("{}".into()),
            schedule_expression: None,
            state: "ENABLED".into(),
            description: None,
            role_arn: None,
            created_by: "123456789012".into(),
            tags: vec![],
            targets: vec![],
            scheduled_ms: 0,
        };
        assert_eq!(
            rule.describe(),
            json!({"Name": "r", "Arn": "arn:aws:events:us-east-1:123456789012:rule/r",
                   "EventPattern": "{}", "State": "ENABLED", "EventBusName": "default",
                   "CreatedBy": "123456789012"})
        );
    }
}
