//! A sanity run: many schedules, many steps, and the searches that find nothing all end.
//! No timing is asserted (timed figures belong in the benchmark).

use super::utc;
use crate::Schedule;

const EXPRESSIONS: &[&str] = &[
    "cron(0/5 8-17 ? * MON-FRI *)",
    "cron(0 9 ? * 2#1 *)",
    "cron(15 10 ? * 6L *)",
    "cron(0 12 15W * ? *)",
    "cron(0 0 LW * ? *)",
    "cron(0 0 29 2 ? *)",
    "cron(0 0 30 2 ? *)",
    "cron(0 0 31 APR ? *)",
    "cron(0 0 ? * 6#5 2198-2199)",
    "cron(0 0 * * ? 1970)",
    "rate(7 minutes)",
    "rate(3 days)",
];

#[test]
fn ten_thousand_next_fire_times_terminate() {
    let created = utc("2024-01-01T00:00:00Z");
    let zones = [
        "UTC",
        "America/New_York",
        "Europe/Berlin",
        "Australia/Lord_Howe",
    ];
    let schedules: Vec<Schedule> = (0..10_000)
        .map(|i| {
            Schedule::scheduler(
                EXPRESSIONS[i % EXPRESSIONS.len()],
                Some(zones[i % zones.len()]),
                None,
                None,
                created,
            )
            .expect("schedule is valid")
        })
        .collect();
    let after = utc("2024-03-09T12:34:56Z");
    let found = schedules
        .iter()
        .filter_map(|s| s.next_after(after))
        .inspect(|t| assert!(*t > after))
        .count();
    // Feb 30, Apr 31 and 1970 never fire: indexes 6, 7 and 9 modulo 12, 833 times each.
    assert_eq!(found, 10_000 - 3 * 833);
}

#[test]
fn one_schedule_walked_ten_thousand_steps() {
    let schedule = Schedule::scheduler(
        "cron(0/5 8-17 ? * MON-FRI *)",
        Some("America/New_York"),
        None,
        None,
        utc("2024-01-01T00:00:00Z"),
    )
    .expect("schedule is valid");
    let mut t = utc("2024-01-01T00:00:00Z");
    for _ in 0..10_000 {
        let next = schedule.next_after(t).expect("recurs");
        assert!(next > t);
        t = next;
    }
    // 120 slots a weekday: slot 10,000 is the 40th (11:15 EDT) of the 84th weekday from
    // Monday 2024-01-01, Thursday 2024-04-25.
    assert_eq!(t, utc("2024-04-25T15:15:00Z"));
}
