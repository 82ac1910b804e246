//! Lambda layers: a layer version's record (what the store keeps and the engine decides
//! on), its ARNs, the statements of its permission policy, and the wire shapes of the
//! layer operations (botocore's `PublishLayerVersionResponse`, `LayersListItem`,
//! `LayerVersionsListItem`, ...).

use serde::{Deserialize, Serialize};

use crate::arn::REGION;
use crate::function::CodeRef;

/// The actions a layer version's policy may grant (AddLayerVersionPermission's
/// `Action`). botocore's pattern names `lambda:GetLayerVersion` only; AWS's guide also
/// shows `lambda:ListLayerVersions`, so both are taken.
pub const LAYER_ACTIONS: [&str; 2] = ["lambda:GetLayerVersion", "lambda:ListLayerVersions"];

/// One statement of a layer version's policy, as AddLayerVersionPermission made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerStatement {
    pub sid: String,
    pub action: String,
    /// An account id, or `*`.
    pub principal: String,
    /// With `*` only: the organization whose accounts may use the layer.
    #[serde(default)]
    pub organization_id: Option<String>,
}

impl LayerStatement {
    /// The statement as AWS shows it in `Statement` and the policy document.
    pub fn document(&self, layer_version_arn: &str) -> serde_json::Value {
        let principal = if self.principal == "*" {
            serde_json::json!("*")
        } else {
            serde_json::json!({"AWS": format!("arn:aws:iam::{}:root", self.principal)})
        };
        let mut s = serde_json::json!({
            "Sid": self.sid,
            "Effect": "Allow",
            "Principal": principal,
            "Action": self.action,
            "Resource": layer_version_arn,
        });
        if let Some(org) = &self.organization_id {
            s["Condition"] = serde_json::json!({"StringEquals": {"aws:PrincipalOrgID": org}});
        }
        s
    }

    /// Whether this statement lets `account` perform `action`. A statement limited to an
    /// organization lets no one in: Hearth has no organizations to check membership of.
    pub fn allows(&self, account: &str, action: &str) -> bool {
        self.action == action
            && self.organization_id.is_none()
            && (self.principal == "*" || self.principal == account)
    }
}

/// A published layer version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerVersion {
    pub account: String,
    pub name: String,
    pub version: u64,
    pub description: String,
    #[serde(default)]
    pub license_info: Option<String>,
    #[serde(default)]
    pub compatible_runtimes: Vec<String>,
    #[serde(default)]
    pub compatible_architectures: Vec<String>,
    /// Lambda's timestamp form (`2018-11-27T15:10:45.123+0000`).
    pub created_date: String,
    /// The zip: a blob of the code store, kept while this version exists or any
    /// function version uses it.
    pub code: CodeRef,
    /// The permission policy's statements, in the order they were added.
    #[serde(default)]
    pub policy: Vec<LayerStatement>,
    /// Changes with every change of the policy (AddLayerVersionPermission's `RevisionId`).
    #[serde(default)]
    pub revision_id: String,
}

impl LayerVersion {
    pub fn layer_arn(&self) -> String {
        layer_arn(&self.account, &self.name)
    }

    pub fn version_arn(&self) -> String {
        layer_version_arn(&self.account, &self.name, self.version)
    }

    /// Whether `account` may `action` this version: its own account always, another
    /// only where a statement allows it.
    pub fn allows(&self, account: &str, action: &str) -> bool {
        account == self.account || self.policy.iter().any(|s| s.allows(account, action))
    }

    /// The policy document GetLayerVersionPolicy shows; `None` with no statement.
    pub fn policy_document(&self) -> Option<String> {
        if self.policy.is_empty() {
            return None;
        }
        let arn = self.version_arn();
        let statements: Vec<_> = self.policy.iter().map(|s| s.document(&arn)).collect();
        Some(
            serde_json::json!({
                "Version": "2012-10-17",
                "Id": "default",
                "Statement": statements,
            })
            .to_string(),
        )
    }

    /// Whether the version matches ListLayers' and ListLayerVersions' filters.
    pub fn matches(&self, runtime: Option<&str>, architecture: Option<&str>) -> bool {
        runtime.is_none_or(|r| self.compatible_runtimes.iter().any(|c| c == r))
            && architecture.is_none_or(|a| self.compatible_architectures.iter().any(|c| c == a))
    }

    /// `GetLayerVersionResponse` (and PublishLayerVersion's), `location` being where
    /// the zip downloads from.
    pub fn to_response(&self, location: String) -> LayerVersionResponse {
        LayerVersionResponse {
            content: LayerContent {
                location,
                code_sha256: self.code.sha256_b64.clone(),
                code_size: self.code.size,
            },
            layer_arn: self.layer_arn(),
            layer_version_arn: self.version_arn(),
            description: self.description.clone(),
            created_date: self.created_date.clone(),
            version: self.version,
            compatible_runtimes: self.compatible_runtimes.clone(),
            license_info: self.license_info.clone(),
            compatible_architectures: self.compatible_architectures.clone(),
        }
    }

    /// `LayerVersionsListItem`.
    pub fn to_list_item(&self) -> LayerVersionsListItem {
        LayerVersionsListItem {
            layer_version_arn: self.version_arn(),
            version: self.version,
            description: self.description.clone(),
            created_date: self.created_date.clone(),
            compatible_runtimes: self.compatible_runtimes.clone(),
            license_info: self.license_info.clone(),
            compatible_architectures: self.compatible_architectures.clone(),
        }
    }
}

/// `arn:aws:lambda:REGION:ACCOUNT:layer:NAME`.
pub fn layer_arn(account: &str, name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{account}:layer:{name}")
}

/// `arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION`.
pub fn layer_version_arn(account: &str, name: &str, version: u64) -> String {
    format!("{}:{version}", layer_arn(account, name))
}

/// Whether `name` is a layer name (`[a-zA-Z0-9-_]+`, at most 140 characters).
pub fn valid_layer_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 140
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The account and name a `LayerName` parameter gives (a name, or a layer ARN:
/// `arn:PARTITION:lambda:REGION:ACCOUNT:layer:NAME`), the name alone being
/// `own`'s; `None` if it is neither.
pub fn parse_layer_name(raw: &str, own: &str) -> Option<(String, String)> {
    if !raw.starts_with("arn:") {
        return valid_layer_name(raw).then(|| (own.to_string(), raw.to_string()));
    }
    let parts: Vec<&str> = raw.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", _, account, "layer", name]
            if crate::arn::is_account_id(account) && valid_layer_name(name) =>
        {
            Some((account.to_string(), name.to_string()))
        }
        _ => None,
    }
}

/// The account, name and version of a layer version ARN; `None` if `arn` is not one.
pub fn parse_layer_version_arn(arn: &str) -> Option<(String, String, u64)> {
    if arn.len() > 140 {
        return None;
    }
    let (layer, version) = arn.rsplit_once(':')?;
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (account, name) = parse_layer_name(layer, "").filter(|_| layer.starts_with("arn:"))?;
    Some((account, name, version.parse().ok()?))
}

/// `LayerVersionContentOutput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LayerContent {
    pub location: String,
    pub code_sha256: String,
    pub code_size: u64,
}

/// `PublishLayerVersionResponse` and `GetLayerVersionResponse` (one shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LayerVersionResponse {
    pub content: LayerContent,
    pub layer_arn: String,
    pub layer_version_arn: String,
    pub description: String,
    pub created_date: String,
    pub version: u64,
    pub compatible_runtimes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license_info: Option<String>,
    pub compatible_architectures: Vec<String>,
}

/// `LayerVersionsListItem`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LayerVersionsListItem {
    pub layer_version_arn: String,
    pub version: u64,
    pub description: String,
    pub created_date: String,
    pub compatible_runtimes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license_info: Option<String>,
    pub compatible_architectures: Vec<String>,
}

/// `LayersListItem`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LayersListItem {
    pub layer_name: String,
    pub layer_arn: String,
    pub latest_matching_version: LayerVersionsListItem,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_arns_parse() {
        assert_eq!(
            parse_layer_name("my-layer_1", "111111111111"),
            Some(("111111111111".into(), "my-layer_1".into()))
        );
        assert_eq!(
            parse_layer_name("arn:aws:lambda:us-east-1:222222222222:layer:x", "1"),
            Some(("222222222222".into(), "x".into()))
        );
        assert_eq!(parse_layer_name("a.b", "1"), None);
        assert_eq!(
            parse_layer_name("arn:aws:lambda:us-east-1:2222:layer:x", "1"),
            None
        );
        assert_eq!(
            parse_layer_version_arn("arn:aws:lambda:us-east-1:222222222222:layer:x:12"),
            Some(("222222222222".into(), "x".into(), 12))
        );
        assert_eq!(parse_layer_version_arn("x:12"), None);
        assert_eq!(
            parse_layer_version_arn("arn:aws:lambda:us-east-1:222222222222:layer:x"),
            None
        );
        assert_eq!(
            layer_version_arn("222222222222", "x", 3),
            "arn:aws:lambda:us-east-1:222222222222:layer:x:3"
        );
    }

    #[test]
    fn statements_allow_their_account_or_anyone_but_never_through_an_organization() {
        let s = |principal: &str, org: Option<&str>| LayerStatement {
            sid: "s".into(),
            action: "lambda:GetLayerVersion".into(),
            principal: principal.into(),
            organization_id: org.map(str::to_string),
        };
        assert!(s("222222222222", None).allows("222222222222", "lambda:GetLayerVersion"));
        assert!(!s("222222222222", None).allows("333333333333", "lambda:GetLayerVersion"));
        assert!(!s("222222222222", None).allows("222222222222", "lambda:ListLayerVersions"));
        assert!(s("*", None).allows("333333333333", "lambda:GetLayerVersion"));
        assert!(!s("*", Some("o-abcdefghij")).allows("333333333333", "lambda:GetLayerVersion"));
        assert_eq!(
            s("*", Some("o-abcdefghij")).document("arn:l:1"),
            serde_json::json!({
                "Sid": "s", "Effect": "Allow", "Principal": "*",
                "Action": "lambda:GetLayerVersion", "Resource": "arn:l:1",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}},
            })
        );
        assert_eq!(
            s("222222222222", None).document("arn:l:1")["Principal"],
            serde_json::json!({"AWS": "arn:aws:iam::222222222222:root"})
        );
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any input either parses or is refused; nothing panics, and what parses is an
        /// ARN this module would write.
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            if let Some((account, name, version)) = parse_layer_version_arn(&s) {
                prop_assert!(crate::arn::is_account_id(&account));
                prop_assert!(valid_layer_name(&name));
                prop_assert!(s.starts_with("arn:"));
                let middle = format!(":{account}:layer:{name}:");
                prop_assert!(s.contains(&middle));
                prop_assert!(s.ends_with(&version.to_string()));
            }
            let _ = parse_layer_name(&s, "000000000000");
        }

        /// A valid account, name and version survive the trip through a version ARN.
        #[test]
        fn version_arn_round_trips(
            account in "[0-9]{12}",
            name in "[a-zA-Z0-9_-]{1,64}",
            version in 1u64..1_000_000,
        ) {
            let arn = layer_version_arn(&account, &name, version);
            prop_assert_eq!(parse_layer_version_arn(&arn), Some((account.clone(), name.clone(), version)));
            prop_assert_eq!(parse_layer_name(&layer_arn(&account, &name), "1"), Some((account, name)));
        }
    }
}
