//! `cron(Minutes Hours Day-of-month Month Day-of-week Year)`: the six fields parsed, and the
//! next matching wall-clock minute after a given one.
//!
//! The search works on naive (zone-less) times; the schedule maps them to instants in its time
//! zone (see `crate::local`). It descends year → month → day → hour → minute, taking each
//! field's next member from a bit set, so a search costs a handful of steps per month visited
//! and never walks minute by minute. It ends at 2199, the last year AWS allows, so an
//! expression that can never match again (a past year, `30 FEB`) answers `None`.

mod days;
mod field;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike};

use crate::error::ScheduleError;
use days::{days_of_month, DayOfMonth, DayOfWeek};
use field::{ValueSet, HOURS, MINUTES, MONTH, YEAR};

/// A parsed cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: ValueSet,
    hours: ValueSet,
    day_of_month: DayOfMonth,
    months: ValueSet,
    day_of_week: DayOfWeek,
    years: ValueSet,
}

impl Cron {
    /// Parses the text between `cron(` and `)`.
    pub fn parse(fields: &str) -> Result<Self, ScheduleError> {
        let parts: Vec<&str> = fields.split_whitespace().collect();
        let [minutes, hours, dom, month, dow, year] = parts[..] else {
            return Err(ScheduleError::CronFieldCount(parts.len()));
        };
        let day_of_month = DayOfMonth::parse(dom)?;
        let day_of_week = DayOfWeek::parse(dow)?;
        // AWS: a value or * in one day field requires ? in the other; both ? is refused too.
        if (day_of_month == DayOfMonth::Any) == (day_of_week == DayOfWeek::Any) {
            return Err(ScheduleError::CronDayFields);
        }
        Ok(Cron {
            minutes: MINUTES.parse_list(minutes)?,
            hours: HOURS.parse_list(hours)?,
            day_of_month,
            months: MONTH.parse_list(&month.to_ascii_uppercase())?,
            day_of_week,
            years: YEAR.parse_list(year)?,
        })
    }

    /// The first matching wall-clock minute strictly after `after`.
    pub fn next_after(&self, after: NaiveDateTime) -> Option<NaiveDateTime> {
        let start = after
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))?
            .checked_add_signed(TimeDelta::minutes(1))?;
        let from_year = u16::try_from(start.year()).ok()?;
        for year in self.years.iter_from(from_year) {
            let first_year = year == from_year;
            let from_month = if first_year { start.month() as u16 } else { 1 };
            for month in self.months.iter_from(from_month) {
                let first_month = first_year && month == from_month;
                let days = days_of_month(
                    &self.day_of_month,
                    &self.day_of_week,
                    i32::from(year),
                    u32::from(month),
                );
                let from_day = if first_month { start.day() } else { 1 };
                for day in (from_day..=31).filter(|d| days & (1 << d) != 0) {
                    let first_day = first_month && day == from_day;
                    let from_hour = if first_day { start.hour() as u16 } else { 0 };
                    for hour in self.hours.iter_from(from_hour) {
                        let first_hour = first_day && hour == from_hour;
                        let from_minute = if first_hour { start.minute() as u16 } else { 0 };
                        if let Some(minute) = self.minutes.next_at_or_after(from_minute) {
                            let date =
                                NaiveDate::from_ymd_opt(i32::from(year), u32::from(month), day)?;
                            let time =
                                NaiveTime::from_hms_opt(u32::from(hour), u32::from(minute), 0)?;
                            return Some(date.and_time(time));
                        }
                    }
                }
            }
        }
        None
    }

    /// Whether the wall-clock minute `t` matches, field by field (the tests' reference).
    #[cfg(test)]
    pub(crate) fn matches(&self, t: NaiveDateTime) -> bool {
        let days = days_of_month(&self.day_of_month, &self.day_of_week, t.year(), t.month());
        t.second() == 0
            && self.minutes.contains(t.minute() as u16)
            && self.hours.contains(t.hour() as u16)
            && days & (1 << t.day()) != 0
            && self.months.contains(t.month() as u16)
            && u16::try_from(t.year()).is_ok_and(|y| self.years.contains(y))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("test time parses")
    }

    fn next(expr: &str, after: &str) -> Option<String> {
        let cron = Cron::parse(expr).expect("expression parses");
        cron.next_after(at(after))
            .map(|t| t.format("%Y-%m-%d %H:%M %a").to_string())
    }

    #[test]
    fn searches_across_fields() {
        // Strictly after: the matching minute itself is not returned.
        assert_eq!(
            next("0 10 * * ? *", "2024-05-01 10:00").as_deref(),
            Some("2024-05-02 10:00 Thu")
        );
        assert_eq!(
            next("0 10 * * ? *", "2024-12-31 10:00").as_deref(),
            Some("2025-01-01 10:00 Wed")
        );
        // Feb 29 only in leap years.
        assert_eq!(
            next("0 0 29 2 ? *", "2024-03-01 00:00").as_deref(),
            Some("2028-02-29 00:00 Tue")
        );
        // 2100 is not a leap year.
        assert_eq!(
            next("0 0 29 2 ? *", "2096-03-01 00:00").as_deref(),
            Some("2104-02-29 00:00 Fri")
        );
        assert_eq!(next("0 0 30 2 ? *", "2024-01-01 00:00"), None);
        assert_eq!(next("0 0 1 1 ? 2020", "2024-01-01 00:00"), None);
        assert_eq!(
            next("* * * * ? *", "2199-12-31 23:58").as_deref(),
            Some("2199-12-31 23:59 Tue")
        );
        assert_eq!(next("* * * * ? *", "2199-12-31 23:59"), None);
    }

    #[test]
    fn seconds_are_dropped_before_the_search() {
        let after = at("2024-05-01 09:59") + TimeDelta::seconds(59);
        let cron = Cron::parse("0 10 * * ? *").expect("parses");
        assert_eq!(cron.next_after(after), Some(at("2024-05-01 10:00")));
    }

    #[test]
    fn field_count_and_day_fields_are_checked() {
        assert_eq!(
            Cron::parse("0 10 * * ?"),
            Err(ScheduleError::CronFieldCount(5))
        );
        assert_eq!(
            Cron::parse("0 10 * * ? * *"),
            Err(ScheduleError::CronFieldCount(7))
        );
        assert_eq!(
            Cron::parse("0 10 * * * *"),
            Err(ScheduleError::CronDayFields)
        );
        assert_eq!(
            Cron::parse("0 10 ? * ? *"),
            Err(ScheduleError::CronDayFields)
        );
        assert_eq!(
            Cron::parse("0 10 1 * MON *"),
            Err(ScheduleError::CronDayFields)
        );
    }
}
