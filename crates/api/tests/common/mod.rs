//! The in-process control plane the api crate's tests drive: a fresh store in a temporary
//! data directory, an engine on the process sandbox, the async queue with its
//! dispatcher, and the router over them.

use std::sync::Arc;

use axum::Router;
use hearth_engine::{Engine, InvokePath};
use hearth_events::AsyncQueue;
use hearth_store::Store;
use hearth_triggers::{EventSource, Invoker, SourceContext};

/// The router, its store, and the directory both live in (dropped last).
#[allow(dead_code)] // not every test file uses the default authorizer
pub fn app() -> (Router, Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (engine, path) = hearth_engine::testing::engine(dir.path());
    let store = engine.store().clone();
    let invoker = invoker(&engine, path);
    (hearth_api::router(engine, invoker), store, dir)
}

/// [`app`] with the identity policies of `authorizer`.
#[allow(dead_code)] // not every test file authorises
pub fn app_with(authorizer: hearth_api::SharedAuthorizer) -> (Router, Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (engine, path) = hearth_engine::testing::engine(dir.path());
    let store = engine.store().clone();
    let invoker = invoker(&engine, path);
    (
        hearth_api::router_with(engine, invoker, authorizer),
        store,
        dir,
    )
}

/// The invoker over `engine` and a fresh async queue, whose dispatcher runs until the
/// test's runtime ends.
fn invoker(engine: &Engine, path: InvokePath) -> Invoker {
    let queue = AsyncQueue::open(
        engine.store().clone(),
        engine.writer().clone(),
        Default::default(),
    )
    .expect("the async queue");
    let invoker = Invoker::new(path, Arc::new(queue.clone()));
    let dispatcher = Box::new(queue.dispatcher()).start(SourceContext::new(invoker.clone()));
    // Dropping the handle leaves the dispatcher running; the test never stops it.
    drop(dispatcher.expect("the dispatcher starts"));
    invoker
}
