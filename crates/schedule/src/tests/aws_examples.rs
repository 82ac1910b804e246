//! The cron examples of AWS's EventBridge and Scheduler guides, and the L, W and # forms,
//! walked from a fixed time (Friday 2024-05-03 unless a row says otherwise).

use super::{slots, utc};
use crate::Schedule;

/// (expression, after, the next slots). An empty list after the last slot means `None`.
const CASES: &[(&str, &str, &[&str])] = &[
    // "Run at 10:00 am (UTC+0) every day"
    (
        "cron(0 10 * * ? *)",
        "2024-05-03T17:58:00Z",
        &[
            "2024-05-04T10:00Z",
            "2024-05-05T10:00Z",
            "2024-05-06T10:00Z",
        ],
    ),
    // "Run at 12:15 pm (UTC+0) every day"
    (
        "cron(15 12 * * ? *)",
        "2024-05-03T17:58:00Z",
        &[
            "2024-05-04T12:15Z",
            "2024-05-05T12:15Z",
            "2024-05-06T12:15Z",
        ],
    ),
    // "Run at 6:00 pm (UTC+0) every Monday through Friday"
    (
        "cron(0 18 ? * MON-FRI *)",
        "2024-05-03T17:58:00Z",
        &[
            "2024-05-03T18:00Z",
            "2024-05-06T18:00Z",
            "2024-05-07T18:00Z",
        ],
    ),
    // "Run at 8:00 am (UTC+0) every 1st day of the month"
    (
        "cron(0 8 1 * ? *)",
        "2024-05-03T17:58:00Z",
        &[
            "2024-06-01T08:00Z",
            "2024-07-01T08:00Z",
            "2024-08-01T08:00Z",
        ],
    ),
    // "Run every 15 minutes"
    (
        "cron(0/15 * * * ? *)",
        "2024-05-03T17:58:00Z",
        &[
            "2024-05-03T18:00Z",
            "2024-05-03T18:15Z",
            "2024-05-03T18:30Z",
        ],
    ),
    // "Run every 10 minutes Monday through Friday"
    (
        "cron(0/10 * ? * MON-FRI *)",
        "2024-05-03T23:45:00Z",
        &[
            "2024-05-03T23:50Z",
            "2024-05-06T00:00Z",
            "2024-05-06T00:10Z",
        ],
    ),
    // "Run every 5 minutes Monday through Friday between 8:00 am and 5:55 pm (UTC+0)"
    (
        "cron(0/5 8-17 ? * MON-FRI *)",
        "2024-05-03T17:50:00Z",
        &[
            "2024-05-03T17:55Z",
            "2024-05-06T08:00Z",
            "2024-05-06T08:05Z",
        ],
    ),
    // Scheduler guide: "9:00 AM on the first Monday of each month" (May 1 2024 is a Wednesday)
    (
        "cron(0 9 ? * 2#1 *)",
        "2024-05-01T00:00:00Z",
        &[
            "2024-05-06T09:00Z",
            "2024-06-03T09:00Z",
            "2024-07-01T09:00Z",
            "2024-08-05T09:00Z",
        ],
    ),
    // Last Friday of each month in 2022-2023, then never again.
    (
        "cron(15 10 ? * 6L 2022-2023)",
        "2023-10-01T00:00:00Z",
        &[
            "2023-10-27T10:15Z",
            "2023-11-24T10:15Z",
            "2023-12-29T10:15Z",
        ],
    ),
    // Third Friday.
    (
        "cron(0 12 ? * 6#3 *)",
        "2024-05-03T17:58:00Z",
        &[
            "2024-05-17T12:00Z",
            "2024-06-21T12:00Z",
            "2024-07-19T12:00Z",
        ],
    ),
    // Fifth Friday: only in months that have one.
    (
        "cron(0 12 ? * FRI#5 *)",
        "2024-05-03T17:58:00Z",
        &[
            "2024-05-31T12:00Z",
            "2024-08-30T12:00Z",
            "2024-11-29T12:00Z",
        ],
    ),
    // Last day of the month, through a leap February.
    (
        "cron(0 0 L * ? *)",
        "2024-01-31T00:00:00Z",
        &[
            "2024-02-29T00:00Z",
            "2024-03-31T00:00Z",
            "2024-04-30T00:00Z",
        ],
    ),
    (
        "cron(0 0 L 2 ? *)",
        "2024-03-01T00:00:00Z",
        &[
            "2025-02-28T00:00Z",
            "2026-02-28T00:00Z",
            "2027-02-28T00:00Z",
            "2028-02-29T00:00Z",
        ],
    ),
    // Last weekday: Aug 2024 ends on a Saturday, Sep on a Monday, Nov on a Saturday.
    (
        "cron(0 17 LW * ? *)",
        "2024-08-01T00:00:00Z",
        &[
            "2024-08-30T17:00Z",
            "2024-09-30T17:00Z",
            "2024-10-31T17:00Z",
            "2024-11-29T17:00Z",
        ],
    ),
    // Nearest weekday to the 15th: Jun 15 2024 is a Saturday, Sep 15 a Sunday.
    (
        "cron(0 9 15W * ? *)",
        "2024-06-01T00:00:00Z",
        &[
            "2024-06-14T09:00Z",
            "2024-07-15T09:00Z",
            "2024-08-15T09:00Z",
            "2024-09-16T09:00Z",
        ],
    ),
    // Feb 29 at noon: leap years only, and 2100 is not one.
    (
        "cron(0 12 29 FEB ? *)",
        "2096-03-01T00:00:00Z",
        &["2104-02-29T12:00Z", "2108-02-29T12:00Z"],
    ),
    // Month names, lists and a year range.
    (
        "cron(30 6 1 JAN,JUL ? 2025-2026)",
        "2024-05-03T17:58:00Z",
        &[
            "2025-01-01T06:30Z",
            "2025-07-01T06:30Z",
            "2026-01-01T06:30Z",
            "2026-07-01T06:30Z",
        ],
    ),
    // Weekend days by name.
    (
        "cron(0 7 ? * SAT,SUN *)",
        "2024-05-03T17:58:00Z",
        &[
            "2024-05-04T07:00Z",
            "2024-05-05T07:00Z",
            "2024-05-11T07:00Z",
        ],
    ),
    // Steps with ranges and years.
    (
        "cron(5-40/5 23 31 DEC ? 2030/10)",
        "2024-05-03T17:58:00Z",
        &["2030-12-31T23:05Z", "2030-12-31T23:10Z"],
    ),
    // Never: February 30th, and a year in the past.
    ("cron(0 0 30 2 ? *)", "2024-05-03T17:58:00Z", &[]),
    ("cron(0 0 * * ? 2020)", "2024-05-03T17:58:00Z", &[]),
];

#[test]
fn documented_examples_fire_when_aws_says() {
    for (expression, after, expected) in CASES {
        let created = utc("2020-01-01T00:00:00Z");
        let schedule = Schedule::rule(expression, created).expect("example parses");
        // An empty list asks for one slot and expects none.
        let got = slots(&schedule, after, expected.len().max(1));
        let want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        assert_eq!(got, want, "{expression} after {after}");
    }
}

#[test]
fn finite_examples_end() {
    let created = utc("2020-01-01T00:00:00Z");
    for (expression, after, last) in [
        ("cron(15 10 ? * 6L 2022-2023)", "2023-12-29T10:15:00Z", None),
        ("cron(0 0 30 2 ? *)", "1970-01-01T00:00:00Z", None),
        (
            "cron(59 23 31 12 ? 2199)",
            "2199-12-31T23:58:00Z",
            Some("2199-12-31T23:59:00Z"),
        ),
        ("cron(59 23 31 12 ? 2199)", "2199-12-31T23:59:00Z", None),
    ] {
        let schedule = Schedule::rule(expression, created).expect("parses");
        assert_eq!(
            schedule.next_after(utc(after)),
            last.map(utc),
            "{expression} after {after}"
        );
    }
}

#[test]
fn lower_case_names_are_accepted() {
    let created = utc("2020-01-01T00:00:00Z");
    let upper = Schedule::rule("cron(0 18 ? * MON-FRI *)", created).expect("parses");
    let lower = Schedule::rule("cron(0 18 ? * mon-fri *)", created).expect("parses");
    assert_eq!(
        slots(&upper, "2024-05-03T17:58:00Z", 5),
        slots(&lower, "2024-05-03T17:58:00Z", 5)
    );
}
