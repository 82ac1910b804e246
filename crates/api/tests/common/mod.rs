//! The in-process control plane the api crate's tests drive: a fresh store in a temporary
//! data directory, an engine on the process sandbox, the async queue with its
//! dispatcher, and the router over them.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hearth_engine::{Catalog, Engine, EngineConfig};
use hearth_events::AsyncQueue;
use hearth_sandbox::ProcessSandbox;
use hearth_store::Store;
use hearth_triggers::{EventSource, Invoker, SourceContext};

/// The router, its store, and the directory both live in (dropped last).
pub fn app() -> (Router, Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("data")).expect("store");
    let engine = Engine::new(
        store.clone(),
        Catalog::discover(&dir.path().join("runtimes")),
        Arc::new(ProcessSandbox),
        EngineConfig {
            idle_ttl: Duration::from_secs(60),
            account_concurrency: 1000,
            log_limits: Default::default(),
            log_backlog: hearth_store::LOG_BACKLOG,
        },
    )
    .expect("engine");
    (
        hearth_api::router(engine.clone(), invoker(&engine)),
        store,
        dir,
    )
}

/// The invoker over `engine` and a fresh async queue, whose dispatcher runs until the
/// test's runtime ends.
fn invoker(engine: &Engine) -> Invoker {
    let queue = AsyncQueue::open(
        engine.store().clone(),
        engine.writer().clone(),
        Default::default(),
    )
    .expect("the async queue");
    let invoker = Invoker::new(engine.clone(), Arc::new(queue.clone()));
    let dispatcher = Box::new(queue.dispatcher()).start(SourceContext::new(invoker.clone()));
    // Dropping the handle leaves the dispatcher running; the test never stops it.
    drop(dispatcher.expect("the dispatcher starts"));
    invoker
}
