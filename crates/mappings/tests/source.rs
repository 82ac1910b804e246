//! The `sqs-mapping` source as the server runs it: under a `Host`, following mappings in
//! the store, polling an in-memory queue through the `QueueClient` trait, and invoking
//! scripted runtimes through the invoker (nothing needs root or a network).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hearth_engine::testing::{self, eventually};
use hearth_engine::Engine;
use hearth_events::{AsyncQueue, EventsConfig};
use hearth_mappings::client::{Entry, Message, Receive};
use hearth_mappings::{BoxFuture, MappingSource, QueueClient, QueueClients, QueueError};
use hearth_model::event_source_mapping::{EventSourceMapping, MappingState};
use hearth_sandbox::scripted::{Records, Script, Step};
use hearth_store::Store;
use hearth_triggers::{EventSource, Host, Invoker, SourceContext};
use serde_json::Value;

const QUEUE: &str = "arn:aws:sqs:us-east-1:000000000000:jobs";

/// A queue in memory: what is visible, what was received and not deleted, and what was
/// deleted. Its long polls wait for a message as SQS's do, unless it answers at once
/// (`no_long_polls`), as a server shutting down does.
#[derive(Default)]
struct MemQueue {
    state: Mutex<QueueState>,
    arrived: tokio::sync::Notify,
    no_long_polls: bool,
}

#[derive(Default)]
struct QueueState {
    visible: VecDeque<Message>,
    in_flight: BTreeMap<String, Message>,
    deleted: Vec<String>,
    receives: usize,
}

impl MemQueue {
    fn send(&self, id: &str, body: &str) {
        let mut s = self.state.lock().expect("queue");
        s.visible.push_back(Message {
            message_id: id.into(),
            receipt_handle: format!("rh-{id}"),
            body: body.into(),
            md5_of_body: "md5".into(),
            attributes: BTreeMap::from([("ApproximateReceiveCount".into(), "1".into())]),
            ..Default::default()
        });
        self.arrived.notify_waiters();
    }

    fn receives(&self) -> usize {
        self.state.lock().expect("queue").receives
    }

    fn deleted(&self) -> Vec<String> {
        let mut d = self.state.lock().expect("queue").deleted.clone();
        d.sort();
        d
    }

    fn in_flight(&self) -> Vec<String> {
        self.state
            .lock()
            .expect("queue")
            .in_flight
            .values()
            .map(|m| m.message_id.clone())
            .collect()
    }
}

impl QueueClient for MemQueue {
    fn receive<'a>(
        &'a self,
        _queue_arn: &'a str,
        req: Receive,
    ) -> BoxFuture<'a, Result<Vec<Message>, QueueError>> {
        Box::pin(async move {
            let deadline =
                tokio::time::Instant::now() + Duration::from_secs(u64::from(req.wait_seconds));
            loop {
                let arrived = self.arrived.notified();
                let got: Vec<Message> = {
                    let mut s = self.state.lock().expect("queue");
                    s.receives += 1;
                    let n = (req.max_messages as usize).min(s.visible.len());
                    let got: Vec<Message> = s.visible.drain(..n).collect();
                    for m in &got {
                        s.in_flight.insert(m.receipt_handle.clone(), m.clone());
                    }
                    got
                };
                if !got.is_empty() || self.no_long_polls {
                    return Ok(got);
                }
                if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                    return Ok(got);
                }
            }
        })
    }

    fn delete_batch<'a>(
        &'a self,
        _queue_arn: &'a str,
        entries: Vec<Entry>,
    ) -> BoxFuture<'a, Result<Vec<String>, QueueError>> {
        Box::pin(async move {
            let mut s = self.state.lock().expect("queue");
            for e in entries {
                if let Some(m) = s.in_flight.remove(&e.receipt_handle) {
                    s.deleted.push(m.message_id);
                }
            }
            Ok(Vec::new())
        })
    }

    fn change_visibility_batch<'a>(
        &'a self,
        _queue_arn: &'a str,
        _entries: Vec<Entry>,
        _timeout: u32,
    ) -> BoxFuture<'a, Result<Vec<String>, QueueError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn attributes<'a>(
        &'a self,
        _queue_arn: &'a str,
        _names: &'a [&'a str],
    ) -> BoxFuture<'a, Result<BTreeMap<String, String>, QueueError>> {
        Box::pin(async { Ok(BTreeMap::new()) })
    }
}

struct Clients(Arc<MemQueue>);

impl QueueClients for Clients {
    fn client(&self, _mapping: &EventSourceMapping) -> Arc<dyn QueueClient> {
        self.0.clone()
    }
}

struct Server {
    store: Store,
    engine: Engine,
    records: Records,
    invoker: Invoker,
    queue: Arc<MemQueue>,
    _dir: tempfile::TempDir,
}

impl Server {
    fn new(script: Script) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (engine, path, records) = testing::scripted(
            dir.path(),
            script,
            testing::config(Duration::from_secs(600)),
        );
        let store = engine.store().clone();
        let events = AsyncQueue::open(
            store.clone(),
            engine.writer().clone(),
            EventsConfig::default(),
            hearth_events::Holder::alone("test"),
        )
        .expect("the async queue");
        let invoker = Invoker::new(path, Arc::new(events));
        Self {
            store,
            engine,
            records,
            invoker,
            queue: Arc::new(MemQueue::default()),
            _dir: dir,
        }
    }

    async fn host(&self) -> Host {
        let source = MappingSource::new(
            self.store.clone(),
            Arc::new(Clients(self.queue.clone())),
            "test",
        );
        let sources: Vec<Box<dyn EventSource>> = vec![Box::new(source)];
        Host::start(
            SourceContext::new(self.invoker.clone()),
            sources,
            Duration::from_secs(1),
        )
        .await
        .expect("the source starts")
    }

    fn map(&self, edit: impl FnOnce(&mut EventSourceMapping)) -> EventSourceMapping {
        let mut m = hearth_model::testing::mapping("m-1", "f", QUEUE);
        edit(&mut m);
        self.store.mappings().insert_mapping(&m).expect("insert");
        m
    }

    fn mapping(&self) -> Option<EventSourceMapping> {
        self.store.mappings().get_mapping("m-1").expect("get")
    }

    /// Every record the function was invoked with.
    fn bodies(&self) -> Vec<String> {
        self.records
            .events()
            .iter()
            .flat_map(|e| {
                let v: Value = serde_json::from_slice(&e.payload).expect("JSON event");
                v["Records"]
                    .as_array()
                    .expect("records")
                    .iter()
                    .map(|r| r["body"].as_str().expect("body").to_string())
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

/// A function that reports every record whose body starts with "fail".
fn reporter() -> Script {
    Script::default().on_invoke(|e| {
        let v: Value = serde_json::from_slice(&e.payload).expect("JSON event");
        let failed: Vec<Value> = v["Records"]
            .as_array()
            .expect("records")
            .iter()
            .filter(|r| r["body"].as_str().is_some_and(|b| b.starts_with("fail")))
            .map(|r| serde_json::json!({"itemIdentifier": r["messageId"]}))
            .collect();
        vec![Step::respond(Bytes::from(
            serde_json::json!({ "batchItemFailures": failed }).to_string(),
        ))]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_invoked_and_all_but_the_reported_failures_are_deleted() {
    let server = Server::new(reporter());
    testing::create(&server.engine, testing::new_function("f")).await;
    server.queue.send("a", "ok-a");
    server.queue.send("b", "fail-b");
    server.queue.send("c", "ok-c");
    server.map(|m| m.function_response_types = vec!["ReportBatchItemFailures".into()]);
    let host = server.host().await;
    eventually("the mapping is enabled", || {
        server
            .mapping()
            .is_some_and(|m| m.state == MappingState::Enabled)
    })
    .await;
    eventually("the successes are deleted", || {
        server.queue.deleted() == ["a", "c"]
    })
    .await;
    assert_eq!(server.queue.in_flight(), ["b"]);
    let event: Value =
        serde_json::from_slice(&server.records.events()[0].payload).expect("JSON event");
    let first = &event["Records"][0];
    assert_eq!(first["eventSource"], "aws:sqs");
    assert_eq!(first["eventSourceARN"], QUEUE);
    assert_eq!(first["receiptHandle"], "rh-a");
    eventually("the result is recorded", || {
        server
            .mapping()
            .and_then(|m| m.last_processing_result)
            .as_deref()
            == Some("OK")
    })
    .await;
    host.stop(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_item_failure_reports_a_function_error_keeps_the_whole_batch() {
    let script = Script::default().on_invoke(|_| vec![Step::fail("Boom", "no")]);
    let server = Server::new(script);
    testing::create(&server.engine, testing::new_function("f")).await;
    server.queue.send("a", "ok-a");
    server.map(|_| {});
    let host = server.host().await;
    eventually("the failure is recorded", || {
        server
            .mapping()
            .and_then(|m| m.last_processing_result)
            .as_deref()
            == Some("PROBLEM: Function call failed")
    })
    .await;
    assert!(server.queue.deleted().is_empty());
    assert_eq!(server.queue.in_flight(), ["a"]);
    host.stop(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtered_out_messages_are_deleted_without_an_invocation() {
    let server = Server::new(reporter());
    testing::create(&server.engine, testing::new_function("f")).await;
    server.queue.send("a", r#"{"kind":"drop"}"#);
    server.queue.send("b", r#"{"kind":"keep"}"#);
    server.map(|m| m.filters = Some(vec![r#"{"body": {"kind": ["keep"]}}"#.into()]));
    let host = server.host().await;
    eventually("both are deleted", || server.queue.deleted() == ["a", "b"]).await;
    assert_eq!(server.bodies(), [r#"{"kind":"keep"}"#]);
    host.stop(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_mapping_does_not_poll_and_a_deleted_one_goes() {
    let server = Server::new(reporter());
    testing::create(&server.engine, testing::new_function("f")).await;
    server.queue.send("a", "ok-a");
    server.map(|m| m.enabled = false);
    let host = server.host().await;
    eventually("the mapping is disabled", || {
        server
            .mapping()
            .is_some_and(|m| m.state == MappingState::Disabled)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.records.events().is_empty());
    server
        .store
        .mappings()
        .edit_mapping(
            "m-1",
            Box::new(|m| {
                m.state = MappingState::Deleting;
                true
            }),
        )
        .expect("delete");
    eventually("the record goes", || server.mapping().is_none()).await;
    host.stop(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pollers_scale_with_the_backlog_up_to_the_maximum_concurrency() {
    let script = Script::default().on_invoke(|_| {
        vec![
            Step::Sleep(Duration::from_millis(300)),
            Step::respond(Bytes::from_static(b"{}")),
        ]
    });
    let server = Server::new(script);
    testing::create(&server.engine, testing::new_function("f")).await;
    for i in 0..60 {
        server.queue.send(&format!("m{i:02}"), "work");
    }
    server.map(|m| m.maximum_concurrency = Some(3));
    let host = server.host().await;
    // Environments stay warm, and one starts only when none is idle: how many started is
    // how many invocations ran at once at the most.
    let mut most = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while server.queue.deleted().len() < 60 {
        most = most.max(server.records.running());
        assert!(
            tokio::time::Instant::now() < deadline,
            "the backlog was not drained"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(most >= 2, "the pollers did not scale: {most} at once");
    assert!(most <= 3, "more than MaximumConcurrency at once: {most}");
    host.stop(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_batch_stays_in_the_queue() {
    let server = Server::new(reporter());
    testing::create(&server.engine, testing::new_function("f")).await;
    server
        .engine
        .put_function_concurrency(
            &hearth_model::FunctionRef {
                name: "f".into(),
                qualifier: None,
            },
            0,
        )
        .expect("reserve none");
    server.queue.send("a", "ok-a");
    server.map(|_| {});
    let host = server.host().await;
    eventually("the throttle is recorded", || {
        server
            .mapping()
            .and_then(|m| m.last_processing_result)
            .as_deref()
            == Some("PROBLEM: Function call throttled")
    })
    .await;
    assert!(server.records.events().is_empty());
    assert!(server.queue.deleted().is_empty());
    host.stop(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batching_window_gathers_more_than_one_receive() {
    let server = Server::new(reporter());
    testing::create(&server.engine, testing::new_function("f")).await;
    for i in 0..15 {
        server.queue.send(&format!("m{i:02}"), "work");
    }
    server.map(|m| {
        m.batch_size = 20;
        m.maximum_batching_window = 1;
    });
    let host = server.host().await;
    eventually("the batch is deleted", || {
        server.queue.deleted().len() == 15
    })
    .await;
    let sizes: Vec<usize> = server
        .records
        .events()
        .iter()
        .map(|e| {
            let v: Value = serde_json::from_slice(&e.payload).expect("JSON event");
            v["Records"].as_array().expect("records").len()
        })
        .collect();
    assert_eq!(sizes, [15]);
    host.stop(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_that_answers_at_once_is_not_called_again_at_once() {
    let mut server = Server::new(reporter());
    server.queue = Arc::new(MemQueue {
        no_long_polls: true,
        ..Default::default()
    });
    testing::create(&server.engine, testing::new_function("f")).await;
    server.map(|_| {});
    let host = server.host().await;
    eventually("the poller receives", || server.queue.receives() > 0).await;
    let first = server.queue.receives();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Backing off from 100 ms, doubling: a handful of calls in two seconds, not a loop.
    let more = server.queue.receives() - first;
    assert!(more <= 10, "{more} receives in two seconds");
    // Still polling: a message sent now is delivered.
    server.queue.send("a", "ok-a");
    eventually("the message is deleted", || server.queue.deleted() == ["a"]).await;
    host.stop(Duration::from_secs(1)).await;
}
