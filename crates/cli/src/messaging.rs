//! Joins the messaging services to what sends through them: Hearth's queues behind SNS's
//! [`QueueSink`] (subscriptions of protocol `sqs`, subscriptions' dead-letter queues), and
//! both services behind the async queue's [`MessageSink`] (destination records and dead
//! letters of asynchronous invocations). The services do not know each other; the server
//! composes them here.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use hearth_sns::{QueueMessage, QueueSink, SinkError, Sns, SnsError};
use hearth_sqs::{ErrorKind, MessageAttributeValue, OutgoingMessage, QueueId, Sqs, SqsError};
use hearth_triggers::{BoxFuture, MessageSink, OutboundMessage, SendError};

/// The service principal SNS sends to queues as, which a queue's policy must allow.
const SNS_PRINCIPAL: &str = "sns.amazonaws.com";

/// Hearth's queues, as SNS sends to them. Made before the SQS service opens (SNS is
/// built first), so it holds the service once it is there.
#[derive(Clone, Default)]
pub(crate) struct Queues(Arc<OnceLock<Sqs>>);

impl Queues {
    pub(crate) fn open(&self, sqs: Sqs) {
        let _ = self.0.set(sqs);
    }
}

impl QueueSink for Queues {
    fn send(&self, queue_arn: &str, msg: QueueMessage) -> BoxFuture<'_, Result<(), SinkError>> {
        let queue_arn = queue_arn.to_string();
        Box::pin(async move {
            let Some(sqs) = self.0.get() else {
                return Err(SinkError::NoQueue(queue_arn));
            };
            // A topic sends to a queue only if the queue's policy allows SNS for it,
            // whoever owns them (AWS's rule for SNS-to-SQS subscriptions). On a fleet the
            // policy is read, and the message sent, where SQS is served.
            match service_may_send(sqs, &queue_arn, SNS_PRINCIPAL, &msg.source_arn).await {
                Ok(()) => {}
                Err(Refusal::NoQueue) => return Err(SinkError::NoQueue(queue_arn)),
                Err(Refusal::Denied) => return Err(SinkError::Denied(queue_arn)),
                Err(Refusal::Failed(m)) => return Err(SinkError::Failed(m)),
            }
            let attributes = msg
                .attributes
                .into_iter()
                .map(|(name, a)| {
                    let binary = a.binary_value.and_then(|b| {
                        use base64::Engine;
                        base64::engine::general_purpose::STANDARD.decode(b).ok()
                    });
                    (
                        name,
                        MessageAttributeValue {
                            data_type: a.data_type,
                            string_value: a.string_value,
                            binary_value: binary,
                        },
                    )
                })
                .collect();
            let out = OutgoingMessage {
                body: msg.body,
                attributes,
                group_id: msg.group_id,
                dedup_id: msg.dedup_id,
                sender_id: msg.sender_id,
                delay_seconds: None,
            };
            match sqs
                .send_internal_traced(&queue_arn, out, msg.trace_header)
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if e.kind == ErrorKind::QueueDoesNotExist => {
                    Err(SinkError::NoQueue(queue_arn))
                }
                Err(e) => Err(SinkError::Failed(e.message)),
            }
        })
    }
}

/// Why a service may not send to a queue.
pub(crate) enum Refusal {
    NoQueue,
    Denied,
    Failed(String),
}

/// Whether the queue's policy lets the service principal `service` send to it for
/// `source_arn` (a topic, a rule); a queue that is not there is told apart.
pub(crate) async fn service_may_send(
    sqs: &Sqs,
    queue_arn: &str,
    service: &str,
    source_arn: &str,
) -> Result<(), Refusal> {
    let allowed = sqs
        .service_may_send(queue_arn, service, source_arn)
        .await
        .map_err(|e| Refusal::Failed(e.message))?;
    if allowed {
        return Ok(());
    }
    let Ok(id) = QueueId::parse(queue_arn, "") else {
        return Err(Refusal::NoQueue);
    };
    Err(match sqs.get_queue(&id.account, &id.name, None).await {
        Ok(_) => Refusal::Denied,
        Err(e) if e.kind == ErrorKind::QueueDoesNotExist => Refusal::NoQueue,
        Err(e) => Refusal::Failed(e.message),
    })
}

/// Whether the topic's policy lets the service principal `service` publish to it for
/// `source_arn` (a rule, an alarm); a topic that is not there is [`Refusal::NoQueue`].
pub(crate) fn service_may_publish(
    sns: &Sns,
    topic_arn: &str,
    service: &str,
    source_arn: &str,
) -> Result<(), Refusal> {
    may_publish(
        sns,
        topic_arn,
        hearth_iam_policy::RequestPrincipal::service(service),
        source_arn,
    )
}

/// Whether the topic's policy lets `principal` publish to it for `source_arn`, whose
/// account is `aws:SourceAccount` and `aws:SourceOwner` (the key SNS's default policy
/// names).
pub(crate) fn may_publish(
    sns: &Sns,
    topic_arn: &str,
    principal: hearth_iam_policy::RequestPrincipal,
    source_arn: &str,
) -> Result<(), Refusal> {
    use hearth_iam_policy::{evaluate, PolicyKind, RequestContext, ResourcePolicy};
    let text = match sns.topic_policy(topic_arn) {
        Ok(Some(t)) => t,
        Ok(None)
        | Err(SnsError::Client {
            code: "NotFound", ..
        }) => return Err(Refusal::NoQueue),
        Err(e) => return Err(Refusal::Failed(e.to_string())),
    };
    let policy = hearth_iam_policy::parse(&text, PolicyKind::Resource)
        .map_err(|e| Refusal::Failed(format!("the topic's policy: {e}")))?;
    let mut ctx = RequestContext::new(principal);
    ctx.set("aws:SourceArn", source_arn);
    if let Some(a) = hearth_model::arn::arn_account(source_arn) {
        ctx.set("aws:SourceAccount", a);
        ctx.set("aws:SourceOwner", a);
    }
    let owner = hearth_model::arn::arn_account(topic_arn).unwrap_or_default();
    let outcome = evaluate(
        &ctx,
        "sns:Publish",
        topic_arn,
        &[],
        ResourcePolicy {
            account: owner,
            policy: Some(&policy),
        },
    );
    if outcome.allowed() {
        Ok(())
    } else {
        Err(Refusal::Denied)
    }
}

/// Queues and topics, as asynchronous invocation sends records and dead letters to them
/// (with the function's execution role, which the dispatcher has checked).
pub(crate) struct Outbound {
    pub sqs: Sqs,
    pub sns: Sns,
    pub events: hearth_eventbridge::EventBridge,
}

impl MessageSink for Outbound {
    fn send<'a>(
        &'a self,
        target: &'a str,
        message: OutboundMessage,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            match target.split(':').nth(2) {
                Some("sqs") => {
                    let attributes = message
                        .attributes
                        .into_iter()
                        .map(|a| {
                            (
                                a.name,
                                MessageAttributeValue {
                                    data_type: a.data_type,
                                    string_value: Some(a.value),
                                    binary_value: None,
                                },
                            )
                        })
                        .collect();
                    let out = OutgoingMessage {
                        body: message.body,
                        attributes,
                        // Lambda's service identity, as the record's sender.
                        sender_id: "AIDAIHEARTHLAMBDA".into(),
                        ..OutgoingMessage::default()
                    };
                    self.sqs
                        .send_internal(target, out)
                        .await
                        .map(|_| ())
                        .map_err(|e| queue_error(target, e))
                }
                Some("sns") => {
                    let attributes: BTreeMap<_, _> = message
                        .attributes
                        .into_iter()
                        .map(|a| {
                            (
                                a.name,
                                hearth_sns::MessageAttribute {
                                    data_type: a.data_type,
                                    string_value: Some(a.value),
                                    binary_value: None,
                                },
                            )
                        })
                        .collect();
                    let input = hearth_sns::PublishInput {
                        message: message.body,
                        attributes,
                        ..Default::default()
                    };
                    self.sns
                        .publish(target, input)
                        .map(|_| ())
                        .map_err(|e| topic_error(target, e))
                }
                Some("events") => {
                    // A destination record: source `lambda`, the record as the detail,
                    // the bus and the function's version as the resources (UNSURE: the
                    // order of AWS's `resources`).
                    let Some(detail_type) = message.detail_type.as_deref() else {
                        return Err(SendError::Refused(
                            "an event needs a detail-type".to_string(),
                        ));
                    };
                    let function = serde_json::from_str::<serde_json::Value>(&message.body)
                        .ok()
                        .and_then(|r| {
                            r.pointer("/requestContext/functionArn")
                                .and_then(serde_json::Value::as_str)
                                .map(str::to_string)
                        });
                    let resources = std::iter::once(target.to_string())
                        .chain(function)
                        .collect();
                    self.events
                        .put_service_event(target, "lambda", detail_type, &message.body, resources)
                        .map(|_| ())
                        .map_err(|e| match e {
                            hearth_eventbridge::EventsError::Client {
                                code: "ResourceNotFoundException",
                                ..
                            } => SendError::NotFound(target.to_string()),
                            hearth_eventbridge::EventsError::Client { message, .. } => {
                                SendError::Refused(message)
                            }
                            other => SendError::Failed(other.to_string()),
                        })
                }
                _ => Err(SendError::NotFound(target.to_string())),
            }
        })
    }
}

fn queue_error(target: &str, e: SqsError) -> SendError {
    match e.kind {
        ErrorKind::QueueDoesNotExist => SendError::NotFound(target.to_string()),
        ErrorKind::Internal | ErrorKind::Unavailable => SendError::Failed(e.message),
        _ => SendError::Refused(e.message),
    }
}

fn topic_error(target: &str, e: SnsError) -> SendError {
    match e {
        SnsError::Client {
            code: "NotFound", ..
        } => SendError::NotFound(target.to_string()),
        SnsError::Client { message, .. } => SendError::Refused(message),
        other => SendError::Failed(other.to_string()),
    }
}
