//! [`Sqs`]: the queue service's handle. It holds every queue in memory (loaded from the
//! store at [`Sqs::open`]) and hands every durable change to the group commit
//! (`commit.rs`) before answering: a SendMessage is answered once its message is in the
//! store; a DeleteMessage once the deletion is. Receive counts are written without
//! waiting. What is recovered at start: queues, and every message not deleted with its
//! receive count; every message is visible again (receipts from before are void).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine;
use hearth_store::{SqsMessageRow, SqsOp, SqsQueueRow, SqsStore};
use sha2::{Digest, Sha256};

use crate::attributes::{self, Config};
use crate::commit::Committer;
use crate::error::{ErrorKind, SqsError};
use crate::md5::{md5_hex, md5_of_attributes};
use crate::message::{
    check_attributes, check_body, OutgoingMessage, ReceiveRequest, ReceivedMessage, SendRequest,
    SentMessage, StoredMessage,
};
use crate::move_task::MoveTasks;
use crate::queue::{
    message_attributes, system_attributes, Dedup, Msg, Queue, QueueRecord, DEDUP_MS,
};

/// The region of every queue's ARN.
pub const REGION: &str = "us-east-1";

/// How often expired messages are swept out of queues nobody receives from.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// A queue's identity: its owner and name (its URL's path is `/<account>/<name>`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

pub(crate) struct Inner {
    pub queues: RwLock<HashMap<String, Arc<Queue>>>,
    pub commit: Committer,
    seq: AtomicI64,
    nonce: AtomicU64,
    pub moves: MoveTasks,
}

/// The SQS service. Cheap to clone; every clone is the same service.
#[derive(Clone)]
pub struct Sqs {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn receipt(seq: i64, nonce: u64, arn: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{seq}:{nonce}:{arn}"))
}

fn invalid_receipt(handle: &str) -> SqsError {
    SqsError::new(
        ErrorKind::ReceiptHandleIsInvalid,
        format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
    )
}

/// The message and receipt a handle names, if it is one of this queue's.
fn parse_receipt(handle: &str, arn: &str) -> Result<(i64, u64), SqsError> {
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

fn fifo_id_ok(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic())
}

impl Sqs {
    /// Opens the service on its store: loads every queue and message.
    pub fn open(store: Arc<dyn SqsStore>) -> Result<Self, SqsError> {
        let rows = store.sqs_queues().map_err(|e| SqsError::internal(&e))?;
        let max_seq = store.sqs_max_seq().map_err(|e| SqsError::internal(&e))?;
        let mut queues = HashMap::new();
        let now = now_ms();
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
        let commit = Committer::start(store).map_err(|e| SqsError::internal(&e))?;
        let sqs = Self {
            inner: Arc::new(Inner {
                queues: RwLock::new(queues),
                commit,
                seq: AtomicI64::new(max_seq + 1),
                // Receipts of an earlier process never match one of this one's.
                nonce: AtomicU64::new((now as u64) << 16),
                moves: MoveTasks::default(),
            }),
        };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let weak = Arc::downgrade(&sqs.inner);
            rt.spawn(async move {
                loop {
                    tokio::time::sleep(SWEEP_EVERY).await;
                    let Some(inner) = weak.upgrade() else { break };
                    Sqs { inner }.sweep(now_ms());
                }
            });
        }
        Ok(sqs)
    }

    pub(crate) fn queue(&self, id: &QueueId) -> Result<Arc<Queue>, SqsError> {
        self.queue_by_arn(&id.arn())
    }

    pub(crate) fn queue_by_arn(&self, arn: &str) -> Result<Arc<Queue>, SqsError> {
        self.inner
            .queues
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(arn)
            .cloned()
            .ok_or_else(SqsError::no_queue)
    }

    fn all_queues(&self) -> Vec<Arc<Queue>> {
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

    fn put_queue_op(q: &Queue, record: &QueueRecord) -> SqsOp {
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
    fn check_redrive(
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

    // ---- queues -------------------------------------------------------------------

    /// CreateQueue: idempotent for the same attributes.
    pub async fn create_queue(
        &self,
        account: &str,
        name: &str,
        attrs: BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    ) -> Result<QueueId, SqsError> {
        let fifo = attrs.get("FifoQueue").map(String::as_str) == Some("true");
        attributes::check_name(
            name,
            fifo || name.ends_with(".fifo") && attrs.contains_key("FifoQueue"),
        )?;
        if name.ends_with(".fifo") && !fifo {
            return Err(SqsError::invalid(
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
            ));
        }
        attributes::check(&attrs, fifo, true)?;
        if tags.len() > 50 {
            return Err(SqsError::invalid("Too many tags added for queue."));
        }
        let id = QueueId {
            account: account.into(),
            name: name.into(),
        };
        if let Ok(q) = self.queue(&id) {
            let s = q.lock();
            let current = &s.record.attributes;
            let defaults = attributes::defaults(fifo);
            for (k, v) in &attrs {
                let have = current.get(k).or(defaults.get(k));
                let same = have == Some(v) || (have.is_none() && v.is_empty());
                if !same {
                    return Err(SqsError::new(
                        ErrorKind::QueueNameExists,
                        format!("A queue already exists with the same name and a different value for attribute {k}"),
                    ));
                }
            }
            return Ok(id);
        }
        self.check_redrive(&id.arn(), &attrs, fifo)?;
        let mut all = attributes::defaults(fifo);
        for (k, v) in attrs {
            if !v.is_empty() {
                all.insert(k, v);
            }
        }
        let now_s = now_ms() / 1000;
        let record = QueueRecord {
            attributes: all,
            tags,
            created_s: now_s,
            modified_s: now_s,
        };
        let q = Arc::new(Queue::new(
            id.arn(),
            id.account.clone(),
            id.name.clone(),
            record.clone(),
        ));
        let pending = {
            let mut map = self.inner.queues.write().unwrap_or_else(|p| p.into_inner());
            if map.contains_key(&q.arn) {
                return Ok(id);
            }
            map.insert(q.arn.clone(), q.clone());
            self.inner
                .commit
                .enqueue(vec![Self::put_queue_op(&q, &record)])
        };
        if let Err(e) = pending.done().await {
            self.inner
                .queues
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&q.arn);
            return Err(e);
        }
        Ok(id)
    }

    /// GetQueueUrl: the queue of `owner` (the caller's own by default).
    pub fn get_queue(
        &self,
        account: &str,
        name: &str,
        owner: Option<&str>,
    ) -> Result<QueueId, SqsError> {
        let id = QueueId {
            account: owner.unwrap_or(account).into(),
            name: name.into(),
        };
        self.queue(&id)?;
        Ok(id)
    }

    /// ListQueues: the account's queues by name, optionally by prefix, in pages.
    pub fn list_queues(
        &self,
        account: &str,
        prefix: Option<&str>,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<Page<QueueId>, SqsError> {
        if let Some(m) = max_results {
            if !(1..=1000).contains(&m) {
                return Err(SqsError::invalid_value(
                    "MaxResults",
                    &m.to_string(),
                    "MaxResults must be an integer between 1 and 1000.",
                ));
            }
        }
        let after = decode_token(next_token)?;
        let ids: Vec<QueueId> = self
            .all_queues()
            .into_iter()
            .filter(|q| q.account == account)
            .filter(|q| prefix.is_none_or(|p| q.name.starts_with(p)))
            .filter(|q| after.as_deref().is_none_or(|a| q.name.as_str() > a))
            .map(|q| QueueId {
                account: q.account.clone(),
                name: q.name.clone(),
            })
            .collect();
        Ok(page(ids, max_results, |q| q.name.clone()))
    }

    /// DeleteQueue, with its messages.
    pub async fn delete_queue(&self, id: &QueueId) -> Result<(), SqsError> {
        let q = self.queue(id)?;
        let pending = {
            let mut map = self.inner.queues.write().unwrap_or_else(|p| p.into_inner());
            map.remove(&q.arn);
            q.lock().deleted = true;
            self.inner
                .commit
                .enqueue(vec![SqsOp::DeleteQueue { arn: q.arn.clone() }])
        };
        q.arrived.notify_waiters();
        pending.done().await
    }

    /// GetQueueAttributes: the names asked for (`All` for every one).
    pub fn get_queue_attributes(
        &self,
        id: &QueueId,
        names: &[String],
    ) -> Result<BTreeMap<String, String>, SqsError> {
        const KNOWN: &[&str] = &[
            "All",
            "Policy",
            "VisibilityTimeout",
            "MaximumMessageSize",
            "MessageRetentionPeriod",
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "CreatedTimestamp",
            "LastModifiedTimestamp",
            "QueueArn",
            "ApproximateNumberOfMessagesDelayed",
            "DelaySeconds",
            "ReceiveMessageWaitTimeSeconds",
            "RedrivePolicy",
            "FifoQueue",
            "ContentBasedDeduplication",
            "KmsMasterKeyId",
            "KmsDataKeyReusePeriodSeconds",
            "DeduplicationScope",
            "FifoThroughputLimit",
            "RedriveAllowPolicy",
            "SqsManagedSseEnabled",
        ];
        for n in names {
            if !KNOWN.contains(&n.as_str()) {
                return Err(SqsError::new(
                    ErrorKind::InvalidAttributeName,
                    format!("Unknown Attribute {n}."),
                ));
            }
        }
        let q = self.queue(id)?;
        let s = q.lock();
        let mut all = s.record.attributes.clone();
        let c = s.counts(now_ms());
        all.insert("QueueArn".into(), q.arn.clone());
        all.insert("ApproximateNumberOfMessages".into(), c.visible.to_string());
        all.insert(
            "ApproximateNumberOfMessagesNotVisible".into(),
            c.not_visible.to_string(),
        );
        all.insert(
            "ApproximateNumberOfMessagesDelayed".into(),
            c.delayed.to_string(),
        );
        all.insert("CreatedTimestamp".into(), s.record.created_s.to_string());
        all.insert(
            "LastModifiedTimestamp".into(),
            s.record.modified_s.to_string(),
        );
        if names.iter().any(|n| n == "All") {
            return Ok(all);
        }
        Ok(all.into_iter().filter(|(k, _)| names.contains(k)).collect())
    }

    /// SetQueueAttributes; an empty Policy, RedrivePolicy or RedriveAllowPolicy removes it.
    pub async fn set_queue_attributes(
        &self,
        id: &QueueId,
        attrs: BTreeMap<String, String>,
    ) -> Result<(), SqsError> {
        let q = self.queue(id)?;
        let fifo = q.lock().config.fifo;
        attributes::check(&attrs, fifo, false)?;
        self.check_redrive(&q.arn, &attrs, fifo)?;
        let pending = {
            let mut s = q.lock();
            for (k, v) in attrs {
                if v.is_empty()
                    && matches!(
                        k.as_str(),
                        "Policy" | "RedrivePolicy" | "RedriveAllowPolicy"
                    )
                {
                    s.record.attributes.remove(&k);
                } else {
                    s.record.attributes.insert(k, v);
                }
            }
            s.record.modified_s = now_ms() / 1000;
            s.config = Config::of(&s.record.attributes);
            self.inner
                .commit
                .enqueue(vec![Self::put_queue_op(&q, &s.record)])
        };
        pending.done().await
    }

    /// The queue's `Policy` attribute, for the API's authorization.
    pub fn queue_policy(&self, id: &QueueId) -> Option<String> {
        let q = self.queue(id).ok()?;
        let s = q.lock();
        s.record.attributes.get("Policy").cloned()
    }

    pub async fn purge_queue(&self, id: &QueueId) -> Result<(), SqsError> {
        let q = self.queue(id)?;
        let now = now_ms();
        let pending = {
            let mut s = q.lock();
            if s.purged_ms.is_some_and(|p| now - p < 60_000) {
                return Err(SqsError::new(
                    ErrorKind::PurgeQueueInProgress,
                    format!(
                        "Only one PurgeQueue operation on {} is allowed every 60 seconds.",
                        q.name
                    ),
                ));
            }
            s.purged_ms = Some(now);
            let below = self.next_seq();
            let gone: Vec<i64> = s
                .msgs
                .iter()
                .filter(|(_, m)| !m.pending)
                .map(|(seq, _)| *seq)
                .collect();
            for seq in gone {
                s.remove(seq);
            }
            self.inner.commit.enqueue(vec![SqsOp::Purge {
                queue: q.arn.clone(),
                below,
            }])
        };
        pending.done().await
    }

    pub async fn tag_queue(
        &self,
        id: &QueueId,
        tags: BTreeMap<String, String>,
    ) -> Result<(), SqsError> {
        let q = self.queue(id)?;
        let pending = {
            let mut s = q.lock();
            let mut all = s.record.tags.clone();
            all.extend(tags);
            if all.len() > 50 {
                return Err(SqsError::invalid(format!(
                    "Too many tags added for queue {}.",
                    q.name
                )));
            }
            s.record.tags = all;
            self.inner
                .commit
                .enqueue(vec![Self::put_queue_op(&q, &s.record)])
        };
        pending.done().await
    }

    pub async fn untag_queue(&self, id: &QueueId, keys: &[String]) -> Result<(), SqsError> {
        let q = self.queue(id)?;
        let pending = {
            let mut s = q.lock();
            for k in keys {
                s.record.tags.remove(k);
            }
            self.inner
                .commit
                .enqueue(vec![Self::put_queue_op(&q, &s.record)])
        };
        pending.done().await
    }

    pub fn list_queue_tags(&self, id: &QueueId) -> Result<BTreeMap<String, String>, SqsError> {
        Ok(self.queue(id)?.lock().record.tags.clone())
    }

    /// ListDeadLetterSourceQueues: the queues whose redrive policy names this one.
    pub fn list_dead_letter_source_queues(
        &self,
        id: &QueueId,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<Page<QueueId>, SqsError> {
        let target = self.queue(id)?.arn.clone();
        if let Some(m) = max_results {
            if !(1..=1000).contains(&m) {
                return Err(SqsError::invalid_value(
                    "MaxResults",
                    &m.to_string(),
                    "MaxResults must be an integer between 1 and 1000.",
                ));
            }
        }
        let after = decode_token(next_token)?;
        let ids: Vec<QueueId> = self
            .dead_letter_sources(&target)
            .into_iter()
            .filter(|q| after.as_deref().is_none_or(|a| q.arn.as_str() > a))
            .map(|q| QueueId {
                account: q.account.clone(),
                name: q.name.clone(),
            })
            .collect();
        Ok(page(ids, max_results, QueueId::arn))
    }

    pub(crate) fn dead_letter_sources(&self, target: &str) -> Vec<Arc<Queue>> {
        let mut v: Vec<_> = self
            .all_queues()
            .into_iter()
            .filter(|q| {
                q.lock()
                    .config
                    .redrive
                    .as_ref()
                    .is_some_and(|(t, _)| t == target)
            })
            .collect();
        v.sort_by(|a, b| a.arn.cmp(&b.arn));
        v
    }

    /// AddPermission: a statement in the queue's policy letting `accounts` do `actions`.
    pub async fn add_permission(
        &self,
        id: &QueueId,
        label: &str,
        accounts: &[String],
        actions: &[String],
    ) -> Result<(), SqsError> {
        let q = self.queue(id)?;
        let current = q.lock().record.attributes.get("Policy").cloned();
        let mut policy: serde_json::Value = current
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_else(|| {
                serde_json::json!({"Version": "2012-10-17", "Id": format!("{}/SQSDefaultPolicy", q.arn), "Statement": []})
            });
        let statements = policy
            .get_mut("Statement")
            .and_then(|s| s.as_array_mut())
            .ok_or_else(|| SqsError::invalid("The queue's policy has no statements."))?;
        if statements
            .iter()
            .any(|s| s.get("Sid").and_then(|v| v.as_str()) == Some(label))
        {
            return Err(SqsError::invalid_value("Label", label, "Already exists."));
        }
        let principals: Vec<String> = accounts
            .iter()
            .map(|a| format!("arn:aws:iam::{a}:root"))
            .collect();
        let actions: Vec<String> = actions.iter().map(|a| format!("SQS:{a}")).collect();
        statements.push(serde_json::json!({
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": principals},
            "Action": actions,
            "Resource": q.arn,
        }));
        let mut attrs = BTreeMap::new();
        attrs.insert("Policy".to_string(), policy.to_string());
        self.set_queue_attributes(id, attrs).await
    }

    /// RemovePermission: the statement `label` out of the queue's policy.
    pub async fn remove_permission(&self, id: &QueueId, label: &str) -> Result<(), SqsError> {
        let q = self.queue(id)?;
        let current = q.lock().record.attributes.get("Policy").cloned();
        let missing = || SqsError::invalid_value("Label", label, "can't find label.");
        let mut policy: serde_json::Value = current
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .ok_or_else(missing)?;
        let statements = policy
            .get_mut("Statement")
            .and_then(|s| s.as_array_mut())
            .ok_or_else(missing)?;
        let before = statements.len();
        statements.retain(|s| s.get("Sid").and_then(|v| v.as_str()) != Some(label));
        if statements.len() == before {
            return Err(missing());
        }
        let text = if statements.is_empty() {
            String::new()
        } else {
            policy.to_string()
        };
        let mut attrs = BTreeMap::new();
        attrs.insert("Policy".to_string(), text);
        self.set_queue_attributes(id, attrs).await
    }

    // ---- messages -----------------------------------------------------------------

    /// SendMessage.
    pub async fn send_message(
        &self,
        id: &QueueId,
        req: SendRequest,
    ) -> Result<SentMessage, SqsError> {
        let q = self.queue(id)?;
        self.send_to(&q, req).await
    }

    /// Sends a message for Hearth itself (SNS deliveries, async destinations and DLQs) to
    /// the queue `queue_arn`. The caller has authorized the sender.
    pub async fn send_internal(
        &self,
        queue_arn: &str,
        msg: OutgoingMessage,
    ) -> Result<SentMessage, SqsError> {
        let q = self.queue_by_arn(queue_arn)?;
        self.send_to(
            &q,
            SendRequest {
                message: msg,
                system_attributes: BTreeMap::new(),
            },
        )
        .await
    }

    /// Checks a send against the queue without sending it (for batches, which check every
    /// entry first).
    pub(crate) fn check_send(config: &Config, req: &SendRequest) -> Result<(), SqsError> {
        let m = &req.message;
        let size = check_body(&m.body)? + check_attributes(&m.attributes)?;
        for (k, v) in &req.system_attributes {
            if k != "AWSTraceHeader" || v.data_type != "String" || v.string_value.is_none() {
                return Err(SqsError::invalid(format!(
                    "Message system attribute name '{k}' is invalid."
                )));
            }
        }
        if size as i64 > config.max_size {
            return Err(SqsError::invalid(format!(
                "One or more parameters are invalid. Reason: Message must be shorter than {} bytes.",
                config.max_size
            )));
        }
        if let Some(d) = m.delay_seconds {
            if i64::from(d) > attributes::MAX_DELAY {
                return Err(SqsError::invalid_value(
                    "DelaySeconds",
                    &d.to_string(),
                    "DelaySeconds must be >= 0 and <= 900.",
                ));
            }
            if config.fifo && d > 0 {
                return Err(SqsError::invalid_value(
                    "DelaySeconds",
                    &d.to_string(),
                    "The request include parameter that is not valid for this queue type.",
                ));
            }
        }
        if config.fifo {
            let Some(group) = &m.group_id else {
                return Err(SqsError::missing("MessageGroupId"));
            };
            if !fifo_id_ok(group) {
                return Err(SqsError::invalid_value(
                    "MessageGroupId",
                    group,
                    "MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.",
                ));
            }
            match &m.dedup_id {
                Some(d) if !fifo_id_ok(d) => {
                    return Err(SqsError::invalid_value(
                        "MessageDeduplicationId",
                        d,
                        "MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length.",
                    ))
                }
                None if !config.content_dedup => {
                    return Err(SqsError::invalid(
                        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                    ))
                }
                _ => {}
            }
        } else if m.dedup_id.is_some() {
            return Err(SqsError::invalid_value(
                "MessageDeduplicationId",
                m.dedup_id.as_deref().unwrap_or_default(),
                "The request include parameter that is not valid for this queue type",
            ));
        }
        Ok(())
    }

    pub(crate) async fn send_to(
        &self,
        q: &Arc<Queue>,
        req: SendRequest,
    ) -> Result<SentMessage, SqsError> {
        let config = q.lock().config.clone();
        Self::check_send(&config, &req)?;
        let SendRequest {
            message: m,
            system_attributes,
        } = req;
        let md5_body = md5_hex(m.body.as_bytes());
        let md5_attributes = md5_of_attributes(&m.attributes);
        let md5_system = md5_of_attributes(&system_attributes);
        let now = now_ms();
        let (seq, sent, pending) = {
            let mut s = q.lock();
            if s.deleted {
                return Err(SqsError::no_queue());
            }
            let dedup_key = if s.config.fifo {
                let dedup = m
                    .dedup_id
                    .clone()
                    .unwrap_or_else(|| hex::encode(Sha256::digest(m.body.as_bytes())));
                let key = if s.config.dedup_per_group {
                    format!("{}\n{dedup}", m.group_id.as_deref().unwrap_or(""))
                } else {
                    dedup.clone()
                };
                s.expire_dedup(now);
                if let Some(d) = s.dedup.get(&key).filter(|d| d.expires_ms > now) {
                    // A duplicate within five minutes is accepted and not enqueued.
                    return Ok(SentMessage {
                        message_id: d.message_id.clone(),
                        md5_of_body: md5_body,
                        md5_of_attributes: md5_attributes,
                        md5_of_system_attributes: md5_system,
                        sequence_number: d.sequence_number.clone(),
                    });
                }
                Some((key, dedup))
            } else {
                None
            };
            let seq = self.next_seq();
            let sequence_number = s.config.fifo.then(|| format!("{:020}", seq));
            let delay = m.delay_seconds.map_or(s.config.delay, i64::from);
            let rec = StoredMessage {
                id: uuid::Uuid::new_v4().to_string(),
                body: m.body,
                attributes: m.attributes,
                trace_header: system_attributes
                    .get("AWSTraceHeader")
                    .and_then(|v| v.string_value.clone()),
                md5_body: md5_body.clone(),
                md5_attributes: md5_attributes.clone(),
                md5_system: md5_system.clone(),
                sent_ms: now,
                sender_id: m.sender_id,
                group_id: m.group_id,
                dedup_id: dedup_key.as_ref().map(|(_, d)| d.clone()),
                sequence_number: sequence_number.clone(),
                available_ms: now + delay * 1000,
                dead_letter_source: None,
            };
            if let Some((key, _)) = dedup_key {
                s.dedup.insert(
                    key.clone(),
                    Dedup {
                        expires_ms: now + DEDUP_MS,
                        message_id: rec.id.clone(),
                        sequence_number: sequence_number.clone(),
                    },
                );
                s.dedup_order.push_back((now + DEDUP_MS, key));
            }
            let sent = SentMessage {
                message_id: rec.id.clone(),
                md5_of_body: md5_body,
                md5_of_attributes: md5_attributes,
                md5_of_system_attributes: md5_system,
                sequence_number,
            };
            let op = SqsOp::PutMessage(SqsMessageRow {
                queue: q.arn.clone(),
                seq,
                data: serde_json::to_string(&rec).map_err(|e| SqsError::internal(&e))?,
                receive_count: 0,
                first_receive_ms: 0,
            });
            s.msgs.insert(
                seq,
                Msg {
                    visible_ms: rec.available_ms,
                    rec,
                    receive_count: 0,
                    first_receive_ms: 0,
                    in_flight: false,
                    nonce: 0,
                    pending: true,
                },
            );
            (seq, sent, self.inner.commit.enqueue(vec![op]))
        };
        match pending.done().await {
            Ok(()) => {
                q.lock().commit(seq);
                q.arrived.notify_waiters();
                Ok(sent)
            }
            Err(e) => {
                q.lock().remove(seq);
                Err(e)
            }
        }
    }

    /// ReceiveMessage: waits up to its wait time for a message, waking as soon as one is
    /// sent (or becomes visible).
    pub async fn receive_message(
        &self,
        id: &QueueId,
        req: ReceiveRequest,
    ) -> Result<Vec<ReceivedMessage>, SqsError> {
        let q = self.queue(id)?;
        let n = req.max_messages.unwrap_or(1);
        if !(1..=10).contains(&n) {
            return Err(SqsError::invalid_value(
                "MaxNumberOfMessages",
                &n.to_string(),
                "Must be between 1 and 10, if provided.",
            ));
        }
        if let Some(w) = req.wait_seconds {
            if !(0..=attributes::MAX_WAIT).contains(&w) {
                return Err(SqsError::invalid_value(
                    "WaitTimeSeconds",
                    &w.to_string(),
                    "Must be >= 0 and <= 20, if provided.",
                ));
            }
        }
        if let Some(v) = req.visibility_timeout {
            if !(0..=attributes::MAX_VISIBILITY).contains(&v) {
                return Err(SqsError::invalid_value(
                    "VisibilityTimeout",
                    &v.to_string(),
                    "Must be >= 0 and <= 43200, if provided.",
                ));
            }
        }
        let config = q.lock().config.clone();
        let wait = req.wait_seconds.unwrap_or(config.wait);
        let deadline = now_ms() + wait * 1000;
        let mut names = req.attribute_names.clone();
        names.retain(|n| !n.is_empty());
        loop {
            let notified = q.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let now = now_ms();
            let redrive = {
                let cfg = q.lock().config.clone();
                // A queue that names itself as its dead-letter queue redrives nothing.
                cfg.redrive
                    .filter(|(arn, _)| *arn != q.arn)
                    .and_then(|(arn, max)| self.queue_by_arn(&arn).ok().map(|d| (d, max)))
            };
            let (out, next_ms) = {
                let mut s = q.lock();
                if s.deleted {
                    return Err(SqsError::no_queue());
                }
                let vis = req.visibility_timeout.unwrap_or(s.config.visibility);
                let inner = &self.inner;
                let mut nonce = || inner.nonce.fetch_add(1, Ordering::Relaxed);
                let t = s.take(
                    n as usize,
                    vis,
                    now,
                    redrive.as_ref().map(|(_, m)| *m),
                    &mut nonce,
                );
                let mut ops: Vec<SqsOp> = t
                    .expired
                    .iter()
                    .map(|seq| SqsOp::DeleteMessage {
                        queue: q.arn.clone(),
                        seq: *seq,
                    })
                    .collect();
                ops.extend(
                    t.received
                        .iter()
                        .map(|(seq, count, first)| SqsOp::Received {
                            queue: q.arn.clone(),
                            seq: *seq,
                            receive_count: *count,
                            first_receive_ms: *first,
                        }),
                );
                let mut out = t.messages;
                for (r, (seq, _, _)) in out.iter_mut().zip(&t.received) {
                    let Some(m) = s.msgs.get(seq) else { continue };
                    r.receipt_handle = receipt(*seq, m.nonce, &q.arn);
                    r.attributes = system_attributes(m, &names, &q.account);
                    let (attrs, md5) = message_attributes(m, &req.message_attribute_names);
                    r.message_attributes = attrs;
                    r.md5_of_message_attributes = md5;
                }
                if !t.to_dead_letter.is_empty() {
                    if let Some((dlq, _)) = &redrive {
                        // The move is one commit: deleted here, stored there.
                        self.move_messages(
                            &q,
                            dlq,
                            t.to_dead_letter,
                            Some(q.arn.clone()),
                            std::mem::take(&mut ops),
                        );
                    }
                }
                self.inner.commit.submit(ops);
                (out, t.next_ms)
            };
            if !out.is_empty() || now >= deadline {
                return Ok(out);
            }
            let until = next_ms.map_or(deadline, |n| n.min(deadline));
            let sleep = Duration::from_millis((until - now).max(1) as u64);
            let _ = tokio::time::timeout(sleep, notified).await;
        }
    }

    /// Moves messages removed from `from` into `to` (a redrive or a move task), with
    /// `ops` in the same commit. Stored in `to` once committed.
    pub(crate) fn move_messages(
        &self,
        from: &Queue,
        to: &Arc<Queue>,
        msgs: Vec<(i64, Msg)>,
        source: Option<String>,
        mut ops: Vec<SqsOp>,
    ) -> crate::commit::Pending {
        let now = now_ms();
        let mut moved = Vec::new();
        for (seq, m) in msgs {
            ops.push(SqsOp::DeleteMessage {
                queue: from.arn.clone(),
                seq,
            });
            let new_seq = self.next_seq();
            let mut rec = m.rec;
            rec.dead_letter_source = source.clone();
            rec.available_ms = now;
            if let Ok(data) = serde_json::to_string(&rec) {
                ops.push(SqsOp::PutMessage(SqsMessageRow {
                    queue: to.arn.clone(),
                    seq: new_seq,
                    data,
                    receive_count: 0,
                    first_receive_ms: 0,
                }));
            }
            moved.push((
                new_seq,
                Msg {
                    visible_ms: now,
                    rec,
                    receive_count: 0,
                    first_receive_ms: 0,
                    in_flight: false,
                    nonce: 0,
                    pending: false,
                },
            ));
        }
        // Into memory at once, as the commit is handed in ahead of anything that could
        // delete them; a failed commit is logged by the committer.
        {
            let mut s = to.lock();
            for (seq, m) in moved {
                s.insert_ready(seq, m);
            }
        }
        to.arrived.notify_waiters();
        self.inner.commit.enqueue(ops)
    }

    /// DeleteMessage: with an older receipt than the message's current one, nothing is
    /// deleted (and no error is answered), as SQS does.
    pub async fn delete_message(&self, id: &QueueId, handle: &str) -> Result<(), SqsError> {
        let q = self.queue(id)?;
        let (seq, nonce) = parse_receipt(handle, &q.arn)?;
        let pending = {
            let mut s = q.lock();
            match s.msgs.get(&seq) {
                Some(m) if m.nonce == nonce && !m.pending => {
                    s.remove(seq);
                    Some(self.inner.commit.enqueue(vec![SqsOp::DeleteMessage {
                        queue: q.arn.clone(),
                        seq,
                    }]))
                }
                _ => None,
            }
        };
        match pending {
            Some(p) => p.done().await,
            None => Ok(()),
        }
    }

    /// ChangeMessageVisibility of a message in flight under this receipt.
    pub fn change_message_visibility(
        &self,
        id: &QueueId,
        handle: &str,
        timeout: i64,
    ) -> Result<(), SqsError> {
        let q = self.queue(id)?;
        let (seq, nonce) = parse_receipt(handle, &q.arn)?;
        if !(0..=attributes::MAX_VISIBILITY).contains(&timeout) {
            return Err(SqsError::invalid_value(
                "VisibilityTimeout",
                &timeout.to_string(),
                "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]",
            ));
        }
        let now = now_ms();
        {
            let mut s = q.lock();
            match s.msgs.get(&seq) {
                Some(m) if m.nonce == nonce && m.in_flight && m.visible_ms > now => {
                    s.set_visible(seq, now + timeout * 1000, timeout > 0);
                }
                _ => {
                    return Err(SqsError::new(
                        ErrorKind::MessageNotInflight,
                        "Message does not exist or is not available for visibility timeout change.",
                    ))
                }
            }
        }
        if timeout == 0 {
            q.arrived.notify_waiters();
        }
        Ok(())
    }
}

fn decode_token(token: Option<&str>) -> Result<Option<String>, SqsError> {
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
fn page<T>(mut items: Vec<T>, max: Option<i64>, key: impl Fn(&T) -> String) -> Page<T> {
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
