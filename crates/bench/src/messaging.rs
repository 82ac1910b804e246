//! The queue figures (issue 16), through SQS's AWS JSON 1.0 protocol as current SDKs
//! speak it, signed like every other request:
//!
//! - durable `SendMessage` per second at concurrency 1 and 32 (each answered once its
//!   message is committed to the store);
//! - received and deleted messages per second (`ReceiveMessage` of 10, then
//!   `DeleteMessageBatch`), draining what the sends left;
//! - long-poll wake-up: a `ReceiveMessage` parked with `WaitTimeSeconds` 20 on an empty
//!   queue, then a send; the time from the send's start to the receive's answer;
//! - through an event-source mapping to the warm Rust echo: send-to-handler latency
//!   (the echo logs `now − sent_us` for each message carrying its send time, read back
//!   from its log group) and messages per second with batches of 10 (a backlog sent
//!   while the mapping is disabled, then the time from enabling it until the queue is
//!   empty).

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use super::load::{self, Conn, Response};
use super::report::{percentile, Report, Target};
use super::server::{self, json_of, Server};
use super::{progress, Plan, WARMUP_PER_WORKER};

/// Concurrency of the loaded send figure.
const CLIENTS: usize = 32;
/// Receivers draining the queue at once.
const RECEIVERS: usize = 8;
/// The function the mapping feeds: the Rust echo under its own name, so its log group
/// holds only the mapping's invocations.
const MAPPED: &str = "bench-sqs";
/// Longest wait for a queue to drain or a mapping to change state.
const TIMEOUT: Duration = Duration::from_secs(300);
const POLL: Duration = Duration::from_millis(10);

const JSON_1_0: (&str, &str) = ("Content-Type", "application/x-amz-json-1.0");

fn target(op: &'static str) -> (&'static str, &'static str) {
    ("X-Amz-Target", op)
}

/// An SQS call (`op` is the whole target, `AmazonSQS.SendMessage`) that must answer 200.
pub(super) fn sqs(conn: &mut Conn, op: &'static str, body: &Value) -> anyhow::Result<Value> {
    json_call(conn, JSON_1_0, op, body)
}

/// A call of an AWS JSON protocol (`content_type` names its version; `op` is the whole
/// `X-Amz-Target`) that must answer 200: its answer.
pub(super) fn json_call(
    conn: &mut Conn,
    content_type: (&str, &str),
    op: &'static str,
    body: &Value,
) -> anyhow::Result<Value> {
    let response = conn.request(
        "POST",
        "/",
        &[content_type, target(op)],
        &serde_json::to_vec(body)?,
    )?;
    if response.status() != 200 {
        bail!(
            "{op} answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    json_of(&response)
}

fn check_sent(response: &Response) -> anyhow::Result<()> {
    if response.status() != 200 {
        bail!(
            "SendMessage answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    Ok(())
}

/// A 1 KB message body.
fn body_1k() -> String {
    "m".repeat(1024)
}

pub(super) fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

pub(super) fn create_queue(conn: &mut Conn, name: &str) -> anyhow::Result<String> {
    let out = sqs(conn, "AmazonSQS.CreateQueue", &json!({ "QueueName": name }))?;
    out["QueueUrl"]
        .as_str()
        .map(str::to_string)
        .context("CreateQueue answered no QueueUrl")
}

pub(super) fn queue_arn(conn: &mut Conn, url: &str) -> anyhow::Result<String> {
    let out = sqs(
        conn,
        "AmazonSQS.GetQueueAttributes",
        &json!({ "QueueUrl": url, "AttributeNames": ["QueueArn"] }),
    )?;
    out["Attributes"]["QueueArn"]
        .as_str()
        .map(str::to_string)
        .context("GetQueueAttributes answered no QueueArn")
}

/// Messages in the queue, visible or in flight.
pub(super) fn backlog(conn: &mut Conn, url: &str) -> anyhow::Result<u64> {
    let out = sqs(
        conn,
        "AmazonSQS.GetQueueAttributes",
        &json!({
            "QueueUrl": url,
            "AttributeNames": ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        }),
    )?;
    let count = |key: &str| {
        out["Attributes"][key]
            .as_str()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok(count("ApproximateNumberOfMessages") + count("ApproximateNumberOfMessagesNotVisible"))
}

fn wait_empty(conn: &mut Conn, url: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    while backlog(conn, url)? > 0 {
        if started.elapsed() > TIMEOUT {
            bail!("the queue {url} did not drain in {TIMEOUT:?}");
        }
        std::thread::sleep(POLL);
    }
    Ok(started.elapsed())
}

pub(super) fn messaging(plan: &Plan, server: &Server, report: &mut Report) -> anyhow::Result<()> {
    let addr = server.addr();
    let mut conn = Conn::new(addr);
    let url = create_queue(&mut conn, "bench-sends")?;
    sends(plan, addr, &url, report)?;
    receive_delete(plan, addr, &url, report)?;
    wake_up(plan, addr, report)?;
    report.method(
        "queues",
        &format!(
            "SQS's AWS JSON 1.0 protocol, signed. Sends: closed loops of SendMessage (1 KB \
             body) at concurrency 1 and {CLIENTS}, {:?} each after a warm-up; each answer comes \
             once the message is committed. Receive+delete: {RECEIVERS} threads each \
             ReceiveMessage (10) then DeleteMessageBatch until the sends' backlog is gone; \
             messages deleted / elapsed. Wake-up: a ReceiveMessage with WaitTimeSeconds 20 parked \
             on an empty queue for 20 ms, then a SendMessage; from the send's start to the \
             receive's answer (so it includes the send).",
            plan.window
        ),
    );
    Ok(())
}

fn sends(plan: &Plan, addr: SocketAddr, url: &str, report: &mut Report) -> anyhow::Result<()> {
    let body = serde_json::to_vec(&json!({ "QueueUrl": url, "MessageBody": body_1k() }))?;
    let req = load::Request {
        method: "POST",
        path: "/",
        headers: &[JSON_1_0, ("X-Amz-Target", "AmazonSQS.SendMessage")],
        body: &body,
        check: check_sent,
        signed: true,
    };
    for clients in [1, CLIENTS] {
        progress(format!("queues: SendMessage at concurrency {clients}"));
        load::closed_loop(addr, req, clients, plan.warmup, WARMUP_PER_WORKER)?;
        let sent = load::closed_loop(addr, req, clients, plan.window, 0)?;
        report.add(
            &format!("sqs_send_c{clients}_per_s"),
            &format!("SQS SendMessage (durable), concurrency {clients}"),
            "/s",
            Some(sent.per_second()),
            (clients == CLIENTS).then_some(Target::AtLeast(5_000.0)),
        );
        report.add(
            &format!("sqs_send_c{clients}_p50_us"),
            &format!("SQS SendMessage latency p50, concurrency {clients}"),
            "µs",
            percentile(&sent.latencies_us, 50.0),
            None,
        );
    }
    Ok(())
}

/// Receives and deletes until the queue is empty; messages per second.
fn receive_delete(
    _plan: &Plan,
    addr: SocketAddr,
    url: &str,
    report: &mut Report,
) -> anyhow::Result<()> {
    let mut conn = Conn::new(addr);
    let queued = backlog(&mut conn, url)?;
    progress(format!(
        "queues: receiving and deleting {queued} messages with {RECEIVERS} threads"
    ));
    let started = Instant::now();
    let workers: Vec<_> = (0..RECEIVERS)
        .map(|_| {
            let url = url.to_string();
            std::thread::spawn(move || -> anyhow::Result<u64> {
                let mut conn = Conn::new(addr);
                let mut deleted = 0;
                loop {
                    let out = sqs(
                        &mut conn,
                        "AmazonSQS.ReceiveMessage",
                        &json!({ "QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 0 }),
                    )?;
                    let messages = out["Messages"].as_array().cloned().unwrap_or_default();
                    if messages.is_empty() {
                        return Ok(deleted);
                    }
                    let entries: Vec<Value> = messages
                        .iter()
                        .enumerate()
                        .map(|(i, m)| json!({ "Id": i.to_string(), "ReceiptHandle": m["ReceiptHandle"] }))
                        .collect();
                    let out = sqs(
                        &mut conn,
                        "AmazonSQS.DeleteMessageBatch",
                        &json!({ "QueueUrl": url, "Entries": entries }),
                    )?;
                    if out["Failed"].as_array().is_some_and(|f| !f.is_empty()) {
                        bail!("DeleteMessageBatch failed entries: {}", out["Failed"]);
                    }
                    deleted += messages.len() as u64;
                }
            })
        })
        .collect();
    let mut deleted = 0;
    for w in workers {
        deleted += w
            .join()
            .map_err(|_| anyhow::anyhow!("a receiver panicked"))??;
    }
    let elapsed = started.elapsed();
    report.add(
        "sqs_receive_delete_per_s",
        &format!("SQS messages received and deleted, {RECEIVERS} threads"),
        "/s",
        Some(deleted as f64 / elapsed.as_secs_f64().max(1e-9)),
        None,
    );
    report.fact("sqs_received_and_deleted", deleted);
    Ok(())
}

/// Rounds of a parked long poll woken by a send.
fn wake_up(plan: &Plan, addr: SocketAddr, report: &mut Report) -> anyhow::Result<()> {
    let rounds = if plan.window < Duration::from_secs(2) {
        20
    } else {
        200
    };
    progress(format!("queues: long-poll wake-up, {rounds} rounds"));
    let mut conn = Conn::new(addr);
    let url = create_queue(&mut conn, "bench-wake")?;
    let (go, went) = mpsc::channel::<()>();
    let (answered, answers) = mpsc::channel::<anyhow::Result<Instant>>();
    let receiver_url = url.clone();
    let receiver = std::thread::spawn(move || {
        let mut conn = Conn::new(addr);
        while went.recv().is_ok() {
            let out = sqs(
                &mut conn,
                "AmazonSQS.ReceiveMessage",
                &json!({ "QueueUrl": receiver_url, "MaxNumberOfMessages": 1, "WaitTimeSeconds": 20 }),
            );
            let at = Instant::now();
            let result = out.and_then(|out| {
                let handle = out["Messages"][0]["ReceiptHandle"]
                    .as_str()
                    .context("the long poll answered no message")?
                    .to_string();
                sqs(
                    &mut conn,
                    "AmazonSQS.DeleteMessage",
                    &json!({ "QueueUrl": receiver_url, "ReceiptHandle": handle }),
                )?;
                Ok(at)
            });
            if answered.send(result).is_err() {
                return;
            }
        }
    });
    let body = json!({ "QueueUrl": url, "MessageBody": "wake" });
    let mut wakes = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        go.send(()).context("the receiver stopped")?;
        // Long enough for the receive to be parked on the empty queue.
        std::thread::sleep(Duration::from_millis(20));
        let started = Instant::now();
        sqs(&mut conn, "AmazonSQS.SendMessage", &body)?;
        let at = answers.recv().context("the receiver stopped")??;
        wakes.push(at.saturating_duration_since(started).as_secs_f64() * 1e3);
    }
    drop(go);
    let _ = receiver.join();
    report.add(
        "sqs_long_poll_wake_p50_ms",
        "SQS long-poll wake-up (send start to receive answer) p50",
        "ms",
        percentile(&wakes, 50.0),
        Some(Target::AtMost(2.0)),
    );
    report.add(
        "sqs_long_poll_wake_p99_ms",
        "SQS long-poll wake-up p99",
        "ms",
        percentile(&wakes, 99.0),
        None,
    );
    Ok(())
}

/// The mapping figures: `spec` is the Rust echo's.
pub(super) fn mapping(
    plan: &Plan,
    server: &Server,
    spec: &server::FunctionSpec,
    report: &mut Report,
) -> anyhow::Result<()> {
    let addr = server.addr();
    let mut conn = Conn::new(addr);
    // Lambda polls with the function's execution role: the default one gets AWS's
    // managed policy for it.
    iam_attach_sqs_policy(&mut conn)?;
    server::create_function(&mut conn, MAPPED, spec)?;
    server::wait_active(&mut conn, MAPPED)?;
    let url = create_queue(&mut conn, "bench-mapped")?;
    let arn = queue_arn(&mut conn, &url)?;
    let uuid = create_mapping(&mut conn, &arn)?;
    wait_state(&mut conn, &uuid, "Enabled")?;

    let rounds = if plan.window < Duration::from_secs(2) {
        20
    } else {
        200
    };
    progress(format!(
        "queues: send-to-handler through a mapping, {rounds} messages"
    ));
    for _ in 0..rounds {
        let body = json!({ "sent_us": now_us() }).to_string();
        sqs(
            &mut conn,
            "AmazonSQS.SendMessage",
            &json!({ "QueueUrl": url, "MessageBody": body }),
        )?;
        wait_empty(&mut conn, &url)?;
    }
    let latencies = handler_latencies(&mut conn, MAPPED, rounds)?;
    report.add(
        "sqs_mapping_send_to_handler_p50_ms",
        "SQS send to handler through a mapping p50",
        "ms",
        percentile(&latencies, 50.0),
        Some(Target::AtMost(20.0)),
    );
    report.add(
        "sqs_mapping_send_to_handler_p99_ms",
        "SQS send to handler through a mapping p99",
        "ms",
        percentile(&latencies, 99.0),
        None,
    );

    let messages = if plan.window < Duration::from_secs(2) {
        2_000
    } else {
        20_000
    };
    progress(format!(
        "queues: {messages} messages through the mapping, batches of 10"
    ));
    update_mapping(&mut conn, &uuid, false)?;
    wait_state(&mut conn, &uuid, "Disabled")?;
    fill(addr, &url, messages)?;
    let started = Instant::now();
    update_mapping(&mut conn, &uuid, true)?;
    wait_empty(&mut conn, &url)?;
    let elapsed = started.elapsed();
    report.add(
        "sqs_mapping_batch10_per_s",
        "SQS messages through a mapping, batch 10",
        "/s",
        Some(messages as f64 / elapsed.as_secs_f64().max(1e-9)),
        None,
    );
    report.method(
        "queue mapping",
        &format!(
            "An event-source mapping (BatchSize 10) from a standard queue to the warm Rust echo \
             ({MAPPED}). Send-to-handler: one message at a time carrying its send time in µs; \
             the echo logs now − sent for it (same host clock); the next is sent once the \
             queue is empty. Throughput: {messages} 1 KB messages sent (SendMessageBatch) while \
             the mapping is disabled; then from enabling it until GetQueueAttributes shows \
             none left, visible or in flight."
        ),
    );
    Ok(())
}

/// AttachRolePolicy of AWS's `AWSLambdaSQSQueueExecutionRole` to the default role.
fn iam_attach_sqs_policy(conn: &mut Conn) -> anyhow::Result<()> {
    let form = "Action=AttachRolePolicy&Version=2010-05-08&RoleName=hearth&PolicyArn=\
                arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2Fservice-role%2FAWSLambdaSQSQueueExecutionRole";
    let response = conn.request(
        "POST",
        "/",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    )?;
    if response.status() != 200 {
        bail!(
            "AttachRolePolicy answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    Ok(())
}

const MAPPINGS: &str = "/2015-03-31/event-source-mappings";

fn create_mapping(conn: &mut Conn, queue_arn: &str) -> anyhow::Result<String> {
    let body = serde_json::to_vec(&json!({
        "EventSourceArn": queue_arn,
        "FunctionName": MAPPED,
        "BatchSize": 10,
    }))?;
    let response = conn.request(
        "POST",
        MAPPINGS,
        &[("Content-Type", "application/json")],
        &body,
    )?;
    if response.status() != 202 {
        bail!(
            "CreateEventSourceMapping answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    json_of(&response)?["UUID"]
        .as_str()
        .map(str::to_string)
        .context("CreateEventSourceMapping answered no UUID")
}

fn update_mapping(conn: &mut Conn, uuid: &str, enabled: bool) -> anyhow::Result<()> {
    let body = serde_json::to_vec(&json!({ "Enabled": enabled }))?;
    let response = conn.request(
        "PUT",
        &format!("{MAPPINGS}/{uuid}"),
        &[("Content-Type", "application/json")],
        &body,
    )?;
    if response.status() != 202 {
        bail!(
            "UpdateEventSourceMapping answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    Ok(())
}

fn wait_state(conn: &mut Conn, uuid: &str, state: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let response = conn.request("GET", &format!("{MAPPINGS}/{uuid}"), &[], b"")?;
        let got = json_of(&response)?;
        if got["State"] == state {
            return Ok(());
        }
        if started.elapsed() > TIMEOUT {
            bail!("the mapping {uuid} did not become {state}: {got}");
        }
        std::thread::sleep(POLL);
    }
}

/// Sends `messages` 1 KB messages in batches of 10 from [`CLIENTS`] threads.
fn fill(addr: SocketAddr, url: &str, messages: usize) -> anyhow::Result<()> {
    let batches = messages.div_ceil(10);
    let jobs: Vec<usize> = (0..batches).collect();
    let body = body_1k();
    let url = url.to_string();
    load::run_jobs(addr, jobs, CLIENTS, move |conn, batch| {
        let entries: Vec<Value> = (0..10)
            .map(|i| json!({ "Id": format!("{batch}-{i}"), "MessageBody": body }))
            .collect();
        let out = sqs(
            conn,
            "AmazonSQS.SendMessageBatch",
            &json!({ "QueueUrl": url, "Entries": entries }),
        )?;
        if out["Failed"].as_array().is_some_and(|f| !f.is_empty()) {
            bail!("SendMessageBatch failed entries: {}", out["Failed"]);
        }
        Ok(())
    })?;
    Ok(())
}

/// The `hearth-bench-sqs-latency-us` lines from the log group of the echo deployed as
/// `function`, in ms; waits for `want` of them (log lines are committed shortly after the
/// invocation).
pub(super) fn handler_latencies(
    conn: &mut Conn,
    function: &str,
    want: usize,
) -> anyhow::Result<Vec<f64>> {
    let started = Instant::now();
    loop {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({
                "logGroupName": format!("/aws/lambda/{function}"),
                "filterPattern": "hearth-bench-sqs-latency-us",
            });
            if let Some(t) = &token {
                body["nextToken"] = json!(t);
            }
            let response = conn.request(
                "POST",
                "/",
                &[
                    ("Content-Type", "application/x-amz-json-1.1"),
                    ("X-Amz-Target", "Logs_20140328.FilterLogEvents"),
                ],
                &serde_json::to_vec(&body)?,
            )?;
            if response.status() != 200 {
                bail!(
                    "FilterLogEvents answered HTTP {}: {}",
                    response.status(),
                    response.text()
                );
            }
            let out = json_of(&response)?;
            for event in out["events"].as_array().into_iter().flatten() {
                let us = event["message"]
                    .as_str()
                    .and_then(|m| m.trim().rsplit(' ').next())
                    .and_then(|v| v.parse::<f64>().ok());
                if let Some(us) = us {
                    found.push(us / 1e3);
                }
            }
            match out["nextToken"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        if found.len() >= want {
            return Ok(found);
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the echo logged {} of {want} latencies", found.len());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
