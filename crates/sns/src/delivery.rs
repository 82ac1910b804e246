//! [`Deliveries`]: the event source that delivers what Publish, Subscribe and Unsubscribe
//! queued. Each node claims due rows of the store's delivery queue for a while (a hold: a
//! node that dies mid-delivery leaves its rows to be claimed again, so every message is
//! delivered at least once, across restarts too), delivers them — `lambda` by an
//! asynchronous invocation through the `Invoker` once the function's resource policy lets
//! `sns.amazonaws.com` invoke it for the topic, `http`/`https` by a POST with AWS's
//! headers, `sqs` through the [`crate::QueueSink`] — and then deletes each row, or puts it
//! back due after its retry policy's delay. A message its policy gives up on goes to the
//! subscription's dead-letter queue, if it has one.
//!
//! FIFO order holds across the fleet: a FIFO row's id is its group's line (subscription
//! and group) then its sequence number, and a row is delivered only once no row of its
//! line is queued ahead of it (the store is asked: the one ahead may be another node's,
//! under way, or due again after a failed attempt); until then it waits, with the rest
//! of its group claimed with it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hearth_iam_policy::{evaluate, RequestContext, RequestPrincipal, ResourcePolicy};
use hearth_model::FunctionRef;
use hearth_serve::HttpClient;
use hearth_store::SnsDelivery;
use hearth_triggers::{
    EnqueueRequest, EventSource, Invoker, RunningSource, SourceContext, SourceError, SpawnedSource,
};
use http_body_util::Full;
use tokio::sync::{watch, Semaphore};

use crate::envelope::{Kind, Urls};
use crate::service::{fifo_line, Job};
use crate::sign::Signer;
use crate::{QueueMessage, Sns};

/// How long a claimed row is held before another node may take it: longer than an
/// attempt can take (an HTTP answer's 15 s), short enough that a row whose node died
/// mid-attempt is soon taken up again.
const HOLD_MS: i64 = 60_000;
/// Rows claimed at once, and deliveries running at once.
const BATCH: usize = 32;
/// How often the queue is looked at with nothing woken it (retries coming due, other
/// nodes' rows whose holder died).
const POLL: Duration = Duration::from_millis(500);
/// The end of a dead-letter delivery's row id.
const DEAD_LETTER_SUFFIX: &str = "/dead-letter";
/// How long a FIFO message waits when the one before it in its group is under way (here
/// or at another node).
const FIFO_WAIT_MS: i64 = 50;
/// An HTTP/S endpoint's time to answer.
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);
/// The service principal SNS invokes functions as.
pub const PRINCIPAL: &str = "sns.amazonaws.com";
/// The `SenderId` of messages SNS sends to queues.
const SENDER_ID: &str = "AIDAIT2UOQQY3AUEKVGXU";

/// The delivery source; the server adds it to its event sources.
pub struct Deliveries {
    sns: Sns,
    node: String,
}

impl Deliveries {
    /// The deliveries of node `node` of the fleet (its stable id): at start it frees the
    /// rows it held when it last stopped, so that a killed node's deliveries go on as soon
    /// as it is back rather than when their holds end.
    pub fn new(sns: &Sns, node: &str) -> Self {
        Self {
            sns: sns.clone(),
            node: node.to_string(),
        }
    }
}

impl EventSource for Deliveries {
    fn name(&self) -> &'static str {
        "sns"
    }

    fn start(self: Box<Self>, ctx: SourceContext) -> Result<Box<dyn RunningSource>, SourceError> {
        let worker = Worker {
            sns: self.sns,
            invoker: ctx.invoker().clone(),
            http: http_client(),
            node: format!("sns-{}", self.node),
        };
        if let Err(e) = worker
            .sns
            .inner
            .store
            .sns()
            .release_sns_deliveries(&worker.node)
        {
            tracing::warn!(error = %e, "cannot free the SNS deliveries this node held");
        }
        Ok(SpawnedSource::spawn(|stopped| worker.run(stopped)))
    }
}

/// The client for HTTP/S subscribers: the public web's roots, a few seconds to connect.
fn http_client() -> HttpClient {
    hearth_serve::http_client(hearth_serve::public_roots(), Duration::from_secs(5))
}

/// A FIFO message group of one subscription: (subscription ARN, group id).
type GroupKey = (String, String);

/// Rows delivered together, in order: one standard message, or a FIFO group's.
type Unit = (Option<GroupKey>, Vec<(SnsDelivery, Job)>);

/// How one attempt ended.
#[derive(Debug)]
enum Outcome {
    Delivered,
    /// Worth trying again (by the retry policy).
    Retry(String),
    /// Will not succeed: straight to the dead-letter queue (an HTTP 4xx answer).
    Permanent(String),
}

#[derive(Clone)]
struct Worker {
    sns: Sns,
    invoker: Invoker,
    http: HttpClient,
    node: String,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Worker {
    async fn run(self, mut stopped: watch::Receiver<bool>) {
        let running = Arc::new(Semaphore::new(BATCH));
        // The FIFO message groups (subscription, group) with a delivery under way: a later
        // message of a group waits for the one before it.
        let busy: Arc<Mutex<HashSet<GroupKey>>> = Arc::default();
        loop {
            if *stopped.borrow() {
                break;
            }
            if running.available_permits() == 0 {
                // Every slot is busy: claim again as soon as one delivery ends (not at
                // the next poll, which would cap a backlog at BATCH rows a poll).
                tokio::select! {
                    _ = running.acquire() => {}
                    _ = stopped.changed() => {}
                }
                continue;
            }
            let room = running.available_permits();
            let claimed = if room == 0 {
                Vec::new()
            } else {
                let node = self.node.clone();
                self.sns
                    .inner
                    .store
                    .off_worker(move |store| {
                        store
                            .sns()
                            .claim_sns_deliveries(&node, now_ms(), HOLD_MS, room)
                    })
                    .await
                    .unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "cannot claim SNS deliveries");
                        Vec::new()
                    })
            };
            let full = claimed.len() == room && room > 0;
            for (key, rows) in self.in_groups(claimed) {
                if let Some(key) = &key {
                    if !busy.lock().expect("busy lock").insert(key.clone()) {
                        // Its group is busy: back in a moment, in its order.
                        self.defer(&rows, now_ms() + FIFO_WAIT_MS);
                        continue;
                    }
                }
                let Ok(permit) = running.clone().acquire_owned().await else {
                    break;
                };
                let me = self.clone();
                let busy = busy.clone();
                tokio::spawn(async move {
                    me.deliver_in_order(rows).await;
                    if let Some(key) = key {
                        busy.lock().expect("busy lock").remove(&key);
                    }
                    drop(permit);
                });
            }
            if full {
                continue;
            }
            tokio::select! {
                _ = self.sns.inner.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = stopped.changed() => {}
            }
        }
        // Deliveries under way finish (or their rows' holds end and they run again).
        let _ = running.acquire_many(BATCH as u32).await;
    }

    /// The claimed rows (in the store's order: due, then id, which for a FIFO message
    /// is its group's line then its sequence number) as units of work: each standard message alone,
    /// the messages of one FIFO group of one subscription together, in order.
    fn in_groups(&self, claimed: Vec<SnsDelivery>) -> Vec<Unit> {
        let mut out: Vec<Unit> = Vec::new();
        for row in claimed {
            let job: Job = match serde_json::from_str(&row.data) {
                Ok(j) => j,
                Err(e) => {
                    tracing::error!(id = %row.id, error = %e, "an unreadable SNS delivery is dropped");
                    let _ = self.sns.inner.store.sns().finish_sns_delivery(&row.id);
                    continue;
                }
            };
            let key = job
                .group_id
                .clone()
                .map(|g| (job.message.subscription_arn.clone(), g));
            match out.iter_mut().find(|(k, _)| key.is_some() && *k == key) {
                Some((_, rows)) => rows.push((row, job)),
                None => out.push((key, vec![(row, job)])),
            }
        }
        out
    }

    /// Puts rows back, due at `due`, without counting an attempt.
    fn defer<T>(&self, rows: &[(SnsDelivery, T)], due: i64) {
        for (row, _) in rows {
            if let Err(e) =
                self.sns
                    .inner
                    .store
                    .sns()
                    .retry_sns_delivery(&row.id, due, row.attempts)
            {
                tracing::warn!(id = %row.id, error = %e, "cannot put back an SNS delivery");
            }
        }
    }

    /// Delivers rows one after the other; when one is to be tried again, the rest wait
    /// until it is due (a FIFO group keeps its order). A FIFO row with a row of its group
    /// still queued ahead of it (being delivered by another node, or due again later)
    /// waits for that one, with the rest.
    async fn deliver_in_order(&self, rows: Vec<(SnsDelivery, Job)>) {
        let mut rows = rows.into_iter();
        while let Some((row, job)) = rows.next() {
            if let Some(due) = self.behind(&row, &job) {
                let mut rest = vec![(row, job)];
                rest.extend(rows);
                self.defer(&rest, due);
                return;
            }
            if let Some(due) = self.deliver(row, job).await {
                let rest: Vec<_> = rows.collect();
                self.defer(&rest, due);
                return;
            }
        }
    }

    /// When a FIFO row is to be looked at again, if a row of its group is queued ahead of
    /// it: the store is asked, so that the order holds across the fleet's nodes. Rows of
    /// an older Hearth (named otherwise) are delivered as they are claimed.
    fn behind(&self, row: &SnsDelivery, job: &Job) -> Option<i64> {
        let group = job.group_id.as_deref()?;
        let line = fifo_line(&job.message.subscription_arn, group);
        if !row.id.starts_with(&line) {
            return None;
        }
        let wait = now_ms() + FIFO_WAIT_MS;
        match self
            .sns
            .inner
            .store
            .sns()
            .sns_delivery_ahead(&line, &row.id)
        {
            Ok(None) => None,
            Ok(Some(due)) => Some(due.max(wait)),
            Err(e) => {
                tracing::warn!(id = %row.id, error = %e, "cannot look for an SNS delivery ahead of this one");
                Some(wait)
            }
        }
    }

    /// One attempt and its outcome recorded; `Some(due)` when the row is to be tried again.
    async fn deliver(&self, row: SnsDelivery, job: Job) -> Option<i64> {
        let store = self.sns.inner.store.clone();
        // A notification for a subscription that is gone (unsubscribed, or its topic
        // deleted) is not delivered any more; confirmations and dead letters still are.
        let notification =
            job.message.kind == Kind::Notification && !row.id.ends_with(DEAD_LETTER_SUFFIX);
        if notification
            && matches!(
                store
                    .sns()
                    .get_sns_subscription(&job.message.subscription_arn),
                Ok(None)
            )
        {
            if let Err(e) = store.sns().finish_sns_delivery(&row.id) {
                tracing::warn!(id = %row.id, error = %e, "cannot drop an SNS delivery");
            }
            return None;
        }
        let outcome = match self.sns.signer().await {
            Ok(signer) => self.attempt(&job, signer).await,
            Err(e) => Outcome::Retry(e.to_string()),
        };
        let failed = row.attempts + 1;
        let mut again = None;
        let result = match outcome {
            Outcome::Delivered => store.sns().finish_sns_delivery(&row.id),
            Outcome::Retry(why) => match job.retry.next_delay(failed) {
                Some(delay) => {
                    tracing::debug!(id = %row.id, %why, delay, "SNS delivery failed; retrying");
                    let due = now_ms() + i64::from(delay) * 1000;
                    again = Some(due);
                    store.sns().retry_sns_delivery(&row.id, due, failed)
                }
                None => self.give_up(&row, job, &why),
            },
            Outcome::Permanent(why) => self.give_up(&row, job, &why),
        };
        if let Err(e) = result {
            tracing::warn!(id = %row.id, error = %e, "cannot record an SNS delivery's outcome");
        }
        again
    }

    /// The delivery is over without success: to the dead-letter queue (as a new row, so
    /// that sending it is retried like any SQS delivery), or dropped.
    fn give_up(
        &self,
        row: &SnsDelivery,
        job: Job,
        why: &str,
    ) -> Result<(), hearth_store::StoreError> {
        let store = self.sns.inner.store.sns();
        match dead_letter_row(&row.id, job, now_ms()) {
            Some(moved) => {
                tracing::info!(id = %row.id, %why, "SNS delivery failed; to the dead-letter queue");
                store.add_sns_deliveries(&[moved])?;
            }
            None => {
                tracing::warn!(id = %row.id, %why, "SNS delivery failed; given up");
            }
        }
        store.finish_sns_delivery(&row.id)
    }

    async fn attempt(&self, job: &Job, signer: &Signer) -> Outcome {
        let urls = Urls {
            base: &self.sns.inner.endpoint,
            signer,
        };
        match job.protocol.as_str() {
            "lambda" => self.to_lambda(job, &urls).await,
            "sqs" => self.to_queue(job, &urls).await,
            _ => self.to_http(job, &urls).await,
        }
    }

    async fn to_lambda(&self, job: &Job, urls: &Urls<'_>) -> Outcome {
        let account = hearth_model::arn::arn_account(&job.endpoint).unwrap_or_default();
        let function = match FunctionRef::parse(&job.endpoint, account) {
            Ok(f) => f,
            Err(e) => return Outcome::Permanent(e.to_string()),
        };
        if let Err(why) = self.may_invoke(&function, job) {
            return Outcome::Retry(why);
        }
        let payload = job.message.lambda_event(urls).to_string();
        let req = EnqueueRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            function,
            payload: Bytes::from(payload),
            client_context: None,
            // The publisher's trace, continued by the function; Lambda counts SNS
            // invocations in its `Lineage` to stop recursive loops.
            trace_header: job.trace_header.clone(),
            counts_lineage: true,
        };
        match self.invoker.enqueue(req).await {
            Ok(()) => Outcome::Delivered,
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }

    /// Whether the function's resource policy lets SNS invoke it for the topic, as Lambda
    /// decides for `sns.amazonaws.com` with `aws:SourceArn` the topic's ARN.
    fn may_invoke(&self, function: &FunctionRef, job: &Job) -> Result<(), String> {
        let policy = self.invoker.function_resource_policy(function);
        let topic = &job.message.topic_arn;
        let mut ctx = RequestContext::new(RequestPrincipal::service(PRINCIPAL));
        ctx.set("aws:SourceArn", topic);
        if let Some(a) = hearth_model::arn::arn_account(topic) {
            ctx.set("aws:SourceAccount", a);
        }
        let outcome = evaluate(
            &ctx,
            "lambda:InvokeFunction",
            &job.endpoint,
            &[],
            ResourcePolicy {
                account: function.account(),
                policy: policy.as_deref(),
            },
        );
        if outcome.allowed() {
            Ok(())
        } else {
            Err(format!(
                "the resource policy of {} does not allow {PRINCIPAL} to invoke it for {topic}",
                job.endpoint
            ))
        }
    }

    async fn to_queue(&self, job: &Job, urls: &Urls<'_>) -> Outcome {
        let msg = queue_message(job, urls);
        match self.sns.inner.sink.send(&job.endpoint, msg).await {
            Ok(()) => Outcome::Delivered,
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }

    async fn to_http(&self, job: &Job, urls: &Urls<'_>) -> Outcome {
        let m = &job.message;
        let mut req = hyper::Request::post(&job.endpoint)
            .header("x-amz-sns-message-type", m.kind.as_str())
            .header("x-amz-sns-message-id", &m.message_id)
            .header("x-amz-sns-topic-arn", &m.topic_arn)
            .header("content-type", "text/plain; charset=UTF-8")
            .header("user-agent", "Amazon Simple Notification Service Agent");
        if m.kind != Kind::SubscriptionConfirmation {
            req = req.header("x-amz-sns-subscription-arn", &m.subscription_arn);
        }
        if job.raw && m.kind == Kind::Notification {
            req = req.header("x-amz-sns-rawdelivery", "true");
        }
        let req = match req.body(Full::new(Bytes::from(body(job, urls)))) {
            Ok(r) => r,
            Err(e) => return Outcome::Permanent(e.to_string()),
        };
        match tokio::time::timeout(HTTP_TIMEOUT, self.http.request(req)).await {
            Err(_) => Outcome::Retry("the endpoint did not answer in time".into()),
            Ok(Err(e)) => Outcome::Retry(e.to_string()),
            Ok(Ok(resp)) => {
                let status = resp.status();
                if status.is_success() {
                    Outcome::Delivered
                } else if status.as_u16() == 429 || status.is_server_error() {
                    Outcome::Retry(format!("the endpoint answered {status}"))
                } else {
                    Outcome::Permanent(format!("the endpoint answered {status}"))
                }
            }
        }
    }
}

/// What a subscriber receives as a body: the raw message (`RawMessageDelivery`), else the
/// JSON envelope.
fn body(job: &Job, urls: &Urls<'_>) -> String {
    if job.raw && job.message.kind == Kind::Notification {
        job.message.message.clone()
    } else {
        job.message.envelope(urls)
    }
}

/// The message a queue receives: the body, and with raw delivery the message's
/// attributes as the queue message's (they are in the envelope otherwise).
fn queue_message(job: &Job, urls: &Urls<'_>) -> QueueMessage {
    let raw = job.raw && job.message.kind == Kind::Notification;
    QueueMessage {
        body: body(job, urls),
        attributes: if raw {
            job.message.attributes.clone()
        } else {
            Default::default()
        },
        group_id: job.group_id.clone(),
        dedup_id: job.dedup_id.clone(),
        sender_id: SENDER_ID.to_string(),
        source_arn: job.message.topic_arn.clone(),
        trace_header: job.trace_header.clone(),
    }
}

/// The delivery of a failed job to its subscription's dead-letter queue, due at `now`, as
/// a delivery of its own (so that sending it is retried like any SQS delivery); `None`
/// without a dead-letter queue. The message goes as the subscription would have received
/// it (raw or in its envelope).
fn dead_letter_row(id: &str, job: Job, now: i64) -> Option<SnsDelivery> {
    let dlq = job.dead_letter.clone()?;
    let moved = Job {
        protocol: "sqs".into(),
        endpoint: dlq,
        dead_letter: None,
        retry: crate::retry::Retry::Managed,
        ..job
    };
    Some(SnsDelivery {
        id: format!("{id}{DEAD_LETTER_SUFFIX}"),
        due_ms: now,
        attempts: 0,
        data: serde_json::to_string(&moved).expect("jobs serialize"),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::envelope::Message;
    use crate::message::MessageAttribute;
    use crate::retry::{HealthyRetryPolicy, Retry};
    use crate::PublishInput;
    use hearth_triggers::BoxFuture;

    fn job(raw: bool) -> Job {
        Job {
            message: Message {
                kind: Kind::Notification,
                message_id: "m".into(),
                topic_arn: "arn:aws:sns:us-east-1:000000000000:t".into(),
                subscription_arn: "arn:aws:sns:us-east-1:000000000000:t:s".into(),
                message: "body".into(),
                subject: None,
                timestamp: "2026-12-03T00:00:00.000Z".into(),
                attributes: BTreeMap::from([(
                    "k".to_string(),
                    MessageAttribute {
                        data_type: "String".into(),
                        string_value: Some("v".into()),
                        binary_value: None,
                    },
                )]),
                sequence_number: None,
                token: None,
                signature_version: "1".into(),
            },
            protocol: "http".into(),
            endpoint: "http://127.0.0.1:1/".into(),
            raw,
            group_id: Some("g".into()),
            dedup_id: Some("d".into()),
            retry: Retry::Http(HealthyRetryPolicy::default()),
            dead_letter: Some("arn:aws:sqs:us-east-1:000000000000:dlq".into()),
            trace_header: Some("Root=1-a".into()),
        }
    }

    #[test]
    fn queues_get_the_envelope_or_the_raw_message_with_its_attributes() {
        let (signer, _) = Signer::generate().expect("key");
        let urls = Urls {
            base: "http://h:1",
            signer: &signer,
        };
        let wrapped = queue_message(&job(false), &urls);
        let env: serde_json::Value = serde_json::from_str(&wrapped.body).expect("json");
        assert_eq!(env["Message"], "body");
        assert_eq!(env["MessageAttributes"]["k"]["Value"], "v");
        assert!(wrapped.attributes.is_empty());
        assert_eq!(wrapped.group_id.as_deref(), Some("g"));
        assert_eq!(wrapped.source_arn, "arn:aws:sns:us-east-1:000000000000:t");
        let raw = queue_message(&job(true), &urls);
        assert_eq!(raw.body, "body");
        assert_eq!(raw.attributes["k"].string_value.as_deref(), Some("v"));
        // The publisher's trace goes along either way, and to the dead-letter queue.
        assert_eq!(raw.trace_header.as_deref(), Some("Root=1-a"));
        assert_eq!(wrapped.trace_header, raw.trace_header);

        let moved = dead_letter_row("r1", job(false), 7).expect("a dead-letter queue");
        assert_eq!(
            (moved.id.as_str(), moved.due_ms, moved.attempts),
            ("r1/dead-letter", 7, 0)
        );
        let moved: Job = serde_json::from_str(&moved.data).expect("job");
        assert_eq!(moved.trace_header.as_deref(), Some("Root=1-a"));
        assert_eq!(moved.protocol, "sqs");
        assert_eq!(moved.endpoint, "arn:aws:sqs:us-east-1:000000000000:dlq");
        assert_eq!((moved.dead_letter, moved.retry), (None, Retry::Managed));
        let mut none = job(false);
        none.dead_letter = None;
        assert!(dead_letter_row("r1", none, 7).is_none());
    }

    #[test]
    fn rows_queued_before_the_trace_was_kept_still_read() {
        let mut row = serde_json::to_value(job(false)).expect("json");
        row.as_object_mut().expect("object").remove("trace_header");
        let old: Job = serde_json::from_value(row).expect("an older row");
        assert_eq!(old.trace_header, None);
        let mut untraced = job(false);
        untraced.trace_header = None;
        let written = serde_json::to_value(untraced).expect("json");
        assert!(written.get("trace_header").is_none());
    }

    /// A sink that keeps what queues it is given, refusing those named in `missing`, and
    /// refusing once the first message whose body contains `refuse_once`.
    #[derive(Default)]
    struct Sink {
        got: std::sync::Mutex<Vec<(String, QueueMessage)>>,
        missing: Vec<String>,
        refuse_once: std::sync::Mutex<Option<String>>,
    }

    impl crate::QueueSink for Sink {
        fn send(
            &self,
            queue_arn: &str,
            msg: QueueMessage,
        ) -> crate::BoxFuture<'_, Result<(), crate::SinkError>> {
            let mut refuse = self.refuse_once.lock().expect("not poisoned");
            let refused = refuse.as_deref().is_some_and(|r| msg.body.contains(r));
            if refused {
                *refuse = None;
            }
            let result = if refused {
                Err(crate::SinkError::Failed("refused once".into()))
            } else if self.missing.iter().any(|m| m == queue_arn) {
                Err(crate::SinkError::NoQueue(queue_arn.to_string()))
            } else {
                self.got
                    .lock()
                    .expect("not poisoned")
                    .push((queue_arn.to_string(), msg));
                Ok(())
            };
            Box::pin(async move { result })
        }
    }

    struct NoEvents;

    impl hearth_triggers::EventQueue for NoEvents {
        fn accept(
            &self,
            _event: hearth_triggers::InvocableEvent,
        ) -> BoxFuture<'_, Result<(), hearth_store::WriteError>> {
            Box::pin(async { Ok(()) })
        }

        fn stats(&self) -> Vec<hearth_triggers::QueueStats> {
            Vec::new()
        }
    }

    /// The source as the server runs it, delivering to a test sink: a queue subscription
    /// gets the envelope; an HTTP endpoint that cannot be reached, with no retries left
    /// by its policy, sends the message to its dead-letter queue.
    #[tokio::test]
    async fn the_source_delivers_to_queues_and_redrives_what_fails() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (engine, path) = hearth_engine::testing::engine(dir.path());
        let sink = Arc::new(Sink::default());
        let sns = Sns::new(
            engine.store().clone(),
            crate::SnsConfig {
                endpoint: "http://127.0.0.1:1".into(),
                sink: sink.clone(),
            },
        );
        let invoker = Invoker::new(path, Arc::new(NoEvents));
        let running = Box::new(Deliveries::new(&sns, "test-node"))
            .start(SourceContext::new(invoker))
            .expect("start");
        let account = "000000000000";
        let topic = sns
            .create_topic(account, "t", BTreeMap::new(), vec![])
            .expect("topic");
        let queue = "arn:aws:sqs:us-east-1:000000000000:q";
        let dlq = "arn:aws:sqs:us-east-1:000000000000:dlq";
        sns.subscribe(account, &topic, "sqs", Some(queue), BTreeMap::new(), false)
            .expect("sqs");
        // An endpoint nothing listens on (port 9 of loopback), confirmed by hand.
        sns.subscribe(
            account,
            &topic,
            "http",
            Some("http://127.0.0.1:9/"),
            BTreeMap::from([
                (
                    "DeliveryPolicy".to_string(),
                    r#"{"healthyRetryPolicy":{"numRetries":0}}"#.to_string(),
                ),
                (
                    "RedrivePolicy".to_string(),
                    format!(r#"{{"deadLetterTargetArn":"{dlq}"}}"#),
                ),
            ]),
            false,
        )
        .expect("http");
        let subs = sns.topic_subscriptions(&topic).expect("subs");
        let http = subs
            .iter()
            .find(|s| s.protocol == "http")
            .expect("http sub");
        let token = http.token.clone().expect("token");
        // Its SubscriptionConfirmation fails too (no dead-letter queue for those).
        sns.confirm_subscription(&topic, &token, false)
            .expect("confirm");
        let published = sns
            .publish(
                &topic,
                PublishInput {
                    message: "hello".into(),
                    ..Default::default()
                },
            )
            .expect("publish");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if sink.got.lock().expect("not poisoned").len() >= 2 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "not delivered");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        running.stop(Duration::from_secs(5)).await;
        let got = sink.got.lock().expect("not poisoned").clone();
        let mut queues: Vec<&str> = got.iter().map(|(q, _)| q.as_str()).collect();
        queues.sort_unstable();
        assert_eq!(queues, [dlq, queue]);
        for (_, msg) in &got {
            let env: serde_json::Value = serde_json::from_str(&msg.body).expect("envelope");
            assert_eq!(env["Type"], "Notification");
            assert_eq!(env["MessageId"], published.message_id.as_str());
            assert_eq!(env["Message"], "hello");
            assert_eq!(msg.sender_id, SENDER_ID);
        }
        // Nothing is left to deliver.
        let left = sns
            .inner
            .store
            .sns()
            .claim_sns_deliveries("check", i64::MAX / 2, 1, 10)
            .expect("claim");
        assert!(left.is_empty(), "{left:?}");
    }

    /// A FIFO group keeps its order even when its first message must be tried again.
    /// A FIFO topic with content-based deduplication and one `sqs` subscription, whose
    /// deliveries go to `sink`.
    fn fifo_topic_to_a_queue(
        engine: &hearth_engine::Engine,
        sink: Arc<dyn crate::QueueSink>,
    ) -> (Sns, String) {
        let sns = Sns::new(
            engine.store().clone(),
            crate::SnsConfig {
                endpoint: "http://127.0.0.1:1".into(),
                sink,
            },
        );
        let account = "000000000000";
        let topic = sns
            .create_topic(
                account,
                "t.fifo",
                BTreeMap::from([
                    ("FifoTopic".to_string(), "true".to_string()),
                    ("ContentBasedDeduplication".to_string(), "true".to_string()),
                ]),
                vec![],
            )
            .expect("topic");
        let queue = "arn:aws:sqs:us-east-1:000000000000:q.fifo";
        sns.subscribe(account, &topic, "sqs", Some(queue), BTreeMap::new(), false)
            .expect("sqs");
        (sns, topic)
    }

    #[tokio::test]
    async fn a_fifo_group_is_delivered_in_order_through_a_retry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (engine, path) = hearth_engine::testing::engine(dir.path());
        let sink = Arc::new(Sink {
            refuse_once: std::sync::Mutex::new(Some("m0".into())),
            ..Sink::default()
        });
        let (sns, topic) = fifo_topic_to_a_queue(&engine, sink.clone());
        for i in 0..5 {
            sns.publish(
                &topic,
                PublishInput {
                    message: format!("m{i}"),
                    group_id: Some("g".into()),
                    ..Default::default()
                },
            )
            .expect("publish");
        }
        let invoker = Invoker::new(path, Arc::new(NoEvents));
        let running = Box::new(Deliveries::new(&sns, "test-node"))
            .start(SourceContext::new(invoker))
            .expect("start");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while sink.got.lock().expect("not poisoned").len() < 5 {
            assert!(std::time::Instant::now() < deadline, "not delivered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        running.stop(Duration::from_secs(5)).await;
        let got = sink.got.lock().expect("not poisoned").clone();
        let bodies: Vec<String> = got
            .iter()
            .map(|(_, m)| {
                let env: serde_json::Value = serde_json::from_str(&m.body).expect("json");
                env["Message"].as_str().expect("message").to_string()
            })
            .collect();
        assert_eq!(bodies, ["m0", "m1", "m2", "m3", "m4"]);
        assert!(got.iter().all(|(_, m)| m.group_id.as_deref() == Some("g")));
        assert!(got
            .iter()
            .all(|(_, m)| m.dedup_id.as_ref().is_some_and(|d| d.len() == 64)));
    }

    /// A sink that takes a while over each message, as a queue at another node may, and
    /// refuses one message once.
    struct Slow {
        got: std::sync::Mutex<Vec<String>>,
        refuse_once: std::sync::Mutex<Option<String>>,
    }

    impl crate::QueueSink for Slow {
        fn send(
            &self,
            _queue_arn: &str,
            msg: QueueMessage,
        ) -> crate::BoxFuture<'_, Result<(), crate::SinkError>> {
            Box::pin(async move {
                let body: serde_json::Value = serde_json::from_str(&msg.body).expect("json");
                let body = body["Message"].as_str().expect("message").to_string();
                tokio::time::sleep(Duration::from_millis(5 + body.len() as u64 % 7)).await;
                let mut refuse = self.refuse_once.lock().expect("not poisoned");
                if refuse.as_deref() == Some(body.as_str()) {
                    *refuse = None;
                    return Err(crate::SinkError::Failed("refused once".into()));
                }
                self.got.lock().expect("not poisoned").push(body);
                Ok(())
            })
        }
    }

    /// Two nodes' workers on one store deliver a FIFO topic's groups, published while
    /// they run, each in its order: a message waits for the one ahead of it in its group
    /// wherever that one is being delivered, and through a retry.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fifo_groups_keep_their_order_across_nodes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (engine, path) = hearth_engine::testing::engine(dir.path());
        let sink = Arc::new(Slow {
            got: std::sync::Mutex::default(),
            refuse_once: std::sync::Mutex::new(Some("g1-3".into())),
        });
        let (sns, topic) = fifo_topic_to_a_queue(&engine, sink.clone());
        let invoker = Invoker::new(path, Arc::new(NoEvents));
        let nodes: Vec<_> = (0..2)
            .map(|_| {
                Box::new(Deliveries::new(&sns, "test-node"))
                    .start(SourceContext::new(invoker.clone()))
                    .expect("start")
            })
            .collect();
        let (groups, per_group) = (3, 12);
        for i in 0..per_group {
            for g in 0..groups {
                sns.publish(
                    &topic,
                    PublishInput {
                        message: format!("g{g}-{i}"),
                        group_id: Some(format!("g{g}")),
                        ..Default::default()
                    },
                )
                .expect("publish");
            }
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while sink.got.lock().expect("not poisoned").len() < groups * per_group {
            assert!(std::time::Instant::now() < deadline, "not delivered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for node in nodes {
            node.stop(Duration::from_secs(5)).await;
        }
        let got = sink.got.lock().expect("not poisoned").clone();
        assert_eq!(got.len(), groups * per_group, "{got:?}");
        for g in 0..groups {
            let order: Vec<&str> = got
                .iter()
                .map(String::as_str)
                .filter(|b| b.starts_with(&format!("g{g}-")))
                .collect();
            let expected: Vec<String> = (0..per_group).map(|i| format!("g{g}-{i}")).collect();
            assert_eq!(order, expected, "group g{g} in {got:?}");
        }
    }

    /// What was queued for a subscription that goes away is dropped, not retried.
    #[tokio::test]
    async fn an_unsubscribed_endpoint_gets_nothing_more() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (engine, path) = hearth_engine::testing::engine(dir.path());
        let queue = "arn:aws:sqs:us-east-1:000000000000:gone";
        let sink = Arc::new(Sink {
            missing: vec![queue.to_string()],
            ..Sink::default()
        });
        let sns = Sns::new(
            engine.store().clone(),
            crate::SnsConfig {
                endpoint: "http://127.0.0.1:1".into(),
                sink: sink.clone(),
            },
        );
        let account = "000000000000";
        let topic = sns
            .create_topic(account, "t", BTreeMap::new(), vec![])
            .expect("topic");
        let sub = sns
            .subscribe(account, &topic, "sqs", Some(queue), BTreeMap::new(), false)
            .expect("sqs");
        let invoker = Invoker::new(path, Arc::new(NoEvents));
        let running = Box::new(Deliveries::new(&sns, "test-node"))
            .start(SourceContext::new(invoker))
            .expect("start");
        sns.publish(
            &topic,
            PublishInput {
                message: "m".into(),
                ..Default::default()
            },
        )
        .expect("publish");
        sns.unsubscribe(&sub, true).expect("unsubscribe");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let left = sns
                .inner
                .store
                .sns()
                .claim_sns_deliveries("check", i64::MAX / 2, 1, 10)
                .expect("claim");
            if left.is_empty() {
                break;
            }
            // Claimed only to look: put back at once.
            for row in &left {
                sns.inner
                    .store
                    .sns()
                    .retry_sns_delivery(&row.id, row.due_ms, row.attempts)
                    .expect("put back");
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still queued: {left:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        running.stop(Duration::from_secs(5)).await;
        assert!(sink.got.lock().expect("not poisoned").is_empty());
    }
}
