//! The store's group commits in `/metrics`: how long each took and how many changes it
//! held, told by the writer's [`hearth_store::CommitHook`] (the store knows nothing of
//! Prometheus).

use prometheus::{exponential_buckets, Histogram, HistogramOpts, Registry};

/// The writer's histograms.
pub(crate) struct Commits {
    seconds: Histogram,
    changes: Histogram,
}

impl Commits {
    pub(crate) fn new(registry: &Registry) -> Self {
        let histogram = |name: &str, help: &str, buckets: Vec<f64>| {
            let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
                .expect("valid histogram");
            registry.register(Box::new(h.clone())).expect("unique name");
            h
        };
        Self {
            seconds: histogram(
                "hearth_store_commit_seconds",
                "Time of each group commit of the store's writer (logs, async queue, audit), its fsync included.",
                // 50 µs to about 13 s.
                exponential_buckets(0.00005, 2.0, 19).expect("valid buckets"),
            ),
            changes: histogram(
                "hearth_store_commit_changes",
                "Changes (log batches, queue changes, audit events) each group commit held.",
                exponential_buckets(1.0, 2.0, 11).expect("valid buckets"),
            ),
        }
    }

    /// What the writer tells of each commit.
    pub(crate) fn hook(&self) -> hearth_store::CommitHook {
        let (seconds, changes) = (self.seconds.clone(), self.changes.clone());
        std::sync::Arc::new(move |c: hearth_store::Committed| {
            seconds.observe(c.duration.as_secs_f64());
            changes.observe(c.changes as f64);
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn each_commit_is_one_observation_of_time_and_size() {
        let p = crate::Prometheus::new();
        let c = Commits::new(p.registry());
        let hook = c.hook();
        hook(hearth_store::Committed {
            duration: Duration::from_millis(3),
            changes: 5,
        });
        hook(hearth_store::Committed {
            duration: Duration::from_millis(1),
            changes: 1,
        });
        let text = p.render();
        for line in [
            "hearth_store_commit_seconds_count 2",
            "hearth_store_commit_seconds_sum 0.004",
            "hearth_store_commit_changes_count 2",
            "hearth_store_commit_changes_sum 6",
            "hearth_store_commit_changes_bucket{le=\"4\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
    }
}
