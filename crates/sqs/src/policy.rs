//! A queue's `Policy` as a resource policy: read for the authorization of a call on the
//! queue (the API's, an event-source mapping's poller's), and asked whether it lets an
//! AWS service send to the queue on behalf of one of its resources: what Hearth's own
//! senders ask before [`crate::Sqs::send_internal`] (SNS delivering a topic's message:
//! `sns.amazonaws.com` with `aws:SourceArn` the topic; EventBridge, S3 notifications
//! later). As on AWS, a queue without a policy that allows it takes nothing from a
//! service.

use hearth_iam_policy::{
    evaluate, parse, PolicyKind, RequestContext, RequestPrincipal, ResourcePolicy,
};

use crate::error::SqsError;
use crate::service::{now_ms, Local, QueueId};

impl Local {
    /// Whether the queue `queue_arn`'s policy allows `service` (`sns.amazonaws.com`) to
    /// `sqs:SendMessage` for the resource `source_arn` (the topic); an error only when
    /// the queue's policy cannot be read (SQS is not served).
    pub fn service_may_send(
        &self,
        queue_arn: &str,
        service: &str,
        source_arn: &str,
    ) -> Result<bool, SqsError> {
        let Ok(id) = QueueId::parse(queue_arn, "") else {
            return Ok(false);
        };
        let Some(text) = self.queue_policy(&id)? else {
            return Ok(false);
        };
        Ok(allows(&text, &id, service, source_arn))
    }
}

fn allows(policy: &str, queue: &QueueId, service: &str, source_arn: &str) -> bool {
    let Ok(policy) = parse(policy, PolicyKind::Resource) else {
        return false;
    };
    let mut ctx = RequestContext::new(RequestPrincipal::service(service)).at_time(now_ms() / 1000);
    ctx.set("aws:SourceArn", source_arn);
    if let Some(account) = source_arn.split(':').nth(4).filter(|a| !a.is_empty()) {
        ctx.set("aws:SourceAccount", account);
    }
    evaluate(
        &ctx,
        "sqs:SendMessage",
        &queue.arn(),
        &[],
        ResourcePolicy {
            account: &queue.account,
            policy: Some(&policy),
        },
    )
    .allowed()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC: &str = "arn:aws:sns:us-east-1:000000000000:orders";

    fn queue() -> QueueId {
        QueueId {
            account: "000000000000".into(),
            name: "q".into(),
        }
    }

    #[test]
    fn a_topic_named_by_the_policy_may_send_and_no_other() {
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue().arn(),
                "Condition": {"ArnEquals": {"aws:SourceArn": TOPIC}},
            }],
        })
        .to_string();
        assert!(allows(&policy, &queue(), "sns.amazonaws.com", TOPIC));
        assert!(!allows(
            &policy,
            &queue(),
            "sns.amazonaws.com",
            "arn:aws:sns:us-east-1:000000000000:other"
        ));
        assert!(!allows(&policy, &queue(), "events.amazonaws.com", TOPIC));
    }

    #[test]
    fn a_policy_for_accounts_lets_no_service_in() {
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
                "Action": "sqs:*",
                "Resource": queue().arn(),
            }],
        })
        .to_string();
        assert!(!allows(&policy, &queue(), "sns.amazonaws.com", TOPIC));
    }
}
