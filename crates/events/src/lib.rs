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
//!
//! In a fleet, many nodes share the queue table. An event is held by the node that
//! accepted it (its row's owner) and run only there; every node claims now and then the
//! events whose holder is gone (see `claims`), and a node whose own heartbeats are not
//! current (its [`Standing`]) starts no attempt and lets go of what waits in memory,
//! reading back what is still its own once it is in good standing again. Every change
//! it makes to an event is fenced by its name, so an event taken over while it was cut
//! off is not touched by it.

mod claims;
mod deliver;
mod policy;
mod queue;
mod record;
mod report;
mod source;

use std::ops::Range;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use hearth_model::time::now_ms;
use hearth_store::{
    Change, Durability, QueueOp, QueuedEvent, Standing, Store, StoreError, WriteError, Writer,
};
use hearth_triggers::{BoxFuture, EventQueue, InvocableEvent, MessageSink, QueueStats};
use tokio::sync::Notify;

pub use report::{AsyncObserver, AsyncReport, DropReason, Happened};
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
    /// How often the node looks for events whose holder is gone.
    pub claim_every: Duration,
    /// How many it claims at a time (it claims again at once while there are more).
    pub claim_batch: usize,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            retry_delays: vec![Duration::from_secs(60), Duration::from_secs(120)],
            max_running: 16,
            payload_budget: 256 * 1024 * 1024,
            claim_every: Duration::from_secs(2),
            claim_batch: 512,
        }
    }
}

/// The node a queue runs on: its name on the events it holds, and whether it may act
/// on them (its heartbeats' [`Standing`]).
#[derive(Clone)]
pub struct Holder {
    pub node: String,
    pub standing: Standing,
}

impl Holder {
    /// The only user of its store, always in good standing (tests).
    pub fn alone(node: &str) -> Self {
        Self {
            node: node.into(),
            standing: Standing::always(),
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
    /// Sequence numbers this node may still give.
    seqs: Mutex<Range<i64>>,
    holder: Holder,
    /// What waited in memory was let go (the node fell out of good standing or was
    /// drained): what is still its own is read back before it runs anything again.
    let_go: AtomicBool,
    stopping: AtomicBool,
    config: EventsConfig,
    /// Where records for queue and topic destinations, and dead letters, go: set once
    /// by the server when it has those services.
    sink: OnceLock<Arc<dyn MessageSink>>,
    /// Where the queue's reports go (set once by the server).
    observer: OnceLock<Arc<dyn AsyncObserver>>,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, queue::Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A sequence number no node has given; a new block from the store when this
    /// node's is used up (a round trip every [`hearth_store::SEQ_BLOCK`] events).
    fn seq(&self) -> Result<i64, StoreError> {
        let mut seqs = self.seqs.lock().unwrap_or_else(|p| p.into_inner());
        if seqs.is_empty() {
            *seqs = self.store.queue().queue_seqs()?;
        }
        let seq = seqs.start;
        seqs.start += 1;
        Ok(seq)
    }

    /// Tells the observer, if any, what `what` happened to `event` now.
    fn report(&self, event: &QueuedEvent, what: Happened) {
        self.report_at(event, what, now_ms());
    }

    fn report_at(&self, event: &QueuedEvent, what: Happened, at_ms: i64) {
        if let Some(o) = self.observer.get() {
            o.report(&AsyncReport {
                function: &event.function,
                qualifier: event.qualifier.as_deref(),
                at_ms,
                what,
            });
        }
    }

    /// Whether the node may start attempts: in good standing and not drained.
    fn may_run(&self) -> bool {
        self.holder.standing.is_good() && !self.holder.standing.draining()
    }

    /// The holder an event accepted now gets: this node, or no one while it drains
    /// (for another node to claim).
    fn new_owner(&self) -> Option<String> {
        (!self.holder.standing.draining()).then(|| self.holder.node.clone())
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
        let owner = self.new_owner();
        let event = QueuedEvent {
            seq: self.seq()?,
            owner: owner.clone(),
            request_id: req.request_id,
            function: req.function.name,
            qualifier: req.function.qualifier,
            client_context: req.client_context,
            accepted_ms: now,
            due_ms: now,
            progress: Default::default(),
            trace_header: req.trace_header,
            counts_lineage: req.counts_lineage,
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
        self.report_at(&event, Happened::Received, now);
        if owner.is_some() {
            self.enqueue([queue::Pending {
                event,
                payload: Some(req.payload),
            }]);
        }
        Ok(())
    }
}

/// Cheap to clone; every clone is the same queue.
#[derive(Clone)]
pub struct AsyncQueue {
    shared: Arc<Shared>,
}

impl AsyncQueue {
    /// The queue over `store`'s queue rows, held as `holder`'s: with the events a
    /// previous run of this node left queued (running ones included: they run again) and
    /// those no live node holds, if the node is in good standing (else once it is).
    /// `writer` must be the engine's, so that an event's outcome is committed no
    /// earlier than its invocation's log lines. Nothing is delivered until its
    /// [`AsyncQueue::dispatcher`] starts.
    pub fn open(
        store: Store,
        writer: Writer,
        config: EventsConfig,
        holder: Holder,
    ) -> Result<Self, StoreError> {
        let seqs = store.queue().queue_seqs()?;
        let shared = Arc::new(Shared {
            store,
            writer,
            queue: Mutex::new(queue::Queue::new(config.payload_budget)),
            wake: Notify::new(),
            seqs: Mutex::new(seqs),
            holder,
            let_go: AtomicBool::new(true),
            stopping: AtomicBool::new(false),
            config,
            sink: OnceLock::new(),
            observer: OnceLock::new(),
        });
        if shared.may_run() {
            let resumed = claims::read_back(&shared)?;
            if resumed > 0 {
                tracing::info!(events = resumed, "resuming the async queue");
            }
        }
        Ok(Self { shared })
    }

    /// Gives the queue the services that take records for queue and topic destinations
    /// and dead letters (the first call counts). Without one such a record is dropped
    /// with a warning.
    pub fn send_messages_with(&self, sink: Arc<dyn MessageSink>) {
        let _ = self.shared.sink.set(sink);
    }

    /// Gives the queue the observer of what happens to its events (the first call
    /// counts): see [`AsyncObserver`].
    pub fn report_to(&self, observer: Arc<dyn AsyncObserver>) {
        let _ = self.shared.observer.set(observer);
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
