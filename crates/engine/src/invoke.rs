//! The synchronous invoke path: resolve the function, take a warm environment or cold
//! start one, run the event, write the invocation's log lines, and answer as Lambda
//! does (function failures are HTTP 200 with `X-Amz-Function-Error`).

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use hearth_model::arn::function_arn;
use hearth_model::limits::{LOG_TAIL_BYTES, SYNC_RESPONSE_MAX_BYTES};
use hearth_model::time::now_ms;
use hearth_model::{FunctionConfig, FunctionRef};
use hearth_runtime_api::{Invocation, Outcome};
use hearth_sandbox::describe_exit;
use hearth_store::LogBatch;

use crate::code::CodeFailure;
use crate::env::{error_body, timeout_body, Environment, InitFailure, Origin, RunEnd};
use crate::error::EngineError;
use crate::logs::{self, Report};
use crate::{pool, Engine};

/// A synchronous (or dry-run) invocation.
#[derive(Debug, Clone)]
pub struct InvokeRequest {
    /// Also the `x-amzn-RequestId` of the Invoke response.
    pub request_id: String,
    pub function: FunctionRef,
    pub payload: Bytes,
    pub log_tail: bool,
    /// The decoded JSON of `X-Amz-Client-Context`.
    pub client_context: Option<String>,
    pub dry_run: bool,
    /// Which attempt at an asynchronous event this is (1 for the first), for the log.
    pub attempt: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct InvokeResponse {
    pub executed_version: String,
    /// `Unhandled` when the function failed.
    pub function_error: Option<String>,
    /// Base64 of the invocation log's last 4 KB, when asked for.
    pub log_result: Option<String>,
    pub payload: Bytes,
}

/// Why an environment was not started.
pub(crate) enum StartError {
    /// Its code was collected between the lookup and the start: the function changed,
    /// and a new lookup finds what it runs now.
    CodeGone,
    /// Its code cannot be unpacked: the invocation is refused with this.
    Code(EngineError),
    /// The runtime (or the sandbox) failed to start.
    Init(InitFailure),
}

/// How many times an invocation looks its function up again after the code it found
/// was collected (each time, the function changed in between).
const LOOKUPS: usize = 3;

impl Engine {
    pub async fn invoke(&self, req: InvokeRequest) -> Result<InvokeResponse, EngineError> {
        for _ in 0..LOOKUPS {
            if let Some(result) = self.invoke_once(&req).await {
                return result;
            }
        }
        Err(EngineError::internal(
            "an invocation's code was collected each time it was looked up",
        ))
    }

    /// One lookup and run; `None` when the code looked up was gone before it started.
    async fn invoke_once(
        &self,
        req: &InvokeRequest,
    ) -> Option<Result<InvokeResponse, EngineError>> {
        let target = match self.resolve_target(&req.function) {
            Ok(t) => t,
            Err(e) => return Some(Err(e)),
        };
        let f = target.config;
        if req.dry_run {
            return Some(Ok(InvokeResponse {
                executed_version: f.version.clone(),
                function_error: None,
                log_result: None,
                payload: Bytes::new(),
            }));
        }
        // Held until the invocation is over: concurrency is busy environments.
        let _permit = match self.inner.admission.admit(&f.name) {
            Ok(p) => p,
            Err(e) => return Some(Err(e)),
        };
        if let Some(q) = &target.qualifier {
            if let Some(mut env) = self.inner.provisioned.take(&f.name, q, &f.version) {
                match self.run_on(&f, req, &mut env, true).await {
                    Ran::Done(result) => return Some(self.finish(&f, env, result)),
                    Ran::Undelivered => self.release_provisioned(&f.name, env, false),
                }
            }
        }
        let key = pool::key(&f.name, &f.version);
        let (warm, stale) = self.inner.pool.acquire(&key, &f.revision_id);
        drop(stale);
        if let Some(mut env) = warm {
            match self.run_on(&f, req, &mut env, true).await {
                Ran::Done(result) => return Some(self.finish(&f, env, result)),
                // The warm runtime died before it took the event: nothing ran, so the
                // event goes to a fresh environment instead.
                Ran::Undelivered => drop(env),
            }
        }
        let mut env = match self
            .start_environment(&f, &req.request_id, Origin::OnDemand)
            .await
        {
            Ok(env) => env,
            Err(StartError::CodeGone) => return None,
            Err(StartError::Code(e)) => return Some(Err(e)),
            Err(StartError::Init(failure)) => {
                return Some(self.init_failed(&f, req, failure).await)
            }
        };
        Some(match self.run_on(&f, req, &mut env, false).await {
            Ran::Done(result) => self.finish(&f, env, result),
            // Only warm runs report this; a cold one reports the crash itself.
            Ran::Undelivered => Err(EngineError::internal("a new environment lost its event")),
        })
    }

    /// Checks that `r` names something invocable now (what an async invoke checks
    /// before it accepts the event), without running it.
    pub fn check_invocable(&self, r: &FunctionRef) -> Result<(), EngineError> {
        self.resolve_target(r).map(drop)
    }

    /// The function's reserved concurrency, if it has one.
    pub fn reserved_concurrency(&self, function: &str) -> Option<i64> {
        self.inner.admission.reserved(function)
    }

    /// Starts an environment for a function version; its code (unpacked on first use)
    /// stays pinned for as long as the environment lives.
    pub(crate) async fn start_environment(
        &self,
        f: &FunctionConfig,
        request_id: &str,
        origin: Origin,
    ) -> Result<Environment, StartError> {
        let (pin, task_root) = match self.ready_code(&f.code).await {
            Ok(ready) => ready,
            Err(CodeFailure::Gone) => return Err(StartError::CodeGone),
            Err(failure) => return Err(StartError::Code(failure.to_error())),
        };
        Environment::start(
            f,
            (pin, &task_root),
            &self.inner.catalog,
            &self.inner.sandbox,
            request_id,
            origin,
            (&self.inner.writer, self.inner.config.log_limits),
        )
        .await
        .map_err(StartError::Init)
    }

    /// Returns a healthy environment to where it came from, and answers.
    fn finish(
        &self,
        f: &FunctionConfig,
        env: Environment,
        result: RunResult,
    ) -> Result<InvokeResponse, EngineError> {
        match env.origin {
            Origin::Provisioned { .. } => self.release_provisioned(&f.name, env, result.healthy),
            Origin::OnDemand if result.healthy => drop(
                self.inner
                    .pool
                    .release(&pool::key(&f.name, &f.version), env),
            ),
            Origin::OnDemand => drop(env),
        }
        result.response
    }

    async fn run_on(
        &self,
        f: &FunctionConfig,
        req: &InvokeRequest,
        env: &mut Environment,
        warm: bool,
    ) -> Ran {
        let timeout = Duration::from_secs(f.timeout.max(1) as u64);
        let start_ms = now_ms();
        let invocation = Invocation {
            request_id: req.request_id.clone(),
            payload: if req.payload.is_empty() {
                Bytes::from_static(b"{}")
            } else {
                req.payload.clone()
            },
            deadline_ms: start_ms + timeout.as_millis() as i64,
            invoked_function_arn: function_arn(&f.name, req.function.qualifier.as_deref()),
            trace_id: trace_id(),
            client_context: req.client_context.clone(),
            cognito_identity: None,
        };
        env.begin_log(&start_lines(start_ms, f, req)).await;
        let started = Instant::now();
        let end = env.run(invocation, timeout).await;
        let duration = started.elapsed();
        let id = &req.request_id;
        if warm && matches!(end, RunEnd::Exited(_)) && !env.delivered(id) {
            // Its START (held until output or the end) goes out with this line.
            env.end_log(&[(
                now_ms(),
                format!("RequestId: {id} The runtime exited before it took the event; a new environment runs it"),
            )])
            .await;
            return Ran::Undelivered;
        }

        let mut healthy = true;
        let mut extra = Vec::new();
        let (payload, function_error, status) = match end {
            RunEnd::Finished(Outcome::Response(body)) => (body, None, None),
            RunEnd::Finished(Outcome::Error { body, error_type }) => {
                let t = error_type.unwrap_or_else(|| "Unhandled".into());
                (
                    body,
                    Some("Unhandled"),
                    Some(format!("error\tError Type: {t}")),
                )
            }
            RunEnd::Finished(Outcome::ResponseTooLarge) => {
                // Runtime clients differ after a 413 (awslambdaric exits); a fresh
                // environment serves the next event either way.
                healthy = false;
                (
                Bytes::from(serde_json::json!({
                    "errorMessage": format!("Response payload size exceeded maximum allowed payload size ({SYNC_RESPONSE_MAX_BYTES} bytes)."),
                    "errorType": "Function.ResponseSizeTooLarge",
                }).to_string()),
                Some("Unhandled"),
                Some("error\tError Type: Function.ResponseSizeTooLarge".into()),
            )
            }
            RunEnd::TimedOut => {
                healthy = false;
                extra.push((
                    now_ms(),
                    format!(
                        "{} {id} Task timed out after {}.00 seconds",
                        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                        f.timeout
                    ),
                ));
                (
                    timeout_body(id, f.timeout),
                    Some("Unhandled"),
                    Some("timeout".into()),
                )
            }
            RunEnd::Exited(exit) => {
                healthy = false;
                // Killed for memory: Lambda names it; otherwise it is an exit like any.
                let error_type = if env.oom_killed() {
                    "Runtime.OutOfMemory"
                } else {
                    "Runtime.ExitError"
                };
                let reason = if exit.code() == Some(0) {
                    "Runtime exited without providing a reason".to_string()
                } else {
                    format!("Runtime exited with error: {}", describe_exit(exit))
                };
                let message = format!("RequestId: {id} Error: {reason}");
                extra.push((now_ms(), message.clone()));
                extra.push((now_ms(), error_type.into()));
                (
                    error_body(error_type, &message),
                    Some("Unhandled"),
                    Some(format!("error\tError Type: {error_type}")),
                )
            }
            RunEnd::Abandoned => {
                healthy = false;
                (
                    error_body(
                        "Runtime.InvalidResponse",
                        &format!("RequestId: {id} Error: the runtime asked for its next event without answering this one"),
                    ),
                    Some("Unhandled"),
                    Some("error\tError Type: Runtime.InvalidResponse".into()),
                )
            }
        };
        let report = Report {
            request_id: id,
            duration,
            memory_size_mb: f.memory_size,
            max_memory_used_mb: env.max_memory_used_mb(),
            init_duration: env.init_duration.take(),
            status,
        };
        let mut closing = extra;
        closing.push((now_ms(), format!("END RequestId: {}", logs::field(id))));
        closing.push((now_ms(), report.line()));
        let lines = env.end_log(&closing).await;
        let log_result = req
            .log_tail
            .then(|| BASE64.encode(logs::tail(&lines, LOG_TAIL_BYTES)));
        let response = Ok(InvokeResponse {
            executed_version: f.version.clone(),
            function_error: function_error.map(str::to_string),
            log_result,
            payload,
        });
        Ran::Done(RunResult { response, healthy })
    }

    /// An environment failed to start: the caller gets the init error, the log gets
    /// what init printed and the invocation's lines.
    async fn init_failed(
        &self,
        f: &FunctionConfig,
        req: &InvokeRequest,
        failure: InitFailure,
    ) -> Result<InvokeResponse, EngineError> {
        if let Some(detail) = failure.platform {
            return Err(EngineError::internal(detail));
        }
        let id = &req.request_id;
        let status = if failure.timed_out {
            "timeout".to_string()
        } else {
            format!("error\tError Type: {}", failure.error_type)
        };
        let report = Report {
            request_id: id,
            duration: failure.init_duration,
            memory_size_mb: f.memory_size,
            max_memory_used_mb: 0,
            init_duration: None,
            status: Some(status),
        };
        let mut lines = start_lines(now_ms(), f, req);
        lines.push((now_ms(), format!("END RequestId: {}", logs::field(id))));
        lines.push((now_ms(), report.line()));
        // The tail includes what init printed: that is where the reason for the failure is.
        let mut all = failure.lines;
        let unlogged = if failure.logged { all.len() } else { 0 };
        all.extend(lines);
        let log_result = req
            .log_tail
            .then(|| BASE64.encode(logs::tail(&all, LOG_TAIL_BYTES)));
        self.submit_logs(&f.name, &failure.stream, &all[unlogged..])
            .await;
        Ok(InvokeResponse {
            executed_version: f.version.clone(),
            function_error: Some("Unhandled".into()),
            log_result,
            payload: failure.body,
        })
    }

    /// Queues lines for the log store (see `hearth_store::Writer`: readers of the logs
    /// wait for them, the invocation does not).
    pub(crate) async fn submit_logs(&self, function: &str, stream: &str, lines: &[(i64, String)]) {
        self.inner
            .writer
            .submit_logs(LogBatch::from_lines(
                function,
                stream,
                lines.iter().map(|(t, l)| (*t, l.as_str())),
            ))
            .await;
    }
}

/// The invocation's first log lines: Lambda's `START`, and for an asynchronous event a
/// Hearth line saying which attempt this is (retries keep the request id).
fn start_lines(ts: i64, f: &FunctionConfig, req: &InvokeRequest) -> Vec<(i64, String)> {
    let id = logs::field(&req.request_id);
    let mut lines = vec![(ts, format!("START RequestId: {id} Version: {}", f.version))];
    if let Some(n) = req.attempt {
        lines.push((ts, format!("ASYNC RequestId: {id} Attempt: {n}")));
    }
    lines
}

/// What running an event on an environment came to.
enum Ran {
    Done(RunResult),
    /// The environment died before its runtime took the event.
    Undelivered,
}

struct RunResult {
    response: Result<InvokeResponse, EngineError>,
    healthy: bool,
}

/// An X-Ray style trace header: `Root=1-<epoch hex>-<96 bits>;Parent=<64 bits>;Sampled=0`.
fn trace_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{:08x}-{};Parent={};Sampled=0",
        chrono::Utc::now().timestamp(),
        &id[..24],
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    )
}
