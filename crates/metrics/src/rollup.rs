//! Retention: high-resolution points are kept 3 hours, then as one-minute points until
//! `minute_days` (15), five-minute points until 63 days, one-hour points until 455 days,
//! then deleted (AWS's retention; each configurable). A pass also compacts the rows of
//! one closed period that separate flushes wrote into one.
//!
//! Each level remembers (on this node) the cutoff its last pass reached and reads only
//! from there on, so that a pass reads new rows, not a series' whole history; a node's
//! first pass reads everything once. Rows that arrive behind a level's cutoff (data
//! PutMetricData accepts up to two weeks back) are merged by the next level.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use hearth_store::MetricPoint;

use crate::point::PointStats;
use crate::query::{DAY_MS, HOUR_MS, MINUTE_MS};
use crate::{CloudWatch, CloudWatchError};

/// Series handled per store call.
const BATCH: usize = 100;

/// How long data is kept at each resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// High-resolution (1 s) points, in hours.
    pub high_res_hours: i64,
    /// One-minute points, in days.
    pub minute_days: i64,
    /// Five-minute points, in days.
    pub five_minute_days: i64,
    /// One-hour points, in days; older data is deleted.
    pub hour_days: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            high_res_hours: 3,
            minute_days: 15,
            five_minute_days: 63,
            hour_days: 455,
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RollupReport {
    /// Series whose points moved to a longer period.
    pub rolled: usize,
    /// Series whose duplicate rows of one period were merged.
    pub compacted: usize,
    /// Points deleted for age.
    pub deleted: usize,
}

/// Merges `points` by period: those shorter than `resolution_s` into periods of it,
/// longer ones kept at their own; several rows of one period become one.
fn merge(points: &[MetricPoint], resolution_s: u32) -> Vec<MetricPoint> {
    let mut by: BTreeMap<(i64, u32), PointStats> = BTreeMap::new();
    let series = points.first().map(|p| p.series.clone()).unwrap_or_default();
    for p in points {
        let Ok(stats) = PointStats::decode(&p.stats) else {
            tracing::warn!(series = %p.series, start_ms = p.start_ms, "dropping an undecodable metric point");
            continue;
        };
        let key = if p.resolution_s < resolution_s {
            let len = i64::from(resolution_s) * 1000;
            (p.start_ms - p.start_ms.rem_euclid(len), resolution_s)
        } else {
            (p.start_ms, p.resolution_s)
        };
        by.entry(key).or_default().merge(&stats);
    }
    by.into_iter()
        .map(|((start_ms, resolution_s), s)| MetricPoint {
            series: series.clone(),
            start_ms,
            resolution_s,
            stats: s.encode(),
        })
        .collect()
}

impl CloudWatch {
    /// This service keeping data for `retention`.
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// One retention pass at `now_ms`: rolls points up to longer periods as they age,
    /// compacts rows of closed periods, deletes what is past retention. The caller runs
    /// it on one node at a time (under a store lease).
    pub fn roll_up(&self, now_ms: i64) -> Result<RollupReport, CloudWatchError> {
        let r = self.retention;
        let mut report = RollupReport::default();
        let marks = &self.rolled_until;
        for (level, (resolution_s, age_ms)) in [
            (60u32, r.high_res_hours * HOUR_MS),
            (300, r.minute_days * DAY_MS),
            (3600, r.five_minute_days * DAY_MS),
        ]
        .into_iter()
        .enumerate()
        {
            let len = i64::from(resolution_s) * 1000;
            let cutoff = (now_ms - age_ms).div_euclid(len) * len;
            // A cutoff aligned to the level's period: no period spans two passes.
            let from = marks[level].load(Ordering::Relaxed).min(cutoff);
            report.rolled += self.rewrite(cutoff, resolution_s, from, cutoff, resolution_s)?;
            marks[level].store(cutoff, Ordering::Relaxed);
        }
        // Rows of closed periods not yet rolled up, from the minute data's oldest.
        let closed = (now_ms - 2 * MINUTE_MS).div_euclid(MINUTE_MS) * MINUTE_MS;
        let floor = now_ms - r.minute_days * DAY_MS;
        let from = marks[3].load(Ordering::Relaxed).max(floor);
        if from < closed {
            report.compacted += self.rewrite(closed, u32::MAX, from, closed, 1)?;
            marks[3].store(closed, Ordering::Relaxed);
        }
        report.deleted = self
            .store
            .delete_metric_points_before(now_ms - r.hour_days * DAY_MS)?;
        Ok(report)
    }

    /// For each series with a point before `before_ms` shorter than `shorter_than`,
    /// merges its points in `from_ms..to_ms` to `resolution_s`; answers how many series
    /// changed.
    fn rewrite(
        &self,
        before_ms: i64,
        shorter_than: u32,
        from_ms: i64,
        to_ms: i64,
        resolution_s: u32,
    ) -> Result<usize, CloudWatchError> {
        let mut after: Option<String> = None;
        let mut changed = 0;
        loop {
            let ids = self.store.metric_series_to_roll_up(
                before_ms,
                shorter_than,
                after.as_deref(),
                BATCH,
            )?;
            for id in &ids {
                let points = self.store.metric_points(id, from_ms, to_ms)?;
                let merged = merge(&points, resolution_s);
                if merged.len() != points.len()
                    || merged
                        .iter()
                        .zip(&points)
                        .any(|(a, b)| a.resolution_s != b.resolution_s || a.start_ms != b.start_ms)
                {
                    self.store
                        .replace_metric_points(id, from_ms, to_ms, &merged)?;
                    changed += 1;
                }
            }
            if ids.len() < BATCH {
                return Ok(changed);
            }
            after = ids.last().cloned();
        }
    }
}
