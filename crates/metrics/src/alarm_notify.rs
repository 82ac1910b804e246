//! The notification an alarm's actions carry: AWS's SNS alarm message (a JSON object, the
//! `Message` of the SNS publish) and its subject (`ALARM: "name" in US East (N.
//! Virginia)`), for SNS topics and (Hearth's extension) webhooks alike.
//!
//! Members follow messages AWS published (2022, and LocalStack's 2023 recordings):
//! `DatapointsToAlarm` only when set, `TreatMissingData` the mode set or "", `Unit` null
//! when not set. A metric-math alarm's `Trigger` carries its `Metrics` in place of the
//! single metric's members (UNSURE of their exact form in AWS's messages).

use serde_json::{json, Map, Value};

use crate::alarm_model::{MetricAlarm, StateValue};
use crate::alarm_time::iso_date;

/// AWS's long names of its regions, as its alarm messages write them; an unknown region
/// (Hearth lets one be named freely) is written as its code.
pub fn region_name(region: &str) -> &str {
    match region {
        "us-east-1" => "US East (N. Virginia)",
        "us-east-2" => "US East (Ohio)",
        "us-west-1" => "US West (N. California)",
        "us-west-2" => "US West (Oregon)",
        "af-south-1" => "Africa (Cape Town)",
        "ap-east-1" => "Asia Pacific (Hong Kong)",
        "ap-south-1" => "Asia Pacific (Mumbai)",
        "ap-south-2" => "Asia Pacific (Hyderabad)",
        "ap-southeast-1" => "Asia Pacific (Singapore)",
        "ap-southeast-2" => "Asia Pacific (Sydney)",
        "ap-southeast-3" => "Asia Pacific (Jakarta)",
        "ap-southeast-4" => "Asia Pacific (Melbourne)",
        "ap-northeast-1" => "Asia Pacific (Tokyo)",
        "ap-northeast-2" => "Asia Pacific (Seoul)",
        "ap-northeast-3" => "Asia Pacific (Osaka)",
        "ca-central-1" => "Canada (Central)",
        "ca-west-1" => "Canada West (Calgary)",
        "eu-central-1" => "EU (Frankfurt)",
        "eu-central-2" => "EU (Zurich)",
        "eu-west-1" => "EU (Ireland)",
        "eu-west-2" => "EU (London)",
        "eu-west-3" => "EU (Paris)",
        "eu-south-1" => "EU (Milan)",
        "eu-south-2" => "EU (Spain)",
        "eu-north-1" => "EU (Stockholm)",
        "il-central-1" => "Israel (Tel Aviv)",
        "me-south-1" => "Middle East (Bahrain)",
        "me-central-1" => "Middle East (UAE)",
        "sa-east-1" => "South America (Sao Paulo)",
        other => other,
    }
}

/// The SNS subject of a change to `state`: `ALARM: "name" in US East (N. Virginia)`.
/// AWS cuts subjects at SNS's 100 characters.
pub fn subject(state: StateValue, alarm_name: &str, region: &str) -> String {
    let s = format!(
        "{}: \"{alarm_name}\" in {}",
        state.as_str(),
        region_name(region)
    );
    s.chars().take(100).collect()
}

/// The subject of a message built by [`message`].
pub fn subject_of(message: &Value) -> String {
    let state = StateValue::parse(message["NewStateValue"].as_str().unwrap_or_default())
        .unwrap_or(StateValue::InsufficientData);
    let s = format!(
        "{}: \"{}\" in {}",
        state.as_str(),
        message["AlarmName"].as_str().unwrap_or_default(),
        message["Region"].as_str().unwrap_or_default()
    );
    s.chars().take(100).collect()
}

/// The notification of `alarm` (already in its new state) having left `old`.
pub fn message(alarm: &MetricAlarm, old: StateValue, region: &str) -> Value {
    let mut trigger = Map::new();
    if alarm.metrics.is_empty() {
        trigger.insert("MetricName".into(), json!(alarm.metric_name));
        trigger.insert("Namespace".into(), json!(alarm.namespace));
        let (kind, stat) = match (&alarm.statistic, &alarm.extended_statistic) {
            (Some(s), _) => ("Statistic", json!(s.to_uppercase())),
            (None, Some(e)) => ("ExtendedStatistic", json!(e)),
            (None, None) => ("Statistic", Value::Null),
        };
        trigger.insert("StatisticType".into(), json!(kind));
        trigger.insert("Statistic".into(), stat);
        trigger.insert("Unit".into(), json!(alarm.unit));
        let dims: Vec<Value> = alarm
            .dimensions
            .iter()
            .map(|d| json!({"value": d.value, "name": d.name}))
            .collect();
        trigger.insert("Dimensions".into(), json!(dims));
        trigger.insert("Period".into(), json!(alarm.period_s()));
    } else {
        trigger.insert("Metrics".into(), json!(alarm.metrics));
        trigger.insert("Period".into(), json!(alarm.period_s()));
    }
    trigger.insert("EvaluationPeriods".into(), json!(alarm.evaluation_periods));
    if let Some(d) = alarm.datapoints_to_alarm {
        trigger.insert("DatapointsToAlarm".into(), json!(d));
    }
    trigger.insert(
        "ComparisonOperator".into(),
        json!(alarm.comparison_operator.as_str()),
    );
    trigger.insert("Threshold".into(), json!(alarm.threshold));
    trigger.insert(
        "TreatMissingData".into(),
        json!(alarm
            .treat_missing_data
            .map(|t| t.as_str())
            .unwrap_or_default()),
    );
    trigger.insert(
        "EvaluateLowSampleCountPercentile".into(),
        json!(alarm
            .evaluate_low_sample_count_percentile
            .clone()
            .unwrap_or_default()),
    );
    json!({
        "AlarmName": alarm.alarm_name,
        "AlarmDescription": alarm.alarm_description,
        "AWSAccountId": alarm.account,
        "AlarmConfigurationUpdatedTimestamp": iso_date(alarm.configuration_updated_ms),
        "NewStateValue": alarm.state_value.as_str(),
        "NewStateReason": alarm.state_reason,
        "StateChangeTime": iso_date(alarm.state_updated_ms),
        "Region": region_name(region),
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": old.as_str(),
        "OKActions": alarm.ok_actions,
        "AlarmActions": alarm.alarm_actions,
        "InsufficientDataActions": alarm.insufficient_data_actions,
        "Trigger": trigger,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarm_model::tests::sample;

    #[test]
    fn subject_names_state_alarm_and_region() {
        assert_eq!(
            subject(StateValue::Alarm, "errors", "us-east-1"),
            "ALARM: \"errors\" in US East (N. Virginia)"
        );
        assert_eq!(subject(StateValue::Ok, "x", "local"), "OK: \"x\" in local");
        assert_eq!(
            subject(StateValue::Alarm, &"n".repeat(200), "us-east-1").len(),
            100
        );
    }

    #[test]
    fn message_is_aws_alarm_notification() {
        let mut a = sample("errors");
        a.state_value = StateValue::Alarm;
        a.state_reason = "Threshold Crossed".into();
        a.state_updated_ms = 1_796_292_000_000;
        a.alarm_actions = vec!["arn:aws:sns:us-east-1:123456789012:ops".into()];
        let m = message(&a, StateValue::Ok, "us-east-1");
        assert_eq!(
            m,
            json!({
                "AlarmName": "errors",
                "AlarmDescription": null,
                "AWSAccountId": "123456789012",
                "AlarmConfigurationUpdatedTimestamp": "1970-01-01T00:00:01.000+0000",
                "NewStateValue": "ALARM",
                "NewStateReason": "Threshold Crossed",
                "StateChangeTime": "2026-12-03T10:00:00.000+0000",
                "Region": "US East (N. Virginia)",
                "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors",
                "OldStateValue": "OK",
                "OKActions": [],
                "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:ops"],
                "InsufficientDataActions": [],
                "Trigger": {
                    "MetricName": "Errors",
                    "Namespace": "AWS/Lambda",
                    "StatisticType": "Statistic",
                    "Statistic": "SUM",
                    "Unit": null,
                    "Dimensions": [{"value": "f", "name": "FunctionName"}],
                    "Period": 60,
                    "EvaluationPeriods": 1,
                    "ComparisonOperator": "GreaterThanThreshold",
                    "Threshold": 1.0,
                    "TreatMissingData": "",
                    "EvaluateLowSampleCountPercentile": ""
                }
            })
        );
        assert_eq!(subject_of(&m), "ALARM: \"errors\" in US East (N. Virginia)");
    }
}
