//! What metrics cost (issue: under 2 % of warm throughput): warm Rust echo invokes/s
//! at concurrency 32 on two fresh servers started alike except for `--metrics` (`on`,
//! the default: every invocation counted for Prometheus, CloudWatch and metering, and
//! the environments' use of the host sampled; `off`: the engine reports to nothing).
//! Both hold only the echo. The sides take turns in short windows, so that load from
//! elsewhere on the machine falls on both; each side's figure is its completed invokes
//! over its measured time, all windows together.
//!
//! Throughput on a busy 2-CPU machine moves by tens of percent between windows, far more
//! than the 2 % to be judged, so the verdict also rests on what throughput is made of when
//! the CPUs are saturated: the CPU time spent per invoke by the server, its environments and
//! the load clients together, read from `/proc` around every window. Other processes'
//! load changes how fast the invokes go, but not how much CPU each one takes.

use std::path::Path;
use std::time::Duration;

use super::functions::BenchFunction;
use super::load::{self, Conn};
use super::procs;
use super::report::{Report, Target};
use super::server::{self, Server};
use super::{payload_1k, progress, Plan, ECHO, WARMUP_PER_WORKER};

/// The concurrency of the figure.
const CONCURRENCY: usize = 32;
/// The target: metrics take at most this share of warm throughput.
const TARGET_PCT: f64 = 2.0;

/// Windows per side (each `plan.window` long), taking turns.
fn rounds(plan: &Plan) -> usize {
    if plan.window < Duration::from_secs(2) {
        3
    } else {
        6
    }
}

/// The overhead in percent of throughput with metrics off.
pub(super) fn overhead_pct(on_rps: f64, off_rps: f64) -> Option<f64> {
    (off_rps > 0.0).then(|| (off_rps - on_rps) / off_rps * 100.0)
}

/// The share of saturated throughput lost to metrics, in percent, from the CPU time per
/// invoke with them on and off: throughput is inversely proportional to it, so the loss
/// is `1 - off/on`.
pub(super) fn cpu_overhead_pct(on_us: f64, off_us: f64) -> Option<f64> {
    (on_us > 0.0 && off_us > 0.0).then(|| (1.0 - off_us / on_us) * 100.0)
}

/// One side's measurements, all windows together.
#[derive(Debug, Default, Clone, Copy)]
struct Side {
    completed: u64,
    elapsed: Duration,
    /// CPU microseconds per invoke × invokes, by where it was spent.
    server_us: f64,
    environments_us: f64,
    client_us: f64,
}

impl Side {
    fn rps(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// CPU per invoke of `part` (server, environments, client), in microseconds.
    fn per_invoke(&self, part: f64) -> f64 {
        part / self.completed.max(1) as f64
    }

    fn total_per_invoke(&self) -> f64 {
        self.per_invoke(self.server_us + self.environments_us + self.client_us)
    }
}

/// Measures and records the overhead on two servers of its own under `work`.
pub(super) fn metrics_overhead(
    plan: &Plan,
    (exe, runtimes_dir, sandbox): (&Path, &Path, &str),
    work: &Path,
    rust: &BenchFunction,
    report: &mut Report,
) -> anyhow::Result<()> {
    let start = |name: &str, mode: &str| -> anyhow::Result<Server> {
        let dir = work.join(name);
        std::fs::create_dir_all(&dir)?;
        Server::start_with(exe, &dir, runtimes_dir, sandbox, "1h", &["--metrics", mode])
    };
    // Both stop when dropped, on every path out of here.
    let mut on = start("metrics-on", "on")?;
    let mut off = start("metrics-off", "off")?;
    let result = measure(plan, rust, [&on, &off])
        .map_err(|e| on.explain(e))
        .map_err(|e| off.explain(e));
    on.stop();
    off.stop();
    let [on_side, off_side] = result?;
    let (on_rps, off_rps) = (on_side.rps(), off_side.rps());
    report.add(
        "metrics_overhead_cpu_c32_pct",
        "metrics overhead, CPU per warm invoke at concurrency 32 (1 - off/on)",
        "%",
        cpu_overhead_pct(on_side.total_per_invoke(), off_side.total_per_invoke()),
        Some(Target::AtMost(TARGET_PCT)),
    );
    for (key, text, side) in [
        ("on", "--metrics on", on_side),
        ("off", "--metrics off", off_side),
    ] {
        report.add(
            &format!("metrics_{key}_cpu_us"),
            &format!("  CPU per invoke, {text} (server + environments + client)"),
            "us",
            Some(side.total_per_invoke()),
            None,
        );
        report.add(
            &format!("metrics_{key}_server_cpu_us"),
            &format!("    of which the server, {text}"),
            "us",
            Some(side.per_invoke(side.server_us)),
            None,
        );
    }
    report.add(
        "metrics_overhead_c32_pct",
        "metrics overhead, warm throughput at concurrency 32 (1 - on/off)",
        "%",
        overhead_pct(on_rps, off_rps),
        Some(Target::AtMost(TARGET_PCT)),
    );
    report.add(
        "metrics_on_c32_rps",
        "  throughput, --metrics on",
        "/s",
        Some(on_rps),
        None,
    );
    report.add(
        "metrics_off_c32_rps",
        "  throughput, --metrics off",
        "/s",
        Some(off_rps),
        None,
    );
    report.method(
        "metrics overhead",
        &format!(
            "closed loop of {CONCURRENCY} client threads sending 1 KB Invokes to the warm Rust \
             echo on two fresh servers alike but for --metrics (on and off), each holding \
             only that function; {} windows of {:?} per side, taking turns, after a warm-up \
             on each; each side's completed invokes over its measured time; the overhead is \
             (off - on) / off. The machine's other load moves both sides; a difference of a \
             few percent on a 2-CPU machine is within its noise. The CPU figure: the CPU \
             time of the server, every process below it and this bench's clients, read from \
             /proc/<pid>/stat before and after each window, per completed invoke; with the \
             CPUs saturated, throughput is inversely proportional to it, so the overhead is \
             1 - off/on. It holds under other load, which changes the pace but not the CPU \
             each invoke takes.",
            rounds(plan),
            plan.window
        ),
    );
    Ok(())
}

/// Each server's measurements, `[on, off]`.
fn measure(plan: &Plan, rust: &BenchFunction, servers: [&Server; 2]) -> anyhow::Result<[Side; 2]> {
    let payload = payload_1k();
    let path = server::invoke_path(ECHO);
    for s in servers {
        let mut conn = Conn::new(s.addr());
        server::create_function(&mut conn, ECHO, &rust.spec)?;
        server::wait_active(&mut conn, ECHO)?;
    }
    let req = load::Request::invoke(&path, &payload);
    progress(format!(
        "metrics overhead: {CONCURRENCY} environments on each server, then {} windows of {:?} per side",
        rounds(plan),
        plan.window
    ));
    for s in servers {
        load::closed_loop(s.addr(), req, CONCURRENCY, plan.warmup, WARMUP_PER_WORKER)?;
    }
    let mut sides = [Side::default(); 2];
    for _ in 0..rounds(plan) {
        for (side, s) in sides.iter_mut().zip(servers) {
            let before = procs::cpu_now(s.pid())?;
            let r = load::closed_loop(s.addr(), req, CONCURRENCY, plan.window, 0)?;
            let cpu = before.per_event_us(&procs::cpu_now(s.pid())?, r.completed);
            let n = r.completed as f64;
            side.completed += r.completed;
            side.elapsed += r.elapsed;
            side.server_us += cpu.server * n;
            side.environments_us += cpu.environments * n;
            side.client_us += cpu.client * n;
        }
    }
    Ok(sides)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overhead_is_the_share_of_throughput_lost() {
        assert_eq!(overhead_pct(9_800.0, 10_000.0), Some(2.0));
        assert_eq!(overhead_pct(10_100.0, 10_000.0), Some(-1.0));
        assert_eq!(overhead_pct(1.0, 0.0), None);
    }

    #[test]
    fn cpu_overhead_is_the_throughput_lost_to_more_cpu_per_invoke() {
        // 250 µs on, 245 µs off: saturated throughput falls from 1/245 to 1/250 per µs.
        let pct = cpu_overhead_pct(250.0, 245.0).expect("both measured");
        assert!((pct - 2.0).abs() < 1e-9, "{pct}");
        assert_eq!(cpu_overhead_pct(0.0, 245.0), None);
    }
}
