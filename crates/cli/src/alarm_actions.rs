//! What CloudWatch alarms' actions reach: Hearth's SNS topics, and — a Hearth extension —
//! webhooks: an action that is an `http://` or `https://` URL gets the same JSON
//! message in a POST.

use std::time::Duration;

use bytes::Bytes;
use hearth_metrics::alarm_evaluator::{AlarmActions, BoxFuture};
use hearth_metrics::alarm_notify::subject_of;
use hearth_sns::{PublishInput, Sns};
use http_body_util::Full;
use serde_json::Value;

use crate::messaging::{may_publish, Refusal};

/// The service principal alarms act as.
const PRINCIPAL: &str = "cloudwatch.amazonaws.com";
/// How long a webhook has to answer.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct Actions {
    pub sns: Sns,
    pub http: hearth_serve::HttpClient,
}

impl Actions {
    pub(crate) fn new(sns: Sns) -> Self {
        Self {
            sns,
            http: hearth_serve::http_client(hearth_serve::public_roots(), Duration::from_secs(5)),
        }
    }

    /// Publishes to a topic as AWS does for an alarm: an alarm of the topic's own account
    /// publishes as that account (`aws:SourceOwner`, which SNS's default topic policy
    /// allows), another account's as `cloudwatch.amazonaws.com` for the alarm, which the
    /// topic's policy must allow. UNSURE: AWS documents that same-account alarms publish to
    /// topics with the default policy, not as which principal.
    fn publish(&self, topic_arn: &str, alarm_arn: &str, message: &Value) -> Result<(), String> {
        let alarm_account = hearth_model::arn::arn_account(alarm_arn).unwrap_or_default();
        let topic_account = hearth_model::arn::arn_account(topic_arn).unwrap_or_default();
        let principal = if alarm_account == topic_account {
            hearth_iam_policy::RequestPrincipal::root(alarm_account)
        } else {
            hearth_iam_policy::RequestPrincipal::service(PRINCIPAL)
        };
        may_publish(&self.sns, topic_arn, principal, alarm_arn).map_err(|r| match r {
            Refusal::NoQueue => format!("the topic {topic_arn} does not exist"),
            Refusal::Denied => format!(
                "the policy of {topic_arn} does not allow {PRINCIPAL} to publish for {alarm_arn}"
            ),
            Refusal::Failed(e) => e,
        })?;
        let input = PublishInput {
            message: message.to_string(),
            subject: Some(subject_of(message)),
            ..Default::default()
        };
        self.sns
            .publish(topic_arn, input)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn post(&self, url: &str, message: &Value) -> Result<(), String> {
        let req = http::Request::post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, "Hearth-CloudWatch-Alarms")
            .body(Full::new(Bytes::from(message.to_string())))
            .map_err(|e| format!("bad webhook URL {url}: {e}"))?;
        match tokio::time::timeout(WEBHOOK_TIMEOUT, self.http.request(req)).await {
            Err(_) => Err(format!("{url} did not answer in time")),
            Ok(Err(e)) => Err(format!("{url}: {e}")),
            Ok(Ok(resp)) if resp.status().is_success() => Ok(()),
            Ok(Ok(resp)) => Err(format!("{url} answered {}", resp.status())),
        }
    }
}

impl AlarmActions for Actions {
    fn notify<'a>(
        &'a self,
        action: &'a str,
        alarm_arn: &'a str,
        message: &'a Value,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            if action.starts_with("http://") || action.starts_with("https://") {
                return self.post(action, message).await;
            }
            if action.starts_with("arn:aws:sns:") {
                return self.publish(action, alarm_arn, message);
            }
            Err(format!("Hearth cannot run the action {action}"))
        })
    }
}
