//! Cold start: an environment made step by step (the launch command from the
//! catalogue, the sandbox prepared, its X-Ray daemon socket handed to the observer, the
//! runtime spawned with its output collected, init awaited), and what each failure of
//! it reports.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hearth_model::time::now_ms;
use hearth_runtime_api::{ExtensionSetup, InitSignal, RuntimeApi};
use hearth_runtimes::{contract, function_env, Catalog, Launch};
use hearth_sandbox::{
    describe_exit, ExtensionExits, GuestPaths, Instance, Prepared, Sandbox, SandboxSpec, SpawnNow,
};
use hearth_store::Writer;

use super::{error_body, timeout_body, Environment, InitFailure, Origin};
use crate::executor::aws_api::{ApiServer, FunctionApi};
use crate::executor::code::{CodePins, ReadyCode};
use crate::executor::logs::{self, LogCollector, LogSink};
use crate::executor::output::LogLimits;
use crate::executor::spec::RunSpec;
use crate::executor::telemetry::{InitFacts, InitOutcome, Telemetry};
use crate::observe::{DaemonGuard, Daemonized, Observer, ObserverHandle};
use crate::EnvCredentials;
use hearth_telemetry::event::Status;

/// What reports the end of the runtime's init phase.
type InitReceiver = tokio::sync::oneshot::Receiver<InitSignal>;

/// Lambda gives init 10 s on its own; Hearth adds the function's timeout because it
/// runs init as part of the first invocation, as Lambda does after an init timeout.
const INIT_LIMIT: Duration = Duration::from_secs(10);

fn hex_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A start under way, before it has an environment: what names its log stream and
/// what any failure of it reports.
struct Attempt<'a> {
    spec: &'a RunSpec,
    request_id: &'a str,
    started: Instant,
    /// The environment's id, the end of its log stream's name.
    id: String,
    stream: String,
    /// `INIT_START`, the first line of the environment's log.
    init_start: (i64, String),
}

impl<'a> Attempt<'a> {
    fn new(spec: &'a RunSpec, request_id: &'a str) -> Self {
        let id = hex_id();
        let stream = format!(
            "{}/[{}]{}",
            chrono::Utc::now().format("%Y/%m/%d"),
            spec.version,
            id
        );
        let init_start = (
            now_ms(),
            format!(
                "INIT_START Runtime Version: {}",
                Catalog::version_label(&spec.runtime)
            ),
        );
        Self {
            spec,
            request_id,
            started: Instant::now(),
            id,
            stream,
            init_start,
        }
    }

    /// A failure of the function's init: the caller gets `error_type` and `message` as
    /// the function's error; `lines` are the log so far, not yet written.
    fn fail(&self, error_type: &str, message: String, lines: Vec<(i64, String)>) -> InitFailure {
        InitFailure {
            body: error_body(
                error_type,
                &format!("RequestId: {} Error: {message}", self.request_id),
            ),
            error_type: error_type.to_string(),
            logged: false,
            lines,
            stream: self.stream.clone(),
            init_duration: self.started.elapsed(),
            timed_out: false,
            platform: None,
        }
    }

    /// A failure before the runtime ran, with only `INIT_START` in the log.
    fn fail_early(&self, error_type: &str, message: String) -> InitFailure {
        self.fail(error_type, message, vec![self.init_start.clone()])
    }

    /// A failure of Hearth's own (the sandbox could not be made): a ServiceException
    /// for the caller, not a function error.
    fn platform(&self, what: &str, e: &dyn std::fmt::Display) -> InitFailure {
        InitFailure {
            platform: Some(format!("{what}: {e}")),
            ..self.fail_early("Runtime.Unknown", format!("{what}: {e}"))
        }
    }
}

/// Where the parts of an environment's start went, for the `cold start` debug line.
struct Timings {
    prepare: Instant,
    spawn: Instant,
    spawned: Instant,
}

/// What an environment's function is told of Hearth's AWS API, and the server that
/// serves it inside the environment's network namespace (none on the host's network).
struct AwsEndpoint {
    url: Option<String>,
    server: Option<ApiServer>,
}

/// The environment's X-Ray daemon: the address its function is told, and what the
/// observer runs on its socket (none when the observer takes no interest).
struct XrayDaemon {
    addr: Option<SocketAddr>,
    guard: Option<DaemonGuard>,
}

impl XrayDaemon {
    /// Hands the sandbox's daemon socket, if it made one, to `observer`.
    fn start(
        socket: Option<std::net::UdpSocket>,
        observer: &dyn Observer,
        attempt: &Attempt<'_>,
    ) -> Self {
        let Some(socket) = socket else {
            return Self {
                addr: None,
                guard: None,
            };
        };
        let addr = match socket.local_addr() {
            Ok(addr) => addr,
            Err(e) => {
                tracing::warn!(error = %e, "an environment's X-Ray daemon socket has no address; its function is not told of one");
                return Self {
                    addr: None,
                    guard: None,
                };
            }
        };
        let environment = Daemonized {
            function: &attempt.spec.function,
            version: &attempt.spec.version,
            log_stream: &attempt.stream,
        };
        Self {
            addr: Some(addr),
            guard: observer.xray_daemon(&environment, socket),
        }
    }
}

/// What runs beside a ready environment's Runtime API for its life.
struct Beside {
    aws_api: Option<ApiServer>,
    xray: Option<DaemonGuard>,
    telemetry: Telemetry,
}

/// Prepares a sandbox (namespaces, mounts, cgroups: blocking work, on the blocking
/// pool) and starts the Runtime API server on the listener it made, and the AWS API's
/// server on the other one if the sandbox made it.
async fn prepare(
    (sandbox, function_api): (&Arc<dyn Sandbox>, Option<&FunctionApi>),
    attempt: &Attempt<'_>,
) -> Result<(Prepared, RuntimeApi, InitReceiver, AwsEndpoint), InitFailure> {
    let what = "cannot prepare the environment";
    let mut prepared = match sandbox.prepare_now() {
        Some(now) => now.map_err(|e| attempt.platform(what, &e))?,
        None => {
            let sb = sandbox.clone();
            tokio::task::spawn_blocking(move || sb.prepare())
                .await
                .map_err(|e| attempt.platform(what, &e))?
                .map_err(|e| attempt.platform(what, &e))?
        }
    };
    let listener = prepared
        .take_listener()
        .ok_or_else(|| attempt.platform(what, &"no listener"))?;
    // A sandbox gives an AWS API listener exactly when the environment has its own network
    // namespace (see `Prepared`).
    let aws_listener = prepared.take_aws_listener();
    let hub = telemetry_hub(&listener, aws_listener.is_some(), prepared.take_connector())
        .map_err(|e| attempt.platform("cannot start the Runtime API", &e))?;
    let (api, init_rx) = RuntimeApi::serve_std_with_telemetry(listener, hub)
        .map_err(|e| attempt.platform("cannot start the Runtime API", &e))?;
    let aws = match (function_api, aws_listener) {
        (Some(f), Some(listener)) => {
            let (server, url) = f
                .serve(listener)
                .map_err(|e| attempt.platform("cannot serve the AWS API", &e))?;
            AwsEndpoint {
                url: Some(url),
                server: Some(server),
            }
        }
        (Some(f), None) => AwsEndpoint {
            url: Some(f.host_endpoint().to_string()),
            server: None,
        },
        (None, _) => AwsEndpoint {
            url: None,
            server: None,
        },
    };
    Ok((prepared, api, init_rx, aws))
}

/// Delivers into an environment's own network namespace: `sandbox.localdomain` is its
/// loopback, reached by connections the sandbox opens there.
struct InsideNamespace(hearth_sandbox::Connector);

impl hearth_telemetry::Resolver for InsideNamespace {
    fn resolve(&self, d: &hearth_telemetry::Destination) -> std::io::Result<SocketAddr> {
        Ok(SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, d.port)))
    }

    fn connects(&self) -> bool {
        true
    }

    fn connect(&self, addr: SocketAddr) -> std::io::Result<std::net::TcpStream> {
        (self.0)(addr)
    }
}

/// Refuses every destination: the environment has a network of its own and the sandbox
/// gave no way into it (none does today; a safeguard against delivering to the host's
/// loopback, where the environment's listener is not).
struct Unreachable;

impl hearth_telemetry::Resolver for Unreachable {
    fn resolve(&self, _: &hearth_telemetry::Destination) -> std::io::Result<SocketAddr> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "the sandbox gives no way into this environment's network",
        ))
    }
}

/// The environment's Telemetry/Logs API hub. On the host's network (the process sandbox)
/// `sandbox.localdomain` is the address the Runtime API listens on (loopback); in a
/// namespace of its own (the jail) it is that namespace's loopback, reached through the
/// sandbox's connector.
fn telemetry_hub(
    listener: &std::net::TcpListener,
    own_network: bool,
    connector: Option<hearth_sandbox::Connector>,
) -> std::io::Result<Arc<hearth_telemetry::Hub>> {
    let resolver: Arc<dyn hearth_telemetry::Resolver> = match (own_network, connector) {
        (_, Some(connector)) => Arc::new(InsideNamespace(connector)),
        (true, None) => Arc::new(Unreachable),
        (false, None) => {
            let ip = match listener.local_addr()?.ip() {
                ip if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
                ip => ip,
            };
            Arc::new(hearth_telemetry::EnvironmentAddress(ip))
        }
    };
    Ok(Arc::new(hearth_telemetry::Hub::new(
        resolver,
        Arc::new(hearth_telemetry::SystemClock),
    )))
}

/// Starts the runtime process in the prepared sandbox: at once when the sandbox can
/// without blocking, else on the blocking pool. A bootstrap that cannot be executed is
/// the function's error, as on Lambda.
async fn spawn(
    sandbox: &Arc<dyn Sandbox>,
    spec: SandboxSpec,
    prepared: Prepared,
    attempt: &Attempt<'_>,
) -> Result<Instance, InitFailure> {
    let spawned = match sandbox.spawn_now(&spec, prepared) {
        SpawnNow::Done(spawned) => spawned,
        SpawnNow::Later(prepared) => {
            let sb = sandbox.clone();
            tokio::task::spawn_blocking(move || sb.spawn(&spec, prepared))
                .await
                .map_err(|e| attempt.platform("cannot start the environment", &e))?
        }
    };
    spawned.map_err(|e| match &e {
        hearth_sandbox::SandboxError::Spawn { source, .. } => attempt.fail_early(
            "Runtime.InvalidEntrypoint",
            format!("fork/exec /var/task/bootstrap: {}", io_reason(source)),
        ),
        other => attempt.platform("cannot start the environment", other),
    })
}

/// Starts collecting the runtime's output into the environment's log stream, which
/// opens with `INIT_START`; `None` if the instance has no output pipe.
fn collect_output(
    instance: &mut Instance,
    attempt: &Attempt<'_>,
    (writer, limits, observer): (&Writer, LogLimits, &ObserverHandle),
    telemetry: &Telemetry,
) -> Option<LogCollector> {
    let sink = LogSink {
        telemetry: Some(telemetry.clone()),
        writer: writer.clone(),
        function: attempt.spec.function.clone(),
        stream: attempt.stream.clone(),
        limits,
        logging: attempt.spec.logging.clone(),
        version: attempt.spec.version.clone(),
        runtime_version_arn: attempt.spec.runtime_version_arn.clone(),
        observer: observer.clone(),
    };
    let out = instance.take_output()?;
    Some(LogCollector::start(
        (out, instance.take_extension_output()),
        sink,
        std::slice::from_ref(&attempt.init_start),
    ))
}

/// How long a failed init's records may take to reach the subscribers before the
/// environment goes: the shutdown phase's limit (Hearth's choice of bound).
const FAILED_INIT_FLUSH: Duration = Duration::from_millis(2_000);

/// How init ended, when Hearth did not fail outright.
enum InitEnd {
    /// The runtime and every extension asked for their first event.
    Ready,
    /// The runtime posted `/init/error`: its body and error type.
    Posted(Bytes, Option<String>),
    /// An extension failed: it reported `init/error`, or its process ended.
    Extension { error_type: String, message: String },
    /// Out of time.
    TimedOut,
    /// The runtime's process ended: why, as the error message says it.
    Exited(String),
}

/// What init waits on besides the runtime's process.
struct InitWatch<'a> {
    api: &'a RuntimeApi,
    init_rx: InitReceiver,
    exits: Option<&'a mut ExtensionExits>,
}

/// Waits for init to end: the runtime ready and then every extension (see
/// `RuntimeApi::extensions_init_done`), the runtime's or an extension's failure, or the
/// limit. A runtime that exits first is an error here; an extension that exits before
/// init is over is `Extension.Crash`.
async fn await_init(
    instance: &mut Instance,
    watch: InitWatch<'_>,
    attempt: &Attempt<'_>,
    runtime_ready_ms: &mut Option<i64>,
) -> InitEnd {
    let limit = INIT_LIMIT + Duration::from_secs(attempt.spec.timeout_s.max(1) as u64);
    let InitWatch {
        api,
        init_rx,
        exits,
    } = watch;
    let phases = async {
        match init_rx.await {
            // The runtime's first `/next` or its `/init/error`: `platform.initRuntimeDone`'s
            // time (as the runtime interface emulator sends it).
            Ok(InitSignal::Ready) => *runtime_ready_ms = Some(now_ms()),
            Ok(InitSignal::Error { body, error_type }) => {
                *runtime_ready_ms = Some(now_ms());
                return InitEnd::Posted(body, error_type);
            }
            Err(_) => return InitEnd::TimedOut,
        }
        match api.extensions_init_done().await {
            Ok(()) => InitEnd::Ready,
            Err(failure) => InitEnd::Extension {
                message: format!("Extension {} reported an init error", failure.name),
                error_type: failure.error_type,
            },
        }
    };
    let crashed = super::extensions::crashed(exits, api);
    // Biased: a runtime that posts `/init/error` and exits at once must be reported
    // with the error it posted, not as a crash.
    tokio::select! {
        biased;
        end = phases => end,
        status = instance.wait() => InitEnd::Exited(match status {
            Ok(s) if s.code() == Some(0) => "Runtime exited without providing a reason".to_string(),
            Ok(s) => format!("Runtime exited with error: {}", describe_exit(s)),
            Err(e) => format!("Runtime exited with error: {e}"),
        }),
        (name, status) = crashed => InitEnd::Extension {
            error_type: "Extension.Crash".into(),
            message: format!("Extension {name} exited with error: {}", describe_exit(status)),
        },
        _ = tokio::time::sleep(limit) => InitEnd::TimedOut,
    }
}

impl InitEnd {
    /// How `platform.initRuntimeDone` and `platform.initReport` tell of this end. AWS
    /// documents the statuses (`success`, `failure`, `error`, `timeout`) without saying
    /// which failure is which; Amazon's runtime interface emulator answers a runtime's
    /// `/init/error` with `failure` (its `initErrorHandler`), so every failure is
    /// `failure` here, with the error type the `INIT_REPORT` line has; out of time is
    /// `timeout` (its `errorType` is Hearth's).
    fn outcome(&self) -> InitOutcome {
        let error_type = match self {
            Self::Ready => return InitOutcome::success(),
            Self::TimedOut => {
                return InitOutcome {
                    status: Status::Timeout,
                    error_type: Some("Sandbox.Timedout".to_owned()),
                }
            }
            Self::Posted(body, error_type) => error_type
                .clone()
                .or_else(|| error_type_of(body))
                .unwrap_or_else(|| "Runtime.Unknown".into()),
            Self::Extension { error_type, .. } => error_type.clone(),
            Self::Exited(_) => "Runtime.ExitError".to_owned(),
        };
        InitOutcome {
            status: Status::Failure,
            error_type: Some(error_type),
        }
    }
}

/// Stops an environment whose init failed and closes its log with `INIT_REPORT`
/// (`status` as Lambda writes it); returns the init's lines, for the log tail.
async fn end_failed_init(
    mut instance: Instance,
    logs: LogCollector,
    init_duration: Duration,
    status: &str,
) -> Vec<(i64, String)> {
    instance.kill();
    let _ = instance.wait().await;
    logs.end_period(&[(
        now_ms(),
        format!(
            "INIT_REPORT Init Duration: {}\tPhase: init\tStatus: {status}",
            logs::ms(init_duration)
        ),
    )])
    .await
}

/// The failure of an init that ended without `Ready`: with the error the runtime
/// posted (`posted`: its body and `Lambda-Runtime-Function-Error-Type`), or, when it
/// posted none, out of time. The environment is stopped and its log closed.
async fn failed_init(
    attempt: Attempt<'_>,
    (instance, logs): (Instance, LogCollector),
    posted: Option<(Bytes, Option<String>)>,
    init_duration: Duration,
) -> InitFailure {
    let (body, error_type, status, timed_out) = match posted {
        Some((body, error_type)) => {
            let error_type = error_type
                .or_else(|| error_type_of(&body))
                .unwrap_or_else(|| "Runtime.Unknown".into());
            let status = format!("error\tError Type: {error_type}");
            (body, error_type, status, false)
        }
        None => (
            timeout_body(attempt.request_id, attempt.spec.timeout_s),
            "Sandbox.Timedout".to_string(),
            "timeout".to_string(),
            true,
        ),
    };
    let lines = end_failed_init(instance, logs, init_duration, &status).await;
    InitFailure {
        body,
        error_type,
        lines,
        logged: true,
        stream: attempt.stream,
        init_duration,
        timed_out,
        platform: None,
    }
}

impl Environment {
    /// Starts an environment for `spec` and runs the runtime's init phase, step by step:
    /// the launch command from the catalogue, the sandbox prepared, the runtime spawned
    /// with its output collected, then init awaited. The sandbox's blocking work runs
    /// on the blocking pool, so a burst of cold starts proceeds in parallel without
    /// stalling the async workers.
    pub(crate) async fn start(
        spec: &RunSpec,
        // The code and layers, pinned for the environment's life, and where they are.
        ready: ReadyCode,
        catalog: &Catalog,
        (sandbox, function_api, observer): (&Arc<dyn Sandbox>, Option<&FunctionApi>, &dyn Observer),
        request_id: &str,
        origin: Origin,
        logs_to: (&Writer, LogLimits, &ObserverHandle),
    ) -> Result<Self, InitFailure> {
        let attempt = Attempt::new(spec, request_id);
        let ReadyCode {
            pins: code,
            task_root,
            opt_dir,
        } = ready;
        let task_root = task_root.as_path();
        let launch = catalog
            .launch_with_layers(
                &spec.runtime,
                &spec.handler,
                task_root,
                opt_dir.as_deref(),
                &sandbox.guest_paths(),
            )
            .map_err(|e| attempt.fail_early("Runtime.InvalidEntrypoint", e.to_string()))?;
        let prepare = Instant::now();
        let (mut prepared, api, init_rx, aws) =
            self::prepare((sandbox, function_api), &attempt).await?;
        let xray = XrayDaemon::start(prepared.take_xray_socket(), observer, &attempt);
        let credentials = function_api.and_then(|f| f.credentials_for(&spec.role, &spec.function));
        let sandbox_spec = spec_for(
            spec,
            (task_root, opt_dir.as_deref()),
            launch,
            (&api, aws.url.as_deref(), xray.addr, credentials.as_ref()),
            &attempt.stream,
            &sandbox.guest_paths(),
            origin.initialization_type(),
        );
        // Told before any process starts: an extension may register at once.
        let external = if sandbox.starts_extensions() {
            hearth_sandbox::extensions::list(opt_dir.as_deref())
        } else {
            Vec::new()
        };
        let has_extensions = !external.is_empty();
        api.set_extensions(ExtensionSetup {
            external,
            function_name: hearth_model::arn::key_name(&spec.function).to_string(),
            function_version: spec.version.clone(),
            handler: spec.handler.clone(),
            account_id: Some(hearth_model::arn::ACCOUNT.to_string()),
        });
        let spawn = Instant::now();
        let mut instance = self::spawn(sandbox, sandbox_spec, prepared, &attempt).await?;
        let mut exits = instance.take_extension_exits();
        let telemetry = Telemetry::new(
            Arc::clone(api.telemetry()),
            spec.logging.format == hearth_model::settings::LogFormat::Json,
        );
        let logs = collect_output(&mut instance, &attempt, logs_to, &telemetry)
            .ok_or_else(|| attempt.fail_early("Runtime.Unknown", "no output pipe".into()))?;
        let timings = Timings {
            prepare,
            spawn,
            spawned: Instant::now(),
        };
        let watch = InitWatch {
            api: &api,
            init_rx,
            exits: exits.as_mut(),
        };
        let mut runtime_ready_ms = None;
        let end = await_init(&mut instance, watch, &attempt, &mut runtime_ready_ms).await;
        let init_duration = attempt.started.elapsed();
        if !matches!(end, InitEnd::Ready) {
            // The subscribers hear of the failure while their extensions still run, after
            // the lines written so far (a traceback before `/init/error`).
            if telemetry.active() {
                logs.catch_up().await;
            }
            let records = InitRecords {
                attempt: &attempt,
                origin: &origin,
                init_duration,
                runtime_ready_ms,
            };
            init_records(&telemetry, &api, &records, &end.outcome());
            let hub = Arc::clone(api.telemetry());
            let _ = tokio::time::timeout(FAILED_INIT_FLUSH, hub.shutdown()).await;
            // Only now may a runtime that posted `/init/error` exit (it does once
            // answered), taking the environment's extensions, the subscribers, with it.
            api.answer_init_error();
        }
        match end {
            InitEnd::Ready => {
                let extensions = has_extensions.then(|| super::extensions::Started {
                    exits,
                    reason: hearth_runtime_api::ShutdownReason::Spindown,
                    killed: false,
                });
                let parts = (api, instance, logs, code, extensions);
                let beside_telemetry = telemetry;
                let beside = Beside {
                    aws_api: aws.server,
                    xray: xray.guard,
                    telemetry: beside_telemetry,
                };
                let parts = (parts, beside);
                let times = (init_duration, runtime_ready_ms);
                Ok(Self::ready(&attempt, origin, parts, times, timings).await)
            }
            InitEnd::Posted(body, error_type) => {
                let posted = Some((body, error_type));
                Err(failed_init(attempt, (instance, logs), posted, init_duration).await)
            }
            InitEnd::Extension {
                error_type,
                message,
            } => {
                let body = error_body(
                    &error_type,
                    &format!("RequestId: {} Error: {message}", attempt.request_id),
                );
                let posted = Some((body, Some(error_type)));
                Err(failed_init(attempt, (instance, logs), posted, init_duration).await)
            }
            InitEnd::TimedOut => {
                Err(failed_init(attempt, (instance, logs), None, init_duration).await)
            }
            InitEnd::Exited(reason) => {
                let lines = logs.end_period(&[]).await;
                Err(InitFailure {
                    logged: true,
                    ..attempt.fail("Runtime.ExitError", reason, lines)
                })
            }
        }
    }

    /// The environment whose runtime ended init ready for its first event; its init's
    /// lines are logged.
    async fn ready(
        attempt: &Attempt<'_>,
        origin: Origin,
        ((api, instance, logs, code, extensions), beside): (
            (
                RuntimeApi,
                Instance,
                LogCollector,
                CodePins,
                Option<super::extensions::Started>,
            ),
            Beside,
        ),
        (init_duration, runtime_ready_ms): (Duration, Option<i64>),
        t: Timings,
    ) -> Self {
        tracing::debug!(
            prepare_us = (t.spawn - t.prepare).as_micros() as u64,
            spawn_us = (t.spawned - t.spawn).as_micros() as u64,
            runtime_init_us = t.spawned.elapsed().as_micros() as u64,
            "cold start"
        );
        instance.init_done();
        logs.end_period(&extension_lines(&api)).await;
        let records = InitRecords {
            attempt,
            origin: &origin,
            init_duration,
            runtime_ready_ms,
        };
        init_records(&beside.telemetry, &api, &records, &InitOutcome::success());
        // Init is over: AWS processes no subscription after it.
        api.telemetry().close_subscriptions();
        tracing::debug!(function = %attempt.spec.function, environment = %attempt.id, "environment ready");
        Self {
            revision: attempt.spec.environment_key.clone(),
            version: attempt.spec.version.clone(),
            origin,
            api: Arc::new(api),
            usage: None,
            instance,
            logs: Arc::new(logs),
            extensions,
            phases: None,
            last_used: Instant::now(),
            born: Instant::now(),
            init_duration: Some(init_duration),
            peak_mb: 0,
            _code: code,
            _aws_api: beside.aws_api,
            _xray: beside.xray,
            telemetry: beside.telemetry,
        }
    }
}

/// What an init's records tell besides how it ended.
struct InitRecords<'a> {
    attempt: &'a Attempt<'a>,
    origin: &'a Origin,
    init_duration: Duration,
    /// When the runtime first asked for an event (none if it never did).
    runtime_ready_ms: Option<i64>,
}

/// The init phase's records for the Telemetry API's subscribers: `platform.extension` for
/// each registered extension, then `initStart`, `initRuntimeDone` and `initReport` (see
/// [`Telemetry::init_ended`]) with `outcome`. `initRuntimeDone` carries the time of the
/// runtime's first `/next` (the end of init when it never asked).
fn init_records(
    telemetry: &Telemetry,
    api: &RuntimeApi,
    records: &InitRecords<'_>,
    outcome: &InitOutcome,
) {
    if !telemetry.active() {
        return;
    }
    let InitRecords {
        attempt,
        origin,
        init_duration,
        runtime_ready_ms,
    } = *records;
    let now = now_ms();
    // Their state on failure is not modelled: only a successful init names them Ready.
    let ready = outcome.status == Status::Success;
    for (name, events) in api.registered_extensions().into_iter().filter(|_| ready) {
        telemetry.publish(now, || {
            hearth_telemetry::Record::Extension(hearth_telemetry::event::ExtensionState {
                name,
                state: "Ready".to_owned(),
                events: events.iter().map(|e| e.as_str().to_owned()).collect(),
                error_type: None,
            })
        });
    }
    let spec = attempt.spec;
    telemetry.init_ended(
        &InitFacts {
            provisioned: matches!(origin, Origin::Provisioned { .. }),
            runtime_version: &Catalog::version_label(&spec.runtime),
            runtime_version_arn: &spec.runtime_version_arn,
            function_name: hearth_model::arn::key_name(&spec.function),
            function_version: &spec.version,
            memory_mb: spec.memory_mb,
        },
        (attempt.init_start.0, runtime_ready_ms.unwrap_or(now), now),
        init_duration,
        outcome,
    );
}

/// `EXTENSION Name: … State: Ready Events: [INVOKE,SHUTDOWN]`, one line per registered
/// extension at the end of a successful init, as Lambda writes them.
fn extension_lines(api: &RuntimeApi) -> Vec<(i64, String)> {
    api.registered_extensions()
        .into_iter()
        .map(|(name, events)| {
            let events: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
            (
                now_ms(),
                format!(
                    "EXTENSION Name: {name}\tState: Ready\tEvents: [{}]",
                    events.join(",")
                ),
            )
        })
        .collect()
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
    spec: &RunSpec,
    (task_root, opt_dir): (&Path, Option<&Path>),
    mut launch: Launch,
    (api, aws_endpoint, xray, credentials): (
        &RuntimeApi,
        Option<&str>,
        Option<SocketAddr>,
        Option<&EnvCredentials>,
    ),
    stream: &str,
    guest: &GuestPaths,
    initialization_type: contract::Initialization,
) -> SandboxSpec {
    let mut env = contract::variables(
        &contract::FunctionEnv {
            // The wire's name: `spec.function` is the function's key.
            name: hearth_model::arn::key_name(&spec.function),
            runtime: &spec.runtime,
            handler: &spec.handler,
            version: &spec.version,
            memory_mb: spec.memory_mb,
            log_group: &spec.log_group,
            log_stream: stream,
            initialization_type,
            log_format: spec.logging.format.as_str(),
            log_level: spec.logging.application_level.as_deref(),
        },
        Some(&api.addr().to_string()),
        task_root,
        &launch,
        guest,
    );
    if let Some(url) = aws_endpoint {
        env.extend(contract::endpoint_variables(url));
    }
    if let Some(daemon) = xray {
        env.extend(hearth_sandbox::xray::variables(daemon));
    }
    // The role's temporary credentials in place of the placeholders.
    if let Some(c) = credentials {
        for (name, value) in env.iter_mut() {
            match name.as_str() {
                "AWS_ACCESS_KEY_ID" => value.clone_from(&c.access_key_id),
                "AWS_SECRET_ACCESS_KEY" => value.clone_from(&c.secret_access_key),
                "AWS_SESSION_TOKEN" => value.clone_from(&c.session_token),
                _ => {}
            }
        }
    }
    let own: Vec<(String, String)> = spec
        .environment
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    function_env::merge(&mut env, &own);
    function_env::wrap(&mut launch, &own, (task_root, opt_dir), guest);
    SandboxSpec {
        program: launch.program,
        args: launch.args,
        env,
        task_root: task_root.to_path_buf(),
        runtime_dir: launch.runtime_dir,
        opt_dir: opt_dir.map(Path::to_path_buf),
        ro_paths: launch.ro_paths,
        hidden: launch.hidden,
        memory_mb: spec.memory_mb.max(0) as u64,
        ephemeral_storage_mb: spec.ephemeral_storage_mb.max(0) as u64,
        egress: spec.egress.clone(),
    }
}
