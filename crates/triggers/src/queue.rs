//! [`EventQueue`]: the durable asynchronous queue as the [`crate::Invoker`] sees it. The
//! queue itself (rows, fairness, the dispatcher) is `hearth-events`; defining its
//! accepting side here keeps the layers one way: triggers below events, the server
//! joining them.

use bytes::Bytes;
use hearth_model::FunctionRef;
use hearth_store::WriteError;

use crate::source::BoxFuture;
use crate::EnqueueRequest;

/// An event whose function the engine found invocable when it was handed over. Only
/// [`crate::Invoker::enqueue`] makes one, after that check, so nothing reaches a queue
/// without it.
#[derive(Debug, Clone)]
pub struct InvocableEvent {
    request: EnqueueRequest,
}

impl InvocableEvent {
    pub(crate) fn checked(request: EnqueueRequest) -> Self {
        Self { request }
    }

    pub fn request_id(&self) -> &str {
        &self.request.request_id
    }

    pub fn function(&self) -> &FunctionRef {
        &self.request.function
    }

    pub fn payload(&self) -> &Bytes {
        &self.request.payload
    }

    /// The request, to be stored.
    pub fn into_request(self) -> EnqueueRequest {
        self.request
    }
}

/// Per function, the events of the queue not done yet (what `GET /_hearth/queue` and
/// `hearth ls` show).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStats {
    pub function: String,
    /// Events waiting (ready, or for a retry's due time).
    pub queued: usize,
    pub running: usize,
    /// Acceptance time of the oldest event not done yet.
    pub oldest_accepted_ms: i64,
}

/// The durable asynchronous queue.
pub trait EventQueue: Send + Sync {
    /// Writes the event durably (fsync'd) and queues it for delivery; resolves once the
    /// event is on disk, which is what a 202 promises.
    fn accept(&self, event: InvocableEvent) -> BoxFuture<'_, Result<(), WriteError>>;

    /// Per function with events not done.
    fn stats(&self) -> Vec<QueueStats>;
}
