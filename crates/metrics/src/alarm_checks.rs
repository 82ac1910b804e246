//! The checks of botocore's cloudwatch model shared by the alarm operations, with the
//! errors AWS answers for them.
//!
//! Model constraints (length, range, enumeration) answer `ValidationError` with the
//! "1 validation error detected" text of AWS's query services: CloudWatch answers them so
//! in our experience, but the code is not in the model (UNSURE).

use crate::CloudWatchError;

pub const VALIDATION: &str = "ValidationError";
pub const INVALID_VALUE: &str = "InvalidParameterValue";
pub const INVALID_COMBINATION: &str = "InvalidParameterCombination";
pub const MISSING: &str = "MissingParameter";

/// The units of `StandardUnit` (one list, the series').
pub const UNITS: &[&str] = &crate::series::STANDARD_UNITS;

/// The statistics of `Statistic`.
pub const STATISTICS: &[&str] = &["SampleCount", "Average", "Sum", "Minimum", "Maximum"];

/// The model member's name as AWS's validation texts write it (`alarmName`).
fn member(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn validation(value: &str, name: &str, constraint: &str) -> CloudWatchError {
    CloudWatchError::client(
        VALIDATION,
        format!(
            "1 validation error detected: Value '{value}' at '{}' failed to satisfy \
             constraint: {constraint}",
            member(name)
        ),
    )
}

/// A required member: `MissingParameter` (UNSURE of the text).
pub fn required<T>(v: Option<T>, name: &str) -> Result<T, CloudWatchError> {
    v.ok_or_else(|| CloudWatchError::client(MISSING, format!("The parameter {name} is required.")))
}

/// A string's length in `min..=max` characters.
pub fn length(v: &str, name: &str, min: usize, max: usize) -> Result<(), CloudWatchError> {
    let n = v.chars().count();
    if n < min {
        return Err(validation(
            v,
            name,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if n > max {
        return Err(validation(
            v,
            name,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// An integer of at least `min` (and at most `max`, where given).
pub fn range(v: i64, name: &str, min: i64, max: Option<i64>) -> Result<(), CloudWatchError> {
    if v < min {
        return Err(validation(
            &v.to_string(),
            name,
            &format!("Member must have value greater than or equal to {min}"),
        ));
    }
    if let Some(max) = max.filter(|m| v > *m) {
        return Err(validation(
            &v.to_string(),
            name,
            &format!("Member must have value less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// A list of at most `max` members.
pub fn list_max<T>(v: &[T], name: &str, max: usize) -> Result<(), CloudWatchError> {
    if v.len() > max {
        return Err(validation(
            &format!("[{} items]", v.len()),
            name,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// One of an enumeration's values.
pub fn one_of(v: &str, name: &str, values: &[&str]) -> Result<(), CloudWatchError> {
    if values.contains(&v) {
        return Ok(());
    }
    Err(validation(
        v,
        name,
        &format!(
            "Member must satisfy enum value set: [{}]",
            values.join(", ")
        ),
    ))
}

/// A `Period`: 10, 20, 30 or a multiple of 60, as AWS documents (UNSURE of the text).
pub fn period(v: i64, name: &str) -> Result<(), CloudWatchError> {
    range(v, name, 1, None)?;
    if matches!(v, 10 | 20 | 30) || v % 60 == 0 {
        return Ok(());
    }
    Err(CloudWatchError::client(
        INVALID_VALUE,
        format!("The parameter {name} must be 10, 20, 30 or a multiple of 60."),
    ))
}

/// An `ExtendedStatistic`: `p0`..`p100`, `tm`/`tc`/`ts`/`wm` with a percentage, `IQM`, or
/// the range forms `TM(a:b)`, `TC(..)`, `TS(..)`, `WM(..)`, `PR(..)`.
pub fn extended_statistic(v: &str) -> Result<(), CloudWatchError> {
    let pct = |s: &str| {
        !s.is_empty()
            && s.chars().all(|c| c.is_ascii_digit() || c == '.')
            && s.parse::<f64>().is_ok_and(|p| (0.0..=100.0).contains(&p))
    };
    let ok = v == "IQM"
        || v.strip_prefix('p').is_some_and(pct)
        || ["tm", "tc", "ts", "wm"]
            .iter()
            .any(|k| v.strip_prefix(k).is_some_and(pct))
        || ["TM(", "TC(", "TS(", "WM(", "PR("].iter().any(|k| {
            v.strip_prefix(k)
                .and_then(|r| r.strip_suffix(')'))
                .is_some_and(|r| r.contains(':'))
        });
    if ok {
        return Ok(());
    }
    Err(CloudWatchError::client(
        INVALID_VALUE,
        format!("The value {v} for parameter ExtendedStatistic is not supported."),
    ))
}

/// A paging token: `text` (a position the operation understands) in hex, so callers
/// treat it as opaque.
pub fn encode_token(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The position of a token from [`encode_token`]; anything else is `InvalidNextToken`
/// (UNSURE of AWS's text).
pub fn decode_token(token: &str) -> Result<String, CloudWatchError> {
    let bad = || CloudWatchError::client("InvalidNextToken", "The NextToken is not valid.");
    if !token.len().is_multiple_of(2) || token.is_empty() {
        return Err(bad());
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2).ok_or_else(bad)?, 16).map_err(|_| bad()))
        .collect::<Result<Vec<u8>, _>>()?;
    String::from_utf8(bytes).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_name_the_member_as_aws_does() {
        let e = length(&"a".repeat(256), "AlarmName", 1, 255).expect_err("too long");
        assert_eq!(e.code, "ValidationError");
        assert_eq!(
            e.message,
            format!(
                "1 validation error detected: Value '{}' at 'alarmName' failed to satisfy \
                 constraint: Member must have length less than or equal to 255",
                "a".repeat(256)
            )
        );
        let e = range(0, "EvaluationPeriods", 1, None).expect_err("too small");
        assert_eq!(
            e.message,
            "1 validation error detected: Value '0' at 'evaluationPeriods' failed to satisfy \
             constraint: Member must have value greater than or equal to 1"
        );
    }

    #[test]
    fn tokens_round_trip_and_refuse_junk() {
        assert_eq!(encode_token("ab"), "6162");
        assert_eq!(decode_token("6162"), Ok("ab".to_string()));
        for junk in ["", "616", "zz", "ff"] {
            assert_eq!(decode_token(junk).expect_err(junk).code, "InvalidNextToken");
        }
    }

    #[test]
    fn periods_and_extended_statistics() {
        for p in [10, 20, 30, 60, 300, 86_400] {
            assert_eq!(period(p, "Period"), Ok(()));
        }
        assert_eq!(period(45, "Period").expect_err("odd").code, INVALID_VALUE);
        for s in [
            "p99",
            "p99.9",
            "p0",
            "p100",
            "tm90",
            "IQM",
            "TM(10%:90%)",
            "PR(1:5)",
        ] {
            assert_eq!(extended_statistic(s), Ok(()), "{s}");
        }
        for s in ["p101", "p", "q99", "TM(10%)", "Average"] {
            assert!(extended_statistic(s).is_err(), "{s}");
        }
    }
}
