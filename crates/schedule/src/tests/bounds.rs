//! StartDate, EndDate, the rate anchor and the first slot of a new schedule.

use super::{slots, utc};
use crate::{Schedule, ScheduleError};

#[test]
fn start_and_end_are_inclusive_bounds() {
    let bounded = |start: &str, end: &str| {
        Schedule::scheduler(
            "cron(0 10 * * ? *)",
            None,
            Some(utc(start)),
            Some(utc(end)),
            utc("2024-01-01T00:00:00Z"),
        )
        .expect("schedule is valid")
    };
    let schedule = bounded("2024-05-05T10:00:00Z", "2024-05-07T10:00:00Z");
    assert_eq!(
        slots(&schedule, "2024-05-01T00:00:00Z", 5),
        [
            "2024-05-05T10:00Z",
            "2024-05-06T10:00Z",
            "2024-05-07T10:00Z"
        ]
    );
    let schedule = bounded("2024-05-05T10:00:01Z", "2024-05-07T09:59:59Z");
    assert_eq!(
        slots(&schedule, "2024-05-01T00:00:00Z", 5),
        ["2024-05-06T10:00Z"]
    );
    assert_eq!(schedule.next_after(utc("2024-05-06T10:00:00Z")), None);
}

#[test]
fn end_must_follow_start() {
    for end in ["2024-05-05T00:00:00Z", "2024-05-04T00:00:00Z"] {
        assert_eq!(
            Schedule::scheduler(
                "rate(1 hour)",
                None,
                Some(utc("2024-05-05T00:00:00Z")),
                Some(utc(end)),
                utc("2024-01-01T00:00:00Z"),
            ),
            Err(ScheduleError::EndBeforeStart)
        );
    }
}

#[test]
fn scheduler_rate_starts_at_start_date_or_creation() {
    let created = utc("2024-05-01T09:17:45Z");
    // No StartDate: the schedule starts invoking at once, then every interval after creation.
    let now = Schedule::scheduler("rate(15 minutes)", None, None, None, created)
        .expect("schedule is valid");
    assert_eq!(now.anchor(), created);
    assert_eq!(now.first_slot(created), Some(created));
    assert_eq!(now.next_after(created), Some(utc("2024-05-01T09:32:45Z")));
    // StartDate in the future: the first slot is StartDate.
    let start = utc("2024-05-02T00:00:00Z");
    let later = Schedule::scheduler("rate(1 hour)", None, Some(start), None, created)
        .expect("schedule is valid");
    assert_eq!(later.first_slot(created), Some(start));
    assert_eq!(
        slots(&later, "2024-05-02T01:30:00Z", 2),
        ["2024-05-02T02:00Z", "2024-05-02T03:00Z"]
    );
    // StartDate in the past: slots stay aligned to it.
    let past = utc("2024-04-30T00:10:00Z");
    let aligned = Schedule::scheduler("rate(1 hour)", None, Some(past), None, created)
        .expect("schedule is valid");
    assert_eq!(
        aligned.first_slot(created),
        Some(utc("2024-05-01T10:10:00Z"))
    );
}

#[test]
fn rule_rate_counts_from_creation() {
    let created = utc("2024-05-01T09:17:45Z");
    let rule = Schedule::rule("rate(5 minutes)", created).expect("rule is valid");
    assert_eq!(rule.first_slot(created), Some(utc("2024-05-01T09:22:45Z")));
    assert_eq!(
        slots(&rule, "2024-05-01T10:00:00Z", 2),
        ["2024-05-01T10:02Z", "2024-05-01T10:07Z"]
    );
    assert_eq!(
        rule.next_after(utc("2024-05-01T10:00:00Z")),
        Some(utc("2024-05-01T10:02:45Z"))
    );
}

#[test]
fn cron_first_slot_and_utc_default() {
    let created = utc("2024-05-01T10:00:00Z");
    let scheduler = Schedule::scheduler("cron(0 10 * * ? *)", None, None, None, created)
        .expect("schedule is valid");
    assert_eq!(scheduler.time_zone(), crate::Tz::UTC);
    // A slot at the creation instant counts for Scheduler (at or after), not for a rule.
    assert_eq!(scheduler.first_slot(created), Some(created));
    let rule = Schedule::rule("cron(0 10 * * ? *)", created).expect("rule is valid");
    assert_eq!(rule.first_slot(created), Some(utc("2024-05-02T10:00:00Z")));
}

#[test]
fn one_time_schedules_ignore_bounds() {
    // AWS: "EventBridge Scheduler ignores StartDate [EndDate] for one-time schedules".
    let schedule = Schedule::scheduler(
        "at(2024-06-01T12:00:00)",
        Some("UTC"),
        Some(utc("2024-07-01T00:00:00Z")),
        Some(utc("2024-08-01T00:00:00Z")),
        utc("2024-05-01T00:00:00Z"),
    )
    .expect("schedule is valid");
    let when = utc("2024-06-01T12:00:00Z");
    assert_eq!(schedule.first_slot(utc("2024-05-01T00:00:00Z")), Some(when));
    assert_eq!(schedule.next_after(when), None);
    assert_eq!(schedule.next_at_or_after(when), Some(when));
}

#[test]
fn time_zones_are_iana_names() {
    let created = utc("2024-05-01T00:00:00Z");
    for zone in [
        "UTC",
        "Etc/UTC",
        "America/New_York",
        "Asia/Kolkata",
        "Europe/Berlin",
    ] {
        assert!(
            Schedule::scheduler("rate(1 hour)", Some(zone), None, None, created).is_ok(),
            "{zone}"
        );
    }
    for zone in ["", "Mars/Olympus", "america/new_york", "EST5EDT ", "+02:00"] {
        assert_eq!(
            Schedule::scheduler("rate(1 hour)", Some(zone), None, None, created),
            Err(ScheduleError::TimeZone(zone.to_string())),
            "{zone}"
        );
    }
    // Half-hour zones: 09:00 IST is 03:30 UTC.
    let india = Schedule::scheduler(
        "cron(0 9 * * ? *)",
        Some("Asia/Kolkata"),
        None,
        None,
        created,
    )
    .expect("schedule is valid");
    assert_eq!(india.next_after(created), Some(utc("2024-05-01T03:30:00Z")));
}
