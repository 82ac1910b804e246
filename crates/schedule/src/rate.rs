//! `rate(value unit)`: a fixed interval of absolute time, counted from an anchor.
//!
//! The anchor is the rule's creation time (EventBridge: "A rate expression starts when you
//! create the scheduled event rule") or the schedule's `StartDate`, else its creation time
//! (Scheduler: "you use the StartDate property to set the first occurrence of the schedule").
//! Slots are `anchor + k * interval` for k = 0, 1, 2, ... Days are 24-hour spans, not calendar
//! days: AWS says a `days` rate runs 24 hours after the last invocation even when daylight
//! saving time makes a local day 23 or 25 hours, so a rate never looks at a time zone.

use chrono::{DateTime, TimeDelta, Utc};

use crate::error::ScheduleError;

/// A parsed rate expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    value: u32,
    unit: RateUnit,
}

/// The unit of a rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateUnit {
    Minutes,
    Hours,
    Days,
}

impl RateUnit {
    fn seconds(self) -> i64 {
        match self {
            RateUnit::Minutes => 60,
            RateUnit::Hours => 3_600,
            RateUnit::Days => 86_400,
        }
    }
}

impl Rate {
    /// Parses the text between `rate(` and `)`: a positive integer and a unit that is singular
    /// for 1 (`minute`, `hour`, `day`) and plural above (`minutes`, `hours`, `days`), as AWS
    /// requires: `rate(1 minutes)` and `rate(5 minute)` are refused.
    pub fn parse(body: &str) -> Result<Self, ScheduleError> {
        let parts: Vec<&str> = body.split_whitespace().collect();
        let [value, unit] = parts[..] else {
            return Err(ScheduleError::RateShape(body.to_string()));
        };
        let parsed = if value.bytes().all(|b| b.is_ascii_digit()) {
            value.parse::<u64>().ok()
        } else {
            None
        };
        let value = parsed
            .filter(|&v| v > 0)
            .ok_or_else(|| ScheduleError::RateValue(value.to_string()))?;
        let unit = match (value == 1, unit) {
            (true, "minute") | (false, "minutes") => RateUnit::Minutes,
            (true, "hour") | (false, "hours") => RateUnit::Hours,
            (true, "day") | (false, "days") => RateUnit::Days,
            _ => {
                return Err(ScheduleError::RateUnit {
                    value,
                    unit: unit.to_string(),
                })
            }
        };
        // AWS documents no upper bound; a value beyond u32 is refused rather than overflowing.
        let value =
            u32::try_from(value).map_err(|_| ScheduleError::RateValue(value.to_string()))?;
        Ok(Rate { value, unit })
    }

    pub fn value(&self) -> u32 {
        self.value
    }

    pub fn unit(&self) -> RateUnit {
        self.unit
    }

    /// The interval between two slots.
    pub fn interval(&self) -> TimeDelta {
        TimeDelta::seconds(i64::from(self.value) * self.unit.seconds())
    }

    /// The first slot `anchor + k * interval` (k >= 0) strictly after `after`.
    pub fn next_after(&self, anchor: DateTime<Utc>, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if after < anchor {
            return Some(anchor);
        }
        let interval = i128::from(i64::from(self.value) * self.unit.seconds()) * 1_000_000_000;
        let elapsed = nanos(after) - nanos(anchor);
        let steps = elapsed / interval + 1;
        let offset = i64::try_from(steps * interval).ok()?;
        anchor.checked_add_signed(TimeDelta::nanoseconds(offset))
    }
}

fn nanos(t: DateTime<Utc>) -> i128 {
    i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().expect("test time parses")
    }

    #[test]
    fn units_agree_with_the_value() {
        for (body, minutes) in [
            ("1 minute", 1),
            ("5 minutes", 5),
            ("1 hour", 60),
            ("2 hours", 120),
            ("1 day", 1_440),
            ("7 days", 10_080),
        ] {
            let rate = Rate::parse(body).expect("rate parses");
            assert_eq!(rate.interval(), TimeDelta::minutes(minutes), "{body}");
        }
        for body in [
            "0 minutes",
            "0 minute",
            "1 minutes",
            "5 minute",
            "1 hours",
            "2 day",
            "-1 minute",
            "+5 minutes",
            "1.5 hours",
            "5 seconds",
            "5 Minutes",
            "5",
            "5 minutes extra",
            "",
            "99999999999 minutes",
        ] {
            assert!(Rate::parse(body).is_err(), "{body:?} accepted");
        }
        assert_eq!(
            Rate::parse("1 minutes"),
            Err(ScheduleError::RateUnit {
                value: 1,
                unit: "minutes".into()
            })
        );
        assert_eq!(
            Rate::parse("0 minutes"),
            Err(ScheduleError::RateValue("0".into()))
        );
    }

    #[test]
    fn slots_count_from_the_anchor() {
        let rate = Rate::parse("5 minutes").expect("parses");
        let anchor = utc("2024-05-01T10:02:30Z");
        assert_eq!(
            rate.next_after(anchor, utc("2024-05-01T09:00:00Z")),
            Some(anchor)
        );
        assert_eq!(
            rate.next_after(anchor, anchor),
            Some(utc("2024-05-01T10:07:30Z"))
        );
        assert_eq!(
            rate.next_after(anchor, utc("2024-05-01T10:07:29.999Z")),
            Some(utc("2024-05-01T10:07:30Z"))
        );
        assert_eq!(
            rate.next_after(anchor, utc("2024-05-01T10:07:30Z")),
            Some(utc("2024-05-01T10:12:30Z"))
        );
        assert_eq!(
            rate.next_after(anchor, utc("2025-05-01T10:02:31Z")),
            Some(utc("2025-05-01T10:07:30Z"))
        );
    }
}
