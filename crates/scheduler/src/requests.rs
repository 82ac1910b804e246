//! The requests as botocore's `scheduler` model shapes their JSON bodies (members in
//! PascalCase); the wire layer reads a body into one of these and adds the members the
//! model puts in the URI and the query string. Required members are `Option`s here so
//! that their absence is answered with the framework's `Member must not be null` by the
//! service's checks, in one place.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A resource tag (`Tag`: `Key` 1..=128, `Value` 1..=256).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// The body of CreateSchedule and UpdateSchedule (the model's two inputs have the same
/// members; `Name` is in the URI).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleInput {
    pub action_after_completion: Option<String>,
    pub client_token: Option<String>,
    pub description: Option<String>,
    /// A timestamp: epoch seconds (as boto3 and the AWS CLI send it) or ISO 8601 text.
    pub end_date: Option<Value>,
    pub flexible_time_window: Option<FlexibleTimeWindowInput>,
    pub group_name: Option<String>,
    pub kms_key_arn: Option<String>,
    pub schedule_expression: Option<String>,
    pub schedule_expression_timezone: Option<String>,
    /// As [`ScheduleInput::end_date`].
    pub start_date: Option<Value>,
    pub state: Option<String>,
    pub target: Option<TargetInput>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FlexibleTimeWindowInput {
    pub mode: Option<String>,
    pub maximum_window_in_minutes: Option<i64>,
}

/// A schedule's `Target`. The parameter blocks of targets Hearth does not run are taken
/// as any JSON, only to be refused by name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetInput {
    pub arn: Option<String>,
    pub role_arn: Option<String>,
    pub input: Option<String>,
    pub retry_policy: Option<RetryPolicyInput>,
    pub dead_letter_config: Option<DeadLetterConfigInput>,
    pub sqs_parameters: Option<SqsParametersInput>,
    pub event_bridge_parameters: Option<EventBridgeParametersInput>,
    pub ecs_parameters: Option<Value>,
    pub kinesis_parameters: Option<Value>,
    pub sage_maker_pipeline_parameters: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetryPolicyInput {
    pub maximum_event_age_in_seconds: Option<i64>,
    pub maximum_retry_attempts: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterConfigInput {
    pub arn: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SqsParametersInput {
    pub message_group_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventBridgeParametersInput {
    pub detail_type: Option<String>,
    pub source: Option<String>,
}

/// The body of CreateScheduleGroup (`Name` is in the URI).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateScheduleGroup {
    pub client_token: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// The body of TagResource (the ARN is in the URI).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResource {
    pub tags: Option<Vec<Tag>>,
}

/// ListSchedules' query (`ScheduleGroup`, `NamePrefix`, `State`, `MaxResults`,
/// `NextToken`).
#[derive(Debug, Clone, Default)]
pub struct ListSchedules {
    pub group_name: Option<String>,
    pub name_prefix: Option<String>,
    pub state: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

/// ListScheduleGroups' query (`NamePrefix`, `MaxResults`, `NextToken`).
#[derive(Debug, Clone, Default)]
pub struct ListScheduleGroups {
    pub name_prefix: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}
