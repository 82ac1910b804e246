//! What the asynchronous queue tells an [`AsyncObserver`] as it works: the facts
//! Lambda's asynchronous-invocation metrics are counted from (`AsyncEventsReceived`,
//! `AsyncEventAge`, `AsyncEventsDropped`, `DeadLetterErrors`,
//! `DestinationDeliveryFailures`). The queue knows no metric system; the server's
//! observatory turns these into CloudWatch and Prometheus figures.
//!
//! Reports are made on the dispatcher's tasks: observers must record and return.

use crate::policy::Condition;

/// Why an event was dropped without a successful run of its function. AWS's
/// `AsyncEventsDropped` counts these whether or not the event was then sent to an
/// on-failure destination or a dead-letter queue ("events are sent there before being
/// dropped").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Its function failed it on every attempt allowed (`MaximumRetryAttempts`).
    RetriesExhausted,
    /// It waited longer than `MaximumEventAgeInSeconds`.
    EventAgeExceeded,
    /// Its function's reserved concurrency is 0: it may never run.
    NoConcurrency,
    /// Its function (or the version or alias named) no longer exists.
    FunctionGone,
    /// Recursive loop detection stopped it (an SNS event of a chain that invoked the
    /// function more than 16 times).
    RecursiveLoop,
}

impl DropReason {
    /// The reason for an event done with `condition` (`None`: its function is gone);
    /// `None` for a success, which drops nothing.
    pub(crate) fn of(condition: Option<Condition>) -> Option<Self> {
        match condition {
            Some(Condition::Success) => None,
            Some(Condition::RetriesExhausted) => Some(Self::RetriesExhausted),
            Some(Condition::EventAgeExceeded) => Some(Self::EventAgeExceeded),
            None => Some(Self::FunctionGone),
        }
    }

    /// A label for it (`retries_exhausted`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RetriesExhausted => "retries_exhausted",
            Self::EventAgeExceeded => "event_age_exceeded",
            Self::NoConcurrency => "no_concurrency",
            Self::FunctionGone => "function_gone",
            Self::RecursiveLoop => "recursive_loop",
        }
    }
}

/// What happened to an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happened {
    /// It was queued (accepted from a caller, or a function destination's record).
    Received,
    /// An attempt to run it began, `age_ms` after it was queued.
    Attempt { age_ms: i64 },
    /// It was dropped without a successful run.
    Dropped(DropReason),
    /// Its dead letter could not be sent (the target refused it or is missing, or the
    /// function's role may not send to it).
    DeadLetterError,
    /// Its record could not be sent to its destination (same causes).
    DestinationDeliveryFailure,
}

/// One report about one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsyncReport<'a> {
    /// The function's key (`name`, or `ACCOUNT:name` in another account).
    pub function: &'a str,
    /// The qualifier the event named, if any.
    pub qualifier: Option<&'a str>,
    /// When it happened, ms since the epoch.
    pub at_ms: i64,
    pub what: Happened,
}

/// Receives the queue's reports (see [`crate::AsyncQueue::report_to`]).
pub trait AsyncObserver: Send + Sync {
    fn report(&self, report: &AsyncReport<'_>);
}

/// How long an event has waited at `now_ms`, as `AsyncEventAge` measures it: from its
/// queueing to the attempt (never negative, should clocks of a fleet disagree).
pub(crate) fn age_ms(accepted_ms: i64, now_ms: i64) -> i64 {
    now_ms.saturating_sub(accepted_ms).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ending_but_success_drops() {
        assert_eq!(DropReason::of(Some(Condition::Success)), None);
        assert_eq!(
            DropReason::of(Some(Condition::RetriesExhausted)),
            Some(DropReason::RetriesExhausted)
        );
        assert_eq!(
            DropReason::of(Some(Condition::EventAgeExceeded)),
            Some(DropReason::EventAgeExceeded)
        );
        assert_eq!(DropReason::of(None), Some(DropReason::FunctionGone));
    }

    #[test]
    fn the_age_is_from_queueing_to_the_attempt() {
        assert_eq!(age_ms(1_000, 61_500), 60_500);
        assert_eq!(age_ms(2_000, 1_000), 0);
    }
}
