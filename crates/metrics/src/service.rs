//! [`CloudWatch`]: the service over the store, its operations told apart by name and
//! handed to the module that owns them (metric data or alarms).

use std::sync::Arc;

use hearth_store::MetricStore;
use serde_json::Value;

use crate::{alarms, data, CloudWatchError};

/// CloudWatch over a store.
#[derive(Clone)]
pub struct CloudWatch {
    pub(crate) store: Arc<dyn MetricStore>,
    pub(crate) region: String,
    /// The clock, in ms since the epoch (injectable for tests of periods and alarms).
    pub(crate) clock: Clock,
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
