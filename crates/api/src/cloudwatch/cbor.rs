//! Smithy RPC v2 CBOR for CloudWatch: a request body decoded into the operation's JSON form
//! and an answer encoded from it, each walked along its model shape. Timestamps arrive as
//! tag 1 around an integer or a float (epoch seconds) and leave as tag 1 around a float,
//! as the Smithy RPC v2 CBOR specification has them; blobs are byte strings (base64 text
//! in the JSON form); indefinite-length strings, arrays and maps are accepted (ciborium
//! reads them), and a `null` member is an absent one.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ciborium::Value as Cbor;
use serde_json::{Map, Number, Value};

use super::model::{Kind, Shape};

/// `bytes` (a whole CBOR body, or none) as the JSON form of `shape`, or why it is not one.
pub(crate) fn decode(bytes: &[u8], shape: &Shape) -> Result<Value, String> {
    if bytes.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let item: Cbor = ciborium::from_reader(bytes).map_err(|e| format!("malformed CBOR: {e}"))?;
    from_cbor(item, shape, "request")?.map_or(Ok(Value::Object(Map::new())), Ok)
}

/// The JSON form `value` of `shape` as a CBOR body.
pub(crate) fn encode(value: &Value, shape: &Shape) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(&to_cbor(value, shape), &mut out)
        .expect("writing CBOR into memory does not fail");
    out
}

/// An error body (`__type`, `message`) as CBOR.
pub(crate) fn encode_error(type_: &str, message: &str) -> Vec<u8> {
    let body = Cbor::Map(vec![
        (Cbor::Text("__type".into()), Cbor::Text(type_.into())),
        (Cbor::Text("message".into()), Cbor::Text(message.into())),
    ]);
    let mut out = Vec::new();
    ciborium::into_writer(&body, &mut out).expect("writing CBOR into memory does not fail");
    out
}

/// Epoch seconds as a JSON number: an integer when whole, as AWS JSON writes them.
pub(crate) fn seconds(secs: f64) -> Option<Value> {
    if secs.fract() == 0.0 && secs.abs() < 9.0e15 {
        // Whole and within f64's exact integers: the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        return Some(Value::from(secs as i64));
    }
    Number::from_f64(secs).map(Value::Number)
}

fn number(item: &Cbor) -> Option<f64> {
    match item {
        Cbor::Integer(i) => {
            let wide = i128::from(*i);
            // Epoch seconds and metric values: precision beyond 2^53 is not kept, as JSON's
            // readers do not keep it either.
            #[allow(clippy::cast_precision_loss)]
            Some(wide as f64)
        }
        Cbor::Float(f) => Some(*f),
        _ => None,
    }
}

/// `item` as the JSON form of `shape`; `None` for `null` (an absent member).
fn from_cbor(item: Cbor, shape: &Shape, at: &str) -> Result<Option<Value>, String> {
    if item.is_null() {
        return Ok(None);
    }
    let wrong = |item: &Cbor| format!("{at}: expected a {:?}, found {item:?}", shape.kind);
    let value = match (shape.kind, item) {
        (Kind::Structure, Cbor::Map(entries)) => {
            let mut out = Map::new();
            for (k, v) in entries {
                let Cbor::Text(name) = k else {
                    return Err(format!("{at}: a structure's keys are text"));
                };
                // Members the model does not have are ignored, as Smithy servers do.
                if let Some(r) = shape.members.get(&name) {
                    let member = super::model::model().shape(&r.shape);
                    if let Some(v) = from_cbor(v, member, &name)? {
                        out.insert(name, v);
                    }
                }
            }
            Value::Object(out)
        }
        (Kind::List, Cbor::Array(items)) => {
            let member = shape.member();
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.extend(from_cbor(item, member, at)?);
            }
            Value::Array(out)
        }
        (Kind::Map, Cbor::Map(entries)) => {
            let value_shape = shape.map_value();
            let mut out = Map::new();
            for (k, v) in entries {
                let Cbor::Text(key) = k else {
                    return Err(format!("{at}: a map's keys are text"));
                };
                if let Some(v) = from_cbor(v, value_shape, at)? {
                    out.insert(key, v);
                }
            }
            Value::Object(out)
        }
        (Kind::String, Cbor::Text(s)) => Value::String(s),
        (Kind::Boolean, Cbor::Bool(b)) => Value::Bool(b),
        (Kind::Integer | Kind::Long, Cbor::Integer(i)) => {
            let i = i64::try_from(i128::from(i)).map_err(|_| format!("{at}: out of range"))?;
            Value::from(i)
        }
        (Kind::Double, item) => {
            let f = number(&item).ok_or_else(|| wrong(&item))?;
            Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| format!("{at}: {f} is not a finite number"))?
        }
        (Kind::Timestamp, Cbor::Tag(1, inner)) => {
            let secs = number(&inner).ok_or_else(|| wrong(&inner))?;
            seconds(secs).ok_or_else(|| format!("{at}: {secs} is not a time"))?
        }
        (Kind::Blob, Cbor::Bytes(b)) => Value::String(BASE64.encode(b)),
        (_, item) => return Err(wrong(&item)),
    };
    Ok(Some(value))
}

/// The JSON form `value` of `shape` as CBOR; members the shape does not have, and values
/// of another type than the shape's, are written as they are (the service's output is
/// trusted to follow the model).
fn to_cbor(value: &Value, shape: &Shape) -> Cbor {
    match (shape.kind, value) {
        (Kind::Structure, Value::Object(members)) => Cbor::Map(
            members
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| {
                    let item = match shape.members.get(k) {
                        Some(r) => to_cbor(v, super::model::model().shape(&r.shape)),
                        None => plain(v),
                    };
                    (Cbor::Text(k.clone()), item)
                })
                .collect(),
        ),
        (Kind::List, Value::Array(items)) => {
            let member = shape.member();
            Cbor::Array(items.iter().map(|v| to_cbor(v, member)).collect())
        }
        (Kind::Map, Value::Object(entries)) => {
            let value_shape = shape.map_value();
            Cbor::Map(
                entries
                    .iter()
                    .map(|(k, v)| (Cbor::Text(k.clone()), to_cbor(v, value_shape)))
                    .collect(),
            )
        }
        (Kind::Double, Value::Number(n)) => Cbor::Float(n.as_f64().unwrap_or(0.0)),
        (Kind::Timestamp, Value::Number(n)) => {
            Cbor::Tag(1, Box::new(Cbor::Float(n.as_f64().unwrap_or(0.0))))
        }
        (Kind::Blob, Value::String(s)) => {
            Cbor::Bytes(BASE64.decode(s).unwrap_or_else(|_| s.as_bytes().to_vec()))
        }
        _ => plain(value),
    }
}

/// A JSON value as CBOR without a shape.
fn plain(value: &Value) -> Cbor {
    match value {
        Value::Null => Cbor::Null,
        Value::Bool(b) => Cbor::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Cbor::Integer(i.into()),
            (None, Some(u)) => Cbor::Integer(u.into()),
            _ => Cbor::Float(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => Cbor::Text(s.clone()),
        Value::Array(items) => Cbor::Array(items.iter().map(plain).collect()),
        Value::Object(m) => Cbor::Map(
            m.iter()
                .map(|(k, v)| (Cbor::Text(k.clone()), plain(v)))
                .collect(),
        ),
    }
}
