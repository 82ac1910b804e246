//! Reading an operation's input (its AWS JSON 1.0 form) with AWS's errors: a missing
//! member is `MissingParameter`, a bad one `InvalidParameterValue`. Parameters are named
//! as the query protocol writes them (`MetricData.member.1.Value`), as AWS's messages do.
//! UNSURE: AWS's exact wording of most of these messages; the codes are the model's.

use serde_json::Value;

use crate::series::sorted_dimensions;
use crate::CloudWatchError;

/// Most dimensions a metric has (botocore's `Dimensions`).
pub(crate) const MAX_DIMENSIONS: usize = 30;

pub(crate) fn missing(name: &str) -> CloudWatchError {
    CloudWatchError::client(
        "MissingParameter",
        format!("The parameter {name} is required."),
    )
}

pub(crate) fn invalid(message: impl Into<String>) -> CloudWatchError {
    CloudWatchError::client("InvalidParameterValue", message)
}

pub(crate) fn combination(message: impl Into<String>) -> CloudWatchError {
    CloudWatchError::client("InvalidParameterCombination", message)
}

fn bad_value(name: &str) -> CloudWatchError {
    invalid(format!("The value for parameter {name} is invalid."))
}

/// A string member, `None` where absent (or null).
pub(crate) fn opt_str<'a>(
    v: &'a Value,
    key: &str,
    name: &str,
) -> Result<Option<&'a str>, CloudWatchError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad_value(name)),
    }
}

pub(crate) fn req_str<'a>(v: &'a Value, key: &str, name: &str) -> Result<&'a str, CloudWatchError> {
    opt_str(v, key, name)?.ok_or_else(|| missing(name))
}

/// A string of `min..=max` characters.
pub(crate) fn check_len(
    s: &str,
    name: &str,
    min: usize,
    max: usize,
) -> Result<(), CloudWatchError> {
    let n = s.chars().count();
    if n < min || n > max {
        return Err(invalid(format!(
            "The parameter {name} must be between {min} and {max} characters long."
        )));
    }
    Ok(())
}

pub(crate) fn opt_f64(v: &Value, key: &str, name: &str) -> Result<Option<f64>, CloudWatchError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(n) => n.as_f64().map(Some).ok_or_else(|| bad_value(name)),
    }
}

pub(crate) fn opt_i64(v: &Value, key: &str, name: &str) -> Result<Option<i64>, CloudWatchError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                    .map(|f| f as i64)
            })
            .map(Some)
            .ok_or_else(|| bad_value(name)),
    }
}

pub(crate) fn opt_bool(v: &Value, key: &str, name: &str) -> Result<Option<bool>, CloudWatchError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(bad_value(name)),
    }
}

/// A timestamp (epoch seconds, fractions allowed) in ms.
pub(crate) fn opt_time_ms(
    v: &Value,
    key: &str,
    name: &str,
) -> Result<Option<i64>, CloudWatchError> {
    Ok(opt_f64(v, key, name)?.map(|s| (s * 1000.0).round() as i64))
}

pub(crate) fn req_time_ms(v: &Value, key: &str, name: &str) -> Result<i64, CloudWatchError> {
    opt_time_ms(v, key, name)?.ok_or_else(|| missing(name))
}

/// A list member, empty where absent.
pub(crate) fn list<'a>(
    v: &'a Value,
    key: &str,
    name: &str,
) -> Result<&'a [Value], CloudWatchError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(bad_value(name)),
    }
}

/// A metric's `Dimensions` (`{Name, Value}` each), checked and sorted by name.
/// `name` is the metric's parameter path (empty at the top of the input).
pub(crate) fn dimensions(v: &Value, name: &str) -> Result<Vec<(String, String)>, CloudWatchError> {
    let base = if name.is_empty() {
        "Dimensions".to_string()
    } else {
        format!("{name}.Dimensions")
    };
    let items = list(v, "Dimensions", &base)?;
    if items.len() > MAX_DIMENSIONS {
        return Err(invalid(format!(
            "The collection {base} must not have a size greater than {MAX_DIMENSIONS}."
        )));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, d) in items.iter().enumerate() {
        let at = format!("{base}.member.{}", i + 1);
        let n = req_str(d, "Name", &format!("{at}.Name"))?;
        let val = req_str(d, "Value", &format!("{at}.Value"))?;
        check_len(n, &format!("{at}.Name"), 1, 255)?;
        check_len(val, &format!("{at}.Value"), 1, 1024)?;
        out.push((n, val));
    }
    let sorted = sorted_dimensions(&out);
    if sorted.windows(2).any(|w| w[0].0 == w[1].0) {
        // UNSURE: AWS's message for a dimension named twice.
        return Err(invalid(format!(
            "The parameter {base} has a dimension named twice."
        )));
    }
    Ok(sorted)
}

/// A namespace: 1 to 255 characters, not starting with `:` (the model's pattern).
pub(crate) fn namespace(ns: &str, name: &str) -> Result<(), CloudWatchError> {
    check_len(ns, name, 1, 255)?;
    if ns.starts_with(':') {
        return Err(invalid(format!(
            "The parameter {name} must not start with ':'."
        )));
    }
    Ok(())
}
