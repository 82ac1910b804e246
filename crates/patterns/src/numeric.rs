//! Numbers as the matcher compares them: by value (`5`, `5.0` and `5e0` are equal), to six
//! digits after the decimal point, within ±5.0e9, as EventBridge's engine (Event Ruler)
//! documents; and the `numeric` operator's ranges with their validation.

use serde_json::{Number, Value};

/// The magnitude beyond which a document's number takes part in no numeric comparison
/// (Event Ruler's ComparableNumber range).
const COMPARABLE_LIMIT: f64 = 5.0e9;

/// A number as an integer count of millionths offset to be non-negative, so that equal
/// values to six decimal digits compare equal whatever their spelling. `None` outside
/// the comparable range.
pub(crate) fn quantize(f: f64) -> Option<i64> {
    if !f.is_finite() || !(-COMPARABLE_LIMIT..=COMPARABLE_LIMIT).contains(&f) {
        return None;
    }
    // Within ±5e9 the product is below 1e16, which i64 holds; the cast truncates as
    // Ruler's `(long)` does.
    Some(((COMPARABLE_LIMIT + f) * 1.0e6) as i64)
}

/// Exact matching of a pattern number against a document number: equal by value when both
/// are comparable, otherwise (an account id, a huge integer) equal by their text.
///
/// EventBridge's and Lambda's guides say numbers match by their string representation
/// ("300, 300.0, and 3.0e2 are not considered equal"), but the engine behind them adds a
/// numeric-equality matcher for every number of a pattern beside the literal one (Event
/// Ruler's JsonRuleCompiler: "we'll insert matchers for both the literal expression and
/// the ComparableNumber form", its ByteMachine tests matching 300.0 with "300" and
/// "3.0e+2"). Hearth follows the engine.
pub(crate) fn numbers_equal(a: &Number, b: &Number) -> bool {
    if let (Some(x), Some(y)) = (a.as_f64().and_then(quantize), b.as_f64().and_then(quantize)) {
        return x == y;
    }
    a.to_string() == b.to_string()
}

/// One end of a range.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Bound {
    at: i64,
    inclusive: bool,
}

/// A `numeric` operator: an equality or a range, open or closed at either end.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Range {
    low: Option<Bound>,
    high: Option<Bound>,
}

impl Range {
    /// Whether a document value is within the range: only JSON numbers are.
    pub(crate) fn contains(&self, value: &Value) -> bool {
        let Some(q) = value.as_f64().and_then(quantize) else {
            return false;
        };
        let above = match self.low {
            None => true,
            Some(b) if b.inclusive => q >= b.at,
            Some(b) => q > b.at,
        };
        let below = match self.high {
            None => true,
            Some(b) if b.inclusive => q <= b.at,
            Some(b) => q < b.at,
        };
        above && below
    }

    /// Parses the operator's array (`["=", 5]`, `[">", 0, "<=", 5]`, ...), refusing it with
    /// Event Ruler's reasons; `limit` is the dialect's largest operand.
    pub(crate) fn parse(items: &[Value], limit: f64) -> Result<Range, String> {
        let mut it = items.iter();
        let op = match it.next() {
            Some(Value::String(op)) => op.as_str(),
            Some(other) => return Err(format!("Invalid member in numeric match: {other}")),
            None => return Err("Invalid member in numeric match: ]".to_string()),
        };
        let first = operand(it.next(), op, limit)?;
        let bound = |inclusive| Bound {
            at: first,
            inclusive,
        };
        match op {
            "=" => {
                no_more(it.next(), "Too many elements in numeric expression")?;
                Ok(Range {
                    low: Some(bound(true)),
                    high: Some(bound(true)),
                })
            }
            "<" | "<=" => {
                no_more(it.next(), "Too many elements in numeric expression")?;
                Ok(Range {
                    low: None,
                    high: Some(bound(op == "<=")),
                })
            }
            ">" | ">=" => {
                let low = Some(bound(op == ">="));
                let op2 = match it.next() {
                    None => return Ok(Range { low, high: None }),
                    Some(Value::String(op2)) => op2.as_str(),
                    Some(other) => return Err(format!("Bad value in numeric range: {other}")),
                };
                if op2 != "<" && op2 != "<=" {
                    return Err(format!("Bad numeric range operator: {op2}"));
                }
                let second = operand(it.next(), op2, limit)?;
                no_more(it.next(), "Too many terms in numeric range expression")?;
                if second <= first {
                    return Err("Bottom must be less than top".to_string());
                }
                Ok(Range {
                    low,
                    high: Some(Bound {
                        at: second,
                        inclusive: op2 == "<=",
                    }),
                })
            }
            _ => Err(format!("Unrecognized numeric range operator: {op}")),
        }
    }
}

fn operand(v: Option<&Value>, op: &str, limit: f64) -> Result<i64, String> {
    let name = if op == "=" { "equals" } else { op };
    let Some(f) = v.and_then(Value::as_f64) else {
        return Err(format!("Value of {name} must be numeric"));
    };
    if !(-limit..=limit).contains(&f) {
        // Ruler's wording of its range check, with Java's spelling of the bounds.
        return Err(format!(
            "Value must be between {} and {}, inclusive",
            java_double(-limit),
            java_double(limit)
        ));
    }
    quantize(f).ok_or_else(|| format!("Value of {name} must be numeric"))
}

fn no_more(v: Option<&Value>, reason: &str) -> Result<(), String> {
    match v {
        None => Ok(()),
        Some(_) => Err(reason.to_string()),
    }
}

/// Java's `Double.toString` for the limits used here (`5.0E9`, `-1.0E9`).
fn java_double(f: f64) -> String {
    let exp = f.abs().log10().floor() as i32;
    let mantissa = f / 10f64.powi(exp);
    format!("{mantissa:.1}E{exp}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn range(v: Value) -> Result<Range, String> {
        Range::parse(v.as_array().expect("array"), 5.0e9)
    }

    #[test]
    fn equal_values_in_any_spelling_are_equal() {
        let n = |s: &str| serde_json::from_str::<Number>(s).expect("number");
        assert!(numbers_equal(&n("5"), &n("5.0")));
        assert!(numbers_equal(&n("301.8"), &n("3.018e2")));
        assert!(numbers_equal(&n("-0"), &n("0")));
        assert!(!numbers_equal(&n("5"), &n("5.000001")));
        // Beyond the comparable range, only the same text is equal.
        assert!(numbers_equal(&n("123456789012"), &n("123456789012")));
        assert!(!numbers_equal(&n("123456789012"), &n("123456789013")));
    }

    #[test]
    fn ranges_are_open_or_closed_as_written() {
        let r = range(json!([">", 0, "<=", 5])).expect("valid");
        assert!(!r.contains(&json!(0)));
        assert!(r.contains(&json!(0.000001)));
        assert!(r.contains(&json!(5)));
        assert!(r.contains(&json!(5.0)));
        assert!(!r.contains(&json!(5.000001)));
        assert!(!r.contains(&json!("3")), "strings are not numbers");
        let eq = range(json!(["=", 3.018e2])).expect("valid");
        assert!(eq.contains(&json!(301.8)));
        assert!(!eq.contains(&json!(301.9)));
        let lt = range(json!(["<", 10])).expect("valid");
        assert!(lt.contains(&json!(-4e9)));
        assert!(!lt.contains(&json!(10)));
        assert!(!lt.contains(&json!(-6e9)), "outside the comparable range");
    }

    #[test]
    fn malformed_ranges_are_refused_with_rulers_reasons() {
        let cases = [
            (json!([]), "Invalid member in numeric match: ]"),
            (json!([5]), "Invalid member in numeric match: 5"),
            (json!(["~", 5]), "Unrecognized numeric range operator: ~"),
            (json!(["=", "5"]), "Value of equals must be numeric"),
            (json!([">"]), "Value of > must be numeric"),
            (
                json!(["=", 5, "<", 6]),
                "Too many elements in numeric expression",
            ),
            (
                json!(["<", 5, ">", 1]),
                "Too many elements in numeric expression",
            ),
            (json!([">", 5, 6]), "Bad value in numeric range: 6"),
            (json!([">", 5, ">", 6]), "Bad numeric range operator: >"),
            (json!([">", 5, "<", "x"]), "Value of < must be numeric"),
            (
                json!([">", 5, "<", 9, 1]),
                "Too many terms in numeric range expression",
            ),
            (json!([">", 5, "<", 5]), "Bottom must be less than top"),
            (
                json!([">", 6e9]),
                "Value must be between -5.0E9 and 5.0E9, inclusive",
            ),
        ];
        for (v, reason) in cases {
            assert_eq!(range(v.clone()).expect_err(&v.to_string()), reason, "{v}");
        }
        let sns = Range::parse(&[json!("<"), json!(2e9)], 1.0e9).expect_err("over SNS limit");
        assert_eq!(sns, "Value must be between -1.0E9 and 1.0E9, inclusive");
    }

    proptest! {
        #[test]
        fn integer_and_float_spellings_compare_equal(i in -5_000_000_000i64..=5_000_000_000) {
            let a = Number::from(i);
            let b = Number::from_f64(i as f64).expect("finite");
            prop_assert!(numbers_equal(&a, &b));
            let eq = Range::parse(&[json!("="), Value::Number(a.clone())], 5.0e9).expect("valid");
            prop_assert!(eq.contains(&Value::Number(b)));
        }

        #[test]
        fn order_is_kept(a in -1.0e9f64..1.0e9, b in -1.0e9f64..1.0e9) {
            let (qa, qb) = (quantize(a).expect("in range"), quantize(b).expect("in range"));
            if a < b { prop_assert!(qa <= qb) } else { prop_assert!(qa >= qb) }
        }
    }
}
