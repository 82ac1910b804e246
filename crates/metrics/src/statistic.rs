//! [`Statistic`]: a statistic named in a request — the five plain ones (`SampleCount`,
//! `Average`, `Sum`, `Minimum`, `Maximum`) or an extended one (`p99`, `p99.9`, `tm90`,
//! `wm90`, `tc90`, `ts90`, `IQM`, `TM(10%:90%)`, `TM(2:5)`, `PR(:300)`, as AWS's
//! statistics definitions write them) — and its value on a [`Stats`].

use crate::stats::Stats;

/// A statistic.
#[derive(Debug, Clone, PartialEq)]
pub enum Statistic {
    SampleCount,
    Average,
    Sum,
    Minimum,
    Maximum,
    Extended(Extended),
}

/// An extended statistic over the values between two bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Extended {
    pub kind: Kind,
    pub range: Range,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Percentile (`p`): the range's upper bound.
    Percentile,
    /// Trimmed mean (`tm`), winsorized mean (`wm`), trimmed count (`tc`), trimmed sum
    /// (`ts`), percentile rank (`PR`: the percentage of values within the range).
    TrimmedMean,
    WinsorizedMean,
    TrimmedCount,
    TrimmedSum,
    PercentileRank,
}

/// The bounds of an extended statistic, either omitted.
#[derive(Debug, Clone, PartialEq)]
pub enum Range {
    /// Percentages of the values, by rank.
    Percent(Option<f64>, Option<f64>),
    /// Values: those `v` with `lo < v <= hi`.
    Absolute(Option<f64>, Option<f64>),
}

impl Statistic {
    /// One of the five plain statistics (GetMetricStatistics' `Statistics`).
    pub fn plain(s: &str) -> Option<Self> {
        Some(match s {
            "SampleCount" => Self::SampleCount,
            "Average" => Self::Average,
            "Sum" => Self::Sum,
            "Minimum" => Self::Minimum,
            "Maximum" => Self::Maximum,
            _ => return None,
        })
    }

    /// A plain or extended statistic (GetMetricData's `Stat`).
    pub fn parse(s: &str) -> Option<Self> {
        Self::plain(s).or_else(|| Extended::parse(s).map(Self::Extended))
    }

    /// The statistic of `stats`: `None` where it has no value (an extended statistic of
    /// data without a distribution, or of no values).
    pub fn value(&self, stats: &Stats) -> Option<f64> {
        match self {
            Self::SampleCount => Some(stats.count),
            Self::Average => Some(stats.average()),
            Self::Sum => Some(stats.sum),
            Self::Minimum => Some(stats.min),
            Self::Maximum => Some(stats.max),
            Self::Extended(e) => e.value(stats),
        }
    }
}

fn number(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
    {
        return None;
    }
    s.parse().ok().filter(|v: &f64| v.is_finite())
}

fn percent(s: &str) -> Option<f64> {
    number(s).filter(|p| (0.0..=100.0).contains(p))
}

impl Extended {
    pub fn parse(s: &str) -> Option<Self> {
        if s == "IQM" {
            return Some(Self {
                kind: Kind::TrimmedMean,
                range: Range::Percent(Some(25.0), Some(75.0)),
            });
        }
        let lower = s.to_ascii_lowercase();
        let (kind, rest) = [
            ("pr", Kind::PercentileRank),
            ("p", Kind::Percentile),
            ("tm", Kind::TrimmedMean),
            ("wm", Kind::WinsorizedMean),
            ("tc", Kind::TrimmedCount),
            ("ts", Kind::TrimmedSum),
        ]
        .into_iter()
        .find_map(|(prefix, kind)| {
            lower
                .strip_prefix(prefix)
                .map(|r| (kind, &s[s.len() - r.len()..]))
        })?;
        // Short forms (`p99`, `tm90`) are lower case; bounded forms (`TM(10%:90%)`)
        // are written in either case.
        if let Some(inner) = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
            if kind == Kind::Percentile {
                return None;
            }
            let (lo, hi) = inner.split_once(':')?;
            let (lo, hi) = (lo.trim(), hi.trim());
            fn pct(b: &str) -> Option<&str> {
                b.strip_suffix('%')
            }
            let range = match (
                lo.is_empty() || pct(lo).is_some(),
                hi.is_empty() || pct(hi).is_some(),
            ) {
                _ if lo.is_empty() && hi.is_empty() => return None,
                (true, true) if pct(lo).is_some() || pct(hi).is_some() => {
                    let lo = if lo.is_empty() {
                        None
                    } else {
                        Some(percent(pct(lo)?)?)
                    };
                    let hi = if hi.is_empty() {
                        None
                    } else {
                        Some(percent(pct(hi)?)?)
                    };
                    Range::Percent(lo, hi)
                }
                _ if pct(lo).is_some() || pct(hi).is_some() => return None,
                _ => {
                    let lo = if lo.is_empty() {
                        None
                    } else {
                        Some(number(lo)?)
                    };
                    let hi = if hi.is_empty() {
                        None
                    } else {
                        Some(number(hi)?)
                    };
                    Range::Absolute(lo, hi)
                }
            };
            if let Range::Percent(Some(l), Some(h)) | Range::Absolute(Some(l), Some(h)) = range {
                if l >= h {
                    return None;
                }
            }
            if kind == Kind::PercentileRank && matches!(range, Range::Percent(..)) {
                return None;
            }
            return Some(Self { kind, range });
        }
        if kind == Kind::PercentileRank || !s.starts_with(|c: char| c.is_ascii_lowercase()) {
            return None;
        }
        let p = percent(rest)?;
        // At most two decimals, as AWS's `p99.99`.
        if rest.split_once('.').is_some_and(|(_, d)| d.len() > 2) {
            return None;
        }
        Some(Self {
            kind,
            range: Range::Percent(None, Some(p)),
        })
    }

    fn value(&self, stats: &Stats) -> Option<f64> {
        if !stats.has_distribution() || stats.count <= 0.0 {
            return None;
        }
        if self.kind == Kind::Percentile {
            let Range::Percent(_, hi) = self.range else {
                return None;
            };
            return stats.percentile(hi.unwrap_or(100.0));
        }
        let n = stats.count;
        let (count, sum, lo_rank, hi_rank) = match self.range {
            Range::Percent(lo, hi) => {
                let (l, h) = (
                    lo.unwrap_or(0.0) / 100.0 * n,
                    hi.unwrap_or(100.0) / 100.0 * n,
                );
                let (c, s) = stats.ranked(l, h)?;
                (c, s, l, h)
            }
            Range::Absolute(lo, hi) => {
                let (c, s) = stats.between(lo, hi)?;
                let below = stats
                    .between(None, lo)
                    .map_or(0.0, |(c, _)| if lo.is_some() { c } else { 0.0 });
                (c, s, below, below + c)
            }
        };
        match self.kind {
            Kind::TrimmedCount => Some(count),
            Kind::TrimmedSum => Some(sum),
            Kind::TrimmedMean => (count > 0.0).then(|| sum / count),
            Kind::PercentileRank => Some(count / n * 100.0),
            Kind::WinsorizedMean => {
                // Values outside the range count as the range's edge values.
                let at = |rank: f64| stats.percentile((rank / n * 100.0).clamp(0.0, 100.0));
                let low = at(lo_rank)?;
                let high = at(hi_rank)?;
                Some((sum + lo_rank * low + (n - hi_rank) * high) / n)
            }
            Kind::Percentile => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hundred() -> Stats {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        Stats::from_values(&v, None).expect("values")
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 0.01 * b.abs()
    }

    #[test]
    fn parses_aws_forms_and_refuses_others() {
        for ok in [
            "p99",
            "p99.9",
            "p0",
            "p100",
            "tm90",
            "wm90",
            "tc90",
            "ts90",
            "IQM",
            "TM(10%:90%)",
            "tm(10%:)",
            "TM(2:5)",
            "PR(:300)",
            "PR(10:)",
        ] {
            assert!(Statistic::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "p101",
            "p",
            "P99",
            "p99.999",
            "Avg",
            "TM(90%:10%)",
            "PR(10%:20%)",
            "tm(:)",
            "iqm",
            "TM(1%:5)",
            "p(1:2)",
        ] {
            assert_eq!(Statistic::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn extended_statistics_of_one_to_a_hundred() {
        let s = hundred();
        let v = |n: &str| Statistic::parse(n).and_then(|st| st.value(&s)).expect(n);
        assert!(close(v("p90"), 90.0), "{}", v("p90"));
        assert_eq!(v("tc90"), 90.0);
        assert!(close(v("ts90"), 4095.0), "{}", v("ts90"));
        assert!(close(v("tm90"), 45.5), "{}", v("tm90"));
        assert!(close(v("IQM"), 50.5), "{}", v("IQM"));
        // wm90: 1..90 as they are, 91..100 counted as 90.
        assert!(close(v("wm90"), (4095.0 + 900.0) / 100.0), "{}", v("wm90"));
        // Bucketed values: bounds between the values keep clear of the 1 % error.
        assert_eq!(v("PR(:50.5)"), 50.0);
        assert_eq!(v("TC(10.5:20.5)"), 10.0);
        assert!(close(v("TM(10.5:20.5)"), 15.5), "{}", v("TM(10.5:20.5)"));
    }

    #[test]
    fn no_extended_statistic_without_a_distribution() {
        let s = Stats::from_set(2.0, 3.0, 1.0, 2.0);
        assert_eq!(Statistic::parse("p50").and_then(|st| st.value(&s)), None);
        assert_eq!(Statistic::Average.value(&s), Some(1.5));
    }
}
