//! What a mapping with `MetricsConfig` `EventCount` counts of its events, handed to the
//! server's [`MappingMetrics`] (which publishes them as the `AWS/Lambda` event-source
//! mapping metrics under `EventSourceMappingUUID`): this crate counts, and knows nothing
//! of where the counts go.

use hearth_model::event_source_mapping::EventSourceMapping;

/// The event counts Lambda publishes for an SQS mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventCount {
    /// Messages received from the queue (`PolledEventCount`).
    Polled,
    /// Messages the filters dropped (`FilteredOutEventCount`).
    FilteredOut,
    /// Messages in batches the function was invoked with (`InvokedEventCount`).
    Invoked,
    /// Messages of batches whose invocation failed: refused (throttled, no function),
    /// a function error, or reported in `batchItemFailures` (`FailedInvokeEventCount`).
    FailedInvoke,
    /// Messages deleted from the queue after processing, those the filters dropped
    /// included (`DeletedEventCount`).
    Deleted,
}

impl EventCount {
    /// The metric's name in `AWS/Lambda`.
    pub fn metric_name(self) -> &'static str {
        match self {
            Self::Polled => "PolledEventCount",
            Self::FilteredOut => "FilteredOutEventCount",
            Self::Invoked => "InvokedEventCount",
            Self::FailedInvoke => "FailedInvokeEventCount",
            Self::Deleted => "DeletedEventCount",
        }
    }
}

/// Where a mapping's counts go. Called on the poller's task: must be cheap.
pub trait MappingMetrics: Send + Sync {
    /// `n` events of `mapping` were counted as `what` at `at_ms`.
    fn counted(&self, mapping: &EventSourceMapping, what: EventCount, n: u64, at_ms: i64);
}

/// Counts for one mapping's run: nothing unless the mapping asked for its event counts
/// and the server gave somewhere to put them.
#[derive(Clone, Default)]
pub(crate) struct Counter(Option<std::sync::Arc<dyn MappingMetrics>>);

impl Counter {
    pub(crate) fn for_mapping(
        mapping: &EventSourceMapping,
        metrics: Option<&std::sync::Arc<dyn MappingMetrics>>,
    ) -> Self {
        Self(metrics.filter(|_| mapping.counts_events()).cloned())
    }

    pub(crate) fn count(&self, mapping: &EventSourceMapping, what: EventCount, n: usize) {
        if let (Some(m), true) = (&self.0, n > 0) {
            m.counted(mapping, what, n as u64, hearth_model::time::now_ms());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Default)]
    struct Seen(Mutex<Vec<(String, &'static str, u64)>>);

    impl MappingMetrics for Seen {
        fn counted(&self, m: &EventSourceMapping, what: EventCount, n: u64, _at_ms: i64) {
            let row = (m.uuid.clone(), what.metric_name(), n);
            self.0.lock().expect("seen").push(row);
        }
    }

    #[test]
    fn only_a_mapping_with_event_count_counts_and_nothing_is_told_of_none() {
        let seen = Arc::new(Seen::default());
        let sink: Arc<dyn MappingMetrics> = seen.clone();
        let mut m =
            hearth_model::testing::mapping("u", "f", "arn:aws:sqs:us-east-1:000000000000:q");
        Counter::for_mapping(&m, Some(&sink)).count(&m, EventCount::Polled, 3);
        m.metrics = Some(vec!["EventCount".into()]);
        let counter = Counter::for_mapping(&m, Some(&sink));
        counter.count(&m, EventCount::Polled, 3);
        counter.count(&m, EventCount::Deleted, 0);
        counter.count(&m, EventCount::Invoked, 2);
        Counter::for_mapping(&m, None).count(&m, EventCount::Polled, 1);
        assert_eq!(
            *seen.0.lock().expect("seen"),
            vec![
                ("u".to_string(), "PolledEventCount", 3),
                ("u".to_string(), "InvokedEventCount", 2)
            ]
        );
    }
}
