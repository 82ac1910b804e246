//! Alarm history: the items the operations and the evaluator write (configuration
//! updates, state updates, actions) and `DescribeAlarmHistory`.
//!
//! The summaries follow AWS's ("Alarm updated from OK to ALARM", "Alarm \"x\" created",
//! "Successfully executed action ..."); the `HistoryData` JSON of configuration updates
//! and actions is modelled on AWS's but not checked against it (UNSURE).

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::alarm_checks::{self as check, decode_token, encode_token};
use crate::alarm_model::{wire_time, MetricAlarm, StateValue};
use crate::alarm_put::parse_input;
use crate::alarm_time::iso_date;
use crate::{CloudWatch, CloudWatchError};

/// The history item types Hearth writes.
pub const CONFIGURATION_UPDATE: &str = "ConfigurationUpdate";
pub const STATE_UPDATE: &str = "StateUpdate";
pub const ACTION: &str = "Action";

/// The most rows one DescribeAlarmHistory reads (two weeks of a busy account's history).
const SCAN_LIMIT: usize = 10_000;
/// DescribeAlarmHistory's page size when MaxRecords is not given (UNSURE: AWS documents
/// no default).
const DEFAULT_PAGE: usize = 50;

/// Writes one item of `account`'s alarm `name`.
pub fn add(
    cw: &CloudWatch,
    account: &str,
    name: &str,
    ts_ms: i64,
    item_type: &str,
    summary: &str,
    data: &Value,
) -> Result<(), CloudWatchError> {
    // HistorySummary is at most 255 characters in the model.
    let summary: String = summary.chars().take(255).collect();
    let record = json!({
        "AlarmName": name,
        "AlarmType": "MetricAlarm",
        "HistoryItemType": item_type,
        "HistorySummary": summary,
        "HistoryData": data.to_string(),
    });
    cw.store
        .add_alarm_history(account, name, ts_ms, &record.to_string())?;
    Ok(())
}

/// What a configuration update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigChange {
    Create,
    Update,
    Delete,
}

/// An alarm's configuration as AWS's ConfigurationUpdate history writes it (recorded in
/// 2023: camelCase members, ISO dates, dimensions as `{value, name}`, and `okactions`
/// in lower case). A metric-math alarm's `metrics` are its queries' wire form (UNSURE).
fn history_config(a: &MetricAlarm) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("alarmName".into(), json!(a.alarm_name));
    if let Some(d) = &a.alarm_description {
        m.insert("alarmDescription".into(), json!(d));
    }
    m.insert("alarmArn".into(), json!(a.alarm_arn));
    m.insert(
        "alarmConfigurationUpdatedTimestamp".into(),
        json!(iso_date(a.configuration_updated_ms)),
    );
    let optional = [
        ("namespace", &a.namespace),
        ("metricName", &a.metric_name),
        ("statistic", &a.statistic),
        ("extendedStatistic", &a.extended_statistic),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    }
    if let Some(p) = a.period {
        m.insert("period".into(), json!(p));
    }
    if let Some(u) = &a.unit {
        m.insert("unit".into(), json!(u));
    }
    if a.metrics.is_empty() {
        let dims: Vec<Value> = a
            .dimensions
            .iter()
            .map(|d| json!({"value": d.value, "name": d.name}))
            .collect();
        m.insert("dimensions".into(), json!(dims));
    } else {
        m.insert("metrics".into(), json!(a.metrics));
    }
    m.insert("threshold".into(), json!(a.threshold));
    m.insert(
        "comparisonOperator".into(),
        json!(a.comparison_operator.as_str()),
    );
    m.insert("evaluationPeriods".into(), json!(a.evaluation_periods));
    if let Some(d) = a.datapoints_to_alarm {
        m.insert("datapointsToAlarm".into(), json!(d));
    }
    if let Some(t) = a.treat_missing_data {
        m.insert("treatMissingData".into(), json!(t.as_str()));
    }
    if let Some(e) = &a.evaluate_low_sample_count_percentile {
        m.insert("evaluateLowSampleCountPercentile".into(), json!(e));
    }
    m.insert("stateValue".into(), json!(a.state_value.as_str()));
    m.insert(
        "stateUpdatedTimestamp".into(),
        json!(iso_date(a.state_updated_ms)),
    );
    m.insert("actionsEnabled".into(), json!(a.actions_enabled));
    m.insert("alarmActions".into(), json!(a.alarm_actions));
    m.insert(
        "insufficientDataActions".into(),
        json!(a.insufficient_data_actions),
    );
    m.insert("okactions".into(), json!(a.ok_actions));
    m
}

/// A configuration update's summary and data. An update also carries
/// `originalUpdatedFields`, the former values of the members it changed (UNSURE: modelled
/// on AWS's, not checked against a recording).
pub fn configuration(
    alarm: &MetricAlarm,
    change: ConfigChange,
    original: Option<&MetricAlarm>,
) -> (String, Value) {
    let (verb, kind, member) = match change {
        ConfigChange::Create => ("created", "Create", "createdAlarm"),
        ConfigChange::Update => ("updated", "Update", "updatedAlarm"),
        ConfigChange::Delete => ("deleted", "Delete", "deletedAlarm"),
    };
    let config = history_config(alarm);
    let mut data = json!({"version": "1.0", "type": kind, member: config});
    if let Some(old) = original {
        let before = history_config(old);
        let changed: Map<String, Value> = before
            .into_iter()
            .filter(|(k, v)| {
                k != "alarmConfigurationUpdatedTimestamp" && data[member].get(k) != Some(v)
            })
            .collect();
        data["originalUpdatedFields"] = Value::Object(changed);
    }
    (format!("Alarm \"{}\" {verb}", alarm.alarm_name), data)
}

/// A state update's summary and data.
pub fn state_update(
    old: (StateValue, &str, Option<&str>),
    new: (StateValue, &str, Option<&str>),
) -> (String, Value) {
    let side = |(state, reason, data): (StateValue, &str, Option<&str>)| {
        let mut m = Map::new();
        m.insert("stateValue".into(), json!(state.as_str()));
        m.insert("stateReason".into(), json!(reason));
        if let Some(d) = data {
            let v = serde_json::from_str::<Value>(d).unwrap_or_else(|_| json!(d));
            m.insert("stateReasonData".into(), v);
        }
        Value::Object(m)
    };
    (
        format!(
            "Alarm updated from {} to {}",
            old.0.as_str(),
            new.0.as_str()
        ),
        json!({"version": "1.0", "oldState": side(old), "newState": side(new)}),
    )
}

/// An action's summary and data, done or failed.
pub fn action(
    action: &str,
    outcome: &Result<(), String>,
    changed_ms: i64,
    message: &Value,
) -> (String, Value) {
    match outcome {
        Ok(()) => (
            format!("Successfully executed action {action}"),
            json!({
                "actionState": "Succeeded",
                "stateUpdateTimestamp": changed_ms,
                "notificationResource": action,
                "publishedMessage": message.to_string(),
            }),
        ),
        Err(e) => (
            format!("Failed to execute action {action}. Received error: \"{e}\""),
            json!({
                "actionState": "Failed",
                "stateUpdateTimestamp": changed_ms,
                "notificationResource": action,
                "error": e,
            }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarm_model::tests::sample;

    #[test]
    fn configuration_is_aws_history_shape() {
        let a = sample("errors");
        let (summary, data) = configuration(&a, ConfigChange::Create, None);
        assert_eq!(summary, "Alarm \"errors\" created");
        assert_eq!(
            data,
            json!({
                "version": "1.0",
                "type": "Create",
                "createdAlarm": {
                    "alarmName": "errors",
                    "alarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors",
                    "alarmConfigurationUpdatedTimestamp": "1970-01-01T00:00:01.000+0000",
                    "namespace": "AWS/Lambda",
                    "metricName": "Errors",
                    "statistic": "Sum",
                    "period": 60,
                    "dimensions": [{"value": "f", "name": "FunctionName"}],
                    "threshold": 1.0,
                    "comparisonOperator": "GreaterThanThreshold",
                    "evaluationPeriods": 1,
                    "stateValue": "INSUFFICIENT_DATA",
                    "stateUpdatedTimestamp": "1970-01-01T00:00:01.000+0000",
                    "actionsEnabled": true,
                    "alarmActions": [],
                    "insufficientDataActions": [],
                    "okactions": []
                }
            })
        );
        let mut b = a.clone();
        b.threshold = 3.0;
        b.configuration_updated_ms = 2_000;
        let (summary, data) = configuration(&b, ConfigChange::Update, Some(&a));
        assert_eq!(summary, "Alarm \"errors\" updated");
        assert_eq!(data["updatedAlarm"]["threshold"], json!(3.0));
        assert_eq!(data["originalUpdatedFields"], json!({"threshold": 1.0}));
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct DescribeAlarmHistoryInput {
    alarm_name: Option<String>,
    alarm_contributor_id: Option<String>,
    alarm_types: Option<Vec<String>>,
    history_item_type: Option<String>,
    start_date: Option<f64>,
    end_date: Option<f64>,
    max_records: Option<i64>,
    next_token: Option<String>,
    scan_by: Option<String>,
}

/// `DescribeAlarmHistory`.
pub fn describe(cw: &CloudWatch, account: &str, input: Value) -> Result<Value, CloudWatchError> {
    let i: DescribeAlarmHistoryInput = parse_input(input)?;
    if let Some(n) = &i.alarm_name {
        check::length(n, "AlarmName", 1, 255)?;
    }
    if let Some(t) = &i.history_item_type {
        check::one_of(
            t,
            "HistoryItemType",
            &[
                CONFIGURATION_UPDATE,
                STATE_UPDATE,
                ACTION,
                "AlarmContributorStateUpdate",
                "AlarmContributorAction",
            ],
        )?;
    }
    let ascending = match i.scan_by.as_deref() {
        None | Some("TimestampDescending") => false,
        Some("TimestampAscending") => true,
        Some(s) => {
            check::one_of(s, "ScanBy", &["TimestampDescending", "TimestampAscending"])?;
            false
        }
    };
    let limit = match i.max_records {
        Some(n) => {
            check::range(n, "MaxRecords", 1, Some(100))?;
            n as usize
        }
        None => DEFAULT_PAGE,
    };
    let offset = match &i.next_token {
        Some(t) => decode_token(t)?.parse::<usize>().map_err(|_| {
            CloudWatchError::client("InvalidNextToken", "The NextToken is not valid.")
        })?,
        None => 0,
    };
    let metric_type = i
        .alarm_types
        .as_ref()
        .is_none_or(|t| t.iter().any(|t| t == "MetricAlarm"));
    // Metric alarms have no contributors: asking for them finds nothing.
    if !metric_type || i.alarm_contributor_id.is_some() {
        return Ok(json!({"AlarmHistoryItems": []}));
    }
    let from_ms = i.start_date.map(|s| (s * 1000.0) as i64).unwrap_or(0);
    let to_ms = i.end_date.map(|s| (s * 1000.0) as i64).unwrap_or(i64::MAX);
    let rows = cw.store.list_alarm_history(
        account,
        i.alarm_name.as_deref(),
        from_ms,
        to_ms,
        0,
        SCAN_LIMIT,
    )?;
    let mut items: Vec<Value> = rows
        .into_iter()
        .filter_map(|(ts, data)| {
            let mut v: Value = serde_json::from_str(&data).ok()?;
            let wanted = i
                .history_item_type
                .as_deref()
                .is_none_or(|t| v["HistoryItemType"] == t);
            if !wanted {
                return None;
            }
            v["Timestamp"] = wire_time(ts);
            Some(v)
        })
        .collect();
    if ascending {
        items.reverse();
    }
    let page: Vec<Value> = items.iter().skip(offset).take(limit).cloned().collect();
    let mut out = json!({"AlarmHistoryItems": page});
    if offset + limit < items.len() {
        out["NextToken"] = json!(encode_token(&(offset + limit).to_string()));
    }
    Ok(out)
}
