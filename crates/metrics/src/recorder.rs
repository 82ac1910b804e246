//! [`Recorder`]: the in-memory accumulator every invocation's metrics go through (and
//! PutMetricData's and the Embedded Metric Format's). Recording is cheap: the series is
//! found by a hash of the borrowed names under one of several locks, and a series seen
//! before allocates nothing (but for a histogram bucket new to the period). `drain`
//! hands the accumulated points to the store, whose rows of one period may then be
//! several (one per flush); reads merge them and the rollup compacts them.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use hearth_store::{MetricPoint, MetricSeries, MetricStore, StoreError};

use crate::point::PointStats;
use crate::series::{series_id, sorted_dimensions, Unit};
use crate::stats::Stats;

/// Independent locks: recordings of different series rarely wait on each other.
const SHARDS: usize = 16;

/// The accumulator.
pub struct Recorder {
    shards: Vec<Mutex<Shard>>,
}

#[derive(Default)]
struct Shard {
    by_hash: HashMap<u64, Vec<Entry>>,
}

struct Entry {
    series: MetricSeries,
    /// Whether points were added since the last drain (a series idle for a whole
    /// flush interval is forgotten).
    points: Vec<Acc>,
}

struct Acc {
    start_ms: i64,
    resolution_s: u32,
    stats: PointStats,
}

fn key_hash(account: &str, namespace: &str, name: &str, dims: &[(&str, &str)]) -> u64 {
    let mut h = DefaultHasher::new();
    (account, namespace, name).hash(&mut h);
    // Dimensions are a set: an order-independent combination of their hashes.
    let mut d = 0u64;
    for pair in dims {
        let mut hd = DefaultHasher::new();
        pair.hash(&mut hd);
        d = d.wrapping_add(hd.finish());
    }
    d.hash(&mut h);
    h.finish()
}

impl Entry {
    fn is(&self, account: &str, namespace: &str, name: &str, dims: &[(&str, &str)]) -> bool {
        let s = &self.series;
        s.account == account
            && s.namespace == namespace
            && s.name == name
            && s.dimensions.len() == dims.len()
            && dims.iter().all(|(n, v)| {
                s.dimensions
                    .binary_search_by(|(dn, _)| dn.as_str().cmp(n))
                    .is_ok_and(|i| s.dimensions[i].1 == *v)
            })
    }

    fn acc(&mut self, start_ms: i64, resolution_s: u32) -> &mut PointStats {
        // Recent periods are at the end: search from there.
        let found = self
            .points
            .iter()
            .rposition(|a| a.start_ms == start_ms && a.resolution_s == resolution_s);
        let i = match found {
            Some(i) => i,
            None => {
                self.points.push(Acc {
                    start_ms,
                    resolution_s,
                    stats: PointStats::default(),
                });
                self.points.len() - 1
            }
        };
        &mut self.points[i].stats
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    /// Records one value at `ts_ms` into its minute. `dimensions` may come in any
    /// order; the caller has checked names and values.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &self,
        account: &str,
        namespace: &str,
        name: &str,
        dimensions: &[(&str, &str)],
        unit: Unit,
        ts_ms: i64,
        value: f64,
    ) {
        self.with_entry(account, namespace, name, dimensions, ts_ms, |e| {
            e.acc(ts_ms.div_euclid(60_000) * 60_000, 60)
                .add_value(unit.0, value);
        });
    }

    /// Records an aggregate at `ts_ms` into its period of `resolution_s` (1 for
    /// high-resolution data, else 60).
    #[allow(clippy::too_many_arguments)]
    pub fn record_stats(
        &self,
        account: &str,
        namespace: &str,
        name: &str,
        dimensions: &[(&str, &str)],
        unit: Unit,
        resolution_s: u32,
        ts_ms: i64,
        stats: &Stats,
    ) {
        let period = i64::from(resolution_s.max(1)) * 1000;
        self.with_entry(account, namespace, name, dimensions, ts_ms, |e| {
            e.acc(ts_ms.div_euclid(period) * period, resolution_s.max(1))
                .add(unit.0, stats);
        });
    }

    fn with_entry(
        &self,
        account: &str,
        namespace: &str,
        name: &str,
        dims: &[(&str, &str)],
        ts_ms: i64,
        f: impl FnOnce(&mut Entry),
    ) {
        let h = key_hash(account, namespace, name, dims);
        let mut shard = self.shards[(h % SHARDS as u64) as usize]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = shard.by_hash.entry(h).or_default();
        let i = match bucket
            .iter()
            .position(|e| e.is(account, namespace, name, dims))
        {
            Some(i) => i,
            None => {
                let dimensions = sorted_dimensions(dims);
                bucket.push(Entry {
                    series: MetricSeries {
                        id: series_id(account, namespace, name, &dimensions),
                        account: account.to_string(),
                        namespace: namespace.to_string(),
                        name: name.to_string(),
                        dimensions,
                        last_ms: ts_ms,
                    },
                    points: Vec::new(),
                });
                bucket.len() - 1
            }
        };
        let entry = &mut bucket[i];
        if entry.points.is_empty() || ts_ms > entry.series.last_ms {
            entry.series.last_ms = ts_ms;
        }
        f(entry);
    }

    /// Takes every accumulated point, with its series (each `last_ms` the latest
    /// timestamp recorded since the last drain); series idle since then are forgotten.
    pub fn drain(&self) -> (Vec<MetricSeries>, Vec<MetricPoint>) {
        let (mut series, mut points) = (Vec::new(), Vec::new());
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            shard.by_hash.retain(|_, bucket| {
                bucket.retain_mut(|e| {
                    if e.points.is_empty() {
                        return false;
                    }
                    for a in e.points.drain(..) {
                        points.push(MetricPoint {
                            series: e.series.id.clone(),
                            start_ms: a.start_ms,
                            resolution_s: a.resolution_s,
                            stats: a.stats.encode(),
                        });
                    }
                    series.push(e.series.clone());
                    true
                });
                !bucket.is_empty()
            });
        }
        series.sort_by(|a, b| a.id.cmp(&b.id));
        (series, points)
    }

    /// Drains into `store`; on failure the points are kept for the next flush.
    pub fn flush(&self, store: &dyn MetricStore) -> Result<usize, StoreError> {
        let (series, points) = self.drain();
        if points.is_empty() {
            return Ok(0);
        }
        if let Err(e) = store.add_metric_points(&series, &points) {
            self.restore(&series, &points);
            return Err(e);
        }
        Ok(points.len())
    }

    /// Puts drained points back (a flush that failed).
    fn restore(&self, series: &[MetricSeries], points: &[MetricPoint]) {
        let by_id: HashMap<&str, &MetricSeries> =
            series.iter().map(|s| (s.id.as_str(), s)).collect();
        for p in points {
            let (Some(s), Ok(stats)) = (by_id.get(p.series.as_str()), PointStats::decode(&p.stats))
            else {
                continue;
            };
            let dims: Vec<(&str, &str)> = s
                .dimensions
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            self.with_entry(&s.account, &s.namespace, &s.name, &dims, s.last_ms, |e| {
                e.acc(p.start_ms, p.resolution_s).merge(&stats);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_of_one_minute_and_series_share_a_point() {
        let r = Recorder::new();
        r.record(
            "1",
            "N",
            "m",
            &[("b", "2"), ("a", "1")],
            Unit::COUNT,
            60_500,
            1.0,
        );
        r.record(
            "1",
            "N",
            "m",
            &[("a", "1"), ("b", "2")],
            Unit::COUNT,
            119_999,
            3.0,
        );
        r.record(
            "1",
            "N",
            "m",
            &[("a", "1"), ("b", "2")],
            Unit::COUNT,
            120_000,
            5.0,
        );
        r.record("1", "N", "m", &[("a", "1")], Unit::COUNT, 60_000, 7.0);
        let (series, points) = r.drain();
        assert_eq!(series.len(), 2);
        let ab = series
            .iter()
            .find(|s| s.dimensions.len() == 2)
            .expect("series a,b");
        assert_eq!(ab.last_ms, 120_000);
        assert_eq!(ab.id, r#"["1","N","m",[["a","1"],["b","2"]]]"#);
        let mine: Vec<(i64, f64, f64)> = points
            .iter()
            .filter(|p| p.series == ab.id)
            .map(|p| {
                let s = &PointStats::decode(&p.stats).expect("decodes").by_unit[0].1;
                (p.start_ms, s.count, s.sum)
            })
            .collect();
        assert_eq!(mine, vec![(60_000, 2.0, 4.0), (120_000, 1.0, 5.0)]);
        assert_eq!(r.drain().1.len(), 0);
    }

    #[test]
    fn high_resolution_stats_go_to_their_second() {
        let r = Recorder::new();
        r.record_stats("1", "N", "m", &[], Unit::NONE, 1, 5_700, &Stats::of(2.0));
        let (_, points) = r.drain();
        assert_eq!((points[0].start_ms, points[0].resolution_s), (5_000, 1));
    }

    #[test]
    fn idle_series_are_forgotten_after_a_drain() {
        let r = Recorder::new();
        r.record("1", "N", "m", &[], Unit::COUNT, 0, 1.0);
        r.drain();
        assert_eq!(
            r.shards
                .iter()
                .map(|s| s.lock().expect("lock").by_hash.len())
                .sum::<usize>(),
            1
        );
        r.drain();
        assert_eq!(
            r.shards
                .iter()
                .map(|s| s.lock().expect("lock").by_hash.len())
                .sum::<usize>(),
            0
        );
    }
}
