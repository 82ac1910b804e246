//! Whether a soak's series grow: the least-squares slope of each series over the second
//! half of the run, per minute, against a threshold stated per series. The first half is
//! left out because a fresh server fills its caches, pools and warm environments then.

/// How much a series may grow per minute and still be called flat: the largest of an
/// absolute amount, a share of its mean over the second half, and an amount over the
/// whole second half (so that one more environment in a short soak is not a trend).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    pub per_minute: f64,
    /// Share of the mean (0.005 = 0.5 %) per minute.
    pub relative: f64,
    /// Growth over the whole second half that is still noise.
    pub per_half: f64,
}

impl Threshold {
    /// The threshold per minute for a second half with this mean, lasting `minutes`.
    pub fn of(&self, mean: f64, minutes: f64) -> f64 {
        let per_half = if minutes > 0.0 {
            self.per_half / minutes
        } else {
            0.0
        };
        self.per_minute
            .max(self.relative * mean.abs())
            .max(per_half)
    }
}

/// A series' trend over the second half.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    /// Growth per minute (negative when it shrinks); `None` with too few samples.
    pub slope_per_minute: Option<f64>,
    /// The threshold that applied (per minute).
    pub threshold_per_minute: f64,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Flat,
    Growing,
    /// Fewer than [`MIN_POINTS`] samples in the second half.
    TooShort,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Flat => "flat",
            Verdict::Growing => "growing",
            Verdict::TooShort => "too short",
        }
    }
}

/// Samples a slope needs at least.
pub const MIN_POINTS: usize = 3;

/// The least-squares slope of `points` (x, y): y's change per unit of x. `None` for fewer
/// than two points or when every x is the same.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    Some(sxy / sxx)
}

/// The samples taken at or after half of the run (`points` are (seconds, value), in order).
pub fn second_half(points: &[(f64, f64)]) -> &[(f64, f64)] {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return points;
    };
    let middle = first.0 + (last.0 - first.0) / 2.0;
    let start = points.partition_point(|p| p.0 < middle);
    &points[start..]
}

/// The trend of `points` ((seconds since start, value)) over the second half.
pub fn trend(points: &[(f64, f64)], threshold: Threshold) -> Trend {
    let half = second_half(points);
    let mean = if half.is_empty() {
        0.0
    } else {
        half.iter().map(|p| p.1).sum::<f64>() / half.len() as f64
    };
    let minutes = match (half.first(), half.last()) {
        (Some(a), Some(b)) => (b.0 - a.0) / 60.0,
        _ => 0.0,
    };
    let limit = threshold.of(mean, minutes);
    let per_minute: Vec<(f64, f64)> = half.iter().map(|p| (p.0 / 60.0, p.1)).collect();
    let slope = if half.len() >= MIN_POINTS {
        slope(&per_minute)
    } else {
        None
    };
    let verdict = match slope {
        None => Verdict::TooShort,
        Some(s) if s > limit => Verdict::Growing,
        Some(_) => Verdict::Flat,
    };
    Trend {
        slope_per_minute: slope,
        threshold_per_minute: limit,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: Threshold = Threshold {
        per_minute: 1.0,
        relative: 0.005,
        per_half: 0.0,
    };

    fn series(seconds: &[f64], f: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
        seconds.iter().map(|&t| (t, f(t))).collect()
    }

    #[test]
    fn least_squares() {
        assert_eq!(slope(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]), Some(2.0));
        // Noise around a line: the fit, not the end points.
        let s = slope(&[(0.0, 0.0), (1.0, 2.0), (2.0, 1.0), (3.0, 3.0)]).expect("slope");
        assert!((s - 0.8).abs() < 1e-9, "{s}");
        assert_eq!(slope(&[(1.0, 1.0)]), None);
        assert_eq!(slope(&[(1.0, 1.0), (1.0, 2.0)]), None);
    }

    #[test]
    fn uses_the_second_half() {
        let t: Vec<f64> = (0..=10).map(|i| f64::from(i) * 10.0).collect();
        let p = series(&t, |x| x);
        assert_eq!(second_half(&p).first().map(|p| p.0), Some(50.0));
        assert_eq!(second_half(&p).len(), 6);
        // Warm-up growth in the first half, flat after: flat.
        let warmup = series(&t, |x| if x < 50.0 { x * 10.0 } else { 500.0 });
        assert_eq!(trend(&warmup, MIB).verdict, Verdict::Flat);
        assert_eq!(trend(&warmup, MIB).slope_per_minute, Some(0.0));
    }

    #[test]
    fn verdicts_against_the_threshold() {
        let t: Vec<f64> = (0..=20).map(|i| f64::from(i) * 30.0).collect();
        // 2 per minute on a small series: over the 1/min floor.
        let growing = trend(&series(&t, |x| 10.0 + x / 30.0), MIB);
        assert_eq!(growing.verdict, Verdict::Growing);
        assert!((growing.slope_per_minute.expect("slope") - 2.0).abs() < 1e-9);
        assert_eq!(growing.threshold_per_minute, 1.0);
        // 2 per minute on a series of 1000: under 0.5 % of it (5/min).
        let big = trend(&series(&t, |x| 1000.0 + x / 30.0), MIB);
        assert_eq!(big.verdict, Verdict::Flat);
        assert!((big.threshold_per_minute - 5.0 * (1.0 + 15.0 / 1000.0)).abs() < 0.1);
        // Shrinking is not a leak.
        assert_eq!(
            trend(&series(&t, |x| 100.0 - x), MIB).verdict,
            Verdict::Flat
        );
        // One more over a short second half is noise when the threshold allows for it.
        let noisy = Threshold {
            per_half: 2.0,
            ..MIB
        };
        let one_more = [
            (0.0, 7.0),
            (60.0, 7.0),
            (70.0, 8.0),
            (80.0, 7.0),
            (90.0, 8.0),
            (100.0, 8.0),
            (110.0, 8.0),
            (120.0, 9.0),
        ];
        assert_eq!(trend(&one_more, MIB).verdict, Verdict::Growing);
        let t = trend(&one_more, noisy);
        assert_eq!((t.verdict, t.threshold_per_minute), (Verdict::Flat, 2.0));
        // Too few samples to say.
        let short = trend(&[(0.0, 1.0), (10.0, 50.0), (20.0, 99.0)], MIB);
        assert_eq!(short.verdict, Verdict::TooShort);
        assert_eq!(short.slope_per_minute, None);
        assert_eq!(trend(&[], MIB).verdict, Verdict::TooShort);
    }
}
