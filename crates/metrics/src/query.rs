//! The read side shared by GetMetricStatistics, GetMetricData and alarms: a metric's
//! points bucketed by period from the request's start (rounded as AWS rounds it), and
//! AWS's rules on periods and the age of data.

use std::collections::BTreeMap;

use crate::params::invalid;
use crate::point::PointStats;
use crate::series::{series_id, Unit};
use crate::statistic::Statistic;
use crate::stats::Stats;
use crate::{CloudWatch, CloudWatchError};

pub(crate) const MINUTE_MS: i64 = 60_000;
pub(crate) const HOUR_MS: i64 = 60 * MINUTE_MS;
pub(crate) const DAY_MS: i64 = 24 * HOUR_MS;

/// A metric: namespace, name and dimensions (sorted by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricRef {
    pub namespace: String,
    pub name: String,
    pub dimensions: Vec<(String, String)>,
}

/// Periods below a minute AWS accepts (high-resolution metrics).
const SHORT_PERIODS: [i64; 5] = [1, 5, 10, 20, 30];

/// A `Period`: 1, 5, 10, 20 or 30 seconds, or a multiple of 60 (GetMetricStatistics'
/// documentation).
pub(crate) fn check_period(p: i64, name: &str) -> Result<u32, CloudWatchError> {
    let ok = if p < 60 {
        SHORT_PERIODS.contains(&p)
    } else {
        p % 60 == 0
    };
    match u32::try_from(p) {
        Ok(v) if ok => Ok(v),
        // UNSURE: AWS's exact message.
        _ => Err(invalid(format!(
            "The parameter {name} must be 1, 5, 10, 20, 30, or a multiple of 60."
        ))),
    }
}

/// The resolution data of that age is kept at: 1 s for 3 hours, then 60 s until 15
/// days, 300 s until 63 days, 3600 s after (AWS's retention, GetMetricStatistics'
/// documentation).
pub(crate) fn resolution_at_age(age_ms: i64) -> i64 {
    if age_ms > 63 * DAY_MS {
        3600
    } else if age_ms > 15 * DAY_MS {
        300
    } else if age_ms > 3 * HOUR_MS {
        60
    } else {
        1
    }
}

/// The start AWS reads from: rounded down to the minute (to 5 minutes beyond 15 days,
/// the hour beyond 63), or to the period's division of a minute for periods below 60.
pub(crate) fn align_start(now_ms: i64, start_ms: i64, period_s: u32) -> i64 {
    let step = if period_s < 60 {
        i64::from(period_s)
    } else {
        resolution_at_age(now_ms - start_ms).max(60)
    } * 1000;
    start_ms - start_ms.rem_euclid(step)
}

/// Whether data from `start_ms` is kept at a resolution that `period_s` can be made of;
/// else AWS answers no datapoints.
pub(crate) fn period_served(now_ms: i64, start_ms: i64, period_s: u32) -> bool {
    i64::from(period_s) % resolution_at_age(now_ms - start_ms) == 0
}

impl PointStats {
    /// The aggregate of `unit`'s data, or of all units' for `None`.
    pub(crate) fn combined(&self, unit: Option<Unit>) -> Option<Stats> {
        let mut out: Option<Stats> = None;
        for (u, s) in &self.by_unit {
            if unit.is_some_and(|want| want.0 != *u) {
                continue;
            }
            match &mut out {
                Some(o) => o.merge(s),
                None => out = Some(s.clone()),
            }
        }
        out
    }
}

impl CloudWatch {
    /// The points of `account`'s `metric` with `start_ms <= start < end_ms`, merged by
    /// period of `period_s` counted from `start_ms` (already aligned): every row of one
    /// period (several flushes, several resolutions) in one aggregate per unit.
    pub(crate) fn buckets(
        &self,
        account: &str,
        metric: &MetricRef,
        start_ms: i64,
        end_ms: i64,
        period_s: u32,
    ) -> Result<BTreeMap<i64, PointStats>, CloudWatchError> {
        let id = series_id(account, &metric.namespace, &metric.name, &metric.dimensions);
        let period = i64::from(period_s) * 1000;
        let mut out: BTreeMap<i64, PointStats> = BTreeMap::new();
        for p in self.store.metric_points(&id, start_ms, end_ms)? {
            let stats = match PointStats::decode(&p.stats) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(series = %id, start_ms = p.start_ms, "skipping a metric point: {e}");
                    continue;
                }
            };
            let bucket = start_ms + (p.start_ms - start_ms).div_euclid(period) * period;
            out.entry(bucket).or_default().merge(&stats);
        }
        Ok(out)
    }

    /// For alarms (the query API, see `data.rs`): `account`'s `metric` as datapoints
    /// `(period_start_ms, value)` of `stat` over periods of `period_s` from `from_ms`
    /// (rounded as AWS rounds a request's start) to `to_ms`, in time order, of `unit`'s
    /// data only where given. Periods without data, or without a value of `stat`, are
    /// absent. What the recorder holds is flushed first.
    #[allow(clippy::too_many_arguments)]
    pub fn metric_datapoints(
        &self,
        account: &str,
        metric: &MetricRef,
        period_s: u32,
        stat: &Statistic,
        unit: Option<Unit>,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, f64)>, CloudWatchError> {
        self.flush()?;
        self.datapoints_flushed(account, metric, period_s, stat, unit, from_ms, to_ms)
    }

    /// [`Self::metric_datapoints`] without the flush (a request flushes once).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn datapoints_flushed(
        &self,
        account: &str,
        metric: &MetricRef,
        period_s: u32,
        stat: &Statistic,
        unit: Option<Unit>,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, f64)>, CloudWatchError> {
        let now = self.now_ms();
        let start = align_start(now, from_ms, period_s);
        if !period_served(now, start, period_s) || start >= to_ms {
            return Ok(Vec::new());
        }
        Ok(self
            .buckets(account, metric, start, to_ms, period_s)?
            .into_iter()
            .filter_map(|(t, p)| {
                p.combined(unit)
                    .and_then(|s| stat.value(&s))
                    .map(|v| (t, v))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_as_aws_accepts_them() {
        for ok in [1, 5, 10, 20, 30, 60, 120, 300, 86_400] {
            assert_eq!(check_period(ok, "Period"), Ok(ok as u32));
        }
        for bad in [0, -60, 2, 45, 90, 61] {
            assert_eq!(
                check_period(bad, "Period").map_err(|e| e.code),
                Err("InvalidParameterValue".to_string())
            );
        }
    }

    #[test]
    fn starts_round_down_by_age() {
        let now = 100 * DAY_MS;
        let t = now - DAY_MS + 12 * MINUTE_MS + 34_000; // hh:12:34
        assert_eq!(align_start(now, t, 60), t - 34_000);
        assert_eq!(align_start(now, t, 10), t - 4_000);
        let t = now - 20 * DAY_MS + 32 * MINUTE_MS + 34_000;
        assert_eq!(align_start(now, t, 60), t - 2 * MINUTE_MS - 34_000);
        let t = now - 70 * DAY_MS + 32 * MINUTE_MS + 34_000;
        assert_eq!(align_start(now, t, 3600), t - 32 * MINUTE_MS - 34_000);
    }

    #[test]
    fn old_data_needs_long_periods() {
        let now = 100 * DAY_MS;
        assert!(period_served(now, now - HOUR_MS, 1));
        assert!(!period_served(now, now - 4 * HOUR_MS, 30));
        assert!(period_served(now, now - 4 * HOUR_MS, 60));
        assert!(!period_served(now, now - 16 * DAY_MS, 60));
        assert!(period_served(now, now - 16 * DAY_MS, 600));
        assert!(!period_served(now, now - 64 * DAY_MS, 300));
        assert!(period_served(now, now - 64 * DAY_MS, 7200));
    }
}
