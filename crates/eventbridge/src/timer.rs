//! [`Timer`]: the event source that fires scheduled rules and EventBridge Scheduler
//! schedules. One heap of (fire time, schedule) for all of them — no task and no polling
//! per schedule — kept by the node that holds the store's `schedules` lease (any node may
//! take it over; the lease only saves the others the work).
//!
//! Each slot fires once: the store's [`hearth_store::EventsStore::fire_schedule_slot`]
//! records the slot as fired and queues its deliveries in one transaction, and refuses a
//! slot not later than the last one fired, so neither two nodes nor a restart after a
//! `kill -9` fire a slot twice, and a slot is never recorded without its deliveries.
//!
//! Slots missed while no server ran (the outage policy, documented in docs/eventbridge.md):
//! when a schedule is loaded, only the latest slot it missed since its last fired slot is
//! fired, at once, and only if it is no older than the event age its targets accept
//! (`MaximumEventAgeInSeconds`, 24 hours by default) — as AWS would deliver an event its
//! outage delayed, late but within its retry window; earlier missed slots are dropped, so an
//! outage never ends with a burst. A schedule created, changed or enabled again counts its
//! slots from then: what it missed before does not fire.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use hearth_schedule::{fire_time, FlexibleTimeWindow, Schedule};
use hearth_triggers::{EventSource, RunningSource, SourceContext, SourceError, SpawnedSource};
use tokio::sync::{watch, Notify};

use crate::arn::REGION;
use crate::envelope::{Envelope, EventTime};
use crate::job::{Failure, Job, Sender};
use crate::records::Rule;
use crate::routing::{Routed, Routing};
use crate::{EventBridge, Json};

/// The lease whose holder fires the schedules.
const LEASE: &str = "schedules";
/// How long the lease lasts unrenewed: a node that died is replaced within this.
const LEASE_TTL: Duration = Duration::from_secs(10);
/// How often the holder renews it (and another node tries to take it).
const RENEW: Duration = Duration::from_secs(3);
/// How often the schedules are read again with no change seen here (another node's).
const REFRESH: Duration = Duration::from_secs(2);
/// How close a slot may be for a periodic reread to wait until it fired.
const QUIET_MS: i64 = 100;
/// A slot whose firing failed (the store) is tried again this much later.
const FIRE_RETRY_MS: i64 = 1000;
/// The most missed slots looked through to find the latest (bounded by the event age).
const MAX_SKIPPED: usize = 200_000;

/// A schedule the timer keeps: when it fires and what a slot delivers.
pub struct Timed {
    pub arn: String,
    pub schedule: Schedule,
    /// When the schedule was created, changed or enabled again (ms since the epoch): its
    /// first slot is the first after this (at or after, for Scheduler).
    pub since_ms: i64,
    pub window: FlexibleTimeWindow,
    /// How late a missed slot may still fire (the targets' event age limit), in ms.
    pub late_ms: i64,
    pub fire: Fire,
}

/// What a slot delivers.
pub enum Fire {
    /// A scheduled rule: the `Scheduled Event` to each of its targets.
    Rule(RuleFire),
    /// A Scheduler schedule: its one target.
    Target(ScheduledTarget),
}

/// A scheduled rule, compiled.
pub struct RuleFire {
    routed: Routed,
    account: String,
}

/// A Scheduler schedule's target, as the timer delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledTarget {
    pub arn: String,
    pub role_arn: String,
    /// `Input`, with the context attributes (`<aws.scheduler.schedule-arn>`, …) filled
    /// in at each slot.
    pub input: Option<String>,
    pub max_retries: u32,
    pub max_age_s: i64,
    pub dead_letter: Option<String>,
    /// `SqsParameters.MessageGroupId`.
    pub group_id: Option<String>,
    /// `EventBridgeParameters` of a bus target.
    pub detail_type: Option<String>,
    pub source: Option<String>,
    /// `ActionAfterCompletion: DELETE`: deleted once its last slot fired.
    pub delete_after_completion: bool,
}

/// Where the timer reads schedules from: EventBridge's scheduled rules, Scheduler's
/// schedules.
pub trait Timetable: Send + Sync + 'static {
    /// Every enabled schedule.
    fn load(&self) -> Result<Vec<Timed>, String>;
    /// Woken when a schedule was written through this server.
    fn changed(&self) -> Arc<Notify>;
    /// The schedule `arn` fired its last slot and is to be deleted
    /// (`ActionAfterCompletion: DELETE`).
    fn completed(&self, arn: &str);
}

/// EventBridge's rules with a `ScheduleExpression`, as a timetable.
pub struct ScheduledRules(pub EventBridge);

impl Timetable for ScheduledRules {
    fn load(&self) -> Result<Vec<Timed>, String> {
        let rows = self
            .0
            .store
            .events()
            .all_event_rules()
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for data in rows {
            let Ok(rule) = serde_json::from_str::<Rule>(&data) else {
                continue;
            };
            let Some(expr) = rule.schedule_expression.as_deref() else {
                continue;
            };
            if rule.state == "DISABLED" {
                continue;
            }
            let Ok(schedule) = Schedule::rule(expr, to_time(rule.scheduled_ms)) else {
                tracing::warn!(rule = %rule.arn, "a stored schedule expression does not parse; the rule does not fire");
                continue;
            };
            let routed = Routed::of(&rule);
            let late_ms = routed
                .targets
                .iter()
                .map(|t| t.max_age_s)
                .max()
                .unwrap_or(crate::job::DEFAULT_MAX_AGE_S)
                .saturating_mul(1000);
            let account = rule.created_by.clone();
            out.push(Timed {
                arn: rule.arn.clone(),
                schedule,
                since_ms: rule.scheduled_ms,
                window: FlexibleTimeWindow::Off,
                late_ms,
                fire: Fire::Rule(RuleFire { routed, account }),
            });
        }
        Ok(out)
    }

    fn changed(&self) -> Arc<Notify> {
        self.0.shared.rules_written.clone()
    }

    fn completed(&self, _arn: &str) {}
}

fn to_time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The slot of `t` to fire next at `now`, given the last slot fired (`last`): the first
/// slot after the last (or after `since_ms` if it was changed since), or — when that is
/// already past — the latest slot not after `now`, if it is within `late_ms`, else the
/// first slot after `now`. `None`: no slot is left.
pub fn next_slot(t: &Timed, last: Option<i64>, now: i64) -> Option<i64> {
    let first = match last {
        Some(l) if l >= t.since_ms => t.schedule.next_after(to_time(l)),
        _ => t.schedule.first_slot(to_time(t.since_ms)),
    }?
    .timestamp_millis();
    if first > now {
        return Some(first);
    }
    let floor = now.saturating_sub(t.late_ms);
    let mut slot = if first < floor {
        t.schedule
            .next_at_or_after(to_time(floor))?
            .timestamp_millis()
    } else {
        first
    };
    // `slot` is the oldest one still in time (or a future one): walk to the latest that
    // is not after `now`.
    for _ in 0..MAX_SKIPPED {
        if slot > now {
            break;
        }
        match t.schedule.next_after(to_time(slot)) {
            Some(n) if n.timestamp_millis() <= now => slot = n.timestamp_millis(),
            _ => break,
        }
    }
    Some(slot)
}

/// The text Scheduler sends: `Input` with its context attributes filled in.
fn scheduler_input(input: Option<&str>, arn: &str, slot_ms: i64, execution: &str) -> String {
    let Some(text) = input else {
        // UNSURE: what Scheduler sends without an `Input`; an empty JSON object here.
        return "{}".to_string();
    };
    let time = EventTime::from_epoch_seconds(slot_ms.div_euclid(1000))
        .map(EventTime::to_rfc3339)
        .unwrap_or_default();
    text.replace("<aws.scheduler.schedule-arn>", arn)
        .replace("<aws.scheduler.scheduled-time>", &time)
        .replace("<aws.scheduler.execution-id>", execution)
        .replace("<aws.scheduler.attempt-number>", "1")
}

impl Timed {
    /// The deliveries of the slot `slot_ms`.
    fn jobs(&self, slot_ms: i64) -> Vec<Job> {
        let id = uuid::Uuid::new_v4().to_string();
        let time = EventTime::from_epoch_seconds(slot_ms.div_euclid(1000))
            .unwrap_or_else(|| EventTime::from_epoch_seconds(0).expect("the epoch"));
        match &self.fire {
            Fire::Rule(r) => {
                let json = Envelope::scheduled(&id, &r.account, REGION, time, &self.arn).to_json();
                let event = Routing::new(&id, &json, None, 0);
                r.routed.deliveries(&event, slot_ms)
            }
            Fire::Target(t) => vec![target_job(&self.arn, t, &id, slot_ms, time)],
        }
    }
}

/// The delivery of a Scheduler schedule's slot to its target.
fn target_job(arn: &str, t: &ScheduledTarget, id: &str, slot_ms: i64, time: EventTime) -> Job {
    let payload = scheduler_input(t.input.as_deref(), arn, slot_ms, id);
    let account = hearth_model::arn::arn_account(arn).unwrap_or_default();
    let mut job = Job {
        origin: arn.to_string(),
        target_id: "target".into(),
        target_arn: t.arn.clone(),
        payload: payload.clone(),
        event: payload.clone(),
        event_id: id.to_string(),
        created_ms: slot_ms,
        max_retries: t.max_retries,
        max_age_s: t.max_age_s,
        dead_letter: t.dead_letter.clone(),
        group_id: t.group_id.clone(),
        trace_header: None,
        sender: Sender::Schedule {
            role_arn: t.role_arn.clone(),
        },
        hops: 0,
        failure: None,
    };
    if crate::TargetKind::of(&t.arn) == Some(crate::TargetKind::EventBus) {
        // PutEvents on the schedule's behalf: the input is the event's detail.
        match Json::parse(&payload) {
            Ok(detail @ Json::Object(_)) => {
                let envelope = Envelope {
                    id: id.to_string(),
                    // UNSURE: what Scheduler puts when EventBridgeParameters are absent
                    // (the API requires both with a bus target).
                    detail_type: t.detail_type.clone().unwrap_or_default(),
                    source: t.source.clone().unwrap_or_default(),
                    account: account.to_string(),
                    time,
                    region: REGION.to_string(),
                    resources: vec![arn.to_string()],
                    detail,
                };
                job.event = envelope.to_json().to_text();
            }
            _ => {
                let failure = Failure {
                    code: "INVALID_JSON".into(),
                    message:
                        "the schedule's Input is not a JSON object, which an event's detail must be"
                            .into(),
                    exhausted: None,
                    retry_attempts: 0,
                    target_arn: String::new(),
                };
                if let Some(dl) = job.dead_letter(failure) {
                    return dl;
                }
            }
        }
    }
    job
}

/// The timer source; the server adds it to its event sources.
pub struct Timer {
    eb: EventBridge,
    tables: Vec<Arc<dyn Timetable>>,
    node: String,
}

impl Timer {
    /// Fires the schedules of `tables` (EventBridge's own scheduled rules among them when
    /// the server passes [`ScheduledRules`]) as node `node` of the fleet.
    pub fn new(eb: &EventBridge, tables: Vec<Arc<dyn Timetable>>, node: &str) -> Self {
        Timer {
            eb: eb.clone(),
            tables,
            node: node.to_string(),
        }
    }
}

impl EventSource for Timer {
    fn name(&self) -> &'static str {
        "schedules"
    }

    fn start(self: Box<Self>, _ctx: SourceContext) -> Result<Box<dyn RunningSource>, SourceError> {
        // One wake-up for every timetable's changes.
        let changed = Arc::new(Notify::new());
        let mut forwards = Vec::new();
        for table in &self.tables {
            let from = table.changed();
            let to = changed.clone();
            forwards.push(tokio::spawn(async move {
                loop {
                    from.notified().await;
                    to.notify_one();
                }
            }));
        }
        Ok(SpawnedSource::spawn(|stopped| async move {
            self.run(changed, stopped).await;
            for f in forwards {
                f.abort();
            }
        }))
    }
}

/// A schedule in the heap: its settings, the slot it fires next and when.
struct Entry {
    timed: Timed,
    table: usize,
    slot_ms: i64,
    /// Told apart from a heap item of an older version of the entry.
    seq: u64,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    heap: BinaryHeap<Reverse<(i64, u64, String)>>,
    seq: u64,
}

impl State {
    fn push(&mut self, arn: String, mut entry: Entry, fire_at: i64) {
        self.seq += 1;
        entry.seq = self.seq;
        self.heap.push(Reverse((fire_at, self.seq, arn.clone())));
        self.entries.insert(arn, entry);
    }
}

/// When the slot `slot_ms` of `t` fires: the slot, or later within its flexible window.
fn fire_at(t: &Timed, slot_ms: i64) -> i64 {
    fire_time(to_time(slot_ms), t.window, &t.arn).timestamp_millis()
}

impl Timer {
    async fn run(self, changed: Arc<Notify>, mut stopped: watch::Receiver<bool>) {
        let mut state = State::default();
        let mut holding = false;
        let mut renewed = tokio::time::Instant::now() - RENEW;
        let mut loaded = tokio::time::Instant::now() - REFRESH;
        let mut reload = true;
        loop {
            if *stopped.borrow() {
                break;
            }
            if renewed.elapsed() >= RENEW {
                let held = self.hold_lease();
                if held != holding {
                    tracing::info!(node = %self.node, holding = held, "the schedules lease changed hands");
                    reload = true;
                    state = State::default();
                }
                holding = held;
                renewed = tokio::time::Instant::now();
            }
            if holding {
                self.fire_due(&mut state);
            }
            // Reading every schedule again waits while a slot is about to fire, so that
            // it does not make that slot late (a change seen here reloads at once).
            let imminent = state
                .heap
                .peek()
                .is_some_and(|Reverse((at, _, _))| *at - self.eb.now() < QUIET_MS);
            let overdue = loaded.elapsed() >= REFRESH;
            // ... but not forever, when slots come close after each other.
            let long_overdue = loaded.elapsed() >= 2 * REFRESH;
            if holding && (reload || (overdue && !imminent) || long_overdue) {
                self.reload(&mut state);
                loaded = tokio::time::Instant::now();
                reload = false;
                self.fire_due(&mut state);
            }
            let now = self.eb.now();
            let next = state
                .heap
                .peek()
                .map(|Reverse((at, _, _))| *at)
                .filter(|_| holding);
            let mut wait = RENEW.saturating_sub(renewed.elapsed());
            // An overdue reread waits for the imminent slot, which bounds the wait.
            if holding && loaded.elapsed() < REFRESH {
                wait = wait.min(REFRESH - loaded.elapsed());
            }
            if let Some(at) = next {
                let until = u64::try_from(at.saturating_sub(now)).unwrap_or(0);
                wait = wait.min(Duration::from_millis(until));
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = changed.notified() => reload = true,
                _ = stopped.changed() => {}
            }
        }
        if holding {
            let _ = self.eb.store.fleet().release_lease(LEASE, &self.node);
        }
    }

    /// Takes or renews the lease; whether this node holds it.
    fn hold_lease(&self) -> bool {
        match self
            .eb
            .store
            .fleet()
            .acquire_lease(LEASE, &self.node, LEASE_TTL)
        {
            Ok(lease) => lease.is_some(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot renew the schedules lease");
                false
            }
        }
    }

    /// Reads every timetable again: new schedules join the heap, changed ones are placed
    /// again, deleted ones leave.
    fn reload(&self, state: &mut State) {
        let now = self.eb.now();
        let mut seen: HashMap<String, ()> = HashMap::new();
        for (i, table) in self.tables.iter().enumerate() {
            let loaded = match table.load() {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the schedules; keeping those known");
                    for (arn, entry) in &state.entries {
                        if entry.table == i {
                            seen.insert(arn.clone(), ());
                        }
                    }
                    continue;
                }
            };
            for timed in loaded {
                let arn = timed.arn.clone();
                seen.insert(arn.clone(), ());
                if let Some(old) = state.entries.get_mut(&arn) {
                    if old.timed.schedule == timed.schedule
                        && old.timed.since_ms == timed.since_ms
                        && old.timed.window == timed.window
                    {
                        // Same timing: keep its place, take the new targets.
                        old.timed = timed;
                        continue;
                    }
                }
                let last = match self.eb.store.events().last_schedule_slot(&arn) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(schedule = %arn, error = %e, "cannot read a schedule's progress");
                        continue;
                    }
                };
                match next_slot(&timed, last, now) {
                    Some(slot) => {
                        let at = fire_at(&timed, slot);
                        let entry = Entry {
                            timed,
                            table: i,
                            slot_ms: slot,
                            seq: 0,
                        };
                        state.push(arn, entry, at);
                    }
                    None => {
                        state.entries.remove(&arn);
                        if let Fire::Target(t) = &timed.fire {
                            if t.delete_after_completion {
                                table.completed(&arn);
                            }
                        }
                    }
                }
            }
        }
        state.entries.retain(|arn, _| seen.contains_key(arn));
    }

    /// Fires every slot that is due, and places each schedule at its next slot.
    fn fire_due(&self, state: &mut State) {
        loop {
            let now = self.eb.now();
            let Some(Reverse((at, seq, arn))) = state.heap.peek().cloned() else {
                return;
            };
            if at > now {
                return;
            }
            state.heap.pop();
            let Some(entry) = state.entries.remove(&arn) else {
                continue;
            };
            if entry.seq != seq {
                state.entries.insert(arn, entry);
                continue;
            }
            let slot = entry.slot_ms;
            let rows = entry
                .timed
                .jobs(slot)
                .iter()
                .map(|j| crate::routing::row(j, now))
                .collect::<Result<Vec<_>, _>>();
            let fired = rows.map_err(|e| e.to_string()).and_then(|rows| {
                self.eb
                    .store
                    .events()
                    .fire_schedule_slot(&arn, slot, &rows)
                    .map_err(|e| e.to_string())
            });
            match fired {
                Ok(true) => {
                    tracing::debug!(schedule = %arn, slot, late_ms = now - slot, "fired");
                    self.eb.shared.wake.notify_one();
                }
                // Fired already (another node, before a restart), or deleted meanwhile.
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(schedule = %arn, slot, error = %e, "cannot fire a slot; trying again");
                    state.push(arn, entry, now + FIRE_RETRY_MS);
                    continue;
                }
            }
            // The next slot; after a pause (a suspended host) the latest missed one, as
            // after an outage.
            match next_slot(&entry.timed, Some(slot), self.eb.now()) {
                Some(next) => {
                    let at = fire_at(&entry.timed, next);
                    state.push(
                        arn,
                        Entry {
                            slot_ms: next,
                            ..entry
                        },
                        at,
                    );
                }
                None => {
                    if let Fire::Target(t) = &entry.timed.fire {
                        if t.delete_after_completion {
                            self.tables[entry.table].completed(&arn);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::{PutRule, PutTargets};
    use crate::service::tests::{service, ACCOUNT};
    use std::sync::atomic::Ordering;

    const MIN: i64 = 60_000;

    #[test]
    fn a_scheduled_rule_fires_each_slot_once_on_a_controlled_clock() {
        let (eb, time, _dir) = service();
        let t0 = time.load(Ordering::SeqCst);
        eb.put_rule(
            ACCOUNT,
            PutRule {
                name: "tick".into(),
                schedule_expression: Some("rate(1 minute)".into()),
                ..Default::default()
            },
        )
        .expect("rule");
        let targets: PutTargets = serde_json::from_value(serde_json::json!({
            "Rule": "tick",
            "Targets": [{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}]
        }))
        .expect("targets");
        eb.put_targets(ACCOUNT, targets).expect("put targets");
        let timer = Timer::new(&eb, vec![Arc::new(ScheduledRules(eb.clone()))], "n1");
        assert!(timer.hold_lease());
        let mut state = State::default();
        let fired = |state: &mut State, at: i64| {
            time.store(at, Ordering::SeqCst);
            timer.reload(state);
            timer.fire_due(state);
            let rows = eb
                .store
                .events()
                .claim_event_deliveries("test", i64::MAX / 2, 1, 100)
                .expect("claim");
            rows.iter()
                .map(|r| {
                    let job: Job = serde_json::from_str(&r.data).expect("job");
                    let event: serde_json::Value =
                        serde_json::from_str(&job.payload).expect("event");
                    eb.store
                        .events()
                        .finish_event_delivery(&r.id)
                        .expect("done");
                    event["time"].as_str().expect("time").to_string()
                })
                .collect::<Vec<_>>()
        };
        let at = |ms: i64| {
            EventTime::from_epoch_seconds(ms / 1000)
                .expect("time")
                .to_rfc3339()
        };
        // A rule's rate counts one interval from its creation.
        assert!(fired(&mut state, t0 + 59_999).is_empty());
        assert_eq!(fired(&mut state, t0 + MIN), [at(t0 + MIN)]);
        assert!(fired(&mut state, t0 + MIN + 500).is_empty());
        // Another timer (a restart, another node) does not fire the slot again.
        let mut fresh = State::default();
        assert!(fired(&mut fresh, t0 + MIN + 900).is_empty());
        assert_eq!(fired(&mut state, t0 + 2 * MIN), [at(t0 + 2 * MIN)]);
        assert!(fired(&mut fresh, t0 + 2 * MIN + 10).is_empty());
        let event = {
            time.store(t0 + 3 * MIN, Ordering::SeqCst);
            timer.fire_due(&mut state);
            let rows = eb
                .store
                .events()
                .claim_event_deliveries("test", i64::MAX / 2, 1, 100)
                .expect("claim");
            let job: Job = serde_json::from_str(&rows[0].data).expect("job");
            serde_json::from_str::<serde_json::Value>(&job.payload).expect("event")
        };
        assert_eq!(event["detail-type"], "Scheduled Event");
        assert_eq!(event["source"], "aws.events");
        assert_eq!(event["account"], ACCOUNT);
        assert_eq!(
            event["resources"],
            serde_json::json!(["arn:aws:events:us-east-1:123456789012:rule/tick"])
        );
        assert_eq!(event["detail"], serde_json::json!({}));
        // Disabled: nothing fires; enabled again: it counts from then.
        eb.set_rule_state(ACCOUNT, "tick", None, false)
            .expect("disable");
        assert!(fired(&mut state, t0 + 5 * MIN).is_empty());
        time.store(t0 + 5 * MIN + 30_000, Ordering::SeqCst);
        eb.set_rule_state(ACCOUNT, "tick", None, true)
            .expect("enable");
        assert!(fired(&mut state, t0 + 6 * MIN).is_empty());
        assert_eq!(
            fired(&mut state, t0 + 6 * MIN + 30_000),
            [at(t0 + 6 * MIN + 30_000)]
        );
    }

    fn timed(expr: &str, since_ms: i64, late_ms: i64) -> Timed {
        Timed {
            arn: "arn:aws:scheduler:us-east-1:123456789012:schedule/default/s".into(),
            schedule: Schedule::scheduler(expr, None, None, None, to_time(since_ms))
                .expect("schedule"),
            since_ms,
            window: FlexibleTimeWindow::Off,
            late_ms,
            fire: Fire::Target(ScheduledTarget {
                arn: "arn:aws:sqs:us-east-1:123456789012:q".into(),
                role_arn: "arn:aws:iam::123456789012:role/r".into(),
                input: Some(r#"{"arn":"<aws.scheduler.schedule-arn>","at":"<aws.scheduler.scheduled-time>"}"#.into()),
                max_retries: 185,
                max_age_s: 86_400,
                dead_letter: None,
                group_id: None,
                detail_type: None,
                source: None,
                delete_after_completion: false,
            }),
        }
    }

    #[test]
    fn the_next_slot_follows_the_last_fired_one() {
        let t = timed("rate(5 minutes)", 0, 60 * MIN);
        // Never fired: the first slot, at creation for a Scheduler rate.
        assert_eq!(next_slot(&t, None, 0), Some(0));
        assert_eq!(next_slot(&t, Some(0), 1), Some(5 * MIN));
        assert_eq!(next_slot(&t, Some(5 * MIN), 5 * MIN), Some(10 * MIN));
    }

    #[test]
    fn after_an_outage_only_the_latest_missed_slot_fires_if_still_in_time() {
        let t = timed("rate(5 minutes)", 0, 60 * MIN);
        // Down from 10:00 to 10:23 (slots 10:05 … 10:20 missed): 10:20 fires, late.
        assert_eq!(next_slot(&t, Some(0), 23 * MIN), Some(20 * MIN));
        // Down for longer than the event age: nothing late within it fires except the
        // latest slot, which still is in time.
        assert_eq!(next_slot(&t, Some(0), 600 * MIN), Some(600 * MIN));
        assert_eq!(next_slot(&t, Some(0), 601 * MIN), Some(600 * MIN));
        let strict = timed("rate(5 minutes)", 0, MIN);
        assert_eq!(next_slot(&strict, Some(0), 23 * MIN), Some(25 * MIN));
        assert_eq!(
            next_slot(&strict, Some(0), 20 * MIN + 30_000),
            Some(20 * MIN)
        );
    }

    #[test]
    fn a_changed_schedule_counts_from_its_change() {
        // Changed at 10:07 after firing 10:00: 10:05 is not fired late; the rate now
        // counts from 10:07.
        let t = timed("rate(5 minutes)", 7 * MIN, 60 * MIN);
        assert_eq!(next_slot(&t, Some(0), 7 * MIN), Some(7 * MIN));
        assert_eq!(next_slot(&t, Some(7 * MIN), 7 * MIN), Some(12 * MIN));
    }

    #[test]
    fn a_cron_in_a_time_zone_follows_its_clock_across_daylight_saving() {
        let ms = |t: &str| t.parse::<DateTime<Utc>>().expect("time").timestamp_millis();
        let since = ms("2024-10-25T00:00:00Z");
        let mut t = timed("rate(5 minutes)", since, 60 * MIN);
        t.schedule = Schedule::scheduler(
            "cron(0 9 * * ? *)",
            Some("Europe/Berlin"),
            None,
            None,
            to_time(since),
        )
        .expect("schedule");
        // 09:00 in Berlin: CEST (UTC+2) until 27 October 2024, CET (UTC+1) after.
        let first = next_slot(&t, None, since).expect("slot");
        assert_eq!(first, ms("2024-10-25T07:00:00Z"));
        let second = next_slot(&t, Some(first), first).expect("slot");
        assert_eq!(second, ms("2024-10-26T07:00:00Z"));
        let third = next_slot(&t, Some(second), second).expect("slot");
        assert_eq!(third, ms("2024-10-27T08:00:00Z"));
        // Spring forward (31 March 2024, 02:00 → 03:00): 02:30 does not exist that day
        // and is skipped; the first slot after the 30th's noon is 1 April's.
        t.schedule = Schedule::scheduler(
            "cron(30 2 * * ? *)",
            Some("Europe/Berlin"),
            None,
            None,
            to_time(ms("2024-03-30T12:00:00Z")),
        )
        .expect("schedule");
        t.since_ms = ms("2024-03-30T12:00:00Z");
        let a = next_slot(&t, None, t.since_ms).expect("slot");
        assert_eq!(a, ms("2024-04-01T00:30:00Z"));
        let b = next_slot(&t, Some(a), a).expect("slot");
        assert_eq!(b, ms("2024-04-02T00:30:00Z"));
    }

    #[test]
    fn a_one_time_schedule_has_one_slot() {
        let t = timed("at(1970-01-01T01:00:00)", 0, 60 * MIN);
        assert_eq!(next_slot(&t, None, 0), Some(60 * MIN));
        assert_eq!(next_slot(&t, Some(60 * MIN), 60 * MIN), None);
        // Missed by less than its event age: fires late; by more: never.
        assert_eq!(next_slot(&t, None, 90 * MIN), Some(60 * MIN));
        assert_eq!(next_slot(&t, None, 121 * MIN), None);
    }

    #[test]
    fn a_schedules_input_gets_its_context_attributes() {
        let t = timed("rate(5 minutes)", 0, 60 * MIN);
        let [job] = t.jobs(5 * MIN).try_into().expect("one job");
        assert_eq!(
            job.payload,
            r#"{"arn":"arn:aws:scheduler:us-east-1:123456789012:schedule/default/s","at":"1970-01-01T00:05:00Z"}"#
        );
        assert_eq!(job.created_ms, 5 * MIN);
        assert_eq!(
            job.sender,
            Sender::Schedule {
                role_arn: "arn:aws:iam::123456789012:role/r".into()
            }
        );
    }

    #[test]
    fn a_bus_target_gets_the_input_as_an_events_detail() {
        let mut t = timed("rate(5 minutes)", 0, 60 * MIN);
        if let Fire::Target(target) = &mut t.fire {
            target.arn = "arn:aws:events:us-east-1:123456789012:event-bus/default".into();
            target.detail_type = Some("tick".into());
            target.source = Some("my.app".into());
            target.input = Some(r#"{"n": 1}"#.into());
        }
        let [job] = t.jobs(5 * MIN).try_into().expect("one job");
        let event: serde_json::Value = serde_json::from_str(&job.event).expect("event");
        assert_eq!(event["detail-type"], "tick");
        assert_eq!(event["source"], "my.app");
        assert_eq!(event["detail"], serde_json::json!({"n": 1}));
        assert_eq!(event["time"], "1970-01-01T00:05:00Z");
        assert_eq!(event["resources"][0], t.arn.as_str());
    }
}
