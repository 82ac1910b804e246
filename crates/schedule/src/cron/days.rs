//! The two day fields of a cron expression (Day-of-month with `L`, `LW`, `nW`; Day-of-week with
//! `L`, `nL`, `n#k`) and the days of a given month they select.
//!
//! AWS documents these wildcards but not every corner; where it is silent this follows Quartz,
//! whose syntax AWS's cron is: `L`, `LW`, `nW`, `nL`, `n#k` stand alone in their field (no
//! lists), `W` never moves a day into another month, and `L` alone in Day-of-week is its last
//! day, 7 = Saturday.

use chrono::{Datelike, NaiveDate};

use super::field::{number, ValueSet, DAY_OF_MONTH, DAY_OF_WEEK};
use crate::error::ScheduleError;

/// The Day-of-month field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DayOfMonth {
    /// `?`: the day is chosen by Day-of-week.
    Any,
    /// Values, ranges, steps, `*`.
    Days(ValueSet),
    /// `L`: the month's last day.
    Last,
    /// `LW`: the month's last weekday (Monday to Friday).
    LastWeekday,
    /// `nW`: the weekday nearest day n, within the month.
    NearestWeekday(u32),
}

/// The Day-of-week field, 1 = Sunday ... 7 = Saturday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DayOfWeek {
    /// `?`: the day is chosen by Day-of-month.
    Any,
    /// Values, names, ranges, `*`.
    Days(ValueSet),
    /// `nL` (and `L` alone, n = 7): the month's last such day.
    Last(u32),
    /// `n#k`: the month's k-th such day (k = 1..5).
    Nth(u32, u32),
}

impl DayOfMonth {
    pub(crate) fn parse(text: &str) -> Result<Self, ScheduleError> {
        let upper = text.to_ascii_uppercase();
        match upper.as_str() {
            "?" => return Ok(DayOfMonth::Any),
            "L" => return Ok(DayOfMonth::Last),
            "LW" => return Ok(DayOfMonth::LastWeekday),
            _ => {}
        }
        if let Some(day) = upper.strip_suffix('W') {
            let day = number(day)
                .filter(|d| (1..=31).contains(d))
                .ok_or_else(|| DAY_OF_MONTH.error(text, "W needs a day 1-31 before it"))?;
            return Ok(DayOfMonth::NearestWeekday(u32::from(day)));
        }
        if upper.contains(['L', 'W', '?', '#']) {
            return Err(DAY_OF_MONTH.error(text, "L, W and ? must stand alone"));
        }
        DAY_OF_MONTH.parse_list(&upper).map(DayOfMonth::Days)
    }
}

impl DayOfWeek {
    pub(crate) fn parse(text: &str) -> Result<Self, ScheduleError> {
        let upper = text.to_ascii_uppercase();
        match upper.as_str() {
            "?" => return Ok(DayOfWeek::Any),
            "L" => return Ok(DayOfWeek::Last(7)),
            _ => {}
        }
        if let Some((day, nth)) = upper.split_once('#') {
            // AWS: "3#1,6#3" is invalid; '#' allows one expression only.
            if day.contains(',') || nth.contains(',') {
                return Err(DAY_OF_WEEK.error(text, "# allows a single expression"));
            }
            let day = DAY_OF_WEEK.value(text, day)?;
            let nth = number(nth)
                .filter(|n| (1..=5).contains(n))
                .ok_or_else(|| DAY_OF_WEEK.error(text, "# needs an instance 1-5 after it"))?;
            return Ok(DayOfWeek::Nth(u32::from(day), u32::from(nth)));
        }
        if let Some(day) = upper.strip_suffix('L') {
            if day.contains([',', '-', '/']) {
                return Err(DAY_OF_WEEK.error(text, "L allows a single day"));
            }
            return Ok(DayOfWeek::Last(u32::from(DAY_OF_WEEK.value(text, day)?)));
        }
        if upper.contains('?') {
            return Err(DAY_OF_WEEK.error(text, "? must stand alone"));
        }
        DAY_OF_WEEK.parse_list(&upper).map(DayOfWeek::Days)
    }
}

/// The days (bit d set for day d) of `year`-`month` that the two day fields select.
pub(crate) fn days_of_month(dom: &DayOfMonth, dow: &DayOfWeek, year: i32, month: u32) -> u32 {
    let Some(first) = NaiveDate::from_ymd_opt(year, month, 1) else {
        return 0;
    };
    let last = last_day(year, month);
    // AWS numbering: 1 = Sunday.
    let first_weekday = first.weekday().num_days_from_sunday() + 1;
    let weekday = |day: u32| (first_weekday - 1 + day - 1) % 7 + 1;
    let bit = |day: u32| 1u32 << day;
    let by_month = match dom {
        DayOfMonth::Any => u32::MAX,
        DayOfMonth::Days(set) => (1..=last)
            .filter(|&d| set.contains(d as u16))
            .fold(0, |m, d| m | bit(d)),
        DayOfMonth::Last => bit(last),
        DayOfMonth::LastWeekday => bit(match weekday(last) {
            7 => last - 1,
            1 => last - 2,
            _ => last,
        }),
        DayOfMonth::NearestWeekday(day) => {
            let day = *day;
            if day > last {
                0
            } else {
                bit(match weekday(day) {
                    7 if day == 1 => 3,
                    7 => day - 1,
                    1 if day == last => day - 2,
                    1 => day + 1,
                    _ => day,
                })
            }
        }
    };
    let by_week = match dow {
        DayOfWeek::Any => u32::MAX,
        DayOfWeek::Days(set) => (1..=last)
            .filter(|&d| set.contains(weekday(d) as u16))
            .fold(0, |m, d| m | bit(d)),
        DayOfWeek::Last(wd) => {
            let back = (weekday(last) + 7 - wd) % 7;
            bit(last - back)
        }
        DayOfWeek::Nth(wd, nth) => {
            let first_such = 1 + (wd + 7 - first_weekday) % 7;
            let day = first_such + 7 * (nth - 1);
            if day <= last {
                bit(day)
            } else {
                0
            }
        }
    };
    by_month & by_week
}

pub(crate) fn last_day(year: i32, month: u32) -> u32 {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(next_year, next_month, 1)
        .and_then(|d| d.pred_opt())
        .map_or(28, |d| d.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(dom: &str, dow: &str, year: i32, month: u32) -> Vec<u32> {
        let dom = DayOfMonth::parse(dom).expect("day-of-month parses");
        let dow = DayOfWeek::parse(dow).expect("day-of-week parses");
        let mask = days_of_month(&dom, &dow, year, month);
        (1..=31).filter(|d| mask & (1 << d) != 0).collect()
    }

    #[test]
    fn last_and_weekday_forms() {
        // February 2024 has 29 days; the 29th is a Thursday.
        assert_eq!(days("L", "?", 2024, 2), vec![29]);
        assert_eq!(days("L", "?", 2023, 2), vec![28]);
        assert_eq!(days("L", "?", 2100, 2), vec![28]); // not a leap year
        assert_eq!(days("L", "?", 2000, 2), vec![29]); // a leap year
                                                       // August 2024 ends on Saturday the 31st: LW is Friday the 30th.
        assert_eq!(days("LW", "?", 2024, 8), vec![30]);
        // March 2024 ends on Sunday the 31st: LW is Friday the 29th.
        assert_eq!(days("LW", "?", 2024, 3), vec![29]);
        // June 2024: the 15th is a Saturday, nearest weekday Friday the 14th.
        assert_eq!(days("15W", "?", 2024, 6), vec![14]);
        // September 2024: the 15th is a Sunday, nearest weekday Monday the 16th.
        assert_eq!(days("15W", "?", 2024, 9), vec![16]);
        // June 2024: the 1st is a Saturday; W stays in June, Monday the 3rd.
        assert_eq!(days("1W", "?", 2024, 6), vec![3]);
        // March 2024: the 31st is a Sunday; W stays in March, Friday the 29th.
        assert_eq!(days("31W", "?", 2024, 3), vec![29]);
        // April has no 31st.
        assert_eq!(days("31W", "?", 2024, 4), Vec::<u32>::new());
        assert_eq!(days("31", "?", 2024, 4), Vec::<u32>::new());
    }

    #[test]
    fn day_of_week_forms() {
        // May 2024: Fridays are 3, 10, 17, 24, 31.
        assert_eq!(days("?", "6L", 2024, 5), vec![31]);
        assert_eq!(days("?", "FRIL", 2024, 5), vec![31]);
        assert_eq!(days("?", "6#3", 2024, 5), vec![17]);
        assert_eq!(days("?", "6#5", 2024, 5), vec![31]);
        assert_eq!(days("?", "6#5", 2024, 6), Vec::<u32>::new());
        // `L` alone: last Saturday (May 2024: the 25th).
        assert_eq!(days("?", "L", 2024, 5), vec![25]);
        // First Monday of September 2024.
        assert_eq!(days("?", "2#1", 2024, 9), vec![2]);
        assert_eq!(
            days("?", "SAT,SUN", 2024, 6),
            vec![1, 2, 8, 9, 15, 16, 22, 23, 29, 30]
        );
    }

    #[test]
    fn bad_day_fields_are_refused() {
        for text in ["L,1", "0W", "32W", "W", "1-5W", "?,1", "L-3", "1#2"] {
            assert!(DayOfMonth::parse(text).is_err(), "{text:?} accepted");
        }
        for text in ["8L", "6#0", "6#6", "3#1,6#3", "1-3L", "0", "?,1", "6#"] {
            assert!(DayOfWeek::parse(text).is_err(), "{text:?} accepted");
        }
    }
}
