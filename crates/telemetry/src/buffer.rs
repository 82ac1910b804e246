//! One subscriber's buffer: serialized records waiting for delivery, when a batch is due, and
//! what was dropped. Pure (no I/O, time passed in) so the rules are tested on their own.
//!
//! A batch is due when `maxItems` records or `maxBytes` bytes wait, or `timeoutMs` after the
//! oldest waiting record arrived (AWS: "The maximum time (in milliseconds) to buffer a
//! batch"). A batch holds at most `maxItems` records and `maxBytes` bytes (at least one
//! record, however large). While a delivery is slow the buffer keeps filling up to
//! [`BACKLOG_FACTOR`] times those limits; past that, new records are dropped (the oldest are
//! kept, so what arrives stays in order), and the next batch starts with a
//! `platform.logsDropped` record counting them.

use std::collections::VecDeque;

use tokio::time::Instant;

use crate::bounds::BACKLOG_FACTOR;
use crate::subscription::Buffering;

/// Records dropped since the last batch that reported drops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    /// How many records.
    pub records: u64,
    /// How many bytes of serialized records.
    pub bytes: u64,
}

/// What [`Buffer::push`] did with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// It waits for a batch.
    Buffered,
    /// The buffer was full: it was dropped and counted.
    Dropped,
}

/// A batch taken from the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Drops to report at the front of this batch, if any.
    pub dropped: Option<Dropped>,
    /// Serialized records, oldest first.
    pub items: Vec<Vec<u8>>,
}

impl Batch {
    /// The batch's size as drops would count it.
    pub fn size(&self) -> Dropped {
        Dropped {
            records: self.items.len() as u64,
            bytes: self.items.iter().map(|i| i.len() as u64).sum(),
        }
    }
}

/// See the module docs.
#[derive(Debug)]
pub struct Buffer {
    limits: Buffering,
    waiting: VecDeque<(Instant, Vec<u8>)>,
    waiting_bytes: usize,
    dropped: Dropped,
}

impl Buffer {
    /// An empty buffer with a subscriber's limits.
    pub fn new(limits: Buffering) -> Self {
        Buffer {
            limits,
            waiting: VecDeque::new(),
            waiting_bytes: 0,
            dropped: Dropped::default(),
        }
    }

    fn max_items(&self) -> usize {
        self.limits.max_items as usize
    }

    fn max_bytes(&self) -> usize {
        self.limits.max_bytes as usize
    }

    /// Adds a serialized record that arrived at `now`, or drops it when the backlog is full.
    pub fn push(&mut self, item: Vec<u8>, now: Instant) -> Pushed {
        let full = self.waiting.len() >= BACKLOG_FACTOR * self.max_items()
            || self.waiting_bytes + item.len() > BACKLOG_FACTOR * self.max_bytes();
        if full {
            self.note_dropped(Dropped {
                records: 1,
                bytes: item.len() as u64,
            });
            return Pushed::Dropped;
        }
        self.waiting_bytes += item.len();
        self.waiting.push_back((now, item));
        Pushed::Buffered
    }

    /// Counts records lost elsewhere (a batch given up after its retries).
    pub fn note_dropped(&mut self, dropped: Dropped) {
        self.dropped.records += dropped.records;
        self.dropped.bytes += dropped.bytes;
    }

    /// How many records wait.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether nothing waits (drops not yet reported count as something).
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty() && self.dropped.records == 0
    }

    /// When a batch is due by time alone: `timeoutMs` after the oldest waiting record.
    pub fn deadline(&self) -> Option<Instant> {
        self.waiting
            .front()
            .map(|(at, _)| *at + self.limits.timeout())
    }

    /// Whether a batch is due at `now` (also when drops alone wait to be reported).
    pub fn due(&self, now: Instant) -> bool {
        self.waiting.len() >= self.max_items()
            || self.waiting_bytes >= self.max_bytes()
            || self.deadline().is_some_and(|d| d <= now)
            || (self.waiting.is_empty() && self.dropped.records > 0)
    }

    /// Takes the next batch, whether or not it is due (a flush takes everything this way).
    pub fn take(&mut self) -> Option<Batch> {
        if self.is_empty() {
            return None;
        }
        let mut items = Vec::new();
        let mut bytes = 0;
        while let Some((_, item)) = self.waiting.front() {
            let fits = items.len() < self.max_items() && bytes + item.len() <= self.max_bytes();
            if !fits && !items.is_empty() {
                break;
            }
            let (_, item) = self.waiting.pop_front().expect("front was just seen");
            bytes += item.len();
            self.waiting_bytes -= item.len();
            items.push(item);
            if !fits {
                break;
            }
        }
        let dropped = (self.dropped.records > 0).then(|| std::mem::take(&mut self.dropped));
        Some(Batch { dropped, items })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits(timeout_ms: u32) -> Buffering {
        Buffering {
            max_items: 1000,
            max_bytes: 262_144,
            timeout_ms,
        }
    }

    fn item(n: usize) -> Vec<u8> {
        vec![b'x'; n]
    }

    #[test]
    fn due_by_items() {
        let now = Instant::now();
        let mut b = Buffer::new(limits(1000));
        for _ in 0..999 {
            assert_eq!(b.push(item(10), now), Pushed::Buffered);
        }
        assert!(!b.due(now));
        b.push(item(10), now);
        assert!(b.due(now));
        let batch = b.take().expect("a batch");
        assert_eq!(batch.items.len(), 1000);
        assert_eq!(batch.dropped, None);
        assert_eq!(b.len(), 0);
        assert_eq!(b.take(), None);
    }

    #[test]
    fn due_by_bytes_and_batch_is_capped_by_bytes() {
        let now = Instant::now();
        let mut b = Buffer::new(limits(1000));
        b.push(item(200_000), now);
        assert!(!b.due(now));
        b.push(item(62_144), now);
        assert!(b.due(now), "262,144 bytes wait");
        b.push(item(5), now);
        let batch = b.take().expect("a batch");
        assert_eq!(
            batch.size(),
            Dropped {
                records: 2,
                bytes: 262_144
            }
        );
        assert_eq!(b.len(), 1, "the third record waits for the next batch");
    }

    #[test]
    fn a_record_larger_than_max_bytes_goes_alone() {
        let now = Instant::now();
        let mut b = Buffer::new(limits(1000));
        b.push(item(300_000), now);
        b.push(item(1), now);
        assert_eq!(
            b.take().expect("a batch").size(),
            Dropped {
                records: 1,
                bytes: 300_000
            }
        );
        assert_eq!(
            b.take().expect("a batch").size(),
            Dropped {
                records: 1,
                bytes: 1
            }
        );
    }

    #[test]
    fn due_by_time_from_the_oldest_record() {
        let t0 = Instant::now();
        let mut b = Buffer::new(limits(100));
        assert_eq!(b.deadline(), None);
        b.push(item(1), t0);
        b.push(item(1), t0 + Duration::from_millis(60));
        assert_eq!(b.deadline(), Some(t0 + Duration::from_millis(100)));
        assert!(!b.due(t0 + Duration::from_millis(99)));
        assert!(b.due(t0 + Duration::from_millis(100)));
    }

    #[test]
    fn backlog_bound_drops_newest_and_reports_once() {
        let now = Instant::now();
        let mut b = Buffer::new(limits(1000));
        for _ in 0..2000 {
            assert_eq!(b.push(item(3), now), Pushed::Buffered);
        }
        assert_eq!(b.push(item(3), now), Pushed::Dropped);
        assert_eq!(b.push(item(4), now), Pushed::Dropped);
        let first = b.take().expect("a batch");
        assert_eq!(
            first.dropped,
            Some(Dropped {
                records: 2,
                bytes: 7
            })
        );
        assert_eq!(first.items.len(), 1000);
        let second = b.take().expect("a batch");
        assert_eq!(second.dropped, None, "drops are reported once");
        assert_eq!(second.items.len(), 1000);
    }

    #[test]
    fn backlog_bound_by_bytes() {
        let now = Instant::now();
        let mut b = Buffer::new(limits(1000));
        assert_eq!(b.push(item(524_288), now), Pushed::Buffered);
        assert_eq!(b.push(item(1), now), Pushed::Dropped);
    }

    #[test]
    fn drops_alone_make_a_batch() {
        let now = Instant::now();
        let mut b = Buffer::new(limits(1000));
        b.note_dropped(Dropped {
            records: 5,
            bytes: 50,
        });
        assert!(b.due(now));
        assert_eq!(
            b.take(),
            Some(Batch {
                dropped: Some(Dropped {
                    records: 5,
                    bytes: 50
                }),
                items: vec![]
            })
        );
        assert!(b.is_empty());
    }
}
