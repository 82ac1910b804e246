//! A fresh environment per invocation (docs/fresh-env.md) on the Rust echo: what one
//! invocation costs when none is ever reused, beside a cold start of the same run, and
//! how many a second 8 clients get. The goal is "about one cold start"; the
//! ratio's verdict is that goal read as at most 1.5 times the cold start. The other
//! figures are reported, with no target.

use std::time::Instant;

use anyhow::bail;
use serde_json::json;

use crate::load::{self, Conn};
use crate::report::{millis, percentile, Report, Target};
use crate::server::{self, FunctionSpec, Server};
use crate::{payload_1k, progress, Plan, WARMUP_PER_WORKER};

const FRESH: &str = "bench-fresh";
/// Closed-loop clients of the throughput figure.
const CLIENTS: usize = 8;

/// `PUT /_hearth/functions/{name}/fresh-env`; `false` when the server has no such setting
/// (a build from before it, run for a before-and-after comparison, answers the path as an
/// unknown operation).
fn set_fresh_env(conn: &mut Conn, name: &str, enabled: bool) -> anyhow::Result<bool> {
    let body = serde_json::to_vec(&json!({ "Enabled": enabled }))?;
    let response = conn.request(
        "PUT",
        &format!("/_hearth/functions/{name}/fresh-env"),
        &[("Content-Type", "application/json")],
        &body,
    )?;
    if response.status() == 404 && response.text().contains("Unknown operation") {
        return Ok(false);
    }
    if response.status() != 200 {
        bail!(
            "PUT fresh-env {name} answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    Ok(true)
}

/// `plan.cold` invokes of a fresh-env function, alternating with as many cold starts
/// (one new function each), then the fresh-env function under [`CLIENTS`] closed-loop
/// clients.
pub(super) fn fresh_env(
    plan: &Plan,
    server: &Server,
    spec: &FunctionSpec,
    report: &mut Report,
) -> anyhow::Result<()> {
    let runs = plan.cold;
    progress(format!(
        "fresh environment per invocation: {runs} invokes beside {runs} cold starts, then \
         {CLIENTS} clients"
    ));
    let mut conn = Conn::new(server.addr());
    let payload = payload_1k();
    server::create_function(&mut conn, FRESH, spec)?;
    server::wait_active(&mut conn, FRESH)?;
    if !set_fresh_env(&mut conn, FRESH, false)? {
        // Its figures are left out of the report (shown as missing), and the facts say why.
        progress("fresh environment per invocation: this server has no such setting; left out");
        report.fact("fresh_env_unsupported", true);
        return Ok(());
    }
    let cold: Vec<String> = (0..runs).map(|i| format!("bench-fresh-cold-{i}")).collect();
    for name in &cold {
        server::create_function(&mut conn, name, spec)?;
    }
    for name in &cold {
        server::wait_active(&mut conn, name)?;
    }
    // Its first environment unpacks the code the others share: not part of the figure.
    server::invoke(&mut conn, FRESH, &payload)?;
    set_fresh_env(&mut conn, FRESH, true)?;
    let (mut fresh, mut cold_starts) = (Vec::new(), Vec::new());
    for name in &cold {
        let started = Instant::now();
        server::invoke(&mut conn, FRESH, &payload)?;
        fresh.push(started.elapsed());
        let started = Instant::now();
        server::invoke(&mut conn, name, &payload)?;
        cold_starts.push(started.elapsed());
    }
    // Every invoke of it was a cold start: the warm-up's and each measured one's.
    let inits = server::init_durations(&mut conn, FRESH)?.len();
    if inits != runs + 1 {
        bail!(
            "expected {} REPORT lines with Init Duration from {FRESH} (one per invoke), the \
             logs show {inits}",
            runs + 1
        );
    }
    let fresh = millis(&fresh);
    let cold_starts = millis(&cold_starts);
    let (f50, c50) = (percentile(&fresh, 50.0), percentile(&cold_starts, 50.0));
    report.add(
        "fresh_env_p50_ms",
        "fresh env per invocation p50 (Rust, client-observed)",
        "ms",
        f50,
        None,
    );
    report.add(
        "fresh_env_p99_ms",
        "fresh env per invocation p99 (Rust, client-observed)",
        "ms",
        percentile(&fresh, 99.0),
        None,
    );
    report.add(
        "fresh_env_cold_p50_ms",
        "  cold start p50 beside it (same run)",
        "ms",
        c50,
        None,
    );
    report.add(
        "fresh_env_cold_ratio",
        "fresh env p50 / cold start p50 (goal: about one)",
        "x",
        f50.zip(c50).map(|(f, c)| f / c),
        Some(Target::AtMost(1.5)),
    );

    let path = server::invoke_path(FRESH);
    let req = load::Request::invoke(&path, &payload);
    load::closed_loop(server.addr(), req, CLIENTS, plan.warmup, WARMUP_PER_WORKER)?;
    let result = load::closed_loop(server.addr(), req, CLIENTS, plan.window, 0)?;
    report.add(
        "fresh_env_rps_c8",
        "fresh env invokes/s, 8 clients (Rust echo)",
        "/s",
        Some(result.per_second()),
        None,
    );
    report.fact("fresh_env_runs", runs);
    report.method(
        "fresh env",
        &format!(
            "the Rust echo with a fresh environment per invocation (PUT \
             /_hearth/functions/NAME/fresh-env), invoked N times at concurrency 1 (checked: \
             one REPORT line with Init Duration per invoke), alternating with one Invoke \
             each of N other functions with the same zip (a cold start each), all timed by \
             the client with a 1 KB event; the ratio is the two p50s of that one run. Then \
             {CLIENTS} closed-loop clients on it: {:?} of warm-up, completed invokes / {:?}. \
             The ratio's verdict is the goal of \"about one cold start\" read as at most \
             1.5; the others are reported, with no target.",
            plan.warmup, plan.window
        ),
    );
    for name in std::iter::once(FRESH).chain(cold.iter().map(String::as_str)) {
        server::delete_function(&mut conn, name)?;
    }
    Ok(())
}
