//! Reserved and provisioned concurrency: the stored provisioned-concurrency request
//! and the request and response shapes of the concurrency operations.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PutFunctionConcurrencyRequest {
    pub reserved_concurrent_executions: Option<i64>,
}

/// PutFunctionConcurrency's answer and GetFunction's `Concurrency`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Concurrency {
    pub reserved_concurrent_executions: i64,
}

/// GetFunctionConcurrency: the member is absent when nothing is reserved.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetFunctionConcurrencyResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_concurrent_executions: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PutProvisionedConcurrencyConfigRequest {
    pub provisioned_concurrent_executions: Option<i64>,
}

/// A provisioned-concurrency request as stored, per function and qualifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionedConfig {
    pub function: String,
    /// A version number or an alias name.
    pub qualifier: String,
    pub requested: i64,
    pub last_modified: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProvisionedStatus {
    InProgress,
    Ready,
    Failed,
}

/// Put/GetProvisionedConcurrencyConfig's answer; with `FunctionArn`, a list item.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProvisionedConcurrencyConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_arn: Option<String>,
    pub requested_provisioned_concurrent_executions: i64,
    pub available_provisioned_concurrent_executions: i64,
    pub allocated_provisioned_concurrent_executions: i64,
    pub status: ProvisionedStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub last_modified: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListProvisionedConcurrencyConfigsResponse {
    pub provisioned_concurrency_configs: Vec<ProvisionedConcurrencyConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}
