//! The `Condition` element: operators (`StringEquals`, `ArnLike`, `IpAddress`, `Date*`,
//! `Numeric*`, `Bool`, `Null`, ...), their `...IfExists` forms and the `ForAnyValue:` /
//! `ForAllValues:` set qualifiers, evaluated as AWS documents them: operators and keys AND,
//! a key's values OR (NOR for a negated operator); a key absent from the request makes a
//! condition false, except that negated operators, `...IfExists` and `ForAllValues:` then
//! hold.

use std::net::IpAddr;

use serde_json::Value;

use crate::context::RequestContext;
use crate::document::PolicyError;
use crate::pattern::{arn_matches, matches, Tok};
use crate::variables::resolve;

/// A condition operator without its qualifier and `IfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

const OPERATORS: &[(&str, Operator)] = &[
    ("StringEquals", Operator::StringEquals),
    ("StringNotEquals", Operator::StringNotEquals),
    ("StringEqualsIgnoreCase", Operator::StringEqualsIgnoreCase),
    (
        "StringNotEqualsIgnoreCase",
        Operator::StringNotEqualsIgnoreCase,
    ),
    ("StringLike", Operator::StringLike),
    ("StringNotLike", Operator::StringNotLike),
    ("NumericEquals", Operator::NumericEquals),
    ("NumericNotEquals", Operator::NumericNotEquals),
    ("NumericLessThan", Operator::NumericLessThan),
    ("NumericLessThanEquals", Operator::NumericLessThanEquals),
    ("NumericGreaterThan", Operator::NumericGreaterThan),
    (
        "NumericGreaterThanEquals",
        Operator::NumericGreaterThanEquals,
    ),
    ("DateEquals", Operator::DateEquals),
    ("DateNotEquals", Operator::DateNotEquals),
    ("DateLessThan", Operator::DateLessThan),
    ("DateLessThanEquals", Operator::DateLessThanEquals),
    ("DateGreaterThan", Operator::DateGreaterThan),
    ("DateGreaterThanEquals", Operator::DateGreaterThanEquals),
    ("Bool", Operator::Bool),
    ("BinaryEquals", Operator::BinaryEquals),
    ("IpAddress", Operator::IpAddress),
    ("NotIpAddress", Operator::NotIpAddress),
    ("ArnEquals", Operator::ArnEquals),
    ("ArnLike", Operator::ArnLike),
    ("ArnNotEquals", Operator::ArnNotEquals),
    ("ArnNotLike", Operator::ArnNotLike),
    ("Null", Operator::Null),
];

impl Operator {
    fn by_name(name: &str) -> Option<Self> {
        OPERATORS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, op)| *op)
    }

    /// The operators whose values must not match (evaluated as NOR).
    pub fn negated(self) -> bool {
        use Operator::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
                | ArnNotEquals
                | ArnNotLike
        )
    }
}

/// `ForAnyValue:` / `ForAllValues:` (multivalued keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    ForAnyValue,
    ForAllValues,
}

/// One operator applied to one key with its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub operator: Operator,
    pub qualifier: Option<SetQualifier>,
    pub if_exists: bool,
    /// The key as written (keys compare case-insensitively).
    pub key: String,
    /// The values, numbers and booleans as their JSON text.
    pub values: Vec<String>,
}

fn scalar(v: &Value) -> Result<String, PolicyError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(PolicyError::syntax()),
    }
}

/// Parses a statement's `Condition` block.
pub(crate) fn parse_block(v: &Value) -> Result<Vec<Condition>, PolicyError> {
    let Value::Object(ops) = v else {
        return Err(PolicyError::syntax());
    };
    let mut out = Vec::new();
    for (name, keys) in ops {
        let (qualifier, rest) = if let Some(r) = strip_prefix_ci(name, "ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), r)
        } else if let Some(r) = strip_prefix_ci(name, "ForAllValues:") {
            (Some(SetQualifier::ForAllValues), r)
        } else {
            (None, name.as_str())
        };
        let (if_exists, base) = match rest.len().checked_sub("IfExists".len()) {
            Some(at)
                if rest.is_char_boundary(at) && rest[at..].eq_ignore_ascii_case("IfExists") =>
            {
                (true, &rest[..at])
            }
            _ => (false, rest),
        };
        let operator = Operator::by_name(base).ok_or_else(PolicyError::syntax)?;
        if operator == Operator::Null && if_exists {
            return Err(PolicyError::syntax());
        }
        let Value::Object(keys) = keys else {
            return Err(PolicyError::syntax());
        };
        for (key, values) in keys {
            if !key.contains(':') && !key.contains('/') {
                return Err(PolicyError::vendor());
            }
            let values = match values {
                Value::Array(a) => a.iter().map(scalar).collect::<Result<Vec<_>, _>>()?,
                v => vec![scalar(v)?],
            };
            for value in &values {
                check_value(operator, value)?;
            }
            out.push(Condition {
                operator,
                qualifier,
                if_exists,
                key: key.clone(),
                values,
            });
        }
    }
    Ok(out)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Values an operator can never compare are refused when the policy is written.
fn check_value(op: Operator, value: &str) -> Result<(), PolicyError> {
    use Operator::*;
    let ok = match op {
        NumericEquals
        | NumericNotEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals => value.contains("${") || number(value).is_some(),
        DateEquals
        | DateNotEquals
        | DateLessThan
        | DateLessThanEquals
        | DateGreaterThan
        | DateGreaterThanEquals => value.contains("${") || date(value).is_some(),
        IpAddress | NotIpAddress => cidr(value).is_some(),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(PolicyError::syntax())
    }
}

fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A date as milliseconds since the epoch: ISO 8601 (with or without time, zone or
/// fractions) or epoch seconds, the forms AWS documents for `Date*`.
pub(crate) fn date(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(n) = number(s) {
        return Some((n * 1000.0) as i64);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.fZ",
        "%Y-%m-%dT%H:%M:%SZ",
        "%Y-%m-%dT%H:%MZ",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

/// `203.0.113.0/24`, `2001:DB8::/32`, or one address (a /32 or /128).
pub(crate) fn cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = match s.trim().split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
        None => (s.trim(), None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(max);
    (len <= max).then_some((ip, len))
}

fn in_cidr(ip: IpAddr, (net, len): (IpAddr, u8)) -> bool {
    let (a, b, bits) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32u32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let shift = bits - u32::from(len);
    if shift >= 128 {
        return true;
    }
    (a >> shift) == (b >> shift)
}

impl Condition {
    /// Whether this condition holds for the request. `vars`: the document's version has
    /// policy variables.
    pub(crate) fn holds(&self, ctx: &RequestContext, vars: bool) -> bool {
        let present = ctx.get(&self.key).filter(|v| !v.is_empty());
        if self.operator == Operator::Null {
            // `"true"`: the key must be absent; `"false"`: present. Values OR.
            return self
                .values
                .iter()
                .any(|v| v.eq_ignore_ascii_case("true") == present.is_none());
        }
        let negated = self.operator.negated();
        let Some(request_values) = present else {
            return match self.qualifier {
                _ if self.if_exists => true,
                Some(SetQualifier::ForAllValues) => true,
                Some(SetQualifier::ForAnyValue) => false,
                None => negated,
            };
        };
        // A value "matches" under the operator's positive form; negated operators hold when
        // it does not (NOR over the policy's values).
        let ok = |cv: &String| self.any_value_matches(cv, ctx, vars) != negated;
        match self.qualifier {
            Some(SetQualifier::ForAllValues) => request_values.iter().all(ok),
            Some(SetQualifier::ForAnyValue) => request_values.iter().any(ok),
            // A single-valued operator on a multivalued key: any of its values.
            None => {
                let any = request_values
                    .iter()
                    .any(|cv| self.any_value_matches(cv, ctx, vars));
                any != negated
            }
        }
    }

    fn any_value_matches(&self, cv: &str, ctx: &RequestContext, vars: bool) -> bool {
        self.values
            .iter()
            .any(|pv| value_matches(self.operator, pv, cv, ctx, vars))
    }
}

/// Whether one request value matches one policy value under the positive form of `op`.
fn value_matches(op: Operator, pv: &str, cv: &str, ctx: &RequestContext, vars: bool) -> bool {
    use Operator::*;
    let pattern = |wildcards: bool| -> Option<Vec<Tok>> { resolve(pv, ctx, vars, wildcards) };
    match op {
        StringEquals | StringNotEquals => pattern(false).is_some_and(|p| matches(&p, cv, false)),
        StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => {
            pattern(false).is_some_and(|p| matches(&p, cv, true))
        }
        StringLike | StringNotLike => pattern(true).is_some_and(|p| matches(&p, cv, false)),
        ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => {
            pattern(true).is_some_and(|p| arn_matches(&p, cv))
        }
        Bool => pattern(false).is_some_and(|p| matches(&p, cv, true)),
        BinaryEquals => pv == cv,
        NumericEquals
        | NumericNotEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals => {
            let (Some(c), Some(p)) = (
                number(cv),
                resolved_text(pv, ctx, vars).and_then(|p| number(&p)),
            ) else {
                return false;
            };
            compare(op, c.partial_cmp(&p))
        }
        DateEquals
        | DateNotEquals
        | DateLessThan
        | DateLessThanEquals
        | DateGreaterThan
        | DateGreaterThanEquals => {
            let (Some(c), Some(p)) = (
                date(cv),
                resolved_text(pv, ctx, vars).and_then(|p| date(&p)),
            ) else {
                return false;
            };
            compare(op, Some(c.cmp(&p)))
        }
        IpAddress | NotIpAddress => match (cv.trim().parse::<IpAddr>(), cidr(pv)) {
            (Ok(ip), Some(net)) => in_cidr(ip, net),
            _ => false,
        },
        Null => false,
    }
}

fn resolved_text(pv: &str, ctx: &RequestContext, vars: bool) -> Option<String> {
    resolve(pv, ctx, vars, false).map(|toks| {
        toks.into_iter()
            .map(|t| match t {
                Tok::Char(c) => c,
                Tok::Star => '*',
                Tok::One => '?',
            })
            .collect()
    })
}

/// The request value compared with the policy value (`request OP policy`).
fn compare(op: Operator, ord: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    use Operator::*;
    let Some(ord) = ord else { return false };
    match op {
        NumericEquals | NumericNotEquals | DateEquals | DateNotEquals => ord == Equal,
        NumericLessThan | DateLessThan => ord == Less,
        NumericLessThanEquals | DateLessThanEquals => ord != Greater,
        NumericGreaterThan | DateGreaterThan => ord == Greater,
        NumericGreaterThanEquals | DateGreaterThanEquals => ord != Less,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::RequestPrincipal;
    use serde_json::json;

    fn ctx() -> RequestContext {
        RequestContext::new(RequestPrincipal::user("111122223333", "alice"))
    }

    fn holds(block: Value, ctx: &RequestContext) -> bool {
        parse_block(&block)
            .expect("parses")
            .iter()
            .all(|c| c.holds(ctx, true))
    }

    #[test]
    fn ip_ranges() {
        let c = ctx().with("aws:SourceIp", "203.0.113.9");
        assert!(holds(
            json!({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
            &c
        ));
        assert!(!holds(
            json!({"IpAddress": {"aws:SourceIp": "203.0.114.0/24"}}),
            &c
        ));
        assert!(holds(
            json!({"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}}),
            &c
        ));
        let v6 = ctx().with("aws:SourceIp", "2001:db8::1");
        assert!(holds(
            json!({"IpAddress": {"aws:SourceIp": "2001:DB8::/32"}}),
            &v6
        ));
        assert!(holds(
            json!({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}),
            &c
        ));
    }

    #[test]
    fn dates_and_numbers() {
        let c = ctx().at_time(1_700_000_000); // 2023-11-14T22:13:20Z
        assert!(holds(
            json!({"DateGreaterThan": {"aws:CurrentTime": "2023-01-01T00:00:00Z"}}),
            &c
        ));
        assert!(holds(
            json!({"DateLessThan": {"aws:CurrentTime": "2024-01-01"}}),
            &c
        ));
        assert!(holds(
            json!({"DateLessThanEquals": {"aws:EpochTime": 1700000000}}),
            &c
        ));
        assert!(holds(
            json!({"NumericGreaterThanEquals": {"aws:EpochTime": "1700000000"}}),
            &c
        ));
        assert!(!holds(json!({"NumericLessThan": {"aws:EpochTime": 5}}), &c));
    }

    #[test]
    fn missing_keys() {
        let c = ctx();
        assert!(!holds(
            json!({"StringEquals": {"aws:SourceAccount": "1"}}),
            &c
        ));
        assert!(holds(
            json!({"StringNotEquals": {"aws:SourceAccount": "1"}}),
            &c
        ));
        assert!(holds(
            json!({"StringEqualsIfExists": {"aws:SourceAccount": "1"}}),
            &c
        ));
        assert!(holds(json!({"Null": {"aws:SourceAccount": "true"}}), &c));
        assert!(!holds(json!({"Null": {"aws:SourceAccount": "false"}}), &c));
        assert!(holds(
            json!({"ForAllValues:StringEquals": {"aws:TagKeys": "a"}}),
            &c
        ));
        assert!(!holds(
            json!({"ForAnyValue:StringEquals": {"aws:TagKeys": "a"}}),
            &c
        ));
    }

    #[test]
    fn set_qualifiers() {
        let mut c = ctx();
        c.set_many("aws:TagKeys", vec!["env".into(), "team".into()]);
        assert!(holds(
            json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team", "x"]}}),
            &c
        ));
        assert!(!holds(
            json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["env"]}}),
            &c
        ));
        assert!(holds(
            json!({"ForAnyValue:StringEquals": {"aws:TagKeys": ["env"]}}),
            &c
        ));
        assert!(!holds(
            json!({"ForAnyValue:StringEquals": {"aws:TagKeys": ["nope"]}}),
            &c
        ));
        assert!(holds(
            json!({"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["env"]}}),
            &c
        ));
        assert!(!holds(
            json!({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["env"]}}),
            &c
        ));
    }

    #[test]
    fn refuses_bad_operators_and_values() {
        assert!(parse_block(&json!({"StringEqual": {"aws:x": "1"}})).is_err());
        assert!(parse_block(&json!({"NullIfExists": {"aws:x": "true"}})).is_err());
        assert!(parse_block(&json!({"IpAddress": {"aws:SourceIp": "300.0.0.1"}})).is_err());
        assert!(parse_block(&json!({"DateLessThan": {"aws:CurrentTime": "tomorrow"}})).is_err());
        assert!(parse_block(&json!({"StringEquals": {"nokey": "1"}})).is_err());
        assert!(parse_block(&json!({"StringEquals": {"aws:x": {"a": 1}}})).is_err());
    }
}
