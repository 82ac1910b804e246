//! The fleet's store figures (issue 21, docs/fleet.md), on the bench's two nodes on the
//! PostgreSQL `--store` names: how long an update made on one node takes to reach the
//! other (LISTEN/NOTIFY; no polling by Hearth), and durable async Event invokes accepted
//! per second on PostgreSQL beside the same on the embedded store (SQLite), measured in
//! turn on one machine.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::{json, Value};

use super::asynchronous::{drain, event_invoke};
use super::functions::BenchFunction;
use super::load::{self, Conn};
use super::report::{percentile, Report};
use super::server::{self, Server};
use super::{payload_1k, progress, Plan, WARMUP_PER_WORKER};

/// Updates timed.
const UPDATES: usize = 30;
/// Longest wait for an update to show on the other node.
const REACH_TIMEOUT: Duration = Duration::from_secs(10);
/// Concurrency of the accept figure (as the embedded store's `async_accept_c32_rps`).
const CLIENTS: usize = 32;

/// Times `UPDATES` configuration updates made on `writer` until `reader` answers them.
pub(super) fn update_reach(
    writer: SocketAddr,
    reader: SocketAddr,
    name: &str,
    report: &mut Report,
) -> anyhow::Result<()> {
    progress(format!(
        "fleet: {UPDATES} updates on one node, timed until the other answers them"
    ));
    let path = format!("{}/configuration", server::function_path(name));
    let (mut w, mut r) = (Conn::new(writer), Conn::new(reader));
    let mut ms = Vec::with_capacity(UPDATES);
    for i in 0..UPDATES {
        let description = format!("update {i} of {}", std::process::id());
        let body = serde_json::to_vec(&json!({ "Description": description }))?;
        let response = w.request("PUT", &path, &[("Content-Type", "application/json")], &body)?;
        if response.status() != 200 {
            bail!(
                "UpdateFunctionConfiguration answered HTTP {}: {}",
                response.status(),
                response.text()
            );
        }
        let answered = Instant::now();
        loop {
            let seen = server::json_of(&r.request("GET", &path, &[], b"")?)?;
            if seen.get("Description").and_then(Value::as_str) == Some(description.as_str()) {
                ms.push(answered.elapsed().as_secs_f64() * 1e3);
                break;
            }
            if answered.elapsed() > REACH_TIMEOUT {
                bail!("an update on one node did not reach the other in {REACH_TIMEOUT:?}");
            }
        }
        server::wait_active(&mut w, name)?;
    }
    report.add(
        "fleet_update_reach_p50_ms",
        "Fleet: an update seen on the other node, p50",
        "ms",
        percentile(&ms, 50.0),
        None,
    );
    report.add(
        "fleet_update_reach_max_ms",
        "  slowest of the updates",
        "ms",
        ms.iter().copied().reduce(f64::max),
        None,
    );
    report.method(
        "fleet update reach",
        &format!(
            "{UPDATES} UpdateFunctionConfiguration calls (a new Description) on one node; from \
             its answer, GetFunctionConfiguration on the other node in a tight loop until it \
             answers the new Description (the other node's cache is told by LISTEN/NOTIFY)."
        ),
    );
    Ok(())
}

/// Event invokes accepted per second at concurrency `CLIENTS` on `addr`, then waits for
/// the backlog to drain (so that it does not load what is measured next).
fn accepts(plan: &Plan, addr: SocketAddr, name: &str) -> anyhow::Result<f64> {
    let path = server::invoke_path(name);
    let payload = payload_1k();
    let req = event_invoke(&path, &payload);
    load::closed_loop(addr, req, CLIENTS, plan.warmup, WARMUP_PER_WORKER)?;
    drain(&mut Conn::new(addr), name)?;
    let accepted = load::closed_loop(addr, req, CLIENTS, plan.window, 0)?;
    drain(&mut Conn::new(addr), name)?;
    Ok(accepted.per_second())
}

/// Durable accepts on a fleet node (`node`, on PostgreSQL) and on a server of its own on
/// the embedded store, started under `work`, each with the function `rust` as `name`.
pub(super) fn async_accepts(
    plan: &Plan,
    (exe, runtimes_dir, sandbox): (&Path, &Path, &str),
    node: SocketAddr,
    work: &Path,
    rust: &BenchFunction,
    name: &str,
    report: &mut Report,
) -> anyhow::Result<()> {
    progress(format!(
        "fleet: async Event invokes accepted at concurrency {CLIENTS}, PostgreSQL then SQLite"
    ));
    let on_postgres = accepts(plan, node, name)?;
    let dir = work.join("fleet-embedded");
    std::fs::create_dir_all(&dir)?;
    let mut embedded = Server::start(exe, &dir, runtimes_dir, sandbox, "1h")?;
    let on_sqlite = (|| {
        let mut conn = Conn::new(embedded.addr());
        server::create_function(&mut conn, name, &rust.spec)?;
        server::wait_active(&mut conn, name)?;
        accepts(plan, embedded.addr(), name)
    })()
    .map_err(|e| embedded.explain(e));
    embedded.stop();
    let on_sqlite = on_sqlite?;
    report.add(
        "fleet_async_accept_pg_rps",
        &format!("Fleet: async accepted on PostgreSQL, concurrency {CLIENTS}"),
        "/s",
        Some(on_postgres),
        None,
    );
    report.add(
        "fleet_async_accept_sqlite_rps",
        "  the same on the embedded store (SQLite)",
        "/s",
        Some(on_sqlite),
        None,
    );
    report.method(
        "fleet async accepts",
        &format!(
            "{CLIENTS} client threads in a closed loop sending 1 KB Event invokes to the warm \
             Rust echo for {:?} (after a {:?} warm-up and an emptied queue), first on a fleet \
             node whose store is the given PostgreSQL (each 202 after the event's row is \
             committed with synchronous_commit on), then on a server of the bench's own on \
             the embedded SQLite store (fsync'd group commit); the dispatcher delivers at the \
             same time on the same CPUs.",
            plan.window, plan.warmup
        ),
    );
    Ok(())
}
