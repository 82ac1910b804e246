//! Hearth's own `GetScheduleFireTimes` (AWS has no operation that tells when a schedule
//! fires next): the next slots of a schedule after now and the instant each fires, from
//! the timing the firing engine uses — the record's [`timing`](ScheduleRecord::timing)
//! (expression, time zone, `StartDate`/`EndDate`, a rate counted from its last write) and
//! its flexible window, the offset keyed by the schedule's ARN as the timer keys it. The
//! console's schedules page shows it; nothing is computed twice in the page.

use chrono::{DateTime, TimeDelta, Utc};
use hearth_schedule::{fire_time, FlexibleTimeWindow};
use serde_json::{json, Value};

use crate::records::{seconds, ScheduleRecord};
use crate::schedules::group_of;
use crate::{checks, Scheduler, SchedulerError};

/// How many fire times one answer holds at most, and when none is asked for.
const FIRE_TIMES_MAX: i64 = 100;
const FIRE_TIMES_DEFAULT: i64 = 5;

impl Scheduler {
    /// `{"ScheduleArn", "State", "ScheduleExpression", "ScheduleExpressionTimezone",
    /// "FireTimes": [{"ScheduledTime", "FireTime"}]}`: up to `max_results` (1..=100,
    /// default 5) slots, in order, whose firing is still to come — the slot's time
    /// (`<aws.scheduler.scheduled-time>`) and when the target is called (later within a
    /// `FLEXIBLE` window), as epoch seconds. A disabled schedule, or one with no slot left
    /// (an `at()` past, an `EndDate` reached), has none.
    pub fn schedule_fire_times(
        &self,
        account: &str,
        name: &str,
        group: Option<&str>,
        max_results: Option<i64>,
    ) -> Result<Value, SchedulerError> {
        checks::name(name, "name")?;
        let group = group_of(group)?;
        let count = max_results.unwrap_or(FIRE_TIMES_DEFAULT);
        checks::range(count, "maxResults", 1, FIRE_TIMES_MAX)?;
        let record = self.find_schedule(account, group, name)?;
        let times = if record.enabled() {
            upcoming(&record, self.now(), count as usize)?
        } else {
            Vec::new()
        };
        Ok(json!({
            "ScheduleArn": record.arn,
            "State": record.state,
            "ScheduleExpression": record.expression,
            "ScheduleExpressionTimezone": record.timezone,
            "FireTimes": times
                .iter()
                .map(|(slot, fire)| json!({
                    "ScheduledTime": seconds(slot.timestamp_millis()),
                    "FireTime": seconds(fire.timestamp_millis()),
                }))
                .collect::<Vec<_>>(),
        }))
    }
}

/// A slot and the instant it fires (later within a flexible window).
type Firing = (DateTime<Utc>, DateTime<Utc>);

/// The first `count` slots of `record` that fire after `now_ms`, with their fire times. A
/// slot already past still fires while its flexible window is open, so the search starts
/// one window back.
fn upcoming(
    record: &ScheduleRecord,
    now_ms: i64,
    count: usize,
) -> Result<Vec<Firing>, SchedulerError> {
    let timing = record
        .timing()
        .map_err(|e| SchedulerError::Internal(format!("schedule {}: {e}", record.arn)))?;
    let window = record.window();
    let now = DateTime::from_timestamp_millis(now_ms).unwrap_or(DateTime::UNIX_EPOCH);
    let open = match window {
        FlexibleTimeWindow::Off => TimeDelta::zero(),
        FlexibleTimeWindow::Flexible {
            maximum_window_minutes,
        } => TimeDelta::minutes(i64::from(maximum_window_minutes)),
    };
    let mut out = Vec::with_capacity(count);
    let mut after = now - open;
    while out.len() < count {
        let Some(slot) = timing.next_after(after) else {
            break;
        };
        let fire = fire_time(slot, window, &record.arn);
        if fire > now {
            out.push((slot, fire));
        }
        after = slot;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use chrono::DateTime;
    use hearth_schedule::{fire_time, FlexibleTimeWindow};
    use serde_json::{json, Value};

    use crate::requests::ScheduleInput;
    use crate::service::tests::{code_and_message, service, ACCOUNT, T0};

    const QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:q";
    const ROLE: &str = "arn:aws:iam::123456789012:role/scheduler";

    fn input(expression: &str, extra: Value) -> ScheduleInput {
        let mut body = json!({"ScheduleExpression": expression,
                              "FlexibleTimeWindow": {"Mode": "OFF"},
                              "Target": {"Arn": QUEUE, "RoleArn": ROLE}});
        for (k, v) in extra.as_object().expect("an object") {
            body[k] = v.clone();
        }
        serde_json::from_value(body).expect("request shape")
    }

    /// The answer's `(ScheduledTime, FireTime)` pairs, in ms.
    fn times(answer: &Value) -> Vec<(i64, i64)> {
        let ms = |v: &Value| (v.as_f64().expect("seconds") * 1000.0).round() as i64;
        answer["FireTimes"]
            .as_array()
            .expect("FireTimes")
            .iter()
            .map(|t| (ms(&t["ScheduledTime"]), ms(&t["FireTime"])))
            .collect()
    }

    #[test]
    fn a_rate_fires_every_interval_counted_from_its_last_write() {
        let (s, clock, _dir) = service();
        s.create_schedule(ACCOUNT, "r", input("rate(5 minutes)", json!({})))
            .expect("create");
        clock.store(T0 + 61_000, Ordering::SeqCst);
        let answer = s
            .schedule_fire_times(ACCOUNT, "r", None, Some(3))
            .expect("fire times");
        let five = 300_000;
        assert_eq!(
            times(&answer),
            [
                (T0 + five, T0 + five),
                (T0 + 2 * five, T0 + 2 * five),
                (T0 + 3 * five, T0 + 3 * five)
            ]
        );
        assert_eq!(
            answer["ScheduleArn"],
            "arn:aws:scheduler:us-east-1:123456789012:schedule/default/r"
        );
        assert_eq!(answer["State"], "ENABLED");
        assert_eq!(answer["ScheduleExpressionTimezone"], "UTC");
        // The default count.
        let answer = s.schedule_fire_times(ACCOUNT, "r", Some("default"), None);
        assert_eq!(times(&answer.expect("fire times")).len(), 5);
    }

    #[test]
    fn a_cron_fires_at_its_wall_clock_time_in_its_zone() {
        let (s, _, _dir) = service();
        // T0 is 2023-11-14T22:13:20Z: 23:13 in Berlin (CET, UTC+1).
        s.create_schedule(
            ACCOUNT,
            "c",
            input(
                "cron(0 10 * * ? *)",
                json!({"ScheduleExpressionTimezone": "Europe/Berlin"}),
            ),
        )
        .expect("create");
        let answer = s
            .schedule_fire_times(ACCOUNT, "c", None, Some(2))
            .expect("fire times");
        let nine_utc_nov_15 = 1_700_038_800_000; // 2023-11-15T09:00:00Z
        assert_eq!(
            times(&answer),
            [
                (nine_utc_nov_15, nine_utc_nov_15),
                (nine_utc_nov_15 + 86_400_000, nine_utc_nov_15 + 86_400_000)
            ]
        );
    }

    #[test]
    fn a_flexible_window_fires_within_it_even_for_a_slot_just_past() {
        let (s, clock, _dir) = service();
        s.create_schedule(
            ACCOUNT,
            "f",
            input(
                "rate(1 hour)",
                json!({"FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 30}}),
            ),
        )
        .expect("create");
        let window = 30 * 60_000;
        for now in [T0, T0 + 1, T0 + window - 1, T0 + window + 1] {
            clock.store(now, Ordering::SeqCst);
            let got = times(
                &s.schedule_fire_times(ACCOUNT, "f", None, Some(4))
                    .expect("fire times"),
            );
            assert_eq!(got.len(), 4);
            for (slot, fire) in &got {
                assert!(*fire > now, "{fire} is not after {now}");
                assert!(*slot <= *fire && *fire < *slot + window, "{slot} {fire}");
                assert_eq!((slot - T0) % 3_600_000, 0, "{slot} is not a slot");
            }
            // T0's slot is listed while its fire time is still to come, as the timer
            // fires it: at the offset keyed by the schedule's ARN.
            let arn = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/f";
            let at = |ms: i64| DateTime::from_timestamp_millis(ms).expect("a time");
            let t0_fires = fire_time(at(T0), flexible_30(), arn).timestamp_millis();
            let first = if t0_fires > now { T0 } else { T0 + 3_600_000 };
            assert_eq!(got[0].0, first, "at {now}");
        }
    }

    fn flexible_30() -> FlexibleTimeWindow {
        FlexibleTimeWindow::new("FLEXIBLE", Some(30)).expect("a window")
    }

    #[test]
    fn a_disabled_or_finished_schedule_has_none() {
        let (s, clock, _dir) = service();
        s.create_schedule(
            ACCOUNT,
            "off",
            input("rate(1 minute)", json!({"State": "DISABLED"})),
        )
        .expect("create");
        let answer = s
            .schedule_fire_times(ACCOUNT, "off", None, None)
            .expect("fire times");
        assert_eq!(answer["FireTimes"], json!([]));
        assert_eq!(answer["State"], "DISABLED");

        s.create_schedule(ACCOUNT, "once", input("at(2023-11-15T00:00:00)", json!({})))
            .expect("create");
        let once = s.schedule_fire_times(ACCOUNT, "once", None, None);
        assert_eq!(
            times(&once.expect("fire times")),
            [(1_700_006_400_000, 1_700_006_400_000)]
        );
        clock.store(1_700_006_400_000, Ordering::SeqCst);
        let once = s.schedule_fire_times(ACCOUNT, "once", None, None);
        assert_eq!(once.expect("fire times")["FireTimes"], json!([]));
    }

    #[test]
    fn bad_counts_and_missing_schedules_are_refused_as_the_service_refuses_them() {
        let (s, _, _dir) = service();
        s.create_schedule(ACCOUNT, "r", input("rate(5 minutes)", json!({})))
            .expect("create");
        for bad in [0, 101] {
            let (code, message) = code_and_message(
                s.schedule_fire_times(ACCOUNT, "r", None, Some(bad))
                    .expect_err("out of range"),
            );
            assert_eq!(code, "ValidationException");
            assert!(message.contains("'maxResults'"), "{message}");
        }
        assert_eq!(
            code_and_message(
                s.schedule_fire_times(ACCOUNT, "nope", None, None)
                    .expect_err("missing")
            ),
            (
                "ResourceNotFoundException".into(),
                "Schedule nope does not exist.".into()
            )
        );
        assert_eq!(
            code_and_message(
                s.schedule_fire_times(ACCOUNT, "r", Some("ops"), None)
                    .expect_err("missing group")
            )
            .0,
            "ResourceNotFoundException"
        );
    }
}
