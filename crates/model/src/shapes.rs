//! Request and response bodies of the Lambda REST API, named as in botocore's model.
//! Requests deny unknown fields: every member the model defines is listed, so a
//! misspelt field is an error rather than silently ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::function::{LastUpdateStatus, State};
use crate::settings::{
    LoggingConfigRequest, SnapStartRequest, TracingConfigRequest, VpcConfigRequest,
};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct FunctionCode {
    pub zip_file: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_key: Option<String>,
    pub s3_object_version: Option<String>,
    pub image_uri: Option<String>,
    #[serde(rename = "SourceKMSKeyArn")]
    pub source_kms_key_arn: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Environment {
    pub variables: Option<BTreeMap<String, String>>,
}

/// `DeadLetterConfig`: where Lambda sends events whose asynchronous invocation failed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DeadLetterConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_arn: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct EphemeralStorage {
    pub size: i64,
}

/// Members Hearth accepts but does not act on yet are kept as raw JSON so that the
/// request still parses and validation can say precisely what is unsupported.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateFunctionRequest {
    pub function_name: Option<String>,
    pub runtime: Option<String>,
    pub role: Option<String>,
    pub handler: Option<String>,
    pub code: Option<FunctionCode>,
    pub description: Option<String>,
    pub timeout: Option<i64>,
    pub memory_size: Option<i64>,
    pub publish: Option<bool>,
    pub vpc_config: Option<VpcConfigRequest>,
    pub package_type: Option<String>,
    pub dead_letter_config: Option<DeadLetterConfig>,
    pub environment: Option<Environment>,
    #[serde(rename = "KMSKeyArn")]
    pub kms_key_arn: Option<String>,
    pub tracing_config: Option<TracingConfigRequest>,
    pub tags: Option<BTreeMap<String, String>>,
    pub layers: Option<Vec<String>>,
    pub file_system_configs: Option<Vec<Value>>,
    pub image_config: Option<Value>,
    pub code_signing_config_arn: Option<String>,
    pub architectures: Option<Vec<String>>,
    pub ephemeral_storage: Option<EphemeralStorage>,
    pub snap_start: Option<SnapStartRequest>,
    pub logging_config: Option<LoggingConfigRequest>,
    pub capacity_provider_config: Option<Value>,
    pub publish_to: Option<String>,
    pub durable_config: Option<Value>,
    pub tenancy_config: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UpdateFunctionCodeRequest {
    pub zip_file: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_key: Option<String>,
    pub s3_object_version: Option<String>,
    pub image_uri: Option<String>,
    pub publish: Option<bool>,
    pub dry_run: Option<bool>,
    pub revision_id: Option<String>,
    pub architectures: Option<Vec<String>>,
    #[serde(rename = "SourceKMSKeyArn")]
    pub source_kms_key_arn: Option<String>,
    pub publish_to: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UpdateFunctionConfigurationRequest {
    pub role: Option<String>,
    pub handler: Option<String>,
    pub description: Option<String>,
    pub timeout: Option<i64>,
    pub memory_size: Option<i64>,
    pub vpc_config: Option<VpcConfigRequest>,
    pub environment: Option<Environment>,
    pub runtime: Option<String>,
    pub dead_letter_config: Option<DeadLetterConfig>,
    #[serde(rename = "KMSKeyArn")]
    pub kms_key_arn: Option<String>,
    pub tracing_config: Option<TracingConfigRequest>,
    pub revision_id: Option<String>,
    pub layers: Option<Vec<String>>,
    pub file_system_configs: Option<Vec<Value>>,
    pub image_config: Option<Value>,
    pub ephemeral_storage: Option<EphemeralStorage>,
    pub snap_start: Option<SnapStartRequest>,
    pub logging_config: Option<LoggingConfigRequest>,
    pub capacity_provider_config: Option<Value>,
    pub durable_config: Option<Value>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnvironmentResponse {
    pub variables: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TracingConfigResponse {
    pub mode: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnapStartResponse {
    pub apply_on: String,
    pub optimization_status: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfigResponse {
    pub log_format: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_log_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_log_level: Option<String>,
    pub log_group: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VpcConfigResponse {
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub vpc_id: String,
    pub ipv6_allowed_for_dual_stack: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuntimeVersionConfig {
    pub runtime_version_arn: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionConfiguration {
    pub function_name: String,
    pub function_arn: String,
    pub runtime: String,
    pub role: String,
    pub handler: String,
    pub code_size: u64,
    pub description: String,
    pub timeout: i64,
    pub memory_size: i64,
    pub last_modified: String,
    pub code_sha256: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<EnvironmentResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_config: Option<DeadLetterConfig>,
    #[serde(rename = "KMSKeyArn", skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
    pub tracing_config: TracingConfigResponse,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_config: Option<VpcConfigResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_version_config: Option<RuntimeVersionConfig>,
    pub revision_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerShape>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_status: Option<LastUpdateStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_status_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_status_reason_code: Option<String>,
    pub package_type: String,
    pub architectures: Vec<String>,
    pub ephemeral_storage: EphemeralStorage,
    pub snap_start: SnapStartResponse,
    pub logging_config: LoggingConfigResponse,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionCodeLocation {
    pub repository_type: String,
    pub location: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetFunctionResponse {
    pub configuration: FunctionConfiguration,
    pub code: FunctionCodeLocation,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<crate::concurrency::Concurrency>,
    /// Hearth's extensions (`{"Egress": ..., "FreshEnv": bool}`, docs/egress.md and
    /// docs/fresh-env.md): a key AWS does not have, which AWS's SDKs skip when they
    /// parse the answer.
    #[serde(rename = "Hearth", skip_serializing_if = "Option::is_none")]
    pub hearth: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListFunctionsResponse {
    pub functions: Vec<FunctionConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountLimit {
    pub total_code_size: i64,
    pub code_size_unzipped: i64,
    pub code_size_zipped: i64,
    pub concurrent_executions: i64,
    pub unreserved_concurrent_executions: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountUsage {
    pub total_code_size: i64,
    pub function_count: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetAccountSettingsResponse {
    pub account_limit: AccountLimit,
    pub account_usage: AccountUsage,
}

/// The body a runtime posts to `/error` or `/init/error`, and the body Hearth itself
/// returns for platform-detected failures (timeouts, crashes).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FunctionErrorBody {
    #[serde(rename = "errorMessage")]
    pub error_message: String,
    #[serde(rename = "errorType")]
    pub error_type: String,
}

/// A layer in a function's configuration (`Layer` in Lambda's model).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LayerShape {
    pub arn: String,
    pub code_size: u64,
}
