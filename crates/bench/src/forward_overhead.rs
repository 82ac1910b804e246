//! What forwarding adds to a warm Invoke in a fleet (issue 21 §3, docs/fleet.md): two
//! nodes on the PostgreSQL `--store` names, one warm Rust echo whose home is one of them;
//! the same invoke sent to its home (run there) and to the other node (forwarded to the
//! home over the fleet's signed internal endpoint, answered back), alternating every few
//! invokes at concurrency 1, so that both see the same machine and the same environment.
//! The figure is p50 through the forwarding node minus p50 on the home. The same nodes
//! then give the fleet's store figures (`fleet_figures`).

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::fleet_figures;
use super::functions::BenchFunction;
use super::load::{self, Conn};
use super::report::{percentile, Report, Target};
use super::server::{self, Server};
use super::{payload_1k, progress, Plan, WARMUP_INVOKES};

/// Invokes on one side before switching to the other.
const ALTERNATE_EVERY: usize = 10;

/// The nodes' heartbeat: each node's view of the fleet is its last heartbeat's.
const HEARTBEAT: &str = "500ms";

/// Measures and records the overhead on two nodes of its own under `work`, on `store`.
pub(super) fn run(
    plan: &Plan,
    (exe, runtimes_dir, sandbox): (&Path, &Path, &str),
    store: &str,
    work: &Path,
    rust: &BenchFunction,
    report: &mut Report,
) -> anyhow::Result<()> {
    progress("forwarding overhead: a warm Rust echo through its home node and another");
    let extra = ["--store", store, "--heartbeat", HEARTBEAT];
    let first_dir = work.join("fleet-node-1");
    std::fs::create_dir_all(&first_dir)?;
    let mut first = Server::start_with(exe, &first_dir, runtimes_dir, sandbox, "1h", &extra)?;
    // Every node of a fleet has the same server key.
    let second_dir = work.join("fleet-node-2");
    let second_data = Server::data_dir(&second_dir);
    std::fs::create_dir_all(&second_data)?;
    let key = second_data.join("server.key");
    std::fs::copy(Server::data_dir(&first_dir).join("server.key"), &key)
        .context("cannot copy the first node's server key")?;
    let mut second = Server::start_with(exe, &second_dir, runtimes_dir, sandbox, "1h", &extra)
        .map_err(|e| first.explain(e))?;
    let name = format!("bench-forward-{}", std::process::id());
    // While the two nodes are up, the fleet's store figures too (`fleet_figures`).
    let result = measure(plan.warm, rust, &name, first.addr(), second.addr())
        .and_then(|r| {
            fleet_figures::update_reach(first.addr(), second.addr(), &name, report)?;
            fleet_figures::async_accepts(
                plan,
                (exe, runtimes_dir, sandbox),
                first.addr(),
                work,
                rust,
                &name,
                report,
            )?;
            Ok(r)
        })
        .map_err(|e| first.explain(e))
        .map_err(|e| second.explain(e));
    let _ = server::delete_function(&mut Conn::new(first.addr()), &name);
    first.stop();
    second.stop();
    let (home_us, forwarded_us) = result?;
    let p50 = |s: &[f64]| percentile(s, 50.0);
    let p99 = |s: &[f64]| percentile(s, 99.0);
    report.add(
        "forward_overhead_p50_us",
        "Forwarding overhead p50 (warm Invoke, other node - home)",
        "us",
        p50(&forwarded_us).zip(p50(&home_us)).map(|(a, b)| a - b),
        Some(Target::AtMost(500.0)),
    );
    report.add(
        "forward_overhead_p99_us",
        "  p99, other node - home",
        "us",
        p99(&forwarded_us).zip(p99(&home_us)).map(|(a, b)| a - b),
        None,
    );
    report.add(
        "forward_home_p50_us",
        "  Invoke p50 on the home node",
        "us",
        p50(&home_us),
        None,
    );
    report.add(
        "forward_forwarded_p50_us",
        "  Invoke p50 through the other node",
        "us",
        p50(&forwarded_us),
        None,
    );
    report.method(
        "forward overhead",
        "two nodes on the given PostgreSQL (--store), one warm Rust echo; Invoke latency at \
         concurrency 1 with a 1 KB event sent to its home node and to the other node, which \
         forwards it to the home (HTTP/1.1 keep-alive, HMAC-signed); alternating every 10 \
         invokes; p50 (p99) through the other node - p50 (p99) on the home.",
    );
    Ok(())
}

/// Which of the two nodes holds the function's idle environment (its home).
fn idle_at(addr: SocketAddr) -> anyhow::Result<i64> {
    let r = Conn::new(addr).request("GET", "/_hearth/concurrency", &[], b"")?;
    if r.status() != 200 {
        bail!("GET /_hearth/concurrency: {} {}", r.status(), r.text());
    }
    let v: serde_json::Value = serde_json::from_str(&r.text())?;
    v.get("idle")
        .and_then(serde_json::Value::as_i64)
        .context("no idle count")
}

fn measure(
    total: usize,
    rust: &BenchFunction,
    name: &str,
    first: SocketAddr,
    second: SocketAddr,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let payload = payload_1k();
    let path = server::invoke_path(name);
    let addrs = [first, second];
    let mut conns = addrs.map(Conn::new);
    server::create_function(&mut conns[0], name, &rust.spec)?;
    server::wait_active(&mut conns[0], name)?;
    // Both nodes' views of the fleet list both (a heartbeat or two).
    std::thread::sleep(Duration::from_secs(2));
    for _ in 0..WARMUP_INVOKES {
        for conn in &mut conns {
            server::invoke(conn, name, &payload)?;
        }
    }
    let idle = [idle_at(first)?, idle_at(second)?];
    let (home, other) = match idle {
        [1, 0] => (0, 1),
        [0, 1] => (1, 0),
        _ => bail!("expected one environment on one node (its home), found idle {idle:?}"),
    };
    progress(format!(
        "forwarding: home {}, forwarding node {}",
        addrs[home], addrs[other]
    ));
    let (mut home_us, mut other_us) = (Vec::with_capacity(total), Vec::with_capacity(total));
    while home_us.len() < total {
        let n = ALTERNATE_EVERY.min(total - home_us.len());
        for (side, samples) in [(home, &mut home_us), (other, &mut other_us)] {
            for _ in 0..n {
                let started = Instant::now();
                let response = conns[side].request("POST", &path, &[], &payload)?;
                let elapsed = started.elapsed();
                load::check_invoke(&response)?;
                samples.push(elapsed.as_secs_f64() * 1e6);
            }
        }
    }
    // Still one environment: every forwarded invoke ran on the home.
    let idle = [idle_at(first)?, idle_at(second)?];
    if idle[home] != 1 || idle[other] != 0 {
        bail!("the function's environments moved during the run: idle {idle:?}");
    }
    Ok((home_us, other_us))
}
