//! One execution environment: a runtime process in a sandbox, its Runtime API server
//! and its log collector, running one invocation at a time. Its cold start is `start`;
//! its external extensions' part of an invocation and of its end is `extensions`.

mod extensions;
mod shutdown;

pub(crate) use extensions::AfterRuntime;
pub(crate) use shutdown::ShutdownPhases;
mod start;

use std::process::ExitStatus;
use std::time::{Duration, Instant};

use crate::executor::code::CodePins;
use bytes::Bytes;
use std::sync::Arc;

use hearth_runtime_api::{Invocation, Outcome, RuntimeApi, ShutdownReason};
use hearth_runtimes::contract;
use hearth_sandbox::Instance;

use super::aws_api::ApiServer;
use super::logs::LogCollector;

/// Why an environment could not be started: the body goes to the caller as the
/// function's error.
#[derive(Debug)]
pub(crate) struct InitFailure {
    pub body: Bytes,
    pub error_type: String,
    /// The init's lines (or their last 4 KB when `logged`), for the log tail.
    pub lines: Vec<(i64, String)>,
    /// Whether `lines` are already in the log, under `stream`; else the caller writes them.
    pub logged: bool,
    pub stream: String,
    pub init_duration: Duration,
    pub timed_out: bool,
    /// Set when Hearth itself failed (the sandbox could not be made): the caller gets a
    /// ServiceException, not a function error.
    pub platform: Option<String>,
}

/// How one invocation ended.
#[derive(Debug)]
pub(crate) enum RunEnd {
    Finished(Outcome),
    TimedOut,
    Exited(ExitStatus),
    /// The runtime asked for another event without finishing this one.
    Abandoned,
}

/// How an environment came to be, as `AWS_LAMBDA_INITIALIZATION_TYPE` tells the
/// function, and where it goes back after an invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Started for an invocation that found no idle environment.
    OnDemand,
    /// Started ahead for a provisioned-concurrency configuration.
    Provisioned { qualifier: String, generation: u64 },
}

impl Origin {
    fn initialization_type(&self) -> contract::Initialization {
        match self {
            Self::OnDemand => contract::Initialization::OnDemand,
            Self::Provisioned { .. } => contract::Initialization::ProvisionedConcurrency,
        }
    }
}

pub(crate) struct Environment {
    pub revision: String,
    /// The function version it runs (`$LATEST` or a number).
    pub version: String,
    pub origin: Origin,
    /// Its entry among the live environments whose use is sampled: declared before
    /// `instance` so that its last reading is taken before the processes are killed.
    usage: Option<super::usage::Registration>,
    instance: Instance,
    /// Shared with the task that shuts down its extensions, if it has any. Declared after
    /// `instance`, so dropped after it: the runtime is killed before its Runtime API closes,
    /// never answered by an API going away (a closed API answers a waiting `next` with an
    /// error, on which a runtime client exits: an end of its own, not the kill).
    api: Arc<RuntimeApi>,
    /// Shared with the task that shuts down its extensions, if it has any.
    logs: Arc<LogCollector>,
    /// Its external extensions: none for most functions, which then pay nothing.
    extensions: Option<extensions::Started>,
    /// Where its shutdown phase is counted, if it has one (see [`Self::count_shutdown_in`]).
    phases: Option<Arc<ShutdownPhases>>,
    pub last_used: Instant,
    /// When it became ready: it retires at [`crate::ENVIRONMENT_MAX_AGE`], before its
    /// credentials expire.
    pub born: Instant,
    pub init_duration: Option<Duration>,
    /// Peak memory seen when the environment was last sampled, in MB.
    peak_mb: u64,
    /// Keeps the code it runs and its layers from being collected until the
    /// environment is gone.
    _code: CodePins,
    /// Serves Hearth's AWS API inside the environment's network namespace, if it has one.
    _aws_api: Option<ApiServer>,
    /// Runs the environment's X-Ray daemon, if its observer runs one.
    _xray: Option<crate::observe::DaemonGuard>,
    /// Its Telemetry/Logs API records' producer.
    pub(crate) telemetry: super::telemetry::Telemetry,
}

/// `{"errorType": ..., "errorMessage": ...}` as Lambda's platform writes it.
pub(crate) fn error_body(error_type: &str, message: &str) -> Bytes {
    Bytes::from(serde_json::json!({"errorType": error_type, "errorMessage": message}).to_string())
}

impl Environment {
    /// Whether the runtime is still there to take an event.
    pub(crate) fn is_alive(&mut self) -> bool {
        !self.instance.has_exited()
    }

    /// Joins the live environments whose use of the host is sampled (see
    /// `executor::usage`); `began` is when its start began.
    pub(crate) fn register_usage(
        &mut self,
        registry: &std::sync::Arc<super::usage::Registry>,
        tag: super::usage::Tag,
        began: Instant,
    ) {
        if let Some(source) = self.instance.usage_source() {
            self.usage = Some(registry.register(tag, source, began));
        }
    }

    /// Counts its shutdown phase, if it has one, in `phases` (the server's stop waits
    /// for them).
    pub(crate) fn count_shutdown_in(&mut self, phases: &Arc<ShutdownPhases>) {
        self.phases = Some(Arc::clone(phases));
    }

    /// Whether it is too old to take another invocation.
    pub(crate) fn past_max_age(&self) -> bool {
        self.born.elapsed() >= crate::ENVIRONMENT_MAX_AGE
    }

    /// Runs one invocation until the runtime answers, exits, or `timeout` passes. On a
    /// timeout every process of the environment is killed before this returns.
    pub(crate) async fn run(&mut self, invocation: Invocation, timeout: Duration) -> RunEnd {
        let reply = self.api.dispatch(invocation).await;
        let end = tokio::select! {
            biased;
            outcome = reply => match outcome {
                Ok(o) => RunEnd::Finished(o),
                Err(_) => RunEnd::Abandoned,
            },
            status = self.instance.wait() => match status {
                Ok(s) => RunEnd::Exited(s),
                Err(_) => RunEnd::Abandoned,
            },
            _ = tokio::time::sleep(timeout) => RunEnd::TimedOut,
        };
        self.sample_memory();
        match &end {
            // Extensions subscribed to SHUTDOWN hear of it before the end (see Drop).
            RunEnd::TimedOut if self.shuts_down_extensions() => {
                self.set_shutdown_reason(ShutdownReason::Timeout);
            }
            RunEnd::TimedOut => self.kill().await,
            RunEnd::Exited(_) | RunEnd::Abandoned => {
                self.set_shutdown_reason(ShutdownReason::Failure);
            }
            RunEnd::Finished(_) => {}
        }
        end
    }

    /// Whether the environment was killed for exceeding its memory.
    pub(crate) fn oom_killed(&self) -> bool {
        self.instance.oom_killed()
    }

    /// Whether the runtime took invocation `request_id` from `next`.
    pub(crate) fn delivered(&self, request_id: &str) -> bool {
        self.api.delivered(request_id)
    }

    /// Watches for the runtime's `next` after it finishes invocation `request_id` (see
    /// `RuntimeApi::watch_next`); armed before the invocation is run.
    pub(crate) fn watch_next(
        &self,
        request_id: &str,
    ) -> tokio::sync::oneshot::Receiver<std::time::SystemTime> {
        self.api.watch_next(request_id)
    }

    /// When the Runtime API received the invocation's response (noted only while an
    /// extension is subscribed to the Telemetry API); taken once.
    pub(crate) fn take_response_timing(&self) -> Option<hearth_runtime_api::ResponseTiming> {
        self.api.take_response_timing()
    }

    /// Starts an invocation's log with `lines` (`START`), after the output so far;
    /// `tail`: whether [`Environment::end_log`] returns its last lines.
    pub(crate) async fn begin_log(&self, lines: &[(i64, String)], tail: bool) {
        self.logs.begin_invocation(lines, tail).await;
    }

    /// Ends the invocation's log with `lines` (`END`, `REPORT`) after everything the
    /// runtime wrote so far; returns about the last 4 KB of the invocation's lines.
    pub(crate) async fn end_log(&self, lines: &[(i64, String)]) -> Vec<(i64, String)> {
        self.logs.end_period(lines).await
    }

    fn sample_memory(&mut self) {
        if let Some(bytes) = self.instance.peak_memory_bytes() {
            self.peak_mb = self.peak_mb.max(bytes.div_ceil(1024 * 1024));
        }
    }

    /// Peak memory of the environment so far, as `Max Memory Used` reports it.
    pub(crate) fn max_memory_used_mb(&self) -> u64 {
        self.peak_mb
    }

    /// Kills every process of the environment and reaps the runtime.
    pub(crate) async fn kill(&mut self) {
        self.instance.kill();
        self.extensions_killed();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.instance.wait()).await;
    }
}

/// Lambda's payload for an invocation that ran out of time.
pub(crate) fn timeout_body(request_id: &str, timeout_s: i64) -> Bytes {
    error_body(
        "Sandbox.Timedout",
        &format!("RequestId: {request_id} Error: Task timed out after {timeout_s}.00 seconds"),
    )
}
