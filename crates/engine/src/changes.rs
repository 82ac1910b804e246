//! The changes the control plane asks of the engine, as validated domain values: the
//! api crate parses and checks the AWS request shapes (model constraints, required
//! members, what Hearth does not support) and builds these; the engine checks only
//! what needs its state (a runtime installed, a version that exists, a revision).

use std::collections::BTreeMap;

use hearth_model::function::LayerRef;
use hearth_model::settings::{Logging, LoggingChange, TracingMode, Vpc};

/// CreateFunction.
#[derive(Debug, Clone)]
pub struct NewFunction {
    /// An unqualified, valid function name.
    pub name: String,
    pub runtime: String,
    pub handler: String,
    pub role: String,
    pub description: String,
    pub timeout: i64,
    pub memory_size: i64,
    pub ephemeral_storage: i64,
    pub environment: BTreeMap<String, String>,
    /// `Environment` was given (even empty).
    pub environment_set: bool,
    pub architectures: Vec<String>,
    pub dead_letter_target_arn: Option<String>,
    /// A Hearth key's ARN (checked by the caller) to seal the variables under.
    pub kms_key_arn: Option<String>,
    pub logging: Logging,
    pub tracing: TracingMode,
    pub vpc: Option<Vpc>,
    pub tags: BTreeMap<String, String>,
    /// The deployment package, decoded and within the zipped-size limit.
    pub zip: Vec<u8>,
    /// Publish a version once created.
    pub publish: bool,
    /// The layers, resolved (`Engine::resolve_layers`).
    pub layers: Vec<LayerRef>,
}

/// UpdateFunctionCode.
#[derive(Debug, Clone)]
pub struct CodeChange {
    /// The deployment package, decoded and within the zipped-size limit.
    pub zip: Vec<u8>,
    pub architectures: Option<Vec<String>>,
    pub revision_id: Option<String>,
    /// Store the code, change nothing.
    pub dry_run: bool,
    pub publish: bool,
}

/// UpdateFunctionConfiguration: `None` keeps the current setting.
#[derive(Debug, Clone, Default)]
pub struct ConfigChange {
    pub role: Option<String>,
    pub runtime: Option<String>,
    pub handler: Option<String>,
    pub description: Option<String>,
    pub timeout: Option<i64>,
    pub memory_size: Option<i64>,
    pub ephemeral_storage: Option<i64>,
    pub environment: Option<BTreeMap<String, String>>,
    /// `Some(None)` removes the dead-letter target.
    pub dead_letter_target_arn: Option<Option<String>>,
    /// `Some(None)` goes back to the server key.
    pub kms_key_arn: Option<Option<String>>,
    /// Applied to the current `LoggingConfig` (members not given stay).
    pub logging: Option<LoggingChange>,
    pub tracing: Option<TracingMode>,
    pub vpc: Option<Vpc>,
    /// The layers, resolved (`Engine::resolve_layers`); `Some(vec![])` removes them.
    pub layers: Option<Vec<LayerRef>>,
    pub revision_id: Option<String>,
}

/// PublishVersion (and the preconditions it may carry).
#[derive(Debug, Clone, Default)]
pub struct NewVersion {
    pub description: Option<String>,
    pub revision_id: Option<String>,
    pub code_sha256: Option<String>,
}

/// CreateAlias.
#[derive(Debug, Clone)]
pub struct NewAlias {
    /// A valid alias name.
    pub name: String,
    /// `$LATEST` or a version number.
    pub function_version: String,
    pub description: String,
    /// Additional versions and their weights, each valid on its own.
    pub weights: BTreeMap<String, f64>,
}

/// UpdateAlias: `None` keeps the current setting.
#[derive(Debug, Clone, Default)]
pub struct AliasChange {
    pub function_version: Option<String>,
    pub description: Option<String>,
    pub weights: Option<BTreeMap<String, f64>>,
    pub revision_id: Option<String>,
}
