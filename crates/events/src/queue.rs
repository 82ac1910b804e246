//! The in-memory half of the queue: which events wait, per function, and which may run
//! next. The durable half is the store's `queue` table; every event here has its row
//! there, and this view is rebuilt from the table at start.
//!
//! Fairness: functions with ready events take turns (round robin), and while other
//! functions wait, none holds more than its share of the delivery slots, so a backlog
//! of one function does not starve another's events.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};

use bytes::Bytes;
use hearth_store::QueuedEvent;
use hearth_triggers::QueueStats;

/// An event waiting in memory; its payload may be left in the store to bound memory.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub event: QueuedEvent,
    pub payload: Option<Bytes>,
}

#[derive(Default)]
struct Lane {
    ready: VecDeque<Pending>,
    /// Waiting for their due time (in `Queue::delayed`).
    delayed: usize,
    /// Running now: sequence number → accepted time.
    running: HashMap<i64, i64>,
    /// No new attempt before this (after a throttle).
    paused_until: i64,
}

impl Lane {
    fn is_idle(&self) -> bool {
        self.ready.is_empty() && self.delayed == 0 && self.running.is_empty()
    }
}

pub(crate) struct Queue {
    lanes: HashMap<String, Lane>,
    delayed: BinaryHeap<Reverse<(i64, i64)>>,
    delayed_events: HashMap<i64, Pending>,
    /// Functions with ready events, in turn order.
    ring: VecDeque<String>,
    running: usize,
    payload_bytes: usize,
    payload_budget: usize,
    /// Every event here, waiting or running.
    known: HashSet<i64>,
}

impl Queue {
    pub(crate) fn new(payload_budget: usize) -> Self {
        Self {
            lanes: HashMap::new(),
            delayed: BinaryHeap::new(),
            delayed_events: HashMap::new(),
            ring: VecDeque::new(),
            running: 0,
            payload_bytes: 0,
            payload_budget,
            known: HashSet::new(),
        }
    }

    /// Whether the event is here (waiting or running).
    pub(crate) fn knows(&self, seq: i64) -> bool {
        self.known.contains(&seq)
    }

    /// Drops every waiting event (running ones stay); answers their sequence numbers.
    pub(crate) fn let_go(&mut self) -> Vec<i64> {
        let mut out: Vec<i64> = self.delayed_events.drain().map(|(seq, _)| seq).collect();
        self.delayed.clear();
        for lane in self.lanes.values_mut() {
            out.extend(lane.ready.drain(..).map(|p| p.event.seq));
            lane.delayed = 0;
        }
        self.lanes.retain(|_, l| !l.is_idle());
        self.ring.clear();
        self.payload_bytes = 0;
        for seq in &out {
            self.known.remove(seq);
        }
        out
    }

    /// Adds an event; it is ready at its due time. Its payload is kept in memory while
    /// the budget allows, else it is read from the store when the event runs.
    pub(crate) fn push(&mut self, mut p: Pending, now: i64) {
        self.known.insert(p.event.seq);
        if let Some(b) = &p.payload {
            if self.payload_bytes + b.len() > self.payload_budget {
                p.payload = None;
            } else {
                self.payload_bytes += b.len();
            }
        }
        let lane = self.lanes.entry(p.event.function.clone()).or_default();
        if p.event.due_ms <= now {
            if lane.ready.is_empty() {
                self.ring.push_back(p.event.function.clone());
            }
            lane.ready.push_back(p);
        } else {
            lane.delayed += 1;
            self.delayed.push(Reverse((p.event.due_ms, p.event.seq)));
            self.delayed_events.insert(p.event.seq, p);
        }
    }

    /// Makes every event due by `now` ready.
    pub(crate) fn promote(&mut self, now: i64) {
        while let Some(Reverse((due, seq))) = self.delayed.peek().copied() {
            if due > now {
                break;
            }
            self.delayed.pop();
            let Some(p) = self.delayed_events.remove(&seq) else {
                continue;
            };
            let lane = self.lanes.entry(p.event.function.clone()).or_default();
            lane.delayed -= 1;
            if lane.ready.is_empty() {
                self.ring.push_back(p.event.function.clone());
            }
            lane.ready.push_back(p);
        }
    }

    /// Takes up to `slots` ready events to run now, functions taking turns. `cap` is a
    /// function's own limit on running events, and `total` the limit of all running
    /// events, from which each function's fair share is worked out.
    pub(crate) fn take(
        &mut self,
        now: i64,
        slots: usize,
        total: usize,
        cap: impl Fn(&str) -> usize,
    ) -> Vec<Pending> {
        let mut out = Vec::new();
        let active = self
            .lanes
            .values()
            .filter(|l| !l.ready.is_empty() || !l.running.is_empty())
            .count()
            .max(1);
        let share = (total / active).max(1);
        // First everyone up to their share, then (work-conserving) whoever can use more.
        for limit_to_share in [true, false] {
            let mut progressed = true;
            while out.len() < slots && progressed {
                progressed = false;
                for _ in 0..self.ring.len() {
                    if out.len() >= slots {
                        break;
                    }
                    let Some(f) = self.ring.pop_front() else {
                        break;
                    };
                    let Some(lane) = self.lanes.get_mut(&f) else {
                        continue;
                    };
                    let limit = if limit_to_share {
                        share.min(cap(&f))
                    } else {
                        cap(&f)
                    };
                    if lane.paused_until <= now && lane.running.len() < limit {
                        if let Some(p) = lane.ready.pop_front() {
                            lane.running.insert(p.event.seq, p.event.accepted_ms);
                            self.running += 1;
                            if let Some(b) = &p.payload {
                                self.payload_bytes -= b.len();
                            }
                            out.push(p);
                            progressed = true;
                        }
                    }
                    if !lane.ready.is_empty() {
                        self.ring.push_back(f);
                    }
                }
            }
        }
        out
    }

    /// An event taken by [`Queue::take`] has finished its attempt; `again` puts it back
    /// for another one.
    pub(crate) fn finish(&mut self, function: &str, seq: i64, again: Option<Pending>, now: i64) {
        match again {
            Some(p) => self.push(p, now),
            None => {
                self.known.remove(&seq);
            }
        }
        if let Some(lane) = self.lanes.get_mut(function) {
            if lane.running.remove(&seq).is_some() {
                self.running -= 1;
            }
            if lane.is_idle() {
                self.lanes.remove(function);
            }
        }
    }

    /// No attempt for `function` starts before `until` (it was throttled).
    pub(crate) fn pause(&mut self, function: &str, until: i64) {
        if let Some(lane) = self.lanes.get_mut(function) {
            lane.paused_until = lane.paused_until.max(until);
        }
    }

    pub(crate) fn running(&self) -> usize {
        self.running
    }

    /// When something next becomes ready after `now`: a delayed event's due time or the
    /// end of a pause of a function with ready events.
    pub(crate) fn next_wakeup(&self, now: i64) -> Option<i64> {
        let delayed = self.delayed.peek().map(|Reverse((due, _))| *due);
        let paused = self
            .lanes
            .values()
            .filter(|l| !l.ready.is_empty() && l.paused_until > now)
            .map(|l| l.paused_until)
            .min();
        match (delayed, paused) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Per function: waiting and running events and the oldest acceptance time.
    pub(crate) fn stats(&self) -> Vec<QueueStats> {
        let mut oldest: HashMap<&str, i64> = HashMap::new();
        let mut out: Vec<QueueStats> = self
            .lanes
            .iter()
            .map(|(f, l)| {
                let ready = l.ready.iter().map(|p| p.event.accepted_ms);
                let running = l.running.values().copied();
                QueueStats {
                    function: f.clone(),
                    queued: l.ready.len() + l.delayed,
                    running: l.running.len(),
                    oldest_accepted_ms: ready.chain(running).min().unwrap_or(i64::MAX),
                }
            })
            .collect();
        for p in self.delayed_events.values() {
            let e = oldest.entry(p.event.function.as_str()).or_insert(i64::MAX);
            *e = (*e).min(p.event.accepted_ms);
        }
        for s in &mut out {
            if let Some(t) = oldest.get(s.function.as_str()) {
                s.oldest_accepted_ms = s.oldest_accepted_ms.min(*t);
            }
        }
        out.sort_by(|a, b| a.function.cmp(&b.function));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_store::Progress;

    fn pending(function: &str, seq: i64, due_ms: i64, payload: &'static [u8]) -> Pending {
        Pending {
            event: QueuedEvent {
                seq,
                owner: None,
                request_id: format!("r{seq}"),
                function: function.into(),
                qualifier: None,
                client_context: None,
                accepted_ms: seq,
                due_ms,
                progress: Progress::default(),
                trace_header: None,
                counts_lineage: false,
            },
            payload: Some(Bytes::from_static(payload)),
        }
    }

    fn functions(taken: &[Pending]) -> Vec<&str> {
        taken.iter().map(|p| p.event.function.as_str()).collect()
    }

    #[test]
    fn functions_take_turns_and_a_backlog_keeps_to_its_share() {
        let mut q = Queue::new(1 << 20);
        for i in 0..100 {
            q.push(pending("big", i, 0, b"{}"), 0);
        }
        q.push(pending("small", 1000, 0, b"{}"), 0);
        q.push(pending("small", 1001, 0, b"{}"), 0);
        let taken = q.take(0, 4, 4, |_| usize::MAX);
        assert_eq!(functions(&taken), ["big", "small", "big", "small"]);
        // All 4 slots are busy; when one of big's finishes, big may not exceed its
        // share (2 of 4) while small has nothing ready: work-conserving, it takes it.
        q.finish("big", taken[0].event.seq, None, 0);
        let next = q.take(0, 1, 4, |_| usize::MAX);
        assert_eq!(functions(&next), ["big"]);
        assert_eq!(q.running(), 4);
    }

    #[test]
    fn a_backlog_yields_to_a_newcomer() {
        let mut q = Queue::new(1 << 20);
        for i in 0..10 {
            q.push(pending("big", i, 0, b"{}"), 0);
        }
        let taken = q.take(0, 4, 4, |_| usize::MAX);
        assert_eq!(taken.len(), 4);
        q.push(pending("new", 100, 0, b"{}"), 0);
        q.finish("big", taken[0].event.seq, None, 0);
        assert_eq!(functions(&q.take(0, 1, 4, |_| usize::MAX)), ["new"]);
    }

    #[test]
    fn caps_pauses_and_due_times() {
        let mut q = Queue::new(1 << 20);
        q.push(pending("f", 1, 0, b"{}"), 0);
        q.push(pending("f", 2, 0, b"{}"), 0);
        q.push(pending("f", 3, 500, b"{}"), 0);
        assert_eq!(q.take(0, 10, 10, |_| 1).len(), 1, "reserved 1 caps f");
        q.finish("f", 1, None, 0);
        q.pause("f", 200);
        assert!(q.take(100, 10, 10, |_| 1).is_empty(), "paused");
        assert_eq!(q.next_wakeup(100), Some(200));
        assert_eq!(q.take(200, 10, 10, |_| 1).len(), 1);
        q.finish("f", 2, None, 200);
        assert!(q.take(400, 10, 10, |_| 1).is_empty(), "not due yet");
        assert_eq!(q.next_wakeup(400), Some(500));
        q.promote(500);
        let last = q.take(500, 10, 10, |_| 1);
        assert_eq!(last[0].event.seq, 3);
        q.finish("f", 3, None, 500);
        assert!(q.stats().is_empty(), "an idle function leaves no lane");
    }

    #[test]
    fn stats_count_waiting_running_and_the_oldest() {
        let mut q = Queue::new(1 << 20);
        q.push(pending("f", 5, 0, b"{}"), 0);
        q.push(pending("f", 7, 0, b"{}"), 0);
        q.push(pending("f", 3, 1000, b"{}"), 0);
        let _running = q.take(0, 1, 10, |_| usize::MAX);
        assert_eq!(
            q.stats(),
            [QueueStats {
                function: "f".into(),
                queued: 2,
                running: 1,
                oldest_accepted_ms: 3,
            }]
        );
    }

    #[test]
    fn letting_go_drops_what_waits_and_keeps_what_runs() {
        let mut q = Queue::new(1 << 20);
        q.push(pending("f", 1, 0, b"{}"), 0);
        q.push(pending("f", 2, 0, b"{}"), 0);
        q.push(pending("g", 3, 500, b"{}"), 0);
        let running = q.take(0, 1, 10, |_| usize::MAX);
        assert_eq!(running[0].event.seq, 1);
        let mut gone = q.let_go();
        gone.sort_unstable();
        assert_eq!(gone, [2, 3]);
        assert!(q.knows(1) && !q.knows(2) && !q.knows(3));
        q.promote(1_000);
        assert!(q.take(1_000, 10, 10, |_| usize::MAX).is_empty());
        assert_eq!(q.next_wakeup(0), None);
        // The running one comes back for another attempt, and is known until done.
        q.finish("f", 1, Some(pending("f", 1, 0, b"{}")), 0);
        assert!(q.knows(1));
        let again = q.take(0, 10, 10, |_| usize::MAX);
        q.finish("f", again[0].event.seq, None, 0);
        assert!(!q.knows(1));
        assert!(q.stats().is_empty());
    }

    #[test]
    fn payloads_beyond_the_budget_stay_in_the_store() {
        let mut q = Queue::new(5);
        q.push(pending("f", 1, 0, b"1234"), 0);
        q.push(pending("f", 2, 0, b"5678"), 0);
        let taken = q.take(0, 2, 2, |_| usize::MAX);
        assert!(taken[0].payload.is_some());
        assert!(
            taken[1].payload.is_none(),
            "over budget: read from the store"
        );
        q.push(pending("f", 3, 0, b"abcd"), 0);
        assert!(
            q.take(0, 1, 3, |_| usize::MAX)[0].payload.is_some(),
            "budget freed"
        );
    }
}
