//! The measurements of `hearth-bench`, one function per figure group: cold starts against
//! the cold floor, idle-environment memory, the sandbox creation rate, warm overhead against
//! the warm floor, and throughput with its CPU split. Each adds its figures and the text
//! saying how they were measured to the [`Report`].

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;

use super::floor::{self, WarmFloor};
use super::functions::BenchFunction;
use super::load::{self, Conn};
use super::procs;
use super::relay_floor;
use super::report::{micros, millis, percentile, Report, Target};
use super::server::{self, Server};
use super::{payload_1k, progress, Plan, DEPLOY_WORKERS, ECHO, THROUGHPUT_LEVELS};
use super::{WARMUP_INVOKES, WARMUP_PER_WORKER};

/// A snapshot taken once the server's process tree has stopped changing shape (environments
/// being torn down, sandboxes being made ahead), or after a few seconds.
pub(super) fn settled_snapshot(
    server_pid: u32,
    runtime_without_jail: bool,
) -> anyhow::Result<procs::Breakdown> {
    let mut last = procs::snapshot(server_pid, runtime_without_jail)?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(300));
        let now = procs::snapshot(server_pid, runtime_without_jail)?;
        let same = (now.jail_inits, now.spares, now.runtimes)
            == (last.jail_inits, last.spares, last.runtimes);
        last = now;
        if same {
            break;
        }
    }
    Ok(last)
}

/// Longest wait for the retired environments' teardown.
const TEARDOWN_WAIT: Duration = Duration::from_secs(120);

/// Waits until the server has no environment teardown running (no `hearth-teardown`
/// thread, twice in a row); returns how long that took. Past [`TEARDOWN_WAIT`] the bench
/// goes on and says so.
pub(super) fn wait_for_teardowns(server_pid: u32) -> anyhow::Result<Duration> {
    progress("waiting for the retired environments' teardown to end");
    let started = Instant::now();
    let mut quiet = 0;
    while quiet < 2 {
        if started.elapsed() > TEARDOWN_WAIT {
            progress(format!(
                "teardown still running after {TEARDOWN_WAIT:?}; going on"
            ));
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        quiet = match procs::threads_named(server_pid, "hearth-teardown")? {
            0 => quiet + 1,
            _ => 0,
        };
    }
    Ok(started.elapsed())
}

/// Cold starts: each `bench-cold-*` function invoked once (a new environment each),
/// alternating with a plain exec of the same runtime until its first `next`.
pub(super) fn cold_starts(
    rust: &BenchFunction,
    names: &[String],
    conn: &mut Conn,
    work: &Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    progress(format!(
        "cold starts: {} new environments, {} floor execs",
        names.len(),
        names.len()
    ));
    let payload = payload_1k();
    let log = work.join("floor-rust-cold.log");
    // The first exec pages the binary in; Hearth's first start was the warm-up invoke.
    floor::cold_once(&rust.floor, "bench-floor", &log)?;
    let mut hearth = Vec::with_capacity(names.len());
    let mut floor = Vec::with_capacity(names.len());
    for name in names {
        let started = Instant::now();
        server::invoke(conn, name, &payload)?;
        hearth.push(started.elapsed());
        floor.push(floor::cold_once(&rust.floor, "bench-floor", &log)?);
    }
    let mut init = Vec::new();
    for name in names {
        init.extend(server::init_durations(conn, name)?);
    }
    if init.len() != names.len() {
        bail!(
            "expected {} cold starts (one REPORT line with Init Duration per function), the \
             logs show {}",
            names.len(),
            init.len()
        );
    }
    let hearth = millis(&hearth);
    let floor = millis(&floor);
    let h50 = percentile(&hearth, 50.0);
    let f50 = percentile(&floor, 50.0);
    report.add(
        "cold_start_p50_ms",
        "cold start p50 (Rust, client-observed)",
        "ms",
        h50,
        Some(Target::AtMost(10.0)),
    );
    report.add(
        "cold_start_p99_ms",
        "cold start p99 (Rust, client-observed)",
        "ms",
        percentile(&hearth, 99.0),
        None,
    );
    report.add(
        "cold_floor_p50_ms",
        "  floor: exec to first next, p50",
        "ms",
        f50,
        None,
    );
    report.add(
        "cold_floor_p99_ms",
        "  floor: exec to first next, p99",
        "ms",
        percentile(&floor, 99.0),
        None,
    );
    report.add(
        "cold_start_ratio",
        "cold start p50 / floor p50",
        "x",
        h50.zip(f50).map(|(h, f)| h / f),
        Some(Target::AtMost(1.5)),
    );
    report.add(
        "init_duration_p50_ms",
        "  Init Duration p50 (REPORT lines)",
        "ms",
        percentile(&init, 50.0),
        None,
    );
    report.fact("cold_runs", names.len());
    report.method(
        "cold start",
        "one Invoke (1 KB event) of each of N functions deployed with the same zip, so each \
         needs a new environment (checked: one REPORT line with Init Duration per function), \
         timed by the client; the floor execs the same binary with the same environment \
         variables and times until its first GET .../invocation/next reaches the bench's \
         Runtime API. Hearth's figure also includes the Invoke round trip and the event itself.",
    );
    Ok(())
}

/// Memory of an idle warm environment beyond its runtime process.
pub(super) fn idle_memory(
    server: &Server,
    runtime_without_jail: bool,
    before: &procs::Breakdown,
    environments: usize,
    report: &mut Report,
) -> anyhow::Result<()> {
    let after = settled_snapshot(server.pid(), runtime_without_jail)?;
    if after.runtimes < environments {
        bail!(
            "expected {environments} idle environments, found {} runtime processes under the \
             server",
            after.runtimes
        );
    }
    let k = environments as f64;
    let added = after.hearth_kib() as f64 - before.hearth_kib() as f64;
    report.add(
        "idle_env_kib",
        "idle environment memory beyond its runtime",
        "KiB",
        Some(added / k),
        Some(Target::AtMost(512.0)),
    );
    report.add(
        "idle_runtime_pss_kib",
        "  the runtime process itself (PSS, for scale)",
        "KiB",
        Some(after.runtime_kib as f64 / after.runtimes.max(1) as f64),
        None,
    );
    report.fact("idle_envs_measured", environments);
    report.fact(
        "idle_env_breakdown_kib",
        serde_json::json!({
            "server_increase": after.server_kib as i64 - before.server_kib as i64,
            "jail_init_increase": after.jail_init_kib as i64 - before.jail_init_kib as i64,
            "other_increase": after.other_kib as i64 - before.other_kib as i64,
            "jail_init_processes_after": after.jail_inits,
            "runtime_processes_after": after.runtimes,
            "spare_sandbox_processes_before": before.spares,
            "spare_sandbox_processes_after": after.spares,
            "spare_sandbox_kib_after": after.spare_kib,
        }),
    );
    report.method("idle environment memory", procs::METHOD);
    Ok(())
}

/// Before the sandbox burst: how idle the CPUs must have been, over what window, and the
/// longest wait for that.
const QUIET_BUSY: f64 = 0.10;
const QUIET_WINDOW: Duration = Duration::from_millis(250);
const QUIET_LIMIT: Duration = Duration::from_secs(30);

/// Environments created per second: a burst of first invokes across distinct functions.
pub(super) fn sandbox_rate(
    plan: &Plan,
    (addr, server_pid): (SocketAddr, u32),
    names: &[String],
    report: &mut Report,
) -> anyhow::Result<()> {
    progress(format!(
        "sandbox creation: {} cold invokes on distinct functions at concurrency {}",
        names.len(),
        plan.burst_concurrency
    ));
    // The phase before deleted its functions: their environments' teardown and the code
    // collection it sets off would otherwise run inside the burst.
    let waiting = Instant::now();
    let torn_down = super::quiet::wait_threads_gone(server_pid, "hearth-teardown", QUIET_LIMIT);
    let teardown_wait = waiting.elapsed();
    let quiet = super::quiet::wait(QUIET_BUSY, QUIET_WINDOW, QUIET_LIMIT)?;
    let payload = payload_1k();
    let started = Instant::now();
    load::run_jobs(
        addr,
        names.to_vec(),
        plan.burst_concurrency,
        move |conn, name: String| server::invoke(conn, &name, &payload),
    )?;
    let elapsed = started.elapsed();
    let counted = load::run_jobs(
        addr,
        names.to_vec(),
        DEPLOY_WORKERS,
        |conn, name: String| Ok(server::init_durations(conn, &name)?.len()),
    )?;
    let created: usize = counted.iter().sum();
    if created != names.len() {
        bail!(
            "the burst should have started {} environments; the logs show {created}",
            names.len()
        );
    }
    report.add(
        "sandboxes_per_s",
        &format!("sandboxes created per second (c{})", plan.burst_concurrency),
        "/s",
        Some(created as f64 / elapsed.as_secs_f64()),
        Some(Target::AtLeast(400.0)),
    );
    report.fact("burst_environments", created);
    report.fact("burst_concurrency", plan.burst_concurrency);
    report.fact("burst_teardown_wait_ms", teardown_wait.as_millis() as u64);
    report.fact("burst_quiet_wait_ms", quiet.waited.as_millis() as u64);
    report.fact("burst_started_quiet", quiet.settled && torn_down);
    report.method(
        "sandboxes per second",
        &format!(
            "{} functions deployed from one zip, each invoked once by {} concurrent clients; \
             environments created (REPORT lines with Init Duration) / wall time from the first \
             request to the last answer. Each includes a full cold start and its invoke. The \
             burst starts once the server tears down no environment (the previous phase's, \
             whose functions it deleted) and the machine's CPUs were then at most {:.0} % busy \
             over {:?}, or after {:?} of each wait regardless (burst_started_quiet says \
             which).",
            names.len(),
            plan.burst_concurrency,
            QUIET_BUSY * 100.0,
            QUIET_WINDOW,
            QUIET_LIMIT,
        ),
    );
    Ok(())
}

/// What the warm overhead of a runtime must stay within (issue 20's targets).
#[derive(Debug, Clone, Copy)]
pub(super) struct WarmTargets {
    pub p50_us: f64,
    pub p99_us: Option<f64>,
}

impl WarmTargets {
    pub(super) const RUST: Self = Self {
        p50_us: 80.0,
        p99_us: Some(300.0),
    };
    pub(super) const PYTHON: Self = Self {
        p50_us: 100.0,
        p99_us: None,
    };
}

/// Warm latencies of one function on Hearth and on the floor.
pub(super) struct Warm {
    hearth: Vec<f64>,
    floor: Vec<f64>,
    /// The relay floor's Invoke latencies (one runtime of the floor's command behind it).
    relay: Vec<f64>,
    /// CPU time of the floor's runtime process per invoke.
    floor_cpu_us: Option<f64>,
}

impl Warm {
    pub(super) fn record(
        self,
        report: &mut Report,
        prefix: &str,
        label: &str,
        targets: WarmTargets,
    ) {
        let p = |s: &[f64], q| percentile(s, q);
        let (h50, h99) = (p(&self.hearth, 50.0), p(&self.hearth, 99.0));
        let (f50, f99) = (p(&self.floor, 50.0), p(&self.floor, 99.0));
        let (r50, r99) = (p(&self.relay, 50.0), p(&self.relay, 99.0));
        let diff = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a - b);
        report.add(
            &format!("{prefix}warm_overhead_p50_us"),
            &format!("warm overhead p50 ({label})"),
            "us",
            diff(h50, f50),
            Some(Target::AtMost(targets.p50_us)),
        );
        report.add(
            &format!("{prefix}warm_overhead_p99_us"),
            &format!("warm overhead p99 ({label})"),
            "us",
            diff(h99, f99),
            targets.p99_us.map(Target::AtMost),
        );
        for (key, text, value) in [
            ("hearth_warm_p50_us", "Hearth Invoke p50", h50),
            ("hearth_warm_p99_us", "Hearth Invoke p99", h99),
            ("floor_warm_p50_us", "floor p50", f50),
            ("floor_warm_p99_us", "floor p99", f99),
            ("relay_floor_warm_p50_us", "relay floor Invoke p50", r50),
            ("relay_floor_warm_p99_us", "relay floor Invoke p99", r99),
            (
                "relay_floor_warm_overhead_p50_us",
                "relay floor overhead p50",
                diff(r50, f50),
            ),
            (
                "relay_floor_warm_overhead_p99_us",
                "relay floor overhead p99",
                diff(r99, f99),
            ),
        ] {
            report.add(
                &format!("{prefix}{key}"),
                &format!("  {text} ({label})"),
                "us",
                value,
                None,
            );
        }
        report.add(
            &format!("{prefix}floor_cpu_per_invoke_us"),
            &format!("  floor runtime CPU per invoke ({label})"),
            "us",
            self.floor_cpu_us,
            None,
        );
        if !self.hearth.is_empty() {
            report.fact(&format!("{prefix}warm_invokes_per_side"), self.hearth.len());
        }
    }

    pub(super) fn skipped(report: &mut Report) {
        Warm {
            hearth: Vec::new(),
            floor: Vec::new(),
            relay: Vec::new(),
            floor_cpu_us: None,
        }
        .record(report, "python_", "Python", WarmTargets::PYTHON);
    }
}

/// `total` warm invokes on Hearth, as many on the floor and as many on the relay floor,
/// alternating in `rounds` batches so that all three see the same machine (other load,
/// frequency changes) over the run.
pub(super) fn warm_overhead(
    total: usize,
    rounds: usize,
    function: &BenchFunction,
    name: &str,
    conn: &mut Conn,
    work: &Path,
) -> anyhow::Result<Warm> {
    let payload = payload_1k();
    let path = server::invoke_path(name);
    let floor = WarmFloor::start(
        &function.floor,
        "bench-floor",
        &work.join(format!("floor-{}-warm.log", function.label)),
    )?;
    let mut relay = relay_floor::Single::start(&function.floor, conn.addr(), work)?;
    for _ in 0..WARMUP_INVOKES {
        server::invoke(conn, name, &payload)?;
        floor.invoke(&payload)?;
        relay.invoke(&path, &payload)?;
    }
    // The floor's runtime idles (blocked in `next`) while Hearth's batches run, so its CPU
    // time over the whole run is what its own invokes cost.
    let floor_cpu_start = procs::cpu_us_of(floor.pid())?;
    let batch = total.div_ceil(rounds.max(1));
    let mut hearth = Vec::with_capacity(total);
    let mut floor_samples = Vec::with_capacity(total);
    let mut relay_samples = Vec::with_capacity(total);
    while hearth.len() < total {
        let n = batch.min(total - hearth.len());
        for _ in 0..n {
            let started = Instant::now();
            let response = conn.request("POST", &path, &[], &payload)?;
            let elapsed = started.elapsed();
            load::check_invoke(&response)?;
            hearth.push(elapsed);
        }
        for _ in 0..n {
            floor_samples.push(floor.invoke(&payload)?);
        }
        for _ in 0..n {
            relay_samples.push(relay.invoke(&path, &payload)?);
        }
    }
    let floor_cpu = procs::cpu_us_of(floor.pid())? - floor_cpu_start;
    Ok(Warm {
        hearth: micros(&hearth),
        floor: micros(&floor_samples),
        relay: micros(&relay_samples),
        floor_cpu_us: Some(floor_cpu / floor_samples.len().max(1) as f64),
    })
}

/// Closed-loop throughput of the warm Rust echo at each concurrency level, and where the CPU
/// time of each invoke went.
pub(super) fn throughput(
    plan: &Plan,
    server: &Server,
    rust: &BenchFunction,
    work: &Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    let addr = server.addr();
    let path = server::invoke_path(ECHO);
    let payload = payload_1k();
    // The floor runtime's CPU per invoke of the warm figures (measured first): what the
    // environments' and the relay floor's runtimes' at c32 are set against.
    let floor_cpu = report.value("floor_cpu_per_invoke_us").filter(|f| *f > 0.0);
    for c in THROUGHPUT_LEVELS {
        progress(format!(
            "throughput at concurrency {c}: {:?} warm-up, {:?} measured",
            plan.warmup, plan.window
        ));
        // Hearth starts one environment per concurrent request: the warm-up makes them, and
        // lasts until every worker has had several answers (its environment is warm).
        let req = load::Request::invoke(&path, &payload);
        load::closed_loop(addr, req, c, plan.warmup, WARMUP_PER_WORKER)?;
        let cpu_before = procs::cpu_now(server.pid())?;
        let result = load::closed_loop(addr, req, c, plan.window, 0)?;
        let cpu = cpu_before.per_event_us(&procs::cpu_now(server.pid())?, result.completed);
        report.add(
            &format!("throughput_c{c}_rps"),
            &format!("throughput, warm Rust echo, concurrency {c}"),
            "/s",
            Some(result.per_second()),
            (c == 32).then_some(Target::AtLeast(12_000.0)),
        );
        for (part, text, value) in [
            ("server", "Hearth server", cpu.server),
            (
                "environments",
                "environments (runtime + jail)",
                cpu.environments,
            ),
            ("client", "bench clients", cpu.client),
        ] {
            report.add(
                &format!("cpu_per_invoke_c{c}_{part}_us"),
                &format!("  CPU per invoke, {text}"),
                "us",
                Some(value),
                (c == 32 && part == "server").then_some(Target::AtMost(50.0)),
            );
        }
        if c == 32 {
            report.add(
                "cpu_per_invoke_c32_environments_over_floor",
                "  environment CPU per invoke over the floor runtime's",
                "x",
                floor_cpu.map(|f| cpu.environments / f),
                Some(Target::AtMost(1.15)),
            );
        }
        progress(format!(
            "relay floor at concurrency {c}, a runtime per client"
        ));
        let relay = relay_floor::measure(plan, &rust.floor, c, addr, req, work)?;
        relay_floor::record(report, c, &relay, result.per_second(), cpu.server);
        if c == 32 {
            // The same runtime binary at this concurrency with no environment around it: how
            // much of the ratio above the load alone makes (32 processes on the machine's
            // CPUs), and how much is left to the environment.
            let runtimes = Some(relay.runtimes_us).filter(|r| *r > 0.0);
            report.add(
                "relay_floor_cpu_per_invoke_c32_runtimes_over_floor",
                "  relay floor's runtimes' CPU per invoke over the floor runtime's",
                "x",
                runtimes.zip(floor_cpu).map(|(r, f)| r / f),
                None,
            );
            report.add(
                "cpu_per_invoke_c32_environments_over_relay_floor",
                "  environment CPU per invoke over the relay floor's runtimes'",
                "x",
                runtimes.map(|r| cpu.environments / r),
                None,
            );
        }
    }
    report.method("relay floor", relay_floor::METHOD);
    report.method(
        "throughput",
        &format!(
            "closed loop: N client threads, one keep-alive connection each, each sending its \
             next 1 KB Invoke as soon as the last is answered; {:?} of warm-up (which starts \
             the environments), then completed invokes / {:?}. The clients share the machine's \
             CPUs with the server. CPU per invoke: utime + stime from /proc/<pid>/stat over the \
             window, of the server, of every process below it, and of the bench itself, \
             divided by the invokes completed.",
            plan.warmup, plan.window
        ),
    );
    Ok(())
}
