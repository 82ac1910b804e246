//! [`Local`]: the queue service as this node runs it (behind the public handle,
//! `handle.rs`). It holds every queue in memory (loaded from the store at
//! [`Local::open`]) and hands every durable change to the group commit
//! (`commit.rs`) before answering: a SendMessage is answered once its message is in the
//! store; a DeleteMessage once the deletion is. Receive counts are written without
//! waiting. What is recovered at start: queues, and every message not deleted with its
//! receive count; every message is visible again (receipts from before are void); move
//! tasks, the running ones resumed (`move_task.rs`).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use base64::Engine;
use hearth_store::{SqsOp, SqsQueueRow, SqsStore};
use serde::{Deserialize, Serialize};

use crate::attributes;
use crate::commit::Committer;
use crate::error::{ErrorKind, SqsError};
use crate::fleet::FleetLink;
use crate::message::StoredMessage;
use crate::move_task::MoveTasks;
use crate::queue::{Msg, Queue, QueueRecord};
use crate::relay::{Holder, Relay};

/// The region of every queue's ARN.
pub const REGION: &str = "us-east-1";

/// How often expired messages are swept out of queues nobody receives from.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// A queue's identity: its owner and name (its URL's path is `/<account>/<name>`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct QueueId {
    pub account: String,
    pub name: String,
}

impl QueueId {
    pub fn arn(&self) -> String {
        format!("arn:aws:sqs:{REGION}:{}:{}", self.account, self.name)
    }

    /// The queue a URL (`http://host/<account>/<name>`), an ARN, or a name in the
    /// caller's `account` names.
    pub fn parse(queue: &str, account: &str) -> Result<Self, SqsError> {
        if let Some(rest) = queue.strip_prefix("arn:aws:sqs:") {
            let parts: Vec<&str> = rest.split(':').collect();
            if let [_, acct, name] = parts[..] {
                return Ok(Self {
                    account: acct.into(),
                    name: name.into(),
                });
            }
        } else if let Some((_, after)) = queue.split_once("://") {
            let path = after.split_once('/').map_or("", |(_, p)| p);
            let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            if let [acct, name] = segs[..] {
                return Ok(Self {
                    account: acct.into(),
                    name: name.into(),
                });
            }
            return Err(SqsError::no_queue());
        } else if !queue.is_empty() && !queue.contains('/') {
            return Ok(Self {
                account: account.into(),
                name: queue.into(),
            });
        }
        Err(SqsError::new(
            ErrorKind::InvalidAddress,
            format!("The address {queue} is not valid for this endpoint."),
        ))
    }
}

/// One page of a listing and the token of the next.
pub type Page<T> = (Vec<T>, Option<String>);

/// Whether this node serves SQS, and where it is served when not.
#[derive(Debug, Clone)]
pub(crate) enum Standing {
    Serving,
    /// Another node serves SQS (`holder`, when it is known and can be reached), or none
    /// does yet: `why` is answered when a call cannot be sent on.
    Elsewhere {
        holder: Option<Holder>,
        why: String,
    },
}

pub(crate) struct Inner {
    pub queues: RwLock<HashMap<String, Arc<Queue>>>,
    pub(crate) store: Arc<dyn SqsStore>,
    standing: RwLock<Standing>,
    /// How calls reach the holder (set by the server on a fleet).
    pub(crate) relay: OnceLock<Arc<dyn Relay>>,
    /// The fleet's store and this node's id, to look again for the holder.
    pub(crate) fleet: OnceLock<FleetLink>,
    pub commit: Committer,
    pub(crate) seq: AtomicI64,
    pub(crate) nonce: AtomicU64,
    pub moves: MoveTasks,
    /// Set when the server stops: long polls answer at once, so that no connection holds
    /// the server's graceful shutdown for up to 20 s.
    pub(crate) closing: std::sync::atomic::AtomicBool,
    /// Wakes long polls sent to the holder when the server stops.
    pub(crate) closed: tokio::sync::Notify,
}

/// The service as this node runs it. Cheap to clone; every clone is the same service.
#[derive(Clone)]
pub(crate) struct Local {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub(crate) fn receipt(seq: i64, nonce: u64, arn: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{seq}:{nonce}:{arn}"))
}

pub(crate) fn invalid_receipt(handle: &str) -> SqsError {
    SqsError::new(
        ErrorKind::ReceiptHandleIsInvalid,
        format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
    )
}

/// The message and receipt a handle names, if it is one of this queue's.
pub(crate) fn parse_receipt(handle: &str, arn: &str) -> Result<(i64, u64), SqsError> {
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(handle)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| invalid_receipt(handle))?;
    let mut parts = text.splitn(3, ':');
    let seq = parts.next().and_then(|s| s.parse().ok());
    let nonce = parts.next().and_then(|s| s.parse().ok());
    match (seq, nonce, parts.next()) {
        (Some(seq), Some(nonce), Some(a)) if a == arn => Ok((seq, nonce)),
        _ => Err(invalid_receipt(handle)),
    }
}

pub(crate) fn fifo_id_ok(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic())
}

impl Local {
    /// Opens the service on its store (the embedded one, or a fleet's node that serves
    /// SQS alone): loads every queue and message.
    pub(crate) fn open(store: Arc<dyn SqsStore>) -> Result<Self, SqsError> {
        let (queues, max_seq) = load(&*store)?;
        let sqs = Self::with(store, queues, max_seq, Standing::Serving)?;
        sqs.spawn_sweeper();
        sqs.load_move_tasks()?;
        Ok(sqs)
    }

    pub(crate) fn with(
        store: Arc<dyn SqsStore>,
        queues: HashMap<String, Arc<Queue>>,
        max_seq: i64,
        standing: Standing,
    ) -> Result<Self, SqsError> {
        let commit = Committer::start(store.clone()).map_err(|e| SqsError::internal(&e))?;
        Ok(Self {
            inner: Arc::new(Inner {
                queues: RwLock::new(queues),
                store,
                standing: RwLock::new(standing),
                relay: OnceLock::new(),
                fleet: OnceLock::new(),
                commit,
                closing: std::sync::atomic::AtomicBool::new(false),
                closed: tokio::sync::Notify::new(),
                seq: AtomicI64::new(max_seq + 1),
                // Receipts of an earlier process never match one of this one's.
                nonce: AtomicU64::new((now_ms() as u64) << 16),
                moves: MoveTasks::default(),
            }),
        })
    }

    pub(crate) fn spawn_sweeper(&self) {
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let weak = Arc::downgrade(&self.inner);
            rt.spawn(async move {
                loop {
                    tokio::time::sleep(SWEEP_EVERY).await;
                    let Some(inner) = weak.upgrade() else { break };
                    Local { inner }.sweep(now_ms());
                }
            });
        }
    }

    /// Whether this node serves SQS, and where it is served when not.
    pub(crate) fn standing(&self) -> Standing {
        self.inner
            .standing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Refuses with `ServiceUnavailable` while another node of the fleet serves SQS.
    pub(crate) fn serving(&self) -> Result<(), SqsError> {
        match &*self
            .inner
            .standing
            .read()
            .unwrap_or_else(|p| p.into_inner())
        {
            Standing::Serving => Ok(()),
            Standing::Elsewhere { why, .. } => {
                Err(SqsError::new(ErrorKind::Unavailable, why.clone()))
            }
        }
    }

    /// Stops serving (or notes where SQS is served now): forgets what memory held (a
    /// later holder reloads the store) and wakes long polls, which answer that SQS is
    /// served elsewhere (their callers send them there).
    pub(crate) fn stand_down(&self, holder: Option<Holder>, why: String) {
        *self
            .inner
            .standing
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Standing::Elsewhere { holder, why };
        let all: Vec<_> = self
            .inner
            .queues
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .map(|(_, q)| q)
            .collect();
        for q in all {
            q.lock().deleted = true;
            q.arrived.notify_waiters();
        }
    }

    /// Starts serving: loads every queue and message, numbering new messages after them,
    /// and the move tasks (resuming those that were running).
    pub(crate) fn take_over(&self) -> Result<(), SqsError> {
        let (queues, max_seq) = load(&*self.inner.store)?;
        self.inner.seq.fetch_max(max_seq + 1, Ordering::Relaxed);
        *self.inner.queues.write().unwrap_or_else(|p| p.into_inner()) = queues;
        *self
            .inner
            .standing
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Standing::Serving;
        self.load_move_tasks()
    }

    pub(crate) fn queue(&self, id: &QueueId) -> Result<Arc<Queue>, SqsError> {
        self.queue_by_arn(&id.arn())
    }

    pub(crate) fn queue_by_arn(&self, arn: &str) -> Result<Arc<Queue>, SqsError> {
        self.serving()?;
        self.inner
            .queues
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(arn)
            .cloned()
            .ok_or_else(SqsError::no_queue)
    }

    pub(crate) fn all_queues(&self) -> Vec<Arc<Queue>> {
        let mut all: Vec<_> = self
            .inner
            .queues
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name).then(a.account.cmp(&b.account)));
        all
    }

    pub(crate) fn next_seq(&self) -> i64 {
        self.inner.seq.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn put_queue_op(q: &Queue, record: &QueueRecord) -> SqsOp {
        SqsOp::PutQueue(SqsQueueRow {
            arn: q.arn.clone(),
            account: q.account.clone(),
            name: q.name.clone(),
            data: serde_json::to_string(record).unwrap_or_default(),
        })
    }

    /// Removes expired messages from every queue.
    fn sweep(&self, now: i64) {
        for q in self.all_queues() {
            let mut ops = Vec::new();
            {
                let mut s = q.lock();
                let limit = now - s.config.retention_s * 1000;
                let old: Vec<i64> = s
                    .msgs
                    .iter()
                    .filter(|(_, m)| !m.pending && m.rec.sent_ms <= limit)
                    .map(|(seq, _)| *seq)
                    .collect();
                for seq in old {
                    s.remove(seq);
                    ops.push(SqsOp::DeleteMessage {
                        queue: q.arn.clone(),
                        seq,
                    });
                }
                s.expire_dedup(now);
            }
            self.inner.commit.submit(ops);
        }
    }

    /// The redrive policy's dead-letter queue must exist and be of the same kind.
    pub(crate) fn check_redrive(
        &self,
        source: &str,
        attrs: &BTreeMap<String, String>,
        fifo: bool,
    ) -> Result<(), SqsError> {
        let Some(text) = attrs.get("RedrivePolicy").filter(|p| !p.is_empty()) else {
            return Ok(());
        };
        let (target, _) = attributes::redrive_policy(text)?;
        let dlq = self.queue_by_arn(&target).map_err(|_| {
            SqsError::invalid_value("RedrivePolicy", text, "Dead letter target does not exist.")
        })?;
        if dlq.lock().config.fifo != fifo {
            return Err(SqsError::invalid_value(
                "RedrivePolicy",
                text,
                "Dead-letter queue must be same type of queue as the source.",
            ));
        }
        let allow = dlq
            .lock()
            .record
            .attributes
            .get("RedriveAllowPolicy")
            .cloned();
        if !attributes::allows_source(allow.as_deref(), source) {
            return Err(SqsError::invalid_value(
                "RedrivePolicy",
                text,
                &format!("Queue {source} is not allowed to use {target} as its dead-letter queue."),
            ));
        }
        Ok(())
    }
}

/// Every queue and message in the store, and the highest message number.
fn load(store: &dyn SqsStore) -> Result<(HashMap<String, Arc<Queue>>, i64), SqsError> {
    let rows = store.sqs_queues().map_err(|e| SqsError::internal(&e))?;
    let max_seq = store.sqs_max_seq().map_err(|e| SqsError::internal(&e))?;
    let mut queues = HashMap::new();
    let mut messages = 0usize;
    for row in rows {
        let record: QueueRecord =
            serde_json::from_str(&row.data).map_err(|e| SqsError::internal(&e))?;
        let q = Queue::new(row.arn.clone(), row.account, row.name, record);
        {
            let mut s = q.lock();
            for m in store
                .sqs_messages(&row.arn)
                .map_err(|e| SqsError::internal(&e))?
            {
                let rec: StoredMessage =
                    serde_json::from_str(&m.data).map_err(|e| SqsError::internal(&e))?;
                let msg = Msg {
                    visible_ms: rec.available_ms,
                    rec,
                    receive_count: m.receive_count,
                    first_receive_ms: m.first_receive_ms,
                    in_flight: false,
                    nonce: 0,
                    pending: false,
                };
                s.insert_ready(m.seq, msg);
                messages += 1;
            }
        }
        queues.insert(row.arn, Arc::new(q));
    }
    tracing::info!(queues = queues.len(), messages, "SQS queues loaded");
    Ok((queues, max_seq))
}

pub(crate) fn decode_token(token: Option<&str>) -> Result<Option<String>, SqsError> {
    token
        .map(|t| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| SqsError::invalid("Invalid NextToken value."))
        })
        .transpose()
}

/// A page of `items` (already after the token): with `max`, at most that many and a
/// token when more follow; without, up to 1000 and no token, as SQS lists.
pub(crate) fn page<T>(mut items: Vec<T>, max: Option<i64>, key: impl Fn(&T) -> String) -> Page<T> {
    let Some(max) = max else {
        items.truncate(1000);
        return (items, None);
    };
    let max = max as usize;
    if items.len() <= max {
        return (items, None);
    }
    items.truncate(max);
    let token = items
        .last()
        .map(|l| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key(l)));
    (items, token)
}
