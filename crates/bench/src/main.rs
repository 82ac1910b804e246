//! `hearth-bench`: starts its own `hearth server` (the `hearth` binary built next to it,
//! jail sandbox by default), deploys its own functions through the Lambda REST API, and measures Hearth side by side with a floor (the
//! same runtime process under a minimal Runtime API in the bench, nothing in between): warm
//! Invoke overhead, cold starts, throughput, sandbox creation rate and the memory of an idle
//! environment, what a function URL adds to Invoke, a fresh environment per invocation
//! beside a cold start, and async Event invokes accepted and delivered per second. Prints
//! a table
//! with targets and verdicts, and `--json FILE` writes the figures. A missed target is a verdict, not a failure; only a figure that cannot be
//! measured makes the command fail.

mod asynchronous;
mod auth_overhead;
mod binaries;
mod events;
mod fleet_figures;
mod floor;
mod forward_overhead;
mod fresh_env;
mod functions;
mod layers_cold;
mod load;
mod measure;
mod messaging;
mod metrics_overhead;
mod procs;
mod quiet;
mod relay;
mod relay_floor;
mod report;
mod schedules;
mod server;
mod soak;
mod url_overhead;
mod wire;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, ValueEnum};
use hearth_cli::dirs::DirArgs;
use hearth_cli::duration;
use hearth_cli::output::{emit, StdoutClosed};
use hearth_cli::sandbox_kind::SandboxKind;
use hearth_runtimes::Catalog;

use functions::BenchFunction;
use load::Conn;
use measure::{
    cold_starts, idle_memory, sandbox_rate, settled_snapshot, throughput, warm_overhead, Warm,
    WarmTargets,
};
use report::Report;
use server::Server;

#[derive(Debug, Parser)]
#[command(
    name = "hearth-bench",
    version,
    about = "Measure Hearth against a floor on this machine (starts its own hearth server)",
    after_help = "The bench's server always runs on a fresh temporary data directory; \
--data-dir only locates the default --runtimes-dir. Run as root for the jail sandbox. \
Build hearth, hearth-echo and hearth-bench together first (cargo build --release) and run \
target/release/hearth-bench."
)]
pub struct BenchArgs {
    /// Also write the figures as one JSON object to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Far fewer iterations: a smoke test of the bench, not figures to quote.
    #[arg(long)]
    pub quick: bool,

    /// Only the figures of making environments (cold starts, idle memory, the sandbox
    /// creation burst), then stop: for comparing what environment creation costs.
    #[arg(long, conflicts_with = "soak")]
    pub creation_only: bool,

    /// Instead of the figures, a soak: mixed load (sync, async, create/update/delete) for
    /// DURATION (e.g. 10m), sampling the server's memory, fds, threads, data directory,
    /// environments and cgroups, then their growth per minute with a verdict.
    #[arg(long, value_name = "DURATION", value_parser = duration::parse, conflicts_with = "quick")]
    pub soak: Option<Duration>,

    /// With --soak: how often to sample [default: every 10 s; for soaks under two
    /// minutes, a twelfth of the duration, at least 1 s].
    #[arg(long, value_name = "DURATION", value_parser = duration::parse, requires = "soak")]
    pub sample_every: Option<Duration>,

    /// How the bench's server isolates environments (`process` isolates nothing).
    #[arg(long, value_enum, default_value = "jail")]
    pub sandbox: SandboxKind,

    /// The `hearth` binary whose server is measured [default: `hearth` next to this
    /// executable].
    #[arg(long, env = "HEARTH_BIN", value_name = "FILE")]
    pub hearth: Option<PathBuf>,

    /// A PostgreSQL database (`postgres://...`) for the fleet figure: what forwarding a
    /// warm Invoke to its home node adds, on two nodes of the bench's own on it. An empty
    /// database, new for each run: the bench's nodes make a new server key, and a
    /// database that recorded another fleet's key refuses them.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,

    /// Only this scenario instead of every figure (`sigv4`: the SigV4 overhead, on two
    /// servers of its own; `forward`: the fleet's forwarding overhead, needs --store;
    /// `url`: the function URL overhead, on a server holding only the Rust echo; `layers`: cold start with 5 layers beside none; `queues`:
    /// SQS; `events`: EventBridge and Scheduler, not part of the full run; `fresh`: a fresh
    /// environment per invocation beside a cold start; `async`: Event invokes accepted and
    /// delivered, on a server holding only the Rust echo; `warm`: the warm overhead figures
    /// alone).
    #[arg(long, value_enum, value_name = "SCENARIO", conflicts_with = "soak")]
    pub only: Option<Only>,

    /// With `--only events`: how many of the one-time schedules share each `at()` second.
    /// 1 (the figure as specified) spreads 1,000 schedules (60 with --quick) over as many
    /// seconds; 10 fires the same number in a tenth of the time.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub schedules_per_second: u32,

    #[command(flatten)]
    pub dirs: DirArgs,

    /// Internal: be the relay floor's server (the bench starts itself so), serving until
    /// standard input closes.
    #[arg(long = "relay-floor-serve", hide = true)]
    pub relay_floor_serve: bool,
}

/// The scenarios `--only` runs alone.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Only {
    /// What SigV4 verification adds to a warm Invoke.
    Sigv4,
    /// What forwarding a warm Invoke to its home node adds, the time for an update to
    /// reach another node, and async accepts on PostgreSQL beside SQLite (--store
    /// postgres://...).
    Forward,
    /// What calling a warm function through its function URL adds to Invoke.
    Url,
    /// What metrics cost: warm throughput at concurrency 32 with --metrics on and off.
    Metrics,
    /// SQS sends, receives, long-poll wake-up, and an event-source mapping to the echo.
    Queues,
    /// Cold start of a function with 5 layers beside one without.
    Layers,
    /// A fresh environment per invocation (docs/fresh-env.md): its p50 and p99 beside a
    /// cold start of the same run, and invokes/s with 8 clients.
    Fresh,
    /// Async Event invokes accepted at concurrency 32 while the dispatcher delivers them,
    /// and the drain of what is left.
    Async,
    /// The warm overhead figures (Rust and Python against their floors and the relay
    /// floor) on a server holding only the two echoes: no environments being made or
    /// retired around them, as in the full run.
    Warm,
    /// EventBridge PutEvents with 100 rules beside none, PutEvents to handler start, and
    /// the firing jitter of one-time Scheduler schedules (about 17 minutes; 1 with --quick).
    Events,
}

/// How much of each measurement a run does.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// Cold starts measured (one function each), and as many floor execs.
    cold: usize,
    /// Functions cold-started in the sandbox-creation burst, and its concurrency.
    burst: usize,
    burst_concurrency: usize,
    /// Warm invokes per side (Hearth, floor), in `rounds` alternating batches.
    warm: usize,
    python_warm: usize,
    rounds: usize,
    /// Closed-loop throughput: warm-up, then the measured window, per concurrency.
    warmup: Duration,
    window: Duration,
}

impl Plan {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                cold: 8,
                burst: 24,
                burst_concurrency: 8,
                warm: 1_000,
                python_warm: 400,
                rounds: 4,
                warmup: Duration::from_millis(300),
                window: Duration::from_secs(1),
            }
        } else {
            Self {
                cold: 100,
                burst: 300,
                burst_concurrency: 8,
                warm: 20_000,
                python_warm: 8_000,
                rounds: 20,
                warmup: Duration::from_secs(1),
                window: Duration::from_secs(5),
            }
        }
    }
}

/// Concurrency levels of the throughput figure.
const THROUGHPUT_LEVELS: [usize; 3] = [1, 8, 32];
/// Parallel control-plane calls while deploying and deleting.
const DEPLOY_WORKERS: usize = 4;
/// Invokes that warm a path up before it is measured (connections, caches, the allocator).
const WARMUP_INVOKES: usize = 200;
/// Answers each throughput worker must have had before the measured window.
const WARMUP_PER_WORKER: u64 = 20;

const ECHO: &str = "bench-echo";
const PYTHON: &str = "bench-python";

/// When the run started, for the progress lines.
static STARTED: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// The spinner under the progress lines, naming the phase under way (a terminal only).
static PHASE: std::sync::OnceLock<indicatif::ProgressBar> = std::sync::OnceLock::new();

/// Says which phase starts: a line on standard error, and on a terminal the spinner below
/// the lines names it with its elapsed time.
fn progress(message: impl std::fmt::Display) {
    let t = STARTED.get_or_init(Instant::now).elapsed().as_secs_f64();
    let text = format!("hearth-bench [{t:5.1}s]: {message}");
    if hearth_cli::progress::enabled() {
        let phase = PHASE.get_or_init(|| hearth_cli::progress::spinner(""));
        phase.println(&text);
        phase.set_message(message.to_string());
        phase.reset_elapsed();
    } else {
        eprintln!("{text}");
    }
}

/// Takes the spinner off the terminal before the report is printed.
fn progress_done() {
    if let Some(phase) = PHASE.get() {
        phase.finish_and_clear();
    }
}

/// A 1 KB JSON event: `{"data":"xxx…"}`.
fn payload_1k() -> Vec<u8> {
    let frame = br#"{"data":""}"#.len();
    format!(r#"{{"data":"{}"}}"#, "x".repeat(1024 - frame)).into_bytes()
}

fn main() -> ExitCode {
    let args = BenchArgs::parse();
    let result = if args.relay_floor_serve {
        relay::serve_process()
    } else {
        run(args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: BenchArgs) -> anyhow::Result<()> {
    STARTED.get_or_init(Instant::now);
    let plan = Plan::new(args.quick);
    let exe = match &args.hearth {
        Some(path) => binaries::given(path)?,
        None => binaries::sibling(binaries::HEARTH)?,
    };
    let echo = binaries::sibling(binaries::ECHO)?;
    let runtimes_dir = args.dirs.runtimes_dir()?;
    let sandbox = args
        .sandbox
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .context("unnamed sandbox kind")?;
    let work = std::env::temp_dir().join(format!("hearth-bench-{}", std::process::id()));
    if work.exists() {
        std::fs::remove_dir_all(&work)
            .with_context(|| format!("cannot clear {}", work.display()))?;
    }
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;

    if let Some(duration) = args.soak {
        let result = soak::run(&args, duration, &exe, &echo, &runtimes_dir, &sandbox, &work);
        progress_done();
        return match result {
            Ok(()) => {
                if let Err(e) = std::fs::remove_dir_all(&work) {
                    progress(format!("could not remove {}: {e}", work.display()));
                }
                Ok(())
            }
            Err(e) => Err(e.context(format!(
                "the soak could not be completed (its files, server log included, are in {})",
                work.display()
            ))),
        };
    }
    let result = bench(&plan, &args, &exe, &echo, &runtimes_dir, &sandbox, &work);
    progress_done();
    match result {
        Ok(report) => {
            if let Err(e) = std::fs::remove_dir_all(&work) {
                progress(format!("could not remove {}: {e}", work.display()));
            }
            // The file first: a closed standard output must not lose it.
            if let Some(path) = &args.json {
                let text = serde_json::to_string_pretty(&report.json())?;
                std::fs::write(path, text + "\n")
                    .with_context(|| format!("cannot write {}", path.display()))?;
                progress(format!("wrote {}", path.display()));
            }
            match emit(report.table().as_bytes()) {
                Err(e) if e.is::<StdoutClosed>() => Ok(()),
                other => other,
            }
        }
        Err(e) => Err(e.context(format!(
            "the benchmark could not be completed (its files, server log included, are in {})",
            work.display()
        ))),
    }
}

fn bench(
    plan: &Plan,
    args: &BenchArgs,
    exe: &Path,
    echo: &Path,
    runtimes_dir: &Path,
    sandbox: &str,
    work: &Path,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let catalog = Catalog::discover(runtimes_dir);
    let rust = functions::rust_echo(&catalog, echo, work)?;
    let python = match functions::python_echo(&catalog, work) {
        Ok(f) => Some(f),
        Err(why) => {
            progress(format!("skipping the Python figures: {why}"));
            report.notes.push(format!("Python figures skipped: {why}"));
            None
        }
    };
    report.fact("quick", args.quick);
    report.fact("sandbox", sandbox);
    report.fact(
        "cpus",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    report.fact("function_memory_mb", functions::MEMORY_MB);
    report.fact("payload_bytes", payload_1k().len());
    if let Some(p) = &python {
        report.fact("python_runtime", p.spec.runtime.clone());
    }

    if let Some(Only::Sigv4) = args.only {
        progress("SigV4 overhead: the warm Rust echo with authentication on and off");
        auth_overhead::sigv4_overhead(
            plan,
            (exe, runtimes_dir, sandbox),
            work,
            &rust,
            &mut report,
        )?;
        return Ok(report);
    }
    if let Some(Only::Metrics) = args.only {
        metrics_overhead::metrics_overhead(
            plan,
            (exe, runtimes_dir, sandbox),
            work,
            &rust,
            &mut report,
        )?;
        return Ok(report);
    }
    if let Some(Only::Forward) = args.only {
        let store = args
            .store
            .as_deref()
            .context("--only forward needs --store postgres://...")?;
        forward_overhead::run(
            plan,
            (exe, runtimes_dir, sandbox),
            store,
            work,
            &rust,
            &mut report,
        )?;
        return Ok(report);
    }
    if let Some(Only::Queues) = args.only {
        let mut server = Server::start(exe, work, runtimes_dir, sandbox, "1h")?;
        messaging::messaging(plan, &server, &mut report)
            .and_then(|()| messaging::mapping(plan, &server, &rust.spec, &mut report))
            .map_err(|e| server.explain(e))?;
        server.check_alive()?;
        server.stop();
        return Ok(report);
    }
    if let Some(Only::Events) = args.only {
        let mut server = Server::start(exe, work, runtimes_dir, sandbox, "1h")?;
        let schedules = if args.quick { 60 } else { 1_000 };
        events::matching(plan, &server, &mut report)
            .and_then(|()| events::to_handler(plan, &server, &rust.spec, &mut report))
            .and_then(|()| {
                schedules::jitter(&server, schedules, args.schedules_per_second, &mut report)
            })
            .map_err(|e| server.explain(e))?;
        server.check_alive()?;
        server.stop();
        return Ok(report);
    }
    if let Some(Only::Async) = args.only {
        let mut server = Server::start(exe, work, runtimes_dir, sandbox, "1h")?;
        let mut conn = Conn::new(server.addr());
        server::create_function(&mut conn, ECHO, &rust.spec)
            .and_then(|()| server::wait_active(&mut conn, ECHO))
            .and_then(|()| asynchronous::async_events(plan, &server, &mut report))
            .map_err(|e| server.explain(e))?;
        server.check_alive()?;
        server.stop();
        return Ok(report);
    }
    if let Some(Only::Layers) = args.only {
        let mut server = Server::start(exe, work, runtimes_dir, sandbox, "1h")?;
        let mut conn = Conn::new(server.addr());
        // The first environment of the bench's zip unpacks it: not part of the figure.
        server::create_function(&mut conn, ECHO, &rust.spec)
            .and_then(|()| server::wait_active(&mut conn, ECHO))
            .and_then(|()| server::invoke(&mut conn, ECHO, &payload_1k()))
            .and_then(|()| {
                layers_cold::cold_starts_with_layers(&rust.spec, plan.cold, &mut conn, &mut report)
            })
            .map_err(|e| server.explain(e))?;
        server.check_alive()?;
        server.stop();
        return Ok(report);
    }
    if let Some(Only::Fresh) = args.only {
        let mut server = Server::start(exe, work, runtimes_dir, sandbox, "1h")?;
        fresh_env::fresh_env(plan, &server, &rust.spec, &mut report)
            .map_err(|e| server.explain(e))?;
        server.check_alive()?;
        server.stop();
        return Ok(report);
    }
    if let Some(Only::Warm) = args.only {
        let mut server = Server::start(exe, work, runtimes_dir, sandbox, "1h")?;
        let mut conn = Conn::new(server.addr());
        let mut deploys = vec![(ECHO, &rust)];
        deploys.extend(python.as_ref().map(|p| (PYTHON, p)));
        deploys
            .iter()
            .try_for_each(|(name, f)| {
                server::create_function(&mut conn, name, &f.spec)
                    .and_then(|()| server::wait_active(&mut conn, name))
            })
            .and_then(|()| {
                warm_figures(plan, (&rust, python.as_ref()), &mut conn, work, &mut report)
            })
            .map_err(|e| server.explain(e))?;
        server.check_alive()?;
        server.stop();
        return Ok(report);
    }
    if let Some(Only::Url) = args.only {
        let mut server = Server::start(exe, work, runtimes_dir, sandbox, "1h")?;
        let mut conn = Conn::new(server.addr());
        server::create_function(&mut conn, ECHO, &rust.spec)
            .and_then(|()| server::wait_active(&mut conn, ECHO))
            .and_then(|()| url_overhead::url_overhead(plan, &server, &mut report))
            .map_err(|e| server.explain(e))?;
        server.check_alive()?;
        server.stop();
        return Ok(report);
    }

    let mut server = Server::start(
        exe,
        work,
        runtimes_dir,
        sandbox,
        // Longer than the bench: an environment reclaimed mid-run would turn a warm
        // figure into a cold one.
        "1h",
    )?;
    let addr = server.addr();

    let cold_names: Vec<String> = (0..plan.cold).map(|i| format!("bench-cold-{i}")).collect();
    let burst_names: Vec<String> = (0..plan.burst)
        .map(|i| format!("bench-burst-{i}"))
        .collect();
    let mut deploys: Vec<(String, server::FunctionSpec)> = vec![(ECHO.into(), rust.spec.clone())];
    if let Some(p) = &python {
        deploys.push((PYTHON.into(), p.spec.clone()));
    }
    for name in cold_names.iter().chain(&burst_names) {
        deploys.push((name.clone(), rust.spec.clone()));
    }
    progress(format!(
        "deploying {} functions through CreateFunction",
        deploys.len()
    ));
    let mut conn = Conn::new(addr);
    // The first one alone: it stores and unpacks the code the others share, so that they
    // do not all unpack the same hash at once (which Hearth's store has raced on).
    let (first, first_spec) = &deploys[0];
    server::create_function(&mut conn, first, first_spec)
        .and_then(|()| server::wait_active(&mut conn, first))
        .map_err(|e| server.explain(e))?;
    load::run_jobs(addr, deploys, DEPLOY_WORKERS, |conn, (name, spec)| {
        if name == ECHO {
            return Ok(());
        }
        server::create_function(conn, &name, &spec)?;
        server::wait_active(conn, &name)
    })
    .map_err(|e| server.explain(e))?;

    let runtime_without_jail = matches!(args.sandbox, SandboxKind::Process);
    let before = settled_snapshot(server.pid(), runtime_without_jail)?;

    // The first environment unpacks the code (once per hash, shared by every bench-cold-*
    // function): not part of any figure.
    server::invoke(&mut conn, ECHO, &payload_1k()).map_err(|e| server.explain(e))?;
    cold_starts(&rust, &cold_names, &mut conn, work, &mut report).map_err(|e| server.explain(e))?;
    server.check_alive()?;
    layers_cold::cold_starts_with_layers(&rust.spec, plan.cold, &mut conn, &mut report)
        .map_err(|e| server.explain(e))?;
    server.check_alive()?;

    idle_memory(
        &server,
        runtime_without_jail,
        &before,
        plan.cold + 1,
        &mut report,
    )?;

    sandbox_rate(plan, (addr, server.pid()), &burst_names, &mut report)
        .map_err(|e| server.explain(e))?;
    progress("deleting the cold-start and burst functions (retires their environments)");
    load::run_jobs(
        addr,
        cold_names.into_iter().chain(burst_names).collect(),
        DEPLOY_WORKERS,
        |conn, name: String| server::delete_function(conn, &name),
    )?;
    if args.creation_only {
        progress("stopping the server (--creation-only)");
        server.stop();
        return Ok(report);
    }

    // The warm figures are of a server serving, not of one retiring 400 environments
    // (each torn down by a thread of its own, in the background).
    let waited = measure::wait_for_teardowns(server.pid()).map_err(|e| server.explain(e))?;
    report.fact(
        "teardown_wait_s",
        (waited.as_secs_f64() * 10.0).round() / 10.0,
    );
    warm_figures(plan, (&rust, python.as_ref()), &mut conn, work, &mut report)
        .map_err(|e| server.explain(e))?;

    progress("SigV4 overhead: the warm Rust echo with authentication on and off");
    auth_overhead::sigv4_overhead(plan, (exe, runtimes_dir, sandbox), work, &rust, &mut report)?;
    if let Some(store) = &args.store {
        forward_overhead::run(
            plan,
            (exe, runtimes_dir, sandbox),
            store,
            work,
            &rust,
            &mut report,
        )?;
    }

    throughput(plan, &server, &rust, work, &mut report).map_err(|e| server.explain(e))?;
    server.check_alive()?;
    progress("metrics overhead: warm throughput with --metrics on and off");
    metrics_overhead::metrics_overhead(
        plan,
        (exe, runtimes_dir, sandbox),
        work,
        &rust,
        &mut report,
    )?;
    // After the throughput figure, whose 32 environments the loaded comparison reuses.
    url_overhead::url_overhead(plan, &server, &mut report).map_err(|e| server.explain(e))?;
    server.check_alive()?;
    fresh_env::fresh_env(plan, &server, &rust.spec, &mut report).map_err(|e| server.explain(e))?;
    server.check_alive()?;
    asynchronous::async_events(plan, &server, &mut report).map_err(|e| server.explain(e))?;
    server.check_alive()?;
    messaging::messaging(plan, &server, &mut report)
        .and_then(|()| messaging::mapping(plan, &server, &rust.spec, &mut report))
        .map_err(|e| server.explain(e))?;
    server.check_alive()?;
    progress("stopping the server");
    server.stop();
    Ok(report)
}

/// The warm overhead figures of the Rust echo and (when its runtime is installed) the
/// Python one, each deployed as `ECHO` and `PYTHON` on the server `conn` talks to.
fn warm_figures(
    plan: &Plan,
    (rust, python): (&BenchFunction, Option<&BenchFunction>),
    conn: &mut Conn,
    work: &Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    progress(format!("warm Invoke, Rust, {} invokes per side", plan.warm));
    warm_overhead(plan.warm, plan.rounds, rust, ECHO, conn, work)
        .map(|w| w.record(report, "", "Rust", WarmTargets::RUST))?;
    match python {
        Some(p) => {
            progress(format!(
                "warm Invoke, Python ({}), {} invokes per side",
                p.spec.runtime, plan.python_warm
            ));
            warm_overhead(plan.python_warm, plan.rounds, p, PYTHON, conn, work)
                .map(|w| w.record(report, "python_", "Python", WarmTargets::PYTHON))?;
        }
        None => Warm::skipped(report),
    }
    report.method(
        "warm overhead",
        "Invoke latency at concurrency 1 with a 1 KB event, measured by the bench's client \
         over one keep-alive connection, minus the floor: the same runtime binary served by \
         the bench's own minimal Runtime API (no Hearth in between), timed from writing the \
         event on its pending GET .../next to reading its POST .../response; p50 - p50 and \
         p99 - p99, Hearth and floor alternating in batches. The floor runtime's CPU per \
         invoke (/proc/<pid>/stat) compares with the environments' CPU per invoke under load. \
         In the same batches, a third side: the relay floor (see throughput) with one runtime \
         of the floor's command behind it, timed by the same client; its overhead (relay p50 \
         - floor p50, p99 - p99) is what the Invoke's own exchange and a relay's hand-offs \
         cost on this machine and HTTP stack with nothing else done, the least an overhead \
         measured this way can be. In the full run, once the server has no environment \
         teardown left from the cold-start functions deleted before (fact teardown_wait_s).",
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_1k_json() {
        let p = payload_1k();
        assert_eq!(p.len(), 1024);
        let v: serde_json::Value = serde_json::from_slice(&p).expect("JSON");
        assert!(v["data"].is_string());
    }

    #[test]
    fn the_relay_flag_is_the_one_the_bench_passes() {
        let args = BenchArgs::try_parse_from(["hearth-bench", relay::SERVE_FLAG]).expect("parse");
        assert!(args.relay_floor_serve);
        assert!(
            !BenchArgs::try_parse_from(["hearth-bench"])
                .expect("parse")
                .relay_floor_serve
        );
    }

    #[test]
    fn quick_plans_less() {
        let (quick, full) = (Plan::new(true), Plan::new(false));
        assert!(quick.cold < full.cold && quick.warm < full.warm && quick.window < full.window);
    }
}
