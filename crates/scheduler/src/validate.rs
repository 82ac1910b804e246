//! A CreateSchedule or UpdateSchedule request checked as AWS checks it and made into the
//! record it writes: the model's constraints first (required members, lengths, patterns,
//! enums, ranges), then the expression, time zone and dates (`hearth-schedule`), the
//! flexible window and the target, with AWS's defaults filled in.

use chrono::{DateTime, Utc};
use hearth_eventbridge::TargetKind;
use hearth_schedule::{Dialect, Expression, FlexibleTimeWindow, Schedule, ScheduleError};
use serde_json::Value;

use crate::checks;
use crate::records::{FlexibleWindow, ScheduleRecord, Target};
use crate::requests::{ScheduleInput, TargetInput};
use crate::{messages, SchedulerError};

/// `RetryPolicy.MaximumEventAgeInSeconds` when none is given (the model's documentation).
pub const DEFAULT_EVENT_AGE_S: i64 = 86_400;
/// `RetryPolicy.MaximumRetryAttempts` when none is given (the model's documentation).
pub const DEFAULT_RETRY_ATTEMPTS: i64 = 185;
/// The longest `Target.Input`, in characters. The model gives no maximum; AWS's user
/// guide's quotas page was read as 8192 (UNSURE).
pub const MAX_INPUT_CHARS: usize = 8192;
/// How far in the past a recurring schedule's StartDate may be.
pub const START_DATE_SLACK_MS: i64 = 5 * 60 * 1000;

/// Where the schedule goes and when the request came.
pub(crate) struct Placement<'a> {
    pub account: &'a str,
    pub group: &'a str,
    pub name: &'a str,
    pub arn: String,
    pub now_ms: i64,
}

fn required<T>(value: Option<T>, at: &str) -> Result<T, SchedulerError> {
    value.ok_or_else(|| SchedulerError::validation(messages::required(at)))
}

/// A timestamp member: epoch seconds (a JSON number, or its text) or ISO 8601 text, in
/// milliseconds.
pub(crate) fn timestamp_ms(value: &Value, at: &str) -> Result<i64, SchedulerError> {
    let bad = || SchedulerError::validation(messages::bad_timestamp(at));
    let ms = match value {
        Value::Number(n) => n.as_f64().map(|s| (s * 1000.0).round()),
        Value::String(s) => match s.parse::<f64>() {
            Ok(secs) => Some((secs * 1000.0).round()),
            Err(_) => DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc).timestamp_millis() as f64),
        },
        _ => None,
    }
    .ok_or_else(bad)?;
    // Within what chrono (and so the schedule's evaluation) can hold.
    if !ms.is_finite() || ms.abs() > 8.0e15 {
        return Err(bad());
    }
    let ms = ms as i64;
    DateTime::from_timestamp_millis(ms).ok_or_else(bad)?;
    Ok(ms)
}

fn instant(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// The record `input` makes at `place`, created at `created_ms` (now, for a new schedule).
pub(crate) fn schedule_record(
    input: &ScheduleInput,
    place: &Placement<'_>,
    created_ms: i64,
) -> Result<ScheduleRecord, SchedulerError> {
    // The model's constraints, member by member.
    let window = required(input.flexible_time_window.as_ref(), "flexibleTimeWindow")?;
    let expression = required(input.schedule_expression.as_deref(), "scheduleExpression")?;
    let target = required(input.target.as_ref(), "target")?;
    checks::length(expression, "scheduleExpression", 1, 256)?;
    if let Some(token) = &input.client_token {
        checks::client_token(token, "clientToken")?;
    }
    checks::length_opt(input.description.as_deref(), "description", 0, 512)?;
    checks::length_opt(
        input.schedule_expression_timezone.as_deref(),
        "scheduleExpressionTimezone",
        1,
        50,
    )?;
    if let Some(kms) = &input.kms_key_arn {
        checks::length(kms, "kmsKeyArn", 1, 2048)?;
        checks::pattern(kms, "kmsKeyArn", checks::KMS_PATTERN, checks::is_kms_arn)?;
    }
    let state = input.state.as_deref().unwrap_or("ENABLED");
    checks::one_of(state, "state", &["ENABLED", "DISABLED"])?;
    let after = input.action_after_completion.as_deref().unwrap_or("NONE");
    checks::one_of(after, "actionAfterCompletion", &["NONE", "DELETE"])?;
    let mode = required(window.mode.as_deref(), "flexibleTimeWindow.mode")?;
    checks::one_of(mode, "flexibleTimeWindow.mode", &["OFF", "FLEXIBLE"])?;
    if let Some(minutes) = window.maximum_window_in_minutes {
        checks::range(
            minutes,
            "flexibleTimeWindow.maximumWindowInMinutes",
            1,
            1440,
        )?;
    }
    let start_ms = input
        .start_date
        .as_ref()
        .map(|v| timestamp_ms(v, "StartDate"))
        .transpose()?;
    let end_ms = input
        .end_date
        .as_ref()
        .map(|v| timestamp_ms(v, "EndDate"))
        .transpose()?;
    let target = check_target(target)?;

    // What the constraints cannot say.
    let parsed = Expression::parse(expression, Dialect::Scheduler)
        .map_err(|_| SchedulerError::validation(messages::invalid_expression(expression)))?;
    let timezone = input
        .schedule_expression_timezone
        .clone()
        .unwrap_or_else(|| "UTC".to_string());
    Schedule::scheduler(
        expression,
        Some(&timezone),
        start_ms.and_then(instant),
        end_ms.and_then(instant),
        instant(place.now_ms).unwrap_or(DateTime::UNIX_EPOCH),
    )
    .map_err(|e| schedule_error(&e, expression))?;
    // AWS ignores StartDate for one-time schedules, and refuses a recurring schedule's
    // StartDate more than five minutes ago (UpdateSchedule too, as users report).
    if let Some(start) = start_ms {
        if !parsed.is_one_time() && start < place.now_ms - START_DATE_SLACK_MS {
            return Err(SchedulerError::validation(messages::START_DATE_PAST));
        }
    }
    let maximum_window_in_minutes = match mode {
        "FLEXIBLE" => window.maximum_window_in_minutes,
        // Whether AWS refuses OFF with a window is not known: it is not kept.
        _ => None,
    };
    FlexibleTimeWindow::new(mode, maximum_window_in_minutes)
        .map_err(|e| schedule_error(&e, expression))?;

    Ok(ScheduleRecord {
        arn: place.arn.clone(),
        name: place.name.to_string(),
        group_name: place.group.to_string(),
        account: place.account.to_string(),
        description: input.description.clone(),
        state: state.to_string(),
        expression: expression.to_string(),
        timezone,
        start_ms,
        end_ms,
        flexible_window: FlexibleWindow {
            mode: mode.to_string(),
            maximum_window_in_minutes,
        },
        target,
        action_after_completion: after.to_string(),
        kms_key_arn: input.kms_key_arn.clone(),
        created_ms,
        modified_ms: place.now_ms,
        client_token: input.client_token.clone(),
    })
}

/// `hearth-schedule`'s refusal as Scheduler answers it.
fn schedule_error(e: &ScheduleError, expression: &str) -> SchedulerError {
    if e.is_expression_error() {
        SchedulerError::validation(messages::invalid_expression(expression))
    } else {
        SchedulerError::validation(e.aws_message(Dialect::Scheduler))
    }
}

fn check_target(t: &TargetInput) -> Result<Target, SchedulerError> {
    let arn = required(t.arn.as_deref(), "target.arn")?;
    let role = required(t.role_arn.as_deref(), "target.roleArn")?;
    checks::length(arn, "target.arn", 1, 1600)?;
    checks::length(role, "target.roleArn", 1, 1600)?;
    checks::pattern(
        role,
        "target.roleArn",
        checks::ROLE_PATTERN,
        checks::is_role_arn,
    )?;
    if let Some(input) = &t.input {
        checks::length(input, "target.input", 1, MAX_INPUT_CHARS)?;
    }
    let retry = t.retry_policy.clone().unwrap_or_default();
    let age = retry
        .maximum_event_age_in_seconds
        .unwrap_or(DEFAULT_EVENT_AGE_S);
    checks::range(
        age,
        "target.retryPolicy.maximumEventAgeInSeconds",
        60,
        86_400,
    )?;
    let attempts = retry
        .maximum_retry_attempts
        .unwrap_or(DEFAULT_RETRY_ATTEMPTS);
    checks::range(attempts, "target.retryPolicy.maximumRetryAttempts", 0, 185)?;
    let dead_letter_arn = t.dead_letter_config.as_ref().and_then(|d| d.arn.clone());
    if let Some(dlq) = &dead_letter_arn {
        checks::length(dlq, "target.deadLetterConfig.arn", 1, 1600)?;
        checks::pattern(
            dlq,
            "target.deadLetterConfig.arn",
            checks::DLQ_PATTERN,
            checks::is_queue_arn,
        )?;
    }
    let group_id = t
        .sqs_parameters
        .as_ref()
        .and_then(|p| p.message_group_id.clone());
    if let Some(g) = &group_id {
        checks::length(g, "target.sqsParameters.messageGroupId", 1, 128)?;
    }
    let (mut detail_type, mut source) = (None, None);
    if let Some(p) = &t.event_bridge_parameters {
        let d = required(
            p.detail_type.as_deref(),
            "target.eventBridgeParameters.detailType",
        )?;
        let s = required(p.source.as_deref(), "target.eventBridgeParameters.source")?;
        checks::length(d, "target.eventBridgeParameters.detailType", 1, 128)?;
        checks::length(s, "target.eventBridgeParameters.source", 1, 256)?;
        checks::pattern(
            s,
            "target.eventBridgeParameters.source",
            checks::SOURCE_PATTERN,
            checks::is_source,
        )?;
        detail_type = Some(d.to_string());
        source = Some(s.to_string());
    }
    for (block, given) in [
        ("EcsParameters", t.ecs_parameters.is_some()),
        ("KinesisParameters", t.kinesis_parameters.is_some()),
        (
            "SageMakerPipelineParameters",
            t.sage_maker_pipeline_parameters.is_some(),
        ),
    ] {
        if given {
            return Err(SchedulerError::validation(
                messages::unsupported_parameters(block),
            ));
        }
    }
    let kind = TargetKind::of(arn)
        .ok_or_else(|| SchedulerError::validation(messages::unsupported_target(arn)))?;
    if group_id.is_some() && kind != TargetKind::Sqs {
        return Err(SchedulerError::validation(
            messages::parameters_for_other_target("SqsParameters", "SQS queue"),
        ));
    }
    if detail_type.is_some() && kind != TargetKind::EventBus {
        return Err(SchedulerError::validation(
            messages::parameters_for_other_target("EventBridgeParameters", "event bus"),
        ));
    }
    Ok(Target {
        arn: arn.to_string(),
        role_arn: role.to_string(),
        input: t.input.clone(),
        max_event_age_s: age,
        max_retry_attempts: attempts,
        dead_letter_arn,
        sqs_message_group_id: group_id,
        eventbridge_detail_type: detail_type,
        eventbridge_source: source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn timestamps_are_epoch_seconds_or_iso_8601() {
        assert_eq!(
            timestamp_ms(&json!(1_700_000_000), "StartDate").expect("int"),
            1_700_000_000_000
        );
        assert_eq!(
            timestamp_ms(&json!(1_700_000_000.25), "StartDate").expect("float"),
            1_700_000_000_250
        );
        assert_eq!(
            timestamp_ms(&json!("1700000000"), "StartDate").expect("text"),
            1_700_000_000_000
        );
        assert_eq!(
            timestamp_ms(&json!("2023-11-14T22:13:20+00:00"), "StartDate").expect("iso"),
            1_700_000_000_000
        );
        assert_eq!(
            timestamp_ms(&json!("tomorrow"), "EndDate")
                .expect_err("text")
                .to_string(),
            "Invalid timestamp for EndDate."
        );
        assert!(timestamp_ms(&json!(1e300), "EndDate").is_err());
        assert!(timestamp_ms(&json!(true), "EndDate").is_err());
    }

    proptest! {
        #[test]
        fn any_timestamp_is_read_or_refused(secs in proptest::num::f64::ANY, text in "\\PC{0,30}") {
            if let Ok(ms) = timestamp_ms(&json!(secs), "StartDate") {
                prop_assert!(DateTime::from_timestamp_millis(ms).is_some());
            }
            let _ = timestamp_ms(&json!(text), "StartDate");
        }

        #[test]
        fn whole_seconds_read_back(secs in -8_000_000_000_i64..8_000_000_000) {
            prop_assert_eq!(timestamp_ms(&json!(secs), "StartDate").expect("in range"), secs * 1000);
        }
    }
}
