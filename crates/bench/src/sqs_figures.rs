//! The SQS figures (issue 16), over HTTP with SigV4 in AWS JSON 1.0 as current SDKs send
//! them: durable SendMessage per second at concurrency 1 and 32 (each answered only once
//! its message is committed to the store), then messages received and deleted per second
//! (ReceiveMessage of up to 10, then DeleteMessageBatch of what came, 32 clients) while
//! draining what the sends left; and how soon a waiting long poll answers once a message
//! is sent.

use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use super::load::{self, Conn, Response};
use super::report::{percentile, Report, Target};
use super::server::Server;
use super::{progress, Plan, WARMUP_PER_WORKER};

/// Concurrency of the loaded figures.
const CLIENTS: usize = 32;
/// Long polls measured, one at a time.
const POLLS: usize = 50;
/// How long a long poll has been waiting when the message is sent.
const POLL_SETTLE: Duration = Duration::from_millis(30);

/// A message's body: a small JSON document's worth.
const BODY_BYTES: usize = 256;

const JSON: (&str, &str) = ("Content-Type", "application/x-amz-json-1.0");
const SEND: &[(&str, &str)] = &[("X-Amz-Target", "AmazonSQS.SendMessage"), JSON];
const RECEIVE: &[(&str, &str)] = &[("X-Amz-Target", "AmazonSQS.ReceiveMessage"), JSON];
const DELETE: &[(&str, &str)] = &[("X-Amz-Target", "AmazonSQS.DeleteMessageBatch"), JSON];

fn check_ok(response: &Response) -> anyhow::Result<()> {
    if response.status() != 200 {
        bail!(
            "SQS answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    Ok(())
}

fn call(conn: &mut Conn, target: &str, body: &Value) -> anyhow::Result<Value> {
    let headers = [("X-Amz-Target", target), JSON];
    let response = conn.request("POST", "/", &headers, body.to_string().as_bytes())?;
    check_ok(&response)?;
    serde_json::from_slice(&response.body).with_context(|| format!("{target}: {}", response.text()))
}

pub(super) fn sqs(plan: &Plan, server: &Server, report: &mut Report) -> anyhow::Result<()> {
    let addr = server.addr();
    let mut conn = Conn::new(addr);
    let url = call(
        &mut conn,
        "AmazonSQS.CreateQueue",
        &json!({"QueueName": "bench-queue"}),
    )?["QueueUrl"]
        .as_str()
        .context("CreateQueue answered no QueueUrl")?
        .to_string();
    let body = json!({"QueueUrl": url, "MessageBody": "x".repeat(BODY_BYTES)})
        .to_string()
        .into_bytes();
    let send = load::Request {
        method: "POST",
        path: "/",
        headers: SEND,
        body: &body,
        check: check_ok,
        signed: true,
    };
    progress(format!(
        "sqs: SendMessage at concurrency 1 and {CLIENTS}, then receive+delete, {:?} each",
        plan.window
    ));
    load::closed_loop(addr, send, CLIENTS, plan.warmup, WARMUP_PER_WORKER)?;
    let one = load::closed_loop(addr, send, 1, plan.window, 0)?;
    let many = load::closed_loop(addr, send, CLIENTS, plan.window, 0)?;
    let (drained, took) = receive_and_delete(addr, &url, plan.window)?;
    let wake = long_poll_wake(addr, &mut conn)?;
    report.add(
        "sqs_send_c1_rps",
        "SQS durable SendMessage, concurrency 1",
        "/s",
        Some(one.per_second()),
        None,
    );
    report.add(
        "sqs_send_c32_rps",
        &format!("SQS durable SendMessage, concurrency {CLIENTS}"),
        "/s",
        Some(many.per_second()),
        Some(Target::AtLeast(5_000.0)),
    );
    report.add(
        "sqs_receive_delete_rps",
        &format!("SQS messages received and deleted, {CLIENTS} clients, batches of 10"),
        "/s",
        Some(drained as f64 / took.as_secs_f64().max(1e-9)),
        None,
    );
    report.add(
        "sqs_long_poll_wake_p50_ms",
        "SQS long poll: send started to the waiting receive answered, p50",
        "ms",
        percentile(&wake, 50.0),
        Some(Target::AtMost(2.0)),
    );
    report.add(
        "sqs_long_poll_wake_p99_ms",
        "  p99",
        "ms",
        percentile(&wake, 99.0),
        None,
    );
    report.method(
        "sqs_long_poll",
        &format!(
            "{POLLS} times: a client's ReceiveMessage (WaitTimeSeconds 5) waits on an empty \
             queue for {POLL_SETTLE:?}, then another client sends a message; the time from \
             the send's start to the waiting receive's answer, which includes the send's \
             commit."
        ),
    );
    report.method(
        "sqs",
        &format!(
            "SendMessage: client threads in a closed loop sending a {BODY_BYTES}-byte body \
             (AWS JSON 1.0, SigV4) to one standard queue; each 200 comes after the message is \
             committed (SQS's group commit, SQLite WAL). Receive+delete: {CLIENTS} threads each \
             receiving up to 10 messages and deleting them with one DeleteMessageBatch, over \
             {:?} or until the queue is empty; messages deleted / time.",
            plan.window
        ),
    );
    Ok(())
}

/// Messages received and deleted by `CLIENTS` threads within `window`, and the time.
fn receive_and_delete(
    addr: SocketAddr,
    url: &str,
    window: Duration,
) -> anyhow::Result<(u64, Duration)> {
    let barrier = Arc::new(Barrier::new(CLIENTS + 1));
    let receive = json!({"QueueUrl": url, "MaxNumberOfMessages": 10, "VisibilityTimeout": 300})
        .to_string()
        .into_bytes();
    let mut workers = Vec::new();
    for _ in 0..CLIENTS {
        let (barrier, receive, url) = (barrier.clone(), receive.clone(), url.to_string());
        workers.push(std::thread::spawn(move || -> anyhow::Result<u64> {
            let mut conn = Conn::new(addr);
            barrier.wait();
            let deadline = Instant::now() + window;
            let mut done = 0;
            while Instant::now() < deadline {
                let got = conn.request("POST", "/", RECEIVE, &receive)?;
                check_ok(&got)?;
                let doc: Value = serde_json::from_slice(&got.body)?;
                let Some(msgs) = doc.get("Messages").and_then(Value::as_array) else {
                    break;
                };
                let entries: Vec<Value> = msgs
                    .iter()
                    .enumerate()
                    .map(|(i, m)| json!({"Id": i.to_string(), "ReceiptHandle": m["ReceiptHandle"]}))
                    .collect();
                let body = json!({"QueueUrl": url, "Entries": entries}).to_string();
                let deleted = conn.request("POST", "/", DELETE, body.as_bytes())?;
                check_ok(&deleted)?;
                done += entries.len() as u64;
            }
            Ok(done)
        }));
    }
    barrier.wait();
    let started = Instant::now();
    let mut total = 0;
    for w in workers {
        total += w
            .join()
            .map_err(|_| anyhow::anyhow!("a receive worker panicked"))??;
    }
    Ok((total, started.elapsed()))
}

/// `POLLS` times, the ms from starting a send to the answer of a receive waiting for it.
fn long_poll_wake(addr: SocketAddr, conn: &mut Conn) -> anyhow::Result<Vec<f64>> {
    let url = call(
        conn,
        "AmazonSQS.CreateQueue",
        &json!({"QueueName": "bench-long-poll"}),
    )?["QueueUrl"]
        .as_str()
        .context("CreateQueue answered no QueueUrl")?
        .to_string();
    let receive = json!({"QueueUrl": url, "WaitTimeSeconds": 5}).to_string();
    let send = json!({"QueueUrl": url, "MessageBody": "wake"});
    let mut poller = Conn::new(addr);
    let mut out = Vec::with_capacity(POLLS);
    for _ in 0..POLLS {
        let (receive, mut p) = (
            receive.clone(),
            std::mem::replace(&mut poller, Conn::new(addr)),
        );
        let waiting = std::thread::spawn(move || -> anyhow::Result<(Instant, Value, Conn)> {
            let got = p.request("POST", "/", RECEIVE, receive.as_bytes())?;
            let at = Instant::now();
            check_ok(&got)?;
            Ok((at, serde_json::from_slice(&got.body)?, p))
        });
        std::thread::sleep(POLL_SETTLE);
        let started = Instant::now();
        call(conn, "AmazonSQS.SendMessage", &send)?;
        let (answered, doc, p) = waiting
            .join()
            .map_err(|_| anyhow::anyhow!("the long poll panicked"))??;
        poller = p;
        let handle = doc["Messages"][0]["ReceiptHandle"]
            .as_str()
            .with_context(|| format!("the long poll answered no message: {doc}"))?
            .to_string();
        out.push(answered.saturating_duration_since(started).as_secs_f64() * 1e3);
        call(
            conn,
            "AmazonSQS.DeleteMessage",
            &json!({"QueueUrl": url, "ReceiptHandle": handle}),
        )?;
    }
    Ok(out)
}
