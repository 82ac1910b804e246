//! What each queue counts for the `AWS/SQS` metrics, where SQS handles the calls:
//! messages sent (and their sizes), received and deleted, and receives that answered
//! nothing; and what its depth is when sampled (visible, in flight, delayed, and the age
//! of its oldest message). The server drains the counts into CloudWatch with its other
//! metrics ([`Sqs::take_activity`]) and samples the depths once a minute
//! ([`Sqs::depths`]); only the node that serves SQS has either.

use std::sync::Mutex;

use crate::handle::Sqs;
use crate::queue::{Counts, State};

/// How long a queue counts as active after its last call: SQS publishes the metrics of
/// active queues, those with messages or called within the last six hours.
pub const ACTIVE_FOR_MS: i64 = 6 * 3600 * 1000;

/// After this many receives a message no longer counts as the oldest: SQS moves a
/// message received three times to the back of the queue for this metric.
const OLDEST_MAX_RECEIVES: i64 = 3;

/// A distribution of message sizes, bytes.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Sizes {
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

impl Sizes {
    fn add(&mut self, bytes: usize) {
        let b = bytes as f64;
        if self.count == 0 {
            self.min = b;
            self.max = b;
        } else {
            self.min = self.min.min(b);
            self.max = self.max.max(b);
        }
        self.count += 1;
        self.sum += b;
    }
}

/// A queue's counts since they were last taken.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Activity {
    /// `NumberOfMessagesSent` (duplicates of a FIFO queue's deduplication included, as
    /// SQS counts the calls' messages).
    pub sent: u64,
    /// `SentMessageSize`.
    pub sizes: Sizes,
    /// `NumberOfMessagesReceived`.
    pub received: u64,
    /// `NumberOfMessagesDeleted`: every delete answered with success.
    pub deleted: u64,
    /// `NumberOfEmptyReceives`.
    pub empty_receives: u64,
}

impl Activity {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One queue's counts, as taken.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueActivity {
    pub account: String,
    pub name: String,
    pub activity: Activity,
}

/// One active queue's depth now.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueDepth {
    pub account: String,
    pub name: String,
    pub counts: Counts,
    /// Seconds since its oldest message was sent (0 when it has none).
    pub oldest_age_s: f64,
}

/// What one queue counts.
#[derive(Debug, Default)]
pub(crate) struct Meter(Mutex<Metered>);

#[derive(Debug, Default)]
struct Metered {
    activity: Activity,
    /// The last call counted, ms since the epoch.
    last_active_ms: i64,
}

impl Meter {
    /// A meter of a queue active since `now_ms` (made or loaded).
    pub(crate) fn since(now_ms: i64) -> Self {
        Self(Mutex::new(Metered {
            activity: Activity::default(),
            last_active_ms: now_ms,
        }))
    }

    fn with(&self, now_ms: i64, f: impl FnOnce(&mut Activity)) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.last_active_ms = m.last_active_ms.max(now_ms);
        f(&mut m.activity);
    }

    pub(crate) fn sent(&self, bytes: usize, now_ms: i64) {
        self.with(now_ms, |a| {
            a.sent += 1;
            a.sizes.add(bytes);
        });
    }

    /// A receive that answered `n` messages.
    pub(crate) fn received(&self, n: usize, now_ms: i64) {
        self.with(now_ms, |a| {
            a.received += n as u64;
            if n == 0 {
                a.empty_receives += 1;
            }
        });
    }

    pub(crate) fn deleted(&self, now_ms: i64) {
        self.with(now_ms, |a| a.deleted += 1);
    }

    fn take(&self) -> Activity {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut m.activity)
    }

    fn last_active_ms(&self) -> i64 {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last_active_ms
    }
}

/// When the oldest message of `s` was sent: of those not received three times or more
/// (all, when each was), counting in-flight and delayed messages, which are not deleted.
pub(crate) fn oldest_sent_ms(s: &State) -> Option<i64> {
    let stored = || s.msgs.values().filter(|m| !m.pending);
    stored()
        .filter(|m| m.receive_count < OLDEST_MAX_RECEIVES)
        .map(|m| m.rec.sent_ms)
        .min()
        .or_else(|| stored().map(|m| m.rec.sent_ms).min())
}

impl Sqs {
    /// Every queue's counts since the last call (those with any); the counts start over.
    pub fn take_activity(&self) -> Vec<QueueActivity> {
        self.local
            .all_queues()
            .into_iter()
            .filter_map(|q| {
                let activity = q.meter.take();
                (!activity.is_empty()).then(|| QueueActivity {
                    account: q.account.clone(),
                    name: q.name.clone(),
                    activity,
                })
            })
            .collect()
    }

    /// The depth of every active queue at `now_ms`: with a message, or called within
    /// [`ACTIVE_FOR_MS`] (the queues SQS publishes metrics of). Empty where SQS is not
    /// served.
    pub fn depths(&self, now_ms: i64) -> Vec<QueueDepth> {
        self.depths_of(now_ms, true)
    }

    /// The depth of every queue at `now_ms`, active or not (for `/metrics`).
    pub fn all_depths(&self, now_ms: i64) -> Vec<QueueDepth> {
        self.depths_of(now_ms, false)
    }

    fn depths_of(&self, now_ms: i64, active_only: bool) -> Vec<QueueDepth> {
        self.local
            .all_queues()
            .into_iter()
            .filter_map(|q| {
                let (counts, oldest) = {
                    let s = q.lock();
                    if s.deleted {
                        return None;
                    }
                    (s.counts(now_ms), oldest_sent_ms(&s))
                };
                let has_messages = counts.visible + counts.not_visible + counts.delayed > 0;
                let idle = now_ms - q.meter.last_active_ms() > ACTIVE_FOR_MS;
                if active_only && !has_messages && idle {
                    return None;
                }
                Some(QueueDepth {
                    account: q.account.clone(),
                    name: q.name.clone(),
                    counts,
                    oldest_age_s: oldest.map_or(0.0, |t| ((now_ms - t).max(0) as f64) / 1000.0),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_meter_counts_until_taken_and_sizes_keep_their_extremes() {
        let m = Meter::since(0);
        m.sent(10, 5);
        m.sent(30, 6);
        m.received(2, 7);
        m.received(0, 8);
        m.deleted(9);
        assert_eq!(m.last_active_ms(), 9);
        assert_eq!(
            m.take(),
            Activity {
                sent: 2,
                sizes: Sizes {
                    count: 2,
                    sum: 40.0,
                    min: 10.0,
                    max: 30.0
                },
                received: 2,
                deleted: 1,
                empty_receives: 1,
            }
        );
        assert!(m.take().is_empty());
        assert_eq!(m.last_active_ms(), 9, "taking is no activity");
    }
}
