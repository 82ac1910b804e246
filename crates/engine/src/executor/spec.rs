//! [`RunSpec`]: what the executor needs to start and run an environment of one function
//! version, resolved by the control plane and immutable from then on.

use std::collections::BTreeMap;

use hearth_model::egress::EgressPolicy;
use hearth_model::function::CodeRef;
use hearth_model::settings::Logging;

/// A resolved function configuration: one version's code and the settings that shape
/// its environments. The executor runs it as given; it never looks a function up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunSpec {
    pub function: String,
    /// The execution role, whose temporary credentials the environment gets.
    pub role: String,
    /// `$LATEST` or a version number: which pool the environments go back to.
    pub version: String,
    /// Environments started for another revision of the same version are stale.
    pub revision: String,
    pub runtime: String,
    pub handler: String,
    /// Seconds an invocation may run.
    pub timeout_s: i64,
    pub memory_mb: i64,
    pub ephemeral_storage_mb: i64,
    /// The function's own environment variables, set after the runtime's.
    pub environment: BTreeMap<String, String>,
    pub code: CodeRef,
    /// `/aws/lambda/<function>`, for `AWS_LAMBDA_LOG_GROUP_NAME`.
    pub log_group: String,
    /// `LoggingConfig`: the runtime's `AWS_LAMBDA_LOG_FORMAT` and `AWS_LAMBDA_LOG_LEVEL`,
    /// and the form of the platform lines.
    pub logging: Logging,
    /// `RuntimeVersionConfig.RuntimeVersionArn`, for the JSON `platform.initStart`.
    pub runtime_version_arn: String,
    /// The function's egress policy (its own, or the server's default).
    pub egress: EgressPolicy,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// `TracingConfig.Mode`.
    pub tracing: hearth_model::settings::TracingMode,
    /// The layers' code, in the function's order (a later layer's files win in `/opt`).
    pub layers: Vec<CodeRef>,
    /// Every invocation runs in a new environment, which is shut down after it
    /// (docs/fresh-env.md): no warm one is taken and none goes back to the pool.
    pub fresh_env: bool,
    /// [`pool::key`](super::pool::key) of the function and version, made once with the
    /// spec rather than on every invocation's take and return.
    pub pool_key: String,
    /// What a warm environment must match to be reused: the revision, and the egress
    /// policy it was started with (a new policy applies to new environments).
    pub environment_key: String,
}

/// [`RunSpec::environment_key`] of a revision and egress policy.
pub(crate) fn environment_key(revision: &str, egress: &EgressPolicy) -> String {
    format!("{revision}|{egress}")
}
