//! `PutMetricAlarm`: its input read and checked into a [`MetricAlarm`], which the
//! operation then creates (in `INSUFFICIENT_DATA`) or puts over an existing alarm's
//! configuration, keeping its state.
//!
//! Actions are SNS topic ARNs, as in AWS; Hearth extension: an `https://` or `http://`
//! URL is a webhook, POSTed the same JSON notification an SNS topic would carry. Other
//! AWS actions (EC2, Auto Scaling, Lambda, Systems Manager) are refused.

use serde::Deserialize;
use serde_json::Value;

use crate::alarm_checks::{
    self as check, INVALID_COMBINATION, INVALID_VALUE, MISSING, STATISTICS, UNITS,
};
use crate::alarm_model::{
    alarm_arn, Comparison, Dimension, MetricAlarm, MetricDataQuery, StateValue, TreatMissing,
};
use crate::CloudWatchError;

/// A tag of the input (`Key`, `Value`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Tag {
    key: String,
    value: String,
}

/// PutMetricAlarm's input, every member of the model.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct PutMetricAlarmInput {
    alarm_name: Option<String>,
    alarm_description: Option<String>,
    actions_enabled: Option<bool>,
    #[serde(rename = "OKActions")]
    ok_actions: Option<Vec<String>>,
    alarm_actions: Option<Vec<String>>,
    insufficient_data_actions: Option<Vec<String>>,
    metric_name: Option<String>,
    namespace: Option<String>,
    statistic: Option<String>,
    extended_statistic: Option<String>,
    dimensions: Option<Vec<Dimension>>,
    period: Option<i64>,
    unit: Option<String>,
    evaluation_periods: Option<i64>,
    datapoints_to_alarm: Option<i64>,
    threshold: Option<f64>,
    comparison_operator: Option<String>,
    treat_missing_data: Option<String>,
    evaluate_low_sample_count_percentile: Option<String>,
    metrics: Option<Vec<MetricDataQuery>>,
    tags: Option<Vec<Tag>>,
    threshold_metric_id: Option<String>,
    evaluation_criteria: Option<Value>,
    evaluation_interval: Option<i64>,
}

/// The most metrics a metric-math alarm may use, as AWS documents.
const MAX_METRICS: usize = 10;
/// The most tags of an alarm, as AWS documents.
const MAX_TAGS: usize = 50;

/// Reads a JSON input into its typed form; a malformed one is the caller's error.
pub fn parse_input<T: serde::de::DeserializeOwned>(input: Value) -> Result<T, CloudWatchError> {
    let input = if input.is_null() {
        Value::Object(Default::default())
    } else {
        input
    };
    serde_json::from_value(input)
        .map_err(|e| CloudWatchError::client(check::VALIDATION, format!("Invalid input: {e}")))
}

/// The alarm `input` describes, in `INSUFFICIENT_DATA` with AWS's reason for a new
/// alarm, its configuration updated at `now_ms`.
pub fn read(
    input: Value,
    account: &str,
    region: &str,
    now_ms: i64,
) -> Result<MetricAlarm, CloudWatchError> {
    let i: PutMetricAlarmInput = parse_input(input)?;
    let name = check::required(i.alarm_name, "AlarmName")?;
    check::length(&name, "AlarmName", 1, 255)?;
    if let Some(d) = &i.alarm_description {
        check::length(d, "AlarmDescription", 0, 1024)?;
    }
    if i.evaluation_criteria.is_some() || i.evaluation_interval.is_some() {
        return Err(CloudWatchError::client(
            INVALID_VALUE,
            "Hearth does not support PromQL alarms (EvaluationCriteria, EvaluationInterval).",
        ));
    }
    let ok_actions = actions(i.ok_actions, "OKActions")?;
    let alarm_actions = actions(i.alarm_actions, "AlarmActions")?;
    let insufficient_data_actions =
        actions(i.insufficient_data_actions, "InsufficientDataActions")?;

    let metrics = i.metrics.unwrap_or_default();
    let single = [
        ("MetricName", i.metric_name.is_some()),
        ("Namespace", i.namespace.is_some()),
        ("Dimensions", i.dimensions.is_some()),
        ("Period", i.period.is_some()),
        ("Unit", i.unit.is_some()),
        ("Statistic", i.statistic.is_some()),
        ("ExtendedStatistic", i.extended_statistic.is_some()),
    ];
    if !metrics.is_empty() {
        if let Some((given, _)) = single.iter().find(|(_, set)| *set) {
            // UNSURE of AWS's text.
            return Err(CloudWatchError::client(
                INVALID_COMBINATION,
                format!("The parameter {given} cannot be specified together with Metrics."),
            ));
        }
        check_metrics(&metrics)?;
    } else {
        let metric_name = check::required(i.metric_name.as_deref(), "MetricName")?;
        check::length(metric_name, "MetricName", 1, 255)?;
        let namespace = check::required(i.namespace.as_deref(), "Namespace")?;
        check::length(namespace, "Namespace", 1, 255)?;
        check_dimensions(i.dimensions.as_deref().unwrap_or_default())?;
        match (&i.statistic, &i.extended_statistic) {
            (Some(_), Some(_)) => {
                return Err(CloudWatchError::client(
                    INVALID_COMBINATION,
                    "Statistic and ExtendedStatistic cannot both be specified.",
                ))
            }
            (None, None) => {
                return Err(CloudWatchError::client(
                    MISSING,
                    "One of Statistic or ExtendedStatistic must be specified.",
                ))
            }
            (Some(s), None) => check::one_of(s, "Statistic", STATISTICS)?,
            (None, Some(e)) => check::extended_statistic(e)?,
        }
        check::period(check::required(i.period, "Period")?, "Period")?;
        if let Some(u) = &i.unit {
            check::one_of(u, "Unit", UNITS)?;
        }
    }

    let evaluation_periods = check::required(i.evaluation_periods, "EvaluationPeriods")?;
    check::range(evaluation_periods, "EvaluationPeriods", 1, None)?;
    if let Some(d) = i.datapoints_to_alarm {
        check::range(d, "DatapointsToAlarm", 1, None)?;
        if d > evaluation_periods {
            return Err(CloudWatchError::client(
                INVALID_COMBINATION,
                "DatapointsToAlarm must be less than or equal to EvaluationPeriods.",
            ));
        }
    }
    let comparison = check::required(i.comparison_operator.as_deref(), "ComparisonOperator")?;
    let names: Vec<&str> = Comparison::ALL.iter().map(|c| c.as_str()).collect();
    check::one_of(comparison, "ComparisonOperator", &names)?;
    let comparison = Comparison::parse(comparison).expect("checked against ALL");
    if comparison.is_band() || i.threshold_metric_id.is_some() {
        // AWS takes band operators only with ThresholdMetricId naming an
        // ANOMALY_DETECTION_BAND; Hearth has no anomaly detector.
        let (code, text) = if i.threshold_metric_id.is_none() {
            (
                INVALID_COMBINATION,
                format!(
                    "The comparison operator {} is only valid for alarms based on an \
                     anomaly detection model (ThresholdMetricId).",
                    comparison.as_str()
                ),
            )
        } else {
            (
                INVALID_VALUE,
                "Hearth does not support anomaly detection alarms (ThresholdMetricId).".to_string(),
            )
        };
        return Err(CloudWatchError::client(code, text));
    }
    let threshold = check::required(i.threshold, "Threshold")?;
    let treat_missing_data = i
        .treat_missing_data
        .as_deref()
        .map(|t| {
            check::length(t, "TreatMissingData", 1, 255)?;
            TreatMissing::parse(t).ok_or_else(|| {
                unsupported_option(
                    t,
                    "TreatMissingData",
                    "missing, ignore, breaching, notBreaching",
                )
            })
        })
        .transpose()?;
    if let Some(e) = &i.evaluate_low_sample_count_percentile {
        check::length(e, "EvaluateLowSampleCountPercentile", 1, 255)?;
        if e != "evaluate" && e != "ignore" {
            return Err(unsupported_option(
                e,
                "EvaluateLowSampleCountPercentile",
                "evaluate, ignore",
            ));
        }
    }
    let tags = i.tags.unwrap_or_default();
    if tags.len() > MAX_TAGS {
        return Err(CloudWatchError::client(
            "LimitExceeded",
            format!("An alarm can have at most {MAX_TAGS} tags."),
        ));
    }
    for t in &tags {
        check::length(&t.key, "Key", 1, 128)?;
        check::length(&t.value, "Value", 0, 256)?;
    }

    let alarm = MetricAlarm {
        account: account.to_string(),
        alarm_arn: alarm_arn(region, account, &name),
        alarm_name: name,
        alarm_description: i.alarm_description,
        configuration_updated_ms: now_ms,
        actions_enabled: i.actions_enabled.unwrap_or(true),
        ok_actions,
        alarm_actions,
        insufficient_data_actions,
        state_value: StateValue::InsufficientData,
        state_reason: "Unchecked: Initial alarm creation".to_string(),
        state_reason_data: None,
        state_updated_ms: now_ms,
        state_transitioned_ms: now_ms,
        namespace: i.namespace,
        metric_name: i.metric_name,
        dimensions: i.dimensions.unwrap_or_default(),
        statistic: i.statistic,
        extended_statistic: i.extended_statistic,
        period: i.period,
        unit: i.unit,
        metrics,
        evaluation_periods: u32::try_from(evaluation_periods).unwrap_or(u32::MAX),
        datapoints_to_alarm: i
            .datapoints_to_alarm
            .map(|d| u32::try_from(d).unwrap_or(u32::MAX)),
        threshold,
        comparison_operator: comparison,
        treat_missing_data,
        evaluate_low_sample_count_percentile: i.evaluate_low_sample_count_percentile,
        tags: tags.into_iter().map(|t| (t.key, t.value)).collect(),
        pending: vec![],
    };
    check_span(alarm.period_s(), evaluation_periods)?;
    Ok(alarm)
}

fn unsupported_option(v: &str, name: &str, supported: &str) -> CloudWatchError {
    // UNSURE of AWS's text.
    CloudWatchError::client(
        INVALID_VALUE,
        format!(
            "Option {v} is not supported. Supported options for parameter {name} are: {supported}."
        ),
    )
}

/// Period × EvaluationPeriods: at most a day for periods under an hour, else a week, as
/// AWS documents (the text of the first is AWS's; the second's is UNSURE).
fn check_span(period: i64, evaluation_periods: i64) -> Result<(), CloudWatchError> {
    let span = period.saturating_mul(evaluation_periods);
    if period < 3600 && span > 86_400 {
        return Err(CloudWatchError::client(
            INVALID_COMBINATION,
            "Metrics cannot be checked across more than a day (EvaluationPeriods * Period \
             must be <= 86400).",
        ));
    }
    if span > 604_800 {
        return Err(CloudWatchError::client(
            INVALID_COMBINATION,
            "Metrics cannot be checked across more than a week (EvaluationPeriods * Period \
             must be <= 604800).",
        ));
    }
    Ok(())
}

/// An action list: at most 5, each an SNS topic ARN or (Hearth) a webhook URL.
fn actions(list: Option<Vec<String>>, name: &str) -> Result<Vec<String>, CloudWatchError> {
    let list = list.unwrap_or_default();
    check::list_max(&list, name, 5)?;
    for a in &list {
        check::length(a, name, 1, 1024)?;
        if !is_supported_action(a) {
            return Err(CloudWatchError::client(
                INVALID_VALUE,
                format!(
                    "Invalid action {a}: Hearth's alarms notify SNS topics \
                     (arn:aws:sns:<region>:<account>:<topic>) and http(s) webhooks."
                ),
            ));
        }
    }
    Ok(list)
}

/// An SNS topic ARN, or an `http(s)://` URL with a host (the webhook extension).
pub fn is_supported_action(a: &str) -> bool {
    if let Some(rest) = a
        .strip_prefix("https://")
        .or_else(|| a.strip_prefix("http://"))
    {
        return !rest.is_empty() && !rest.starts_with('/');
    }
    let parts: Vec<&str> = a.split(':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "sns"
        && !parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && !parts[5].is_empty()
}

fn check_dimensions(dims: &[Dimension]) -> Result<(), CloudWatchError> {
    check::list_max(dims, "Dimensions", 30)?;
    for d in dims {
        check::length(&d.name, "Name", 1, 255)?;
        check::length(&d.value, "Value", 1, 1024)?;
    }
    Ok(())
}

/// A metric-math alarm's queries: at most 10 metrics, unique ids of AWS's form, each a
/// metric or an expression, exactly one returning data (AWS's text).
fn check_metrics(metrics: &[MetricDataQuery]) -> Result<(), CloudWatchError> {
    let invalid = |m: String| CloudWatchError::client(INVALID_VALUE, m);
    let stats = metrics.iter().filter(|q| q.metric_stat.is_some()).count();
    if stats > MAX_METRICS {
        return Err(invalid(format!(
            "An alarm's metric math may use at most {MAX_METRICS} metrics."
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for q in metrics {
        check::length(&q.id, "Id", 1, 255)?;
        let mut c = q.id.chars();
        let well_formed = c.next().is_some_and(|f| f.is_ascii_lowercase())
            && c.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !well_formed {
            return Err(invalid(format!(
                "Invalid metrics list: the Id {} must start with a lowercase letter and \
                 contain only letters, numbers and underscores.",
                q.id
            )));
        }
        if !seen.insert(q.id.as_str()) {
            return Err(invalid(format!(
                "Invalid metrics list: the Id {} is used more than once.",
                q.id
            )));
        }
        match (&q.metric_stat, &q.expression) {
            (Some(s), None) => {
                let m = &s.metric;
                check::length(
                    check::required(m.metric_name.as_deref(), "MetricName")?,
                    "MetricName",
                    1,
                    255,
                )?;
                check::length(
                    check::required(m.namespace.as_deref(), "Namespace")?,
                    "Namespace",
                    1,
                    255,
                )?;
                check_dimensions(&m.dimensions)?;
                check::period(s.period, "Period")?;
                if let Some(u) = &s.unit {
                    check::one_of(u, "Unit", UNITS)?;
                }
                if !STATISTICS.contains(&s.stat.as_str()) {
                    check::extended_statistic(&s.stat)?;
                }
            }
            (None, Some(e)) => check::length(e, "Expression", 1, 2048)?,
            _ => {
                return Err(invalid(format!(
                    "Invalid metrics list: the query {} must have exactly one of MetricStat \
                     and Expression.",
                    q.id
                )))
            }
        }
        if let Some(p) = q.period {
            check::period(p, "Period")?;
        }
    }
    if metrics.iter().filter(|q| q.returns_data()).count() != 1 {
        return Err(invalid(
            "Exactly one element of the metrics list should return data.".to_string(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "AlarmName": "errors",
            "MetricName": "Errors",
            "Namespace": "AWS/Lambda",
            "Statistic": "Sum",
            "Dimensions": [{"Name": "FunctionName", "Value": "f"}],
            "Period": 60,
            "EvaluationPeriods": 1,
            "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanThreshold"
        })
    }

    fn with(changes: Value) -> Value {
        let mut v = base();
        for (k, x) in changes.as_object().expect("object") {
            if x.is_null() {
                v.as_object_mut().expect("object").remove(k);
            } else {
                v[k] = x.clone();
            }
        }
        v
    }

    fn err(changes: Value) -> (String, String) {
        let e = read(with(changes), "123456789012", "us-east-1", 5_000).expect_err("refused");
        (e.code, e.message)
    }

    #[test]
    fn reads_a_single_metric_alarm() {
        let a = read(base(), "123456789012", "us-east-1", 5_000).expect("valid");
        let mut want = crate::alarm_model::tests::sample("errors");
        want.configuration_updated_ms = 5_000;
        want.state_updated_ms = 5_000;
        want.state_transitioned_ms = 5_000;
        assert_eq!(a, want);
    }

    #[test]
    fn refuses_what_aws_refuses() {
        assert_eq!(
            err(json!({"AlarmName": null})),
            (
                "MissingParameter".into(),
                "The parameter AlarmName is required.".into()
            )
        );
        assert_eq!(
            err(json!({"ExtendedStatistic": "p99"})).0,
            "InvalidParameterCombination"
        );
        assert_eq!(err(json!({"Statistic": null})).0, "MissingParameter");
        assert_eq!(err(json!({"Statistic": "Median"})).0, "ValidationError");
        assert_eq!(
            err(json!({"Period": 45})),
            (
                "InvalidParameterValue".into(),
                "The parameter Period must be 10, 20, 30 or a multiple of 60.".into()
            )
        );
        assert_eq!(
            err(json!({"EvaluationPeriods": 1441})),
            (
                "InvalidParameterCombination".into(),
                "Metrics cannot be checked across more than a day (EvaluationPeriods * Period \
                 must be <= 86400)."
                    .into()
            )
        );
        assert_eq!(
            err(json!({"EvaluationPeriods": 2, "DatapointsToAlarm": 3})).0,
            "InvalidParameterCombination"
        );
        assert_eq!(
            err(json!({"ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold"})).0,
            "InvalidParameterCombination"
        );
        assert_eq!(
            err(json!({"ComparisonOperator": "Bigger"})).0,
            "ValidationError"
        );
        assert_eq!(
            err(json!({"TreatMissingData": "zero"})),
            (
                "InvalidParameterValue".into(),
                "Option zero is not supported. Supported options for parameter \
                 TreatMissingData are: missing, ignore, breaching, notBreaching."
                    .into()
            )
        );
        assert_eq!(
            err(json!({"EvaluateLowSampleCountPercentile": "x"})).0,
            "InvalidParameterValue"
        );
        assert_eq!(err(json!({"Threshold": null})).0, "MissingParameter");
        assert_eq!(
            err(json!({"AlarmActions": ["arn:aws:ec2:us-east-1:123456789012:stop"]})).0,
            "InvalidParameterValue"
        );
        assert_eq!(
            err(
                json!({"OKActions": ["https://a/1", "https://a/2", "https://a/3", "https://a/4",
                "https://a/5", "https://a/6"]})
            )
            .0,
            "ValidationError"
        );
        assert_eq!(err(json!({"Bogus": 1})).0, "ValidationError");
    }

    #[test]
    fn accepts_sns_topics_and_webhooks() {
        let a = read(
            with(json!({
                "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:ops"],
                "OKActions": ["https://hooks.example.com/ok"],
                "TreatMissingData": "breaching",
                "DatapointsToAlarm": 1,
                "EvaluationPeriods": 3
            })),
            "123456789012",
            "us-east-1",
            0,
        )
        .expect("valid");
        assert_eq!(a.alarm_actions, ["arn:aws:sns:us-east-1:123456789012:ops"]);
        assert_eq!(a.ok_actions, ["https://hooks.example.com/ok"]);
        assert_eq!(a.treat_missing_data, Some(TreatMissing::Breaching));
        assert_eq!((a.datapoints_to_alarm(), a.evaluation_periods), (1, 3));
    }

    fn math(metrics: Value) -> Value {
        json!({
            "AlarmName": "ratio",
            "EvaluationPeriods": 1,
            "Threshold": 0.5,
            "ComparisonOperator": "GreaterThanThreshold",
            "Metrics": metrics
        })
    }

    fn stat(id: &str, ret: bool) -> Value {
        json!({"Id": id, "ReturnData": ret, "MetricStat": {
            "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors"},
            "Period": 300, "Stat": "Sum"}})
    }

    #[test]
    fn metric_math_alarms() {
        let ok = math(json!([stat("e", false), stat("i", false),
            {"Id": "r", "Expression": "e / i", "Label": "ratio"}]));
        let a = read(ok, "123456789012", "us-east-1", 0).expect("valid");
        assert_eq!(a.period_s(), 300);
        assert_eq!(a.metrics.len(), 3);
        let two = math(json!([stat("e", true), {"Id": "r", "Expression": "e * 2"}]));
        let e = read(two, "123456789012", "us-east-1", 0).expect_err("two return data");
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            (
                "InvalidParameterValue",
                "Exactly one element of the metrics list should return data."
            )
        );
        let mixed = with(json!({"Metrics": [stat("e", true)]}));
        let e = read(mixed, "123456789012", "us-east-1", 0).expect_err("mixed");
        assert_eq!(e.code, "InvalidParameterCombination");
        let bad_id = math(json!([stat("E", true)]));
        assert_eq!(
            read(bad_id, "1", "r", 0).expect_err("id").code,
            "InvalidParameterValue"
        );
    }
}
