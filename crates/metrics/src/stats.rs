//! [`Stats`]: one period's aggregate of a series — SampleCount, Sum, Minimum, Maximum
//! and, where the raw values were seen, a log-bucketed histogram that answers
//! percentiles and trimmed statistics within 1 % relative error — with its merge and its
//! compact versioned binary encoding.

use std::collections::BTreeMap;

/// The histogram's relative accuracy: a bucket's representative value is within 1 % of
/// every value in it.
const ALPHA: f64 = 0.01;
/// Ratio of a bucket's upper bound to its lower bound: `(1 + α) / (1 - α)`.
const GAMMA: f64 = (1.0 + ALPHA) / (1.0 - ALPHA);
/// The encoding's version byte (a change of layout takes the next one).
const VERSION: u8 = 1;

/// A malformed encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed metric stats: {0}")]
pub struct DecodeError(pub &'static str);

/// One period's aggregate.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub count: f64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    /// The distribution, when every value that went in was seen (not a statistic set).
    hist: Option<Histogram>,
}

/// Counts of values by logarithmic bucket, negatives by magnitude, zero apart.
#[derive(Debug, Clone, PartialEq, Default)]
struct Histogram {
    neg: BTreeMap<i32, f64>,
    zero: f64,
    pos: BTreeMap<i32, f64>,
}

fn bucket_of(magnitude: f64) -> i32 {
    // Saturating cast: magnitudes are bounded (AWS's ±2^360 and f64's subnormals give
    // indices within ±20,000).
    (magnitude.ln() / GAMMA.ln()).ceil() as i32
}

fn bucket_value(index: i32) -> f64 {
    // The point of (γ^(i-1), γ^i] within α of both ends.
    2.0 * GAMMA.powi(index) / (GAMMA + 1.0)
}

impl Histogram {
    fn add(&mut self, v: f64, n: f64) {
        if v > 0.0 {
            *self.pos.entry(bucket_of(v)).or_insert(0.0) += n;
        } else if v < 0.0 {
            *self.neg.entry(bucket_of(-v)).or_insert(0.0) += n;
        } else {
            self.zero += n;
        }
    }

    fn merge(&mut self, other: &Histogram) {
        for (k, c) in &other.neg {
            *self.neg.entry(*k).or_insert(0.0) += c;
        }
        for (k, c) in &other.pos {
            *self.pos.entry(*k).or_insert(0.0) += c;
        }
        self.zero += other.zero;
    }

    /// `(value, count)` in ascending order of value.
    fn buckets(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        let neg = self.neg.iter().rev().map(|(k, c)| (-bucket_value(*k), *c));
        let zero = (self.zero > 0.0).then_some((0.0, self.zero));
        let pos = self.pos.iter().map(|(k, c)| (bucket_value(*k), *c));
        neg.chain(zero).chain(pos)
    }
}

impl Stats {
    /// One value.
    pub fn of(v: f64) -> Self {
        Self::of_n(v, 1.0)
    }

    /// `v`, seen `n` times.
    pub fn of_n(v: f64, n: f64) -> Self {
        let mut hist = Histogram::default();
        hist.add(v, n);
        Self {
            count: n,
            sum: v * n,
            min: v,
            max: v,
            hist: Some(hist),
        }
    }

    /// A PutMetricData `StatisticValues` set. AWS answers percentiles for such a set only
    /// when it cannot hide a distribution (one sample, or Minimum = Maximum with
    /// Sum = Minimum × SampleCount, per PutMetricData's documentation); else it keeps no
    /// histogram.
    pub fn from_set(count: f64, sum: f64, min: f64, max: f64) -> Self {
        let uniform = min == max && (sum - min * count).abs() <= f64::EPSILON * sum.abs().max(1.0);
        if (count == 1.0 && min == max && sum == min) || uniform {
            let mut s = Self::of_n(min, count);
            s.sum = sum;
            return s;
        }
        Self {
            count,
            sum,
            min,
            max,
            hist: None,
        }
    }

    /// PutMetricData's `Values` with their `Counts` (each 1 where `counts` is `None`);
    /// `None` for no values. The caller has checked the lengths match.
    pub fn from_values(values: &[f64], counts: Option<&[f64]>) -> Option<Self> {
        let mut out: Option<Stats> = None;
        for (i, v) in values.iter().enumerate() {
            let n = counts.map_or(1.0, |c| c[i]);
            if n <= 0.0 {
                // AWS's Counts of zero add nothing (UNSURE whether it refuses them).
                continue;
            }
            match &mut out {
                Some(s) => s.add_n(*v, n),
                None => out = Some(Self::of_n(*v, n)),
            }
        }
        out
    }

    /// Adds `v`, seen `n` times.
    pub fn add_n(&mut self, v: f64, n: f64) {
        self.count += n;
        self.sum += v * n;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        if let Some(h) = &mut self.hist {
            h.add(v, n);
        }
    }

    /// Adds every value of `other` (a histogram stays only if both had one).
    pub fn merge(&mut self, other: &Stats) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        match (&mut self.hist, &other.hist) {
            (Some(a), Some(b)) => a.merge(b),
            _ => self.hist = None,
        }
    }

    pub fn average(&self) -> f64 {
        self.sum / self.count
    }

    /// Whether percentiles and trimmed statistics can be answered.
    pub fn has_distribution(&self) -> bool {
        self.hist.is_some()
    }

    /// The `p`-th percentile (0 to 100): the least value with at least `p` % of the
    /// values at or below it, within 1 %; exactly Minimum at 0 and Maximum at 100.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let h = self.hist.as_ref()?;
        if !(0.0..=100.0).contains(&p) || self.count <= 0.0 {
            return None;
        }
        if p == 0.0 {
            return Some(self.min);
        }
        if p == 100.0 {
            return Some(self.max);
        }
        let rank = p / 100.0 * self.count;
        let mut seen = 0.0;
        for (v, c) in h.buckets() {
            seen += c;
            if seen >= rank {
                return Some(self.clamp(v));
            }
        }
        Some(self.max)
    }

    fn clamp(&self, v: f64) -> f64 {
        v.clamp(self.min, self.max)
    }

    /// Count and sum of the values ranked between `lo` and `hi` (in values, from the
    /// smallest; fractions of a bucket count pro rata).
    pub(crate) fn ranked(&self, lo: f64, hi: f64) -> Option<(f64, f64)> {
        let h = self.hist.as_ref()?;
        let (mut n, mut sum, mut seen) = (0.0, 0.0, 0.0);
        for (v, c) in h.buckets() {
            let take = (seen + c).min(hi) - seen.max(lo);
            if take > 0.0 {
                n += take;
                sum += take * self.clamp(v);
            }
            seen += c;
        }
        Some((n, sum))
    }

    /// Count and sum of the values `v` with `lo < v <= hi` (either bound open).
    pub(crate) fn between(&self, lo: Option<f64>, hi: Option<f64>) -> Option<(f64, f64)> {
        let h = self.hist.as_ref()?;
        let (mut n, mut sum) = (0.0, 0.0);
        for (v, c) in h.buckets() {
            let v = self.clamp(v);
            if lo.is_none_or(|l| v > l) && hi.is_none_or(|u| v <= u) {
                n += c;
                sum += c * v;
            }
        }
        Some((n, sum))
    }

    /// The compact binary form kept in `MetricPoint.stats` (with its unit, see
    /// [`crate::point`]).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(VERSION);
        out.push(u8::from(self.hist.is_some()));
        for f in [self.count, self.sum, self.min, self.max] {
            out.extend_from_slice(&f.to_le_bytes());
        }
        if let Some(h) = &self.hist {
            put_count(out, h.zero);
            for side in [&h.neg, &h.pos] {
                put_varint(out, side.len() as u64);
                let mut last = 0i64;
                for (k, c) in side {
                    put_varint(out, zigzag(i64::from(*k) - last));
                    last = i64::from(*k);
                    put_count(out, *c);
                }
            }
        }
    }

    /// Reads what [`Self::encode`] wrote at the start of `input`; answers the rest.
    pub fn decode(input: &[u8]) -> Result<(Self, &[u8]), DecodeError> {
        let mut r = Reader(input);
        if r.byte()? != VERSION {
            return Err(DecodeError("unknown version"));
        }
        let has_hist = match r.byte()? {
            0 => false,
            1 => true,
            _ => return Err(DecodeError("bad flags")),
        };
        let (count, sum, min, max) = (r.f64()?, r.f64()?, r.f64()?, r.f64()?);
        let hist = if has_hist {
            let mut h = Histogram {
                zero: r.count()?,
                ..Histogram::default()
            };
            for side in [&mut h.neg, &mut h.pos] {
                let n = r.varint()?;
                let mut last = 0i64;
                for _ in 0..n {
                    last += unzigzag(r.varint()?);
                    let k = i32::try_from(last).map_err(|_| DecodeError("bucket out of range"))?;
                    side.insert(k, r.count()?);
                }
            }
            Some(h)
        } else {
            None
        };
        let stats = Self {
            count,
            sum,
            min,
            max,
            hist,
        };
        Ok((stats, r.0))
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Counts are whole numbers but for Counts a caller sent as fractions: a whole count is
/// a varint of `n << 1`, any other a 1 then its eight bytes.
fn put_count(out: &mut Vec<u8>, c: f64) {
    if c >= 0.0 && c.fract() == 0.0 && c < (1u64 << 52) as f64 {
        put_varint(out, (c as u64) << 1);
    } else {
        out.push(1);
        out.extend_from_slice(&c.to_le_bytes());
    }
}

pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl Reader<'_> {
    pub(crate) fn byte(&mut self) -> Result<u8, DecodeError> {
        let (b, rest) = self.0.split_first().ok_or(DecodeError("truncated"))?;
        self.0 = rest;
        Ok(*b)
    }

    fn f64(&mut self) -> Result<f64, DecodeError> {
        if self.0.len() < 8 {
            return Err(DecodeError("truncated"));
        }
        let (b, rest) = self.0.split_at(8);
        self.0 = rest;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }

    pub(crate) fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError("varint too long"))
    }

    fn count(&mut self) -> Result<f64, DecodeError> {
        if self.0.first() == Some(&1) {
            self.byte()?;
            return self.f64();
        }
        Ok((self.varint()? >> 1) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of_values(values: &[f64]) -> Stats {
        Stats::from_values(values, None).expect("values given")
    }

    #[test]
    fn basic_statistics_are_exact() {
        let s = of_values(&[3.0, 1.0, 2.0, 10.0]);
        assert_eq!((s.count, s.sum, s.min, s.max), (4.0, 16.0, 1.0, 10.0));
        assert_eq!(s.average(), 4.0);
    }

    #[test]
    fn percentiles_are_within_one_percent() {
        let values: Vec<f64> = (1..=10_000).map(f64::from).collect();
        let s = of_values(&values);
        for (p, exact) in [
            (50.0, 5000.0),
            (90.0, 9000.0),
            (99.0, 9900.0),
            (99.9, 9990.0),
        ] {
            let got = s.percentile(p).expect("histogram");
            assert!(
                (got - exact).abs() / exact <= 0.01,
                "p{p}: {got} vs {exact}"
            );
        }
        assert_eq!(s.percentile(0.0), Some(1.0));
        assert_eq!(s.percentile(100.0), Some(10_000.0));
    }

    #[test]
    fn zero_and_negative_values_keep_their_order() {
        let s = of_values(&[-100.0, -1.0, 0.0, 0.0, 5.0]);
        let p = |q: f64| s.percentile(q).expect("histogram");
        assert!((p(20.0) + 100.0).abs() <= 1.0, "{}", p(20.0));
        assert!((p(40.0) + 1.0).abs() <= 0.01, "{}", p(40.0));
        assert_eq!(p(60.0), 0.0);
        assert_eq!(p(80.0), 0.0);
        assert!((p(81.0) - 5.0).abs() <= 0.05, "{}", p(81.0));
    }

    #[test]
    fn merge_adds_both_and_drops_the_histogram_of_a_set() {
        let mut a = of_values(&[1.0, 2.0]);
        a.merge(&of_values(&[10.0]));
        assert_eq!((a.count, a.sum, a.min, a.max), (3.0, 13.0, 1.0, 10.0));
        assert_eq!(a.percentile(100.0), Some(10.0));
        a.merge(&Stats::from_set(2.0, 5.0, 1.0, 4.0));
        assert_eq!((a.count, a.sum, a.min, a.max), (5.0, 18.0, 1.0, 10.0));
        assert_eq!(a.percentile(50.0), None);
    }

    #[test]
    fn uniform_statistic_sets_keep_percentiles() {
        let s = Stats::from_set(4.0, 20.0, 5.0, 5.0);
        assert_eq!(s.percentile(99.0), Some(5.0));
        assert!(Stats::from_set(1.0, 7.0, 7.0, 7.0).has_distribution());
        assert!(!Stats::from_set(2.0, 7.0, 3.0, 4.0).has_distribution());
    }

    #[test]
    fn counts_weight_values() {
        let s = Stats::from_values(&[1.0, 100.0], Some(&[99.0, 1.0])).expect("values");
        assert_eq!((s.count, s.sum), (100.0, 199.0));
        assert_eq!(s.percentile(99.0), Some(1.0));
        assert_eq!(s.percentile(99.5), Some(100.0));
    }

    #[test]
    fn encoding_round_trips_and_is_compact() {
        let mut s = of_values(&[-2.5, 0.0, 1.0, 1.0, 1e6]);
        s.merge(&Stats::of_n(3.0, 0.5));
        let mut buf = Vec::new();
        s.encode(&mut buf);
        let (back, rest) = Stats::decode(&buf).expect("decodes");
        assert_eq!(back, s);
        assert!(rest.is_empty());
        let set = Stats::from_set(2.0, 3.0, 1.0, 2.0);
        let mut buf = Vec::new();
        set.encode(&mut buf);
        assert_eq!(buf.len(), 34);
        assert_eq!(Stats::decode(&buf).expect("decodes").0, set);
    }

    #[test]
    fn malformed_encodings_are_refused() {
        assert_eq!(Stats::decode(&[]), Err(DecodeError("truncated")));
        assert_eq!(Stats::decode(&[9, 0]), Err(DecodeError("unknown version")));
        assert_eq!(Stats::decode(&[1, 0, 0]), Err(DecodeError("truncated")));
    }
}
