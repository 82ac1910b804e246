//! An in-memory `MetricStore` for the tests of this crate (metric series and points only;
//! the alarm and metering calls fail).

use std::collections::BTreeMap;
use std::sync::Mutex;

use hearth_store::traits::Edit;
use hearth_store::{Edited, MeterRow, MetricPoint, MetricSeries, MetricStore, StoreError};

#[derive(Default)]
pub(crate) struct MemStore {
    pub(crate) series: Mutex<BTreeMap<String, MetricSeries>>,
    /// Points in the order written.
    pub(crate) points: Mutex<Vec<MetricPoint>>,
    /// Makes `add_metric_points` fail (a store that is down).
    pub(crate) fail_adds: Mutex<bool>,
}

fn unsupported() -> StoreError {
    StoreError::DiskFull("not in the test store".to_string())
}

impl MetricStore for MemStore {
    fn add_metric_points(
        &self,
        series: &[MetricSeries],
        points: &[MetricPoint],
    ) -> Result<(), StoreError> {
        if *self.fail_adds.lock().expect("lock") {
            return Err(unsupported());
        }
        let mut all = self.series.lock().expect("lock");
        for s in series {
            let e = all.entry(s.id.clone()).or_insert_with(|| s.clone());
            e.last_ms = e.last_ms.max(s.last_ms);
        }
        self.points
            .lock()
            .expect("lock")
            .extend(points.iter().cloned());
        Ok(())
    }

    fn get_metric_series(&self, id: &str) -> Result<Option<MetricSeries>, StoreError> {
        Ok(self.series.lock().expect("lock").get(id).cloned())
    }

    fn list_metric_series(
        &self,
        account: &str,
        namespace: Option<&str>,
        name: Option<&str>,
        active_since_ms: i64,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MetricSeries>, StoreError> {
        Ok(self
            .series
            .lock()
            .expect("lock")
            .values()
            .filter(|s| s.account == account)
            .filter(|s| namespace.is_none_or(|n| s.namespace == n))
            .filter(|s| name.is_none_or(|n| s.name == n))
            .filter(|s| s.last_ms >= active_since_ms)
            .filter(|s| after.is_none_or(|a| s.id.as_str() > a))
            .take(limit)
            .cloned()
            .collect())
    }

    fn metric_points(
        &self,
        series: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<MetricPoint>, StoreError> {
        let mut out: Vec<MetricPoint> = self
            .points
            .lock()
            .expect("lock")
            .iter()
            .filter(|p| p.series == series && from_ms <= p.start_ms && p.start_ms < to_ms)
            .cloned()
            .collect();
        out.sort_by_key(|p| (p.start_ms, p.resolution_s));
        Ok(out)
    }

    fn replace_metric_points(
        &self,
        series: &str,
        from_ms: i64,
        to_ms: i64,
        points: &[MetricPoint],
    ) -> Result<(), StoreError> {
        let mut all = self.points.lock().expect("lock");
        all.retain(|p| !(p.series == series && from_ms <= p.start_ms && p.start_ms < to_ms));
        all.extend(points.iter().cloned());
        Ok(())
    }

    fn metric_series_to_roll_up(
        &self,
        before_ms: i64,
        resolution_s: u32,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let mut ids: Vec<String> = self
            .points
            .lock()
            .expect("lock")
            .iter()
            .filter(|p| p.start_ms < before_ms && p.resolution_s < resolution_s)
            .filter(|p| after.is_none_or(|a| p.series.as_str() > a))
            .map(|p| p.series.clone())
            .collect();
        ids.sort();
        ids.dedup();
        ids.truncate(limit);
        Ok(ids)
    }

    fn delete_metric_points_before(&self, before_ms: i64) -> Result<usize, StoreError> {
        let mut all = self.points.lock().expect("lock");
        let n = all.len();
        all.retain(|p| p.start_ms >= before_ms);
        let gone = n - all.len();
        let left: Vec<String> = all.iter().map(|p| p.series.clone()).collect();
        self.series
            .lock()
            .expect("lock")
            .retain(|id, s| left.contains(id) || s.last_ms >= before_ms);
        Ok(gone)
    }

    fn put_metric_alarm(&self, _: &str, _: &str, _: &str) -> Result<(), StoreError> {
        Err(unsupported())
    }
    fn get_metric_alarm(&self, _: &str) -> Result<Option<String>, StoreError> {
        Err(unsupported())
    }
    fn edit_metric_alarm(
        &self,
        _: &str,
        _: Edit<'_, String>,
    ) -> Result<Edited<String>, StoreError> {
        Err(unsupported())
    }
    fn delete_metric_alarm(&self, _: &str) -> Result<bool, StoreError> {
        Err(unsupported())
    }
    fn list_metric_alarms(
        &self,
        _: &str,
        _: Option<&str>,
        _: Option<&str>,
        _: usize,
    ) -> Result<Vec<String>, StoreError> {
        Err(unsupported())
    }
    fn all_metric_alarms(&self) -> Result<Vec<String>, StoreError> {
        Err(unsupported())
    }
    fn add_alarm_history(&self, _: &str, _: &str, _: i64, _: &str) -> Result<(), StoreError> {
        Err(unsupported())
    }
    fn list_alarm_history(
        &self,
        _: &str,
        _: Option<&str>,
        _: i64,
        _: i64,
        _: usize,
        _: usize,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        Err(unsupported())
    }
    fn delete_alarm_history_before(&self, _: i64) -> Result<usize, StoreError> {
        Err(unsupported())
    }
    fn add_metering(&self, _: &[MeterRow]) -> Result<(), StoreError> {
        Err(unsupported())
    }
    fn metering(
        &self,
        _: &str,
        _: Option<&str>,
        _: i64,
        _: i64,
    ) -> Result<Vec<MeterRow>, StoreError> {
        Err(unsupported())
    }
    fn delete_metering_before(&self, _: i64) -> Result<usize, StoreError> {
        Err(unsupported())
    }
}
