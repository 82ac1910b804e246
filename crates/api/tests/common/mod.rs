//! The in-process control plane the api crate's tests drive: a fresh store in a temporary
//! data directory, an engine on the process sandbox, and the router over them.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hearth_engine::{Catalog, Engine, EngineConfig};
use hearth_sandbox::ProcessSandbox;
use hearth_store::Store;

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
    let events = hearth_events::Events::start(engine.clone(), Default::default()).expect("events");
    (hearth_api::router(engine, events), store, dir)
}
