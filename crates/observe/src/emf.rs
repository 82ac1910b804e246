//! Functions' Embedded Metric Format lines on their way to CloudWatch: the engine hands
//! over every stored log line that may be an EMF document; they wait here, bounded, and
//! each flush extracts them into the function's account as CloudWatch Logs does. A line
//! beyond the bound is dropped (and counted): its log line is stored all the same.

use std::collections::VecDeque;
use std::sync::Mutex;

use hearth_metrics::{CloudWatch, EmfError};
use hearth_model::arn::key_parts;

use crate::prom::{EmfOutcome, Prometheus};

/// Lines held between two flushes (ten seconds of a busy node's EMF output).
const MAX_LINES: usize = 20_000;
/// Bytes of lines held.
const MAX_BYTES: usize = 32 * 1024 * 1024;

/// Where EMF lines are extracted to: CloudWatch, or a test's.
pub trait EmfSink: Send + Sync {
    /// Records the metrics of one line of `account`'s function; how many values, or
    /// why none.
    fn record_emf(&self, account: &str, line: &str) -> Result<usize, EmfError>;
}

impl EmfSink for CloudWatch {
    fn record_emf(&self, account: &str, line: &str) -> Result<usize, EmfError> {
        CloudWatch::record_emf(self, account, line)
    }
}

#[derive(Default)]
struct Held {
    /// (function key, line), in the order written.
    lines: VecDeque<(String, String)>,
    bytes: usize,
}

/// The lines waiting for the next flush.
#[derive(Default)]
pub(crate) struct EmfQueue {
    held: Mutex<Held>,
}

impl EmfQueue {
    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `line` of `function` for the next flush; `false` if there is no room.
    pub(crate) fn push(&self, function: &str, line: &str) -> bool {
        let mut held = self.held();
        if held.lines.len() >= MAX_LINES || held.bytes + line.len() > MAX_BYTES {
            return false;
        }
        held.bytes += line.len();
        held.lines
            .push_back((function.to_string(), line.to_string()));
        true
    }

    /// Extracts every held line into `sink`, counting each outcome in `prom`. A line
    /// that is not EMF after all (not a JSON object with `_aws`) is an ordinary log line
    /// and counts nowhere.
    pub(crate) fn flush(&self, sink: &dyn EmfSink, prom: &Prometheus) {
        let lines = std::mem::take(&mut *self.held()).lines;
        for (function, line) in lines {
            let (account, _) = key_parts(&function);
            match sink.record_emf(account, &line) {
                Ok(n) => prom.emf(&function, EmfOutcome::Recorded(n)),
                Err(EmfError::NotEmf) => {}
                Err(EmfError::Invalid(reason)) => {
                    tracing::debug!(function, reason, "EMF line rejected");
                    prom.emf(&function, EmfOutcome::Rejected);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes lines whose text is a number of values; `-1` is invalid, `-2` not EMF.
    #[derive(Default)]
    struct Sink(Mutex<Vec<(String, String)>>);

    impl EmfSink for Sink {
        fn record_emf(&self, account: &str, line: &str) -> Result<usize, EmfError> {
            self.0
                .lock()
                .expect("sink")
                .push((account.into(), line.into()));
            match line.parse::<i64>() {
                Ok(-1) => Err(EmfError::Invalid("bad".into())),
                Ok(n) if n >= 0 => Ok(n as usize),
                _ => Err(EmfError::NotEmf),
            }
        }
    }

    #[test]
    fn held_lines_go_to_their_account_and_each_outcome_is_counted() {
        let q = EmfQueue::default();
        let prom = Prometheus::new();
        assert!(q.push("111122223333:f", "3"));
        assert!(q.push("f", "-1"));
        assert!(q.push("f", "-2"));
        let sink = Sink::default();
        q.flush(&sink, &prom);
        assert_eq!(
            *sink.0.lock().expect("sink"),
            [
                ("111122223333".to_string(), "3".to_string()),
                ("000000000000".to_string(), "-1".to_string()),
                ("000000000000".to_string(), "-2".to_string()),
            ]
        );
        let text = prom.render();
        for line in [
            "hearth_emf_values_total{account=\"111122223333\",function=\"f\"} 3",
            "hearth_emf_rejected_total{account=\"000000000000\",function=\"f\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        assert!(!text.contains("hearth_emf_rejected_total{account=\"111122223333\""));
        // Flushed: nothing is held any more.
        let again = Sink::default();
        q.flush(&again, &prom);
        assert!(again.0.lock().expect("sink").is_empty());
    }

    #[test]
    fn lines_beyond_the_bound_are_refused() {
        let q = EmfQueue::default();
        for _ in 0..MAX_LINES {
            assert!(q.push("f", "1"));
        }
        assert!(!q.push("f", "1"));
        let q = EmfQueue::default();
        let big = "x".repeat(MAX_BYTES / 2);
        assert!(q.push("f", &big));
        assert!(q.push("f", &big));
        assert!(!q.push("f", "x"));
    }
}
