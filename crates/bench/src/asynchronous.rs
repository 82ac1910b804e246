//! The async figures: Event invokes accepted per second at concurrency 32 (each one
//! fsync'd in a group commit before its 202), and how fast the dispatcher then drains the
//! backlog through the warm Rust echo; then the accept path alone, with nothing delivered.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;

use super::load::{self, Conn, Response};
use super::report::{Report, Target};
use super::server::{self, Server};
use super::{payload_1k, progress, Plan, ECHO, WARMUP_PER_WORKER};

/// Concurrency of the accept figure.
const CLIENTS: usize = 32;
/// Longest wait for a backlog to drain.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(300);
/// How often the queue is polled while draining.
const POLL: Duration = Duration::from_millis(10);

/// An Event invoke of `body` on `path` (a function's invocations path), whose answer
/// must be 202 Accepted.
pub(super) fn event_invoke<'a>(path: &'a str, body: &'a [u8]) -> load::Request<'a> {
    load::Request {
        method: "POST",
        path,
        headers: &[("X-Amz-Invocation-Type", "Event")],
        body,
        check: check_accepted,
        signed: true,
    }
}

/// An Event invoke's answer must be 202 Accepted.
pub(super) fn check_accepted(response: &Response) -> anyhow::Result<()> {
    if response.status() != 202 {
        bail!(
            "an Event invoke answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    Ok(())
}

/// Events not done yet (waiting or running) per function, from `/_hearth/queue`.
pub(super) fn not_done(conn: &mut Conn) -> anyhow::Result<Vec<(String, u64)>> {
    let response = conn.request("GET", "/_hearth/queue", &[], b"")?;
    if response.status() != 200 {
        bail!(
            "/_hearth/queue answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    let doc: Value = serde_json::from_slice(&response.body)
        .with_context(|| format!("/_hearth/queue answered {}", response.text()))?;
    let count = |q: &Value, key: &str| q.get(key).and_then(Value::as_u64).unwrap_or(0);
    Ok(doc
        .get("functions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|q| {
            let name = q
                .get("function")
                .and_then(Value::as_str)
                .unwrap_or_default();
            (name.to_string(), count(q, "queued") + count(q, "running"))
        })
        .collect())
}

/// Events of `function` not done yet (waiting or running).
fn outstanding(conn: &mut Conn, function: &str) -> anyhow::Result<u64> {
    Ok(not_done(conn)?
        .into_iter()
        .find(|(name, _)| name == function)
        .map_or(0, |(_, n)| n))
}

/// Waits until `function` has no events left; returns how long that took.
pub(super) fn drain(conn: &mut Conn, function: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    while outstanding(conn, function)? > 0 {
        if started.elapsed() > DRAIN_TIMEOUT {
            bail!("the async queue of {function} did not drain in {DRAIN_TIMEOUT:?}");
        }
        std::thread::sleep(POLL);
    }
    Ok(started.elapsed())
}

pub(super) fn async_events(
    plan: &Plan,
    server: &Server,
    report: &mut Report,
) -> anyhow::Result<()> {
    let addr = server.addr();
    let path = server::invoke_path(ECHO);
    let payload = payload_1k();
    let req = event_invoke(&path, &payload);
    let mut conn = Conn::new(addr);
    progress(format!(
        "async: Event invokes at concurrency {CLIENTS}, {:?} warm-up, {:?} measured, then the drain",
        plan.warmup, plan.window
    ));
    load::closed_loop(addr, req, CLIENTS, plan.warmup, WARMUP_PER_WORKER)?;
    // The window starts with an empty queue (and the warm-up's environments warm).
    drain(&mut conn, ECHO)?;
    let accepted = load::closed_loop(addr, req, CLIENTS, plan.window, 0)?;
    let backlog = outstanding(&mut conn, ECHO)?;
    let drained_in = drain(&mut conn, ECHO)?;
    report.add(
        "async_accept_c32_rps",
        &format!("async Event invokes accepted, concurrency {CLIENTS}"),
        "/s",
        Some(accepted.per_second()),
        Some(Target::AtLeast(10_000.0)),
    );
    report.add(
        "async_delivery_rps",
        "async delivery, draining the backlog",
        "/s",
        Some(backlog as f64 / drained_in.as_secs_f64().max(1e-9)),
        None,
    );
    // Accepting and delivering share the CPUs: how the window splits them moves the accept
    // figure, while every event accepted is done only once delivered.
    report.add(
        "async_end_to_end_rps",
        "  async events accepted and delivered, end to end",
        "/s",
        Some(accepted.completed as f64 / (accepted.elapsed + drained_in).as_secs_f64().max(1e-9)),
        None,
    );
    report.fact("async_accepted_in_window", accepted.completed);
    report.fact("async_backlog_after_window", backlog);
    // The accept path alone: with reserved concurrency 0 the dispatcher takes each event
    // and drops it (as Lambda drops a function's events throttled to zero) instead of
    // delivering it, so the window's CPUs go to accepting.
    set_reserved(&mut conn, ECHO, Some(0))?;
    let held = load::closed_loop(addr, req, CLIENTS, plan.window, 0)
        .and_then(|held| drain(&mut conn, ECHO).map(|_| held));
    set_reserved(&mut conn, ECHO, None)?;
    report.add(
        "async_accept_undelivered_c32_rps",
        "  async accepts, concurrency 32, none delivered (reserved concurrency 0)",
        "/s",
        Some(held?.per_second()),
        None,
    );
    report.method(
        "async",
        &format!(
            "accept: {CLIENTS} client threads in a closed loop sending 1 KB Invokes with \
             X-Amz-Invocation-Type: Event to the warm Rust echo; each 202 comes after the event \
             is fsync'd (group commit). Events accepted / {:?}, while the dispatcher delivers \
             at the same time on the same CPUs. Delivery: the events still queued when the \
             window ends, divided by the time until /_hearth/queue shows none left (polled \
             every {POLL:?}), with no client load. End to end: the events accepted in the \
             window divided by the window and the drain after it together. None delivered: \
             the same window with the echo's reserved concurrency at 0, so the dispatcher \
             drops each event it takes (as Lambda drops the events of a function throttled \
             to zero) and the CPUs go to accepting: what the accept path costs alone.",
            plan.window
        ),
    );
    Ok(())
}

/// Sets `function`'s reserved concurrency (PutFunctionConcurrency), or removes it
/// (DeleteFunctionConcurrency) for `None`.
fn set_reserved(conn: &mut Conn, function: &str, reserved: Option<u32>) -> anyhow::Result<()> {
    let path = format!("/2017-10-31/functions/{function}/concurrency");
    let response = match reserved {
        Some(n) => conn.request(
            "PUT",
            &path,
            &[("Content-Type", "application/json")],
            format!("{{\"ReservedConcurrentExecutions\":{n}}}").as_bytes(),
        )?,
        None => conn.request("DELETE", &path, &[], b"")?,
    };
    if !(200..300).contains(&response.status()) {
        bail!(
            "setting the reserved concurrency of {function} to {reserved:?} answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    Ok(())
}
