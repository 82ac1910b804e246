//! The queue operations as the node that serves SQS runs them ([`crate::Sqs`] sends them
//! there from other nodes): create, find, list and delete queues, their
//! attributes, tags, purges, dead-letter sources and permissions.

use std::collections::BTreeMap;
use std::sync::Arc;

use hearth_store::SqsOp;

use crate::attributes::{self, Config};
use crate::error::{ErrorKind, SqsError};
use crate::queue::{Queue, QueueRecord};
use crate::service::{decode_token, now_ms, page, Local, Page, QueueId};

/// How long after a queue is deleted its name cannot be used again, as SQS documents:
/// "you must wait at least 60 seconds before creating a queue with the same name".
pub(crate) const DELETED_WAIT_MS: i64 = 60_000;

impl Local {
    /// CreateQueue: idempotent for the same attributes.
    pub async fn create_queue(
        &self,
        account: &str,
        name: &str,
        attrs: BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    ) -> Result<QueueId, SqsError> {
        self.serving()?;
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
            for (k, v) in &attrs {
                let have = attributes::effective(&s.record.attributes, fifo, k);
                let same = have.as_ref() == Some(v) || (have.is_none() && v.is_empty());
                if !same {
                    return Err(SqsError::new(
                        ErrorKind::QueueNameExists,
                        format!("A queue already exists with the same name and a different value for attribute {k}"),
                    ));
                }
            }
            return Ok(id);
        }
        self.check_not_deleted_recently(&id.arn())?;
        self.check_redrive(&id.arn(), &attrs, fifo)?;
        let all = attributes::apply(&attributes::defaults(fifo), attrs)?;
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
        self.serving()?;
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

    /// Refuses a name whose queue was deleted less than [`DELETED_WAIT_MS`] ago: the
    /// deletion time is read from the store, so the wait outlasts a restart and holds on
    /// whichever node of a fleet serves SQS.
    fn check_not_deleted_recently(&self, arn: &str) -> Result<(), SqsError> {
        let deleted = self
            .inner
            .store
            .sqs_deleted_at(arn)
            .map_err(|e| SqsError::internal(&e))?;
        if deleted.is_some_and(|at| now_ms() - at < DELETED_WAIT_MS) {
            return Err(SqsError::new(
                ErrorKind::QueueDeletedRecently,
                "You must wait 60 seconds after deleting a queue before you can create another with the same name.",
            ));
        }
        Ok(())
    }

    /// DeleteQueue, with its messages and the move tasks it is the source of. Its
    /// deletion time is recorded, and those older than `DELETED_WAIT_MS` forgotten (so
    /// the store keeps only the last minute's).
    pub async fn delete_queue(&self, id: &QueueId) -> Result<(), SqsError> {
        let q = self.queue(id)?;
        let pending = {
            let mut map = self.inner.queues.write().unwrap_or_else(|p| p.into_inner());
            map.remove(&q.arn);
            q.lock().deleted = true;
            self.inner.moves.forget_source(&q.arn);
            let now = now_ms();
            self.inner.commit.enqueue(vec![
                SqsOp::DeleteQueue { arn: q.arn.clone() },
                SqsOp::ForgetDeletions {
                    before_ms: now - DELETED_WAIT_MS,
                },
                SqsOp::QueueDeleted {
                    arn: q.arn.clone(),
                    at_ms: now,
                },
            ])
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
        let mut all = attributes::view(&s.record.attributes);
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

    /// SetQueueAttributes, as `attributes::apply` applies them (an empty Policy,
    /// RedrivePolicy, RedriveAllowPolicy or KmsMasterKeyId removes it).
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
            s.record.attributes = attributes::apply(&s.record.attributes, attrs)?;
            s.record.modified_s = now_ms() / 1000;
            s.config = Config::of(&s.record.attributes);
            self.inner
                .commit
                .enqueue(vec![Self::put_queue_op(&q, &s.record)])
        };
        pending.done().await
    }

    /// The queue's `Policy` attribute, for the API's authorization: `None` when it has
    /// none or there is no such queue (the operation answers that).
    pub fn queue_policy(&self, id: &QueueId) -> Result<Option<String>, SqsError> {
        let q = match self.queue(id) {
            Ok(q) => q,
            Err(e) if e.kind == ErrorKind::QueueDoesNotExist => return Ok(None),
            Err(e) => return Err(e),
        };
        let s = q.lock();
        Ok(s.record.attributes.get("Policy").cloned())
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
}
