//! What the queue reports to its [`AsyncObserver`] (the facts of Lambda's
//! asynchronous-invocation metrics), for events delivered by the dispatcher to an engine
//! whose environments are scripted runtimes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hearth_engine::testing::{self, eventually};
use hearth_engine::Engine;
use hearth_events::{
    AsyncObserver, AsyncQueue, AsyncReport, DropReason, EventsConfig, Happened, Holder,
};
use hearth_model::event_invoke::{Destination, DestinationConfig, EventInvokeSettings};
use hearth_model::FunctionRef;
use hearth_sandbox::scripted::{Script, Step};
use hearth_store::{Change, Durability, QueueOp, QueuedEvent};
use hearth_triggers::{
    BoxFuture, EnqueueRequest, EventSource, Host, Invoker, MessageSink, OutboundMessage, SendError,
    SourceContext,
};

const QUEUE: &str = "arn:aws:sqs:us-east-1:000000000000:failures";
const TOPIC: &str = "arn:aws:sns:us-east-1:000000000000:dead";

/// The reports, as (function, qualifier, what).
#[derive(Default)]
struct Seen(Mutex<Vec<(String, Option<String>, Happened)>>);

impl Seen {
    fn all(&self) -> Vec<(String, Option<String>, Happened)> {
        self.0.lock().expect("lock").clone()
    }

    fn what(&self) -> Vec<Happened> {
        self.all().into_iter().map(|r| r.2).collect()
    }
}

impl AsyncObserver for Seen {
    fn report(&self, r: &AsyncReport<'_>) {
        self.0.lock().expect("lock").push((
            r.function.to_string(),
            r.qualifier.map(str::to_string),
            r.what,
        ));
    }
}

/// A queue and topic service that is down: it takes nothing.
struct Down;

impl MessageSink for Down {
    fn send<'a>(
        &'a self,
        _target: &'a str,
        _message: OutboundMessage,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async { Err(SendError::Failed("the service is down".into())) })
    }
}

struct Server {
    engine: Engine,
    queue: AsyncQueue,
    invoker: Invoker,
    seen: Arc<Seen>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// An engine on scripted runtimes whose function `f` fails every event (with a
    /// dead-letter topic if `dead_letters`), its async queue retrying after 10 ms.
    /// With `old_event`, the queue opens with an event queued seven hours ago (by a
    /// previous run of this node): past the default age limit of six.
    async fn new(dead_letters: bool, old_event: bool) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let script = Script::default().on_invoke(|_| vec![Step::fail("Handled", "it broke")]);
        let config = testing::config(Duration::from_secs(600));
        let (engine, path, _records) = testing::scripted(dir.path(), script, config);
        let mut new = testing::new_function("f");
        if dead_letters {
            new.dead_letter_target_arn = Some(TOPIC.into());
        }
        testing::create(&engine, new).await;
        if old_event {
            write_old_event(&engine).await;
        }
        let queue = AsyncQueue::open(
            engine.store().clone(),
            engine.writer().clone(),
            EventsConfig {
                retry_delays: vec![Duration::from_millis(10)],
                ..EventsConfig::default()
            },
            Holder::alone("test"),
        )
        .expect("the async queue");
        let seen = Arc::new(Seen::default());
        queue.report_to(seen.clone());
        queue.send_messages_with(Arc::new(Down));
        let invoker = Invoker::new(path, Arc::new(queue.clone()));
        Self {
            engine,
            queue,
            invoker,
            seen,
            _dir: dir,
        }
    }

    fn configure(&self, retries: i64, on_failure: Option<&str>) {
        self.engine
            .put_event_invoke_config(
                &f(),
                EventInvokeSettings {
                    maximum_retry_attempts: Some(retries),
                    maximum_event_age_in_seconds: None,
                    destination_config: Some(DestinationConfig {
                        on_success: Destination::default(),
                        on_failure: Destination {
                            destination: on_failure.map(str::to_string),
                        },
                    }),
                },
            )
            .expect("the configuration");
    }

    async fn host(&self) -> Host {
        let sources: Vec<Box<dyn EventSource>> = vec![Box::new(self.queue.dispatcher())];
        Host::start(
            SourceContext::new(self.invoker.clone()),
            sources,
            Duration::from_secs(1),
        )
        .await
        .expect("the dispatcher starts")
    }

    async fn enqueue(&self, function: FunctionRef) {
        self.invoker
            .enqueue(EnqueueRequest {
                request_id: "req".into(),
                function,
                payload: Bytes::from_static(b"{}"),
                client_context: None,
                trace_header: None,
                counts_lineage: false,
            })
            .await
            .expect("the event is accepted");
    }

    /// Runs the dispatcher until the event is done.
    async fn deliver(&self) {
        let host = self.host().await;
        eventually("the event is done", || {
            self.invoker.queue_stats().is_empty()
                && self
                    .seen
                    .what()
                    .iter()
                    .any(|w| matches!(w, Happened::Dropped(_)))
        })
        .await;
        host.stop(Duration::from_secs(1)).await;
    }
}

async fn write_old_event(engine: &Engine) {
    let accepted_ms = hearth_model::time::now_ms() - 7 * 3_600_000;
    let seq = engine.store().queue().queue_seqs().expect("seqs").start;
    let event = QueuedEvent {
        seq,
        owner: Some("test".into()),
        request_id: "old".into(),
        function: "f".into(),
        qualifier: None,
        client_context: None,
        accepted_ms,
        due_ms: accepted_ms,
        progress: Default::default(),
        trace_header: None,
        counts_lineage: false,
    };
    engine
        .writer()
        .commit(
            vec![Change::Queue(QueueOp::Insert(
                event,
                Bytes::from_static(b"{}"),
            ))],
            Durability::Synced,
        )
        .await
        .expect("the old event is written");
}

fn f() -> FunctionRef {
    FunctionRef {
        name: "f".into(),
        qualifier: None,
    }
}

/// The attempts' ages, and the reports with every age set to 0.
fn ages(what: &[Happened]) -> (Vec<i64>, Vec<Happened>) {
    let ages = what
        .iter()
        .filter_map(|w| match w {
            Happened::Attempt { age_ms } => Some(*age_ms),
            _ => None,
        })
        .collect();
    let plain = what
        .iter()
        .map(|w| match w {
            Happened::Attempt { .. } => Happened::Attempt { age_ms: 0 },
            w => *w,
        })
        .collect();
    (ages, plain)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_event_is_received_once_and_aged_at_each_attempt() {
    let server = Server::new(false, false).await;
    server.configure(1, None);
    server
        .enqueue(FunctionRef {
            name: "f".into(),
            qualifier: Some("$LATEST".into()),
        })
        .await;
    server.deliver().await;
    let all = server.seen.all();
    assert!(
        all.iter()
            .all(|r| r.0 == "f" && r.1.as_deref() == Some("$LATEST")),
        "{all:?}"
    );
    let (ages, plain) = ages(&server.seen.what());
    assert_eq!(
        plain,
        [
            Happened::Received,
            Happened::Attempt { age_ms: 0 },
            Happened::Attempt { age_ms: 0 },
            Happened::Dropped(DropReason::RetriesExhausted),
        ]
    );
    // The retry waited its 10 ms delay in the queue: its age counts it.
    assert!(ages[1] >= ages[0] + 10, "{ages:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_that_cannot_be_reached_is_a_delivery_failure() {
    let server = Server::new(false, false).await;
    server.configure(0, Some(QUEUE));
    server.enqueue(f()).await;
    server.deliver().await;
    let (_, plain) = ages(&server.seen.what());
    assert_eq!(
        plain,
        [
            Happened::Received,
            Happened::Attempt { age_ms: 0 },
            Happened::Dropped(DropReason::RetriesExhausted),
            Happened::DestinationDeliveryFailure,
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_past_its_age_is_dropped_unrun_and_a_failed_dead_letter_counted() {
    let server = Server::new(true, true).await;
    server.deliver().await;
    assert_eq!(
        server.seen.what(),
        [
            Happened::Dropped(DropReason::EventAgeExceeded),
            Happened::DeadLetterError,
        ]
    );
}
