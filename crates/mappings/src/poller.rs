//! One enabled mapping's pollers: each receives a batch (long polling, up to the batch
//! size within the batching window), drops what the filters do not keep, invokes the
//! function synchronously through the invoker with the Lambda SQS event, and deletes
//! what succeeded. Pollers are added while batches come back full (a backlog), up to
//! the mapping's `MaximumConcurrency` and the function's reserved concurrency, and leave
//! again when the queue runs dry; a throttled poller backs off.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hearth_model::event_source_mapping::{sqs_queue, EventSourceMapping};
use hearth_model::limits::SYNC_REQUEST_MAX_BYTES;
use hearth_model::FunctionRef;
use hearth_store::Store;
use hearth_triggers::{EngineError, InvokeRequest, Invoker};
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::client::{Entry, Message, QueueClient, Receive};
use crate::event::{item_failures, record, BatchOutcome};
use crate::filter;
use crate::metrics::{Counter, EventCount};

/// SQS's most messages per ReceiveMessage, and longest long poll.
const RECEIVE_MAX: u32 = 10;
const LONG_POLL: u32 = 20;
/// Pollers of a mapping without `MaximumConcurrency`: Hearth runs on one machine.
pub const DEFAULT_POLLERS: usize = 5;
/// A throttled or failing poller's first and longest wait.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// A long poll that answers nothing sooner than this did not wait (a server whose long
/// polls end as it shuts down, an endpoint without long polling): the poller waits
/// before the next, rather than call again at once, in a loop that never yields when
/// the queue is in-process.
const EARLY_EMPTY: Duration = Duration::from_secs(1);

/// What became of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Processed {
    Done,
    Throttled,
    Problem,
}

/// A running mapping.
pub(crate) struct MappingRun {
    pub(crate) mapping: EventSourceMapping,
    client: Arc<dyn QueueClient>,
    invoker: Invoker,
    store: Store,
    stop: watch::Receiver<bool>,
    pollers: AtomicUsize,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// The last `LastProcessingResult` written, so that only a change is written.
    last_result: Mutex<Option<String>>,
    /// Where its event counts go (`MetricsConfig`).
    counter: Counter,
}

impl MappingRun {
    /// Starts the mapping's first poller.
    pub(crate) fn start(
        mapping: EventSourceMapping,
        client: Arc<dyn QueueClient>,
        invoker: Invoker,
        store: Store,
        stop: watch::Receiver<bool>,
        counter: Counter,
    ) -> Arc<Self> {
        let last_result = Mutex::new(mapping.last_processing_result.clone());
        let run = Arc::new(Self {
            mapping,
            client,
            invoker,
            store,
            stop,
            pollers: AtomicUsize::new(0),
            tasks: Mutex::new(Vec::new()),
            last_result,
            counter,
        });
        run.add_poller();
        run
    }

    /// Waits for the pollers to end (after the stop was signalled), up to `grace`.
    pub(crate) async fn join(&self, grace: Duration) {
        let tasks: Vec<JoinHandle<()>> = std::mem::take(&mut *self.lock_tasks());
        let all = futures_join(tasks);
        let _ = tokio::time::timeout(grace, all).await;
    }

    fn lock_tasks(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// How many pollers may run: the mapping's maximum concurrency, within the
    /// function's reserved concurrency.
    fn limit(&self) -> usize {
        let mut n = self
            .mapping
            .maximum_concurrency
            .map_or(DEFAULT_POLLERS, |c| c as usize);
        if let Some(r) = self.invoker.reserved_concurrency(&self.mapping.function) {
            n = n.min(usize::try_from(r.max(1)).unwrap_or(1));
        }
        n.max(1)
    }

    /// Adds a poller unless the limit is reached (two pollers seeing a backlog at once
    /// cannot both pass it).
    fn try_add_poller(self: &Arc<Self>) {
        let limit = self.limit();
        if self
            .pollers
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < limit).then_some(n + 1)
            })
            .is_ok()
        {
            self.spawn_poller();
        }
    }

    fn add_poller(self: &Arc<Self>) {
        self.pollers.fetch_add(1, Ordering::SeqCst);
        self.spawn_poller();
    }

    fn spawn_poller(self: &Arc<Self>) {
        let run = self.clone();
        let handle = tokio::spawn(async move { run.poll().await });
        let mut tasks = self.lock_tasks();
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }

    /// Leaves if other pollers remain (the queue ran dry); false for the last one.
    fn leave_if_not_last(&self) -> bool {
        self.pollers
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n > 1).then_some(n - 1)
            })
            .is_ok()
    }

    async fn poll(self: Arc<Self>) {
        let mut backoff = Duration::ZERO;
        let mut stop = self.stop.clone();
        loop {
            if self.stopped() {
                break;
            }
            if !backoff.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => break,
                }
            }
            let polled = Instant::now();
            let batch = tokio::select! {
                b = self.collect() => b,
                _ = stop.changed() => break,
            };
            let batch = match batch {
                Ok(b) => b,
                Err(problem) => {
                    self.record(problem).await;
                    backoff = next_backoff(backoff);
                    continue;
                }
            };
            if batch.is_empty() {
                if self.leave_if_not_last() {
                    return;
                }
                backoff = if polled.elapsed() < EARLY_EMPTY {
                    next_backoff(backoff)
                } else {
                    Duration::ZERO
                };
                continue;
            }
            let full = batch.len() as u32 >= self.mapping.batch_size.min(RECEIVE_MAX);
            if full {
                self.try_add_poller();
            }
            match self.process(batch).await {
                Processed::Done => backoff = Duration::ZERO,
                Processed::Throttled | Processed::Problem => backoff = next_backoff(backoff),
            }
        }
        self.pollers.fetch_sub(1, Ordering::SeqCst);
    }

    /// One batch: long polls until a message comes, then gathers up to the batch size
    /// within the batching window.
    async fn collect(&self) -> Result<Vec<Message>, String> {
        let arn = &self.mapping.event_source_arn;
        let size = self.mapping.batch_size.max(1) as usize;
        let window = Duration::from_secs(u64::from(self.mapping.maximum_batching_window));
        let mut batch: Vec<Message> = Vec::new();
        let mut first: Option<Instant> = None;
        loop {
            let wait = match first {
                None => LONG_POLL,
                Some(t) => {
                    let left = window.saturating_sub(t.elapsed());
                    if left.is_zero() {
                        break;
                    }
                    // Rounded up: a long poll that ends with the window, not a run of
                    // empty calls in its last second.
                    (left.as_secs_f64().ceil() as u32).min(LONG_POLL)
                }
            };
            let want = (size - batch.len()).min(RECEIVE_MAX as usize) as u32;
            let got = self
                .client
                .receive(
                    arn,
                    Receive {
                        max_messages: want,
                        wait_seconds: wait,
                        visibility_timeout: None,
                    },
                )
                .await
                .map_err(|e| {
                    if e.is_missing_queue() {
                        "PROBLEM: Queue not found".to_string()
                    } else {
                        tracing::warn!(mapping = %self.mapping.uuid, error = %e, "ReceiveMessage failed");
                        "PROBLEM: Cannot poll the queue".to_string()
                    }
                })?;
            if got.is_empty() && first.is_none() {
                // An empty long poll: nothing is waiting.
                return Ok(batch);
            }
            batch.extend(got);
            first.get_or_insert_with(Instant::now);
            if batch.len() >= size || window.is_zero() {
                break;
            }
        }
        Ok(batch)
    }

    fn count(&self, what: EventCount, n: usize) {
        self.counter.count(&self.mapping, what, n);
    }

    async fn process(&self, batch: Vec<Message>) -> Processed {
        let m = &self.mapping;
        self.count(EventCount::Polled, batch.len());
        let region = sqs_queue(&m.event_source_arn).map_or("us-east-1", |q| q.region);
        let patterns = m.filters.clone().unwrap_or_default();
        let mut kept: Vec<(Message, Value)> = Vec::new();
        let mut dropped: Vec<Message> = Vec::new();
        for msg in batch {
            let r = record(&msg, &m.event_source_arn, region);
            if filter::keeps(&patterns, &r) {
                kept.push((msg, r));
            } else {
                dropped.push(msg);
            }
        }
        // Lambda deletes what its filters drop.
        self.count(EventCount::FilteredOut, dropped.len());
        self.delete(dropped.iter()).await;
        // A batch is cut to what fits in one invocation's payload; the rest goes back to
        // the queue at once, for the next batch.
        let over = overflow(&kept);
        if over < kept.len() {
            let back: Vec<Message> = kept.drain(over..).map(|(msg, _)| msg).collect();
            self.release(&back).await;
        }
        if kept.is_empty() {
            return Processed::Done;
        }
        let ids: Vec<String> = kept.iter().map(|(msg, _)| msg.message_id.clone()).collect();
        let records: Vec<Value> = kept.iter().map(|(_, r)| r.clone()).collect();
        let payload = Bytes::from(json!({ "Records": records }).to_string());
        let function = FunctionRef {
            name: m.function.clone(),
            qualifier: m.qualifier.clone(),
        };
        let req = InvokeRequest {
            trace_id: batch_trace(kept.iter().map(|(msg, _)| msg)),
            counts_lineage: true,
            queued: crate::dwell::queued(kept.iter().map(|(msg, _)| msg)),
            ..InvokeRequest::new(uuid::Uuid::new_v4().to_string(), function, payload)
        };
        let invoked = self.invoker.invoke(req).await;
        if invoked.is_ok() {
            self.count(EventCount::Invoked, kept.len());
        }
        let outcome = match invoked {
            Ok(resp) if resp.function_error.is_some() => BatchOutcome::Failure,
            Ok(resp) if m.reports_item_failures() => item_failures(&resp.payload, &ids),
            Ok(_) => BatchOutcome::Success,
            Err(e) => {
                self.count(EventCount::FailedInvoke, kept.len());
                let (result, processed) = invoke_problem(&e);
                self.record(result.to_string()).await;
                return processed;
            }
        };
        match outcome {
            BatchOutcome::Success => {
                self.delete(kept.iter().map(|(msg, _)| msg)).await;
                self.record("OK".into()).await;
                Processed::Done
            }
            BatchOutcome::Partial(failed) => {
                self.count(EventCount::FailedInvoke, failed.len());
                self.delete(
                    kept.iter()
                        .map(|(msg, _)| msg)
                        .filter(|msg| !failed.contains(&msg.message_id)),
                )
                .await;
                self.record("OK".into()).await;
                Processed::Done
            }
            // Left in the queue: the messages are received again once their
            // visibility timeout passes, and reach the dead-letter queue by its redrive
            // policy.
            BatchOutcome::Failure => {
                self.count(EventCount::FailedInvoke, kept.len());
                self.record("PROBLEM: Function call failed".into()).await;
                Processed::Problem
            }
        }
    }

    /// Deletes messages, ten to a DeleteMessageBatch.
    async fn delete<'a>(&self, messages: impl Iterator<Item = &'a Message>) {
        let entries: Vec<Entry> = messages
            .enumerate()
            .map(|(i, msg)| Entry {
                id: i.to_string(),
                receipt_handle: msg.receipt_handle.clone(),
            })
            .collect();
        for chunk in entries.chunks(RECEIVE_MAX as usize) {
            match self
                .client
                .delete_batch(&self.mapping.event_source_arn, chunk.to_vec())
                .await
            {
                Ok(failed) if failed.is_empty() => self.count(EventCount::Deleted, chunk.len()),
                Ok(failed) => {
                    self.count(
                        EventCount::Deleted,
                        chunk.len().saturating_sub(failed.len()),
                    );
                    tracing::warn!(mapping = %self.mapping.uuid, ?failed, "messages not deleted")
                }
                Err(e) => {
                    tracing::warn!(mapping = %self.mapping.uuid, error = %e, "DeleteMessageBatch failed")
                }
            }
        }
    }

    /// Makes messages visible again now (ChangeMessageVisibilityBatch to 0).
    async fn release(&self, messages: &[Message]) {
        let entries: Vec<Entry> = messages
            .iter()
            .enumerate()
            .map(|(i, msg)| Entry {
                id: i.to_string(),
                receipt_handle: msg.receipt_handle.clone(),
            })
            .collect();
        for chunk in entries.chunks(RECEIVE_MAX as usize) {
            if let Err(e) = self
                .client
                .change_visibility_batch(&self.mapping.event_source_arn, chunk.to_vec(), 0)
                .await
            {
                tracing::warn!(mapping = %self.mapping.uuid, error = %e, "ChangeMessageVisibilityBatch failed");
            }
        }
    }

    /// Writes `LastProcessingResult` when it changed.
    async fn record(&self, result: String) {
        {
            let mut last = self.last_result.lock().unwrap_or_else(|p| p.into_inner());
            if last.as_deref() == Some(result.as_str()) {
                return;
            }
            *last = Some(result.clone());
        }
        let store = self.store.clone();
        let uuid = self.mapping.uuid.clone();
        let written = tokio::task::spawn_blocking(move || {
            store.mappings().edit_mapping(
                &uuid,
                Box::new(move |m| {
                    m.last_processing_result = Some(result);
                    true
                }),
            )
        })
        .await;
        if let Ok(Err(e)) = written {
            tracing::warn!(mapping = %self.mapping.uuid, error = %e, "cannot record the processing result");
        }
    }
}

/// The trace header a batch's invocation continues: the first message's
/// `AWSTraceHeader` that has one. AWS documents the attribute per message (each record's
/// `attributes.AWSTraceHeader`) and, for X-Ray, that the Lambda segment of a batch links
/// to the traces of its messages; which one trace the function's own header continues is
/// not documented (UNSURE: Hearth takes the first, so a single-message batch, the case
/// recursive loop detection is about, continues its message's trace and `Lineage`).
fn batch_trace<'a>(mut messages: impl Iterator<Item = &'a Message>) -> Option<String> {
    messages.find_map(|m| m.attributes.get("AWSTraceHeader").cloned())
}

/// What an invocation that did not run says, and how the poller goes on.
fn invoke_problem(e: &EngineError) -> (&'static str, Processed) {
    if matches!(e, EngineError::RecursiveInvocation(_)) {
        // The messages stay in the queue (not deleted): received again after their
        // visibility timeout, dropped again, until the queue's redrive policy moves them
        // to its dead-letter queue, or they expire without one, as on AWS.
        // UNSURE: the `LastProcessingResult` AWS shows for it.
        return (
            "PROBLEM: Function call stopped by recursive loop detection",
            Processed::Problem,
        );
    }
    if e.is_throttle() {
        ("PROBLEM: Function call throttled", Processed::Throttled)
    } else if matches!(e, EngineError::NotFound(_)) {
        ("PROBLEM: Function not found", Processed::Problem)
    } else {
        ("PROBLEM: Function call failed", Processed::Problem)
    }
}

/// How many of the records, in order, fit in one synchronous invocation's payload
/// (`{"Records":[...]}`); at least one, whose invocation is refused if it alone is too
/// large, as Lambda's would be.
fn overflow(records: &[(Message, Value)]) -> usize {
    let mut size = r#"{"Records":[]}"#.len();
    for (i, (_, r)) in records.iter().enumerate() {
        size += r.to_string().len() + usize::from(i > 0);
        if size > SYNC_REQUEST_MAX_BYTES && i > 0 {
            return i;
        }
    }
    records.len()
}

fn next_backoff(current: Duration) -> Duration {
    (current * 2).clamp(BACKOFF_MIN, BACKOFF_MAX)
}

async fn futures_join(tasks: Vec<JoinHandle<()>>) {
    for t in tasks {
        let _ = t.await;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn a_batch_is_cut_to_what_one_payload_holds() {
        let big = |id: &str| {
            let m = Message {
                message_id: id.into(),
                body: "x".repeat(2 * 1024 * 1024),
                ..Default::default()
            };
            let r = crate::event::record(&m, "arn:aws:sqs:us-east-1:000000000000:q", "us-east-1");
            (m, r)
        };
        let batch = vec![big("a"), big("b"), big("c"), big("d")];
        assert_eq!(overflow(&batch), 2);
        assert_eq!(overflow(&batch[..1]), 1);
    }

    #[test]
    fn a_batch_continues_the_first_trace_among_its_messages() {
        let msg = |id: &str, trace: Option<&str>| Message {
            message_id: id.into(),
            attributes: trace
                .map(|t| BTreeMap::from([("AWSTraceHeader".to_string(), t.to_string())]))
                .unwrap_or_default(),
            ..Default::default()
        };
        let batch = [
            msg("a", None),
            msg(
                "b",
                Some("Root=1-5759e988-bd862e3fe1be46a994272793;Lineage=a87bd80c:3"),
            ),
            msg("c", Some("Root=1-5759e988-bd862e3fe1be46a994272794")),
        ];
        assert_eq!(
            batch_trace(batch.iter()).as_deref(),
            Some("Root=1-5759e988-bd862e3fe1be46a994272793;Lineage=a87bd80c:3")
        );
        assert_eq!(batch_trace(batch[..1].iter()), None);
        assert_eq!(
            invoke_problem(&EngineError::RecursiveInvocation("loop".into())),
            (
                "PROBLEM: Function call stopped by recursive loop detection",
                Processed::Problem
            )
        );
    }

    #[test]
    fn backoff_doubles_within_its_bounds() {
        assert_eq!(next_backoff(Duration::ZERO), BACKOFF_MIN);
        assert_eq!(next_backoff(BACKOFF_MIN), BACKOFF_MIN * 2);
        assert_eq!(next_backoff(BACKOFF_MAX), BACKOFF_MAX);
    }
}
