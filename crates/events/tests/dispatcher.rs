//! The dispatcher as the server runs it: an event source under a `Host`, delivering
//! what `Invoker::enqueue` queued through the same invoker, to an engine whose
//! environments are scripted runtimes (nothing needs root).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hearth_engine::testing::{self, eventually};
use hearth_engine::Engine;
use hearth_events::{AsyncQueue, EventsConfig};
use hearth_model::FunctionRef;
use hearth_sandbox::scripted::{Records, Script, Step};
use hearth_store::Store;
use hearth_triggers::{EnqueueRequest, EventSource, Host, Invoker, SourceContext};

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
        self.invoker
            .enqueue(EnqueueRequest {
                request_id: request_id.into(),
                function: function(name),
                payload: Bytes::from_static(payload.as_bytes()),
                client_context: Some(r#"{"custom":{"k":"v"}}"#.into()),
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
