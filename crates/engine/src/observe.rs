//! What the engine tells an [`Observer`] about its work: every invocation's end (with
//! the figures its `REPORT` line has, how its environment was found and how it ended),
//! every throttled request, every environment start. Metrics, metering and traces are
//! built from these by the server (`hearth-observe`); the engine knows none of them.
//!
//! Observers are called on the invocation's task, after its answer is settled: they
//! must be cheap (record and return; anything slow goes to a task of their own).

use std::sync::Arc;
use std::time::Duration;

use hearth_model::settings::TracingMode;

/// How an invocation found its environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Started for it (a cold start).
    Cold,
    /// A warm on-demand environment.
    Warm,
    /// An idle provisioned-concurrency environment.
    Provisioned,
}

/// How an invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Success,
    /// The function failed (an error it reported, a crash, an oversized response).
    Error,
    /// It ran out of time.
    Timeout,
    /// Its environment failed to start (init error or init timeout): the invocation ran
    /// no handler.
    InitError,
}

/// One invocation's end, with what its `REPORT` line says.
#[derive(Debug, Clone)]
pub struct Invoked<'a> {
    /// The function's key (`name` in the default account, `ACCOUNT:name` in another).
    pub function: &'a str,
    /// The qualifier the caller named (an alias or a version), if any.
    pub qualifier: Option<&'a str>,
    /// The version that ran (`$LATEST` or a number).
    pub executed_version: &'a str,
    pub request_id: &'a str,
    /// The X-Ray trace header the runtime was given.
    pub trace_header: &'a str,
    pub tracing: TracingMode,
    /// When the event was handed to the runtime (ms since the epoch).
    pub start_ms: i64,
    /// The invoke phase (`REPORT`'s `Duration`).
    pub duration: Duration,
    /// The init phase, for the invocation that cold-started its environment.
    pub init: Option<Duration>,
    pub start: Start,
    pub ending: Ending,
    pub memory_mb: i64,
    pub max_memory_used_mb: u64,
    pub ephemeral_storage_mb: i64,
    /// `x86_64` or `arm64`.
    pub architecture: &'a str,
    pub runtime: &'a str,
}

/// An environment's start, successful or not.
#[derive(Debug, Clone)]
pub struct Started<'a> {
    pub function: &'a str,
    pub version: &'a str,
    /// From the request to the runtime's first `next` (or the failure).
    pub duration: Duration,
    /// Whether the environment came up (its init succeeded).
    pub ok: bool,
}

/// One function's concurrency now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionConcurrency {
    /// The function's key.
    pub function: String,
    /// Environments busy with an invocation.
    pub busy: i64,
    /// Its reserved concurrency, if any.
    pub reserved: Option<i64>,
}

/// One provisioned-concurrency allocation now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedConcurrency {
    pub function: String,
    /// The alias or version it is configured on.
    pub qualifier: String,
    /// Environments allocated (ready, idle or busy).
    pub allocated: i64,
    /// Of those, busy with an invocation.
    pub busy: i64,
}

/// This node's concurrency now: what the `ConcurrentExecutions` family of metrics
/// samples.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Concurrency {
    /// Functions with environments busy or concurrency reserved.
    pub functions: Vec<FunctionConcurrency>,
    pub provisioned: Vec<ProvisionedConcurrency>,
}

/// What one function version's environments used of the host between two samples
/// (see `Engine::sample_host_use`), per configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostUse {
    /// The function's key.
    pub function: String,
    pub version: String,
    pub memory_mb: i64,
    pub ephemeral_storage_mb: i64,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// CPU time, in ns.
    pub cpu_ns: u64,
    /// Memory × time, in MiB × µs.
    pub memory_mib_us: u64,
}

/// Provisioned concurrency configured on this node for one function version now: what
/// AWS bills for as long as it is configured, whether or not it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedVersion {
    /// The function's key.
    pub function: String,
    pub version: String,
    /// Environments configured (this node's share of the allocation).
    pub environments: i64,
    pub memory_mb: i64,
    pub ephemeral_storage_mb: i64,
    pub architecture: String,
}

/// Receives the engine's reports. Every method has an empty default.
pub trait Observer: Send + Sync {
    /// An invocation ended (including one whose environment failed to start).
    fn invoked(&self, _invocation: &Invoked<'_>) {}
    /// A request for `function` (`qualifier`) was refused for want of concurrency.
    fn throttled(&self, _function: &str, _qualifier: Option<&str>) {}
    /// An environment started, or failed to.
    fn started(&self, _start: &Started<'_>) {}
}

/// The observer of an engine that has none.
pub(crate) struct Unobserved;

impl Observer for Unobserved {}

/// An engine's observer, shared by all its parts.
#[derive(Clone)]
pub struct ObserverHandle(pub Arc<dyn Observer>);

impl Default for ObserverHandle {
    fn default() -> Self {
        Self(Arc::new(Unobserved))
    }
}

impl std::fmt::Debug for ObserverHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ObserverHandle")
    }
}
