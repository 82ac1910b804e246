//! Asynchronous invocation: the durable event queue, its dispatcher, retries and
//! destinations.
//!
//! [`AsyncQueue`] is the queue behind `hearth_triggers::Invoker::enqueue`: an accepted
//! event is written to the store's queue table and fsync'd (in a group commit shared by
//! every event accepted meanwhile) before the caller's 202. [`Dispatcher`] is the event
//! source that delivers the queued events: it runs them through the invoker (the
//! engine's one invoke path), within a bound on events running at once and each
//! function's reserved concurrency, with functions taking turns.
//!
//! An event's row goes only when the event is done, in a commit that follows its log
//! lines and carries any destination record it produced as a new event: so a crash at
//! any moment loses nothing, and an event that was running is run again after a restart
//! (at-least-once).

mod deliver;
mod policy;
mod queue;
mod record;
mod source;

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hearth_model::time::now_ms;
use hearth_store::{Change, Durability, QueueOp, QueuedEvent, Store, WriteError, Writer};
use hearth_triggers::{BoxFuture, EventQueue, InvocableEvent, QueueStats};
use tokio::sync::Notify;

pub use source::Dispatcher;

/// Settings of the async machinery.
#[derive(Debug, Clone)]
pub struct EventsConfig {
    /// Delays before the first and second retry of a function error (Lambda: about 1 and
    /// 2 minutes).
    pub retry_delays: Vec<Duration>,
    /// Events running at once, over all functions.
    pub max_running: usize,
    /// Payload bytes kept in memory; beyond it payloads are read from the store.
    pub payload_budget: usize,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            retry_delays: vec![Duration::from_secs(60), Duration::from_secs(120)],
            max_running: 16,
            payload_budget: 256 * 1024 * 1024,
        }
    }
}

struct Shared {
    store: Store,
    /// The engine's writer: a change submitted after an invocation's log lines is
    /// committed no earlier than them.
    writer: Writer,
    queue: Mutex<queue::Queue>,
    wake: Notify,
    next_seq: AtomicI64,
    stopping: AtomicBool,
    config: EventsConfig,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, queue::Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn seq(&self) -> i64 {
        self.next_seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Puts new events (written already) in the queue and wakes the dispatcher.
    fn enqueue(&self, events: impl IntoIterator<Item = queue::Pending>) {
        let now = now_ms();
        let mut q = self.queue();
        for p in events {
            q.push(p, now);
        }
        drop(q);
        self.wake.notify_one();
    }

    /// Writes an event durably and queues it.
    async fn accept(&self, event: InvocableEvent) -> Result<(), WriteError> {
        let req = event.into_request();
        let now = now_ms();
        let event = QueuedEvent {
            seq: self.seq(),
            request_id: req.request_id,
            function: req.function.name,
            qualifier: req.function.qualifier,
            client_context: req.client_context,
            accepted_ms: now,
            due_ms: now,
            progress: Default::default(),
        };
        self.writer
            .commit(
                vec![Change::Queue(QueueOp::Insert(
                    event.clone(),
                    req.payload.clone(),
                ))],
                Durability::Synced,
            )
            .await?;
        self.enqueue([queue::Pending {
            event,
            payload: Some(req.payload),
        }]);
        Ok(())
    }
}

/// Cheap to clone; every clone is the same queue.
#[derive(Clone)]
pub struct AsyncQueue {
    shared: Arc<Shared>,
}

impl AsyncQueue {
    /// The queue over `store`'s queue rows, with the events a previous run left queued
    /// (running ones included: they run again). `writer` must be the engine's, so that
    /// an event's outcome is committed no earlier than its invocation's log lines.
    /// Nothing is delivered until its [`AsyncQueue::dispatcher`] starts.
    pub fn open(
        store: Store,
        writer: Writer,
        config: EventsConfig,
    ) -> Result<Self, hearth_store::StoreError> {
        let left = store.queue().queued_events()?;
        let last_seq = store.queue().last_queue_seq()?;
        if !left.is_empty() {
            tracing::info!(events = left.len(), "resuming the async queue");
        }
        let shared = Arc::new(Shared {
            store,
            writer,
            queue: Mutex::new(queue::Queue::new(config.payload_budget)),
            wake: Notify::new(),
            next_seq: AtomicI64::new(last_seq),
            stopping: AtomicBool::new(false),
            config,
        });
        shared.enqueue(left.into_iter().map(|event| queue::Pending {
            event,
            payload: None,
        }));
        Ok(Self { shared })
    }

    /// The event source that delivers this queue's events; the server starts one.
    pub fn dispatcher(&self) -> Dispatcher {
        Dispatcher::new(self.shared.clone())
    }
}

impl EventQueue for AsyncQueue {
    fn accept(&self, event: InvocableEvent) -> BoxFuture<'_, Result<(), WriteError>> {
        Box::pin(self.shared.accept(event))
    }

    fn stats(&self) -> Vec<QueueStats> {
        self.shared.queue().stats()
    }
}
