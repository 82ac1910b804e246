//! Versions and aliases: the stored alias record, the request and response shapes of
//! PublishVersion, ListVersionsByFunction and the alias operations, and their
//! validation (botocore's patterns, Lambda's rules on routing weights).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::arn::{function_arn, LATEST};
use crate::error::AwsError;
use crate::shapes::FunctionConfiguration;
use crate::violations::Violations;

/// An alias as stored: a name for one version, optionally sending a share of the
/// invocations to a second version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alias {
    pub function: String,
    pub name: String,
    /// `$LATEST` or a version number.
    pub function_version: String,
    pub description: String,
    /// Additional version → share of invocations (0.0 to 1.0).
    pub additional_weights: BTreeMap<String, f64>,
    pub revision_id: String,
}

impl Alias {
    pub fn arn(&self) -> String {
        function_arn(&self.function, Some(&self.name))
    }

    pub fn to_configuration(&self) -> AliasConfiguration {
        AliasConfiguration {
            alias_arn: self.arn(),
            name: self.name.clone(),
            function_version: self.function_version.clone(),
            description: self.description.clone(),
            routing_config: (!self.additional_weights.is_empty()).then(|| {
                AliasRoutingConfiguration {
                    additional_version_weights: Some(self.additional_weights.clone()),
                }
            }),
            revision_id: self.revision_id.clone(),
        }
    }

    /// The version an invocation runs, given a uniform draw `u` in [0, 1): the
    /// additional version takes its weight's share, the primary the rest.
    pub fn pick_version(&self, u: f64) -> &str {
        let mut acc = 0.0;
        for (version, weight) in &self.additional_weights {
            acc += weight;
            if u < acc {
                return version;
            }
        }
        &self.function_version
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AliasRoutingConfiguration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_version_weights: Option<BTreeMap<String, f64>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasConfiguration {
    pub alias_arn: String,
    pub name: String,
    pub function_version: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_config: Option<AliasRoutingConfiguration>,
    pub revision_id: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateAliasRequest {
    pub name: Option<String>,
    pub function_version: Option<String>,
    pub description: Option<String>,
    pub routing_config: Option<AliasRoutingConfiguration>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UpdateAliasRequest {
    pub function_version: Option<String>,
    pub description: Option<String>,
    pub routing_config: Option<AliasRoutingConfiguration>,
    pub revision_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAliasesResponse {
    pub aliases: Vec<AliasConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PublishVersionRequest {
    pub code_sha256: Option<String>,
    pub description: Option<String>,
    pub revision_id: Option<String>,
    pub publish_to: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListVersionsByFunctionResponse {
    pub versions: Vec<FunctionConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

/// Whether a qualifier names a published version (digits only).
pub fn is_version_number(q: &str) -> bool {
    !q.is_empty() && q.bytes().all(|b| b.is_ascii_digit())
}

/// An alias name: 1–128 of `[a-zA-Z0-9-_]`, not all digits (that would be a version).
pub fn validate_alias_name(name: &str) -> Result<(), AwsError> {
    let mut v = Violations::new();
    check_alias_name(name, &mut v);
    v.into_result()
}

pub fn check_alias_name(name: &str, v: &mut Violations) {
    v.length(name, "name", 1, 128);
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !is_version_number(name);
    v.pattern(name, "name", ok, "(?!^[0-9]+$)([a-zA-Z0-9-_]+)");
}

/// A version an alias may point at: `$LATEST`, `$LATEST.PUBLISHED` or a number.
pub fn check_version(version: &str, v: &mut Violations) {
    v.length(version, "functionVersion", 1, 1024);
    let ok = version == LATEST || version == "$LATEST.PUBLISHED" || is_version_number(version);
    v.pattern(
        version,
        "functionVersion",
        ok,
        "(\\$LATEST(\\.PUBLISHED)?|[0-9]+)",
    );
}

/// `AdditionalVersionWeights` as the model constrains it: keys 1–1024 digits, weights
/// 0.0–1.0. AWS quotes the whole map as Java prints one (`{2=0.5}`) and lists all of the
/// keys' or the values' constraints.
pub fn check_weights(weights: &BTreeMap<String, f64>, v: &mut Violations) {
    const FIELD: &str = "routingConfig.additionalVersionWeights";
    let shown = format!(
        "{{{}}}",
        weights
            .iter()
            .map(|(k, w)| format!("{k}={w:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if weights
        .keys()
        .any(|k| !is_version_number(k) || k.len() > 1024)
    {
        v.value(&shown, FIELD, "Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]");
    }
    if weights.values().any(|w| !(0.0..=1.0).contains(w)) {
        v.value(&shown, FIELD, "Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]");
    }
}

/// Lambda's rule for `AdditionalVersionWeights` on their own, once the model's hold: at
/// most one additional version.
pub fn validate_weights(weights: &BTreeMap<String, f64>) -> Result<(), AwsError> {
    if weights.len() > 1 {
        return Err(AwsError::invalid(
            "Number of items in AdditionalVersionWeights cannot be greater than 1",
        ));
    }
    Ok(())
}

/// Lambda's rules for weights against the alias's primary version (which an update
/// may keep from the alias): the additional version differs from it, and it is not
/// `$LATEST`. The message of the rule broken, if one is.
pub fn routing_conflict(primary: &str, weights: &BTreeMap<String, f64>) -> Option<String> {
    if weights.is_empty() {
        return None;
    }
    if let Some(version) = weights.keys().find(|v| *v == primary) {
        return Some(format!(
            "Invalid function version {version}. Function version {version} is already included in routing configuration."
        ));
    }
    (primary == LATEST)
        .then(|| "$LATEST is not supported for an alias pointing to more than 1 version".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alias(weights: &[(&str, f64)]) -> Alias {
        Alias {
            function: "f".into(),
            name: "live".into(),
            function_version: "1".into(),
            description: String::new(),
            additional_weights: weights.iter().map(|(v, w)| (v.to_string(), *w)).collect(),
            revision_id: "r".into(),
        }
    }

    #[test]
    fn weights_split_the_unit_interval() {
        let a = alias(&[("2", 0.25)]);
        assert_eq!(a.pick_version(0.0), "2");
        assert_eq!(a.pick_version(0.2499), "2");
        assert_eq!(a.pick_version(0.25), "1");
        assert_eq!(a.pick_version(0.99), "1");
        assert_eq!(alias(&[]).pick_version(0.0), "1");
        assert_eq!(alias(&[("2", 1.0)]).pick_version(0.999), "2");
    }

    #[test]
    fn alias_names_are_not_version_numbers() {
        assert!(validate_alias_name("live").is_ok());
        assert!(validate_alias_name("v1-blue_2").is_ok());
        assert!(validate_alias_name("12").is_err());
        assert!(validate_alias_name("").is_err());
        assert!(validate_alias_name("a:b").is_err());
        assert!(validate_alias_name(&"a".repeat(129)).is_err());
    }

    #[test]
    fn routing_rules() {
        let w = |v: &str, x: f64| BTreeMap::from([(v.to_string(), x)]);
        assert!(validate_weights(&w("2", 0.5)).is_ok());
        assert!(routing_conflict("1", &w("2", 0.5)).is_none());
        assert!(routing_conflict("1", &BTreeMap::new()).is_none());
        assert!(routing_conflict("$LATEST", &BTreeMap::new()).is_none());
        assert!(routing_conflict("1", &w("1", 0.5)).is_some());
        let mut v = Violations::new();
        check_weights(&w("2", 2.0), &mut v);
        check_weights(&w("$LATEST", 0.5), &mut v);
        assert_eq!(
            v.messages(),
            [
                "Value '{2=2.0}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]",
                "Value '{$LATEST=0.5}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]",
            ]
        );
        assert!(routing_conflict("$LATEST", &w("2", 0.5)).is_some());
        let two = BTreeMap::from([("2".to_string(), 0.1), ("3".to_string(), 0.1)]);
        assert!(validate_weights(&two).is_err());
    }
}
