//! GetMetricStatistics: one metric's datapoints over periods, with the plain statistics
//! or the extended ones asked for (exactly one kind), a datapoint per period and unit.

use serde_json::{json, Map, Value};

use crate::params::{
    combination, dimensions, invalid, list, namespace, opt_i64, opt_str, req_str, req_time_ms,
};
use crate::query::{align_start, check_period, period_served, MetricRef};
use crate::series::{unit_name, Unit};
use crate::statistic::{Extended, Statistic};
use crate::{CloudWatch, CloudWatchError};

/// Most datapoints one call answers.
pub(crate) const MAX_DATAPOINTS: i64 = 1440;

fn strings<'a>(input: &'a Value, key: &str, max: usize) -> Result<Vec<&'a str>, CloudWatchError> {
    let items = list(input, key, key)?;
    if items.len() > max {
        return Err(invalid(format!(
            "The collection {key} must not have a size greater than {max}."
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str().ok_or_else(|| {
                invalid(format!(
                    "The value for parameter {key}.member.{} is invalid.",
                    i + 1
                ))
            })
        })
        .collect()
}

/// A time range's start is before its end.
pub(crate) fn check_order(start_ms: i64, end_ms: i64) -> Result<(), CloudWatchError> {
    if start_ms >= end_ms {
        return Err(invalid(
            "The parameter StartTime must be less than the parameter EndTime.",
        ));
    }
    Ok(())
}

/// Checks the time range and the number of datapoints it asks for.
pub(crate) fn check_range(
    start_ms: i64,
    end_ms: i64,
    period_s: u32,
) -> Result<(), CloudWatchError> {
    check_order(start_ms, end_ms)?;
    let period = i64::from(period_s) * 1000;
    let n = (end_ms - start_ms + period - 1) / period;
    if n > MAX_DATAPOINTS {
        return Err(combination(format!(
            "You have requested up to {n} datapoints, which exceeds the limit of 1,440. You may \
             reduce the datapoints requested by increasing Period, or decreasing the time range."
        )));
    }
    Ok(())
}

pub(crate) fn get_metric_statistics(
    cw: &CloudWatch,
    account: &str,
    input: &Value,
) -> Result<Value, CloudWatchError> {
    let ns = req_str(input, "Namespace", "Namespace")?;
    namespace(ns, "Namespace")?;
    let name = req_str(input, "MetricName", "MetricName")?;
    let dims = dimensions(input, "")?;
    let start = req_time_ms(input, "StartTime", "StartTime")?;
    let end = req_time_ms(input, "EndTime", "EndTime")?;
    let period =
        opt_i64(input, "Period", "Period")?.ok_or_else(|| crate::params::missing("Period"))?;
    let period = check_period(period, "Period")?;
    let plain = strings(input, "Statistics", 5)?;
    let extended = strings(input, "ExtendedStatistics", 10)?;
    if plain.is_empty() == extended.is_empty() {
        // UNSURE: AWS's exact message.
        return Err(combination(
            "Must specify either Statistics or ExtendedStatistics, but not both.",
        ));
    }
    let plain: Vec<(&str, Statistic)> = plain
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            Statistic::plain(s).map(|st| (s, st)).ok_or_else(|| {
                invalid(format!(
                    "The value {s} for parameter Statistics.member.{} is invalid.",
                    i + 1
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    let extended: Vec<(&str, Extended)> = extended
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            Extended::parse(s).map(|e| (s, e)).ok_or_else(|| {
                // UNSURE: AWS's exact message.
                invalid(format!(
                    "The value {s} for parameter ExtendedStatistics.member.{} is invalid.",
                    i + 1
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    let unit = match opt_str(input, "Unit", "Unit")? {
        None => None,
        Some(u) => Some(
            Unit::parse(u)
                .ok_or_else(|| invalid(format!("The value {u} for parameter Unit is invalid.")))?,
        ),
    };
    let now = cw.now_ms();
    let start = align_start(now, start, period);
    check_range(start, end, period)?;
    let metric = MetricRef {
        namespace: ns.to_string(),
        name: name.to_string(),
        dimensions: dims,
    };
    cw.flush()?;
    let mut datapoints = Vec::new();
    if period_served(now, start, period) {
        for (t, point) in cw.buckets(account, &metric, start, end, period)? {
            for (u, stats) in &point.by_unit {
                if unit.is_some_and(|want| want.0 != *u) {
                    continue;
                }
                let mut dp = Map::new();
                dp.insert("Timestamp".into(), json!(t / 1000));
                for (label, st) in &plain {
                    if let Some(v) = st.value(stats) {
                        dp.insert((*label).into(), json!(v));
                    }
                }
                if !extended.is_empty() {
                    // Percentiles are not available for data with negative values
                    // (GetMetricStatistics' documentation).
                    let mut ext = Map::new();
                    if stats.min >= 0.0 {
                        for (label, e) in &extended {
                            if let Some(v) = Statistic::Extended(e.clone()).value(stats) {
                                ext.insert((*label).into(), json!(v));
                            }
                        }
                    }
                    dp.insert("ExtendedStatistics".into(), Value::Object(ext));
                }
                dp.insert("Unit".into(), json!(unit_name(*u).unwrap_or("None")));
                datapoints.push(Value::Object(dp));
            }
        }
    }
    Ok(json!({ "Label": name, "Datapoints": datapoints }))
}
