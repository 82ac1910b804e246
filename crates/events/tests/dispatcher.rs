//! The dispatcher as the server runs it: an event source under a `Host`, delivering
//! what `Invoker::enqueue` queued through the same invoker, to an engine whose
//! environments are scripted runtimes (nothing needs root).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use hearth_engine::{Catalog, Engine, EngineConfig, NewFunction};
use hearth_events::{AsyncQueue, EventsConfig};
use hearth_model::{FunctionRef, State};
use hearth_sandbox::scripted::{Records, Script, ScriptedSandbox, Step};
use hearth_store::Store;
use hearth_triggers::{EnqueueRequest, EventSource, Host, Invoker, SourceContext};

/// How long [`eventually`] waits before it calls a test failed (never a measured time).
const PATIENCE: Duration = Duration::from_secs(20);

/// The `provided` runtimes need nothing installed, so an empty catalogue directory does.
fn catalog() -> Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG
        .get_or_init(|| Catalog::discover(&std::env::temp_dir().join("hearth-no-runtimes")))
        .clone()
}

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
        let store = Store::open(&dir.path().join("data")).expect("store");
        let sandbox = ScriptedSandbox::new(script);
        let records = sandbox.records();
        let engine = Engine::new(
            store.clone(),
            catalog(),
            Arc::new(sandbox),
            EngineConfig {
                idle_ttl: Duration::from_secs(600),
                account_concurrency: 1000,
                log_limits: Default::default(),
                log_backlog: hearth_store::LOG_BACKLOG,
            },
        )
        .expect("engine");
        let queue = open_queue(&store, &engine);
        let invoker = Invoker::new(engine.clone(), Arc::new(queue.clone()));
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
        self.engine
            .create_function(NewFunction {
                name: name.into(),
                runtime: "provided.al2023".into(),
                role: "arn:aws:iam::000000000000:role/hearth-test".into(),
                handler: "handler".into(),
                description: String::new(),
                timeout: 3,
                memory_size: 128,
                ephemeral_storage: 512,
                environment: Default::default(),
                architectures: vec!["x86_64".into()],
                dead_letter_target_arn: None,
                tags: Default::default(),
                zip: bootstrap_zip(),
                publish: false,
            })
            .await
            .expect("create the function");
        eventually("the function is active", || {
            self.engine
                .get_function(&function(name))
                .is_ok_and(|f| f.state == State::Active)
        })
        .await;
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
    )
    .expect("the async queue")
}

fn function(name: &str) -> FunctionRef {
    FunctionRef {
        name: name.into(),
        qualifier: None,
    }
}

/// A zip with an executable `bootstrap` the scripted sandbox never runs (the catalogue
/// checks it is there).
fn bootstrap_zip() -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    zip.start_file("bootstrap", opts).expect("zip entry");
    zip.write_all(b"#!/bin/sh\nexit 1\n").expect("zip write");
    zip.finish().expect("zip finish");
    buf.into_inner()
}

/// Waits until `cond` holds, polling; fails the test if it never does.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
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
