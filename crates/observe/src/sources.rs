//! The event-source mapping metrics (`AWS/Lambda`, dimension `EventSourceMappingUUID`,
//! unit `Count`) of mappings whose `MetricsConfig` has `EventCount`: the pollers count
//! their events here ([`hearth_mappings::MappingMetrics`]), per mapping and minute, and
//! the flush publishes them with Lambda's other metrics.

use std::collections::HashMap;
use std::sync::Mutex;

use hearth_mappings::EventCount;
use hearth_model::event_source_mapping::EventSourceMapping;

use crate::lambda::MetricSink;

/// One minute's counts of one mapping, by metric.
type Minute = HashMap<EventCount, u64>;

/// Counts by (account, mapping UUID), then by minute start (ms).
#[derive(Default)]
pub(crate) struct MappingCounts(Mutex<HashMap<(String, String), HashMap<i64, Minute>>>);

impl MappingCounts {
    pub(crate) fn count(&self, account: &str, uuid: &str, what: EventCount, n: u64, at_ms: i64) {
        let minute = at_ms - at_ms.rem_euclid(60_000);
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let key = (account.to_string(), uuid.to_string());
        *all.entry(key)
            .or_default()
            .entry(minute)
            .or_default()
            .entry(what)
            .or_default() += n;
    }

    /// Publishes everything counted since the last call to `sink`, in a stable order.
    pub(crate) fn publish(&self, sink: &dyn MetricSink) {
        let drained = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        let mut rows: Vec<(String, String, i64, &'static str, u64)> = Vec::new();
        for ((account, uuid), minutes) in drained {
            for (ts, counts) in minutes {
                for (what, n) in counts {
                    rows.push((account.clone(), uuid.clone(), ts, what.metric_name(), n));
                }
            }
        }
        rows.sort();
        for (account, uuid, ts, name, n) in rows {
            sink.count(&account, name, &[("EventSourceMappingUUID", &uuid)], ts, n);
        }
    }
}

impl hearth_mappings::MappingMetrics for crate::Observatory {
    fn counted(&self, mapping: &EventSourceMapping, what: EventCount, n: u64, at_ms: i64) {
        self.mappings
            .count(&mapping.account, &mapping.uuid, what, n, at_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_sink::Sink;

    /// `(account, name, dims, unit, ts, sum)` of what was published.
    type Row = (
        String,
        String,
        Vec<(String, String)>,
        &'static str,
        i64,
        f64,
    );

    fn rows(sink: Sink) -> Vec<Row> {
        sink.rows()
            .into_iter()
            .map(|(a, n, d, u, ts, _, sum)| (a, n, d, u, ts, sum))
            .collect()
    }

    #[test]
    fn counts_add_up_per_mapping_and_minute_under_the_mapping_uuid() {
        let c = MappingCounts::default();
        c.count("111122223333", "u", EventCount::Polled, 3, 60_001);
        c.count("111122223333", "u", EventCount::Polled, 2, 119_999);
        c.count("111122223333", "u", EventCount::Deleted, 5, 120_000);
        let sink = Sink::default();
        c.publish(&sink);
        let dims = vec![("EventSourceMappingUUID".to_string(), "u".to_string())];
        let row = |name: &str, ts, sum| {
            (
                "111122223333".to_string(),
                name.to_string(),
                dims.clone(),
                "Count",
                ts,
                sum,
            )
        };
        assert_eq!(
            rows(sink),
            vec![
                row("PolledEventCount", 60_000, 5.0),
                row("DeletedEventCount", 120_000, 5.0),
            ]
        );
        let again = Sink::default();
        c.publish(&again);
        assert!(rows(again).is_empty());
    }
}
