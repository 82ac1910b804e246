//! An order-keeping JSON value ([`Json`]): the event envelope, its `detail` and every value a
//! target input takes from it keep their keys in the order the sender wrote them, because
//! that is what AWS delivers. `serde_json::Value` cannot: the workspace builds serde_json
//! without `preserve_order` (its maps sort their keys), and turning that feature on would
//! change the output of every other crate. Written compactly (no whitespace), as AWS writes
//! the events it delivers.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};
use std::fmt;

/// A JSON value whose objects keep their key order.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Json>),
    /// Members in document order; a key appears once (a repeated key keeps its first
    /// position and its last value, as an insertion-ordered map would).
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parses JSON text, keeping the order of object keys.
    pub fn parse(text: &str) -> Result<Json, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Compact JSON text (no insignificant whitespace), keys in order.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    /// The member `key` of an object; `None` for a missing key or a non-object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// The same value as a `serde_json::Value` (for pattern matching); key order is lost.
    pub fn to_value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::String(s) => Value::String(s.clone()),
            Json::Array(items) => Value::Array(items.iter().map(Json::to_value).collect()),
            Json::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value()))
                    .collect(),
            ),
        }
    }

    pub(crate) fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(true) => out.push_str("true"),
            Json::Bool(false) => out.push_str("false"),
            Json::Number(n) => out.push_str(&n.to_string()),
            Json::String(s) => write_string(s, out),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(key, out);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// A JSON string literal, escaped as serde_json escapes (quote, backslash, control
/// characters; everything else as is).
pub(crate) fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

impl From<&Value> for Json {
    /// Keys come out in `Value`'s (sorted) order.
    fn from(value: &Value) -> Json {
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Number(n.clone()),
            Value::String(s) => Json::String(s.clone()),
            Value::Array(items) => Json::Array(items.iter().map(Json::from).collect()),
            Value::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), Json::from(v)))
                    .collect(),
            ),
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Json, E> {
        Number::from_f64(v)
            .map(Json::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members: Vec<(String, Json)> = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            match members.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => members.push((key, value)),
            }
        }
        Ok(Json::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_compactly_keeping_key_order() {
        let cases = [
            (
                r#"{ "z": 1, "a": [true, null, 2.5], "m": {"y": "x", "b": -3} }"#,
                r#"{"z":1,"a":[true,null,2.5],"m":{"y":"x","b":-3}}"#,
            ),
            ("[]", "[]"),
            ("{}", "{}"),
            (r#""a\"b\\c\nd\u0001é""#, r#""a\"b\\c\nd\u0001é""#),
            ("18446744073709551615", "18446744073709551615"),
            ("-9223372036854775808", "-9223372036854775808"),
            ("1e2", "100.0"),
            (r#"{"k":1,"j":2,"k":3}"#, r#"{"k":3,"j":2}"#),
        ];
        for (text, want) in cases {
            let parsed = Json::parse(text).expect("valid JSON");
            assert_eq!(parsed.to_text(), want, "for {text}");
        }
    }

    #[test]
    fn refuses_invalid_json() {
        for text in ["", "{", "{'a':1}", "[1,]", "nul", "{\"a\":1} x"] {
            assert!(Json::parse(text).is_err(), "accepted {text:?}");
        }
    }

    #[test]
    fn converts_to_and_from_value() {
        let value = json!({"b": [1, "x"], "a": {"c": null, "d": false}});
        let converted = Json::from(&value);
        assert_eq!(
            converted.to_text(),
            r#"{"a":{"c":null,"d":false},"b":[1,"x"]}"#
        );
        assert_eq!(converted.to_value(), value);
        let parsed = Json::parse(r#"{"b":[1,"x"],"a":{"d":false,"c":null}}"#).expect("valid");
        assert_eq!(parsed.to_value(), value);
    }

    #[test]
    fn get_and_as_str() {
        let doc = Json::parse(r#"{"a":"x","b":1}"#).expect("valid");
        assert_eq!(doc.get("a").and_then(Json::as_str), Some("x"));
        assert_eq!(doc.get("b").and_then(Json::as_str), None);
        assert_eq!(doc.get("c"), None);
        assert_eq!(Json::Null.get("a"), None);
    }

    #[test]
    fn escapes_like_serde_json() {
        let samples = [
            "plain",
            "q\"uote",
            "back\\slash",
            "\u{7f}\u{1f}\t\r\u{8}\u{c}",
            "✓ ünï",
        ];
        for s in samples {
            let mut ours = String::new();
            write_string(s, &mut ours);
            assert_eq!(ours, Value::String(s.to_owned()).to_string(), "for {s:?}");
        }
    }
}
