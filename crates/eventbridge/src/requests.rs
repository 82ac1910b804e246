//! The control plane's requests as botocore's `events` model shapes them (members in
//! PascalCase); the wire layer deserialises a request's JSON body into one of these.
//! A target is kept as the JSON object PutTargets sent ([`Target::raw`]), since
//! ListTargetsByRule answers it as stored.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A resource tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateEventBus {
    pub name: String,
    pub event_source_name: Option<String>,
    pub description: Option<String>,
    pub kms_key_identifier: Option<String>,
    pub dead_letter_config: Option<Value>,
    pub log_config: Option<Value>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRule {
    pub name: String,
    pub schedule_expression: Option<String>,
    pub event_pattern: Option<String>,
    pub state: Option<String>,
    pub description: Option<String>,
    pub role_arn: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    pub event_bus_name: Option<String>,
}

/// A listing's paging (`NamePrefix`, `Limit`, `NextToken`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Page {
    pub name_prefix: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

/// One target of PutTargets: the fields Hearth checks, and the whole object as sent.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: String,
    pub arn: String,
    pub input: Option<String>,
    pub input_path: Option<String>,
    pub input_transformer: Option<InputTransformer>,
    pub retry_policy: Option<RetryPolicy>,
    pub dead_letter_arn: Option<String>,
    pub raw: Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InputTransformer {
    /// In the request's order (the transformer's checks report the first bad entry).
    #[serde(default, with = "ordered_map")]
    pub input_paths_map: Vec<(String, String)>,
    pub input_template: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetryPolicy {
    pub maximum_retry_attempts: Option<i64>,
    pub maximum_event_age_in_seconds: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TargetFields {
    id: String,
    arn: String,
    input: Option<String>,
    input_path: Option<String>,
    input_transformer: Option<InputTransformer>,
    retry_policy: Option<RetryPolicy>,
    dead_letter_config: Option<DeadLetterConfig>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeadLetterConfig {
    arn: Option<String>,
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Value::deserialize(d)?;
        let f = TargetFields::deserialize(&raw).map_err(serde::de::Error::custom)?;
        Ok(Target {
            id: f.id,
            arn: f.arn,
            input: f.input,
            input_path: f.input_path,
            input_transformer: f.input_transformer,
            retry_policy: f.retry_policy,
            dead_letter_arn: f.dead_letter_config.and_then(|d| d.arn),
            raw,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutTargets {
    pub rule: String,
    pub event_bus_name: Option<String>,
    pub targets: Vec<Target>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveTargets {
    pub rule: String,
    pub event_bus_name: Option<String>,
    pub ids: Vec<String>,
    #[serde(default)]
    pub force: bool,
}

/// A map read as its entries in the document's order.
mod ordered_map {
    use serde::de::{MapAccess, Visitor};
    use serde::Deserializer;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Vec<(String, String)>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = m.next_entry::<String, String>()? {
                    out.push(entry);
                }
                Ok(out)
            }
        }
        d.deserialize_map(Entries)
    }
}
