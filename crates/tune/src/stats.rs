//! The figures of one memory size (percentiles, averages, cost per million invocations) and
//! the recommendation among sizes, as AWS Lambda Power Tuning makes it: `cost` is the
//! cheapest (ties: the faster), `speed` the fastest (ties: the cheaper), `balanced` the size
//! with the least `w × cost / max cost + (1 − w) × time / max time` (w = 0.5: normalised
//! cost and speed weigh the same). Power Tuning's time is a trimmed mean of the billed
//! durations; it discards 20% of the results, the fastest 10% and the slowest 10% (UNSURE
//! whether its default trims 20% in all or 20% at each end).

use hearth_cost::ArchPrices;
use serde::{Deserialize, Serialize};

/// What one invocation's REPORT line says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub duration_ms: f64,
    pub billed_ms: u64,
}

/// One memory size's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SizeStats {
    #[serde(rename = "MemoryMB")]
    pub memory_mb: u32,
    pub invocations: usize,
    /// Duration (not billed) percentiles, nearest rank.
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub average_billed_ms: f64,
    /// The billed durations' trimmed mean: the "time" of the recommendation.
    pub trimmed_billed_ms: f64,
    /// Requests plus duration at the region's first duration tier, per 1,000,000 invocations.
    pub cost_per_million: f64,
}

/// How to choose among sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    Cost,
    Speed,
    Balanced,
}

impl Strategy {
    /// As on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cost => "cost",
            Self::Speed => "speed",
            Self::Balanced => "balanced",
        }
    }
}

/// The weight of cost in `balanced` (Power Tuning's default `balancedWeight`).
pub const BALANCED_WEIGHT: f64 = 0.5;

/// The share of results left out of the trimmed mean at each end.
const TRIM_EACH_END: f64 = 0.1;

/// The nearest-rank percentile of sorted values (`p` in 0..=100); 0 for none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The mean of `values` without the lowest and highest `TRIM_EACH_END` of them.
pub fn trimmed_mean(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let cut = (sorted.len() as f64 * TRIM_EACH_END) as usize;
    let kept = &sorted[cut..sorted.len() - cut];
    if kept.is_empty() {
        return 0.0;
    }
    kept.iter().sum::<f64>() / kept.len() as f64
}

/// The figures of `samples` taken at `memory_mb`, priced with `prices`.
pub fn summarize(memory_mb: u32, samples: &[Sample], prices: &ArchPrices) -> SizeStats {
    let mut durations: Vec<f64> = samples.iter().map(|s| s.duration_ms).collect();
    durations.sort_by(f64::total_cmp);
    let billed: Vec<f64> = samples.iter().map(|s| s.billed_ms as f64).collect();
    let average_billed_ms = if billed.is_empty() {
        0.0
    } else {
        billed.iter().sum::<f64>() / billed.len() as f64
    };
    let gb_seconds = average_billed_ms / 1000.0 * f64::from(memory_mb) / 1024.0;
    let per_invocation = prices.per_request() + gb_seconds * prices.first_tier_per_gb_second();
    SizeStats {
        memory_mb,
        invocations: samples.len(),
        p50_ms: percentile(&durations, 50.0),
        p95_ms: percentile(&durations, 95.0),
        average_billed_ms,
        trimmed_billed_ms: trimmed_mean(&billed),
        cost_per_million: per_invocation * 1_000_000.0,
    }
}

/// The index in `stats` of the size `strategy` picks; `None` for no sizes.
pub fn recommend(stats: &[SizeStats], strategy: Strategy) -> Option<usize> {
    let cost = |s: &SizeStats| s.cost_per_million;
    let time = |s: &SizeStats| s.trimmed_billed_ms;
    let max_cost = stats.iter().map(cost).fold(0.0, f64::max);
    let max_time = stats.iter().map(time).fold(0.0, f64::max);
    let ratio = |v: f64, max: f64| if max > 0.0 { v / max } else { 0.0 };
    let key = |s: &SizeStats| -> (f64, f64) {
        match strategy {
            Strategy::Cost => (cost(s), time(s)),
            Strategy::Speed => (time(s), cost(s)),
            Strategy::Balanced => (
                BALANCED_WEIGHT * ratio(cost(s), max_cost)
                    + (1.0 - BALANCED_WEIGHT) * ratio(time(s), max_time),
                0.0,
            ),
        }
    };
    (0..stats.len()).min_by(|&a, &b| {
        let (ka, kb) = (key(&stats[a]), key(&stats[b]));
        ka.0.total_cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
    })
}

/// `Duration` and `Billed Duration` of a log tail's REPORT line.
pub fn parse_report(log: &str) -> Option<Sample> {
    let report = log.lines().rev().find(|l| l.starts_with("REPORT "))?;
    let mut duration_ms = None;
    let mut billed_ms = None;
    for field in report.split('\t') {
        let field = field.trim();
        if let Some(v) = field.strip_prefix("Billed Duration: ") {
            billed_ms = v.trim_end_matches(" ms").parse().ok();
        } else if let Some(v) = field.strip_prefix("Duration: ") {
            duration_ms = v.trim_end_matches(" ms").parse().ok();
        }
    }
    Some(Sample {
        duration_ms: duration_ms?,
        billed_ms: billed_ms?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_cost::PriceTable;

    fn x86() -> &'static ArchPrices {
        &PriceTable::aws()
            .region("us-east-1")
            .expect("us-east-1")
            .x86_64
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn stats(memory_mb: u32, billed_ms: f64, cost_per_million: f64) -> SizeStats {
        SizeStats {
            memory_mb,
            invocations: 10,
            p50_ms: billed_ms,
            p95_ms: billed_ms,
            average_billed_ms: billed_ms,
            trimmed_billed_ms: billed_ms,
            cost_per_million,
        }
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 10.0);
        assert_eq!(percentile(&v, 95.0), 19.0);
        assert_eq!(percentile(&v, 100.0), 20.0);
        assert_eq!(percentile(&[7.0], 95.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn trimmed_mean_drops_a_tenth_at_each_end() {
        // 10 values: the lowest (1) and the highest (1000) go; mean of 2..=9 is 5.5.
        let v = [1000.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 1.0];
        assert_eq!(trimmed_mean(&v), 5.5);
        // Fewer than 10: nothing to drop.
        assert_eq!(trimmed_mean(&[1.0, 2.0, 6.0]), 3.0);
    }

    #[test]
    fn summary_prices_the_average_billed_duration() {
        let samples = [
            Sample {
                duration_ms: 99.2,
                billed_ms: 100,
            },
            Sample {
                duration_ms: 119.5,
                billed_ms: 120,
            },
            Sample {
                duration_ms: 139.1,
                billed_ms: 140,
            },
        ];
        let s = summarize(512, &samples, x86());
        assert_eq!(s.invocations, 3);
        assert_eq!(s.p50_ms, 119.5);
        assert_eq!(s.p95_ms, 139.1);
        assert_eq!(s.average_billed_ms, 120.0);
        // Per invocation: $0.0000002 + 0.12 s × 0.5 GB (0.06 GB-s) × $0.0000166667
        // = $0.0000002 + $0.000001000002 = $0.000001200002; per million: $1.200002.
        assert!(
            close(s.cost_per_million, 1.200_002),
            "{}",
            s.cost_per_million
        );
    }

    #[test]
    fn strategies_pick_as_power_tuning_does() {
        let sizes = [
            stats(128, 800.0, 1.8),
            stats(256, 400.0, 1.9),
            stats(1024, 100.0, 1.95),
            stats(3008, 90.0, 5.0),
        ];
        assert_eq!(recommend(&sizes, Strategy::Cost), Some(0));
        assert_eq!(recommend(&sizes, Strategy::Speed), Some(3));
        // Balanced: 0.5 × cost/5.0 + 0.5 × time/800:
        // 128: 0.18 + 0.5 = 0.68; 256: 0.19 + 0.25 = 0.44; 1024: 0.195 + 0.0625 = 0.2575;
        // 3008: 0.5 + 0.05625 = 0.55625 → 1024.
        assert_eq!(recommend(&sizes, Strategy::Balanced), Some(2));
        assert_eq!(recommend(&[], Strategy::Cost), None);
        // Same cost: the faster wins.
        let tie = [stats(128, 200.0, 1.0), stats(256, 100.0, 1.0)];
        assert_eq!(recommend(&tie, Strategy::Cost), Some(1));
    }

    #[test]
    fn reads_the_report_line() {
        let log = "START RequestId: r Version: $LATEST\nhello\nEND RequestId: r\n\
                   REPORT RequestId: r\tDuration: 3.01 ms\tBilled Duration: 4 ms\tMemory Size: 128 MB\tMax Memory Used: 36 MB\n";
        assert_eq!(
            parse_report(log),
            Some(Sample {
                duration_ms: 3.01,
                billed_ms: 4
            })
        );
        assert_eq!(parse_report("no report here\n"), None);
    }
}
