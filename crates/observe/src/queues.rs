//! The `AWS/SQS` metrics of Hearth's queues, per `QueueName`, as SQS publishes them: the
//! counts of the calls it handled (`NumberOfMessagesSent`, `SentMessageSize`,
//! `NumberOfMessagesReceived`, `NumberOfMessagesDeleted`, `NumberOfEmptyReceives`),
//! recorded with every flush; and, once a minute for active queues, their depths
//! (`ApproximateNumberOfMessagesVisible`, `…NotVisible`, `…Delayed`) and
//! `ApproximateAgeOfOldestMessage`. Also `/metrics`' gauges of each queue's depth and
//! each mapping's backlog.
//!
//! UNSURE: SQS also publishes zeros for an active queue's counts in minutes without
//! calls; Hearth records a count only in a minute that had one.

use hearth_metrics::{Recorder, Stats, Unit};
use hearth_sqs::{QueueActivity, QueueDepth};

use crate::Prometheus;

/// The namespace of the metrics SQS publishes.
pub const SQS_NAMESPACE: &str = "AWS/SQS";

/// Records the queues' counts at `now_ms`.
pub fn publish_activity(activity: &[QueueActivity], recorder: &Recorder, now_ms: i64) {
    for q in activity {
        let dims = [("QueueName", q.name.as_str())];
        let a = &q.activity;
        let counts = [
            ("NumberOfMessagesSent", a.sent),
            ("NumberOfMessagesReceived", a.received),
            ("NumberOfMessagesDeleted", a.deleted),
            ("NumberOfEmptyReceives", a.empty_receives),
        ];
        for (name, n) in counts.into_iter().filter(|(_, n)| *n > 0) {
            let stats = Stats::of(n as f64);
            recorder.record_stats(
                &q.account,
                SQS_NAMESPACE,
                name,
                &dims,
                Unit::COUNT,
                60,
                now_ms,
                &stats,
            );
        }
        let s = &a.sizes;
        if s.count > 0 {
            let stats = Stats::from_set(s.count as f64, s.sum, s.min, s.max);
            recorder.record_stats(
                &q.account,
                SQS_NAMESPACE,
                "SentMessageSize",
                &dims,
                Unit::BYTES,
                60,
                now_ms,
                &stats,
            );
        }
    }
}

/// Records one sample of each active queue's depth at `now_ms`.
pub fn publish_depths(depths: &[QueueDepth], recorder: &Recorder, now_ms: i64) {
    for q in depths {
        let dims = [("QueueName", q.name.as_str())];
        let gauges = [
            (
                "ApproximateNumberOfMessagesVisible",
                Unit::COUNT,
                q.counts.visible as f64,
            ),
            (
                "ApproximateNumberOfMessagesNotVisible",
                Unit::COUNT,
                q.counts.not_visible as f64,
            ),
            (
                "ApproximateNumberOfMessagesDelayed",
                Unit::COUNT,
                q.counts.delayed as f64,
            ),
            (
                "ApproximateAgeOfOldestMessage",
                Unit::SECONDS,
                q.oldest_age_s,
            ),
        ];
        for (name, unit, v) in gauges {
            recorder.record(&q.account, SQS_NAMESPACE, name, &dims, unit, now_ms, v);
        }
    }
}

/// One mapping's backlog: the messages waiting in its queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Backlog {
    pub account: String,
    pub uuid: String,
    /// The function's name (without the account).
    pub function: String,
    pub queue: String,
    pub visible: u64,
}

impl Prometheus {
    /// Sets the queues' depth gauges (every queue's, in `depths`) and the mappings'
    /// backlog gauges.
    pub fn set_queues(&self, depths: &[QueueDepth], backlogs: &[Backlog]) {
        let per_queue = |f: &dyn Fn(&QueueDepth) -> f64| -> Vec<(Vec<&str>, f64)> {
            depths
                .iter()
                .map(|q| (vec![q.account.as_str(), q.name.as_str()], f(q)))
                .collect()
        };
        let labels = ["account", "queue"];
        self.set_gauge(
            "hearth_sqs_messages_visible",
            "Messages of the queue that may be received now (ApproximateNumberOfMessagesVisible).",
            &labels,
            &per_queue(&|q| q.counts.visible as f64),
        );
        self.set_gauge(
            "hearth_sqs_messages_in_flight",
            "Messages received and neither deleted nor visible again (ApproximateNumberOfMessagesNotVisible).",
            &labels,
            &per_queue(&|q| q.counts.not_visible as f64),
        );
        self.set_gauge(
            "hearth_sqs_messages_delayed",
            "Messages sent with a delay not yet over (ApproximateNumberOfMessagesDelayed).",
            &labels,
            &per_queue(&|q| q.counts.delayed as f64),
        );
        self.set_gauge(
            "hearth_sqs_oldest_message_age_seconds",
            "Age of the queue's oldest message, 0 when it has none (ApproximateAgeOfOldestMessage).",
            &labels,
            &per_queue(&|q| q.oldest_age_s),
        );
        let backlog: Vec<(Vec<&str>, f64)> = backlogs
            .iter()
            .map(|b| {
                let l = vec![
                    b.account.as_str(),
                    b.uuid.as_str(),
                    b.function.as_str(),
                    b.queue.as_str(),
                ];
                (l, b.visible as f64)
            })
            .collect();
        self.set_gauge(
            "hearth_mapping_backlog_messages",
            "Messages waiting in an event-source mapping's queue for its pollers.",
            &["account", "mapping", "function", "queue"],
            &backlog,
        );
    }
}

#[cfg(test)]
mod tests {
    use hearth_metrics::point::PointStats;
    use hearth_sqs::{Activity, Counts, Sizes};

    use super::*;

    /// A drained point: (account, namespace, name, dims, sum, count).
    type Drained = (String, String, String, Vec<(String, String)>, f64, f64);

    /// Every point the recorder drained.
    fn drained(r: &Recorder) -> Vec<Drained> {
        let (series, points) = r.drain();
        let mut out: Vec<_> = points
            .iter()
            .map(|p| {
                let s = series.iter().find(|s| s.id == p.series).expect("series");
                let stats = PointStats::decode(&p.stats).expect("stats");
                let (sum, count) = stats
                    .by_unit
                    .iter()
                    .fold((0.0, 0.0), |(s, c), (_, st)| (s + st.sum, c + st.count));
                (
                    s.account.clone(),
                    s.namespace.clone(),
                    s.name.clone(),
                    s.dimensions.clone(),
                    sum,
                    count,
                )
            })
            .collect();
        out.sort_by(|a, b| a.2.cmp(&b.2));
        out
    }

    #[test]
    fn counts_and_depths_go_under_the_queue_name_in_aws_sqs() {
        let r = Recorder::new();
        publish_activity(
            &[QueueActivity {
                account: "111122223333".into(),
                name: "jobs".into(),
                activity: Activity {
                    sent: 3,
                    sizes: Sizes {
                        count: 3,
                        sum: 60.0,
                        min: 10.0,
                        max: 30.0,
                    },
                    received: 2,
                    deleted: 0,
                    empty_receives: 1,
                },
            }],
            &r,
            60_000,
        );
        publish_depths(
            &[QueueDepth {
                account: "111122223333".into(),
                name: "jobs".into(),
                counts: Counts {
                    visible: 1,
                    not_visible: 2,
                    delayed: 0,
                },
                oldest_age_s: 42.5,
            }],
            &r,
            60_000,
        );
        let q = vec![("QueueName".to_string(), "jobs".to_string())];
        let row = |name: &str, sum, count| {
            (
                "111122223333".to_string(),
                "AWS/SQS".to_string(),
                name.to_string(),
                q.clone(),
                sum,
                count,
            )
        };
        assert_eq!(
            drained(&r),
            vec![
                row("ApproximateAgeOfOldestMessage", 42.5, 1.0),
                row("ApproximateNumberOfMessagesDelayed", 0.0, 1.0),
                row("ApproximateNumberOfMessagesNotVisible", 2.0, 1.0),
                row("ApproximateNumberOfMessagesVisible", 1.0, 1.0),
                row("NumberOfEmptyReceives", 1.0, 1.0),
                row("NumberOfMessagesReceived", 2.0, 1.0),
                row("NumberOfMessagesSent", 3.0, 1.0),
                row("SentMessageSize", 60.0, 3.0),
            ]
        );
    }
}
