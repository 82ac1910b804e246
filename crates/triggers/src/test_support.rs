//! What the crate's tests share: an engine over a temporary store, and a queue that keeps
//! what reaches it.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use hearth_engine::{Catalog, Engine, EngineConfig};
use hearth_sandbox::ProcessSandbox;
use hearth_store::{Store, WriteError};

use crate::queue::{EventQueue, InvocableEvent, QueueStats};
use crate::source::BoxFuture;
use crate::{Invoker, SourceContext};

/// The host's catalogue, found once per test binary (finding interpreters takes a while);
/// its runtimes directory is never created, so nothing counts as installed.
fn catalog() -> Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG
        .get_or_init(|| Catalog::discover(&std::env::temp_dir().join("hearth-no-runtimes")))
        .clone()
}

/// An engine on a fresh store (no function yet), and the directory it lives in.
pub(crate) fn engine() -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("data")).expect("store");
    let engine = Engine::new(
        store,
        catalog(),
        Arc::new(ProcessSandbox),
        EngineConfig {
            idle_ttl: Duration::from_secs(60),
            account_concurrency: 1000,
            log_limits: Default::default(),
            log_backlog: hearth_store::LOG_BACKLOG,
        },
    )
    .expect("engine");
    (engine, dir)
}

/// A source's context over [`engine`] and a [`Kept`] queue.
pub(crate) fn context() -> (SourceContext, tempfile::TempDir) {
    let (engine, dir) = engine();
    let invoker = Invoker::new(engine, Arc::new(Kept::default()));
    (SourceContext::new(invoker), dir)
}

/// A queue that keeps the request ids it is handed, to see what reaches it.
#[derive(Default)]
pub(crate) struct Kept(Mutex<Vec<String>>);

impl Kept {
    pub(crate) fn accepted(&self) -> Vec<String> {
        self.0.lock().expect("not poisoned").clone()
    }
}

impl EventQueue for Kept {
    fn accept(&self, event: InvocableEvent) -> BoxFuture<'_, Result<(), WriteError>> {
        self.0
            .lock()
            .expect("not poisoned")
            .push(event.request_id().to_string());
        Box::pin(async { Ok(()) })
    }

    fn stats(&self) -> Vec<QueueStats> {
        Vec::new()
    }
}
