//! Hearth's queues and topics behind EventBridge's [`Targets`]: a rule's target, a
//! schedule's target, and the dead-letter queues of both. A rule sends as
//! `events.amazonaws.com`, which the queue's or topic's policy must allow for the rule
//! (`aws:SourceArn`); a schedule sends with its role, which must be allowed
//! `sqs:SendMessage` or `sns:Publish` on the target.

use std::collections::BTreeMap;

use hearth_eventbridge::{Outgoing, Sender, TargetError, Targets, PRINCIPAL, SCHEDULER_PRINCIPAL};
use hearth_sns::{PublishInput, Sns, SnsError};
use hearth_sqs::{ErrorKind, MessageAttributeValue, OutgoingMessage, Sqs};
use hearth_triggers::{BoxFuture, Invoker};

use crate::messaging::{service_may_publish, service_may_send, Refusal};

/// The sender SQS records for EventBridge's messages (UNSURE: AWS's service identity
/// for EventBridge is not documented).
const SENDER_ID: &str = "AIDAHEARTHEVENTBRIDGE";

pub(crate) struct EventTargets {
    pub sqs: Sqs,
    pub sns: Sns,
    pub invoker: Invoker,
}

impl EventTargets {
    /// Whether the schedule `schedule`'s role may call `action` on `resource`.
    fn role_may(
        &self,
        role: &str,
        schedule: &str,
        action: &str,
        resource: &str,
    ) -> Result<(), TargetError> {
        match self.invoker.role_may_act(
            role,
            SCHEDULER_PRINCIPAL,
            schedule,
            action,
            resource,
            None,
        ) {
            Ok(true) => Ok(()),
            Ok(false) => Err(TargetError::NoPermissions(format!(
                "the role {role} does not trust {SCHEDULER_PRINCIPAL} or may not {action} on {resource}"
            ))),
            Err(e) => Err(TargetError::Failed(e.to_string())),
        }
    }

    /// Whether the topic's policy lets EventBridge publish for the rule `source_arn`.
    fn topic_allows(&self, topic_arn: &str, source_arn: &str) -> Result<(), TargetError> {
        service_may_publish(&self.sns, topic_arn, PRINCIPAL, source_arn).map_err(|r| match r {
            Refusal::NoQueue => TargetError::NoResource(format!("{topic_arn} does not exist")),
            Refusal::Denied => TargetError::NoPermissions(format!(
                "the policy of {topic_arn} does not allow {PRINCIPAL} to publish for {source_arn}"
            )),
            Refusal::Failed(e) => TargetError::Failed(e),
        })
    }
}

impl Targets for EventTargets {
    fn send_to_queue<'a>(
        &'a self,
        queue_arn: &'a str,
        msg: Outgoing,
    ) -> BoxFuture<'a, Result<(), TargetError>> {
        Box::pin(async move {
            match &msg.sender {
                Sender::Rule => {
                    match service_may_send(&self.sqs, queue_arn, PRINCIPAL, &msg.source_arn).await {
                        Ok(()) => {}
                        Err(Refusal::NoQueue) => {
                            return Err(TargetError::NoResource(format!(
                                "{queue_arn} does not exist"
                            )))
                        }
                        Err(Refusal::Denied) => {
                            return Err(TargetError::NoPermissions(format!(
                            "the policy of {queue_arn} does not allow {PRINCIPAL} to send for {}",
                            msg.source_arn
                        )))
                        }
                        Err(Refusal::Failed(m)) => return Err(TargetError::Failed(m)),
                    }
                }
                Sender::Schedule { role_arn } => {
                    self.role_may(role_arn, &msg.source_arn, "sqs:SendMessage", queue_arn)?
                }
            }
            let attributes = msg
                .attributes
                .into_iter()
                .map(|(name, value)| {
                    (
                        name,
                        MessageAttributeValue {
                            data_type: "String".into(),
                            string_value: Some(value),
                            binary_value: None,
                        },
                    )
                })
                .collect();
            let out = OutgoingMessage {
                body: msg.body,
                attributes,
                group_id: msg.group_id,
                dedup_id: msg.dedup_id,
                sender_id: SENDER_ID.into(),
                delay_seconds: None,
            };
            match self
                .sqs
                .send_internal_traced(queue_arn, out, msg.trace_header)
                .await
            {
                Ok(_) => Ok(()),
                Err(e) => Err(match e.kind {
                    ErrorKind::QueueDoesNotExist => {
                        TargetError::NoResource(format!("{queue_arn} does not exist"))
                    }
                    ErrorKind::Internal | ErrorKind::Unavailable => TargetError::Failed(e.message),
                    _ => TargetError::Refused(e.message),
                }),
            }
        })
    }

    fn publish_to_topic<'a>(
        &'a self,
        topic_arn: &'a str,
        msg: Outgoing,
    ) -> BoxFuture<'a, Result<(), TargetError>> {
        Box::pin(async move {
            match &msg.sender {
                Sender::Rule => self.topic_allows(topic_arn, &msg.source_arn)?,
                Sender::Schedule { role_arn } => {
                    self.role_may(role_arn, &msg.source_arn, "sns:Publish", topic_arn)?
                }
            }
            let input = PublishInput {
                message: msg.body,
                attributes: BTreeMap::new(),
                group_id: msg.group_id,
                dedup_id: msg.dedup_id,
                trace_header: msg.trace_header,
                ..Default::default()
            };
            self.sns
                .publish(topic_arn, input)
                .map(|_| ())
                .map_err(|e| topic_error(topic_arn, e))
        })
    }
}

fn topic_error(topic_arn: &str, e: SnsError) -> TargetError {
    match e {
        SnsError::Client {
            code: "NotFound", ..
        } => TargetError::NoResource(format!("{topic_arn} does not exist")),
        SnsError::Client { message, .. } => TargetError::Refused(message),
        other => TargetError::Failed(other.to_string()),
    }
}
