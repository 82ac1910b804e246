//! What happens to an event after an attempt, as Lambda does it: function errors
//! (including timeouts and crashes) are retried `MaximumRetryAttempts` times after the
//! configured delays (about 1 then 2 minutes); throttles and system errors go back to
//! the queue with a backoff from 1 second doubling to 5 minutes, as often as the event's
//! age allows; an event older than `MaximumEventAgeInSeconds` is discarded.

use std::time::Duration;

use hearth_model::event_invoke::EventInvokeConfig;
use hearth_store::{Progress, QueuedEvent};
use serde::{Deserialize, Serialize};

/// First delay after a throttle or a system error.
const BACKOFF_MIN_MS: i64 = 1_000;
/// Longest delay after throttles or system errors.
const BACKOFF_MAX_MS: i64 = 5 * 60 * 1_000;

/// The settings one event is handled with.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub max_retries: i64,
    pub max_age_ms: i64,
    /// Delay before retry N (the last one repeats).
    pub retry_delays: Vec<Duration>,
}

impl Policy {
    pub(crate) fn new(config: Option<&EventInvokeConfig>, retry_delays: &[Duration]) -> Self {
        let defaults = EventInvokeConfig {
            function: String::new(),
            qualifier: String::new(),
            maximum_retry_attempts: None,
            maximum_event_age_in_seconds: None,
            destination_config: Default::default(),
            last_modified: 0.0,
        };
        let c = config.unwrap_or(&defaults);
        Self {
            max_retries: c.retry_attempts(),
            max_age_ms: c.max_event_age_s() * 1000,
            retry_delays: retry_delays.to_vec(),
        }
    }

    fn expiry(&self, e: &QueuedEvent) -> i64 {
        e.accepted_ms.saturating_add(self.max_age_ms)
    }

    /// Whether the event is too old to run.
    pub(crate) fn expired(&self, e: &QueuedEvent, now: i64) -> bool {
        now >= self.expiry(e)
    }

    fn retry_delay_ms(&self, retry: i64) -> i64 {
        let i = (retry.max(1) - 1) as usize;
        self.retry_delays
            .get(i)
            .or(self.retry_delays.last())
            .map_or(60_000, |d| d.as_millis() as i64)
    }
}

/// What the function's answer was, kept for a destination record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Outcome {
    pub status_code: u16,
    pub executed_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_error: Option<String>,
    /// The response (or error) payload as the function gave it.
    pub payload: String,
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub(crate) enum Attempt {
    /// The function ran the event (successfully or not).
    Ran(Outcome),
    /// The event did not run: throttled, or Hearth failed.
    Setback { throttled: bool },
    /// The function (or the version or alias named) no longer exists.
    Gone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Condition {
    Success,
    RetriesExhausted,
    EventAgeExceeded,
}

impl Condition {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Condition::Success => "Success",
            Condition::RetriesExhausted => "RetriesExhausted",
            Condition::EventAgeExceeded => "EventAgeExceeded",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decision {
    /// The event is done; with a condition, a destination record may follow.
    Done(Option<Condition>),
    /// Another attempt at `due_ms`; a throttle also holds back the function's other
    /// events until then.
    Again { due_ms: i64, pause_function: bool },
}

/// The event's progress after `attempt`, and what to do with it next.
pub(crate) fn decide(
    e: &QueuedEvent,
    attempt: &Attempt,
    policy: &Policy,
    now: i64,
) -> (Decision, Progress) {
    let mut p = e.progress.clone();
    // Never wait past the age limit: the event is discarded at that moment instead.
    let again = |delay: i64, pause_function: bool| Decision::Again {
        due_ms: now.saturating_add(delay).min(policy.expiry(e)),
        pause_function,
    };
    let decision = match attempt {
        Attempt::Ran(outcome) => {
            p.runs += 1;
            p.setbacks = 0;
            p.last_outcome = serde_json::to_string(outcome).ok();
            if outcome.function_error.is_none() {
                Decision::Done(Some(Condition::Success))
            } else if p.runs > policy.max_retries {
                Decision::Done(Some(Condition::RetriesExhausted))
            } else {
                again(policy.retry_delay_ms(p.runs), false)
            }
        }
        Attempt::Setback { throttled } => {
            p.setbacks += 1;
            let backoff = BACKOFF_MIN_MS
                .saturating_mul(1i64 << (p.setbacks - 1).clamp(0, 20))
                .min(BACKOFF_MAX_MS);
            again(backoff, *throttled)
        }
        Attempt::Gone => Decision::Done(None),
    };
    (decision, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(accepted_ms: i64) -> QueuedEvent {
        QueuedEvent {
            owner: None,
            seq: 1,
            request_id: "r".into(),
            function: "f".into(),
            qualifier: None,
            client_context: None,
            accepted_ms,
            due_ms: accepted_ms,
            progress: Progress::default(),
            trace_header: None,
            counts_lineage: false,
        }
    }

    fn policy(max_retries: i64, max_age_s: i64) -> Policy {
        Policy {
            max_retries,
            max_age_ms: max_age_s * 1000,
            retry_delays: vec![Duration::from_secs(60), Duration::from_secs(120)],
        }
    }

    fn failed() -> Attempt {
        Attempt::Ran(Outcome {
            status_code: 200,
            executed_version: "$LATEST".into(),
            function_error: Some("Unhandled".into()),
            payload: "{}".into(),
        })
    }

    #[test]
    fn function_errors_retry_after_the_delays_then_exhaust() {
        let p = policy(2, 21_600);
        let mut e = event(0);
        let (d, prog) = decide(&e, &failed(), &p, 1_000);
        assert_eq!(
            d,
            Decision::Again {
                due_ms: 61_000,
                pause_function: false
            }
        );
        e.progress = prog;
        let (d, prog) = decide(&e, &failed(), &p, 61_500);
        assert_eq!(
            d,
            Decision::Again {
                due_ms: 181_500,
                pause_function: false
            }
        );
        e.progress = prog;
        let (d, prog) = decide(&e, &failed(), &p, 182_000);
        assert_eq!(d, Decision::Done(Some(Condition::RetriesExhausted)));
        assert_eq!(prog.runs, 3);
        assert!(prog
            .last_outcome
            .expect("outcome kept")
            .contains("Unhandled"));
    }

    #[test]
    fn zero_retries_fail_at_once_and_success_is_done() {
        let (d, _) = decide(&event(0), &failed(), &policy(0, 60), 10);
        assert_eq!(d, Decision::Done(Some(Condition::RetriesExhausted)));
        let ok = Attempt::Ran(Outcome {
            status_code: 200,
            executed_version: "1".into(),
            function_error: None,
            payload: "1".into(),
        });
        let (d, p) = decide(&event(0), &ok, &policy(2, 60), 10);
        assert_eq!(d, Decision::Done(Some(Condition::Success)));
        assert_eq!(p.runs, 1);
    }

    #[test]
    fn setbacks_back_off_from_one_second_to_five_minutes() {
        let p = policy(2, 21_600);
        let mut e = event(0);
        let mut delays = Vec::new();
        for _ in 0..12 {
            let (d, prog) = decide(&e, &Attempt::Setback { throttled: true }, &p, 0);
            let Decision::Again {
                due_ms,
                pause_function,
            } = d
            else {
                panic!("expected another attempt")
            };
            assert!(pause_function);
            delays.push(due_ms);
            e.progress = prog;
        }
        assert_eq!(&delays[..4], &[1_000, 2_000, 4_000, 8_000]);
        assert_eq!(delays[11], 300_000);
        assert_eq!(e.progress.runs, 0, "a throttle is not a run");
    }

    #[test]
    fn retries_never_wait_past_the_age_limit() {
        let p = policy(2, 60);
        let e = event(0);
        let (d, _) = decide(&e, &failed(), &p, 30_000);
        assert_eq!(
            d,
            Decision::Again {
                due_ms: 60_000,
                pause_function: false
            }
        );
        assert!(p.expired(&e, 60_000));
        assert!(!p.expired(&e, 59_999));
    }
}
