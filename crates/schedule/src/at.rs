//! `at(yyyy-mm-ddThh:mm:ss)`: EventBridge Scheduler's one-time schedule, a wall-clock time in
//! the schedule's time zone.

use chrono::NaiveDateTime;

use crate::error::ScheduleError;

/// Parses the text between `at(` and `)`: exactly `yyyy-mm-ddThh:mm:ss`, no zone or fraction
/// (the zone is `ScheduleExpressionTimezone`).
pub(crate) fn parse(body: &str) -> Result<NaiveDateTime, ScheduleError> {
    let bad = || ScheduleError::At(body.to_string());
    // chrono's %Y accepts signs and other widths; the shape is checked first.
    let shape_ok = body.len() == 19
        && body.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(bad());
    }
    NaiveDateTime::parse_from_str(body, "%Y-%m-%dT%H:%M:%S").map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_shape_only() {
        let t = parse("2024-11-20T13:05:00").expect("parses");
        assert_eq!(t.to_string(), "2024-11-20 13:05:00");
        for body in [
            "2024-11-20 13:05:00",
            "2024-11-20T13:05",
            "2024-11-20T13:05:00Z",
            "2024-11-20T13:05:00.000",
            "2024-02-30T13:05:00",
            "2024-13-01T00:00:00",
            "2024-01-01T24:00:00",
            "+024-01-01T00:00:00",
            "",
        ] {
            assert!(parse(body).is_err(), "{body:?} accepted");
        }
    }
}
