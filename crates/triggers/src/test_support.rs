//! What the crate's tests share: an engine over a temporary store, and a queue that keeps
//! what reaches it.

use std::sync::{Arc, Mutex};

use hearth_engine::InvokePath;
use hearth_store::WriteError;

use crate::queue::{EventQueue, InvocableEvent, QueueStats};
use crate::source::BoxFuture;
use crate::{Invoker, SourceContext};

/// The invoke path of an engine on a fresh store (no function yet), and the directory
/// it lives in.
pub(crate) fn engine() -> (InvokePath, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    (hearth_engine::testing::engine(dir.path()).1, dir)
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
