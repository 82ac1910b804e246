//! A [`MetricSink`] for tests: keeps everything published, in order.

use std::sync::Mutex;

use hearth_metrics::{Stats, Unit};

use crate::MetricSink;

/// One published datum: `(account, name, dimensions, unit, ts_ms, count, sum)`.
pub(crate) type Published = (
    String,
    String,
    Vec<(String, String)>,
    &'static str,
    i64,
    f64,
    f64,
);

#[derive(Default)]
pub(crate) struct Sink(Mutex<Vec<Published>>);

impl Sink {
    /// Everything published, in order.
    pub(crate) fn rows(self) -> Vec<Published> {
        self.0.into_inner().expect("sink")
    }
}

impl MetricSink for Sink {
    fn record(
        &self,
        account: &str,
        name: &str,
        dimensions: &[(&str, &str)],
        unit: Unit,
        ts_ms: i64,
        stats: &Stats,
    ) {
        self.0.lock().expect("sink").push((
            account.into(),
            name.into(),
            dimensions
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            unit.name(),
            ts_ms,
            stats.count,
            stats.sum,
        ));
    }
}
