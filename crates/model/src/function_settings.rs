//! Per-function settings Lambda keeps beside the configuration: runtime management
//! (Get/PutRuntimeManagementConfig, per `$LATEST` or version), recursive-loop
//! detection (Get/PutFunctionRecursionConfig, per function) and the answer of
//! GetFunctionCodeSigningConfig for a function without a code signing config.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::AwsError;

const RUNTIME_VERSION_ARN: &str = r"((arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}::runtime:.+)|(arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:runtime/[A-Za-z0-9_.-]{1,128}/version/[A-Za-z0-9_.-]{1,128}))";

static RE_RUNTIME_VERSION_ARN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!("^(?:{RUNTIME_VERSION_ARN})$"))
        .expect("botocore's RuntimeVersionArn pattern is a valid regex")
});

/// When a function's runtime is updated (botocore's `UpdateRuntimeOn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum UpdateRuntimeOn {
    #[default]
    Auto,
    FunctionUpdate,
    Manual,
}

/// A function's (or version's) runtime management configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeManagement {
    pub update_runtime_on: UpdateRuntimeOn,
    /// With `Manual`, the runtime version pinned.
    pub runtime_version_arn: Option<String>,
}

/// Whether Lambda stops a recursive loop (botocore's `RecursiveLoop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum RecursiveLoop {
    Allow,
    #[default]
    Terminate,
}

/// What is kept per function and qualifier; absent members are Lambda's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionSettings {
    #[serde(default)]
    pub runtime_management: Option<RuntimeManagement>,
    #[serde(default)]
    pub recursive_loop: Option<RecursiveLoop>,
    /// The function's egress policy (a Hearth extension, kept with `$LATEST`); absent:
    /// the server's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<crate::egress::EgressPolicy>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PutRuntimeManagementConfigRequest {
    pub update_runtime_on: Option<String>,
    pub runtime_version_arn: Option<String>,
}

impl PutRuntimeManagementConfigRequest {
    pub fn validated(self) -> Result<RuntimeManagement, AwsError> {
        let on = self
            .update_runtime_on
            .ok_or_else(|| AwsError::null_member("updateRuntimeOn"))?;
        let update_runtime_on = match on.as_str() {
            "Auto" => UpdateRuntimeOn::Auto,
            "FunctionUpdate" => UpdateRuntimeOn::FunctionUpdate,
            "Manual" => UpdateRuntimeOn::Manual,
            _ => {
                return Err(AwsError::constraint(
                    &on,
                    "updateRuntimeOn",
                    "Member must satisfy enum value set: [Auto, Manual, FunctionUpdate]",
                ))
            }
        };
        if let Some(arn) = &self.runtime_version_arn {
            if arn.len() < 26 || arn.len() > 2048 || !RE_RUNTIME_VERSION_ARN.is_match(arn) {
                return Err(AwsError::constraint(
                    arn,
                    "runtimeVersionArn",
                    &format!(
                        "Member must satisfy regular expression pattern: {RUNTIME_VERSION_ARN}"
                    ),
                ));
            }
        }
        match (update_runtime_on, &self.runtime_version_arn) {
            (UpdateRuntimeOn::Manual, None) => Err(AwsError::invalid(
                "Runtime version ARN must be set when UpdateRuntimeOn is Manual.",
            )),
            (UpdateRuntimeOn::Auto | UpdateRuntimeOn::FunctionUpdate, Some(_)) => {
                Err(AwsError::invalid(format!(
                    "Runtime version ARN can be set only when UpdateRuntimeOn is Manual, not {on}."
                )))
            }
            _ => Ok(RuntimeManagement {
                update_runtime_on,
                runtime_version_arn: self.runtime_version_arn,
            }),
        }
    }
}

/// Get- and PutRuntimeManagementConfig's answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuntimeManagementConfigResponse {
    pub update_runtime_on: UpdateRuntimeOn,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_version_arn: Option<String>,
    pub function_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PutFunctionRecursionConfigRequest {
    pub recursive_loop: Option<String>,
}

impl PutFunctionRecursionConfigRequest {
    pub fn validated(self) -> Result<RecursiveLoop, AwsError> {
        let value = self
            .recursive_loop
            .ok_or_else(|| AwsError::null_member("recursiveLoop"))?;
        match value.as_str() {
            "Allow" => Ok(RecursiveLoop::Allow),
            "Terminate" => Ok(RecursiveLoop::Terminate),
            _ => Err(AwsError::constraint(
                &value,
                "recursiveLoop",
                "Member must satisfy enum value set: [Terminate, Allow]",
            )),
        }
    }
}

/// Get- and PutFunctionRecursionConfig's answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecursionConfigResponse {
    pub recursive_loop: RecursiveLoop,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recursion_values_are_the_models() {
        let bad = PutFunctionRecursionConfigRequest {
            recursive_loop: Some("InvalidValue".into()),
        };
        assert_eq!(bad.validated().expect_err("bad").message, "1 validation error detected: Value 'InvalidValue' at 'recursiveLoop' failed to satisfy constraint: Member must satisfy enum value set: [Terminate, Allow]");
        assert_eq!(RecursiveLoop::default(), RecursiveLoop::Terminate);
    }

    #[test]
    fn manual_needs_a_version_and_only_manual_takes_one() {
        let arn = "arn:aws:lambda:us-east-1::runtime:0123456789abcdef".to_string();
        let req = |on: &str, arn: Option<String>| PutRuntimeManagementConfigRequest {
            update_runtime_on: Some(on.into()),
            runtime_version_arn: arn,
        };
        assert!(req("Manual", None).validated().is_err());
        assert!(req("Auto", Some(arn.clone())).validated().is_err());
        assert_eq!(
            req("Manual", Some(arn.clone())).validated().expect("ok"),
            RuntimeManagement {
                update_runtime_on: UpdateRuntimeOn::Manual,
                runtime_version_arn: Some(arn)
            }
        );
        assert!(req("Sometimes", None).validated().is_err());
    }
}
