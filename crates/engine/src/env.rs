//! One execution environment: a runtime process in a sandbox, its Runtime API server
//! and its log collector; cold start (init) and running one invocation at a time.

use std::path::Path;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hearth_model::time::now_ms;
use hearth_model::FunctionConfig;
use hearth_runtime_api::{InitSignal, Invocation, Outcome, RuntimeApi};
use hearth_runtimes::{contract, Catalog, Launch};
use hearth_sandbox::{describe_exit, GuestPaths, Instance, Sandbox, SandboxSpec};
use hearth_store::{CodePin, Writer};

use crate::logs::{LogCollector, LogSink};
use crate::output::LogLimits;

/// Lambda gives init 10 s on its own; Hearth adds the function's timeout because it
/// runs init as part of the first invocation, as Lambda does after an init timeout.
const INIT_LIMIT: Duration = Duration::from_secs(10);

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
    api: RuntimeApi,
    instance: Instance,
    logs: LogCollector,
    pub last_used: Instant,
    pub init_duration: Option<Duration>,
    /// Peak memory seen when the environment was last sampled, in MB.
    peak_mb: u64,
    /// Keeps the code it runs from being collected until the environment is gone.
    _code: CodePin,
}

/// `{"errorType": ..., "errorMessage": ...}` as Lambda's platform writes it.
pub(crate) fn error_body(error_type: &str, message: &str) -> Bytes {
    Bytes::from(serde_json::json!({"errorType": error_type, "errorMessage": message}).to_string())
}

fn hex_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl Environment {
    /// Starts an environment for `f` and runs the runtime's init phase. The sandbox's
    /// blocking work (namespaces, mounts, cgroups, fork) runs on the blocking pool, so
    /// a burst of cold starts proceeds in parallel without stalling the async workers.
    pub(crate) async fn start(
        f: &FunctionConfig,
        // The code, pinned for the environment's life, and where it is unpacked.
        (code, task_root): (CodePin, &Path),
        catalog: &Catalog,
        sandbox: &Arc<dyn Sandbox>,
        request_id: &str,
        origin: Origin,
        logs_to: (&Writer, LogLimits),
    ) -> Result<Self, InitFailure> {
        let started = Instant::now();
        let id = hex_id();
        let stream = format!(
            "{}/[{}]{}",
            chrono::Utc::now().format("%Y/%m/%d"),
            f.version,
            id
        );
        let fail = |error_type: &str, message: String, lines: Vec<(i64, String)>| InitFailure {
            body: error_body(
                error_type,
                &format!("RequestId: {request_id} Error: {message}"),
            ),
            error_type: error_type.to_string(),
            logged: false,
            lines,
            stream: stream.clone(),
            init_duration: started.elapsed(),
            timed_out: false,
            platform: None,
        };
        let init_start = (
            now_ms(),
            format!(
                "INIT_START Runtime Version: {}",
                Catalog::version_label(&f.runtime)
            ),
        );
        let launch = catalog
            .launch(&f.runtime, &f.handler, task_root, &sandbox.guest_paths())
            .map_err(|e| {
                fail(
                    "Runtime.InvalidEntrypoint",
                    e.to_string(),
                    vec![init_start.clone()],
                )
            })?;
        let platform = |what: &str, e: &dyn std::fmt::Display| InitFailure {
            platform: Some(format!("{what}: {e}")),
            ..fail(
                "Runtime.Unknown",
                format!("{what}: {e}"),
                vec![init_start.clone()],
            )
        };
        let t_prepare = Instant::now();
        let sb = sandbox.clone();
        let mut prepared = tokio::task::spawn_blocking(move || sb.prepare())
            .await
            .map_err(|e| platform("cannot prepare the environment", &e))?
            .map_err(|e| platform("cannot prepare the environment", &e))?;
        let listener = prepared
            .take_listener()
            .ok_or_else(|| platform("cannot prepare the environment", &"no listener"))?;
        let (api, init_rx) = RuntimeApi::serve_std(listener)
            .map_err(|e| platform("cannot start the Runtime API", &e))?;
        let spec = spec_for(
            f,
            task_root,
            &launch,
            &api,
            &stream,
            &sandbox.guest_paths(),
            origin.initialization_type(),
        );
        let t_spawn = Instant::now();
        let sb = sandbox.clone();
        let spawned = tokio::task::spawn_blocking(move || sb.spawn(&spec, prepared))
            .await
            .map_err(|e| platform("cannot start the environment", &e))?;
        let mut instance = spawned.map_err(|e| match &e {
            hearth_sandbox::SandboxError::Spawn { source, .. } => fail(
                "Runtime.InvalidEntrypoint",
                format!("fork/exec /var/task/bootstrap: {}", io_reason(source)),
                vec![init_start.clone()],
            ),
            other => platform("cannot start the environment", other),
        })?;
        let sink = LogSink {
            writer: logs_to.0.clone(),
            function: f.name.clone(),
            stream: stream.clone(),
            limits: logs_to.1,
        };
        let logs = match instance.take_output() {
            Some(out) => LogCollector::start(out, sink, std::slice::from_ref(&init_start)),
            None => {
                return Err(fail(
                    "Runtime.Unknown",
                    "no output pipe".into(),
                    vec![init_start],
                ))
            }
        };
        let t_spawned = Instant::now();
        let limit = INIT_LIMIT + Duration::from_secs(f.timeout.max(1) as u64);
        // Biased: a runtime that posts `/init/error` and exits at once must be reported
        // with the error it posted, not as a crash.
        let signal = tokio::select! {
            biased;
            s = init_rx => s.ok(),
            status = instance.wait() => {
                let lines = logs.end_period(&[]).await;
                let reason = match status {
                    Ok(s) if s.code() == Some(0) => "Runtime exited without providing a reason".to_string(),
                    Ok(s) => format!("Runtime exited with error: {}", describe_exit(s)),
                    Err(e) => format!("Runtime exited with error: {e}"),
                };
                return Err(InitFailure {
                    logged: true,
                    ..fail("Runtime.ExitError", reason, lines)
                });
            }
            _ = tokio::time::sleep(limit) => None,
        };
        let init_duration = started.elapsed();
        match signal {
            Some(InitSignal::Ready) => {
                tracing::debug!(
                    prepare_us = (t_spawn - t_prepare).as_micros() as u64,
                    spawn_us = (t_spawned - t_spawn).as_micros() as u64,
                    runtime_init_us = t_spawned.elapsed().as_micros() as u64,
                    "cold start"
                );
                instance.init_done();
                logs.end_period(&[]).await;
                tracing::debug!(function = %f.name, environment = %id, "environment ready");
                Ok(Self {
                    revision: f.revision_id.clone(),
                    version: f.version.clone(),
                    origin,
                    api,
                    instance,
                    logs,
                    last_used: Instant::now(),
                    init_duration: Some(init_duration),
                    peak_mb: 0,
                    _code: code,
                })
            }
            Some(InitSignal::Error { body, error_type }) => {
                instance.kill();
                let _ = instance.wait().await;
                let error_type = error_type
                    .or_else(|| error_type_of(&body))
                    .unwrap_or_else(|| "Runtime.Unknown".into());
                let lines = logs
                    .end_period(&[(
                        now_ms(),
                        format!(
                            "INIT_REPORT Init Duration: {}\tPhase: init\tStatus: error\tError Type: {error_type}",
                            crate::logs::ms(init_duration)
                        ),
                    )])
                    .await;
                Err(InitFailure {
                    body,
                    error_type,
                    lines,
                    logged: true,
                    stream,
                    init_duration,
                    timed_out: false,
                    platform: None,
                })
            }
            None => {
                instance.kill();
                let _ = instance.wait().await;
                let lines = logs
                    .end_period(&[(
                        now_ms(),
                        format!(
                            "INIT_REPORT Init Duration: {}\tPhase: init\tStatus: timeout",
                            crate::logs::ms(init_duration)
                        ),
                    )])
                    .await;
                Err(InitFailure {
                    body: timeout_body(request_id, f.timeout),
                    error_type: "Sandbox.Timedout".into(),
                    lines,
                    logged: true,
                    stream,
                    init_duration,
                    timed_out: true,
                    platform: None,
                })
            }
        }
    }

    /// Whether the runtime is still there to take an event.
    pub(crate) fn is_alive(&mut self) -> bool {
        !self.instance.has_exited()
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
        if matches!(end, RunEnd::TimedOut) {
            self.kill().await;
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

    /// Starts an invocation's log with `lines` (`START`), after the output so far.
    pub(crate) async fn begin_log(&self, lines: &[(i64, String)]) {
        self.logs.begin_invocation(lines).await;
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

fn error_type_of(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()?
        .get("errorType")?
        .as_str()
        .map(str::to_string)
}

/// `permission denied`, `no such file or directory`, `exec format error`: Go's wording.
fn io_reason(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(13) => "permission denied".into(),
        Some(2) => "no such file or directory".into(),
        Some(8) => "exec format error".into(),
        _ => e.to_string(),
    }
}

/// The environment variables and command of one environment (docs/wire/environment.md).
fn spec_for(
    f: &FunctionConfig,
    task_root: &Path,
    launch: &Launch,
    api: &RuntimeApi,
    stream: &str,
    guest: &GuestPaths,
    initialization_type: contract::Initialization,
) -> SandboxSpec {
    let mut env = contract::variables(
        &contract::FunctionEnv {
            name: &f.name,
            runtime: &f.runtime,
            handler: &f.handler,
            version: &f.version,
            memory_mb: f.memory_size,
            log_group: &f.log_group(),
            log_stream: stream,
            initialization_type,
        },
        Some(&api.addr().to_string()),
        task_root,
        launch,
        guest,
    );
    env.extend(f.environment.iter().map(|(k, v)| (k.clone(), v.clone())));
    SandboxSpec {
        program: launch.program.clone(),
        args: launch.args.clone(),
        env,
        task_root: task_root.to_path_buf(),
        runtime_dir: launch.runtime_dir.clone(),
        ro_paths: launch.ro_paths.clone(),
        hidden: launch.hidden.clone(),
        memory_mb: f.memory_size.max(0) as u64,
        ephemeral_storage_mb: f.ephemeral_storage.max(0) as u64,
    }
}
