//! Tests of a subscriber: batching by items, bytes and time (tokio's paused clock), retries,
//! drops, and delivery over real HTTP and TCP.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

use super::*;
use crate::buffer::Pushed;
use crate::destination::Protocol;
use crate::event::{Event, InitPhase, InitStart, InitType, Record};
use crate::subscription::{Buffering, EventType, SchemaVersion};
use crate::test_support::{clock, http_server, line, subscription, wire};

const TELEMETRY: SchemaVersion = SchemaVersion::Telemetry2022_12_13;
const ALL: [EventType; 3] = [
    EventType::Platform,
    EventType::Function,
    EventType::Extension,
];

fn scripted(
    buffering: Buffering,
    failures: u32,
) -> (Subscriber, mpsc::UnboundedReceiver<Vec<Vec<u8>>>) {
    let (batches, rx) = mpsc::unbounded_channel();
    let sub = subscription(TELEMETRY, &ALL, buffering, Protocol::Http, 8080);
    (
        Subscriber::spawn_with(sub, Sink::Script { failures, batches }, clock()),
        rx,
    )
}

/// Deliveries from the host's network.
fn host() -> Arc<dyn crate::destination::Resolver> {
    Arc::new(crate::destination::EnvironmentAddress(
        "127.0.0.1".parse().expect("an IP"),
    ))
}

fn buffering(max_items: u32, max_bytes: u32, timeout_ms: u32) -> Buffering {
    Buffering {
        max_items,
        max_bytes,
        timeout_ms,
    }
}

#[tokio::test(start_paused = true)]
async fn a_batch_is_sent_timeout_ms_after_its_first_record() {
    let (sub, mut rx) = scripted(buffering(1000, 262_144, 100), 0);
    let start = Instant::now();
    let events = [line("a"), line("b"), line("c")];
    for e in &events {
        assert_eq!(sub.offer(e), Some(Pushed::Buffered));
    }
    let batch = rx.recv().await.expect("a batch");
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    assert_eq!(batch, events.iter().map(wire).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn a_batch_is_sent_at_once_when_max_items_wait() {
    let (sub, mut rx) = scripted(buffering(1000, 1_048_576, 30_000), 0);
    let start = Instant::now();
    for n in 0..1001 {
        sub.offer(&line(&format!("r{n}")));
    }
    let first = rx.recv().await.expect("a batch");
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(first.len(), 1000);
    assert_eq!(first[999], wire(&line("r999")));
    let second = rx.recv().await.expect("a batch");
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(30_000),
        "the 1001st waits for the timeout"
    );
    assert_eq!(second, vec![wire(&line("r1000"))]);
}

#[tokio::test(start_paused = true)]
async fn a_batch_is_sent_at_once_when_max_bytes_wait_and_holds_no_more() {
    let (sub, mut rx) = scripted(buffering(1000, 262_144, 30_000), 0);
    let big = "x".repeat(65_536);
    let start = Instant::now();
    for _ in 0..4 {
        sub.offer(&line(&big));
    }
    let record = wire(&line(&big)).len();
    assert!(
        4 * record > 262_144 && 3 * record <= 262_144,
        "a record is {record} bytes"
    );
    let first = rx.recv().await.expect("a batch");
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(first.len(), 3);
    let second = rx.recv().await.expect("a batch");
    assert_eq!(start.elapsed(), Duration::from_millis(30_000));
    assert_eq!(second.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_failed_delivery_is_retried_with_backoff() {
    let (sub, mut rx) = scripted(buffering(1000, 262_144, 25), 2);
    let start = Instant::now();
    sub.offer(&line("a"));
    let batch = rx.recv().await.expect("a batch");
    // 25 ms of buffering, then two failures waited out: 100 ms, then 200 ms.
    assert_eq!(start.elapsed(), Duration::from_millis(325));
    assert_eq!(batch, vec![wire(&line("a"))]);
}

#[tokio::test(start_paused = true)]
async fn a_batch_given_up_is_reported_as_dropped() {
    let (sub, mut rx) = scripted(buffering(1000, 262_144, 25), 5);
    let start = Instant::now();
    sub.offer(&line("lost"));
    let report = rx.recv().await.expect("a batch");
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(25 + 100 + 200 + 400 + 800)
    );
    let lost = wire(&line("lost")).len();
    assert_eq!(report.len(), 1);
    let value: serde_json::Value = serde_json::from_slice(&report[0]).expect("JSON");
    assert_eq!(
        value,
        json!({"time": "2026-01-02T03:04:05.000Z", "type": "platform.logsDropped", "record": {
            "reason": "Consumer seems to have fallen behind as it has not acknowledged receipt of logs.",
            "droppedRecords": 1, "droppedBytes": lost}})
    );
}

#[tokio::test(start_paused = true)]
async fn only_the_types_and_records_of_the_subscription_are_offered() {
    let (batches, _rx) = mpsc::unbounded_channel();
    let logs = subscription(
        SchemaVersion::Logs2020_08_15,
        &[EventType::Platform],
        Buffering::default(),
        Protocol::Tcp,
        8080,
    );
    let sub = Subscriber::spawn_with(
        logs,
        Sink::Script {
            failures: 0,
            batches,
        },
        clock(),
    );
    assert_eq!(
        sub.offer(&line("a function line")),
        None,
        "not subscribed to function"
    );
    let init = Event {
        time: crate::test_support::t0(),
        record: Record::InitStart(InitStart {
            initialization_type: InitType::OnDemand,
            phase: InitPhase::Init,
            runtime_version: None,
            runtime_version_arn: None,
            function_name: None,
            function_version: None,
            instance_id: None,
            instance_max_memory: None,
        }),
    };
    assert_eq!(
        sub.offer(&init),
        None,
        "the Logs API has no platform.initStart"
    );
    let end = Event {
        time: crate::test_support::t0(),
        record: Record::End {
            request_id: "r".into(),
        },
    };
    assert_eq!(sub.offer(&end), Some(Pushed::Buffered));
}

#[tokio::test(start_paused = true)]
async fn shutdown_flushes_what_waits() {
    let (sub, mut rx) = scripted(buffering(1000, 262_144, 30_000), 0);
    let start = Instant::now();
    sub.offer(&line("a"));
    sub.offer(&line("b"));
    sub.shutdown().await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(
        rx.recv().await,
        Some(vec![wire(&line("a")), wire(&line("b"))])
    );
    assert_eq!(rx.recv().await, None, "the task ended");
}

#[tokio::test]
async fn http_delivery_posts_a_json_array_to_the_destination() {
    let (addr, mut rx) = http_server(None).await;
    let sub = subscription(
        TELEMETRY,
        &ALL,
        buffering(1000, 262_144, 30_000),
        Protocol::Http,
        4243,
    );
    let sub = Subscriber::spawn(sub, (addr, host()), clock());
    sub.offer(&line("one"));
    sub.offer(&line("two"));
    sub.shutdown().await;
    let got = rx.recv().await.expect("a request");
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/telemetry");
    assert_eq!(got.host, "sandbox.localdomain:4243");
    assert_eq!(got.content_type, "application/json");
    assert_eq!(
        got.items(),
        vec![
            json!({"time": "2026-01-02T03:04:05.000Z", "type": "function", "record": "one"}),
            json!({"time": "2026-01-02T03:04:05.000Z", "type": "function", "record": "two"}),
        ]
    );
    assert!(rx.try_recv().is_err(), "one batch only");
}

#[tokio::test]
async fn tcp_delivery_writes_newline_delimited_json() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("an address");
    let reader = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("a connection");
        let mut all = Vec::new();
        stream.read_to_end(&mut all).await.expect("reads");
        all
    });
    let sub = subscription(
        TELEMETRY,
        &ALL,
        buffering(1000, 262_144, 30_000),
        Protocol::Tcp,
        4244,
    );
    let sub = Subscriber::spawn(sub, (addr, host()), clock());
    sub.offer(&line("one"));
    sub.offer(&line("two"));
    // Shutting down flushes, then drops the connection, which ends the reader.
    sub.shutdown().await;
    let all = reader.await.expect("the reader ends");
    let mut expected = wire(&line("one"));
    expected.push(b'\n');
    expected.extend(wire(&line("two")));
    expected.push(b'\n');
    assert_eq!(
        String::from_utf8(all).expect("UTF-8"),
        String::from_utf8(expected).expect("UTF-8")
    );
}

#[tokio::test]
async fn a_stalled_http_subscriber_loses_records_past_the_backlog_and_is_told() {
    let hold = Arc::new(Notify::new());
    let (addr, mut rx) = http_server(Some(Arc::clone(&hold))).await;
    let sub = subscription(
        TELEMETRY,
        &ALL,
        buffering(1000, 262_144, 30_000),
        Protocol::Http,
        4243,
    );
    let sub = Subscriber::spawn(sub, (addr, host()), clock());
    let name = |n: usize| format!("r{n}");
    for n in 0..1000 {
        sub.offer(&line(&name(n)));
    }
    // The first batch reaches the subscriber, which does not answer yet.
    let first = rx.recv().await.expect("a request");
    assert_eq!(first.items().len(), 1000);
    // Meanwhile the function keeps logging: two batches' worth wait, the rest is dropped.
    for n in 1000..3000 {
        assert_eq!(
            sub.offer(&line(&name(n))),
            Some(Pushed::Buffered),
            "record {n}"
        );
    }
    let mut dropped_bytes = 0;
    for n in 3000..3007 {
        assert_eq!(
            sub.offer(&line(&name(n))),
            Some(Pushed::Dropped),
            "record {n}"
        );
        dropped_bytes += wire(&line(&name(n))).len();
    }
    hold.notify_one();
    let second = rx.recv().await.expect("a request").items();
    assert_eq!(second.len(), 1001);
    assert_eq!(
        second[0],
        json!({"time": "2026-01-02T03:04:05.000Z", "type": "platform.logsDropped", "record": {
            "reason": "Consumer seems to have fallen behind as it has not acknowledged receipt of logs.",
            "droppedRecords": 7, "droppedBytes": dropped_bytes}})
    );
    assert_eq!(second[1]["record"], json!("r1000"));
    assert_eq!(second[1000]["record"], json!("r1999"));
    let third = rx.recv().await.expect("a request").items();
    assert_eq!(third.len(), 1000);
    assert_eq!(third[0]["record"], json!("r2000"));
    assert_eq!(third[999]["record"], json!("r2999"));
    sub.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_subscriber_dropped_without_shutdown_stops_its_task() {
    let (sub, mut rx) = scripted(buffering(1000, 262_144, 1000), 0);
    // Its task holds the only other reference to the shared state.
    let shared = Arc::downgrade(&sub.shared);
    drop(sub);
    // The aborted task drops its state (and the script's channel) at its next poll.
    // (Without the abort it would wait forever: the paused clock runs the limit out.)
    let closed = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
    assert_eq!(closed, Ok(None));
    assert!(shared.upgrade().is_none());
}

/// A resolver whose connections are its own (as a jail's, into its network namespace):
/// it counts them and connects to `real` whatever address it is given.
struct OwnConnections {
    real: std::net::SocketAddr,
    opened: std::sync::atomic::AtomicUsize,
}

impl crate::destination::Resolver for OwnConnections {
    fn resolve(
        &self,
        d: &crate::destination::Destination,
    ) -> std::io::Result<std::net::SocketAddr> {
        Ok(std::net::SocketAddr::from(([127, 0, 0, 1], d.port)))
    }

    fn connects(&self) -> bool {
        true
    }

    fn connect(&self, _: std::net::SocketAddr) -> std::io::Result<std::net::TcpStream> {
        self.opened
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::net::TcpStream::connect(self.real)
    }
}

#[tokio::test]
async fn a_resolver_that_connects_opens_the_deliverys_connection() {
    let (addr, mut rx) = http_server(None).await;
    let resolver = Arc::new(OwnConnections {
        real: addr,
        opened: Default::default(),
    });
    let sub = subscription(
        TELEMETRY,
        &ALL,
        buffering(1000, 262_144, 30_000),
        Protocol::Http,
        4243,
    );
    // The address given is nowhere: only the resolver's own connection reaches the server.
    let nowhere = std::net::SocketAddr::from(([127, 0, 0, 1], 1));
    let sub = Subscriber::spawn(sub, (nowhere, resolver.clone()), clock());
    sub.offer(&line("one"));
    sub.shutdown().await;
    let got = rx.recv().await.expect("a request");
    assert_eq!(got.host, "sandbox.localdomain:4243");
    assert_eq!(
        got.items(),
        vec![json!({"time": "2026-01-02T03:04:05.000Z", "type": "function", "record": "one"})]
    );
    assert_eq!(resolver.opened.load(std::sync::atomic::Ordering::SeqCst), 1);
}
