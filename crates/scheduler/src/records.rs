//! The stored records of schedule groups and schedules (JSON in the store's
//! `EventsStore`), how the control plane answers them, and what the firing engine reads
//! of a schedule: its timing ([`ScheduleRecord::timing`]), its flexible window
//! ([`ScheduleRecord::window`]) and its target, with every default AWS fills in.

use chrono::{DateTime, Utc};
use hearth_schedule::{FlexibleTimeWindow, Schedule, ScheduleError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::requests::Tag;

/// `ENABLED`.
pub const ENABLED: &str = "ENABLED";
/// `ActionAfterCompletion` `DELETE`: the schedule goes after its last invocation.
pub const DELETE_AFTER_COMPLETION: &str = "DELETE";

/// A schedule group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRecord {
    pub arn: String,
    pub name: String,
    pub account: String,
    pub created_ms: i64,
    pub modified_ms: i64,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// The `ClientToken` that created it (a retry with the same token is answered as the
    /// first call was).
    #[serde(default)]
    pub client_token: Option<String>,
}

/// A schedule's `FlexibleTimeWindow` as given (`MaximumWindowInMinutes` only with
/// `FLEXIBLE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlexibleWindow {
    pub mode: String,
    pub maximum_window_in_minutes: Option<i64>,
}

/// A schedule's target, with AWS's defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub arn: String,
    pub role_arn: String,
    pub input: Option<String>,
    /// `RetryPolicy.MaximumEventAgeInSeconds` (60..=86400, default 86400).
    pub max_event_age_s: i64,
    /// `RetryPolicy.MaximumRetryAttempts` (0..=185, default 185).
    pub max_retry_attempts: i64,
    pub dead_letter_arn: Option<String>,
    pub sqs_message_group_id: Option<String>,
    pub eventbridge_detail_type: Option<String>,
    pub eventbridge_source: Option<String>,
}

/// A schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleRecord {
    pub arn: String,
    pub name: String,
    pub group_name: String,
    pub account: String,
    pub description: Option<String>,
    /// `ENABLED` or `DISABLED`.
    pub state: String,
    /// `ScheduleExpression`: `at(...)`, `rate(...)` or `cron(...)`.
    pub expression: String,
    /// `ScheduleExpressionTimezone`, `UTC` when none was given.
    pub timezone: String,
    /// `StartDate`, milliseconds since the epoch.
    pub start_ms: Option<i64>,
    /// `EndDate`, milliseconds since the epoch.
    pub end_ms: Option<i64>,
    pub flexible_window: FlexibleWindow,
    pub target: Target,
    /// `NONE` or `DELETE`.
    pub action_after_completion: String,
    pub kms_key_arn: Option<String>,
    pub created_ms: i64,
    /// The last CreateSchedule or UpdateSchedule: a rate without StartDate counts from it.
    pub modified_ms: i64,
    /// The `ClientToken` of the call that last wrote it.
    #[serde(default)]
    pub client_token: Option<String>,
}

fn instant(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// Seconds since the epoch, as the REST-JSON protocol writes a timestamp.
pub(crate) fn seconds(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

fn put_opt(m: &mut Map<String, Value>, key: &str, value: &Option<impl Serialize>) {
    if let Some(v) = value {
        m.insert(key.to_string(), json!(v));
    }
}

impl ScheduleRecord {
    /// The schedule's timing: its expression in its time zone within StartDate and
    /// EndDate, a rate counted from StartDate or else from the last write. Every part was
    /// validated when the schedule was written, so an error means a corrupt record.
    pub fn timing(&self) -> Result<Schedule, ScheduleError> {
        Schedule::scheduler(
            &self.expression,
            Some(&self.timezone),
            self.start_ms.and_then(instant),
            self.end_ms.and_then(instant),
            instant(self.modified_ms).unwrap_or(DateTime::UNIX_EPOCH),
        )
    }

    /// The flexible time window the schedule fires within (`Off` for a record whose
    /// window no longer validates, which a written record's always does).
    pub fn window(&self) -> FlexibleTimeWindow {
        FlexibleTimeWindow::new(
            &self.flexible_window.mode,
            self.flexible_window.maximum_window_in_minutes,
        )
        .unwrap_or_default()
    }

    /// Whether the schedule is `ENABLED`.
    pub fn enabled(&self) -> bool {
        self.state == ENABLED
    }

    /// Whether the schedule is to be deleted after its last invocation.
    pub fn delete_after_completion(&self) -> bool {
        self.action_after_completion == DELETE_AFTER_COMPLETION
    }

    fn target_json(&self) -> Value {
        let t = &self.target;
        let mut m = Map::new();
        m.insert("Arn".into(), json!(t.arn));
        m.insert("RoleArn".into(), json!(t.role_arn));
        put_opt(&mut m, "Input", &t.input);
        m.insert(
            "RetryPolicy".into(),
            json!({"MaximumEventAgeInSeconds": t.max_event_age_s,
                   "MaximumRetryAttempts": t.max_retry_attempts}),
        );
        if let Some(dlq) = &t.dead_letter_arn {
            m.insert("DeadLetterConfig".into(), json!({"Arn": dlq}));
        }
        if let Some(group) = &t.sqs_message_group_id {
            m.insert("SqsParameters".into(), json!({"MessageGroupId": group}));
        }
        if let (Some(detail_type), Some(source)) =
            (&t.eventbridge_detail_type, &t.eventbridge_source)
        {
            m.insert(
                "EventBridgeParameters".into(),
                json!({"DetailType": detail_type, "Source": source}),
            );
        }
        Value::Object(m)
    }

    /// GetSchedule's answer: every member the schedule has, defaults included.
    pub fn describe(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "ActionAfterCompletion".into(),
            json!(self.action_after_completion),
        );
        m.insert("Arn".into(), json!(self.arn));
        m.insert("CreationDate".into(), seconds(self.created_ms));
        put_opt(&mut m, "Description", &self.description);
        if let Some(end) = self.end_ms {
            m.insert("EndDate".into(), seconds(end));
        }
        let mut window = json!({"Mode": self.flexible_window.mode});
        if let Some(minutes) = self.flexible_window.maximum_window_in_minutes {
            window["MaximumWindowInMinutes"] = json!(minutes);
        }
        m.insert("FlexibleTimeWindow".into(), window);
        m.insert("GroupName".into(), json!(self.group_name));
        put_opt(&mut m, "KmsKeyArn", &self.kms_key_arn);
        m.insert("LastModificationDate".into(), seconds(self.modified_ms));
        m.insert("Name".into(), json!(self.name));
        m.insert("ScheduleExpression".into(), json!(self.expression));
        m.insert("ScheduleExpressionTimezone".into(), json!(self.timezone));
        if let Some(start) = self.start_ms {
            m.insert("StartDate".into(), seconds(start));
        }
        m.insert("State".into(), json!(self.state));
        m.insert("Target".into(), self.target_json());
        Value::Object(m)
    }

    /// ListSchedules' `ScheduleSummary`.
    pub fn summary(&self) -> Value {
        json!({
            "Arn": self.arn,
            "CreationDate": seconds(self.created_ms),
            "GroupName": self.group_name,
            "LastModificationDate": seconds(self.modified_ms),
            "Name": self.name,
            "State": self.state,
            "Target": {"Arn": self.target.arn},
        })
    }
}

impl GroupRecord {
    /// GetScheduleGroup's answer and ListScheduleGroups' `ScheduleGroupSummary`. A group
    /// is deleted at once, so it is never `DELETING`.
    pub fn describe(&self) -> Value {
        json!({
            "Arn": self.arn,
            "CreationDate": seconds(self.created_ms),
            "LastModificationDate": seconds(self.modified_ms),
            "Name": self.name,
            "State": "ACTIVE",
        })
    }
}
