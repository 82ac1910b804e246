//! What SigV4 verification adds to a warm Invoke (issue 14: under 20 µs p50): the same
//! warm Rust echo on two fresh servers started alike except for `--auth` (`sigv4`, the
//! default, and `off`), at concurrency 1, alternating so that both see the same
//! machine. Both servers are new and hold the one function: the bench's main server has
//! served every earlier scenario (hundreds of functions created, invoked and deleted, a
//! Python environment), and comparing it with a fresh one would charge that history to
//! authentication. The sides alternate every few invokes, so that a burst of load from
//! elsewhere on the machine falls on both. The client signs the requests to both servers
//! (each writes its administrator key) and reuses a signature for a minute (see `load`),
//! so the difference is the server's verification. Five pairs of servers are measured
//! and the median of their differences reported ([`PAIRS`]).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Instant;

use super::functions::BenchFunction;
use super::load::{self, Conn};
use super::report::{percentile, Report, Target};
use super::server::{self, Server};
use super::{payload_1k, Plan, ECHO, WARMUP_INVOKES};

/// Invokes on one side before switching to the other.
const ALTERNATE_EVERY: usize = 10;

/// Pairs of servers measured one after the other. A fresh server's p50 moves by several
/// µs with where its threads, memory and function's process happen to land, for the
/// whole of its life: one pair's difference carries that of both servers, the median of
/// five much less of it.
const PAIRS: usize = 5;

/// Measures and records the overhead on two servers of its own under `work`.
pub(super) fn sigv4_overhead(
    plan: &Plan,
    (exe, runtimes_dir, sandbox): (&Path, &Path, &str),
    work: &Path,
    rust: &BenchFunction,
    report: &mut Report,
) -> anyhow::Result<()> {
    let start = |name: String, extra: &[&str]| -> anyhow::Result<Server> {
        let dir = work.join(name);
        std::fs::create_dir_all(&dir)?;
        Server::start_with(exe, &dir, runtimes_dir, sandbox, "1h", extra)
    };
    let p50 = |s: &[f64]| percentile(s, 50.0);
    let per_pair = plan.warm.div_ceil(PAIRS);
    let (mut all_on, mut all_off, mut diffs) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 0..PAIRS {
        // Both stop when dropped, on every path out of here.
        let mut on = start(format!("auth-on-{pair}"), &[])?;
        let mut off = start(format!("auth-off-{pair}"), &["--auth", "off"])?;
        let result = measure(per_pair, rust, on.addr(), off.addr())
            .map_err(|e| on.explain(e))
            .map_err(|e| off.explain(e));
        on.stop();
        off.stop();
        let (on_us, off_us) = result?;
        if let Some(d) = p50(&on_us).zip(p50(&off_us)).map(|(a, b)| a - b) {
            diffs.push(d);
        }
        all_on.extend(on_us);
        all_off.extend(off_us);
    }
    diffs.sort_by(f64::total_cmp);
    let median = diffs.get(diffs.len() / 2).copied();
    report.add(
        "sigv4_overhead_p50_us",
        "SigV4 overhead p50 (warm Invoke, on - off)",
        "us",
        median,
        Some(Target::AtMost(20.0)),
    );
    for (i, d) in diffs.iter().enumerate() {
        report.add(
            &format!("sigv4_overhead_pair_{i}_us"),
            &format!("  one pair of servers ({} of {PAIRS}, sorted)", i + 1),
            "us",
            Some(*d),
            None,
        );
    }
    report.add(
        "sigv4_on_p50_us",
        "  Invoke p50, --auth sigv4",
        "us",
        p50(&all_on),
        None,
    );
    report.add(
        "sigv4_off_p50_us",
        "  Invoke p50, --auth off",
        "us",
        p50(&all_off),
        None,
    );
    report.method(
        "sigv4 overhead",
        "warm Rust echo Invoke latency at concurrency 1 with a 1 KB event on two fresh \
         servers alike but for --auth (sigv4 and off), each holding only that function, \
         alternating every 10 invokes; p50 on - p50 off, for five such pairs of servers \
         one after the other, and the median of the five. Both get the same signed \
         requests (a signature is reused for a minute), so the client's signing is not \
         counted.",
    );
    Ok(())
}

fn measure(
    total: usize,
    rust: &BenchFunction,
    on: SocketAddr,
    off: SocketAddr,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let payload = payload_1k();
    let path = server::invoke_path(ECHO);
    let mut on_conn = Conn::new(on);
    let mut off_conn = Conn::new(off);
    for conn in [&mut on_conn, &mut off_conn] {
        server::create_function(conn, ECHO, &rust.spec)?;
        server::wait_active(conn, ECHO)?;
    }
    for _ in 0..WARMUP_INVOKES {
        server::invoke(&mut on_conn, ECHO, &payload)?;
        server::invoke(&mut off_conn, ECHO, &payload)?;
    }
    // Short batches: the machine is shared (the bench's own client, other work), and a
    // burst of load that lasts a batch must not fall on one side only.
    let batch = ALTERNATE_EVERY;
    let (mut on_us, mut off_us) = (Vec::with_capacity(total), Vec::with_capacity(total));
    while on_us.len() < total {
        let n = batch.min(total - on_us.len());
        for (conn, samples) in [(&mut on_conn, &mut on_us), (&mut off_conn, &mut off_us)] {
            for _ in 0..n {
                let started = Instant::now();
                let response = conn.request("POST", &path, &[], &payload)?;
                let elapsed = started.elapsed();
                load::check_invoke(&response)?;
                samples.push(elapsed.as_secs_f64() * 1e6);
            }
        }
    }
    Ok((on_us, off_us))
}
