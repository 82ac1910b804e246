//! One delivery of an event to one target, as the store's EventBridge delivery queue keeps
//! it ([`Job`], the row's `data`): what the target receives, where it goes, and the retry
//! policy and dead-letter queue that decide what happens when it fails. A rule's match
//! and a schedule's fire both make jobs; the delivery source (`delivery.rs`) runs them.

use serde::{Deserialize, Serialize};

/// The retry policy when a target sets none: 185 retries over 24 hours (AWS's defaults
/// for a rule's target and for a schedule's).
pub const DEFAULT_RETRIES: u32 = 185;
pub const DEFAULT_MAX_AGE_S: i64 = 86_400;
/// The longest wait between two attempts: 185 retries at most this far apart span about
/// the 24 hours AWS retries for.
const MAX_DELAY_MS: i64 = 480_000;

/// Who hands the event to the target, which decides how the delivery is authorised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Sender {
    /// A rule: EventBridge as `events.amazonaws.com`, allowed by the target's resource
    /// policy (the function's, the queue's, the topic's) for `aws:SourceArn` the rule.
    #[default]
    Rule,
    /// A schedule: EventBridge Scheduler acting with the schedule's role (`RoleArn`).
    Schedule { role_arn: String },
}

/// Why a delivery was given up, as the dead-letter message's attributes say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// `ERROR_CODE` (`NO_RESOURCE`, `NO_PERMISSIONS`, `ERROR_FROM_TARGET`, …).
    pub code: String,
    pub message: String,
    /// `EXHAUSTED_RETRY_CONDITION`: `MaximumRetryAttempts` or
    /// `MaximumEventAgeInSeconds`; none when the error was not retried.
    pub exhausted: Option<String>,
    /// `RETRY_ATTEMPTS`.
    pub retry_attempts: u32,
    /// `TARGET_ARN`: the target the event was for (set by [`Job::dead_letter`]).
    #[serde(default)]
    pub target_arn: String,
}

/// A delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// The rule or schedule whose target this is (the delivery's `aws:SourceArn`).
    pub origin: String,
    pub target_id: String,
    pub target_arn: String,
    /// What the target receives.
    pub payload: String,
    /// The event as routed: what a dead-letter queue receives, and what a bus target
    /// routes again.
    pub event: String,
    pub event_id: String,
    /// When the event was accepted (its age counts from here), ms since the epoch.
    pub created_ms: i64,
    pub max_retries: u32,
    pub max_age_s: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter: Option<String>,
    /// An SQS FIFO target's `MessageGroupId` (`SqsParameters`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_header: Option<String>,
    #[serde(default)]
    pub sender: Sender,
    /// How many buses routed the event before this one (a loop between buses stops).
    #[serde(default)]
    pub hops: u32,
    /// Set on a dead-letter delivery: why the event's delivery was given up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

impl Job {
    /// The delivery row's id: one per event, origin and target, so that queuing the same
    /// match twice (a retried PutEvents store write) delivers it once.
    /// A dead-letter delivery's id is its job's with `|dead-letter` after it.
    pub fn row_id(&self) -> String {
        let dead = if self.failure.is_some() {
            "|dead-letter"
        } else {
            ""
        };
        format!("{}|{}|{}{dead}", self.event_id, self.origin, self.target_id)
    }

    /// The dead-letter delivery of this job after `failure`, if it has a dead-letter
    /// queue: the event (not the shaped input) to the queue, as AWS sends it.
    pub fn dead_letter(&self, mut failure: Failure) -> Option<Job> {
        let dlq = self.dead_letter.clone()?;
        failure.target_arn = self.target_arn.clone();
        Some(Job {
            target_arn: dlq,
            payload: self.event.clone(),
            dead_letter: None,
            group_id: None,
            max_retries: DEFAULT_RETRIES,
            max_age_s: DEFAULT_MAX_AGE_S,
            failure: Some(failure),
            ..self.clone()
        })
    }

    /// Whether the retry policy allows another attempt after `failed` attempts at
    /// `now_ms`; otherwise which limit was reached.
    pub fn exhausted(&self, failed: u32, now_ms: i64) -> Option<&'static str> {
        if now_ms.saturating_sub(self.created_ms) >= self.max_age_s.saturating_mul(1000) {
            Some("MaximumEventAgeInSeconds")
        } else if failed > self.max_retries {
            Some("MaximumRetryAttempts")
        } else {
            None
        }
    }
}

/// The wait before attempt `failed + 1`: exponential from one second, at most eight
/// minutes, with full jitter in its upper half (`jitter` in 0..1000, from the caller's
/// randomness) so that many failed deliveries do not come back at once.
pub fn retry_delay_ms(failed: u32, jitter: u32) -> i64 {
    let base = 1000i64
        .saturating_mul(1i64 << failed.saturating_sub(1).min(20))
        .min(MAX_DELAY_MS);
    base / 2 + base / 2 * i64::from(jitter.min(999)) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        Job {
            origin: "arn:aws:events:us-east-1:123456789012:rule/r".into(),
            target_id: "t".into(),
            target_arn: "arn:aws:lambda:us-east-1:123456789012:function:f".into(),
            payload: "{\"a\":1}".into(),
            event: "{\"id\":\"e\"}".into(),
            event_id: "e".into(),
            created_ms: 1_000_000,
            max_retries: 2,
            max_age_s: 60,
            dead_letter: Some("arn:aws:sqs:us-east-1:123456789012:dlq".into()),
            group_id: Some("g".into()),
            trace_header: None,
            sender: Sender::Rule,
            hops: 0,
            failure: None,
        }
    }

    #[test]
    fn the_retry_policy_ends_at_its_first_limit() {
        let j = job();
        assert_eq!(j.exhausted(1, 1_000_000), None);
        assert_eq!(j.exhausted(2, 1_000_000), None);
        assert_eq!(j.exhausted(3, 1_000_000), Some("MaximumRetryAttempts"));
        assert_eq!(j.exhausted(1, 1_060_000), Some("MaximumEventAgeInSeconds"));
        assert_eq!(j.exhausted(1, 1_059_999), None);
    }

    #[test]
    fn a_dead_letter_carries_the_event_and_the_failure() {
        let failure = Failure {
            code: "NO_RESOURCE".into(),
            message: "gone".into(),
            exhausted: None,
            retry_attempts: 0,
            target_arn: String::new(),
        };
        let dl = job().dead_letter(failure.clone()).expect("has a DLQ");
        assert_eq!(dl.target_arn, "arn:aws:sqs:us-east-1:123456789012:dlq");
        assert_eq!(dl.payload, "{\"id\":\"e\"}");
        assert_eq!(dl.group_id, None);
        assert_eq!(dl.dead_letter, None);
        let mut expected = failure.clone();
        expected.target_arn = "arn:aws:lambda:us-east-1:123456789012:function:f".into();
        assert_eq!(dl.failure, Some(expected));
        assert_eq!(dl.row_id(), format!("{}|dead-letter", job().row_id()));
        let mut none = job();
        none.dead_letter = None;
        assert_eq!(none.dead_letter(failure), None);
    }

    #[test]
    fn retries_back_off_exponentially_up_to_eight_minutes() {
        assert_eq!(retry_delay_ms(1, 0), 500);
        assert_eq!(retry_delay_ms(1, 999), 999);
        assert_eq!(retry_delay_ms(3, 0), 2000);
        assert_eq!(retry_delay_ms(40, 0), 240_000);
        assert_eq!(retry_delay_ms(40, 999), 479_760);
    }
}
