//! What the engine tells an [`Observer`] about its work: every invocation's end (with
//! the figures its `REPORT` line has, how its environment was found and how it ended),
//! every throttled request, every invocation recursive loop detection dropped, every
//! environment start, every line a function wrote that
//! may be an Embedded Metric Format document; and, for every environment, the socket of
//! its X-Ray daemon. Metrics, metering and traces are built from these by the server
//! (`hearth-observe`); the engine knows none of them.
//!
//! Observers are called on the invocation's task, after its answer is settled: they
//! must be cheap (record and return; anything slow goes to a task of their own).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

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

/// What the queue an event waited in knows of it (an asynchronous invocation's, or an
/// event source mapping's batch): what X-Ray's `Dwell Time` and `Attempt #N` show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    /// When the event was accepted into the queue (ms since the epoch).
    pub accepted_ms: i64,
    /// Which attempt at it this is, from 1.
    pub attempt: u32,
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
    /// The part of `duration` after the runtime's response during which extensions
    /// subscribed to INVOKE still worked on it (`PostRuntimeExtensionsDuration`); `None`
    /// when no extension took the invocation.
    pub post_runtime_extensions: Option<Duration>,
    pub start: Start,
    /// Whether it ran on on-demand concurrency although its version or alias has
    /// provisioned concurrency allocated, all of it busy
    /// (`ProvisionedConcurrencySpilloverInvocations`).
    pub provisioned_spillover: bool,
    pub ending: Ending,
    /// Set for an event that waited in a queue.
    pub queued: Option<Queued>,
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

/// The environment whose X-Ray daemon socket an observer is handed.
#[derive(Debug, Clone)]
pub struct Daemonized<'a> {
    /// The function's key (`name` in the default account, `ACCOUNT:name` in another).
    pub function: &'a str,
    /// The version it runs (`$LATEST` or a number).
    pub version: &'a str,
    /// Its log stream, which names the environment.
    pub log_stream: &'a str,
}

/// What an observer keeps running for an environment (its X-Ray daemon): held by the
/// environment for its life, dropped with it.
pub type DaemonGuard = Box<dyn Send + Sync>;

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
    /// An invocation of `function` (its key) from SQS or SNS was dropped by recursive
    /// loop detection (`AWS/Lambda` `RecursiveInvocationsDropped`).
    fn recursive_invocation_dropped(&self, _function: &str) {}
    /// An environment started, or failed to.
    fn started(&self, _start: &Started<'_>) {}
    /// The X-Ray trace header the runtime gets for invocation `request_id` of `function`
    /// (`Lambda-Runtime-Trace-Id`), from the caller's (`incoming`) and the function's
    /// tracing mode. The default passes the caller's on, or makes a new, unsampled one.
    fn trace_header(
        &self,
        _request_id: &str,
        _function: &str,
        _tracing: TracingMode,
        incoming: Option<&str>,
    ) -> String {
        incoming.map_or_else(crate::trace_id, str::to_string)
    }
    /// An environment is starting: `socket` is where its function's X-Ray SDK sends
    /// segment documents (`AWS_XRAY_DAEMON_ADDRESS`). What is returned runs the daemon
    /// and is kept until the environment is gone; dropping it must stop the daemon.
    /// Called on the Tokio runtime, before the runtime starts. By default the socket is
    /// dropped and datagrams go nowhere, as on a Lambda function without tracing.
    fn xray_daemon(
        &self,
        _environment: &Daemonized<'_>,
        _socket: std::net::UdpSocket,
    ) -> Option<DaemonGuard> {
        None
    }
    /// Whether the observer wants to know when the runtime asks for its next event after
    /// invocation `request_id` (the end of X-Ray's `Overhead`). Asked only for
    /// invocations of functions with Active tracing, before the event is handed over;
    /// when it answers `true` and the invocation is reported by [`Observer::invoked`],
    /// [`Observer::next_requested`] follows for it, exactly once.
    fn watches_next(&self, _request_id: &str) -> bool {
        false
    }
    /// The runtime asked for its next event at `at` after finishing invocation
    /// `request_id` (which [`Observer::watches_next`] asked for), or `None` when it did
    /// not by the invocation's deadline, or its environment ended first. Called from a
    /// task of its own, after the caller was answered.
    fn next_requested(&self, _request_id: &str, _at: Option<SystemTime>) {}
    /// A line `function` wrote (and its log stored) that may be an Embedded Metric
    /// Format document (see [`may_be_emf`]). Called from the environment's output
    /// collector, not on the invocation's answer.
    fn metric_line(&self, _function: &str, _line: &str) {}
}

/// The cheap test a line passes before it is handed to [`Observer::metric_line`]: a JSON
/// object (`{` first, after blanks) that names `"_aws"`. Parsing is the observer's, off
/// the path that reads the output.
pub fn may_be_emf(line: &str) -> bool {
    line.trim_start().starts_with('{') && line.contains("\"_aws\"")
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
