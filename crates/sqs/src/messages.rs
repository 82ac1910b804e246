//! The message operations as the node that serves SQS runs them ([`crate::Sqs`] sends
//! them there from other nodes): send (with FIFO deduplication), receive (long
//! polling, visibility, redrive to the dead-letter queue), delete and visibility changes.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use hearth_store::{SqsMessageRow, SqsOp};
use sha2::{Digest, Sha256};

use crate::attributes::{self, Config};
use crate::error::{ErrorKind, SqsError};
use crate::md5::{md5_hex, md5_of_attributes};
use crate::message::{
    check_attributes, check_body, MessageAttributeValue, OutgoingMessage, ReceiveRequest,
    ReceivedMessage, SendRequest, SentMessage, StoredMessage,
};
use crate::queue::{message_attributes, system_attributes, Attempt, Dedup, Msg, Queue, DEDUP_MS};
use crate::service::{fifo_id_ok, now_ms, parse_receipt, receipt, Local, QueueId};

impl Local {
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
    /// the queue `queue_arn`, with the X-Ray trace header of what caused it (an SNS
    /// publish's) kept as its `AWSTraceHeader` system attribute. The caller has authorized
    /// the sender.
    pub async fn send_internal_traced(
        &self,
        queue_arn: &str,
        msg: OutgoingMessage,
        trace_header: Option<String>,
    ) -> Result<SentMessage, SqsError> {
        let q = self.queue_by_arn(queue_arn)?;
        let system_attributes = trace_header
            .map(|t| {
                let value = MessageAttributeValue {
                    data_type: "String".into(),
                    string_value: Some(t),
                    binary_value: None,
                };
                BTreeMap::from([("AWSTraceHeader".to_string(), value)])
            })
            .unwrap_or_default();
        self.send_to(
            &q,
            SendRequest {
                message: msg,
                system_attributes,
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
        // A group id has FIFO's rules on either kind of queue (on a standard one it is a
        // fair queue's tenant).
        if let Some(group) = m.group_id.as_deref().filter(|g| !fifo_id_ok(g)) {
            return Err(SqsError::invalid_value(
                "MessageGroupId",
                group,
                "MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.",
            ));
        }
        if config.fifo {
            if m.group_id.is_none() {
                return Err(SqsError::missing("MessageGroupId"));
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
        // Checked above: these cannot fail now.
        let size = check_body(&req.message.body).unwrap_or(0)
            + check_attributes(&req.message.attributes).unwrap_or(0);
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
                // Gone with this node's standing down: SQS is served elsewhere now.
                self.serving()?;
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
                    q.meter.sent(size, now);
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
                q.meter.sent(size, now);
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
                    // Gone with this node's standing down: taken nothing, and SQS is
                    // served elsewhere now (the caller may ask there).
                    self.serving()?;
                    return Err(SqsError::no_queue());
                }
                let attempt = req.attempt_id.as_deref().filter(|_| s.config.fifo);
                if let Some(previous) = attempt.and_then(|a| s.repeat_attempt(a, now)) {
                    q.meter.received(previous.len(), now);
                    return Ok(previous);
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
                if let (Some(a), false) = (attempt, out.is_empty()) {
                    let receipts = t
                        .received
                        .iter()
                        .filter_map(|(seq, _, _)| s.msgs.get(seq).map(|m| (*seq, m.nonce)))
                        .collect();
                    s.attempts.insert(
                        a.to_string(),
                        Attempt {
                            expires_ms: now + DEDUP_MS,
                            receipts,
                            messages: out.clone(),
                        },
                    );
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
            if !out.is_empty()
                || now >= deadline
                || self.inner.closing.load(std::sync::atomic::Ordering::SeqCst)
            {
                q.meter.received(out.len(), now);
                return Ok(out);
            }
            let until = next_ms.map_or(deadline, |n| n.min(deadline));
            let sleep = Duration::from_millis((until - now).max(1) as u64);
            let _ = tokio::time::timeout(sleep, notified).await;
        }
    }

    /// Ends every long poll now, empty, and every later one at once: the server is
    /// stopping, and its graceful shutdown waits for the requests in flight.
    pub fn close_long_polls(&self) {
        self.inner
            .closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let queues = self.inner.queues.read().unwrap_or_else(|p| p.into_inner());
        for q in queues.values() {
            q.arrived.notify_waiters();
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
        let done = match pending {
            Some(p) => p.done().await,
            None => Ok(()),
        };
        if done.is_ok() {
            q.meter.deleted(now_ms());
        }
        done
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
