//! [`Sqs`]: the public handle of the queue service, the same on every node of a fleet.
//! Each operation runs here when this node serves SQS, and is sent to the node that
//! does otherwise (`relay.rs`), answered as if local: the API, SNS's deliveries,
//! asynchronous destinations and the mappings' pollers need not know where queues live.
//! What each operation does is documented where it is carried out (`queues.rs`,
//! `messages.rs`, `batch.rs`, `move_task.rs`, `policy.rs`).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use hearth_store::SqsStore;

use crate::batch::EntryResult;
use crate::call::Call;
use crate::error::SqsError;
use crate::message::{OutgoingMessage, ReceiveRequest, ReceivedMessage, SendRequest, SentMessage};
use crate::move_task::MoveTaskInfo;
use crate::relay::Relay;
use crate::service::{Local, Page, QueueId};

/// The SQS service. Cheap to clone; every clone is the same service.
#[derive(Clone)]
pub struct Sqs {
    pub(crate) local: Local,
}

impl Sqs {
    /// Opens the service on its own store (the embedded one): loads every queue and
    /// message. A fleet's node opens with [`Sqs::open_on`].
    pub fn open(store: Arc<dyn SqsStore>) -> Result<Self, SqsError> {
        Ok(Self {
            local: Local::open(store)?,
        })
    }

    /// How this node sends operations to the node that serves SQS, when it does not.
    /// Until set, such a node answers `ServiceUnavailable` naming the holder.
    pub fn relay_through(&self, relay: Arc<dyn Relay>) {
        let _ = self.local.inner.relay.set(relay);
    }

    /// Whether this node serves SQS now (on a fleet, whether it holds the lease).
    pub fn serves_here(&self) -> bool {
        self.local.serving().is_ok()
    }

    /// Ends every long poll now, empty, and every later one at once (those waiting at
    /// another node too): the server is stopping, and its graceful shutdown waits for
    /// the requests in flight.
    pub fn close_long_polls(&self) {
        self.local.close_long_polls();
        self.local.inner.closed.notify_waiters();
    }

    pub async fn create_queue(
        &self,
        account: &str,
        name: &str,
        attrs: BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    ) -> Result<QueueId, SqsError> {
        self.run(
            || Call::CreateQueue {
                account: account.into(),
                name: name.into(),
                attributes: attrs.clone(),
                tags: tags.clone(),
            },
            || {
                self.local
                    .create_queue(account, name, attrs.clone(), tags.clone())
            },
        )
        .await
    }

    /// GetQueueUrl: the queue of `owner` (the caller's own by default), if it exists.
    pub async fn get_queue(
        &self,
        account: &str,
        name: &str,
        owner: Option<&str>,
    ) -> Result<QueueId, SqsError> {
        self.run(
            || Call::GetQueue {
                account: account.into(),
                name: name.into(),
                owner: owner.map(str::to_string),
            },
            || async { self.local.get_queue(account, name, owner) },
        )
        .await
    }

    pub async fn list_queues(
        &self,
        account: &str,
        prefix: Option<&str>,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<Page<QueueId>, SqsError> {
        self.run(
            || Call::ListQueues {
                account: account.into(),
                prefix: prefix.map(str::to_string),
                max_results,
                next_token: next_token.map(str::to_string),
            },
            || async {
                self.local
                    .list_queues(account, prefix, max_results, next_token)
            },
        )
        .await
    }

    pub async fn delete_queue(&self, id: &QueueId) -> Result<(), SqsError> {
        self.run(
            || Call::DeleteQueue { queue: id.clone() },
            || self.local.delete_queue(id),
        )
        .await
    }

    /// GetQueueAttributes: the names asked for (`All` for every one).
    pub async fn get_queue_attributes(
        &self,
        id: &QueueId,
        names: &[String],
    ) -> Result<BTreeMap<String, String>, SqsError> {
        self.run(
            || Call::GetQueueAttributes {
                queue: id.clone(),
                names: names.to_vec(),
            },
            || async { self.local.get_queue_attributes(id, names) },
        )
        .await
    }

    pub async fn set_queue_attributes(
        &self,
        id: &QueueId,
        attrs: BTreeMap<String, String>,
    ) -> Result<(), SqsError> {
        self.run(
            || Call::SetQueueAttributes {
                queue: id.clone(),
                attributes: attrs.clone(),
            },
            || self.local.set_queue_attributes(id, attrs.clone()),
        )
        .await
    }

    /// The queue's `Policy` attribute, for the API's authorization: `None` when it has
    /// none or there is no such queue; an error when it cannot be read (authorize
    /// nothing then: the policy may deny).
    pub async fn queue_policy(&self, id: &QueueId) -> Result<Option<String>, SqsError> {
        self.run(
            || Call::QueuePolicy { queue: id.clone() },
            || async { self.local.queue_policy(id) },
        )
        .await
    }

    /// The queue's `Policy`, parsed, as a resource policy for authorizing a call on the
    /// queue (the API's, an event-source mapping's poller's): `None` when it has none,
    /// there is no such queue, or the document does not parse (it was checked when set).
    pub async fn resource_policy(
        &self,
        id: &QueueId,
    ) -> Result<Option<hearth_iam_policy::Policy>, SqsError> {
        let text = self.queue_policy(id).await?;
        Ok(text.and_then(|t| {
            hearth_iam_policy::parse(&t, hearth_iam_policy::PolicyKind::Resource).ok()
        }))
    }

    pub async fn purge_queue(&self, id: &QueueId) -> Result<(), SqsError> {
        self.run(
            || Call::PurgeQueue { queue: id.clone() },
            || self.local.purge_queue(id),
        )
        .await
    }

    pub async fn tag_queue(
        &self,
        id: &QueueId,
        tags: BTreeMap<String, String>,
    ) -> Result<(), SqsError> {
        self.run(
            || Call::TagQueue {
                queue: id.clone(),
                tags: tags.clone(),
            },
            || self.local.tag_queue(id, tags.clone()),
        )
        .await
    }

    pub async fn untag_queue(&self, id: &QueueId, keys: &[String]) -> Result<(), SqsError> {
        self.run(
            || Call::UntagQueue {
                queue: id.clone(),
                keys: keys.to_vec(),
            },
            || self.local.untag_queue(id, keys),
        )
        .await
    }

    pub async fn list_queue_tags(
        &self,
        id: &QueueId,
    ) -> Result<BTreeMap<String, String>, SqsError> {
        self.run(
            || Call::ListQueueTags { queue: id.clone() },
            || async { self.local.list_queue_tags(id) },
        )
        .await
    }

    pub async fn list_dead_letter_source_queues(
        &self,
        id: &QueueId,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<Page<QueueId>, SqsError> {
        self.run(
            || Call::ListDeadLetterSourceQueues {
                queue: id.clone(),
                max_results,
                next_token: next_token.map(str::to_string),
            },
            || async {
                self.local
                    .list_dead_letter_source_queues(id, max_results, next_token)
            },
        )
        .await
    }

    pub async fn add_permission(
        &self,
        id: &QueueId,
        label: &str,
        accounts: &[String],
        actions: &[String],
    ) -> Result<(), SqsError> {
        self.run(
            || Call::AddPermission {
                queue: id.clone(),
                label: label.into(),
                accounts: accounts.to_vec(),
                actions: actions.to_vec(),
            },
            || self.local.add_permission(id, label, accounts, actions),
        )
        .await
    }

    pub async fn remove_permission(&self, id: &QueueId, label: &str) -> Result<(), SqsError> {
        self.run(
            || Call::RemovePermission {
                queue: id.clone(),
                label: label.into(),
            },
            || self.local.remove_permission(id, label),
        )
        .await
    }

    pub async fn send_message(
        &self,
        id: &QueueId,
        req: SendRequest,
    ) -> Result<SentMessage, SqsError> {
        self.run(
            || Call::SendMessage {
                queue: id.clone(),
                request: req.clone(),
            },
            || self.local.send_message(id, req.clone()),
        )
        .await
    }

    /// Sends a message for Hearth itself (SNS deliveries, async destinations and DLQs) to
    /// the queue `queue_arn`. The caller has authorized the sender.
    pub async fn send_internal(
        &self,
        queue_arn: &str,
        msg: OutgoingMessage,
    ) -> Result<SentMessage, SqsError> {
        self.send_internal_traced(queue_arn, msg, None).await
    }

    /// [`Sqs::send_internal`] with the X-Ray trace header of what caused the message (an
    /// SNS publish's), kept as its `AWSTraceHeader` system attribute.
    pub async fn send_internal_traced(
        &self,
        queue_arn: &str,
        msg: OutgoingMessage,
        trace_header: Option<String>,
    ) -> Result<SentMessage, SqsError> {
        self.run(
            || Call::SendInternal {
                queue_arn: queue_arn.into(),
                message: msg.clone(),
                trace_header: trace_header.clone(),
            },
            || {
                self.local
                    .send_internal_traced(queue_arn, msg.clone(), trace_header.clone())
            },
        )
        .await
    }

    pub async fn send_message_batch(
        &self,
        id: &QueueId,
        entries: Vec<(String, SendRequest)>,
    ) -> Result<Vec<EntryResult<SentMessage>>, SqsError> {
        self.run(
            || Call::SendMessageBatch {
                queue: id.clone(),
                entries: entries.clone(),
            },
            || self.local.send_message_batch(id, entries.clone()),
        )
        .await
    }

    /// ReceiveMessage: waits up to its wait time for a message (at the node that serves
    /// SQS, where every send arrives), waking as soon as one is sent.
    pub async fn receive_message(
        &self,
        id: &QueueId,
        req: ReceiveRequest,
    ) -> Result<Vec<ReceivedMessage>, SqsError> {
        let closed = self.local.inner.closed.notified();
        tokio::pin!(closed);
        closed.as_mut().enable();
        if self.local.inner.closing.load(Ordering::SeqCst) && !self.serves_here() {
            return Ok(Vec::new());
        }
        let received = self.run(
            || Call::ReceiveMessage {
                queue: id.clone(),
                request: req.clone(),
            },
            || self.local.receive_message(id, req.clone()),
        );
        tokio::select! {
            biased;
            r = received => r,
            // The server is stopping: a poll waiting at another node ends now.
            () = closed => Ok(Vec::new()),
        }
    }

    pub async fn delete_message(&self, id: &QueueId, handle: &str) -> Result<(), SqsError> {
        self.run(
            || Call::DeleteMessage {
                queue: id.clone(),
                receipt: handle.into(),
            },
            || self.local.delete_message(id, handle),
        )
        .await
    }

    pub async fn delete_message_batch(
        &self,
        id: &QueueId,
        entries: Vec<(String, String)>,
    ) -> Result<Vec<EntryResult<()>>, SqsError> {
        self.run(
            || Call::DeleteMessageBatch {
                queue: id.clone(),
                entries: entries.clone(),
            },
            || self.local.delete_message_batch(id, entries.clone()),
        )
        .await
    }

    pub async fn change_message_visibility(
        &self,
        id: &QueueId,
        handle: &str,
        timeout: i64,
    ) -> Result<(), SqsError> {
        self.run(
            || Call::ChangeMessageVisibility {
                queue: id.clone(),
                receipt: handle.into(),
                timeout,
            },
            || async { self.local.change_message_visibility(id, handle, timeout) },
        )
        .await
    }

    pub async fn change_message_visibility_batch(
        &self,
        id: &QueueId,
        entries: Vec<(String, String, i64)>,
    ) -> Result<Vec<EntryResult<()>>, SqsError> {
        self.run(
            || Call::ChangeMessageVisibilityBatch {
                queue: id.clone(),
                entries: entries.clone(),
            },
            || async {
                self.local
                    .change_message_visibility_batch(id, entries.clone())
            },
        )
        .await
    }

    /// StartMessageMoveTask: answers the task's handle. The task runs at the node that
    /// serves SQS.
    pub async fn start_message_move_task(
        &self,
        source_arn: &str,
        destination_arn: Option<&str>,
        max_per_second: Option<i64>,
    ) -> Result<String, SqsError> {
        self.run(
            || Call::StartMessageMoveTask {
                source_arn: source_arn.into(),
                destination_arn: destination_arn.map(str::to_string),
                max_per_second,
            },
            || {
                self.local
                    .start_message_move_task(source_arn, destination_arn, max_per_second)
            },
        )
        .await
    }

    pub async fn list_message_move_tasks(
        &self,
        source_arn: &str,
        max_results: Option<i64>,
    ) -> Result<Vec<MoveTaskInfo>, SqsError> {
        self.run(
            || Call::ListMessageMoveTasks {
                source_arn: source_arn.into(),
                max_results,
            },
            || async { self.local.list_message_move_tasks(source_arn, max_results) },
        )
        .await
    }

    pub async fn cancel_message_move_task(&self, handle: &str) -> Result<i64, SqsError> {
        self.run(
            || Call::CancelMessageMoveTask {
                handle: handle.into(),
            },
            || self.local.cancel_message_move_task(handle),
        )
        .await
    }

    /// Whether the queue `queue_arn`'s policy allows `service` (`sns.amazonaws.com`) to
    /// `sqs:SendMessage` for the resource `source_arn` (the topic); an error when the
    /// policy cannot be read (SQS is not served; worth trying again).
    pub async fn service_may_send(
        &self,
        queue_arn: &str,
        service: &str,
        source_arn: &str,
    ) -> Result<bool, SqsError> {
        self.run(
            || Call::ServiceMaySend {
                queue_arn: queue_arn.into(),
                service: service.into(),
                source_arn: source_arn.into(),
            },
            || async { self.local.service_may_send(queue_arn, service, source_arn) },
        )
        .await
    }
}
