//! One subscriber at work: records offered by the producer go into its [`Buffer`] without
//! waiting, and a tokio task sends batches when they are due, retrying with backoff.
//!
//! Retries: AWS retries "with backoff" when there is no listener or the POST fails, without a
//! count; Hearth tries a batch [`DELIVERY_ATTEMPTS`] times, waiting
//! [`RETRY_BACKOFF_INITIAL`] then twice as long each time, and then gives it up and counts
//! its records as dropped (reported by the next batch's `platform.logsDropped`). Records
//! keep arriving meanwhile, up to the buffer's backlog bound.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::bounds::{DELIVERY_ATTEMPTS, LOGS_DROPPED_REASON, RETRY_BACKOFF_INITIAL};
use crate::buffer::{Batch, Buffer, Pushed};
use crate::destination::Resolver;
use crate::event::{Event, LogsDropped, Record};
use crate::subscription::Subscription;
use crate::transport::{Sink, Transport};

/// The clock records are stamped with (a parameter so tests fix it).
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// What a subscriber's task and its handle share.
struct Shared {
    subscription: Subscription,
    buffer: Mutex<Buffer>,
    wake: Notify,
    closing: AtomicBool,
}

impl Shared {
    fn buffer(&self) -> MutexGuard<'_, Buffer> {
        // A panic while holding the lock leaves the buffer consistent (every method finishes
        // its changes before returning), so a poisoned lock is still usable.
        self.buffer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running subscriber (see the module docs).
pub struct Subscriber {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("subscription", &self.shared.subscription)
            .finish()
    }
}

impl Subscriber {
    /// Starts the delivery task for `subscription`, sending to `addr` (the destination
    /// resolved by the caller). Must be called within a tokio runtime.
    pub fn spawn(
        subscription: Subscription,
        (addr, resolver): (SocketAddr, Arc<dyn Resolver>),
        clock: Arc<dyn Clock>,
    ) -> Self {
        let destination = subscription.destination.clone();
        let sink = Sink::Net(Transport::new(destination, addr, resolver));
        Self::spawn_with(subscription, sink, clock)
    }

    fn spawn_with(subscription: Subscription, sink: Sink, clock: Arc<dyn Clock>) -> Self {
        let shared = Arc::new(Shared {
            buffer: Mutex::new(Buffer::new(subscription.buffering)),
            subscription,
            wake: Notify::new(),
            closing: AtomicBool::new(false),
        });
        let task = tokio::spawn(run(Arc::clone(&shared), sink, clock));
        Subscriber { shared, task }
    }

    /// The subscription this subscriber serves.
    pub fn subscription(&self) -> &Subscription {
        &self.shared.subscription
    }

    /// Offers an event: it is buffered if the subscriber asked for its type and its schema
    /// has such a record. Never waits: when the buffer is full the record is dropped and
    /// counted. Returns what happened, `None` when the event is not for this subscriber.
    pub fn offer(&self, event: &Event) -> Option<Pushed> {
        if !self
            .shared
            .subscription
            .types
            .contains(&event.record.event_type())
        {
            return None;
        }
        let rendered = event.render(self.shared.subscription.schema_version)?;
        let bytes = serde_json::to_vec(&rendered).expect("a JSON value always serializes");
        let pushed = self.shared.buffer().push(bytes, Instant::now());
        self.shared.wake.notify_one();
        Some(pushed)
    }

    /// Sends everything buffered (AWS flushes when the environment ends) and stops.
    pub async fn shutdown(mut self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        self.shared.wake.notify_one();
        if let Err(e) = (&mut self.task).await {
            tracing::warn!(error = %e, "telemetry delivery task ended abnormally");
        }
    }
}

impl Drop for Subscriber {
    /// A subscriber dropped without [`Subscriber::shutdown`] (its environment failed or went
    /// without a shutdown phase) stops its task rather than leave it waiting forever; after
    /// a shutdown the task has ended and this does nothing.
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the task does next.
enum Step {
    Send(Batch),
    Wait(Option<Instant>),
    Stop,
}

async fn run(shared: Arc<Shared>, mut transport: Sink, clock: Arc<dyn Clock>) {
    loop {
        let step = {
            let mut buffer = shared.buffer();
            let closing = shared.closing.load(Ordering::SeqCst);
            if buffer.due(Instant::now()) || (closing && !buffer.is_empty()) {
                match buffer.take() {
                    Some(batch) => Step::Send(batch),
                    None => Step::Wait(None),
                }
            } else if closing {
                Step::Stop
            } else {
                Step::Wait(buffer.deadline())
            }
        };
        match step {
            Step::Stop => return,
            Step::Send(batch) => {
                let delivered = deliver(&shared, &mut transport, clock.as_ref(), batch).await;
                // A subscriber that cannot be reached while the environment ends would
                // otherwise be retried forever with the count of what it lost.
                if !delivered && shared.closing.load(Ordering::SeqCst) {
                    return;
                }
            }
            Step::Wait(Some(deadline)) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline) => {}
                    _ = shared.wake.notified() => {}
                }
            }
            Step::Wait(None) => shared.wake.notified().await,
        }
    }
}

/// Sends a batch with its retries; `false` when it was given up.
async fn deliver(shared: &Shared, transport: &mut Sink, clock: &dyn Clock, batch: Batch) -> bool {
    let mut items = Vec::with_capacity(batch.items.len() + 1);
    if let Some(dropped) = batch.dropped {
        let event = Event {
            time: clock.now(),
            record: Record::LogsDropped(LogsDropped {
                reason: LOGS_DROPPED_REASON.to_owned(),
                dropped_records: dropped.records,
                dropped_bytes: dropped.bytes,
            }),
        };
        if let Some(rendered) = event.render(shared.subscription.schema_version) {
            items.push(serde_json::to_vec(&rendered).expect("a JSON value always serializes"));
        }
    }
    items.extend(batch.items.iter().cloned());
    let mut backoff = RETRY_BACKOFF_INITIAL;
    for attempt in 1..=DELIVERY_ATTEMPTS {
        match transport.send(&items).await {
            Ok(()) => return true,
            Err(e) => {
                tracing::debug!(error = %e, attempt, "telemetry delivery failed");
                if attempt < DELIVERY_ATTEMPTS {
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
            }
        }
    }
    tracing::warn!(
        records = batch.items.len(),
        "telemetry batch given up after {DELIVERY_ATTEMPTS} attempts"
    );
    let mut lost = batch.size();
    if let Some(dropped) = batch.dropped {
        lost.records += dropped.records;
        lost.bytes += dropped.bytes;
    }
    shared.buffer().note_dropped(lost);
    false
}

#[cfg(test)]
#[path = "subscriber_tests.rs"]
mod tests;
