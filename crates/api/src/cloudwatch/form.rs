//! CloudWatch's query protocol: a form (`MetricData.member.1.Dimensions.member.2.Name=...`)
//! decoded into the operation's JSON form, and an answer's JSON form written as the XML
//! inside AWS's envelope, each walked along its model shape. Lists are `Name.member.N`
//! (from 1 up to the first gap; `Name=` alone is an empty list, as botocore sends one),
//! maps `Name.entry.N.key` / `.value`, booleans `true`/`false`, timestamps ISO 8601 (or
//! epoch seconds) and blobs base64, as botocore's query serializer writes them.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Number, Value};

use super::model::{model, Kind, Shape};
use crate::query::Xml;

/// The form's parameters (all but `Action` and `Version`) as the JSON form of `shape`.
pub(crate) fn decode(params: &HashMap<String, String>, shape: &Shape) -> Result<Value, String> {
    Ok(read(params, "", shape)?.unwrap_or_else(|| Value::Object(Map::new())))
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// The value at `prefix`, `None` when the form has none.
fn read(
    params: &HashMap<String, String>,
    prefix: &str,
    shape: &Shape,
) -> Result<Option<Value>, String> {
    match shape.kind {
        Kind::Structure => {
            let mut out = Map::new();
            for (name, r) in &shape.members {
                if let Some(v) = read(params, &join(prefix, name), model().shape(&r.shape))? {
                    out.insert(name.clone(), v);
                }
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
        Kind::List => {
            if params.get(prefix).is_some_and(String::is_empty) {
                return Ok(Some(Value::Array(Vec::new())));
            }
            let member = shape.member();
            let mut items = Vec::new();
            for i in 1.. {
                match read(params, &format!("{prefix}.member.{i}"), member)? {
                    Some(v) => items.push(v),
                    None => break,
                }
            }
            Ok((!items.is_empty()).then_some(Value::Array(items)))
        }
        Kind::Map => {
            let value_shape = shape.map_value();
            let mut out = Map::new();
            for i in 1.. {
                let entry = format!("{prefix}.entry.{i}");
                let Some(key) = params.get(&format!("{entry}.key")) else {
                    break;
                };
                if let Some(v) = read(params, &format!("{entry}.value"), value_shape)? {
                    out.insert(key.clone(), v);
                }
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
        _ => params
            .get(prefix)
            .map(|text| scalar(text, shape.kind, prefix))
            .transpose(),
    }
}

fn scalar(text: &str, kind: Kind, name: &str) -> Result<Value, String> {
    let bad = || format!("Value '{text}' for parameter {name} is invalid.");
    match kind {
        Kind::Integer | Kind::Long => text.parse::<i64>().map(Value::from).map_err(|_| bad()),
        Kind::Double => text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(bad),
        Kind::Boolean => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(bad()),
        },
        Kind::Timestamp => {
            let secs = match DateTime::parse_from_rfc3339(text) {
                Ok(t) => {
                    // Epoch milliseconds within chrono's range: exact in an f64.
                    #[allow(clippy::cast_precision_loss)]
                    let ms = t.timestamp_millis() as f64;
                    ms / 1000.0
                }
                Err(_) => text.parse::<f64>().map_err(|_| bad())?,
            };
            super::cbor::seconds(secs).ok_or_else(bad)
        }
        _ => Ok(Value::String(text.to_string())),
    }
}

/// The members of an answer's JSON form `value` of `shape`, as the XML inside its
/// `<OpResult>`.
pub(crate) fn encode(value: &Value, shape: &Shape) -> Xml {
    let mut x = Xml::default();
    if let Value::Object(members) = value {
        write_members(&mut x, members, shape);
    }
    x
}

fn write_members(x: &mut Xml, members: &Map<String, Value>, shape: &Shape) {
    for (name, r) in &shape.members {
        if let Some(v) = members.get(name).filter(|v| !v.is_null()) {
            write(x, name, v, model().shape(&r.shape));
        }
    }
}

fn write(x: &mut Xml, tag: &str, value: &Value, shape: &Shape) {
    match (shape.kind, value) {
        (Kind::Structure, Value::Object(members)) => {
            x.element(tag, |x| write_members(x, members, shape));
        }
        (Kind::List, Value::Array(items)) => {
            let member = shape.member();
            x.element(tag, |x| {
                for item in items {
                    write(x, "member", item, member);
                }
            });
        }
        (Kind::Map, Value::Object(entries)) => {
            let value_shape = shape.map_value();
            x.element(tag, |x| {
                for (k, v) in entries {
                    x.element("entry", |x| {
                        x.leaf("key", k);
                        write(x, "value", v, value_shape);
                    });
                }
            });
        }
        (Kind::Timestamp, Value::Number(n)) => {
            x.leaf(tag, &iso8601(n.as_f64().unwrap_or(0.0)));
        }
        (Kind::Double, Value::Number(n)) => {
            x.leaf(tag, &double(n.as_f64().unwrap_or(0.0)));
        }
        (_, Value::String(s)) => {
            x.leaf(tag, s);
        }
        (_, other) => {
            x.leaf(tag, &other.to_string());
        }
    }
}

/// Epoch seconds as ISO 8601 in UTC, with milliseconds only when it has them
/// (`2026-12-03T14:55:00Z`, `2026-12-03T14:55:00.250Z`).
pub(crate) fn iso8601(secs: f64) -> String {
    // Milliseconds since the epoch fit an i64 for every time chrono can show.
    #[allow(clippy::cast_possible_truncation)]
    let ms = (secs * 1000.0).round() as i64;
    DateTime::<Utc>::from_timestamp_millis(ms).map_or_else(
        || secs.to_string(),
        |t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
    )
}

/// A double as AWS's XML writes one: `10.0`, `0.25`.
fn double(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}
