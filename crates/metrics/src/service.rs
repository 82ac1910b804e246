//! [`CloudWatch`]: the service over the store, its operations told apart by name and
//! handed to the module that owns them (metric data or alarms).

use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Duration;

use hearth_store::MetricStore;
use serde_json::Value;

use crate::rollup::Retention;
use crate::{alarms, data, CloudWatchError, Recorder};

/// CloudWatch over a store.
#[derive(Clone)]
pub struct CloudWatch {
    pub(crate) store: Arc<dyn MetricStore>,
    pub(crate) region: String,
    /// The clock, in ms since the epoch (injectable for tests of periods and alarms).
    pub(crate) clock: Clock,
    /// What was recorded on this node and not yet flushed to the store.
    pub(crate) recorder: Arc<Recorder>,
    pub(crate) retention: Retention,
    /// Where this node's rollup passes stopped (ms): the 60-, 300- and 3600-second
    /// levels, then the compaction of recent rows (see `rollup.rs`).
    pub(crate) rolled_until: Arc<[AtomicI64; 4]>,
}

/// A clock in ms since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

impl CloudWatch {
    /// The store it keeps series, points and alarms in.
    pub fn store(&self) -> &Arc<dyn MetricStore> {
        &self.store
    }

    /// The region its ARNs name.
    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn new(store: Arc<dyn MetricStore>, region: &str) -> Self {
        Self {
            store,
            region: region.to_string(),
            clock: Arc::new(|| chrono::Utc::now().timestamp_millis()),
            recorder: Arc::new(Recorder::new()),
            retention: Retention::default(),
            rolled_until: Arc::new(std::array::from_fn(|_| AtomicI64::new(i64::MIN))),
        }
    }

    /// The accumulator the engine records invocation metrics into.
    pub fn recorder(&self) -> &Arc<Recorder> {
        &self.recorder
    }

    /// Writes what the recorder holds to the store (every read does it first).
    pub fn flush(&self) -> Result<usize, CloudWatchError> {
        Ok(self.recorder.flush(self.store.as_ref())?)
    }

    /// Flushes the recorder every `interval` (10 s in the server), forever: the caller
    /// spawns it. A failed flush keeps its points for the next.
    pub async fn run_flusher(self, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let cw = self.clone();
            let flushed = tokio::task::spawn_blocking(move || cw.flush()).await;
            match flushed {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!("flushing metrics failed: {e}"),
                Err(e) => tracing::warn!("the metrics flush task failed: {e}"),
            }
        }
    }

    /// This service with `clock` in place of the system's.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Now, by the service's clock, in ms since the epoch.
    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    /// Runs the operation `op` for `account` on `input` (its AWS JSON 1.0 form: timestamps
    /// as epoch seconds) and answers its output in the same form.
    pub async fn call(
        &self,
        account: &str,
        op: &str,
        input: Value,
    ) -> Result<Value, CloudWatchError> {
        if data::OPERATIONS.contains(&op) {
            return data::call(self, account, op, input).await;
        }
        if alarms::OPERATIONS.contains(&op) {
            return alarms::call(self, account, op, input).await;
        }
        Err(CloudWatchError::unknown_operation(op))
    }
}
