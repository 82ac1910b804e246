//! The Embedded Metric Format: a log line that is a JSON object whose `_aws` member
//! (`Timestamp`, `CloudWatchMetrics`: directives of `Namespace`, `Dimensions` (sets of
//! dimension names) and `Metrics` (`Name`, `Unit`, `StorageResolution`)) says which of
//! its root members are metrics and dimensions. [`extract`] turns one into the data
//! points to record, or the reason it cannot (AWS's limits: 100 metrics a directive, 30
//! dimensions a set, 100 values an array).

use serde_json::{Map, Value};

use crate::params::MAX_DIMENSIONS;
use crate::series::{sorted_dimensions, Unit};
use crate::{put, CloudWatch};

const MAX_METRICS: usize = 100;
const MAX_VALUES: usize = 100;

/// One metric's values from a line.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub namespace: String,
    pub name: String,
    /// Sorted by name.
    pub dimensions: Vec<(String, String)>,
    pub unit: Unit,
    pub resolution_s: u32,
    pub ts_ms: i64,
    pub values: Vec<f64>,
}

/// Why a line gave no metrics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmfError {
    /// Not a JSON object with an `_aws` member: an ordinary log line.
    #[error("not an embedded metric format line")]
    NotEmf,
    /// An EMF line that breaks the specification.
    #[error("invalid embedded metric format: {0}")]
    Invalid(String),
}

fn bad<T>(reason: impl Into<String>) -> Result<T, EmfError> {
    Err(EmfError::Invalid(reason.into()))
}

fn name_ok(s: &str) -> bool {
    (1..=255).contains(&s.chars().count())
}

/// The data points of one log line.
pub fn extract(line: &str) -> Result<Vec<Datum>, EmfError> {
    let line = line.trim();
    if !line.starts_with('{') {
        return Err(EmfError::NotEmf);
    }
    let Ok(Value::Object(root)) = serde_json::from_str::<Value>(line) else {
        return Err(EmfError::NotEmf);
    };
    let Some(aws) = root.get("_aws") else {
        return Err(EmfError::NotEmf);
    };
    let Some(aws) = aws.as_object() else {
        return bad("_aws is not an object");
    };
    let ts = aws.get("Timestamp");
    let ts_ms = match ts.and_then(Value::as_i64).or_else(|| {
        ts.and_then(Value::as_f64)
            .filter(|f| f.is_finite() && f.abs() < 9e15)
            .map(|f| f as i64)
    }) {
        Some(t) => t,
        None => return bad("_aws.Timestamp is not a number of milliseconds"),
    };
    let Some(directives) = aws.get("CloudWatchMetrics").and_then(Value::as_array) else {
        return bad("_aws.CloudWatchMetrics is not an array");
    };
    let mut out = Vec::new();
    for (i, d) in directives.iter().enumerate() {
        directive(&root, d, ts_ms, &mut out).map_err(|e| match e {
            EmfError::Invalid(r) => EmfError::Invalid(format!("CloudWatchMetrics[{i}]: {r}")),
            other => other,
        })?;
    }
    Ok(out)
}

fn directive(
    root: &Map<String, Value>,
    d: &Value,
    ts_ms: i64,
    out: &mut Vec<Datum>,
) -> Result<(), EmfError> {
    let Some(namespace) = d
        .get("Namespace")
        .and_then(Value::as_str)
        .filter(|n| name_ok(n))
    else {
        return bad("Namespace is not a string of 1 to 255 characters");
    };
    let Some(sets) = d.get("Dimensions").and_then(Value::as_array) else {
        return bad("Dimensions is not an array of dimension sets");
    };
    let mut dim_sets = Vec::new();
    for set in sets {
        let Some(names) = set.as_array() else {
            return bad("a dimension set is not an array");
        };
        if names.len() > MAX_DIMENSIONS {
            return bad(format!(
                "a dimension set has more than {MAX_DIMENSIONS} dimensions"
            ));
        }
        let mut dims = Vec::with_capacity(names.len());
        for n in names {
            let Some(n) = n.as_str() else {
                return bad("a dimension name is not a string");
            };
            let Some(v) = root.get(n).and_then(Value::as_str) else {
                return bad(format!("dimension {n} has no string value in the root"));
            };
            if !name_ok(n) || v.is_empty() || v.chars().count() > 1024 {
                return bad(format!("dimension {n} has a bad name or value length"));
            }
            dims.push((n, v));
        }
        dim_sets.push(sorted_dimensions(&dims));
    }
    // UNSURE: AWS's treatment of an empty Dimensions array; Hearth records the metrics
    // without dimensions, as for `[[]]`.
    if dim_sets.is_empty() {
        dim_sets.push(Vec::new());
    }
    let Some(metrics) = d.get("Metrics").and_then(Value::as_array) else {
        return bad("Metrics is not an array");
    };
    if metrics.len() > MAX_METRICS {
        return bad(format!("more than {MAX_METRICS} metrics in a directive"));
    }
    for m in metrics {
        let Some(name) = m.get("Name").and_then(Value::as_str).filter(|n| name_ok(n)) else {
            return bad("a metric's Name is not a string of 1 to 255 characters");
        };
        let unit = match m.get("Unit") {
            None | Some(Value::Null) => Unit::NONE,
            Some(u) => match u.as_str().and_then(Unit::parse) {
                Some(u) => u,
                None => return bad(format!("metric {name} has an unknown Unit")),
            },
        };
        let resolution_s = match m.get("StorageResolution").map(Value::as_i64) {
            None | Some(Some(60)) => 60,
            Some(Some(1)) => 1,
            _ => {
                return bad(format!(
                    "metric {name} has a StorageResolution other than 1 or 60"
                ))
            }
        };
        let values = match root.get(name) {
            Some(Value::Number(n)) => vec![n.as_f64().unwrap_or(f64::NAN)],
            Some(Value::Array(items)) => {
                if items.len() > MAX_VALUES {
                    return bad(format!("metric {name} has more than {MAX_VALUES} values"));
                }
                items
                    .iter()
                    .map(|v| v.as_f64().unwrap_or(f64::NAN))
                    .collect()
            }
            _ => return bad(format!("metric {name} has no numeric value in the root")),
        };
        if values.iter().any(|v| !v.is_finite()) {
            return bad(format!("metric {name} has a value that is not a number"));
        }
        for dims in &dim_sets {
            out.push(Datum {
                namespace: namespace.to_string(),
                name: name.to_string(),
                dimensions: dims.clone(),
                unit,
                resolution_s,
                ts_ms,
                values: values.clone(),
            });
        }
    }
    Ok(())
}

impl CloudWatch {
    /// Records the metrics of one log line of `account`'s function; answers how many
    /// values, or why none (a line that is not EMF is [`EmfError::NotEmf`]). Data with
    /// a timestamp PutMetricData would refuse (over two weeks old, over two hours
    /// ahead) or in an `AWS/` namespace is refused whole.
    pub fn record_emf(&self, account: &str, line: &str) -> Result<usize, EmfError> {
        let data = extract(line)?;
        let now = self.now_ms();
        for d in &data {
            put::check_timestamp(now, d.ts_ms, "_aws.Timestamp")
                .map_err(|e| EmfError::Invalid(e.message))?;
            put::custom_namespace(&d.namespace).map_err(|e| EmfError::Invalid(e.message))?;
        }
        let mut n = 0;
        for d in &data {
            let dims: Vec<(&str, &str)> = d
                .dimensions
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            for v in &d.values {
                if d.resolution_s == 60 {
                    self.recorder.record(
                        account,
                        &d.namespace,
                        &d.name,
                        &dims,
                        d.unit,
                        d.ts_ms,
                        *v,
                    );
                } else {
                    let s = crate::Stats::of(*v);
                    self.recorder.record_stats(
                        account,
                        &d.namespace,
                        &d.name,
                        &dims,
                        d.unit,
                        d.resolution_s,
                        d.ts_ms,
                        &s,
                    );
                }
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of AWS's "Specification: Embedded metric format" page.
    const AWS_EXAMPLE: &str = r#"{
      "_aws": {
        "Timestamp": 1574109732004,
        "CloudWatchMetrics": [
          {
            "Namespace": "lambda-function-metrics",
            "Dimensions": [["functionVersion"]],
            "Metrics": [
              {
                "Name": "time",
                "Unit": "Milliseconds",
                "StorageResolution": 60
              }
            ]
          }
        ]
      },
      "functionVersion": "$LATEST",
      "time": 100,
      "requestId": "989ffbf8-9ace-4817-a57c-e4dd734019ee"
    }"#;

    #[test]
    fn the_aws_example_gives_one_point() {
        assert_eq!(
            extract(AWS_EXAMPLE),
            Ok(vec![Datum {
                namespace: "lambda-function-metrics".into(),
                name: "time".into(),
                dimensions: vec![("functionVersion".into(), "$LATEST".into())],
                unit: Unit::MILLISECONDS,
                resolution_s: 60,
                ts_ms: 1_574_109_732_004,
                values: vec![100.0],
            }])
        );
    }

    #[test]
    fn arrays_of_values_and_several_dimension_sets() {
        let line = r#"{"_aws":{"Timestamp":1000,"CloudWatchMetrics":[{"Namespace":"App","Dimensions":[["Service"],["Service","Op"],[]],"Metrics":[{"Name":"Latency","StorageResolution":1}]}]},"Service":"api","Op":"get","Latency":[1,2.5]}"#;
        let data = extract(line).expect("valid");
        assert_eq!(data.len(), 3);
        assert_eq!(
            data[1].dimensions,
            vec![
                ("Op".to_string(), "get".to_string()),
                ("Service".to_string(), "api".to_string())
            ]
        );
        assert_eq!(data[2].dimensions, vec![]);
        assert_eq!(
            (data[0].values.clone(), data[0].unit, data[0].resolution_s),
            (vec![1.0, 2.5], Unit::NONE, 1)
        );
    }

    #[test]
    fn malformed_lines_give_a_reason() {
        assert_eq!(extract("START RequestId: 1"), Err(EmfError::NotEmf));
        assert_eq!(extract(r#"{"a":1}"#), Err(EmfError::NotEmf));
        assert_eq!(
            extract(r#"{"_aws":{"CloudWatchMetrics":[]}}"#),
            Err(EmfError::Invalid(
                "_aws.Timestamp is not a number of milliseconds".into()
            ))
        );
        let no_dim = r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["d"]],"Metrics":[{"Name":"m"}]}]},"m":1}"#;
        assert_eq!(
            extract(no_dim),
            Err(EmfError::Invalid(
                "CloudWatchMetrics[0]: dimension d has no string value in the root".into()
            ))
        );
        let text = r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"m"}]}]},"m":"x"}"#;
        assert_eq!(
            extract(text),
            Err(EmfError::Invalid(
                "CloudWatchMetrics[0]: metric m has no numeric value in the root".into()
            ))
        );
        let many: Vec<String> = (0..101).map(|i| format!("{i}")).collect();
        let big = format!(
            r#"{{"_aws":{{"Timestamp":1,"CloudWatchMetrics":[{{"Namespace":"N","Dimensions":[],"Metrics":[{{"Name":"m"}}]}}]}},"m":[{}]}}"#,
            many.join(",")
        );
        assert_eq!(
            extract(&big),
            Err(EmfError::Invalid(
                "CloudWatchMetrics[0]: metric m has more than 100 values".into()
            ))
        );
    }
}
