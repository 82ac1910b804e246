//! [`Call`]: every operation of [`Sqs`] as a value, which a node that does not serve SQS
//! sends to the one that does (`relay.rs`), and [`Sqs::answer`], which runs it there and
//! answers `Result<T, SqsError>` as JSON, `T` being what the operation answers. The
//! caller was authorized by the node it reached (the queue's policy read from the
//! holder); the holder runs what it is sent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, SqsError};
use crate::handle::Sqs;
use crate::message::{OutgoingMessage, ReceiveRequest, SendRequest};
use crate::service::QueueId;

/// One operation and its arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(
    tag = "call",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub(crate) enum Call {
    CreateQueue {
        account: String,
        name: String,
        attributes: BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    },
    GetQueue {
        account: String,
        name: String,
        owner: Option<String>,
    },
    ListQueues {
        account: String,
        prefix: Option<String>,
        max_results: Option<i64>,
        next_token: Option<String>,
    },
    DeleteQueue {
        queue: QueueId,
    },
    GetQueueAttributes {
        queue: QueueId,
        names: Vec<String>,
    },
    SetQueueAttributes {
        queue: QueueId,
        attributes: BTreeMap<String, String>,
    },
    QueuePolicy {
        queue: QueueId,
    },
    PurgeQueue {
        queue: QueueId,
    },
    TagQueue {
        queue: QueueId,
        tags: BTreeMap<String, String>,
    },
    UntagQueue {
        queue: QueueId,
        keys: Vec<String>,
    },
    ListQueueTags {
        queue: QueueId,
    },
    ListDeadLetterSourceQueues {
        queue: QueueId,
        max_results: Option<i64>,
        next_token: Option<String>,
    },
    AddPermission {
        queue: QueueId,
        label: String,
        accounts: Vec<String>,
        actions: Vec<String>,
    },
    RemovePermission {
        queue: QueueId,
        label: String,
    },
    SendMessage {
        queue: QueueId,
        request: SendRequest,
    },
    SendInternal {
        queue_arn: String,
        message: OutgoingMessage,
        #[serde(default)]
        trace_header: Option<String>,
    },
    SendMessageBatch {
        queue: QueueId,
        entries: Vec<(String, SendRequest)>,
    },
    ReceiveMessage {
        queue: QueueId,
        request: ReceiveRequest,
    },
    DeleteMessage {
        queue: QueueId,
        receipt: String,
    },
    DeleteMessageBatch {
        queue: QueueId,
        entries: Vec<(String, String)>,
    },
    ChangeMessageVisibility {
        queue: QueueId,
        receipt: String,
        timeout: i64,
    },
    ChangeMessageVisibilityBatch {
        queue: QueueId,
        entries: Vec<(String, String, i64)>,
    },
    StartMessageMoveTask {
        source_arn: String,
        destination_arn: Option<String>,
        max_per_second: Option<i64>,
    },
    ListMessageMoveTasks {
        source_arn: String,
        max_results: Option<i64>,
    },
    CancelMessageMoveTask {
        handle: String,
    },
    ServiceMaySend {
        queue_arn: String,
        service: String,
        source_arn: String,
    },
}

impl Call {
    /// Whether carrying it out twice is no different from once, so that it may be sent
    /// again when its answer was lost: reads, and writes that set a state (deleting a
    /// message by its receipt, setting attributes or a visibility timeout, creating a
    /// queue with the same attributes). A send could be enqueued twice, a receive would
    /// hide the messages it took, and a purge, a queue's deletion, a permission or a
    /// move task would answer an error for what was done.
    pub(crate) fn repeatable(&self) -> bool {
        !matches!(
            self,
            Self::SendMessage { .. }
                | Self::SendInternal { .. }
                | Self::SendMessageBatch { .. }
                | Self::ReceiveMessage { .. }
                | Self::PurgeQueue { .. }
                | Self::DeleteQueue { .. }
                | Self::AddPermission { .. }
                | Self::RemovePermission { .. }
                | Self::StartMessageMoveTask { .. }
                | Self::CancelMessageMoveTask { .. }
        )
    }
}

fn encode<T: Serialize>(result: Result<T, SqsError>) -> Vec<u8> {
    serde_json::to_vec(&result).unwrap_or_else(|e| {
        serde_json::to_vec(&Err::<(), _>(SqsError::internal(&e))).unwrap_or_default()
    })
}

impl Sqs {
    /// Runs a call another node sent (the bytes of a `Call`, `call.rs`) on this node, which must
    /// serve SQS (else it answers `ServiceUnavailable`, having done nothing); answers
    /// the bytes the sender reads its result from. Never sent on again.
    pub async fn answer(&self, call: &[u8]) -> Vec<u8> {
        let call: Call = match serde_json::from_slice(call) {
            Ok(c) => c,
            Err(e) => {
                return encode::<()>(Err(SqsError::new(
                    ErrorKind::InvalidParameterValue,
                    format!("The SQS call from another node is not one this node knows: {e}"),
                )))
            }
        };
        if let Err(e) = self.local.serving() {
            return encode::<()>(Err(e));
        }
        let l = &self.local;
        match call {
            Call::CreateQueue {
                account,
                name,
                attributes,
                tags,
            } => encode(l.create_queue(&account, &name, attributes, tags).await),
            Call::GetQueue {
                account,
                name,
                owner,
            } => encode(l.get_queue(&account, &name, owner.as_deref())),
            Call::ListQueues {
                account,
                prefix,
                max_results,
                next_token,
            } => encode(l.list_queues(
                &account,
                prefix.as_deref(),
                max_results,
                next_token.as_deref(),
            )),
            Call::DeleteQueue { queue } => encode(l.delete_queue(&queue).await),
            Call::GetQueueAttributes { queue, names } => {
                encode(l.get_queue_attributes(&queue, &names))
            }
            Call::SetQueueAttributes { queue, attributes } => {
                encode(l.set_queue_attributes(&queue, attributes).await)
            }
            Call::QueuePolicy { queue } => encode(l.queue_policy(&queue)),
            Call::PurgeQueue { queue } => encode(l.purge_queue(&queue).await),
            Call::TagQueue { queue, tags } => encode(l.tag_queue(&queue, tags).await),
            Call::UntagQueue { queue, keys } => encode(l.untag_queue(&queue, &keys).await),
            Call::ListQueueTags { queue } => encode(l.list_queue_tags(&queue)),
            Call::ListDeadLetterSourceQueues {
                queue,
                max_results,
                next_token,
            } => {
                encode(l.list_dead_letter_source_queues(&queue, max_results, next_token.as_deref()))
            }
            Call::AddPermission {
                queue,
                label,
                accounts,
                actions,
            } => encode(l.add_permission(&queue, &label, &accounts, &actions).await),
            Call::RemovePermission { queue, label } => {
                encode(l.remove_permission(&queue, &label).await)
            }
            Call::SendMessage { queue, request } => encode(l.send_message(&queue, request).await),
            Call::SendInternal {
                queue_arn,
                message,
                trace_header,
            } => encode(
                l.send_internal_traced(&queue_arn, message, trace_header)
                    .await,
            ),
            Call::SendMessageBatch { queue, entries } => {
                encode(l.send_message_batch(&queue, entries).await)
            }
            Call::ReceiveMessage { queue, request } => {
                encode(l.receive_message(&queue, request).await)
            }
            Call::DeleteMessage { queue, receipt } => {
                encode(l.delete_message(&queue, &receipt).await)
            }
            Call::DeleteMessageBatch { queue, entries } => {
                encode(l.delete_message_batch(&queue, entries).await)
            }
            Call::ChangeMessageVisibility {
                queue,
                receipt,
                timeout,
            } => encode(l.change_message_visibility(&queue, &receipt, timeout)),
            Call::ChangeMessageVisibilityBatch { queue, entries } => {
                encode(l.change_message_visibility_batch(&queue, entries))
            }
            Call::StartMessageMoveTask {
                source_arn,
                destination_arn,
                max_per_second,
            } => encode(
                l.start_message_move_task(&source_arn, destination_arn.as_deref(), max_per_second)
                    .await,
            ),
            Call::ListMessageMoveTasks {
                source_arn,
                max_results,
            } => encode(l.list_message_move_tasks(&source_arn, max_results)),
            Call::CancelMessageMoveTask { handle } => {
                encode(l.cancel_message_move_task(&handle).await)
            }
            Call::ServiceMaySend {
                queue_arn,
                service,
                source_arn,
            } => encode(l.service_may_send(&queue_arn, &service, &source_arn)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_travel_as_json_and_only_harmless_ones_are_repeated() {
        let queue = QueueId {
            account: "000000000000".into(),
            name: "q".into(),
        };
        let send = Call::SendMessage {
            queue: queue.clone(),
            request: SendRequest {
                message: OutgoingMessage {
                    body: "hello".into(),
                    sender_id: "AIDA".into(),
                    ..Default::default()
                },
                ..Default::default()
            },
        };
        let text = serde_json::to_string(&send).expect("serializes");
        assert!(
            text.starts_with(r#"{"call":"sendMessage","queue":{"#),
            "{text}"
        );
        let back: Call = serde_json::from_str(&text).expect("deserializes");
        assert!(
            matches!(back, Call::SendMessage { ref request, .. } if request.message.body == "hello")
        );
        assert!(!send.repeatable());
        assert!(!Call::ReceiveMessage {
            queue: queue.clone(),
            request: ReceiveRequest::default()
        }
        .repeatable());
        assert!(Call::DeleteMessage {
            queue: queue.clone(),
            receipt: "r".into()
        }
        .repeatable());
        assert!(Call::QueuePolicy { queue }.repeatable());
        // An answer is the operation's result, errors with their kind.
        let answer = encode::<()>(Err(SqsError::no_queue()));
        let read: Result<(), SqsError> = serde_json::from_slice(&answer).expect("reads");
        assert_eq!(read, Err(SqsError::no_queue()));
    }
}
