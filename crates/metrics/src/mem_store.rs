//! The in-memory [`MetricStore`] of this crate's tests: metric series and points (with a
//! switch that makes writes fail, as a store that is down), alarms and their history.
//! Metering is not kept: nothing in this crate reads it.

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
    /// ARN → (account, record).
    alarms: Mutex<BTreeMap<String, (String, String)>>,
    /// (account, name, ts, data), in insertion order.
    history: Mutex<Vec<(String, String, i64, String)>>,
}

/// What a write to a store that is down answers.
fn down() -> StoreError {
    StoreError::DiskFull("the test store is down".to_string())
}

fn name_of(arn: &str) -> &str {
    arn.split_once(":alarm:").map(|(_, n)| n).unwrap_or(arn)
}

impl MetricStore for MemStore {
    fn add_metric_points(
        &self,
        series: &[MetricSeries],
        points: &[MetricPoint],
    ) -> Result<(), StoreError> {
        if *self.fail_adds.lock().expect("lock") {
            return Err(down());
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

    fn put_metric_alarm(&self, account: &str, arn: &str, data: &str) -> Result<(), StoreError> {
        let mut a = self.alarms.lock().expect("lock");
        a.insert(arn.to_string(), (account.to_string(), data.to_string()));
        Ok(())
    }
    fn get_metric_alarm(&self, arn: &str) -> Result<Option<String>, StoreError> {
        let a = self.alarms.lock().expect("lock");
        Ok(a.get(arn).map(|(_, d)| d.clone()))
    }
    fn edit_metric_alarm(
        &self,
        arn: &str,
        edit: Edit<'_, String>,
    ) -> Result<Edited<String>, StoreError> {
        let mut a = self.alarms.lock().expect("lock");
        let Some((_, data)) = a.get_mut(arn) else {
            return Ok(Edited::Missing);
        };
        let mut copy = data.clone();
        if !edit(&mut copy) {
            return Ok(Edited::Declined);
        }
        *data = copy.clone();
        Ok(Edited::Done(copy))
    }
    fn delete_metric_alarm(&self, arn: &str) -> Result<bool, StoreError> {
        Ok(self.alarms.lock().expect("lock").remove(arn).is_some())
    }
    fn list_metric_alarms(
        &self,
        account: &str,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let a = self.alarms.lock().expect("lock");
        let mut rows: Vec<(&str, &String)> = a
            .iter()
            .filter(|(arn, (acc, _))| {
                let n = name_of(arn);
                acc == account
                    && prefix.is_none_or(|p| n.starts_with(p))
                    && after.is_none_or(|x| n > x)
            })
            .map(|(arn, (_, d))| (name_of(arn), d))
            .collect();
        rows.sort_by_key(|(n, _)| *n);
        Ok(rows
            .into_iter()
            .take(limit)
            .map(|(_, d)| d.clone())
            .collect())
    }
    fn all_metric_alarms(&self) -> Result<Vec<String>, StoreError> {
        let a = self.alarms.lock().expect("lock");
        Ok(a.values().map(|(_, d)| d.clone()).collect())
    }
    fn add_alarm_history(
        &self,
        account: &str,
        name: &str,
        ts_ms: i64,
        data: &str,
    ) -> Result<(), StoreError> {
        let mut h = self.history.lock().expect("lock");
        h.push((account.into(), name.into(), ts_ms, data.into()));
        Ok(())
    }
    fn list_alarm_history(
        &self,
        account: &str,
        name: Option<&str>,
        from_ms: i64,
        to_ms: i64,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let h = self.history.lock().expect("lock");
        let mut rows: Vec<(usize, i64, String)> = h
            .iter()
            .enumerate()
            .filter(|(_, (acc, n, ts, _))| {
                acc == account && name.is_none_or(|x| x == n) && *ts >= from_ms && *ts < to_ms
            })
            .map(|(i, (_, _, ts, d))| (i, *ts, d.clone()))
            .collect();
        // Newest first; of one instant, the later written first.
        rows.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
        Ok(rows
            .into_iter()
            .skip(skip)
            .take(limit)
            .map(|(_, ts, d)| (ts, d))
            .collect())
    }
    fn delete_alarm_history_before(&self, before_ms: i64) -> Result<usize, StoreError> {
        let mut h = self.history.lock().expect("lock");
        let n = h.len();
        h.retain(|(_, _, ts, _)| *ts >= before_ms);
        Ok(n - h.len())
    }

    fn add_metering(&self, _: &[MeterRow]) -> Result<(), StoreError> {
        Ok(())
    }
    fn metering(
        &self,
        _: &str,
        _: Option<&str>,
        _: i64,
        _: i64,
    ) -> Result<Vec<MeterRow>, StoreError> {
        Ok(vec![])
    }
    fn delete_metering_before(&self, _: i64) -> Result<usize, StoreError> {
        Ok(0)
    }
}
