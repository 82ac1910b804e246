//! Asynchronous invocation: the durable event queue, its dispatcher, retries and
//! destinations.
//!
//! An accepted event is written to the store's queue table and fsync'd (in a group
//! commit shared by every event accepted meanwhile) before the caller's 202. The
//! dispatcher runs queued events through the engine's normal invoke path, within a
//! bound on events running at once and each function's reserved concurrency, with
//! functions taking turns. An event's row goes only when the event is done, in a commit
//! that follows its log lines and carries any destination record it produced as a new
//! event: so a crash at any moment loses nothing, and an event that was running is run
//! again after a restart (at-least-once).

mod deliver;
mod policy;
mod queue;
mod record;

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use hearth_engine::{Engine, EngineError};
use hearth_model::time::now_ms;
use hearth_model::FunctionRef;
use hearth_store::{Change, Durability, QueueOp, QueuedEvent};
use tokio::sync::Notify;

pub use queue::QueueStats;

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

/// An Invoke with `InvocationType: Event` (or InvokeAsync), validated by the API.
#[derive(Debug, Clone)]
pub struct AcceptRequest {
    /// The 202's `x-amzn-RequestId`, and the id the function sees.
    pub request_id: String,
    pub function: FunctionRef,
    pub payload: Bytes,
    pub client_context: Option<String>,
}

struct Shared {
    engine: Engine,
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
}

/// Cheap to clone; every clone is the same queue.
#[derive(Clone)]
pub struct Events {
    shared: Arc<Shared>,
}

impl Events {
    /// Loads the events a previous run left queued (running ones included: they run
    /// again) and starts the dispatcher. Must be called inside the tokio runtime.
    pub fn start(engine: Engine, config: EventsConfig) -> Result<Self, hearth_store::StoreError> {
        let store = engine.store().clone();
        let left = store.queue().queued_events()?;
        let last_seq = store.queue().last_queue_seq()?;
        if !left.is_empty() {
            tracing::info!(events = left.len(), "resuming the async queue");
        }
        let shared = Arc::new(Shared {
            engine,
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
        tokio::spawn(deliver::dispatch(shared.clone()));
        Ok(Self { shared })
    }

    /// Accepts an event: checks the function can be invoked, writes the event durably,
    /// and queues it. Returns once the event is on disk.
    pub async fn accept(&self, req: AcceptRequest) -> Result<(), EngineError> {
        let s = &self.shared;
        s.engine.check_invocable(&req.function)?;
        let now = now_ms();
        let event = QueuedEvent {
            seq: s.seq(),
            request_id: req.request_id,
            function: req.function.name,
            qualifier: req.function.qualifier,
            client_context: req.client_context,
            accepted_ms: now,
            due_ms: now,
            progress: Default::default(),
        };
        s.engine
            .writer()
            .commit(
                vec![Change::Queue(QueueOp::Insert(
                    event.clone(),
                    req.payload.clone(),
                ))],
                Durability::Synced,
            )
            .await?;
        s.enqueue([queue::Pending {
            event,
            payload: Some(req.payload),
        }]);
        Ok(())
    }

    /// Per function with events not done: how many wait, how many run, and the
    /// acceptance time of the oldest.
    pub fn stats(&self) -> Vec<QueueStats> {
        self.shared.queue().stats()
    }

    /// Stops starting attempts and waits up to `grace` for running ones to finish; what
    /// is still running after it runs again at the next start.
    pub async fn stop(&self, grace: Duration) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.shared.wake.notify_one();
        let deadline = tokio::time::Instant::now() + grace;
        while self.shared.queue().running() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
