//! PutMetricData: custom data points (a `Value`, `Values` with `Counts`, or a
//! `StatisticValues` set) checked as AWS checks them, all or none, then recorded (the
//! recorder keeps them until the next flush; every read flushes first).

use serde_json::{json, Value};

use crate::params::{
    check_len, combination, dimensions, invalid, list, missing, namespace, opt_f64, opt_i64,
    opt_str, opt_time_ms, req_str,
};
use crate::query::{DAY_MS, HOUR_MS};
use crate::series::Unit;
use crate::stats::Stats;
use crate::{CloudWatch, CloudWatchError};

/// Most metrics one request carries (MetricData and EntityMetricData together).
const MAX_DATA: usize = 1000;
/// Most values in one datum's `Values`.
const MAX_VALUES: usize = 150;

/// One checked datum.
pub(crate) struct Datum {
    pub name: String,
    pub dimensions: Vec<(String, String)>,
    pub unit: Unit,
    pub resolution_s: u32,
    pub ts_ms: i64,
    pub stats: Stats,
}

fn check_value(v: f64, name: &str) -> Result<(), CloudWatchError> {
    // AWS refuses magnitudes beyond 2^360 and, UNSURE, non-zero ones below 2^-260.
    let m = v.abs();
    if !v.is_finite() || m > 2f64.powi(360) || (m != 0.0 && m < 2f64.powi(-260)) {
        // UNSURE: AWS's exact message.
        return Err(invalid(format!(
            "The value {v} for parameter {name} is invalid: values must be in the range -2^360 to 2^360."
        )));
    }
    Ok(())
}

/// A timestamp AWS accepts: at most two weeks back and two hours ahead.
pub(crate) fn check_timestamp(now_ms: i64, ts_ms: i64, name: &str) -> Result<(), CloudWatchError> {
    // UNSURE: AWS's exact messages.
    if ts_ms < now_ms - 14 * DAY_MS {
        return Err(invalid(format!(
            "The parameter {name} must specify a time no more than two weeks in the past."
        )));
    }
    if ts_ms > now_ms + 2 * HOUR_MS {
        return Err(invalid(format!(
            "The parameter {name} must specify a time no more than two hours in the future."
        )));
    }
    Ok(())
}

fn numbers(items: &[Value], name: &str) -> Result<Vec<f64>, CloudWatchError> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let at = format!("{name}.member.{}", i + 1);
            let n = v
                .as_f64()
                .ok_or_else(|| invalid(format!("The value for parameter {at} is invalid.")))?;
            check_value(n, &at)?;
            Ok(n)
        })
        .collect()
}

fn datum(now_ms: i64, d: &Value, at: &str) -> Result<Datum, CloudWatchError> {
    let name = req_str(d, "MetricName", &format!("{at}.MetricName"))?;
    check_len(name, &format!("{at}.MetricName"), 1, 255)?;
    let dims = dimensions(d, at)?;
    let ts_ms = opt_time_ms(d, "Timestamp", &format!("{at}.Timestamp"))?.unwrap_or(now_ms);
    check_timestamp(now_ms, ts_ms, &format!("{at}.Timestamp"))?;
    let unit = match opt_str(d, "Unit", &format!("{at}.Unit"))? {
        None => Unit::NONE,
        Some(u) => Unit::parse(u)
            .ok_or_else(|| invalid(format!("The value {u} for parameter {at}.Unit is invalid.")))?,
    };
    let resolution_s = match opt_i64(d, "StorageResolution", &format!("{at}.StorageResolution"))? {
        None | Some(60) => 60,
        Some(1) => 1,
        Some(r) => {
            return Err(invalid(format!(
                "The value {r} for parameter {at}.StorageResolution is invalid: valid values are 1 and 60."
            )))
        }
    };
    let value = opt_f64(d, "Value", &format!("{at}.Value"))?;
    let set = d.get("StatisticValues").filter(|v| !v.is_null());
    let values = d.get("Values").filter(|v| !v.is_null());
    let counts = d.get("Counts").filter(|v| !v.is_null());
    let given =
        usize::from(value.is_some()) + usize::from(set.is_some()) + usize::from(values.is_some());
    if given > 1 {
        // UNSURE: AWS's exact message.
        return Err(combination(format!(
            "The parameters {at}.Value, {at}.StatisticValues and {at}.Values are mutually exclusive."
        )));
    }
    if counts.is_some() && values.is_none() {
        return Err(combination(format!(
            "The parameter {at}.Counts requires {at}.Values."
        )));
    }
    let stats = if let Some(v) = value {
        check_value(v, &format!("{at}.Value"))?;
        Stats::of(v)
    } else if let Some(set) = set {
        let sat = format!("{at}.StatisticValues");
        let field = |k: &str| -> Result<f64, CloudWatchError> {
            let n = format!("{sat}.{k}");
            let v = opt_f64(set, k, &n)?.ok_or_else(|| missing(&n))?;
            check_value(v, &n)?;
            Ok(v)
        };
        let (count, sum, min, max) = (
            field("SampleCount")?,
            field("Sum")?,
            field("Minimum")?,
            field("Maximum")?,
        );
        if count <= 0.0 || min > max {
            // UNSURE: AWS's exact message and whether it checks Min <= Max.
            return Err(invalid(format!(
                "The parameter {sat} must have a positive SampleCount and a Minimum no greater than its Maximum."
            )));
        }
        Stats::from_set(count, sum, min, max)
    } else if values.is_some() {
        let vals = numbers(
            list(d, "Values", &format!("{at}.Values"))?,
            &format!("{at}.Values"),
        )?;
        if vals.len() > MAX_VALUES {
            return Err(invalid(format!(
                "The collection {at}.Values must not have a size greater than {MAX_VALUES}."
            )));
        }
        let cnts = if counts.is_some() {
            let c = numbers(
                list(d, "Counts", &format!("{at}.Counts"))?,
                &format!("{at}.Counts"),
            )?;
            if c.len() != vals.len() {
                // UNSURE: AWS's exact message.
                return Err(invalid(format!(
                    "The parameters {at}.Values and {at}.Counts must be of the same size."
                )));
            }
            if c.iter().any(|n| *n < 0.0) {
                return Err(invalid(format!(
                    "The parameter {at}.Counts must not hold negative numbers."
                )));
            }
            Some(c)
        } else {
            None
        };
        match Stats::from_values(&vals, cnts.as_deref()) {
            Some(s) => s,
            None => return Err(missing(&format!("{at}.Values"))),
        }
    } else {
        // UNSURE: AWS's exact message for a datum with no value.
        return Err(missing(&format!("{at}.Value")));
    };
    Ok(Datum {
        name: name.to_string(),
        dimensions: dims,
        unit,
        resolution_s,
        ts_ms,
        stats,
    })
}

/// A custom namespace: AWS's own (`AWS/...`) are refused.
pub(crate) fn custom_namespace(ns: &str) -> Result<(), CloudWatchError> {
    namespace(ns, "Namespace")?;
    if ns.starts_with("AWS/") {
        // UNSURE: AWS's exact message.
        return Err(invalid(format!(
            "The value {ns} for parameter Namespace is invalid: the namespace AWS/ is reserved."
        )));
    }
    Ok(())
}

impl CloudWatch {
    /// Records checked data of `account` in `namespace`.
    pub(crate) fn record_data(&self, account: &str, namespace: &str, data: &[Datum]) {
        for d in data {
            let dims: Vec<(&str, &str)> = d
                .dimensions
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            self.recorder.record_stats(
                account,
                namespace,
                &d.name,
                &dims,
                d.unit,
                d.resolution_s,
                d.ts_ms,
                &d.stats,
            );
        }
    }
}

pub(crate) fn put_metric_data(
    cw: &CloudWatch,
    account: &str,
    input: &Value,
) -> Result<Value, CloudWatchError> {
    let ns = req_str(input, "Namespace", "Namespace")?;
    custom_namespace(ns)?;
    let mut items: Vec<(String, &Value)> = list(input, "MetricData", "MetricData")?
        .iter()
        .enumerate()
        .map(|(i, d)| (format!("MetricData.member.{}", i + 1), d))
        .collect();
    for (i, e) in list(input, "EntityMetricData", "EntityMetricData")?
        .iter()
        .enumerate()
    {
        let at = format!("EntityMetricData.member.{}.MetricData", i + 1);
        for (j, d) in list(e, "MetricData", &at)?.iter().enumerate() {
            items.push((format!("{at}.member.{}", j + 1), d));
        }
        if items.len() > MAX_DATA {
            break;
        }
    }
    if items.is_empty() {
        return Err(missing("MetricData"));
    }
    if items.len() > MAX_DATA {
        return Err(invalid(format!(
            "The collection MetricData must not have a size greater than {MAX_DATA}."
        )));
    }
    let now = cw.now_ms();
    let data = items
        .iter()
        .map(|(at, d)| datum(now, d, at))
        .collect::<Result<Vec<_>, _>>()?;
    cw.record_data(account, ns, &data);
    Ok(json!({}))
}
