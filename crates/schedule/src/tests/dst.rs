//! Daylight saving time, as AWS documents it for EventBridge Scheduler: a cron time that does
//! not exist (spring forward) is skipped; a repeated one (fall back) runs once. Rates are
//! absolute time and do not move.

use super::{slots, utc};
use crate::Schedule;

fn scheduler(expression: &str, zone: &str) -> Schedule {
    Schedule::scheduler(
        expression,
        Some(zone),
        None,
        None,
        utc("2024-01-01T00:00:00Z"),
    )
    .expect("schedule is valid")
}

#[test]
fn new_york_spring_forward_skips_the_missing_time() {
    // 2024-03-10 02:00 EST -> 03:00 EDT: 02:30 does not exist that day.
    let daily = scheduler("cron(30 2 * * ? *)", "America/New_York");
    assert_eq!(
        slots(&daily, "2024-03-09T00:00:00Z", 3),
        [
            "2024-03-09T07:30Z", // 02:30 EST
            "2024-03-11T06:30Z", // 02:30 EDT; the 10th is skipped
            "2024-03-12T06:30Z",
        ]
    );
    let half_hourly = scheduler("cron(0/30 * * * ? *)", "America/New_York");
    assert_eq!(
        slots(&half_hourly, "2024-03-10T06:00:00Z", 3),
        [
            "2024-03-10T06:30Z", // 01:30 EST
            "2024-03-10T07:00Z", // 03:00 EDT; 02:00 and 02:30 are skipped
            "2024-03-10T07:30Z",
        ]
    );
}

#[test]
fn new_york_fall_back_runs_once() {
    // 2024-11-03 02:00 EDT -> 01:00 EST: 01:00-01:59 happen twice.
    let daily = scheduler("cron(30 1 * * ? *)", "America/New_York");
    assert_eq!(
        slots(&daily, "2024-11-02T12:00:00Z", 2),
        [
            "2024-11-03T05:30Z", // 01:30 EDT, the first 01:30
            "2024-11-04T06:30Z", // next day 01:30 EST; the second 01:30 is not repeated
        ]
    );
    let half_hourly = scheduler("cron(0/30 * * * ? *)", "America/New_York");
    assert_eq!(
        slots(&half_hourly, "2024-11-03T04:45:00Z", 4),
        [
            "2024-11-03T05:00Z", // 01:00 EDT
            "2024-11-03T05:30Z", // 01:30 EDT
            "2024-11-03T07:00Z", // 02:00 EST; 01:00 and 01:30 EST do not run again
            "2024-11-03T07:30Z",
        ]
    );
    // Asked from inside the repeated hour (01:10 EST), the repeats are still not slots.
    assert_eq!(
        slots(&half_hourly, "2024-11-03T06:10:00Z", 1),
        ["2024-11-03T07:00Z"]
    );
}

#[test]
fn berlin_both_transitions() {
    // 2024-03-31 02:00 CET -> 03:00 CEST; 2024-10-27 03:00 CEST -> 02:00 CET.
    let daily = scheduler("cron(30 2 * * ? *)", "Europe/Berlin");
    assert_eq!(
        slots(&daily, "2024-03-30T00:00:00Z", 2),
        ["2024-03-30T01:30Z", "2024-04-01T00:30Z"]
    );
    assert_eq!(
        slots(&daily, "2024-10-26T12:00:00Z", 2),
        ["2024-10-27T00:30Z", "2024-10-28T01:30Z"]
    );
    // A time away from the transition keeps its wall-clock hour; its UTC hour moves.
    let ten = scheduler("cron(0 10 * * ? *)", "Europe/Berlin");
    assert_eq!(
        slots(&ten, "2024-03-30T00:00:00Z", 2),
        ["2024-03-30T09:00Z", "2024-03-31T08:00Z"]
    );
}

#[test]
fn rates_are_absolute_time() {
    // rate(1 day) anchored at 10:00 EST keeps 24-hour steps: 11:00 EDT after the change.
    let schedule = Schedule::scheduler(
        "rate(1 day)",
        Some("America/New_York"),
        Some(utc("2024-03-09T15:00:00Z")),
        None,
        utc("2024-03-01T00:00:00Z"),
    )
    .expect("schedule is valid");
    assert_eq!(
        slots(&schedule, "2024-03-09T00:00:00Z", 3),
        [
            "2024-03-09T15:00Z",
            "2024-03-10T15:00Z",
            "2024-03-11T15:00Z"
        ]
    );
}

#[test]
fn at_in_a_zone() {
    let at = |expression: &str| {
        scheduler(expression, "America/New_York").next_after(utc("2024-01-01T00:00:00Z"))
    };
    assert_eq!(
        at("at(2024-07-04T12:00:00)"),
        Some(utc("2024-07-04T16:00:00Z"))
    );
    // In the gap: read with the offset before it (02:30 EST = 03:30 EDT); unconfirmed.
    assert_eq!(
        at("at(2024-03-10T02:30:00)"),
        Some(utc("2024-03-10T07:30:00Z"))
    );
    // Repeated: the first occurrence.
    assert_eq!(
        at("at(2024-11-03T01:30:00)"),
        Some(utc("2024-11-03T05:30:00Z"))
    );
}
