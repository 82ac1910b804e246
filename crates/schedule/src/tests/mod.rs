//! Behaviour of whole schedules: AWS's documented examples, refusals, daylight saving time,
//! date bounds, and a sanity run over many schedules.

mod aws_examples;
mod bounds;
mod dst;
mod invalid;
mod properties;
mod volume;

use chrono::{DateTime, Utc};

use crate::Schedule;

pub(super) fn utc(text: &str) -> DateTime<Utc> {
    text.parse().expect("test time parses")
}

/// The next `n` slots strictly after `after`, as RFC 3339 UTC strings.
pub(super) fn slots(schedule: &Schedule, after: &str, n: usize) -> Vec<String> {
    let mut t = utc(after);
    let mut out = Vec::new();
    for _ in 0..n {
        match schedule.next_after(t) {
            Some(next) => {
                out.push(next.format("%Y-%m-%dT%H:%MZ").to_string());
                t = next;
            }
            None => break,
        }
    }
    out
}
