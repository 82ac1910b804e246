//! One queue's state in memory: its record, its messages in the order they were sent, and
//! what only memory holds (visibility deadlines, the current receipt of each message,
//! FIFO group locks, deduplication ids). At start a queue is loaded from the store with
//! every message visible (its delay kept), as nothing was in flight for this process.
//!
//! Standard queues receive from an index of messages by the time they become visible;
//! with more than one tenant (`MessageGroupId`, fair queues), from one such index per
//! tenant in turns. FIFO queues scan in send order, skipping groups with a message in
//! flight.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::attributes::Config;
use crate::md5::md5_of_attributes;
use crate::message::{selects, MessageAttributeValue, ReceivedMessage, StoredMessage};

/// How long FIFO deduplication ids are remembered.
pub(crate) const DEDUP_MS: i64 = 5 * 60 * 1000;

/// A message's place in a visibility index: `(visible_ms, seq)`.
type Entry = (i64, i64);

/// A queue's record in the store.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct QueueRecord {
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    pub created_s: i64,
    pub modified_s: i64,
}

/// A message as the queue holds it.
#[derive(Debug, Clone)]
pub(crate) struct Msg {
    pub rec: StoredMessage,
    pub receive_count: i64,
    pub first_receive_ms: i64,
    /// When it may next be received.
    pub visible_ms: i64,
    /// Received and not yet visible again (or deleted).
    pub in_flight: bool,
    /// The current receipt's number: a handle with another cannot delete it.
    pub nonce: u64,
    /// Handed to the store and not yet committed: not receivable.
    pub pending: bool,
}

/// A FIFO receive remembered by its attempt id.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    pub expires_ms: i64,
    pub receipts: Vec<(i64, u64)>,
    pub messages: Vec<ReceivedMessage>,
}

/// A remembered deduplication id: the message it accepted.
#[derive(Debug, Clone)]
pub(crate) struct Dedup {
    pub expires_ms: i64,
    pub message_id: String,
    pub sequence_number: Option<String>,
}

pub(crate) struct State {
    pub record: QueueRecord,
    pub config: Config,
    pub msgs: BTreeMap<i64, Msg>,
    /// `(visible_ms, seq)` of every committed message.
    pub ready: BTreeSet<(i64, i64)>,
    /// A standard queue's `ready` by tenant (`MessageGroupId`, `""` for none): a receive
    /// takes from the tenants in turns, so one tenant's backlog does not hold back the
    /// others' messages (fair queues).
    pub tenants: HashMap<String, BTreeSet<(i64, i64)>>,
    pub dedup: HashMap<String, Dedup>,
    pub dedup_order: VecDeque<(i64, String)>,
    pub purged_ms: Option<i64>,
    /// FIFO receives by `ReceiveRequestAttemptId`: until when, the messages and the
    /// receipts handed out, so that a retried receive gets the same answer.
    pub attempts: HashMap<String, Attempt>,
    pub deleted: bool,
}

pub(crate) struct Queue {
    pub arn: String,
    pub account: String,
    pub name: String,
    pub state: Mutex<State>,
    /// Woken when a message may have become receivable (a send, a visibility change).
    pub arrived: Notify,
    /// What the queue counts for its metrics.
    pub meter: crate::meter::Meter,
}

/// The approximate counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub visible: u64,
    pub not_visible: u64,
    pub delayed: u64,
}

/// What one receive did besides the messages it answers.
#[derive(Default)]
pub(crate) struct Taken {
    pub messages: Vec<ReceivedMessage>,
    /// Messages past their queue's maxReceiveCount, removed for the dead-letter queue.
    pub to_dead_letter: Vec<(i64, Msg)>,
    /// Expired messages removed.
    pub expired: Vec<i64>,
    /// Received messages: (seq, receive count, first receive).
    pub received: Vec<(i64, i64, i64)>,
    /// When the next message not receivable now becomes so, if any.
    pub next_ms: Option<i64>,
}

impl Queue {
    pub fn new(arn: String, account: String, name: String, record: QueueRecord) -> Self {
        let config = Config::of(&record.attributes);
        Self {
            arn,
            account,
            name,
            state: Mutex::new(State {
                record,
                config,
                msgs: BTreeMap::new(),
                ready: BTreeSet::new(),
                tenants: HashMap::new(),
                dedup: HashMap::new(),
                dedup_order: VecDeque::new(),
                purged_ms: None,
                attempts: HashMap::new(),
                deleted: false,
            }),
            arrived: Notify::new(),
            meter: crate::meter::Meter::since(crate::service::now_ms()),
        }
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every change under the lock is a few map operations that cannot leave it
        // half done; a panic elsewhere does not make the state wrong.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    /// Adds a committed message (loaded, moved, or a send once stored).
    pub fn insert_ready(&mut self, seq: i64, msg: Msg) {
        let key = (msg.visible_ms, seq);
        self.ready.insert(key);
        if !self.config.fifo && !msg.pending {
            index_tenant(&mut self.tenants, tenant_of(&msg), key, true);
        }
        self.msgs.insert(seq, msg);
    }

    /// Marks a pending message committed.
    pub fn commit(&mut self, seq: i64) {
        let Some(m) = self.msgs.get_mut(&seq) else {
            return;
        };
        m.pending = false;
        let key = (m.visible_ms, seq);
        self.ready.insert(key);
        if !self.config.fifo {
            index_tenant(&mut self.tenants, tenant_of(m), key, true);
        }
    }

    pub fn remove(&mut self, seq: i64) -> Option<Msg> {
        let m = self.msgs.remove(&seq)?;
        let key = (m.visible_ms, seq);
        self.ready.remove(&key);
        if !self.config.fifo && !m.pending {
            index_tenant(&mut self.tenants, tenant_of(&m), key, false);
        }
        Some(m)
    }

    pub fn set_visible(&mut self, seq: i64, visible_ms: i64, in_flight: bool) {
        let Some(m) = self.msgs.get_mut(&seq) else {
            return;
        };
        let old = (m.visible_ms, seq);
        m.visible_ms = visible_ms;
        m.in_flight = in_flight;
        if !m.pending {
            self.ready.remove(&old);
            self.ready.insert((visible_ms, seq));
            if !self.config.fifo {
                index_tenant(&mut self.tenants, tenant_of(m), old, false);
                index_tenant(&mut self.tenants, tenant_of(m), (visible_ms, seq), true);
            }
        }
    }

    pub fn counts(&self, now: i64) -> Counts {
        let mut c = Counts::default();
        for m in self.msgs.values().filter(|m| !m.pending) {
            if m.visible_ms <= now {
                c.visible += 1;
            } else if m.in_flight {
                c.not_visible += 1;
            } else {
                c.delayed += 1;
            }
        }
        c
    }

    /// The answer of an earlier FIFO receive with this attempt id, if it still stands:
    /// within five minutes, and each of its messages still in flight under its receipt.
    pub fn repeat_attempt(&mut self, id: &str, now: i64) -> Option<Vec<ReceivedMessage>> {
        self.attempts.retain(|_, a| a.expires_ms > now);
        let a = self.attempts.get(id)?;
        let standing = a.receipts.iter().all(|(seq, nonce)| {
            self.msgs
                .get(seq)
                .is_some_and(|m| m.nonce == *nonce && m.in_flight && m.visible_ms > now)
        });
        standing.then(|| a.messages.clone())
    }

    /// Forgets deduplication ids older than five minutes.
    pub fn expire_dedup(&mut self, now: i64) {
        while let Some((at, _)) = self.dedup_order.front() {
            if *at > now {
                break;
            }
            if let Some((_, key)) = self.dedup_order.pop_front() {
                if self.dedup.get(&key).is_some_and(|d| d.expires_ms <= now) {
                    self.dedup.remove(&key);
                }
            }
        }
    }

    fn expired(&self, m: &Msg, now: i64) -> bool {
        m.rec.sent_ms + self.config.retention_s * 1000 <= now
    }

    /// Receives up to `n` messages, each invisible for `visibility_s` from `now`.
    /// `redrive` is the dead-letter queue's maxReceiveCount when it exists.
    pub fn take(
        &mut self,
        n: usize,
        visibility_s: i64,
        now: i64,
        redrive: Option<i64>,
        nonce: &mut dyn FnMut() -> u64,
    ) -> Taken {
        let mut t = Taken::default();
        let candidates: Vec<i64> = if self.config.fifo {
            self.fifo_candidates(now, &mut t.next_ms)
        } else if self.tenants.len() > 1 {
            self.fair_candidates(now, n * 4 + 16)
        } else {
            // A few more than asked for, in case some have expired or go to the
            // dead-letter queue: never the whole backlog.
            self.ready
                .iter()
                .take_while(|(v, _)| *v <= now)
                .take(n * 4 + 16)
                .map(|(_, seq)| *seq)
                .collect()
        };
        for seq in candidates {
            if t.messages.len() >= n {
                break;
            }
            let Some(m) = self.msgs.get(&seq) else {
                continue;
            };
            if self.expired(m, now) {
                self.remove(seq);
                t.expired.push(seq);
                continue;
            }
            if redrive.is_some_and(|max| m.receive_count >= max) {
                if let Some(m) = self.remove(seq) {
                    t.to_dead_letter.push((seq, m));
                }
                continue;
            }
            let visible = now + visibility_s * 1000;
            self.set_visible(seq, visible, true);
            let Some(m) = self.msgs.get_mut(&seq) else {
                continue;
            };
            m.receive_count += 1;
            if m.first_receive_ms == 0 {
                m.first_receive_ms = now;
            }
            m.nonce = nonce();
            t.received.push((seq, m.receive_count, m.first_receive_ms));
            t.messages.push(ReceivedMessage {
                message_id: m.rec.id.clone(),
                receipt_handle: String::new(),
                md5_of_body: m.rec.md5_body.clone(),
                body: m.rec.body.clone(),
                attributes: BTreeMap::new(),
                md5_of_message_attributes: None,
                message_attributes: BTreeMap::new(),
            });
        }
        if !self.config.fifo {
            t.next_ms = self
                .ready
                .iter()
                .next()
                .map(|(v, _)| *v)
                .filter(|v| *v > now);
        }
        t
    }

    /// A standard queue of several tenants: up to `want` messages visible now, one of each
    /// tenant in turn (the tenant whose oldest visible message is oldest first), so a
    /// tenant with a large backlog gets no more of a receive than one with a message.
    fn fair_candidates(&self, now: i64, want: usize) -> Vec<i64> {
        let mut heads: Vec<(Entry, &BTreeSet<Entry>)> = self
            .tenants
            .values()
            .filter_map(|set| set.first().filter(|(v, _)| *v <= now).map(|f| (*f, set)))
            .collect();
        heads.sort_unstable_by_key(|(first, _)| *first);
        let mut turns: Vec<_> = heads.into_iter().map(|(_, set)| set.iter()).collect();
        let mut out = Vec::with_capacity(want);
        while out.len() < want && !turns.is_empty() {
            turns.retain_mut(|it| {
                if out.len() >= want {
                    return true;
                }
                match it.next() {
                    Some((v, seq)) if *v <= now => {
                        out.push(*seq);
                        true
                    }
                    _ => false,
                }
            });
        }
        out
    }

    /// FIFO: the messages that may be received now, in send order: the first ones of
    /// each group with nothing in flight (or waiting to be committed, or delayed).
    fn fifo_candidates(&self, now: i64, next_ms: &mut Option<i64>) -> Vec<i64> {
        let mut locked: HashSet<&str> = HashSet::new();
        for m in self.msgs.values() {
            if m.pending || (m.in_flight && m.visible_ms > now) {
                locked.insert(m.rec.group_id.as_deref().unwrap_or(""));
            }
        }
        let mut out = Vec::new();
        for (seq, m) in &self.msgs {
            let group = m.rec.group_id.as_deref().unwrap_or("");
            if locked.contains(group) {
                if m.visible_ms > now {
                    *next_ms = Some(next_ms.map_or(m.visible_ms, |n: i64| n.min(m.visible_ms)));
                }
                continue;
            }
            if m.visible_ms > now {
                *next_ms = Some(next_ms.map_or(m.visible_ms, |n: i64| n.min(m.visible_ms)));
                locked.insert(group);
                continue;
            }
            out.push(*seq);
            if out.len() >= 64 {
                break;
            }
        }
        out
    }
}

/// Adds (`add`) or removes a standard queue's message's entry in its tenant's index; a
/// tenant without messages is forgotten.
fn index_tenant(
    tenants: &mut HashMap<String, BTreeSet<Entry>>,
    tenant: &str,
    key: Entry,
    add: bool,
) {
    if add {
        match tenants.get_mut(tenant) {
            Some(set) => {
                set.insert(key);
            }
            None => {
                tenants.insert(tenant.to_string(), BTreeSet::from([key]));
            }
        }
    } else if let Some(set) = tenants.get_mut(tenant) {
        set.remove(&key);
        if set.is_empty() {
            tenants.remove(tenant);
        }
    }
}

/// The tenant of a standard queue's message (fair queues): its `MessageGroupId`.
fn tenant_of(m: &Msg) -> &str {
    m.rec.group_id.as_deref().unwrap_or("")
}

/// The system attributes of a message a receive asked for.
pub(crate) fn system_attributes(
    m: &Msg,
    names: &[String],
    sender_fallback: &str,
) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            if selects(names, k) {
                a.insert(k.to_string(), v);
            }
        }
    };
    let sender = if m.rec.sender_id.is_empty() {
        sender_fallback.to_string()
    } else {
        m.rec.sender_id.clone()
    };
    put("SenderId", Some(sender));
    put("SentTimestamp", Some(m.rec.sent_ms.to_string()));
    put("ApproximateReceiveCount", Some(m.receive_count.to_string()));
    put(
        "ApproximateFirstReceiveTimestamp",
        Some(m.first_receive_ms.to_string()),
    );
    put("SequenceNumber", m.rec.sequence_number.clone());
    put("MessageDeduplicationId", m.rec.dedup_id.clone());
    put("MessageGroupId", m.rec.group_id.clone());
    put("AWSTraceHeader", m.rec.trace_header.clone());
    put("DeadLetterQueueSourceArn", m.rec.dead_letter_source.clone());
    a
}

/// The message attributes a receive asked for, and their checksum.
pub(crate) fn message_attributes(
    m: &Msg,
    names: &[String],
) -> (BTreeMap<String, MessageAttributeValue>, Option<String>) {
    let chosen: BTreeMap<String, MessageAttributeValue> = m
        .rec
        .attributes
        .iter()
        .filter(|(k, _)| selects(names, k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let md5 = md5_of_attributes(&chosen);
    (chosen, md5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(fifo: bool) -> State {
        let mut attrs = crate::attributes::defaults(fifo);
        attrs.insert("VisibilityTimeout".into(), "30".into());
        let q = Queue::new(
            "arn".into(),
            "a".into(),
            "q".into(),
            QueueRecord {
                attributes: attrs,
                ..Default::default()
            },
        );
        q.state.into_inner().expect("state")
    }

    fn msg(id: &str, group: Option<&str>, visible_ms: i64) -> Msg {
        Msg {
            rec: StoredMessage {
                id: id.into(),
                body: id.into(),
                attributes: BTreeMap::new(),
                trace_header: None,
                md5_body: String::new(),
                md5_attributes: None,
                md5_system: None,
                sent_ms: 1_000,
                sender_id: String::new(),
                group_id: group.map(str::to_string),
                dedup_id: None,
                sequence_number: None,
                available_ms: visible_ms,
                dead_letter_source: None,
            },
            receive_count: 0,
            first_receive_ms: 0,
            visible_ms,
            in_flight: false,
            nonce: 0,
            pending: false,
        }
    }

    fn ids(t: &Taken) -> Vec<&str> {
        t.messages.iter().map(|m| m.message_id.as_str()).collect()
    }

    #[test]
    fn a_fair_queue_takes_from_each_tenant_in_turn() {
        let mut s = queue(false);
        for i in 1..=20 {
            s.insert_ready(i, msg(&format!("noisy{i}"), Some("noisy"), 0));
        }
        s.insert_ready(21, msg("quiet1", Some("quiet"), 0));
        s.insert_ready(22, msg("quiet2", Some("quiet"), 0));
        s.insert_ready(23, msg("plain", None, 0));
        s.insert_ready(24, msg("later", Some("later"), 9_000));
        let mut nonce = || 1;
        let t = s.take(5, 30, 1_000, None, &mut nonce);
        assert_eq!(ids(&t), ["noisy1", "quiet1", "plain", "noisy2", "quiet2"]);
        // Received, the taken ones leave their tenants' turns until visible again.
        let t = s.take(3, 30, 2_000, None, &mut nonce);
        assert_eq!(ids(&t), ["noisy3", "noisy4", "noisy5"]);
        s.set_visible(21, 2_000, true);
        let t = s.take(2, 30, 2_000, None, &mut nonce);
        assert_eq!(ids(&t), ["noisy6", "quiet1"]);
        // Deleted, a tenant's last message takes the tenant with it.
        s.remove(21);
        s.remove(22);
        s.remove(23);
        assert_eq!(s.tenants.len(), 2);
        assert_eq!(
            s.tenants.values().map(BTreeSet::len).sum::<usize>(),
            s.ready.len()
        );
    }

    #[test]
    fn received_messages_are_invisible_until_their_timeout() {
        let mut s = queue(false);
        s.insert_ready(1, msg("a", None, 0));
        s.insert_ready(2, msg("b", None, 5_000));
        let mut n = 0;
        let mut nonce = || {
            n += 1;
            n
        };
        let t = s.take(10, 30, 2_000, None, &mut nonce);
        assert_eq!(ids(&t), ["a"]);
        assert_eq!(t.next_ms, Some(5_000));
        assert_eq!(
            s.counts(2_000),
            Counts {
                visible: 0,
                not_visible: 1,
                delayed: 1
            }
        );
        let t = s.take(10, 30, 6_000, None, &mut nonce);
        assert_eq!(ids(&t), ["b"]);
        let t = s.take(10, 30, 32_001, None, &mut nonce);
        assert_eq!(ids(&t), ["a"]);
        assert_eq!(s.msgs[&1].receive_count, 2);
    }

    #[test]
    fn a_fifo_group_is_locked_while_a_message_of_it_is_in_flight() {
        let mut s = queue(true);
        s.insert_ready(1, msg("a1", Some("a"), 0));
        s.insert_ready(2, msg("b1", Some("b"), 0));
        s.insert_ready(3, msg("a2", Some("a"), 0));
        let mut n = 0;
        let mut nonce = || {
            n += 1;
            n
        };
        let t = s.take(1, 30, 10, None, &mut nonce);
        assert_eq!(ids(&t), ["a1"]);
        let t = s.take(10, 30, 10, None, &mut nonce);
        assert_eq!(ids(&t), ["b1"], "group a is locked by a1");
        s.remove(1);
        let t = s.take(10, 30, 10, None, &mut nonce);
        assert_eq!(ids(&t), ["a2"]);
    }

    #[test]
    fn past_max_receives_a_message_goes_to_the_dead_letter_queue() {
        let mut s = queue(false);
        s.insert_ready(1, msg("a", None, 0));
        let mut n = 0;
        let mut nonce = || {
            n += 1;
            n
        };
        assert_eq!(ids(&s.take(1, 0, 10, Some(2), &mut nonce)), ["a"]);
        assert_eq!(ids(&s.take(1, 0, 11, Some(2), &mut nonce)), ["a"]);
        let t = s.take(1, 0, 12, Some(2), &mut nonce);
        assert!(t.messages.is_empty());
        assert_eq!(t.to_dead_letter.len(), 1);
        assert!(s.msgs.is_empty());
    }
}
