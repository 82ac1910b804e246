//! `hearth server`: opens the data directory, builds the engine and serves the
//! control plane in the foreground until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hearth_api::guard::RequestGuard;
use hearth_cli::dirs::DirArgs;
use hearth_cli::sandbox_kind::SandboxKind;
use hearth_engine::{Engine, EngineConfig, FunctionApi};
use hearth_events::{AsyncQueue, EventsConfig};
use hearth_runtimes::Catalog;
use hearth_sandbox::{JailSandbox, ProcessSandbox, Sandbox};
use hearth_store::Store;
use hearth_triggers::{Host, Invoker, SourceContext};

/// Async events running at once per CPU, unless set: more only adds context switches for
/// quick functions (measured with `hearth-bench` on 2 CPUs: 16 delivered about 10,000 events
/// a second, 64 about 7,000), while functions that wait on I/O may want it raised.
const ASYNC_PER_CPU: usize = 8;

/// How long a large request waits for room in the body budget before it gets 429.
const BODY_WAIT: Duration = Duration::from_secs(30);

/// How long a stopping server waits for its event sources (running async events).
const STOP_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// Address of the control plane.
    #[arg(long, env = "HEARTH_LISTEN", default_value = "127.0.0.1:9000")]
    pub listen: SocketAddr,

    /// How long an idle execution environment stays warm (e.g. 300s, 5m).
    #[arg(long, env = "HEARTH_IDLE_TTL", default_value = "5m", value_parser = crate::duration::parse)]
    pub idle_ttl: Duration,

    /// Each account's concurrency limit: environments busy with an invocation at once,
    /// across the account's functions (100 of them always stay unreserved).
    #[arg(long, env = "HEARTH_ACCOUNT_CONCURRENCY", default_value_t = hearth_model::limits::ACCOUNT_CONCURRENCY,
          value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
    pub account_concurrency: i64,

    /// Delays before the retries of an async event whose function failed (Lambda waits
    /// about 1 then 2 minutes; the last one repeats if more retries are allowed).
    #[arg(long, env = "HEARTH_ASYNC_RETRY_DELAYS", value_delimiter = ',',
          default_value = "60s,120s", value_parser = crate::duration::parse)]
    pub async_retry_delays: Vec<Duration>,

    /// Async events running at once, over all functions (each also within its
    /// function's reserved concurrency and the account's limit) [default: 8 per CPU].
    #[arg(long, env = "HEARTH_ASYNC_CONCURRENCY",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub async_concurrency: Option<u32>,

    /// Threads that serve requests and drive invocations (the async runtime's workers)
    /// [default: half the CPUs, at least one: the functions' runtimes use the rest].
    #[arg(long, env = "HEARTH_WORKER_THREADS",
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub worker_threads: Option<u32>,

    /// Client connections open at once; at the cap the one idle longest is closed to make
    /// room [default: half the open-file limit, which the server raises to its hard limit].
    #[arg(long, env = "HEARTH_MAX_CONNECTIONS",
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub max_connections: Option<u64>,

    /// How long a client may take to send a request's header, from its first byte (or
    /// from connecting, for a connection's first request): against slowloris.
    #[arg(long, env = "HEARTH_HEADER_TIMEOUT", default_value = "10s", value_parser = crate::duration::parse)]
    pub header_timeout: Duration,

    /// How long an idle keep-alive client connection stays open.
    #[arg(long, env = "HEARTH_KEEP_ALIVE_TIMEOUT", default_value = "60s", value_parser = crate::duration::parse)]
    pub keep_alive_timeout: Duration,

    /// How long a web console session (`/console`) may go unused before it ends.
    #[arg(long, env = "HEARTH_CONSOLE_IDLE_TIMEOUT", default_value = "30m", value_parser = crate::duration::parse)]
    pub console_idle_timeout: Duration,

    /// How long a web console session lasts after sign-in, however it is used.
    #[arg(long, env = "HEARTH_CONSOLE_SESSION_LIFETIME", default_value = "12h", value_parser = crate::duration::parse)]
    pub console_session_lifetime: Duration,

    /// Where sampled invocations' traces go: an OpenTelemetry collector's OTLP endpoint
    /// (`http://collector:4317` for gRPC, `http://collector:4318` for HTTP). Unset, no
    /// trace is exported (headers are still handed to functions).
    #[arg(long, env = "HEARTH_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// The OTLP protocol: `grpc` (the default) or `http/protobuf`.
    #[arg(long, env = "HEARTH_OTLP_PROTOCOL")]
    pub otlp_protocol: Option<String>,

    /// How often CloudWatch alarms are evaluated (and old metric points rolled up); AWS
    /// evaluates every minute.
    #[arg(long, env = "HEARTH_ALARM_INTERVAL", default_value = "60s", value_parser = crate::duration::parse)]
    pub alarm_interval: Duration,
    /// `off`: the engine reports to nothing: no Prometheus metrics (`/metrics` answers
    /// 404), no `AWS/Lambda` invocation metrics, no metering. For measuring what metrics
    /// cost (`hearth-bench`); CloudWatch's concurrency samples and alarms still run.
    #[arg(long, env = "HEARTH_METRICS", default_value = "on", value_enum)]
    pub metrics: MetricsMode,

    /// The bearer token Prometheus sends to scrape `/metrics` when requests are signed
    /// (`--auth sigv4`); without it `/metrics` is refused then. Open with `--auth off`.
    #[arg(long, env = "HEARTH_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// MB of large request bodies (over 1 MB, such as CreateFunction zips) being received
    /// and handled at once; a request beyond it waits up to 30 s, then gets 429.
    #[arg(long, env = "HEARTH_BODY_BUDGET_MB", default_value_t = 256,
          value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    pub body_budget_mb: u64,

    /// Host names (and `name:port`) the API answers to besides its own address, e.g.
    /// behind a proxy; `*` allows any (see docs/request-guard.md).
    #[arg(
        long,
        env = "HEARTH_ALLOWED_HOSTS",
        value_delimiter = ',',
        value_name = "HOSTS"
    )]
    pub allowed_hosts: Vec<String>,

    /// Origins (`https://ui.example`) whose web pages may send requests; `*` allows any.
    #[arg(
        long,
        env = "HEARTH_ALLOWED_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGINS"
    )]
    pub allowed_origins: Vec<String>,

    /// How requests are authenticated: `sigv4` (AWS Signature Version 4, with the keys of
    /// `hearth keys` and the administrator key in DATA_DIR/admin-credentials) or `off`
    /// (anyone who reaches the port is the default account's root: local throwaway use).
    #[arg(long, env = "HEARTH_AUTH", value_enum, default_value = "sigv4")]
    pub auth: AuthMode,

    /// Allow `--auth off` on a non-loopback listen address.
    #[arg(long, env = "HEARTH_AUTH_OFF_ANYWHERE")]
    pub auth_off_anywhere: bool,

    /// How execution environments are isolated.
    #[arg(long, env = "HEARTH_SANDBOX", value_enum, default_value = "jail")]
    pub sandbox: SandboxKind,

    /// CreateFunction and UpdateFunctionConfiguration refuse an execution role that is
    /// not a role of the caller's account trusting `lambda.amazonaws.com` (IAM's
    /// CreateRole on this endpoint makes them; the server makes `role/hearth`)
    /// [default: true with `--auth sigv4`, false with `--auth off`]; `--check-roles=false`
    /// takes any role of Lambda's pattern.
    #[arg(long, env = "HEARTH_CHECK_ROLES", value_name = "BOOL", num_args = 0..=1,
          require_equals = true, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub check_roles: Option<bool>,

    #[command(flatten)]
    pub egress: crate::egress_args::EgressArgs,

    #[command(flatten)]
    pub dirs: DirArgs,

    #[command(flatten)]
    pub node: crate::node_args::NodeArgs,

    /// Where the state is: `embedded` (SQLite in DATA_DIR, one machine) or a PostgreSQL
    /// URL (`postgres://user:password@host/db`, or `host=... dbname=...`) that the nodes
    /// of a fleet share (docs/fleet.md). Every node needs the same DATA_DIR/server.key.
    #[arg(
        long,
        env = "HEARTH_STORE",
        default_value = "embedded",
        value_name = "embedded|URL"
    )]
    pub store: String,

    #[command(flatten)]
    pub tls: crate::tls::TlsArgs,

    /// The address clients reach this server at (`https://hearth.example.com`), in the
    /// function URLs and API endpoints it answers [default: the scheme and the address
    /// other nodes reach it at].
    #[arg(long, env = "HEARTH_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// A domain whose names all resolve to this server (wildcard DNS): function URLs are
    /// then `<id>.lambda-url.<region>.<domain>` and HTTP APIs
    /// `<id>.execute-api.<region>.<domain>`, besides the path forms that always work
    /// (`/lambda-url/<id>/`, `/execute-api/<id>/`).
    #[arg(long, env = "HEARTH_HTTP_DOMAIN", value_name = "DOMAIN")]
    pub http_domain: Option<String>,

    /// Days the audit trail keeps an event (CloudTrail's event history keeps 90).
    #[arg(long, env = "HEARTH_AUDIT_RETENTION_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u32).range(1..=3653))]
    pub audit_retention_days: u32,

    /// Most events the audit trail keeps; the oldest go first.
    #[arg(long, env = "HEARTH_AUDIT_MAX_EVENTS", default_value_t = 1_000_000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    pub audit_max_events: u64,

    #[command(flatten)]
    pub logs: crate::log_args::LogArgs,

    #[command(flatten)]
    pub mappings: crate::mapping_args::MappingArgs,

    #[command(flatten)]
    pub metric_retention: crate::metric_args::MetricArgs,
}

/// Names the executable the jail starts as its zygote (`<exe> __jail-init`) instead of
/// /proc/self/exe: under a tool that runs the server itself (valgrind, as
/// scripts/profile-warm.sh does) /proc/self/exe is the tool's.
pub const JAIL_EXE_VAR: &str = "HEARTH_JAIL_EXE";

/// The executable the jail starts as its zygote: [`JAIL_EXE_VAR`] when set, else
/// /proc/self/exe (not this binary's path: it may be rebuilt while Hearth runs).
fn jail_exe() -> std::path::PathBuf {
    jail_exe_from(std::env::var_os(JAIL_EXE_VAR))
}

fn jail_exe_from(var: Option<std::ffi::OsString>) -> std::path::PathBuf {
    match var {
        Some(exe) if !exe.is_empty() => exe.into(),
        _ => "/proc/self/exe".into(),
    }
}

/// The async runtime's workers without `--worker-threads`: half the CPUs, at least one.
/// The server shares the host with the runtimes it starts, and on two CPUs one worker
/// served warm invokes with less CPU each than two: two workers woke each other for
/// most invokes (the runtime's answer and its output pipe become ready together, and
/// tokio hands the second task to the idle worker), and now and then contended for the
/// environment's log state (docs/performance.md, "One worker per two CPUs").
pub fn default_worker_threads() -> usize {
    workers_for(std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn workers_for(cpus: usize) -> usize {
    (cpus / 2).max(1)
}

/// Whether `store` names a PostgreSQL database: a `postgres://` or `postgresql://` URL,
/// or libpq's `key=value` form.
pub fn is_postgres(store: &str) -> bool {
    store.starts_with("postgres://")
        || store.starts_with("postgresql://")
        || store
            .split_whitespace()
            .any(|kv| kv.starts_with("host=") || kv.starts_with("dbname="))
}

/// `--auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    Sigv4,
    Off,
}

/// `--metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MetricsMode {
    On,
    Off,
}

pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    if args.auth == AuthMode::Off && !args.listen.ip().is_loopback() && !args.auth_off_anywhere {
        anyhow::bail!(
            "--auth off would let anyone who reaches {} deploy and run code as this host; \
             listen on a loopback address, or add --auth-off-anywhere if you mean it",
            args.listen
        );
    }
    let metric_retention = args
        .metric_retention
        .retention()
        .map_err(anyhow::Error::msg)?;
    let nofile = crate::fd_limit::raise();
    let max_connections = args.max_connections.map_or_else(
        || crate::fd_limit::default_connections(nofile),
        |n| usize::try_from(n).unwrap_or(usize::MAX),
    );
    let data_dir = args.dirs.data_dir()?;
    let runtimes_dir = args.dirs.runtimes_dir()?;
    // Only the server's user may read its data (see docs/data-protection.md).
    hearth_store::private::create_dir(&data_dir)
        .with_context(|| format!("cannot make {} private", data_dir.display()))?;
    // Held until the server ends: a second server on this directory refuses to start.
    let _lock = crate::data_lock::DataDirLock::acquire(&data_dir)?;
    // The server key: every secret at rest is sealed under it (or a key derived from it).
    let seal = hearth_store::seal::SealKey::load_or_create(&data_dir)
        .context("cannot load the server key")?;
    // Opening the store removes what a dead server left half written (temporaries of
    // stores and unpacks) and code nothing references: safe only under the lock.
    let store = if is_postgres(&args.store) {
        Store::open_postgres(&args.store, &data_dir.join("code-cache"), &seal)
            .context("cannot open the PostgreSQL store")?
    } else if args.store == "embedded" {
        Store::open_sealed(&data_dir, &seal)
            .with_context(|| format!("cannot open the data directory {}", data_dir.display()))?
    } else {
        anyhow::bail!(
            "--store takes `embedded` or a PostgreSQL URL (postgres://..., or host=... dbname=...), not {:?}",
            args.store
        );
    };
    // The same key seals access keys' secrets and session tokens.
    let keys =
        hearth_auth::KeyRing::load(store.clone(), &seal).context("cannot read the access keys")?;
    let (auth, keys) = crate::admin_key::setup(args.auth, &keys, &seal, &data_dir)?;
    let catalog = Catalog::discover(&runtimes_dir);
    let sandbox: Arc<dyn Sandbox> = match args.sandbox {
        SandboxKind::Jail => Arc::new(
            JailSandbox::new(
                jail_exe(),
                &data_dir.join("jail"),
                args.egress.network().as_ref(),
            )
            .context("cannot use --sandbox jail")?,
        ),
        SandboxKind::Process => {
            tracing::warn!(
                "SANDBOX 'process' ISOLATES NOTHING: functions run as plain child processes with \
                 Hearth's user and can read and change anything it can. Use it for development only."
            );
            tracing::warn!(
                egress_default = %args.egress.default,
                "EGRESS POLICIES ARE NOT ENFORCED with --sandbox process: functions use the host's \
                 network, its loopback services included"
            );
            Arc::new(ProcessSandbox)
        }
    };
    let check_roles = args.check_roles.unwrap_or(args.auth == AuthMode::Sigv4);
    if !check_roles && args.auth == AuthMode::Sigv4 {
        tracing::warn!(
            "EXECUTION ROLES ARE NOT CHECKED (--check-roles=false): a function may name any \
             role, its environment then gets that role's credentials"
        );
    }
    // Counts every invocation for `/metrics`, CloudWatch and metering; traces sampled
    // invocations of Active functions to the operator's OTLP collector, if any. With
    // metrics off it stays empty and the engine reports to nothing.
    let otlp = hearth_traces::ExportConfig::from_settings(
        args.otlp_endpoint.as_deref(),
        args.otlp_protocol.as_deref(),
    )
    .context("--otlp-protocol")?;
    if let Some(otlp) = &otlp {
        tracing::info!(endpoint = %otlp.endpoint, protocol = ?otlp.protocol, "exporting traces over OTLP");
    }
    let observatory = hearth_observe::Observatory::with_traces(otlp.as_ref())
        .context("cannot start the OTLP exporter")?;
    let metrics_on = args.metrics == MetricsMode::On;
    let observer = if metrics_on {
        hearth_engine::observe::ObserverHandle(observatory.clone())
    } else {
        tracing::info!(
            "metrics are off (--metrics off): no /metrics, no invocation metrics or traces, no metering"
        );
        hearth_engine::observe::ObserverHandle::default()
    };
    // The engine is the control plane's; its invoke path goes to the invoker alone.
    let (engine, invoke_path) = Engine::new(
        store,
        catalog.clone(),
        sandbox,
        EngineConfig {
            idle_ttl: args.idle_ttl,
            account_concurrency: args.account_concurrency,
            log_limits: args.logs.limits(),
            log_backlog: args.logs.backlog(),
            egress_default: args.egress.default.clone(),
            check_roles,
            observer,
        },
    )
    .context("cannot read the data directory")?;
    if crate::default_role::ensure_scheduler(&engine)? {
        tracing::info!(
            role = crate::default_role::SCHEDULER_NAME,
            "made the default schedule role (trusts scheduler.amazonaws.com); `hearth schedule` gives it to new schedules"
        );
    }
    if crate::default_role::ensure(&engine)? {
        tracing::info!(
            role = %crate::default_role::arn(),
            "made the default execution role (trusts lambda.amazonaws.com, \
             AWSLambdaBasicExecutionRole attached); `hearth deploy` gives it to new functions"
        );
    }
    engine.spawn_log_sweeper(args.logs.retention());
    engine.spawn_audit_sweeper(hearth_model::audit::AuditRetention {
        days: args.audit_retention_days,
        max_events: args.audit_max_events,
    });
    let tls = args.tls.config(&data_dir)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    // The node joins before its async queue opens: the events it holds are read back
    // only once its heartbeat is current (hearth_events::Holder).
    let node = args.node.config(&data_dir, addr)?;
    let node_id = node.id.clone();
    let public_url = args.public_url.clone().unwrap_or_else(|| {
        let scheme = if tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", node.address)
    });
    let endpoints =
        hearth_api::http_endpoints::HttpEndpoints::new(&public_url, args.http_domain.as_deref());
    // SNS: its links and signing certificate are on this server's public URL; it sends
    // to Hearth's queues once the SQS service opens (below).
    let queues = crate::messaging::Queues::default();
    let sns = hearth_sns::Sns::new(
        engine.store().clone(),
        hearth_sns::SnsConfig {
            endpoint: public_url,
            sink: Arc::new(queues.clone()),
        },
    );
    engine.serve_https(tls.is_some());
    tracing::info!(node = %node.id, address = %node.address, "joined the fleet");
    engine
        .join_fleet(node)
        .context("cannot register this node in the store")?;
    // The queue shares the engine's writer: an event's outcome is committed after the
    // log lines of the invocation that decided it.
    let queue = AsyncQueue::open(
        engine.store().clone(),
        engine.writer().clone(),
        EventsConfig {
            retry_delays: args.async_retry_delays.clone(),
            max_running: args.async_concurrency.map_or_else(
                || ASYNC_PER_CPU * std::thread::available_parallelism().map_or(1, |n| n.get()),
                |n| n as usize,
            ),
            claim_every: args.node.heartbeat,
            ..EventsConfig::default()
        },
        hearth_events::Holder {
            node: node_id.clone(),
            standing: engine.standing().clone(),
        },
    )
    .context("cannot read the async queue")?;
    // Lambda's asynchronous-invocation metrics are counted from the queue's reports.
    queue.report_to(observatory.clone());
    let invoker = Invoker::new(invoke_path, Arc::new(queue.clone()));
    let fleet_node = node_id;
    // SQS: queues and messages from the store (messages in flight before a restart are
    // visible again); on a fleet, served by the holder of the `sqs` lease.
    let sqs = hearth_sqs::Sqs::open_on(engine.store(), &fleet_node)
        .map_err(|e| anyhow::anyhow!("cannot read the SQS queues: {e}"))?;
    // The mappings' pollers call this server's own queues in-process, authorized for the
    // functions' execution roles; the queues of `--sqs-endpoint`s over HTTP.
    let mapping_queues: Arc<dyn hearth_mappings::QueueClients> =
        Arc::new(args.mappings.endpoints(hearth_mappings::LocalQueues {
            sqs: sqs.clone(),
            invoker: invoker.clone(),
        })?);
    let mut mapping_source = hearth_mappings::MappingSource::new(
        engine.store().clone(),
        mapping_queues.clone(),
        &fleet_node,
    );
    if metrics_on {
        // Mappings with `MetricsConfig` count their events for `AWS/Lambda`; the store's
        // writer tells `/metrics` of its commits.
        mapping_source = mapping_source.counting_into(observatory.clone());
        engine.writer().on_commit(observatory.commit_hook());
    }
    queues.open(sqs.clone());
    let sqs_for_shutdown = sqs.clone();
    // Records of asynchronous invocations and dead letters for queues and topics.
    // EventBridge: its deliveries reach Hearth's queues and topics through the server.
    let events = hearth_eventbridge::EventBridge::new(engine.store().clone());
    let scheduler = hearth_scheduler::Scheduler::new(engine.store().clone());
    // Records of asynchronous invocations and dead letters for queues, topics and buses.
    queue.send_messages_with(Arc::new(crate::messaging::Outbound {
        sqs: sqs.clone(),
        sns: sns.clone(),
        events: events.clone(),
    }));
    let event_targets = Arc::new(crate::event_targets::EventTargets {
        sqs: sqs.clone(),
        sns: sns.clone(),
        invoker: invoker.clone(),
    });
    let host = Host::start(
        SourceContext::new(invoker.clone()),
        crate::sources::sources(
            &queue,
            &sns,
            mapping_source,
            hearth_eventbridge::Deliveries::new(&events, event_targets, &fleet_node),
            hearth_eventbridge::Timer::new(
                &events,
                vec![
                    Arc::new(hearth_eventbridge::ScheduledRules(events.clone())),
                    Arc::new(crate::schedules::Schedules(scheduler.clone())),
                ],
                &fleet_node,
            ),
            &fleet_node,
        ),
        STOP_GRACE,
    )
    .await?;
    // CloudWatch's metrics: the engine's counts, concurrency samples, rollups.
    let cloudwatch = hearth_metrics::CloudWatch::new(
        engine.store().metrics().clone(),
        hearth_model::arn::REGION,
    )
    .with_retention(metric_retention);
    let housekeeping = hearth_observe::Housekeeping {
        observatory: observatory.clone(),
        cloudwatch: cloudwatch.clone(),
        engine: engine.clone(),
        node: fleet_node.clone(),
        alarm_actions: Arc::new(crate::alarm_actions::Actions::new(sns.clone())),
        evaluate_every: args.alarm_interval,
        metering: metrics_on,
        sqs: metrics_on.then(|| sqs.clone()),
    }
    .start();
    let available = catalog.available();
    tracing::info!(
        data_dir = %data_dir.display(),
        runtimes_dir = %runtimes_dir.display(),
        runtimes = ?available,
        open_files = nofile,
        max_connections,
        event_sources = ?host.names(),
        "starting"
    );
    let missing: Vec<String> = catalog
        .status()
        .into_iter()
        .filter(|(_, installed)| !installed)
        .map(|(name, _)| name)
        .collect();
    if !missing.is_empty() {
        tracing::warn!(
            ?missing,
            "runtimes not installed; run `hearth runtime install`"
        );
    }
    // Said once everything is started: tests and scripts wait for this line.
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!("listening on {scheme}://{addr}");
    let budget = usize::try_from(args.body_budget_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
    // The names a self-signed certificate was made for are names the server answers to.
    let allowed_hosts: Vec<&str> = args
        .allowed_hosts
        .iter()
        .chain(&args.tls.tls_self_signed)
        .map(String::as_str)
        .collect();
    let guard = RequestGuard::for_flags(
        addr,
        &allowed_hosts,
        &args
            .allowed_origins
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .with_fronts(endpoints.clone());
    let body_budget = hearth_api::BodyBudget::new(budget, BODY_WAIT);
    // Only a fleet forwards: its nodes share the server key, so each derives the same
    // secret to sign forwards with (a MAC of a label under the key). SQS calls go to the
    // node that serves SQS the same way.
    let fleet = match is_postgres(&args.store) {
        true => Some(hearth_api::forward::fleet(
            &fleet_node,
            &seal.mac(b"hearth fleet forwarding"),
            args.node
                .fleet_roots(args.tls.served(&data_dir).as_deref())?,
        )),
        false => None,
    };
    if let Some(fleet) = &fleet {
        sqs.relay_through(hearth_api::forward::sqs_relay(fleet));
    }
    let api_options = hearth_api::ApiOptions {
        // AssumeRole's credentials: sealed sessions, like the functions' own.
        session_issuer: Some(Arc::new(hearth_auth::Sessions::new(&seal))),
        // Keys carry their policies; role sessions their role's.
        authorizer: Arc::new(hearth_api::Identities::new(
            Some(keys.clone()),
            engine.clone(),
        )),
        auth,
        keys: Some(keys),
        fleet: fleet.clone(),
        endpoints,
        sqs: Some(sqs),
        sns: Some(sns),
        events: Some(events),
        scheduler: Some(scheduler),
        cloudwatch: Some(cloudwatch.clone()),
        mapping_queues: Some(mapping_queues),
        observatory: metrics_on.then(|| observatory.clone()),
        metrics_token: args.metrics_token.clone(),
        metrics_flush: Some(housekeeping.flush_now()),
        console: Some(hearth_api::console::Settings::new(
            &seal,
            args.console_idle_timeout,
            args.console_session_lifetime,
        )),
    };
    // Functions reach the AWS API in-process from their own network namespace (no
    // browser can be there, so no guard), sharing the budget of large bodies.
    // They sign with their role's session credentials, verified like any client's.
    engine.serve_api_to_functions(
        FunctionApi::new(
            hearth_api::for_functions(body_budget.clone().apply(hearth_api::router_with(
                engine.clone(),
                invoker.clone(),
                hearth_api::ApiOptions {
                    keys: None,
                    // No browser is in a function's network namespace.
                    console: None,
                    ..api_options.clone()
                },
            ))),
            format!("http://{}", endpoint_addr(addr)),
        )
        .with_credentials(Arc::new(crate::admin_key::RoleCredentials(
            hearth_auth::Sessions::new(&seal),
        ))),
    );
    // The guard comes first: a foreign request is refused before it waits for the budget.
    let app = hearth_api::guard::guarded(
        body_budget.apply(hearth_api::router_with(
            engine.clone(),
            invoker,
            api_options,
        )),
        guard,
    );
    let limits = hearth_serve::Limits {
        max_connections,
        header_read_timeout: Some(args.header_timeout),
        idle_timeout: Some(args.keep_alive_timeout),
    };
    let long_polls = sqs_for_shutdown;
    let stopping = async move {
        shutdown_signal().await;
        long_polls.close_long_polls();
        // A console's live log tail never ends by itself: the graceful stop would wait.
        hearth_api::console::close_live_tails();
    };
    hearth_serve::serve_tls(listener, app, limits, tls, stopping).await;
    // Async events still running after the grace run again at the next start.
    host.stop(STOP_GRACE).await;
    // After the sources: what their last invocations counted is flushed too.
    housekeeping.stop(STOP_GRACE).await;
    engine.leave_fleet();
    // Environments with extensions get their shutdown phase (SIGTERM, SHUTDOWN) first.
    engine.end_environments().await;
    engine.shutdown();
    tracing::info!("stopped");
    Ok(())
}

/// The address a process on this machine reaches the server at: the loopback address
/// when it listens on every address.
fn endpoint_addr(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, addr.port()))
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port()))
        }
        _ => addr,
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop the server with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received, stopping"),
        _ = int.recv() => tracing::info!("SIGINT received, stopping"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workers_are_half_the_cpus_and_at_least_one() {
        assert_eq!(workers_for(1), 1);
        assert_eq!(workers_for(2), 1);
        assert_eq!(workers_for(3), 1);
        assert_eq!(workers_for(8), 4);
        assert!(default_worker_threads() >= 1);
    }

    #[test]
    fn the_jail_exe_is_proc_self_exe_unless_named() {
        assert_eq!(
            jail_exe_from(None),
            std::path::PathBuf::from("/proc/self/exe")
        );
        assert_eq!(
            jail_exe_from(Some("".into())),
            std::path::PathBuf::from("/proc/self/exe")
        );
        assert_eq!(
            jail_exe_from(Some("/opt/hearth/bin/hearth".into())),
            std::path::PathBuf::from("/opt/hearth/bin/hearth")
        );
    }
}
