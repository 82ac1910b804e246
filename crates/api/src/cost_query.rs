//! The query of `GET /_hearth/cost`, parsed strictly: the period (`since=30d`, or
//! `from_day` and `to_day`), `function`, `region` and `free_tier`. A bad, repeated or unknown
//! parameter is an `InvalidParameterValueException` (400) before anything is read. The
//! messages are Hearth's own: no AWS operation has these parameters.

use std::collections::HashMap;

use hearth_cost::{Period, PriceTable};
use hearth_model::AwsError;

const SECONDS_PER_DAY: i64 = 86_400;

/// The period when the query names none, as `hearth cost` defaults to.
const DEFAULT_SINCE: &str = "30d";

/// The longest function name Lambda accepts (its `FunctionName` as a name, not an ARN).
const FUNCTION_NAME_MAX: usize = 64;

const KNOWN: [&str; 6] = [
    "since",
    "from_day",
    "to_day",
    "function",
    "region",
    "free_tier",
];

/// What to price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CostQuery {
    pub period: Period,
    pub function: Option<String>,
    /// A region of the price table.
    pub region: String,
    pub free_tier: bool,
}

impl CostQuery {
    /// Parses the raw query string (`None` when the URI has none); `now_ms` (the epoch in
    /// ms) turns `since` into days.
    pub(crate) fn parse(raw: Option<&str>, now_ms: i64) -> Result<Self, AwsError> {
        let mut params: HashMap<String, String> = HashMap::new();
        for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            if !KNOWN.contains(&name.as_ref()) {
                return Err(AwsError::invalid(format!(
                    "Unknown parameter {name:?}: use since, from_day and to_day, function, region or free_tier"
                )));
            }
            if params
                .insert(name.to_string(), value.into_owned())
                .is_some()
            {
                return Err(AwsError::invalid(format!("{name} is given more than once")));
            }
        }
        let period = period(&params, now_ms)?;
        let function = params.remove("function").map(function_name).transpose()?;
        let region = params
            .remove("region")
            .unwrap_or_else(|| "us-east-1".to_string());
        PriceTable::aws()
            .region(&region)
            .map_err(|e| AwsError::invalid(e.to_string()))?;
        let free_tier = match params.get("free_tier").map(String::as_str) {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => {
                return Err(AwsError::invalid(format!(
                    "free_tier must be true or false, got {other:?}"
                )))
            }
        };
        Ok(Self {
            period,
            function,
            region,
            free_tier,
        })
    }
}

/// `since` (the days from `now_ms − since` to today, both included) or `from_day` and
/// `to_day` (exclusive), never both.
fn period(params: &HashMap<String, String>, now_ms: i64) -> Result<Period, AwsError> {
    let from = params.get("from_day");
    let to = params.get("to_day");
    let since = params.get("since");
    match (since, from, to) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(AwsError::invalid(
            "Give either since or from_day and to_day, not both",
        )),
        (None, Some(from), Some(to)) => {
            let from_day = day("from_day", from)?;
            let to_day = day("to_day", to)?;
            if to_day <= from_day {
                return Err(AwsError::invalid(format!(
                    "to_day ({to_day}) must be after from_day ({from_day}): it is the first day not included"
                )));
            }
            Ok(Period { from_day, to_day })
        }
        (None, Some(_), None) | (None, None, Some(_)) => Err(AwsError::invalid(
            "from_day and to_day go together: give both",
        )),
        (since, None, None) => {
            let seconds = duration_seconds(since.map_or(DEFAULT_SINCE, String::as_str))?;
            let now_s = now_ms.div_euclid(1000);
            let today = now_s.div_euclid(SECONDS_PER_DAY);
            let from_day = now_s.saturating_sub(seconds).max(0) / SECONDS_PER_DAY;
            Ok(Period {
                from_day,
                to_day: today + 1,
            })
        }
    }
}

/// A day since 1970-01-01: a whole number, not negative.
fn day(name: &str, text: &str) -> Result<i64, AwsError> {
    match text.parse::<i64>() {
        Ok(day) if day >= 0 => Ok(day),
        _ => Err(AwsError::invalid(format!(
            "{name} must be a day since 1970-01-01 (a whole number, 0 or more), got {text:?}"
        ))),
    }
}

/// `30s`, `10m`, `24h` or `30d` (as `hearth cost --since` takes them) in seconds.
fn duration_seconds(text: &str) -> Result<i64, AwsError> {
    let bad = || {
        AwsError::invalid(format!(
            "since must be a whole number and a unit (s, m, h or d), such as 30d, got {text:?}"
        ))
    };
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (digits, unit) = text.split_at(split);
    let count: i64 = digits.parse().map_err(|_| bad())?;
    let per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => SECONDS_PER_DAY,
        _ => return Err(bad()),
    };
    count.checked_mul(per).ok_or_else(bad)
}

/// A function's name as Lambda allows it (not an ARN: the metering is kept by name).
fn function_name(name: String) -> Result<String, AwsError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if name.is_empty() || name.len() > FUNCTION_NAME_MAX || !name.chars().all(allowed) {
        return Err(AwsError::invalid(format!(
            "function must be a function name (1 to {FUNCTION_NAME_MAX} letters, digits, hyphens or underscores), got {name:?}"
        )));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::ErrorCode;

    /// 2025-12-03T12:00:00Z: day 20425 and half a day.
    const NOW_MS: i64 = (20_425 * SECONDS_PER_DAY + 43_200) * 1000;

    fn parse(raw: &str) -> Result<CostQuery, AwsError> {
        CostQuery::parse(Some(raw), NOW_MS)
    }

    fn message(raw: &str) -> String {
        let err = parse(raw).expect_err("refused");
        assert_eq!(err.code, ErrorCode::InvalidParameterValue, "{raw}");
        assert_eq!(err.code.status(), 400);
        err.message
    }

    #[test]
    fn no_query_is_the_last_30_days_in_us_east_1_with_the_free_tier() {
        let q = CostQuery::parse(None, NOW_MS).expect("defaults");
        assert_eq!(
            q,
            CostQuery {
                period: Period {
                    from_day: 20_395,
                    to_day: 20_426
                },
                function: None,
                region: "us-east-1".to_string(),
                free_tier: true,
            }
        );
        assert_eq!(parse("").expect("empty"), q);
    }

    #[test]
    fn since_counts_whole_days_up_to_today() {
        let days = |raw: &str| {
            let p = parse(raw).expect("valid").period;
            (p.from_day, p.to_day)
        };
        assert_eq!(days("since=30d"), (20_395, 20_426));
        assert_eq!(days("since=1d"), (20_424, 20_426));
        assert_eq!(days("since=1h"), (20_425, 20_426));
        assert_eq!(days("since=12h"), (20_425, 20_426));
        assert_eq!(days("since=43201s"), (20_424, 20_426));
        assert_eq!(days("since=0m"), (20_425, 20_426));
        // Further back than 1970: from its first day.
        assert_eq!(days("since=30000d"), (0, 20_426));
    }

    #[test]
    fn days_function_region_and_free_tier() {
        let q =
            parse("from_day=20400&to_day=20426&function=my-fn_1&region=us-east-1&free_tier=false")
                .expect("valid");
        assert_eq!(
            q,
            CostQuery {
                period: Period {
                    from_day: 20_400,
                    to_day: 20_426
                },
                function: Some("my-fn_1".to_string()),
                region: "us-east-1".to_string(),
                free_tier: false,
            }
        );
        assert!(parse("free_tier=true").expect("valid").free_tier);
    }

    #[test]
    fn bad_parameters_are_invalid_parameter_values() {
        assert_eq!(
            message("since=30x"),
            "since must be a whole number and a unit (s, m, h or d), such as 30d, got \"30x\""
        );
        assert_eq!(
            message("since=d"),
            "since must be a whole number and a unit (s, m, h or d), such as 30d, got \"d\""
        );
        assert_eq!(
            message("since=30"),
            "since must be a whole number and a unit (s, m, h or d), such as 30d, got \"30\""
        );
        assert_eq!(
            message("since=99999999999999999d"),
            "since must be a whole number and a unit (s, m, h or d), such as 30d, got \"99999999999999999d\""
        );
        assert_eq!(
            message("since=1d&from_day=1&to_day=2"),
            "Give either since or from_day and to_day, not both"
        );
        assert_eq!(
            message("from_day=1"),
            "from_day and to_day go together: give both"
        );
        assert_eq!(
            message("to_day=1"),
            "from_day and to_day go together: give both"
        );
        assert_eq!(
            message("from_day=-1&to_day=2"),
            "from_day must be a day since 1970-01-01 (a whole number, 0 or more), got \"-1\""
        );
        assert_eq!(
            message("from_day=1&to_day=tomorrow"),
            "to_day must be a day since 1970-01-01 (a whole number, 0 or more), got \"tomorrow\""
        );
        assert_eq!(
            message("from_day=5&to_day=5"),
            "to_day (5) must be after from_day (5): it is the first day not included"
        );
        assert_eq!(
            message("function=arn:aws:lambda:us-east-1:000000000000:function:f"),
            "function must be a function name (1 to 64 letters, digits, hyphens or underscores), got \"arn:aws:lambda:us-east-1:000000000000:function:f\""
        );
        assert_eq!(
            message("function="),
            "function must be a function name (1 to 64 letters, digits, hyphens or underscores), got \"\""
        );
        assert_eq!(
            message(&format!("function={}", "f".repeat(65))),
            format!(
                "function must be a function name (1 to 64 letters, digits, hyphens or underscores), got \"{}\"",
                "f".repeat(65)
            )
        );
        assert_eq!(
            message("region=eu-west-9"),
            "no AWS Lambda prices for region \"eu-west-9\" (known: us-east-1)"
        );
        assert_eq!(
            message("free_tier=yes"),
            "free_tier must be true or false, got \"yes\""
        );
        assert_eq!(
            message("account=111111111111"),
            "Unknown parameter \"account\": use since, from_day and to_day, function, region or free_tier"
        );
        assert_eq!(
            message("region=us-east-1&region=us-east-1"),
            "region is given more than once"
        );
    }
}
