//! [`PointStats`]: what one stored point holds — a [`Stats`] per unit the data came with
//! (CloudWatch keeps units apart and converts none) — and its encoding, the bytes of
//! `MetricPoint.stats`.

use crate::series::unit_name;
use crate::stats::{put_varint, DecodeError, Reader, Stats};

/// The encoding's version byte.
const VERSION: u8 = 1;

/// One period's aggregates of a series, by unit code (see [`crate::series`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PointStats {
    pub by_unit: Vec<(u8, Stats)>,
}

impl PointStats {
    pub fn single(unit: u8, stats: Stats) -> Self {
        Self {
            by_unit: vec![(unit, stats)],
        }
    }

    /// Adds `stats` of `unit`.
    pub fn add(&mut self, unit: u8, stats: &Stats) {
        match self.by_unit.iter_mut().find(|(u, _)| *u == unit) {
            Some((_, s)) => s.merge(stats),
            None => {
                self.by_unit.push((unit, stats.clone()));
                self.by_unit.sort_by_key(|(u, _)| *u);
            }
        }
    }

    /// Adds one value of `unit` (allocating only for a unit or bucket new to the point).
    pub fn add_value(&mut self, unit: u8, v: f64) {
        match self.by_unit.iter_mut().find(|(u, _)| *u == unit) {
            Some((_, s)) => s.add_n(v, 1.0),
            None => self.add(unit, &Stats::of(v)),
        }
    }

    pub fn merge(&mut self, other: &PointStats) {
        for (u, s) in &other.by_unit {
            self.add(*u, s);
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        put_varint(&mut out, self.by_unit.len() as u64);
        for (u, s) in &self.by_unit {
            out.push(*u);
            s.encode(&mut out);
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader(bytes);
        if r.byte()? != VERSION {
            return Err(DecodeError("unknown version"));
        }
        let n = r.varint()?;
        let mut by_unit = Vec::new();
        for _ in 0..n {
            let u = r.byte()?;
            if unit_name(u).is_none() {
                return Err(DecodeError("unknown unit"));
            }
            let (s, rest) = Stats::decode(r.0)?;
            r.0 = rest;
            by_unit.push((u, s));
        }
        if !r.0.is_empty() {
            return Err(DecodeError("trailing bytes"));
        }
        Ok(Self { by_unit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_stay_apart_and_round_trip() {
        let mut p = PointStats::single(26, Stats::of(1.0));
        p.add(2, &Stats::of(5.0));
        p.add(26, &Stats::of(3.0));
        assert_eq!(p.by_unit.len(), 2);
        assert_eq!(p.by_unit[0].0, 2);
        assert_eq!((p.by_unit[1].1.count, p.by_unit[1].1.sum), (2.0, 4.0));
        assert_eq!(PointStats::decode(&p.encode()), Ok(p));
        assert_eq!(
            PointStats::decode(&[1, 1, 99]),
            Err(DecodeError("unknown unit"))
        );
    }
}
