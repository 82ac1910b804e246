//! Property tests: parsing never panics on any input, and the field-skipping cron search agrees
//! with a minute-by-minute scan.

use chrono::{NaiveDateTime, TimeDelta};
use proptest::prelude::*;

use crate::cron::Cron;
use crate::{Dialect, Expression};

proptest! {
    #[test]
    fn parse_never_panics(text in "\\PC{0,40}") {
        let _ = Expression::parse(&text, Dialect::Scheduler);
        let _ = Expression::parse(&text, Dialect::Rule);
    }

    #[test]
    fn parse_never_panics_on_cron_like_text(
        fields in proptest::collection::vec("[0-9A-Z*?/,#LW-]{1,8}", 0..8)
    ) {
        let _ = Expression::parse(&format!("cron({})", fields.join(" ")), Dialect::Rule);
    }

    #[test]
    fn search_agrees_with_a_scan(
        minutes in prop::sample::select(vec!["*", "0", "0/15", "5-40/5", "59", "7,23"]),
        hours in prop::sample::select(vec!["*", "0", "8-17", "23", "22-2"]),
        days in prop::sample::select(vec![
            ("*", "?"), ("L", "?"), ("LW", "?"), ("15W", "?"), ("1,31", "?"),
            ("?", "MON-FRI"), ("?", "6L"), ("?", "2#1"), ("?", "L"), ("?", "SUN"),
        ]),
        start_minutes in 0i64..(4 * 366 * 24 * 60),
    ) {
        let text = format!("{minutes} {hours} {} * {} *", days.0, days.1);
        let cron = Cron::parse(&text).expect("generated cron parses");
        let after = NaiveDateTime::parse_from_str("2023-01-01 00:00", "%Y-%m-%d %H:%M")
            .expect("base parses")
            + TimeDelta::minutes(start_minutes);
        let found = cron.next_after(after);
        // Every generated day field matches at least once in 45 days.
        let horizon = 45 * 24 * 60;
        let scanned = (1..=horizon)
            .map(|m| after + TimeDelta::minutes(m))
            .find(|&t| cron.matches(t));
        prop_assert_eq!(found, scanned, "{} after {}", text, after);
    }
}
