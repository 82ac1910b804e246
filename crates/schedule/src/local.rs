//! Wall-clock times in a schedule's time zone turned into instants, around daylight saving time.
//!
//! AWS (EventBridge Scheduler user guide, "Daylight saving time"): "When time shifts forward in
//! the spring, if a cron expression falls on a non-existent date and time, your schedule
//! invocation is skipped. When time shifts backwards in the fall, your schedule runs only once
//! and does not repeat its invocation." So for cron a time in the gap has no instant, and a
//! repeated time has one: its first occurrence.
//!
//! For `at(...)` AWS documents nothing. A one-time schedule that silently never fires seems
//! worse than a shifted one, so a time in the gap is read with the offset in force before the
//! gap (02:30 on a spring-forward night in New York is 03:30 EDT), as `java.time` does, and a
//! repeated time is its first occurrence. This is a choice, not a confirmed AWS behaviour.

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// The instant of a cron slot at wall-clock `local`: none in a gap, the first of two.
pub(crate) fn cron_instant(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::None => None,
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
    }
}

/// The instant of an `at(...)` time: a time in a gap is shifted forward by the gap's length.
pub(crate) fn at_instant(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    if let Some(t) = cron_instant(tz, local) {
        return Some(t);
    }
    // The first valid minute after the gap gives the offset after it; the instant `local`
    // would be with that offset lies before the transition, where the earlier offset rules.
    let after_gap = (1..=48 * 60).find_map(|m| {
        let probe = local.checked_add_signed(TimeDelta::minutes(m))?;
        cron_instant(tz, probe).map(|t| (probe, t))
    })?;
    let (probe, instant) = after_gap;
    let offset_after = probe - instant.naive_utc();
    let before = local.checked_sub_signed(offset_after)?.and_utc();
    let offset_before = TimeDelta::seconds(i64::from(
        tz.offset_from_utc_datetime(&before.naive_utc())
            .fix()
            .local_minus_utc(),
    ));
    Some(local.checked_sub_signed(offset_before)?.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("test time parses")
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().expect("test time parses")
    }

    #[test]
    fn gap_and_overlap_in_new_york() {
        let tz = chrono_tz::America::New_York;
        // 2024-03-10: 02:00 EST jumps to 03:00 EDT.
        assert_eq!(cron_instant(tz, local("2024-03-10 02:30")), None);
        assert_eq!(
            at_instant(tz, local("2024-03-10 02:30")),
            Some(utc("2024-03-10T07:30:00Z"))
        );
        // 2024-11-03: 02:00 EDT falls back to 01:00 EST; 01:30 happens twice.
        assert_eq!(
            cron_instant(tz, local("2024-11-03 01:30")),
            Some(utc("2024-11-03T05:30:00Z"))
        );
        assert_eq!(
            at_instant(tz, local("2024-11-03 01:30")),
            Some(utc("2024-11-03T05:30:00Z"))
        );
    }

    #[test]
    fn gap_in_berlin() {
        let tz = chrono_tz::Europe::Berlin;
        // 2024-03-31: 02:00 CET jumps to 03:00 CEST.
        assert_eq!(cron_instant(tz, local("2024-03-31 02:15")), None);
        assert_eq!(
            at_instant(tz, local("2024-03-31 02:15")),
            Some(utc("2024-03-31T01:15:00Z"))
        );
    }
}
