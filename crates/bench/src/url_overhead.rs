//! What serving a warm function through its function URL adds to calling it with Invoke
//! (issue 15: under 50 µs p50): the bench's warm Rust echo, on the same server, through
//! its URL (`AuthType` `NONE`, allowed to anyone by its resource policy; an unsigned POST
//! of the 1 KB event to `/lambda-url/<url-id>/`) and through Invoke (signed, as every
//! other figure), alternating. At concurrency 1 the figure is p50 URL − p50 Invoke; at
//! concurrency 32, closed loops of each in alternating windows give both throughputs and
//! latencies.
//!
//! The two paths do different work besides the invoke itself: Invoke verifies a SigV4
//! signature and passes the body as the event; a URL request has no signature, but its
//! server finds the URL and the function's resource policy (in memory once read),
//! evaluates the policy for an anonymous caller, builds the payload 2.0 event (headers,
//! request context, the body as a string) and maps the function's answer to an HTTP
//! response. The echo answers
//! with the event it got, so the URL's answer is the larger (see the facts
//! `url_response_bytes` and `url_invoke_response_bytes`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::bail;

use super::load::{self, Conn, LoadResult, Response};
use super::procs::{self, CpuTicks, CpuUs};
use super::report::{percentile, Report, Target};
use super::server::{self, Server};
use super::{payload_1k, progress, Plan, ECHO, WARMUP_INVOKES, WARMUP_PER_WORKER};

/// Requests on one side before switching to the other, at concurrency 1.
const ALTERNATE_EVERY: usize = 10;
/// Concurrency of the loaded comparison.
const LOADED: usize = 32;
/// Shortest window of one side at concurrency 32: shorter ones would be mostly the
/// workers' start and the last answers' tail.
const MIN_WINDOW: Duration = Duration::from_millis(250);

/// What a function URL's answer must look like to count: the echo's JSON (no
/// `statusCode`), which the URL answers as a 200.
fn check_url(response: &Response) -> anyhow::Result<()> {
    if response.status() != 200 {
        bail!(
            "the function URL answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    Ok(())
}

/// The two sides' requests: the URL's, then Invoke's.
fn requests<'a>(url: &'a str, invoke: &'a str, body: &'a [u8]) -> [load::Request<'a>; 2] {
    [
        load::Request {
            method: "POST",
            path: url,
            headers: &[("Content-Type", "application/json")],
            body,
            check: check_url,
            signed: false,
        },
        load::Request::invoke(invoke, body),
    ]
}

/// Gives [`ECHO`] on `server` a public URL, then measures and records the overhead.
pub(super) fn url_overhead(
    plan: &Plan,
    server: &Server,
    report: &mut Report,
) -> anyhow::Result<()> {
    let addr = server.addr();
    let url = server::create_public_url(&mut Conn::new(addr), ECHO)?;
    let invoke = server::invoke_path(ECHO);
    let payload = payload_1k();
    let sides = requests(&url, &invoke, &payload);

    progress(format!(
        "function URL against Invoke, concurrency 1, {} requests per side",
        plan.warm
    ));
    let [url_us, invoke_us] = alternating(addr, &sides, plan.warm, report)?;
    let p50 = |s: &[f64]| percentile(s, 50.0);
    let p99 = |s: &[f64]| percentile(s, 99.0);
    report.add(
        "url_overhead_p50_us",
        "Function URL overhead p50 (warm, URL - Invoke)",
        "us",
        p50(&url_us).zip(p50(&invoke_us)).map(|(a, b)| a - b),
        Some(Target::AtMost(50.0)),
    );
    report.add(
        "url_overhead_p99_us",
        "  p99, URL - Invoke",
        "us",
        p99(&url_us).zip(p99(&invoke_us)).map(|(a, b)| a - b),
        None,
    );
    for (key, label, samples) in [
        ("url_c1", "URL", &url_us),
        ("url_invoke_c1", "Invoke", &invoke_us),
    ] {
        for (p, value) in [(50, p50(samples)), (99, p99(samples))] {
            report.add(
                &format!("{key}_p{p}_us"),
                &format!("  {label} p{p}, concurrency 1"),
                "us",
                value,
                None,
            );
        }
    }

    let rounds = plan.rounds.max(1);
    let window = (plan.window / rounds as u32).max(MIN_WINDOW);
    progress(format!(
        "function URL against Invoke, concurrency {LOADED}: {rounds} windows of {window:?} each"
    ));
    let [(url_load, url_cpu), (invoke_load, invoke_cpu)] =
        loaded(server, &sides, plan.warmup, window, rounds)?;
    for (key, label, load, cpu) in [
        ("url", "URL", &url_load, url_cpu),
        ("url_invoke", "Invoke", &invoke_load, invoke_cpu),
    ] {
        report.add(
            &format!("{key}_c{LOADED}_rps"),
            &format!("  {label} throughput, concurrency {LOADED}"),
            "/s",
            Some(load.per_second()),
            None,
        );
        for p in [50, 99] {
            report.add(
                &format!("{key}_c{LOADED}_p{p}_us"),
                &format!("  {label} p{p}, concurrency {LOADED}"),
                "us",
                percentile(&load.latencies_us, f64::from(p)),
                None,
            );
        }
        report.add(
            &format!("{key}_c{LOADED}_server_cpu_us"),
            &format!("  {label} CPU per request, Hearth server, concurrency {LOADED}"),
            "us",
            Some(cpu.server),
            None,
        );
        report.add(
            &format!("{key}_c{LOADED}_environments_cpu_us"),
            &format!("  {label} CPU per request, environments, concurrency {LOADED}"),
            "us",
            Some(cpu.environments),
            None,
        );
    }
    report.fact("url_c1_samples_per_side", url_us.len());
    report.fact("url_c32_window_ms", window.as_millis() as u64);
    report.method(
        "function url overhead",
        &format!(
            "the warm Rust echo on the bench's server through its function URL (AuthType \
             NONE, a resource policy allowing lambda:InvokeFunctionUrl to *): an unsigned \
             POST of the 1 KB event to /lambda-url/<url-id>/, against Invoke of the same \
             event (SigV4-signed, a signature reused for a minute), each on its own \
             keep-alive connection. Concurrency 1: alternating every {ALTERNATE_EVERY} \
             requests, p50 (p99) URL - p50 (p99) Invoke. Concurrency {LOADED}: closed loops \
             of {LOADED} clients, alternating URL and Invoke windows of {window:?}, {rounds} \
             of each after a warm-up of each; completed requests per second, every \
             request's latency, and the CPU time (utime + stime from /proc/<pid>/stat) of \
             the server and of the processes below it over the windows, per request. A URL request has no signature to verify, but finds \
             the URL and the function's resource policy (in memory once read), evaluates \
             it for an anonymous caller, \
             builds a payload 2.0 event (headers, request context, the body as a string) \
             and maps the function's answer (JSON without statusCode: a 200 \
             application/json of it) to the HTTP response; the echo answers with its event, \
             so the URL's answer is the larger (facts url_response_bytes, \
             url_invoke_response_bytes)."
        ),
    );
    Ok(())
}

/// Concurrency 1: `total` requests of each side, alternating every [`ALTERNATE_EVERY`].
fn alternating(
    addr: SocketAddr,
    sides: &[load::Request<'_>; 2],
    total: usize,
    report: &mut Report,
) -> anyhow::Result<[Vec<f64>; 2]> {
    let mut conns = sides.map(|r| {
        if r.signed {
            Conn::new(addr)
        } else {
            Conn::unsigned(addr)
        }
    });
    let send = |conn: &mut Conn, r: &load::Request<'_>| -> anyhow::Result<(Response, f64)> {
        let started = Instant::now();
        let response = conn.request(r.method, r.path, r.headers, r.body)?;
        let elapsed = started.elapsed().as_secs_f64() * 1e6;
        (r.check)(&response)?;
        Ok((response, elapsed))
    };
    for ((conn, r), key) in conns
        .iter_mut()
        .zip(sides)
        .zip(["url_response_bytes", "url_invoke_response_bytes"])
    {
        let (response, _) = send(conn, r)?;
        report.fact(key, response.body.len());
        for _ in 0..WARMUP_INVOKES {
            send(conn, r)?;
        }
    }
    let mut samples = [Vec::with_capacity(total), Vec::with_capacity(total)];
    while samples[0].len() < total {
        let n = ALTERNATE_EVERY.min(total - samples[0].len());
        for side in 0..2 {
            for _ in 0..n {
                let (_, us) = send(&mut conns[side], &sides[side])?;
                samples[side].push(us);
            }
        }
    }
    Ok(samples)
}

/// Concurrency [`LOADED`]: a warm-up of each side (which starts the environments the
/// other may then reuse), then `rounds` windows of each, alternating; each side's
/// windows summed, with the CPU time spent in them per request.
fn loaded(
    server: &Server,
    sides: &[load::Request<'_>; 2],
    warmup: Duration,
    window: Duration,
    rounds: usize,
) -> anyhow::Result<[(LoadResult, CpuUs); 2]> {
    let addr = server.addr();
    for r in sides {
        load::closed_loop(addr, *r, LOADED, warmup, WARMUP_PER_WORKER)?;
    }
    let mut sums = [(); 2].map(|()| {
        let load = LoadResult {
            completed: 0,
            elapsed: Duration::ZERO,
            latencies_us: Vec::new(),
        };
        (load, CpuTicks::default())
    });
    for _ in 0..rounds {
        for (r, (load, cpu)) in sides.iter().zip(&mut sums) {
            let before = procs::cpu_now(server.pid())?;
            let one = load::closed_loop(addr, *r, LOADED, window, 0)?;
            let after = procs::cpu_now(server.pid())?;
            load.completed += one.completed;
            load.elapsed += one.elapsed;
            load.latencies_us.extend(one.latencies_us);
            cpu.server += after.server.saturating_sub(before.server);
            cpu.environments += after.environments.saturating_sub(before.environments);
        }
    }
    Ok(sums.map(|(load, ticks)| {
        let cpu = CpuTicks::default().per_event_us(&ticks, load.completed);
        (load, cpu)
    }))
}
