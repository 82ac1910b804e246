//! Event-source mappings (CreateEventSourceMapping and the rest): the record Hearth keeps
//! for each, its states and their transitions, and its limits. The wire shapes and the
//! validation of requests are the api layer's (`crates/api/src/event_source_mappings.rs`);
//! the poller that acts on a mapping is `hearth-mappings`.

use serde::{Deserialize, Serialize};

use crate::arn::REGION;

/// SQS's default `BatchSize`.
pub const SQS_DEFAULT_BATCH: u32 = 10;
/// The largest `BatchSize` of a standard queue's mapping (with a batching window).
pub const SQS_MAX_BATCH: u32 = 10_000;
/// The largest `BatchSize` without a batching window, and of a FIFO queue's mapping.
pub const SQS_MAX_BATCH_UNWINDOWED: u32 = 10;
/// The largest `MaximumBatchingWindowInSeconds`.
pub const MAX_BATCHING_WINDOW: u32 = 300;
/// `ScalingConfig.MaximumConcurrency`'s bounds.
pub const MIN_CONCURRENCY: u32 = 2;
pub const MAX_CONCURRENCY: u32 = 1000;
/// Filters a mapping may have (`FilterCriteria.Filters`).
pub const MAX_FILTERS: usize = 5;
/// `FunctionResponseTypes`' one value.
pub const REPORT_BATCH_ITEM_FAILURES: &str = "ReportBatchItemFailures";
/// `MetricsConfig.Metrics`' values (botocore's `EventSourceMappingMetric`), and the one
/// an SQS mapping takes: `ErrorCount` and `KafkaMetrics` are Kafka's.
pub const METRICS: [&str; 3] = ["EventCount", "ErrorCount", "KafkaMetrics"];
pub const EVENT_COUNT: &str = "EventCount";
/// `MetricsConfig.Metrics`' longest list.
pub const MAX_METRICS: usize = 3;
/// ListEventSourceMappings' largest and default page.
pub const LIST_MAX_ITEMS: usize = 10_000;
pub const LIST_DEFAULT_ITEMS: usize = 100;

/// A mapping's state, as `State` shows it. The transitional ones (`Creating`, `Enabling`,
/// `Updating`, `Disabling`, `Deleting`) are what a change's answer shows; the poller
/// settles them ([`MappingState::settled`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MappingState {
    Creating,
    Enabling,
    Enabled,
    Disabling,
    Disabled,
    Updating,
    Deleting,
}

impl MappingState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "Creating",
            Self::Enabling => "Enabling",
            Self::Enabled => "Enabled",
            Self::Disabling => "Disabling",
            Self::Disabled => "Disabled",
            Self::Updating => "Updating",
            Self::Deleting => "Deleting",
        }
    }

    /// The state a transitional one settles in, given whether the mapping is enabled;
    /// `None` for `Deleting` (the record goes).
    pub fn settled(self, enabled: bool) -> Option<Self> {
        match self {
            Self::Deleting => None,
            _ if enabled => Some(Self::Enabled),
            _ => Some(Self::Disabled),
        }
    }

    /// Whether the state is one a change leaves for the poller to settle.
    pub fn is_transitional(self) -> bool {
        !matches!(self, Self::Enabled | Self::Disabled)
    }
}

/// One mapping as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSourceMapping {
    pub uuid: String,
    /// The account of the function (and of the mapping's ARN).
    pub account: String,
    /// The function's key ([`crate::arn::function_key`]) and the qualifier it was named
    /// with, if any (a version or an alias the mapping invokes).
    pub function: String,
    pub qualifier: Option<String>,
    /// `FunctionArn` as the answers show it (with the qualifier).
    pub function_arn: String,
    pub event_source_arn: String,
    pub state: MappingState,
    /// Whether the mapping polls (`Enabled`): what a transitional state settles into.
    pub enabled: bool,
    pub state_transition_reason: String,
    /// `LastModified`, ms since the epoch.
    pub last_modified_ms: i64,
    pub last_processing_result: Option<String>,
    pub batch_size: u32,
    pub maximum_batching_window: u32,
    /// `FilterCriteria.Filters[].Pattern`, as given.
    pub filters: Option<Vec<String>>,
    pub function_response_types: Vec<String>,
    pub maximum_concurrency: Option<u32>,
    /// `DestinationConfig.OnFailure.Destination`.
    pub on_failure: Option<String>,
    /// `MetricsConfig.Metrics`, as last given (absent from records older than it).
    #[serde(default)]
    pub metrics: Option<Vec<String>>,
    pub tags: std::collections::BTreeMap<String, String>,
}

impl EventSourceMapping {
    /// `arn:aws:lambda:REGION:ACCOUNT:event-source-mapping:UUID`.
    pub fn arn(&self) -> String {
        mapping_arn(&self.account, &self.uuid)
    }

    /// Whether the mapping publishes its event counts (`MetricsConfig` with
    /// `EventCount`).
    pub fn counts_events(&self) -> bool {
        self.metrics
            .as_ref()
            .is_some_and(|m| m.iter().any(|x| x == EVENT_COUNT))
    }

    /// Whether the function answers with `batchItemFailures`.
    pub fn reports_item_failures(&self) -> bool {
        self.function_response_types
            .iter()
            .any(|t| t == REPORT_BATCH_ITEM_FAILURES)
    }
}

/// The ARN of `account`'s mapping `uuid`.
pub fn mapping_arn(account: &str, uuid: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{account}:event-source-mapping:{uuid}")
}

/// Whether `arn` names an SQS queue (`arn:aws:sqs:REGION:ACCOUNT:NAME`), and its parts.
pub fn sqs_queue(arn: &str) -> Option<SqsQueue<'_>> {
    let mut p = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("sqs"), Some(region), Some(account), Some(name)) =
        (p.next(), p.next(), p.next(), p.next(), p.next(), p.next())
    else {
        return None;
    };
    (!region.is_empty() && crate::arn::is_account_id(account) && !name.is_empty()).then_some(
        SqsQueue {
            region,
            account,
            name,
        },
    )
}

/// A queue's ARN read into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqsQueue<'a> {
    pub region: &'a str,
    pub account: &'a str,
    pub name: &'a str,
}

impl SqsQueue<'_> {
    /// FIFO queues' names end in `.fifo`.
    pub fn is_fifo(&self) -> bool {
        self.name.ends_with(".fifo")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_arn_reads_into_its_parts() {
        let q = sqs_queue("arn:aws:sqs:us-east-1:123456789012:jobs.fifo").expect("queue");
        assert_eq!(q.region, "us-east-1");
        assert_eq!(q.account, "123456789012");
        assert_eq!(q.name, "jobs.fifo");
        assert!(q.is_fifo());
        assert!(sqs_queue("arn:aws:kinesis:us-east-1:123456789012:stream/s").is_none());
        assert!(sqs_queue("arn:aws:sqs:us-east-1:1234:q").is_none());
    }

    #[test]
    fn a_record_without_metrics_reads_as_none_and_event_count_turns_counting_on() {
        let mut m = crate::testing::mapping("u", "f", "arn:aws:sqs:us-east-1:000000000000:q");
        let mut v = serde_json::to_value(&m).expect("json");
        v.as_object_mut().expect("object").remove("metrics");
        let old: EventSourceMapping = serde_json::from_value(v).expect("an older record");
        assert_eq!(old.metrics, None);
        assert!(!old.counts_events());
        m.metrics = Some(vec![]);
        assert!(!m.counts_events());
        m.metrics = Some(vec![EVENT_COUNT.into()]);
        assert!(m.counts_events());
    }

    #[test]
    fn transitional_states_settle_by_whether_the_mapping_is_enabled() {
        assert_eq!(
            MappingState::Creating.settled(true),
            Some(MappingState::Enabled)
        );
        assert_eq!(
            MappingState::Updating.settled(false),
            Some(MappingState::Disabled)
        );
        assert_eq!(MappingState::Deleting.settled(true), None);
        assert!(!MappingState::Enabled.is_transitional());
    }
}
