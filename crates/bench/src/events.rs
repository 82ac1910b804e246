//! The EventBridge figures, through its AWS JSON 1.1 protocol (`AWSEvents.*`), signed:
//!
//! - PutEvents entries per second (10 entries a request, concurrency 32) on a bus with 100
//!   rules that do not match (prefix, numeric, anything-but and exact patterns on the
//!   entries' fields) and one that matches every entry, side by side with the same
//!   PutEvents on a bus with no rules (the floor); their ratio is the cost of matching.
//!   Twice: with the matching rule's target left out (ingest and matching only), and with
//!   it sending each entry to an SQS queue (PutEvents then queues each delivery durably
//!   before it answers, and the deliveries share the CPUs); that run ends once every
//!   matched entry is in the queue.
//! - PutEvents to handler start: a rule sends each event to the warm Rust echo (async
//!   invoke), measured exactly as the queues' send-to-handler figure: the echo logs
//!   now − send time for an SQS-shaped record carrying `sent_us`. The unchanged echo is made
//!   to see one by the event's `detail`, which is such a record, and the target's
//!   `InputPath` `$.detail`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use super::load::{self, Conn, Response};
use super::messaging::{
    backlog, create_queue, handler_latencies, json_call, now_us, queue_arn, sqs,
};
use super::report::{percentile, Report, Target};
use super::server::{self, json_of, Server};
use super::{progress, Plan, WARMUP_PER_WORKER};

/// Concurrency of the PutEvents figure (as the queues' send figure).
const CLIENTS: usize = 32;
/// Entries in each PutEvents request.
const ENTRIES: usize = 10;
/// Rules on the measured bus that match none of its entries.
const MISSING_RULES: usize = 100;
/// The function the latency rule targets: the Rust echo under its own name, so that its log
/// group holds only that rule's invocations.
const HANDLER: &str = "bench-events";
/// Between two latency events: far longer than the latency measured, so that each event
/// finds the function idle, as the queues' figure waits for the queue to be empty.
const PACING: Duration = Duration::from_millis(50);
/// Longest wait for the matched entries to reach their queue: a full run queues some
/// 50,000, and the deliveries once ran at under 200 a second on the 2-core reference
/// (about 4,500 since), so a slow delivery path still finishes its figure.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(900);

const JSON_1_1: (&str, &str) = ("Content-Type", "application/x-amz-json-1.1");

/// An EventBridge call (`op` is the whole target, `AWSEvents.PutRule`) that must answer 200.
fn events_call(conn: &mut Conn, op: &'static str, body: &Value) -> anyhow::Result<Value> {
    json_call(conn, JSON_1_1, op, body)
}

/// A PutEvents answer counts when it is 200 with no failed entry. The compact answer is
/// recognised without parsing, which would charge the client's CPU to the server.
fn check_put(response: &Response) -> anyhow::Result<()> {
    if response.status() != 200 {
        bail!(
            "PutEvents answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    let body = &response.body;
    let zero = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    if zero(br#""FailedEntryCount":0,"#) || zero(br#""FailedEntryCount":0}"#) {
        return Ok(());
    }
    let out: Value = serde_json::from_slice(body)
        .with_context(|| format!("PutEvents answered {}", response.text()))?;
    if out["FailedEntryCount"].as_u64() != Some(0) {
        bail!("PutEvents failed entries: {out}");
    }
    Ok(())
}

fn create_bus(conn: &mut Conn, name: &str) -> anyhow::Result<()> {
    events_call(conn, "AWSEvents.CreateEventBus", &json!({ "Name": name }))?;
    Ok(())
}

fn put_rule(conn: &mut Conn, bus: &str, name: &str, pattern: &Value) -> anyhow::Result<()> {
    events_call(
        conn,
        "AWSEvents.PutRule",
        &json!({ "Name": name, "EventBusName": bus, "EventPattern": pattern.to_string() }),
    )?;
    Ok(())
}

fn put_target(conn: &mut Conn, bus: &str, rule: &str, target: Value) -> anyhow::Result<()> {
    let out = events_call(
        conn,
        "AWSEvents.PutTargets",
        &json!({ "Rule": rule, "EventBusName": bus, "Targets": [target] }),
    )?;
    if out["FailedEntryCount"].as_u64() != Some(0) {
        bail!("PutTargets on {rule} failed: {out}");
    }
    Ok(())
}

/// The entries' detail: every non-matching rule looks at one of these fields.
fn order_detail() -> Value {
    json!({ "kind": "order", "amount": 50, "region": "eu-west-1", "sku": "A-100" })
}

/// The `i`-th rule that matches no entry: the same source as the entries (so that the
/// matcher has to look further), then a pattern on the detail that fails, in four kinds.
pub(super) fn missing_pattern(i: usize) -> Value {
    let detail = match i % 4 {
        0 => json!({ "sku": [{ "prefix": format!("Z-{i}") }] }),
        1 => json!({ "amount": [{ "numeric": [">", 1000 + i] }] }),
        2 => json!({ "region": [{ "anything-but": ["eu-west-1", format!("r-{i}")] }] }),
        _ => json!({ "kind": [format!("shipment-{i}")] }),
    };
    json!({ "source": ["bench.orders"], "detail": detail })
}

/// The rule that matches every entry.
fn matching_pattern() -> Value {
    json!({ "source": ["bench.orders"], "detail": { "amount": [{ "numeric": [">", 10] }] } })
}

/// A PutEvents body of [`ENTRIES`] order entries for `bus`.
fn put_body(bus: &str) -> anyhow::Result<Vec<u8>> {
    let detail = order_detail().to_string();
    let entries: Vec<Value> = (0..ENTRIES)
        .map(|_| {
            json!({
                "Source": "bench.orders",
                "DetailType": "order",
                "Detail": detail,
                "EventBusName": bus,
            })
        })
        .collect();
    Ok(serde_json::to_vec(&json!({ "Entries": entries }))?)
}

/// Entries per second of closed-loop PutEvents to `bus`, and the entries accepted in all
/// (warm-up included).
fn put_rate(plan: &Plan, addr: SocketAddr, bus: &str) -> anyhow::Result<(f64, u64)> {
    let body = put_body(bus)?;
    let req = load::Request {
        method: "POST",
        path: "/",
        headers: &[JSON_1_1, ("X-Amz-Target", "AWSEvents.PutEvents")],
        body: &body,
        check: check_put,
        signed: true,
    };
    let warm = load::closed_loop(addr, req, CLIENTS, plan.warmup, WARMUP_PER_WORKER)?;
    let run = load::closed_loop(addr, req, CLIENTS, plan.window, 0)?;
    let accepted = (warm.completed + run.completed) * ENTRIES as u64;
    Ok((run.per_second() * ENTRIES as f64, accepted))
}

/// Allows EventBridge to send to the queue (`arn`), as AWS requires of an SQS target.
fn allow_events(conn: &mut Conn, url: &str, arn: &str) -> anyhow::Result<()> {
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "events.amazonaws.com" },
            "Action": "sqs:SendMessage",
            "Resource": arn,
        }],
    });
    sqs(
        conn,
        "AmazonSQS.SetQueueAttributes",
        &json!({ "QueueUrl": url, "Attributes": { "Policy": policy.to_string() } }),
    )?;
    Ok(())
}

/// Puts the [`MISSING_RULES`] rules that match nothing and the one that matches every
/// entry on `bus`; the matching one targets `target` when given.
fn put_rules(conn: &mut Conn, bus: &str, target: Option<Value>) -> anyhow::Result<()> {
    create_bus(conn, bus)?;
    for i in 0..MISSING_RULES {
        put_rule(conn, bus, &format!("miss-{i}"), &missing_pattern(i))?;
    }
    put_rule(conn, bus, "match", &matching_pattern())?;
    if let Some(target) = target {
        put_target(conn, bus, "match", target)?;
    }
    Ok(())
}

/// The matching-cost figures.
pub(super) fn matching(plan: &Plan, server: &Server, report: &mut Report) -> anyhow::Result<()> {
    let addr = server.addr();
    let mut conn = Conn::new(addr);
    let (empty, bare, queued) = ("bench-empty", "bench-rules", "bench-rules-sqs");
    let rules = MISSING_RULES + 1;
    progress(format!(
        "events: {MISSING_RULES} rules that match nothing and one that matches, with no \
         target on {bare} and to SQS on {queued}"
    ));
    create_bus(&mut conn, empty)?;
    put_rules(&mut conn, bare, None)?;
    let url = create_queue(&mut conn, "bench-events-matched")?;
    let arn = queue_arn(&mut conn, &url)?;
    allow_events(&mut conn, &url, &arn)?;
    put_rules(
        &mut conn,
        queued,
        Some(json!({ "Id": "queue", "Arn": arn })),
    )?;

    let rate = |bus: &str, what: &str| {
        progress(format!(
            "events: PutEvents ({ENTRIES} entries) at concurrency {CLIENTS}, {what}"
        ));
        put_rate(plan, addr, bus)
    };
    let (floor, _) = rate(empty, "a bus with no rules")?;
    let (matched, _) = rate(bare, &format!("{rules} rules, no target"))?;
    let started = Instant::now();
    let (delivered, accepted) = rate(queued, &format!("{rules} rules, one to SQS"))?;
    progress(format!(
        "events: waiting for the {accepted} matched entries to reach their queue"
    ));
    while backlog(&mut conn, &url)? < accepted {
        if started.elapsed() > DELIVERY_TIMEOUT {
            bail!(
                "{} of {accepted} matched entries reached their queue in {DELIVERY_TIMEOUT:?}",
                backlog(&mut conn, &url)?
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let delivery = started.elapsed();
    report.fact("events_matched_entries_delivered", accepted);
    report.fact("events_matched_delivery_done_s", delivery.as_secs_f64());
    let ratio = |value: f64| (floor > 0.0).then(|| value / floor);
    report.add(
        "events_put_rules0_per_s",
        &format!("PutEvents entries/s, bus with no rules (floor), c{CLIENTS}"),
        "/s",
        Some(floor),
        None,
    );
    report.add(
        "events_put_rules101_per_s",
        &format!("PutEvents entries/s, {MISSING_RULES} rules missing + 1 matching (no target)"),
        "/s",
        Some(matched),
        None,
    );
    report.add(
        "events_put_rules101_ratio",
        "  ratio to no rules (matching cost, ingest only)",
        "×",
        ratio(matched),
        None,
    );
    report.add(
        "events_put_rules101_sqs_per_s",
        &format!("PutEvents entries/s, {MISSING_RULES} rules missing + 1 matching to SQS"),
        "/s",
        Some(delivered),
        None,
    );
    report.add(
        "events_put_rules101_sqs_ratio",
        "  ratio to no rules (matching + queueing and delivering to SQS)",
        "×",
        ratio(delivered),
        None,
    );
    report.add(
        "events_sqs_delivered_per_s",
        "  matched entries delivered to SQS / time from the first put to the last arrival",
        "/s",
        Some(accepted as f64 / delivery.as_secs_f64().max(1e-9)),
        None,
    );
    report.method(
        "events put",
        &format!(
            "EventBridge's AWS JSON 1.1 protocol, signed. Closed loops of PutEvents, {ENTRIES} \
             identical entries a request (source bench.orders, a 4-field detail), at \
             concurrency {CLIENTS}, {:?} after a warm-up; entries accepted / elapsed. On three \
             custom buses in turn: one with no rules (the floor); one with {MISSING_RULES} \
             rules that match none of the entries (prefix, numeric, anything-but and exact \
             patterns on the detail, each after a matching source) and one that matches every \
             entry but has no target (ingest and matching only); the same rules with the \
             matching one targeting an SQS queue: each answer then comes once each entry's \
             delivery is queued durably, and the deliveries run on the same CPUs during the \
             window. The run then waits until every matched entry is in the queue.",
            plan.window
        ),
    );
    Ok(())
}

/// The function's ARN (GetFunction).
fn function_arn(conn: &mut Conn, name: &str) -> anyhow::Result<String> {
    let response = conn.request("GET", &server::function_path(name), &[], b"")?;
    if response.status() != 200 {
        bail!(
            "GetFunction {name} answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    json_of(&response)?["Configuration"]["FunctionArn"]
        .as_str()
        .map(str::to_string)
        .context("GetFunction answered no FunctionArn")
}

/// AddPermission: EventBridge may invoke `name`.
fn allow_invoke(conn: &mut Conn, name: &str) -> anyhow::Result<()> {
    let body = serde_json::to_vec(&json!({
        "StatementId": "events",
        "Action": "lambda:InvokeFunction",
        "Principal": "events.amazonaws.com",
    }))?;
    let response = conn.request(
        "POST",
        &format!("{}/policy", server::function_path(name)),
        &[("Content-Type", "application/json")],
        &body,
    )?;
    if response.status() != 201 {
        bail!(
            "AddPermission on {name} answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    Ok(())
}

/// An event whose detail is an SQS-shaped record, carrying `sent_us` when given: what
/// the echo logs a latency for once `InputPath` `$.detail` hands it the detail.
fn latency_entry(bus: &str, sent_us: Option<i64>) -> Value {
    let body = match sent_us {
        Some(us) => json!({ "sent_us": us }).to_string(),
        None => "{}".to_string(),
    };
    let detail = json!({ "Records": [{ "eventSource": "aws:sqs", "body": body }] });
    json!({ "Entries": [{
        "Source": "bench.latency",
        "DetailType": "ping",
        "Detail": detail.to_string(),
        "EventBusName": bus,
    }] })
}

/// The PutEvents-to-handler figure; `spec` is the Rust echo's.
pub(super) fn to_handler(
    plan: &Plan,
    server: &Server,
    spec: &server::FunctionSpec,
    report: &mut Report,
) -> anyhow::Result<()> {
    let mut conn = Conn::new(server.addr());
    server::create_function(&mut conn, HANDLER, spec)?;
    server::wait_active(&mut conn, HANDLER)?;
    allow_invoke(&mut conn, HANDLER)?;
    let arn = function_arn(&mut conn, HANDLER)?;
    let bus = "bench-latency";
    create_bus(&mut conn, bus)?;
    put_rule(
        &mut conn,
        bus,
        "to-echo",
        &json!({ "source": ["bench.latency"] }),
    )?;
    put_target(
        &mut conn,
        bus,
        "to-echo",
        json!({ "Id": "echo", "Arn": arn, "InputPath": "$.detail" }),
    )?;
    // A warm environment and a first delivery, neither of them measured (no `sent_us`).
    server::invoke(&mut conn, HANDLER, b"{}")?;
    events_call(&mut conn, "AWSEvents.PutEvents", &latency_entry(bus, None))?;
    std::thread::sleep(Duration::from_secs(1));

    let rounds = if plan.window < Duration::from_secs(2) {
        20
    } else {
        200
    };
    progress(format!(
        "events: PutEvents to handler start through a rule, {rounds} events"
    ));
    for _ in 0..rounds {
        let out = events_call(
            &mut conn,
            "AWSEvents.PutEvents",
            &latency_entry(bus, Some(now_us())),
        )?;
        if out["FailedEntryCount"].as_u64() != Some(0) {
            bail!("PutEvents failed: {out}");
        }
        std::thread::sleep(PACING);
    }
    let latencies = handler_latencies(&mut conn, HANDLER, rounds)?;
    report.add(
        "events_put_to_handler_p50_ms",
        "EventBridge PutEvents to handler start (rule → async invoke) p50",
        "ms",
        percentile(&latencies, 50.0),
        Some(Target::AtMost(10.0)),
    );
    report.add(
        "events_put_to_handler_p99_ms",
        "EventBridge PutEvents to handler start p99",
        "ms",
        percentile(&latencies, 99.0),
        None,
    );
    report.method(
        "events to handler",
        &format!(
            "A rule on a custom bus targets the warm Rust echo ({HANDLER}, async invoke, \
             InputPath $.detail). One PutEvents of one entry every {PACING:?}, its detail an \
             SQS-shaped record whose body carries the send time in µs (taken as the request is \
             built); the echo logs now − sent for it, as in the queues' \
             send-to-handler figure (same host clock), read back from its log group."
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_patterns_come_in_four_kinds() {
        assert_eq!(
            missing_pattern(0)["detail"],
            json!({ "sku": [{ "prefix": "Z-0" }] })
        );
        assert_eq!(
            missing_pattern(5)["detail"],
            json!({ "amount": [{ "numeric": [">", 1005] }] })
        );
        assert_eq!(
            missing_pattern(6)["detail"],
            json!({ "region": [{ "anything-but": ["eu-west-1", "r-6"] }] })
        );
        assert_eq!(
            missing_pattern(7)["detail"],
            json!({ "kind": ["shipment-7"] })
        );
        assert_eq!(missing_pattern(99)["source"], json!(["bench.orders"]));
    }

    #[test]
    fn put_body_has_ten_entries_for_the_bus() {
        let body: Value = serde_json::from_slice(&put_body("b").expect("body")).expect("JSON");
        let entries = body["Entries"].as_array().expect("entries");
        assert_eq!(entries.len(), ENTRIES);
        assert_eq!(entries[9]["EventBusName"], "b");
        let detail: Value =
            serde_json::from_str(entries[0]["Detail"].as_str().expect("text")).expect("JSON");
        assert_eq!(detail, order_detail());
    }

    #[test]
    fn latency_detail_is_an_sqs_record_with_the_send_time() {
        let entry = latency_entry("b", Some(42));
        let detail: Value =
            serde_json::from_str(entry["Entries"][0]["Detail"].as_str().expect("text"))
                .expect("JSON");
        assert_eq!(detail["Records"][0]["eventSource"], "aws:sqs");
        assert_eq!(detail["Records"][0]["body"], r#"{"sent_us":42}"#);
    }
}
