//! The stored function record: what CreateFunction/Update* set and every read returns.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::arn::{function_arn, LATEST};
use crate::settings::{Logging, TracingMode, Vpc};
use crate::shapes::{
    DeadLetterConfig, EnvironmentResponse, EphemeralStorage, FunctionConfiguration,
    LoggingConfigResponse, RuntimeVersionConfig, SnapStartResponse, TracingConfigResponse,
    VpcConfigResponse,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    Pending,
    Active,
    Inactive,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LastUpdateStatus {
    Successful,
    Failed,
    InProgress,
}

/// The code a function runs: a content-addressed zip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRef {
    /// Lowercase hex SHA-256 of the zip: the blob's key in the store.
    pub sha256_hex: String,
    /// Base64 SHA-256 of the zip, Lambda's `CodeSha256`.
    pub sha256_b64: String,
    pub size: u64,
    pub unzipped_size: u64,
}

/// A layer version a function uses: its version ARN (`arn:aws:lambda:...:layer:NAME:N`)
/// and its content, resolved when the function's `Layers` were set (a version keeps the
/// layers it was published with; a deleted layer version keeps working for them, as
/// on AWS, since its blob stays referenced from here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRef {
    pub arn: String,
    pub code: CodeRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionConfig {
    pub name: String,
    pub version: String,
    pub runtime: String,
    pub handler: String,
    pub role: String,
    pub description: String,
    pub timeout: i64,
    pub memory_size: i64,
    pub ephemeral_storage: i64,
    pub environment: BTreeMap<String, String>,
    pub architectures: Vec<String>,
    pub code: CodeRef,
    pub last_modified: String,
    pub revision_id: String,
    pub state: State,
    pub state_reason: Option<String>,
    pub state_reason_code: Option<String>,
    pub last_update_status: LastUpdateStatus,
    pub last_update_status_reason: Option<String>,
    pub last_update_status_reason_code: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// `DeadLetterConfig.TargetArn`: the SQS queue or SNS topic an asynchronous event goes
    /// to when it fails (with its destination on failure, if any). Absent from records
    /// written before Hearth knew it.
    #[serde(default)]
    pub dead_letter_target_arn: Option<String>,
    /// While an UpdateFunctionCode is in progress, the code it replaces: what
    /// invocations run until the new code is unpacked, and what `$LATEST` goes back to
    /// if it cannot be (Lambda keeps the previous code when an update fails). Only on
    /// `$LATEST`; not part of any API shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_code: Option<CodeRef>,
    /// Whether `Environment` was given (Lambda returns `{"Variables": {}}` for an empty
    /// one and nothing for none).
    #[serde(default)]
    pub environment_set: bool,
    /// `LoggingConfig` (see [`crate::settings`]).
    #[serde(default)]
    pub logging: Logging,
    /// `TracingConfig.Mode`.
    #[serde(default)]
    pub tracing: TracingMode,
    /// `VpcConfig`, once given (only an empty one: see [`crate::settings`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc: Option<Vpc>,
    /// The installed runtime's version id (64 hex digits, see
    /// `hearth_runtimes::Catalog::runtime_version`), recorded when the runtime was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_version: Option<String>,
    /// On a published version: `$LATEST`'s description when it was published (the
    /// version's own may be PublishVersion's). PublishVersion compares it with
    /// `$LATEST`'s to decide whether anything changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_description: Option<String>,
    /// On `$LATEST`, after PublishVersion gave it a new `RevisionId`: the revision its
    /// environments were started for, which publishing does not make stale. Cleared by
    /// the next change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_revision: Option<String>,
    /// `KMSKeyArn`: a Hearth key (`hearth kms create`) the environment variables are
    /// sealed under instead of the server's own; answered as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
    /// `Layers`, in the order given: a later layer's files win in `/opt`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerRef>,
    /// A Hearth extension (docs/fresh-env.md): every invocation runs in a new
    /// environment that is never reused. A version keeps `$LATEST`'s value from when it
    /// was published; records written before Hearth knew it read as `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fresh_env: bool,
}

impl FunctionConfig {
    /// The unqualified ARN for `$LATEST`, `...:N` for a published version (as
    /// GetFunctionConfiguration reports them).
    pub fn arn(&self) -> String {
        if self.is_latest() {
            function_arn(&self.name, None)
        } else {
            function_arn(&self.name, Some(&self.version))
        }
    }

    pub fn log_group(&self) -> String {
        log_group_of(&self.name)
    }

    pub fn is_latest(&self) -> bool {
        self.version == LATEST
    }

    /// The `FunctionConfiguration` shape returned by every configuration-returning call.
    pub fn to_configuration(&self) -> FunctionConfiguration {
        FunctionConfiguration {
            function_name: crate::arn::key_name(&self.name).to_string(),
            function_arn: self.arn(),
            runtime: self.runtime.clone(),
            role: self.role.clone(),
            handler: self.handler.clone(),
            code_size: self.code.size,
            description: self.description.clone(),
            timeout: self.timeout,
            memory_size: self.memory_size,
            last_modified: self.last_modified.clone(),
            code_sha256: self.code.sha256_b64.clone(),
            version: self.version.clone(),
            environment: (self.environment_set || !self.environment.is_empty()).then(|| {
                EnvironmentResponse {
                    variables: self.environment.clone(),
                }
            }),
            dead_letter_config: self
                .dead_letter_target_arn
                .clone()
                .map(|arn| DeadLetterConfig {
                    target_arn: Some(arn),
                }),
            kms_key_arn: self.kms_key_arn.clone(),
            tracing_config: TracingConfigResponse {
                mode: self.tracing.as_str().into(),
            },
            vpc_config: self.vpc.map(|v| VpcConfigResponse {
                subnet_ids: Vec::new(),
                security_group_ids: Vec::new(),
                vpc_id: String::new(),
                ipv6_allowed_for_dual_stack: v.ipv6_allowed_for_dual_stack,
            }),
            runtime_version_config: Some(RuntimeVersionConfig {
                runtime_version_arn: runtime_version_arn(
                    &self.runtime,
                    self.runtime_version.as_deref(),
                ),
            }),
            revision_id: self.revision_id.clone(),
            layers: self
                .layers
                .iter()
                .map(|l| crate::shapes::LayerShape {
                    arn: l.arn.clone(),
                    code_size: l.code.size,
                })
                .collect(),
            state: Some(self.state),
            state_reason: self.state_reason.clone(),
            state_reason_code: self.state_reason_code.clone(),
            // Lambda reports no update status while the function (or version) is
            // still being created.
            last_update_status: (self.state != State::Pending).then_some(self.last_update_status),
            last_update_status_reason: self.last_update_status_reason.clone(),
            last_update_status_reason_code: self.last_update_status_reason_code.clone(),
            package_type: "Zip".into(),
            architectures: self.architectures.clone(),
            ephemeral_storage: EphemeralStorage {
                size: self.ephemeral_storage,
            },
            snap_start: SnapStartResponse {
                apply_on: "None".into(),
                optimization_status: "Off".into(),
            },
            logging_config: LoggingConfigResponse {
                log_format: self.logging.format.as_str().into(),
                application_log_level: self.logging.application_level.clone(),
                system_log_level: self.logging.system_level.clone(),
                log_group: self.log_group(),
            },
        }
    }

    /// The entry ListFunctions and ListVersionsByFunction give: the configuration
    /// without the members Lambda leaves to GetFunction (the states, the last update's
    /// status and the runtime version).
    pub fn to_list_entry(&self) -> FunctionConfiguration {
        FunctionConfiguration {
            state: None,
            state_reason: None,
            state_reason_code: None,
            last_update_status: None,
            last_update_status_reason: None,
            last_update_status_reason_code: None,
            runtime_version_config: None,
            ..self.to_configuration()
        }
    }
}

/// `arn:aws:lambda:<region>::runtime:<64 hex digits>`: Lambda's form of a runtime
/// version's ARN. `version` is the installed runtime's id; a record written before
/// Hearth kept one gets the hash of the runtime's name.
pub fn runtime_version_arn(runtime: &str, version: Option<&str>) -> String {
    use sha2::Digest as _;
    let id = match version {
        Some(v) => v.to_string(),
        None => sha2::Sha256::digest(runtime.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    };
    format!("arn:aws:lambda:{}::runtime:{id}", crate::arn::REGION)
}

/// `/aws/lambda/<function>`: the log group Lambda writes a function's logs to (in the
/// function's account; `function` is its key).
pub fn log_group_of(function: &str) -> String {
    format!("/aws/lambda/{}", crate::arn::key_name(function))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record written before Hearth knew the fresh-environment setting reads as off,
    /// and a record with it off is written as before.
    #[test]
    fn fresh_env_defaults_to_off_and_is_kept_when_on() {
        let mut f = crate::testing::function("f");
        let mut old = serde_json::to_value(&f).expect("to JSON");
        assert!(old.get("fresh_env").is_none(), "{old}");
        old.as_object_mut().expect("an object").remove("fresh_env");
        let read: FunctionConfig = serde_json::from_value(old).expect("from JSON");
        assert!(!read.fresh_env);
        f.fresh_env = true;
        let text = serde_json::to_string(&f).expect("to JSON");
        let back: FunctionConfig = serde_json::from_str(&text).expect("from JSON");
        assert!(back.fresh_env);
    }
}
