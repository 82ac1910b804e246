//! What metrics cost (issue: under 2 % of warm throughput): warm Rust echo invokes/s
//! at concurrency 32 on two fresh servers started alike except for `--metrics` (`on`,
//! the default: every invocation counted for Prometheus, CloudWatch and metering, and
//! the environments' use of the host sampled; `off`: the engine reports to nothing).
//! Both hold only the echo. The sides take turns in short windows, so that load from
//! elsewhere on the machine falls on both; each side's figure is its completed invokes
//! over its measured time, all windows together.

use std::path::Path;
use std::time::Duration;

use super::functions::BenchFunction;
use super::load::{self, Conn};
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
    let [on_rps, off_rps] = result?;
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
             few percent on a 2-CPU machine is within its noise.",
            rounds(plan),
            plan.window
        ),
    );
    Ok(())
}

/// Invokes/s of each server, `[on, off]`.
fn measure(plan: &Plan, rust: &BenchFunction, servers: [&Server; 2]) -> anyhow::Result<[f64; 2]> {
    let payload = payload_1k();
    let path = server::invoke_path(ECHO);
    for s in servers {
        let mut conn = Conn::new(s.addr());
        server::create_function(&mut conn, ECHO, &rust.spec)?;
        server::wait_active(&mut conn, ECHO)?;
    }
    let req = load::Request {
        method: "POST",
        path: &path,
        headers: &[],
        body: &payload,
        check: load::check_invoke,
        signed: true,
    };
    progress(format!(
        "metrics overhead: {CONCURRENCY} environments on each server, then {} windows of {:?} per side",
        rounds(plan),
        plan.window
    ));
    for s in servers {
        load::closed_loop(s.addr(), req, CONCURRENCY, plan.warmup, WARMUP_PER_WORKER)?;
    }
    let mut completed = [0u64; 2];
    let mut elapsed = [Duration::ZERO; 2];
    for _ in 0..rounds(plan) {
        for (i, s) in servers.iter().enumerate() {
            let r = load::closed_loop(s.addr(), req, CONCURRENCY, plan.window, 0)?;
            completed[i] += r.completed;
            elapsed[i] += r.elapsed;
        }
    }
    Ok([0, 1].map(|i| completed[i] as f64 / elapsed[i].as_secs_f64().max(1e-9)))
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
}
