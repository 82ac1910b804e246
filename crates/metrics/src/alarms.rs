//! The alarms operations of CloudWatch: PutMetricAlarm, DescribeAlarms,
//! DescribeAlarmsForMetric, DeleteAlarms, SetAlarmState, DescribeAlarmHistory,
//! EnableAlarmActions and DisableAlarmActions, in their AWS JSON 1.0 form.
//!
//! `SetAlarmState`'s actions run as for a change the evaluator makes: written with the
//! change, delivered by the evaluator's next pass (within a minute).
//!
//! Alarm actions are SNS topic ARNs and, as a Hearth extension, `https://` or `http://`
//! webhook URLs, which receive the same JSON notification (see `alarm_notify`).

use serde::Deserialize;
use serde_json::{json, Value};

use crate::alarm_checks::{self as check, decode_token, encode_token, INVALID_COMBINATION};
use crate::alarm_history::{self, ConfigChange, CONFIGURATION_UPDATE};
use crate::alarm_model::{alarm_arn, Dimension, MetricAlarm, StateValue};
use crate::alarm_put::{self, parse_input};
use crate::alarm_state::{self, NewState};
use crate::{CloudWatch, CloudWatchError};

/// The operations this module answers.
pub(crate) const OPERATIONS: &[&str] = &[
    "PutMetricAlarm",
    "DescribeAlarms",
    "DescribeAlarmsForMetric",
    "DeleteAlarms",
    "SetAlarmState",
    "DescribeAlarmHistory",
    "EnableAlarmActions",
    "DisableAlarmActions",
];

/// Hearth's own bound on an account's alarms (AWS no longer has one): `LimitExceeded`.
pub const MAX_ALARMS_PER_ACCOUNT: usize = 10_000;
/// DescribeAlarms' page size when MaxRecords is not given (AWS's default, UNSURE).
const DEFAULT_PAGE: usize = 50;
/// Rows read from the store at a time while filtering.
const BATCH: usize = 200;

/// Runs one of [`OPERATIONS`].
pub(crate) async fn call(
    cw: &CloudWatch,
    account: &str,
    op: &str,
    input: Value,
) -> Result<Value, CloudWatchError> {
    match op {
        "PutMetricAlarm" => put_metric_alarm(cw, account, input),
        "DescribeAlarms" => describe_alarms(cw, account, input),
        "DescribeAlarmsForMetric" => describe_alarms_for_metric(cw, account, input),
        "DeleteAlarms" => delete_alarms(cw, account, input),
        "SetAlarmState" => set_alarm_state(cw, account, input),
        "DescribeAlarmHistory" => alarm_history::describe(cw, account, input),
        "EnableAlarmActions" => set_actions_enabled(cw, account, input, true),
        "DisableAlarmActions" => set_actions_enabled(cw, account, input, false),
        _ => Err(CloudWatchError::unknown_operation(op)),
    }
}

fn put_metric_alarm(
    cw: &CloudWatch,
    account: &str,
    input: Value,
) -> Result<Value, CloudWatchError> {
    let now = cw.now_ms();
    let fresh = alarm_put::read(input, account, cw.region(), now)?;
    let arn = fresh.alarm_arn.clone();
    if cw.store.get_metric_alarm(&arn)?.is_none() {
        let existing = cw
            .store
            .list_metric_alarms(account, None, None, MAX_ALARMS_PER_ACCOUNT)?;
        if existing.len() >= MAX_ALARMS_PER_ACCOUNT {
            return Err(CloudWatchError::client(
                "LimitExceeded",
                format!(
                    "The maximum number of alarms ({MAX_ALARMS_PER_ACCOUNT}) of this account \
                     has been reached."
                ),
            ));
        }
        cw.store
            .put_metric_alarm(account, &arn, &fresh.to_record())?;
        let (summary, data) = alarm_history::configuration(&fresh, ConfigChange::Create, None);
        alarm_history::add(
            cw,
            account,
            &fresh.alarm_name,
            now,
            CONFIGURATION_UPDATE,
            &summary,
            &data,
        )?;
        return Ok(json!({}));
    }
    // An update replaces the configuration and keeps the state, the tags given at
    // creation and any notifications still to deliver.
    let mut updated: Option<(MetricAlarm, MetricAlarm)> = None;
    let config = fresh.clone();
    cw.store.edit_metric_alarm(
        &arn,
        Box::new(|record: &mut String| {
            let Ok(old) = MetricAlarm::from_record(record) else {
                return false;
            };
            let alarm = MetricAlarm {
                state_value: old.state_value,
                state_reason: old.state_reason.clone(),
                state_reason_data: old.state_reason_data.clone(),
                state_updated_ms: old.state_updated_ms,
                state_transitioned_ms: old.state_transitioned_ms,
                tags: old.tags.clone(),
                pending: old.pending.clone(),
                ..config
            };
            *record = alarm.to_record();
            updated = Some((alarm, old));
            true
        }),
    )?;
    // Deleted between the read and the edit: create it as new.
    let (alarm, original) = match updated {
        Some((a, old)) => (a, Some(old)),
        None => {
            cw.store
                .put_metric_alarm(account, &arn, &fresh.to_record())?;
            (fresh, None)
        }
    };
    let (summary, data) =
        alarm_history::configuration(&alarm, ConfigChange::Update, original.as_ref());
    alarm_history::add(
        cw,
        account,
        &alarm.alarm_name,
        now,
        CONFIGURATION_UPDATE,
        &summary,
        &data,
    )?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct DescribeAlarmsInput {
    alarm_names: Option<Vec<String>>,
    alarm_name_prefix: Option<String>,
    alarm_types: Option<Vec<String>>,
    children_of_alarm_name: Option<String>,
    parents_of_alarm_name: Option<String>,
    state_value: Option<String>,
    action_prefix: Option<String>,
    max_records: Option<i64>,
    next_token: Option<String>,
}

/// StateValue's members in the order AWS's validation message lists them.
const STATES: &[&str] = &["INSUFFICIENT_DATA", "ALARM", "OK"];

fn describe_alarms(cw: &CloudWatch, account: &str, input: Value) -> Result<Value, CloudWatchError> {
    let i: DescribeAlarmsInput = parse_input(input)?;
    let names = i.alarm_names.unwrap_or_default();
    check::list_max(&names, "AlarmNames", 100)?;
    for n in &names {
        check::length(n, "AlarmNames", 1, 255)?;
    }
    if let Some(p) = &i.alarm_name_prefix {
        check::length(p, "AlarmNamePrefix", 1, 255)?;
    }
    if !names.is_empty() && i.alarm_name_prefix.is_some() {
        return Err(CloudWatchError::client(
            INVALID_COMBINATION,
            "AlarmNames and AlarmNamePrefix cannot be specified together.",
        ));
    }
    let state = match &i.state_value {
        Some(s) => {
            check::one_of(s, "StateValue", STATES)?;
            StateValue::parse(s)
        }
        None => None,
    };
    if let Some(p) = &i.action_prefix {
        check::length(p, "ActionPrefix", 1, 1024)?;
    }
    let types = i.alarm_types.unwrap_or_default();
    for t in &types {
        check::one_of(t, "AlarmTypes", &["CompositeAlarm", "MetricAlarm"])?;
    }
    let limit = match i.max_records {
        Some(n) => {
            check::range(n, "MaxRecords", 1, Some(100))?;
            n as usize
        }
        None => DEFAULT_PAGE,
    };
    let after = i.next_token.as_deref().map(decode_token).transpose()?;
    let empty = json!({"MetricAlarms": [], "CompositeAlarms": []});
    // Metric alarms have no composite parents or children in Hearth (no composites).
    let metric_wanted = types.is_empty() || types.iter().any(|t| t == "MetricAlarm");
    if !metric_wanted || i.children_of_alarm_name.is_some() || i.parents_of_alarm_name.is_some() {
        return Ok(empty);
    }
    let keep = |a: &MetricAlarm| {
        state.is_none_or(|s| a.state_value == s)
            && i.action_prefix.as_deref().is_none_or(|p| {
                a.ok_actions
                    .iter()
                    .chain(&a.alarm_actions)
                    .chain(&a.insufficient_data_actions)
                    .any(|x| x.starts_with(p))
            })
    };
    let mut found: Vec<MetricAlarm> = Vec::new();
    if !names.is_empty() {
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        for n in sorted {
            if after.as_deref().is_some_and(|a| n.as_str() <= a) {
                continue;
            }
            let arn = alarm_arn(cw.region(), account, &n);
            if let Some(r) = cw.store.get_metric_alarm(&arn)? {
                let a = parse_record(&r)?;
                if keep(&a) {
                    found.push(a);
                }
            }
            if found.len() > limit {
                break;
            }
        }
    } else {
        let mut cursor = after.clone();
        loop {
            let rows = cw.store.list_metric_alarms(
                account,
                i.alarm_name_prefix.as_deref(),
                cursor.as_deref(),
                BATCH,
            )?;
            let exhausted = rows.len() < BATCH;
            for r in rows {
                let a = parse_record(&r)?;
                cursor = Some(a.alarm_name.clone());
                if keep(&a) {
                    found.push(a);
                }
                if found.len() > limit {
                    break;
                }
            }
            if exhausted || found.len() > limit {
                break;
            }
        }
    }
    let more = found.len() > limit;
    found.truncate(limit);
    let mut out = json!({
        "MetricAlarms": found.iter().map(MetricAlarm::to_wire).collect::<Vec<_>>(),
        "CompositeAlarms": [],
    });
    if more {
        if let Some(last) = found.last() {
            out["NextToken"] = json!(encode_token(&last.alarm_name));
        }
    }
    Ok(out)
}

fn parse_record(r: &str) -> Result<MetricAlarm, CloudWatchError> {
    MetricAlarm::from_record(r)
        .map_err(|e| CloudWatchError::internal(format!("corrupt alarm record: {e}")))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct DescribeAlarmsForMetricInput {
    metric_name: Option<String>,
    namespace: Option<String>,
    statistic: Option<String>,
    extended_statistic: Option<String>,
    dimensions: Option<Vec<Dimension>>,
    period: Option<i64>,
    unit: Option<String>,
}

/// Alarms on the metric: single-metric alarms matching every criterion given, and
/// metric-math alarms one of whose metrics matches (UNSURE whether AWS lists these).
fn describe_alarms_for_metric(
    cw: &CloudWatch,
    account: &str,
    input: Value,
) -> Result<Value, CloudWatchError> {
    let i: DescribeAlarmsForMetricInput = parse_input(input)?;
    let name = check::required(i.metric_name.as_deref(), "MetricName")?;
    check::length(name, "MetricName", 1, 255)?;
    let namespace = check::required(i.namespace.as_deref(), "Namespace")?;
    check::length(namespace, "Namespace", 1, 255)?;
    if let Some(s) = &i.statistic {
        check::one_of(s, "Statistic", check::STATISTICS)?;
    }
    if let Some(u) = &i.unit {
        check::one_of(u, "Unit", check::UNITS)?;
    }
    let dims = i.dimensions.as_ref().map(|d| {
        let mut d = d.clone();
        d.sort();
        d
    });
    let same_dims = |d: &[Dimension]| {
        dims.as_ref().is_none_or(|want| {
            let mut have = d.to_vec();
            have.sort();
            &have == want
        })
    };
    let matches = |a: &MetricAlarm| {
        if a.metrics.is_empty() {
            a.metric_name.as_deref() == Some(name)
                && a.namespace.as_deref() == Some(namespace)
                && same_dims(&a.dimensions)
                && i.statistic
                    .as_ref()
                    .is_none_or(|s| a.statistic.as_ref() == Some(s))
                && i.extended_statistic
                    .as_ref()
                    .is_none_or(|s| a.extended_statistic.as_ref() == Some(s))
                && i.period.is_none_or(|p| a.period == Some(p))
                && i.unit.as_ref().is_none_or(|u| a.unit.as_ref() == Some(u))
        } else {
            a.metrics
                .iter()
                .filter_map(|q| q.metric_stat.as_ref())
                .any(|s| {
                    s.metric.metric_name.as_deref() == Some(name)
                        && s.metric.namespace.as_deref() == Some(namespace)
                        && same_dims(&s.metric.dimensions)
                        && i.statistic.as_ref().is_none_or(|x| &s.stat == x)
                        && i.extended_statistic.as_ref().is_none_or(|x| &s.stat == x)
                        && i.period.is_none_or(|p| s.period == p)
                        && i.unit.as_ref().is_none_or(|u| s.unit.as_ref() == Some(u))
                })
        }
    };
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let rows = cw
            .store
            .list_metric_alarms(account, None, cursor.as_deref(), BATCH)?;
        let exhausted = rows.len() < BATCH;
        for r in rows {
            let a = parse_record(&r)?;
            cursor = Some(a.alarm_name.clone());
            if matches(&a) {
                out.push(a.to_wire());
            }
        }
        if exhausted {
            break;
        }
    }
    Ok(json!({"MetricAlarms": out}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct AlarmNamesInput {
    alarm_names: Option<Vec<String>>,
}

fn alarm_names(input: Value) -> Result<Vec<String>, CloudWatchError> {
    let i: AlarmNamesInput = parse_input(input)?;
    let names = check::required(i.alarm_names, "AlarmNames")?;
    check::list_max(&names, "AlarmNames", 100)?;
    for n in &names {
        check::length(n, "AlarmNames", 1, 255)?;
    }
    Ok(names)
}

/// Deletes the named alarms; names of no alarm are passed over, as AWS documents ("If
/// you specify any incorrect alarm names, the alarms you specify with correct names are
/// still deleted").
fn delete_alarms(cw: &CloudWatch, account: &str, input: Value) -> Result<Value, CloudWatchError> {
    let now = cw.now_ms();
    for name in alarm_names(input)? {
        let arn = alarm_arn(cw.region(), account, &name);
        let Some(record) = cw.store.get_metric_alarm(&arn)? else {
            continue;
        };
        if cw.store.delete_metric_alarm(&arn)? {
            let mut alarm = parse_record(&record)?;
            alarm.configuration_updated_ms = now;
            let (summary, data) = alarm_history::configuration(&alarm, ConfigChange::Delete, None);
            alarm_history::add(
                cw,
                account,
                &name,
                now,
                CONFIGURATION_UPDATE,
                &summary,
                &data,
            )?;
        }
    }
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct SetAlarmStateInput {
    alarm_name: Option<String>,
    state_value: Option<String>,
    state_reason: Option<String>,
    state_reason_data: Option<String>,
}

/// The ResourceNotFound (HTTP 404 in the model) of an alarm that does not exist: AWS
/// answers it with no message (LocalStack's 2023 recording of SetAlarmState).
fn not_found() -> CloudWatchError {
    CloudWatchError {
        code: "ResourceNotFound".into(),
        message: String::new(),
        status: 404,
        sender_fault: true,
    }
}

fn set_alarm_state(cw: &CloudWatch, account: &str, input: Value) -> Result<Value, CloudWatchError> {
    let i: SetAlarmStateInput = parse_input(input)?;
    let name = check::required(i.alarm_name, "AlarmName")?;
    check::length(&name, "AlarmName", 1, 255)?;
    let state = check::required(i.state_value, "StateValue")?;
    check::one_of(&state, "StateValue", STATES)?;
    let reason = check::required(i.state_reason, "StateReason")?;
    check::length(&reason, "StateReason", 0, 1023)?;
    if let Some(d) = &i.state_reason_data {
        check::length(d, "StateReasonData", 0, 4000)?;
        if serde_json::from_str::<Value>(d).is_err() {
            // InvalidFormatFault of the model (UNSURE of AWS's text).
            return Err(CloudWatchError::client(
                "InvalidFormat",
                "StateReasonData is not valid JSON.",
            ));
        }
    }
    let new = NewState {
        state: StateValue::parse(&state).expect("checked against STATES"),
        reason,
        reason_data: i.state_reason_data,
    };
    let arn = alarm_arn(cw.region(), account, &name);
    match alarm_state::change(cw, &arn, None, new, cw.now_ms())? {
        Some(_) => Ok(json!({})),
        None => Err(not_found()),
    }
}

/// Enables or disables the named alarms' actions; names of no alarm are passed over.
fn set_actions_enabled(
    cw: &CloudWatch,
    account: &str,
    input: Value,
    enabled: bool,
) -> Result<Value, CloudWatchError> {
    for name in alarm_names(input)? {
        let arn = alarm_arn(cw.region(), account, &name);
        cw.store.edit_metric_alarm(
            &arn,
            Box::new(move |record: &mut String| {
                let Ok(mut a) = MetricAlarm::from_record(record) else {
                    return false;
                };
                if a.actions_enabled == enabled {
                    return false;
                }
                a.actions_enabled = enabled;
                *record = a.to_record();
                true
            }),
        )?;
    }
    Ok(json!({}))
}
