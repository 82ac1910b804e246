//! Many log lines of one stream in one row: the lines' text joined by `\n` and their
//! timestamps as varint deltas. A flood of short lines costs a few bytes per line in
//! memory and on disk instead of a row (and a heap string) each.

/// Lines written by one stream, in order. Lines never contain `\n` (a pushed line that
/// has one is split there), so the body can join them with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogChunk {
    first_ts: i64,
    last_ts: i64,
    count: u32,
    /// For every line after the first: its timestamp minus the previous one's, as an
    /// unsigned LEB128 varint (a clock step backwards is stored as 0).
    stamps: Vec<u8>,
    body: String,
}

impl LogChunk {
    /// A chunk of `lines`.
    pub fn from_lines<S: AsRef<str>>(lines: impl IntoIterator<Item = (i64, S)>) -> Self {
        let mut chunk = Self::default();
        for (ts, line) in lines {
            chunk.push(ts, line.as_ref());
        }
        chunk
    }

    /// Appends a line (split at any `\n` it holds).
    pub fn push(&mut self, ts: i64, line: &str) {
        for part in line.split('\n') {
            self.push_one(ts, part);
        }
    }

    fn push_one(&mut self, ts: i64, line: &str) {
        if self.count == 0 {
            self.first_ts = ts;
            self.last_ts = ts;
        } else {
            let delta = ts.saturating_sub(self.last_ts).max(0) as u64;
            write_varint(&mut self.stamps, delta);
            self.last_ts = self.last_ts.max(ts);
            self.body.push('\n');
        }
        self.body.push_str(line);
        self.count += 1;
    }

    /// Moves every line of `other` to the end of this one.
    pub fn append(&mut self, other: LogChunk) {
        for (ts, line) in other.lines() {
            self.push_one(ts, line);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    /// Bytes held: what a queue of chunks should be bounded by.
    pub fn size(&self) -> usize {
        self.body.len() + self.stamps.len()
    }

    pub fn first_ts(&self) -> i64 {
        self.first_ts
    }

    pub fn last_ts(&self) -> i64 {
        self.last_ts
    }

    /// `(timestamp, line)` in order.
    pub fn lines(&self) -> impl Iterator<Item = (i64, &str)> + '_ {
        let mut stamps = self.stamps.as_slice();
        let mut ts = self.first_ts;
        let mut first = true;
        self.body
            .split('\n')
            .take(self.count as usize)
            .map(move |line| {
                if !first {
                    ts = ts.saturating_add(read_varint(&mut stamps) as i64);
                }
                first = false;
                (ts, line)
            })
    }

    /// The parts of a stored row.
    pub(crate) fn to_row(&self) -> (i64, i64, u32, &[u8], &str) {
        (
            self.first_ts,
            self.last_ts,
            self.count,
            &self.stamps,
            &self.body,
        )
    }

    pub(crate) fn from_row(
        first_ts: i64,
        last_ts: i64,
        count: u32,
        stamps: Vec<u8>,
        body: String,
    ) -> Self {
        Self {
            first_ts,
            last_ts,
            count,
            stamps,
            body,
        }
    }
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Reads one varint; a truncated one (a corrupt row) reads as what it has.
fn read_varint(input: &mut &[u8]) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    while let Some((&b, rest)) = input.split_first() {
        *input = rest;
        if shift < 64 {
            v |= u64::from(b & 0x7f) << shift;
        }
        shift += 7;
        if b & 0x80 == 0 {
            break;
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lines_come_back_with_their_times() {
        let c = LogChunk::from_lines([(100, "a"), (100, ""), (350, "c"), (90, "back")]);
        assert_eq!(c.count(), 4);
        let got: Vec<_> = c.lines().collect();
        // A step backwards is stored as no step.
        assert_eq!(got, [(100, "a"), (100, ""), (350, "c"), (350, "back")]);
        assert_eq!(c.first_ts(), 100);
        assert_eq!(c.last_ts(), 350);
    }

    #[test]
    fn a_line_with_newlines_becomes_several() {
        let c = LogChunk::from_lines([(1, "x\ny")]);
        assert_eq!(c.lines().collect::<Vec<_>>(), [(1, "x"), (1, "y")]);
    }

    #[test]
    fn short_lines_cost_about_their_length() {
        let c = LogChunk::from_lines((0..10_000).map(|i| (1_000 + i / 100, "ab")));
        assert_eq!(c.count(), 10_000);
        assert!(c.size() <= 4 * 10_000, "{} bytes", c.size());
    }

    proptest! {
        #[test]
        fn round_trips(lines in proptest::collection::vec((0i64..1i64 << 45, "[^\n]{0,20}"), 0..50)) {
            let mut sorted = lines.clone();
            sorted.sort_by_key(|l| l.0);
            let c = LogChunk::from_lines(sorted.iter().map(|(t, s)| (*t, s.as_str())));
            let (a, b, n, stamps, body) = c.to_row();
            let back = LogChunk::from_row(a, b, n, stamps.to_vec(), body.to_string());
            let got: Vec<(i64, String)> = back.lines().map(|(t, s)| (t, s.to_string())).collect();
            prop_assert_eq!(got, sorted);
        }
    }
}
