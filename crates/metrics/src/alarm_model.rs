//! A metric alarm as Hearth keeps it (the JSON record the store holds by ARN) and as
//! `DescribeAlarms` answers it, with the enumerations of botocore's cloudwatch model.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// An alarm's state (`StateValue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StateValue {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "ALARM")]
    Alarm,
    #[serde(rename = "INSUFFICIENT_DATA")]
    InsufficientData,
}

impl StateValue {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Alarm => "ALARM",
            Self::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "OK" => Some(Self::Ok),
            "ALARM" => Some(Self::Alarm),
            "INSUFFICIENT_DATA" => Some(Self::InsufficientData),
            _ => None,
        }
    }
}

/// `ComparisonOperator`: the four static ones, and the three of anomaly-detection bands
/// (which Hearth refuses, having no anomaly detector).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    GreaterThanOrEqualToThreshold,
    GreaterThanThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
    LessThanLowerOrGreaterThanUpperThreshold,
    LessThanLowerThreshold,
    GreaterThanUpperThreshold,
}

impl Comparison {
    pub const ALL: [Comparison; 7] = [
        Self::GreaterThanOrEqualToThreshold,
        Self::GreaterThanThreshold,
        Self::LessThanThreshold,
        Self::LessThanOrEqualToThreshold,
        Self::LessThanLowerOrGreaterThanUpperThreshold,
        Self::LessThanLowerThreshold,
        Self::GreaterThanUpperThreshold,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::GreaterThanOrEqualToThreshold => "GreaterThanOrEqualToThreshold",
            Self::GreaterThanThreshold => "GreaterThanThreshold",
            Self::LessThanThreshold => "LessThanThreshold",
            Self::LessThanOrEqualToThreshold => "LessThanOrEqualToThreshold",
            Self::LessThanLowerOrGreaterThanUpperThreshold => {
                "LessThanLowerOrGreaterThanUpperThreshold"
            }
            Self::LessThanLowerThreshold => "LessThanLowerThreshold",
            Self::GreaterThanUpperThreshold => "GreaterThanUpperThreshold",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether it compares against an anomaly-detection band rather than a threshold.
    pub fn is_band(self) -> bool {
        matches!(
            self,
            Self::LessThanLowerOrGreaterThanUpperThreshold
                | Self::LessThanLowerThreshold
                | Self::GreaterThanUpperThreshold
        )
    }

    /// Whether `value` breaches `threshold`. Band operators never reach here (refused at
    /// PutMetricAlarm); they compare as their static counterparts for completeness.
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::GreaterThanOrEqualToThreshold => value >= threshold,
            Self::GreaterThanThreshold | Self::GreaterThanUpperThreshold => value > threshold,
            Self::LessThanThreshold | Self::LessThanLowerThreshold => value < threshold,
            Self::LessThanOrEqualToThreshold => value <= threshold,
            Self::LessThanLowerOrGreaterThanUpperThreshold => value != threshold,
        }
    }

    /// The words of AWS's state reasons ("was greater than the threshold").
    pub fn phrase(self) -> &'static str {
        match self {
            Self::GreaterThanOrEqualToThreshold => "greater than or equal to",
            Self::GreaterThanThreshold | Self::GreaterThanUpperThreshold => "greater than",
            Self::LessThanThreshold | Self::LessThanLowerThreshold => "less than",
            Self::LessThanOrEqualToThreshold => "less than or equal to",
            Self::LessThanLowerOrGreaterThanUpperThreshold => "outside",
        }
    }
}

/// `TreatMissingData` (a free string in the model; these four are what AWS accepts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TreatMissing {
    Missing,
    NotBreaching,
    Breaching,
    Ignore,
}

impl TreatMissing {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::NotBreaching => "notBreaching",
            Self::Breaching => "breaching",
            Self::Ignore => "ignore",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "missing" => Some(Self::Missing),
            "notBreaching" => Some(Self::NotBreaching),
            "breaching" => Some(Self::Breaching),
            "ignore" => Some(Self::Ignore),
            _ => None,
        }
    }
}

/// A metric's dimension (wire form: `Name`, `Value`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Dimension {
    pub name: String,
    pub value: String,
}

/// A metric by namespace, name and dimensions (`Metric`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MetricId {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<Dimension>,
}

/// `MetricStat`: a metric, its statistic, period and unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MetricStat {
    pub metric: MetricId,
    pub period: i64,
    pub stat: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// `MetricDataQuery`: one metric or metric-math expression of a `Metrics` alarm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MetricDataQuery {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_stat: Option<MetricStat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_data: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

impl MetricDataQuery {
    /// Whether this query is the alarm's result: `ReturnData` defaults to true, as in
    /// GetMetricData.
    pub fn returns_data(&self) -> bool {
        self.return_data.unwrap_or(true)
    }
}

/// An action's notification written with the state change that caused it and delivered
/// by the evaluator (so a change and its actions are never half done: a crash between
/// them delivers at the next pass).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingAction {
    /// The SNS topic ARN or webhook URL.
    pub action: String,
    /// AWS's SNS alarm notification (see `alarm_notify`).
    pub message: Value,
    /// When the state changed, in ms (with `action`, the notification's identity).
    pub changed_ms: i64,
}

/// One metric alarm: its configuration and state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricAlarm {
    pub account: String,
    pub alarm_name: String,
    pub alarm_arn: String,
    pub alarm_description: Option<String>,
    pub configuration_updated_ms: i64,
    pub actions_enabled: bool,
    pub ok_actions: Vec<String>,
    pub alarm_actions: Vec<String>,
    pub insufficient_data_actions: Vec<String>,
    pub state_value: StateValue,
    pub state_reason: String,
    /// JSON text, as AWS answers it.
    pub state_reason_data: Option<String>,
    pub state_updated_ms: i64,
    pub state_transitioned_ms: i64,
    pub namespace: Option<String>,
    pub metric_name: Option<String>,
    pub dimensions: Vec<Dimension>,
    pub statistic: Option<String>,
    pub extended_statistic: Option<String>,
    pub period: Option<i64>,
    pub unit: Option<String>,
    pub metrics: Vec<MetricDataQuery>,
    pub evaluation_periods: u32,
    pub datapoints_to_alarm: Option<u32>,
    pub threshold: f64,
    pub comparison_operator: Comparison,
    pub treat_missing_data: Option<TreatMissing>,
    pub evaluate_low_sample_count_percentile: Option<String>,
    /// `(key, value)` pairs, kept from creation (PutMetricAlarm ignores them on update).
    pub tags: Vec<(String, String)>,
    #[serde(default)]
    pub pending: Vec<PendingAction>,
}

/// Epoch ms as the AWS JSON 1.0 timestamp (epoch seconds, fractional).
pub fn wire_time(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

impl MetricAlarm {
    /// Parses a stored record.
    pub fn from_record(data: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(data)
    }

    /// The stored record.
    pub fn to_record(&self) -> String {
        serde_json::to_string(self).expect("an alarm always serializes")
    }

    /// M of the M-out-of-N (DatapointsToAlarm defaults to EvaluationPeriods).
    pub fn datapoints_to_alarm(&self) -> u32 {
        self.datapoints_to_alarm.unwrap_or(self.evaluation_periods)
    }

    pub fn treat_missing(&self) -> TreatMissing {
        self.treat_missing_data.unwrap_or(TreatMissing::Missing)
    }

    /// The period evaluated: the alarm's own, or for metric math that of the query
    /// returning data (else the shortest of its metrics').
    pub fn period_s(&self) -> i64 {
        if let Some(p) = self.period {
            return p;
        }
        let returned = self.metrics.iter().find(|q| q.returns_data());
        returned
            .and_then(|q| q.period.or(q.metric_stat.as_ref().map(|s| s.period)))
            .or_else(|| {
                self.metrics
                    .iter()
                    .filter_map(|q| q.metric_stat.as_ref().map(|s| s.period))
                    .min()
            })
            .unwrap_or(60)
    }

    /// The actions of `state`.
    pub fn actions_of(&self, state: StateValue) -> &[String] {
        match state {
            StateValue::Ok => &self.ok_actions,
            StateValue::Alarm => &self.alarm_actions,
            StateValue::InsufficientData => &self.insufficient_data_actions,
        }
    }

    /// The `MetricAlarm` shape of DescribeAlarms, every member AWS answers.
    pub fn to_wire(&self) -> Value {
        let mut m = Map::new();
        m.insert("AlarmName".into(), json!(self.alarm_name));
        m.insert("AlarmArn".into(), json!(self.alarm_arn));
        if let Some(d) = &self.alarm_description {
            m.insert("AlarmDescription".into(), json!(d));
        }
        m.insert(
            "AlarmConfigurationUpdatedTimestamp".into(),
            wire_time(self.configuration_updated_ms),
        );
        m.insert("ActionsEnabled".into(), json!(self.actions_enabled));
        m.insert("OKActions".into(), json!(self.ok_actions));
        m.insert("AlarmActions".into(), json!(self.alarm_actions));
        m.insert(
            "InsufficientDataActions".into(),
            json!(self.insufficient_data_actions),
        );
        m.insert("StateValue".into(), json!(self.state_value.as_str()));
        m.insert("StateReason".into(), json!(self.state_reason));
        if let Some(d) = &self.state_reason_data {
            m.insert("StateReasonData".into(), json!(d));
        }
        m.insert(
            "StateUpdatedTimestamp".into(),
            wire_time(self.state_updated_ms),
        );
        let optional = [
            ("MetricName", &self.metric_name),
            ("Namespace", &self.namespace),
            ("Statistic", &self.statistic),
            ("ExtendedStatistic", &self.extended_statistic),
        ];
        for (k, v) in optional {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        }
        if self.metrics.is_empty() {
            m.insert("Dimensions".into(), json!(self.dimensions));
        }
        if let Some(p) = self.period {
            m.insert("Period".into(), json!(p));
        }
        if let Some(u) = &self.unit {
            m.insert("Unit".into(), json!(u));
        }
        m.insert("EvaluationPeriods".into(), json!(self.evaluation_periods));
        if let Some(d) = self.datapoints_to_alarm {
            m.insert("DatapointsToAlarm".into(), json!(d));
        }
        m.insert("Threshold".into(), json!(self.threshold));
        m.insert(
            "ComparisonOperator".into(),
            json!(self.comparison_operator.as_str()),
        );
        if let Some(t) = self.treat_missing_data {
            m.insert("TreatMissingData".into(), json!(t.as_str()));
        }
        if let Some(e) = &self.evaluate_low_sample_count_percentile {
            m.insert("EvaluateLowSampleCountPercentile".into(), json!(e));
        }
        if !self.metrics.is_empty() {
            m.insert("Metrics".into(), json!(self.metrics));
        }
        m.insert(
            "StateTransitionedTimestamp".into(),
            wire_time(self.state_transitioned_ms),
        );
        Value::Object(m)
    }
}

/// The alarm ARN: `arn:aws:cloudwatch:<region>:<account>:alarm:<name>`.
pub fn alarm_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:cloudwatch:{region}:{account}:alarm:{name}")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A one-metric alarm as PutMetricAlarm would make it, for the tests of every module.
    pub(crate) fn sample(name: &str) -> MetricAlarm {
        MetricAlarm {
            account: "123456789012".into(),
            alarm_name: name.into(),
            alarm_arn: alarm_arn("us-east-1", "123456789012", name),
            alarm_description: None,
            configuration_updated_ms: 1_000,
            actions_enabled: true,
            ok_actions: vec![],
            alarm_actions: vec![],
            insufficient_data_actions: vec![],
            state_value: StateValue::InsufficientData,
            state_reason: "Unchecked: Initial alarm creation".into(),
            state_reason_data: None,
            state_updated_ms: 1_000,
            state_transitioned_ms: 1_000,
            namespace: Some("AWS/Lambda".into()),
            metric_name: Some("Errors".into()),
            dimensions: vec![Dimension {
                name: "FunctionName".into(),
                value: "f".into(),
            }],
            statistic: Some("Sum".into()),
            extended_statistic: None,
            period: Some(60),
            unit: None,
            metrics: vec![],
            evaluation_periods: 1,
            datapoints_to_alarm: None,
            threshold: 1.0,
            comparison_operator: Comparison::GreaterThanThreshold,
            treat_missing_data: None,
            evaluate_low_sample_count_percentile: None,
            tags: vec![],
            pending: vec![],
        }
    }

    #[test]
    fn wire_form_has_every_member_aws_answers() {
        let a = sample("errors");
        assert_eq!(
            a.to_wire(),
            json!({
                "AlarmName": "errors",
                "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors",
                "AlarmConfigurationUpdatedTimestamp": 1.0,
                "ActionsEnabled": true,
                "OKActions": [],
                "AlarmActions": [],
                "InsufficientDataActions": [],
                "StateValue": "INSUFFICIENT_DATA",
                "StateReason": "Unchecked: Initial alarm creation",
                "StateUpdatedTimestamp": 1.0,
                "MetricName": "Errors",
                "Namespace": "AWS/Lambda",
                "Statistic": "Sum",
                "Dimensions": [{"Name": "FunctionName", "Value": "f"}],
                "Period": 60,
                "EvaluationPeriods": 1,
                "Threshold": 1.0,
                "ComparisonOperator": "GreaterThanThreshold",
                "StateTransitionedTimestamp": 1.0
            })
        );
    }

    #[test]
    fn record_round_trips() {
        let a = sample("x");
        assert_eq!(MetricAlarm::from_record(&a.to_record()).expect("parses"), a);
    }

    #[test]
    fn comparisons_breach_as_named() {
        use Comparison::*;
        assert!(GreaterThanOrEqualToThreshold.breaches(1.0, 1.0));
        assert!(!GreaterThanThreshold.breaches(1.0, 1.0));
        assert!(LessThanThreshold.breaches(0.5, 1.0));
        assert!(LessThanOrEqualToThreshold.breaches(1.0, 1.0));
        assert!(!LessThanThreshold.breaches(1.0, 1.0));
    }
}
