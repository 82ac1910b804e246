//! The Scheduler figure: how late one-time `at()` schedules fire. `count` schedules, one
//! `at()` second each (or `per_second` sharing each second, the dense mode), the first
//! [`LEAD`] ahead, each targeting one SQS queue with its slot in `Input`; the bench
//! long-polls the queue and takes, for each message, its arrival at the bench minus its
//! slot. That includes the delivery to the queue and the receive: the figure is what a
//! consumer of the schedule would see.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use super::load::{self, Conn};
use super::messaging::{create_queue, queue_arn, sqs};
use super::progress;
use super::report::{percentile, Report, Target};
use super::server::Server;

/// How far ahead the first slot is: time to create the schedules before it.
const LEAD: Duration = Duration::from_secs(20);
/// How long after the last slot the bench waits for messages still missing.
const GRACE: Duration = Duration::from_secs(60);
/// Parallel CreateSchedule calls.
const CREATORS: usize = 4;
/// A schedule created closer to its slot than this counts as created too late.
const MIN_AHEAD_MS: i64 = 1_000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `at(yyyy-mm-ddThh:mm:ss)` of an epoch second, in UTC (the schedules set no time zone).
pub(super) fn at_expression(epoch_s: i64) -> String {
    let (days, secs) = (epoch_s.div_euclid(86_400), epoch_s.rem_euclid(86_400));
    // Days to a civil date (proleptic Gregorian): Howard Hinnant's `civil_from_days`.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "at({year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02})",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

/// The slot (epoch second) of schedule `i`.
pub(super) fn slot_of(first_s: i64, per_second: u32, i: usize) -> i64 {
    first_s + (i / per_second.max(1) as usize) as i64
}

fn create_schedule(
    conn: &mut Conn,
    i: usize,
    slot_s: i64,
    queue_arn: &str,
    role: &str,
) -> anyhow::Result<()> {
    if slot_s * 1_000 - now_ms() < MIN_AHEAD_MS {
        bail!(
            "creating the schedules fell behind their slots (schedule {i}, {} s ahead was \
             too little)",
            LEAD.as_secs()
        );
    }
    let body = serde_json::to_vec(&json!({
        "ScheduleExpression": at_expression(slot_s),
        "FlexibleTimeWindow": { "Mode": "OFF" },
        "Target": {
            "Arn": queue_arn,
            "RoleArn": role,
            "Input": json!({ "i": i, "slot": slot_s }).to_string(),
        },
    }))?;
    let response = conn.request(
        "POST",
        &format!("/schedules/bench-at-{i}"),
        &[("Content-Type", "application/json")],
        &body,
    )?;
    if response.status() != 200 {
        bail!(
            "CreateSchedule bench-at-{i} answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    Ok(())
}

/// The jitter figure: `count` schedules, `per_second` to each second.
pub(super) fn jitter(
    server: &Server,
    count: usize,
    per_second: u32,
    report: &mut Report,
) -> anyhow::Result<()> {
    let addr = server.addr();
    let mut conn = Conn::new(addr);
    let url = create_queue(&mut conn, "bench-schedules")?;
    let arn = queue_arn(&mut conn, &url)?;
    let account = arn
        .split(':')
        .nth(4)
        .context("the queue's ARN names no account")?;
    // The role every server makes on its first start: trusts the Scheduler, may send.
    let role = format!("arn:aws:iam::{account}:role/hearth-scheduler");
    let first_s = (now_ms() + LEAD.as_millis() as i64).div_euclid(1_000) + 1;
    let last_s = slot_of(first_s, per_second, count.saturating_sub(1));
    progress(format!(
        "schedules: creating {count} at() schedules, {per_second} a second, firing from \
         {} to {} (about {} s from now)",
        at_expression(first_s),
        at_expression(last_s),
        (last_s * 1_000 - now_ms()) / 1_000
    ));
    // In slot order, so that the first slots are created first.
    let jobs: Vec<usize> = (0..count).collect();
    let (target, who) = (arn.clone(), role.clone());
    load::run_jobs(addr, jobs, CREATORS, move |conn, i| {
        create_schedule(conn, i, slot_of(first_s, per_second, i), &target, &who)
    })?;

    let mut late_ms: Vec<Option<f64>> = vec![None; count];
    let mut duplicates = 0u64;
    let mut received = 0usize;
    let deadline_ms = last_s * 1_000 + GRACE.as_millis() as i64;
    while received < count {
        let left_ms = deadline_ms - now_ms();
        if left_ms <= 0 {
            break;
        }
        let wait = (left_ms / 1_000).clamp(1, 20);
        let out = sqs(
            &mut conn,
            "AmazonSQS.ReceiveMessage",
            // Received messages stay invisible for the rest of the run: no deletes
            // between two receives, whose time would make the next arrival look later.
            &json!({
                "QueueUrl": url,
                "MaxNumberOfMessages": 10,
                "WaitTimeSeconds": wait,
                "VisibilityTimeout": 43_200,
            }),
        )?;
        let arrived_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3);
        for message in out["Messages"].as_array().into_iter().flatten() {
            let input: Value = message["Body"]
                .as_str()
                .and_then(|b| serde_json::from_str(b).ok())
                .with_context(|| format!("a message that is no schedule's input: {message}"))?;
            let (Some(i), Some(slot)) = (input["i"].as_u64(), input["slot"].as_i64()) else {
                bail!("a message that is no schedule's input: {input}");
            };
            let Some(entry) = late_ms.get_mut(i as usize) else {
                bail!("a message for schedule {i}, of {count}");
            };
            if entry.is_some() {
                duplicates += 1;
                continue;
            }
            *entry = Some(arrived_ms - (slot * 1_000) as f64);
            received += 1;
            if received.is_multiple_of(100) {
                progress(format!("schedules: {received} of {count} arrived"));
            }
        }
    }
    let samples: Vec<f64> = late_ms.iter().flatten().copied().collect();
    if samples.is_empty() {
        bail!("none of the {count} schedules reached the queue");
    }
    let missing = count - samples.len();
    if missing > 0 {
        report.notes.push(format!(
            "{missing} of {count} schedules never reached the queue within {GRACE:?} of the \
             last slot"
        ));
    }
    report.fact("schedules", count);
    report.fact("schedules_per_second", per_second);
    report.fact("schedules_duplicated", duplicates);
    // Each schedule's lateness in slot order (null: never arrived), to see where the tail is.
    report.fact(
        "schedule_lateness_ms",
        late_ms
            .iter()
            .map(|l| l.map(|ms| (ms * 10.0).round() / 10.0))
            .collect::<Vec<_>>(),
    );
    report.add(
        "schedule_fire_to_queue_p50_ms",
        "Scheduler at() slot to message in SQS at the bench p50 (incl. delivery)",
        "ms",
        percentile(&samples, 50.0),
        None,
    );
    report.add(
        "schedule_fire_to_queue_p99_ms",
        "Scheduler at() firing jitter p99 (slot to message at the bench, incl. delivery)",
        "ms",
        percentile(&samples, 99.0),
        Some(Target::AtMost(50.0)),
    );
    report.add(
        "schedule_fire_to_queue_max_ms",
        "Scheduler at() slot to message at the bench, max",
        "ms",
        samples.iter().copied().reduce(f64::max),
        None,
    );
    report.add(
        "schedule_missed",
        "Scheduler at() schedules that never arrived",
        "",
        Some(missing as f64),
        Some(Target::AtMost(0.0)),
    );
    report.method(
        "schedules",
        &format!(
            "EventBridge Scheduler's REST-JSON protocol, signed. {count} one-time at() \
             schedules (UTC, FlexibleTimeWindow OFF), {per_second} to each second from {} s \
             ahead, each targeting one SQS queue with the hearth-scheduler role and an Input \
             naming its slot. The bench long-polls the queue (ReceiveMessage of 10, \
             WaitTimeSeconds up to 20, nothing deleted) and takes for each message its \
             arrival at the bench minus its slot: firing, delivery to the queue and the \
             receive together. Duplicates are counted, not measured.",
            LEAD.as_secs()
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_expressions_are_utc_civil_times() {
        assert_eq!(at_expression(0), "at(1970-01-01T00:00:00)");
        // 2026-12-03T12:00:05Z.
        assert_eq!(at_expression(1_796_299_205), "at(2026-12-03T12:00:05)");
        // A leap day: 2024-02-29T23:59:59Z.
        assert_eq!(at_expression(1_709_251_199), "at(2024-02-29T23:59:59)");
    }

    #[test]
    fn slots_share_seconds_in_the_dense_mode() {
        assert_eq!(slot_of(100, 1, 0), 100);
        assert_eq!(slot_of(100, 1, 59), 159);
        assert_eq!(slot_of(100, 10, 9), 100);
        assert_eq!(slot_of(100, 10, 10), 101);
        assert_eq!(slot_of(100, 0, 3), 103);
    }
}
