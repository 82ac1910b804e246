//! The dispatcher as the server runs it: an event source under a `Host`, delivering
//! what `Invoker::enqueue` queued through the same invoker, to an engine whose
//! environments are scripted runtimes (nothing needs root).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hearth_engine::testing::{self, eventually};
use hearth_engine::Engine;
use hearth_events::{AsyncQueue, EventsConfig};
use hearth_model::event_invoke::{Destination, DestinationConfig, EventInvokeSettings};
use hearth_model::FunctionRef;
use hearth_sandbox::scripted::{Records, Script, Step};
use hearth_store::Store;
use hearth_triggers::{
    BoxFuture, EnqueueRequest, EventSource, Host, Invoker, MessageAttribute, MessageSink,
    OutboundMessage, SendError, SourceContext,
};

struct Server {
    store: Store,
    engine: Engine,
    records: Records,
    queue: AsyncQueue,
    invoker: Invoker,
    _dir: tempfile::TempDir,
}

impl Server {
    /// An engine on scripted runtimes, its async queue, and the invoker over both, as
    /// `hearth server` composes them.
    fn new(script: Script) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = testing::config(Duration::from_secs(600));
        let (engine, path, records) = testing::scripted(dir.path(), script, config);
        let store = engine.store().clone();
        let queue = open_queue(&store, &engine);
        let invoker = Invoker::new(path, Arc::new(queue.clone()));
        Self {
            store,
            engine,
            records,
            queue,
            invoker,
            _dir: dir,
        }
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

    /// Creates a `provided` function and waits until it is `Active`.
    async fn create(&self, name: &str) {
        testing::create(&self.engine, testing::new_function(name)).await;
    }

    async fn enqueue(&self, name: &str, request_id: &str, payload: &'static str) {
        self.enqueue_traced(name, request_id, payload, None, false)
            .await
    }

    /// As an SNS subscription queues it: with the publisher's trace header, counted by
    /// recursive loop detection when `counts_lineage`.
    async fn enqueue_traced(
        &self,
        name: &str,
        request_id: &str,
        payload: &'static str,
        trace_header: Option<&str>,
        counts_lineage: bool,
    ) {
        self.invoker
            .enqueue(EnqueueRequest {
                request_id: request_id.into(),
                function: function(name),
                payload: Bytes::from_static(payload.as_bytes()),
                client_context: Some(r#"{"custom":{"k":"v"}}"#.into()),
                trace_header: trace_header.map(str::to_string),
                counts_lineage,
            })
            .await
            .expect("the event is accepted");
    }
}

fn open_queue(store: &Store, engine: &Engine) -> AsyncQueue {
    AsyncQueue::open(
        store.clone(),
        engine.writer().clone(),
        EventsConfig::default(),
        hearth_events::Holder::alone("test"),
    )
    .expect("the async queue")
}

fn function(name: &str) -> FunctionRef {
    FunctionRef {
        name: name.into(),
        qualifier: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enqueued_event_is_delivered_through_the_invoker() {
    let server = Server::new(Script::default());
    server.create("f").await;
    let host = server.host().await;
    assert_eq!(host.names(), ["async"]);
    server.enqueue("f", "req-1", r#"{"n":1}"#).await;
    eventually("the event is delivered", || {
        !server.records.events().is_empty()
    })
    .await;
    let delivered = &server.records.events()[0];
    assert_eq!(delivered.request_id, "req-1");
    assert_eq!(delivered.payload, Bytes::from_static(br#"{"n":1}"#));
    assert_eq!(
        delivered.client_context.as_deref(),
        Some(r#"{"custom":{"k":"v"}}"#)
    );
    eventually("the event is done", || {
        server.invoker.queue_stats().is_empty()
    })
    .await;
    host.stop(Duration::from_secs(1)).await;
    // Done means its row is gone too (the writer commits it after the log lines).
    server.engine.writer().flush().await.expect("flush");
    assert!(server
        .store
        .queue()
        .queued_events()
        .expect("rows")
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_still_running_at_stop_stays_queued_for_the_next_start() {
    let server = Server::new(Script::default().on_invoke(|_| vec![Step::Hang]));
    server.create("slow").await;
    let host = server.host().await;
    server.enqueue("slow", "req-2", "{}").await;
    eventually("the event runs", || !server.records.events().is_empty()).await;
    host.stop(Duration::from_millis(50)).await;
    // What a restart reads: the event that was running is there to run again.
    let next = open_queue(&server.store, &server.engine);
    let stats = hearth_triggers::EventQueue::stats(&next);
    assert_eq!(stats.len(), 1, "{stats:?}");
    assert_eq!((stats[0].function.as_str(), stats[0].queued), ("slow", 1));
}

/// What a sink was handed: (target, message).
#[derive(Default)]
struct Sent(std::sync::Mutex<Vec<(String, OutboundMessage)>>);

impl Sent {
    fn all(&self) -> Vec<(String, OutboundMessage)> {
        self.0.lock().expect("lock").clone()
    }
}

impl MessageSink for Sent {
    fn send<'a>(
        &'a self,
        target: &'a str,
        message: OutboundMessage,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        self.0
            .lock()
            .expect("lock")
            .push((target.to_string(), message));
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_event_goes_to_its_queue_destination_and_its_dead_letter_topic() {
    const QUEUE: &str = "arn:aws:sqs:us-east-1:000000000000:failures";
    const TOPIC: &str = "arn:aws:sns:us-east-1:000000000000:dead";
    let server = Server::new(Script::default().on_invoke(|_| {
        vec![Step::Fail {
            error_type: "Handled".into(),
            body: Bytes::from_static(br#"{"errorMessage":"it broke","errorType":"Handled"}"#),
        }]
    }));
    let sent = Arc::new(Sent::default());
    server.queue.send_messages_with(sent.clone());
    let mut new = testing::new_function("f");
    new.dead_letter_target_arn = Some(TOPIC.into());
    testing::create(&server.engine, new).await;
    server
        .engine
        .put_event_invoke_config(
            &function("f"),
            EventInvokeSettings {
                maximum_retry_attempts: Some(0),
                maximum_event_age_in_seconds: None,
                destination_config: Some(DestinationConfig {
                    on_success: Destination::default(),
                    on_failure: Destination {
                        destination: Some(QUEUE.into()),
                    },
                }),
            },
        )
        .expect("the configuration");
    let host = server.host().await;
    server.enqueue("f", "req-3", r#"{"n":3}"#).await;
    eventually("the record and the dead letter are sent", || {
        sent.all().len() == 2
    })
    .await;
    host.stop(Duration::from_secs(1)).await;
    let sent = sent.all();
    let (target, record) = &sent[0];
    assert_eq!(target, QUEUE);
    assert!(record.attributes.is_empty());
    let record: serde_json::Value = serde_json::from_str(&record.body).expect("JSON");
    assert_eq!(record["requestContext"]["requestId"], "req-3");
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(record["requestPayload"], serde_json::json!({"n": 3}));
    assert_eq!(record["responseContext"]["functionError"], "Unhandled");
    let (target, letter) = &sent[1];
    assert_eq!(target, TOPIC);
    assert_eq!(letter.body, r#"{"n":3}"#);
    assert_eq!(
        letter.attributes,
        [
            MessageAttribute::new("RequestID", "String", "req-3"),
            MessageAttribute::new("ErrorCode", "Number", "200"),
            MessageAttribute::new("ErrorMessage", "String", "it broke"),
        ]
    );
}

/// The headers the runtimes were given, and the functions whose invocations recursive
/// loop detection dropped.
#[derive(Default)]
struct Traces {
    headers: std::sync::Mutex<Vec<String>>,
    dropped: std::sync::Mutex<Vec<String>>,
}

impl hearth_engine::observe::Observer for Traces {
    fn invoked(&self, i: &hearth_engine::observe::Invoked<'_>) {
        self.headers
            .lock()
            .expect("not poisoned")
            .push(i.trace_header.to_string());
    }

    fn recursive_invocation_dropped(&self, function: &str) {
        self.dropped
            .lock()
            .expect("not poisoned")
            .push(function.to_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callers_trace_reaches_the_attempt_and_a_looped_event_goes_to_its_failure_targets() {
    const QUEUE: &str = "arn:aws:sqs:us-east-1:000000000000:failures";
    const TOPIC: &str = "arn:aws:sns:us-east-1:000000000000:dead";
    const ROOT: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0";
    let traces = Arc::new(Traces::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let config = hearth_engine::EngineConfig {
        observer: hearth_engine::observe::ObserverHandle(traces.clone()),
        ..testing::config(Duration::from_secs(600))
    };
    let (engine, path, records) = testing::scripted(dir.path(), Script::default(), config);
    let store = engine.store().clone();
    let queue = open_queue(&store, &engine);
    let invoker = Invoker::new(path, Arc::new(queue.clone()));
    let server = Server {
        store,
        engine,
        records,
        queue,
        invoker,
        _dir: dir,
    };
    let sent = Arc::new(Sent::default());
    server.queue.send_messages_with(sent.clone());
    let mut new = testing::new_function("f");
    new.dead_letter_target_arn = Some(TOPIC.into());
    testing::create(&server.engine, new).await;
    server
        .engine
        .put_event_invoke_config(
            &function("f"),
            EventInvokeSettings {
                maximum_retry_attempts: Some(2),
                maximum_event_age_in_seconds: None,
                destination_config: Some(DestinationConfig {
                    on_success: Destination::default(),
                    on_failure: Destination {
                        destination: Some(QUEUE.into()),
                    },
                }),
            },
        )
        .expect("the configuration");
    let host = server.host().await;

    // An Invoke's header is handed to the attempt as it came (not counted).
    server
        .enqueue_traced("f", "req-1", r#"{"n":1}"#, Some(ROOT), false)
        .await;
    eventually("the event runs", || !server.records.events().is_empty()).await;
    // The observer hears of the attempt once it has ended, after the runtime answered.
    eventually("the attempt is observed", || {
        !traces.headers.lock().expect("headers").is_empty()
    })
    .await;
    assert_eq!(*traces.headers.lock().expect("headers"), [ROOT]);

    // An SNS event of a chain that has invoked f 16 times is not run, nor retried: it goes
    // to the on-failure destination and the dead-letter topic.
    let h = hearth_traces::function_hash(&hearth_model::arn::function_arn("f", None));
    let looped = format!("{ROOT};Lineage={h}:16");
    server
        .enqueue_traced("f", "req-2", r#"{"n":2}"#, Some(&looped), true)
        .await;
    eventually("the record and the dead letter are sent", || {
        sent.all().len() == 2
    })
    .await;
    host.stop(Duration::from_secs(1)).await;
    assert_eq!(
        server.records.events().len(),
        1,
        "the looped event never ran"
    );
    assert_eq!(*traces.dropped.lock().expect("dropped"), ["f"]);
    let sent = sent.all();
    assert_eq!(sent[0].0, QUEUE);
    let record: serde_json::Value = serde_json::from_str(&sent[0].1.body).expect("JSON");
    assert_eq!(record["requestContext"]["requestId"], "req-2");
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 0);
    assert_eq!(
        record["responsePayload"]["errorType"],
        "RecursiveInvocationException"
    );
    assert_eq!(sent[1].0, TOPIC);
    assert_eq!(sent[1].1.body, r#"{"n":2}"#);
}
