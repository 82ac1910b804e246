//! [`Sns`]: the typed service — every SNS operation Hearth has, over the store's
//! [`hearth_store::SnsStore`]. A Publish is accepted once one row per matching
//! subscription is in the durable delivery queue (`delivery.rs` delivers them).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use hearth_store::{SnsDelivery, Store};
use serde::{Deserialize, Serialize};

use crate::arn::{parse_topic_arn, subscription_topic, topic_arn};
use crate::envelope::{self, Kind, Message};
use crate::filter;
use crate::message::{self, PublishInput};
use crate::retry::{HealthyRetryPolicy, Retry};
use crate::sign::{SignError, Signer, StoredKey};
use crate::subscription::{self, Subscription};
use crate::tags::{self, Tag};
use crate::topic::{self, Topic};
use crate::{QueueSink, SnsError};

/// A page of a listing.
const PAGE: usize = 100;
/// The setting that holds the signing key.
const KEY_SETTING: &str = "signing-key";
/// How long a FIFO topic remembers a deduplication id (in the store: fleet-wide, across
/// restarts).
const DEDUP_WINDOW: Duration = Duration::from_secs(300);
/// The most entries of a PublishBatch.
const BATCH_MAX: usize = 10;

/// One pending delivery as the store's queue keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub message: Message,
    pub protocol: String,
    pub endpoint: String,
    pub raw: bool,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    pub retry: Retry,
    pub dead_letter: Option<String>,
    /// The publisher's trace header (absent from rows written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_header: Option<String>,
}

/// How the server sets the service up.
pub struct SnsConfig {
    /// Hearth's own URL as subscribers reach it (`http://127.0.0.1:9001`): the base of
    /// `SubscribeURL`, `UnsubscribeURL` and `SigningCertURL`.
    pub endpoint: String,
    /// Where `sqs` subscriptions and dead-letter queues are delivered.
    pub sink: Arc<dyn QueueSink>,
}

/// The service. Cheap to clone; every clone is the same service.
#[derive(Clone)]
pub struct Sns {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub store: Store,
    pub endpoint: String,
    pub sink: Arc<dyn QueueSink>,
    signer: tokio::sync::OnceCell<Signer>,
    /// Wakes the delivery loop when a publish queued something.
    pub wake: tokio::sync::Notify,
    seq: AtomicU64,
}

/// A PublishBatch's answer: the successful entries (by id) and the failed ones.
pub type BatchOutcome = (Vec<(String, Published)>, Vec<BatchFailure>);

/// A publish's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub message_id: String,
    pub sequence_number: Option<String>,
}

/// One entry of a PublishBatch.
#[derive(Debug, Clone, Default)]
pub struct BatchEntry {
    pub id: String,
    pub input: PublishInput,
}

/// A failed entry of a PublishBatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchFailure {
    pub id: String,
    pub code: String,
    pub message: String,
    pub sender_fault: bool,
}

/// A subscription as the listings show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionSummary {
    pub subscription_arn: String,
    pub owner: String,
    pub protocol: String,
    pub endpoint: String,
    pub topic_arn: String,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn timestamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn token_of(last: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(last)
}

fn after_token(token: Option<&str>) -> Result<Option<String>, SnsError> {
    token
        .map(|t| {
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| SnsError::invalid("NextToken"))
        })
        .transpose()
}

fn random_hex(bytes: usize) -> String {
    use ring::rand::SecureRandom;
    let mut b = vec![0u8; bytes];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .expect("the system's random source works");
    hex::encode(b)
}

fn decode<T: serde::de::DeserializeOwned>(data: &str) -> Result<T, SnsError> {
    serde_json::from_str(data).map_err(|e| SnsError::Internal(format!("an SNS record: {e}")))
}

/// The start of the delivery row ids of one FIFO message group of one subscription
/// (`<subscription ARN> <group id> `, then the sequence number and message id): its
/// rows sort in the group's order, and no other group's start with it (neither has a
/// space in it).
pub(crate) fn fifo_line(subscription_arn: &str, group_id: &str) -> String {
    format!("{subscription_arn} {group_id} ")
}

pub(crate) fn encode<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("records serialize")
}

impl Sns {
    pub fn new(store: Store, config: SnsConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                endpoint: config.endpoint.trim_end_matches('/').to_string(),
                sink: config.sink,
                signer: tokio::sync::OnceCell::new(),
                wake: tokio::sync::Notify::new(),
                seq: AtomicU64::new(0),
            }),
        }
    }

    /// The signing key: read from the store, or made and stored by the first node that
    /// needs one (a new key takes a moment: it is made off the runtime's threads).
    pub async fn signer(&self) -> Result<&Signer, SnsError> {
        let store = self.inner.store.clone();
        self.inner
            .signer
            .get_or_try_init(|| async move {
                let fail = |e: SignError| SnsError::Internal(e.to_string());
                if let Some(existing) = store.sns().sns_setting(KEY_SETTING, None)? {
                    return Signer::load(&decode(&existing)?).map_err(fail);
                }
                let (_, stored) = tokio::task::spawn_blocking(Signer::generate)
                    .await
                    .map_err(|e| SnsError::Internal(e.to_string()))?
                    .map_err(fail)?;
                // Another node may have stored its key first: the stored one wins.
                let kept = store
                    .sns()
                    .sns_setting(KEY_SETTING, Some(&encode(&stored)))?
                    .ok_or_else(|| SnsError::Internal("the signing key was not kept".into()))?;
                let stored: StoredKey = decode(&kept)?;
                Signer::load(&stored).map_err(fail)
            })
            .await
    }

    /// The certificate served at `/SimpleNotificationService-{id}.pem`, if `id` names it.
    pub async fn certificate(&self, id: &str) -> Option<String> {
        let signer = self.signer().await.ok()?;
        (signer.cert_id == id).then(|| signer.certificate().to_string())
    }

    fn get_topic(&self, arn: &str) -> Result<Option<Topic>, SnsError> {
        self.inner
            .store
            .sns()
            .get_sns_topic(arn)?
            .map(|d| decode(&d))
            .transpose()
    }

    pub(crate) fn topic(&self, arn: &str, field: &str) -> Result<Topic, SnsError> {
        parse_topic_arn(arn, field)?;
        self.get_topic(arn)?.ok_or_else(SnsError::no_topic)
    }

    fn subscription(&self, arn: &str) -> Result<Subscription, SnsError> {
        subscription_topic(arn)?;
        let data = self
            .inner
            .store
            .sns()
            .get_sns_subscription(arn)?
            .ok_or_else(SnsError::no_subscription)?;
        decode(&data)
    }

    pub(crate) fn topic_subscriptions(&self, topic: &str) -> Result<Vec<Subscription>, SnsError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.inner.store.sns().list_sns_subscriptions(
                None,
                Some(topic),
                after.as_deref(),
                500,
            )?;
            let n = page.len();
            for d in page {
                let s: Subscription = decode(&d)?;
                after = Some(s.arn.clone());
                out.push(s);
            }
            if n < 500 {
                return Ok(out);
            }
        }
    }

    /// CreateTopic: the topic's ARN, new or (same attributes and tags) existing.
    pub fn create_topic(
        &self,
        account: &str,
        name: &str,
        attributes: BTreeMap<String, String>,
        tags: Vec<Tag>,
    ) -> Result<String, SnsError> {
        let fifo = attributes.get("FifoTopic").map(String::as_str) == Some("true");
        topic::check_name(name, fifo)?;
        for (k, v) in &attributes {
            topic::check_attribute(k, v, fifo, true)?;
        }
        tags::check(&tags)?;
        if tags.len() > tags::MAX_TAGS {
            return Err(SnsError::tag_limit());
        }
        let arn = topic_arn(account, name);
        if let Some(existing) = self.get_topic(&arn)? {
            if !existing.same_attributes(&attributes) {
                return Err(SnsError::invalid(
                    "Attributes Reason: Topic already exists with different attributes",
                ));
            }
            if !tags.is_empty() && existing.tags != tags {
                return Err(SnsError::invalid(
                    "Tags Reason: Topic already exists with different tags",
                ));
            }
            return Ok(arn);
        }
        let attributes = attributes
            .into_iter()
            .filter(|(k, v)| !(k == "FifoTopic" && v == "false"))
            .collect();
        let t = Topic {
            arn: arn.clone(),
            account: account.to_string(),
            name: name.to_string(),
            attributes,
            tags,
        };
        match self
            .inner
            .store
            .sns()
            .insert_sns_topic(account, &arn, &encode(&t))
        {
            Ok(()) | Err(hearth_store::StoreError::Exists(_)) => Ok(arn),
            Err(e) => Err(e.into()),
        }
    }

    /// DeleteTopic (of a topic that does not exist: success, as AWS answers).
    pub fn delete_topic(&self, arn: &str) -> Result<(), SnsError> {
        parse_topic_arn(arn, "TopicArn")?;
        self.inner.store.sns().delete_sns_topic(arn)?;
        Ok(())
    }

    /// ListTopics: a page of the account's topic ARNs and the next page's token.
    pub fn list_topics(
        &self,
        account: &str,
        next: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>), SnsError> {
        let after = after_token(next)?;
        let page = self
            .inner
            .store
            .sns()
            .list_sns_topics(account, after.as_deref(), PAGE + 1)?;
        let mut arns = page
            .iter()
            .map(|d| decode::<Topic>(d).map(|t| t.arn))
            .collect::<Result<Vec<_>, _>>()?;
        let more = arns.len() > PAGE;
        arns.truncate(PAGE);
        let token = more.then(|| token_of(arns.last().map_or("", String::as_str)));
        Ok((arns, token))
    }

    /// GetTopicAttributes.
    pub fn get_topic_attributes(&self, arn: &str) -> Result<BTreeMap<String, String>, SnsError> {
        let t = self.topic(arn, "TopicArn")?;
        let subs = self.topic_subscriptions(arn)?;
        let confirmed = subs.iter().filter(|s| s.confirmed).count();
        Ok(t.view(confirmed, subs.len() - confirmed))
    }

    /// The topic's `Policy` (its own, else AWS's default), for authorization.
    pub fn topic_policy(&self, arn: &str) -> Result<Option<String>, SnsError> {
        Ok(self.get_topic(arn)?.map(|t| {
            t.attributes
                .get("Policy")
                .cloned()
                .unwrap_or_else(|| t.default_policy())
        }))
    }

    /// SetTopicAttributes.
    pub fn set_topic_attributes(
        &self,
        arn: &str,
        name: &str,
        value: Option<&str>,
    ) -> Result<(), SnsError> {
        let mut t = self.topic(arn, "TopicArn")?;
        let value = value.unwrap_or("");
        if name == "FifoTopic" {
            return Err(SnsError::invalid("AttributeName"));
        }
        topic::check_attribute(name, value, t.fifo(), false)?;
        if value.is_empty() && name != "DisplayName" {
            t.attributes.remove(name);
        } else {
            t.attributes.insert(name.to_string(), value.to_string());
        }
        if !self.inner.store.sns().put_sns_topic(arn, &encode(&t))? {
            return Err(SnsError::no_topic());
        }
        Ok(())
    }

    /// Subscribe: the subscription's ARN, or `pending confirmation` for an http/https
    /// endpoint that has not confirmed (unless `return_arn`).
    pub fn subscribe(
        &self,
        account: &str,
        topic_arn: &str,
        protocol: &str,
        endpoint: Option<&str>,
        attributes: BTreeMap<String, String>,
        return_arn: bool,
    ) -> Result<String, SnsError> {
        let t = self.topic(topic_arn, "TopicArn")?;
        let protocol = protocol.to_ascii_lowercase();
        let endpoint = endpoint.unwrap_or("");
        subscription::check_endpoint(&protocol, endpoint, t.fifo())?;
        for (k, v) in &attributes {
            subscription::check_attribute(&protocol, k, v)?;
        }
        if let Some(existing) = self
            .topic_subscriptions(topic_arn)?
            .into_iter()
            .find(|s| s.protocol == protocol && s.endpoint == endpoint)
        {
            let same = attributes
                .iter()
                .all(|(k, v)| existing.attributes.get(k) == Some(v));
            if !same {
                return Err(SnsError::invalid(
                    "Attributes Reason: Subscription already exists with different attributes",
                ));
            }
            return Ok(if existing.confirmed || return_arn {
                existing.arn
            } else {
                "pending confirmation".into()
            });
        }
        let managed = matches!(protocol.as_str(), "lambda" | "sqs");
        let s = Subscription {
            arn: format!("{topic_arn}:{}", uuid::Uuid::new_v4()),
            topic_arn: topic_arn.to_string(),
            owner: account.to_string(),
            protocol: protocol.clone(),
            endpoint: endpoint.to_string(),
            attributes,
            confirmed: managed,
            // AWS's tokens are 288 hexadecimal digits.
            token: (!managed).then(|| random_hex(144)),
            authenticated: managed,
        };
        if !self.inner.store.sns().insert_sns_subscription(
            account,
            topic_arn,
            &s.arn,
            &encode(&s),
        )? {
            return Err(SnsError::no_topic());
        }
        if !managed {
            self.queue_confirmation(&t, &s, Kind::SubscriptionConfirmation)?;
        }
        Ok(if s.confirmed || return_arn {
            s.arn
        } else {
            "pending confirmation".into()
        })
    }

    fn queue_confirmation(&self, t: &Topic, s: &Subscription, kind: Kind) -> Result<(), SnsError> {
        let text = match kind {
            Kind::SubscriptionConfirmation => envelope::subscribe_text(&t.arn),
            _ => envelope::unsubscribe_text(&s.arn),
        };
        let job = Job {
            message: Message {
                kind,
                message_id: uuid::Uuid::new_v4().to_string(),
                topic_arn: t.arn.clone(),
                subscription_arn: s.arn.clone(),
                message: text,
                subject: None,
                timestamp: timestamp(),
                attributes: BTreeMap::new(),
                sequence_number: None,
                token: s.token.clone(),
                signature_version: t.signature_version().to_string(),
            },
            protocol: s.protocol.clone(),
            endpoint: s.endpoint.clone(),
            raw: false,
            group_id: None,
            dedup_id: None,
            retry: Retry::Http(HealthyRetryPolicy::of(
                s.attributes.get("DeliveryPolicy").map(String::as_str),
                t.attributes.get("DeliveryPolicy").map(String::as_str),
            )),
            dead_letter: None,
            trace_header: None,
        };
        self.queue(&[job])
    }

    fn queue(&self, jobs: &[Job]) -> Result<(), SnsError> {
        if jobs.is_empty() {
            return Ok(());
        }
        let due = now_ms();
        let rows: Vec<SnsDelivery> = jobs
            .iter()
            .map(|j| SnsDelivery {
                // A FIFO message's row sorts by its sequence number among its group's,
                // which the delivery workers read as its place in the group's line.
                id: match (&j.message.sequence_number, &j.group_id) {
                    (Some(seq), Some(group)) => format!(
                        "{}{seq} {}",
                        fifo_line(&j.message.subscription_arn, group),
                        j.message.message_id
                    ),
                    _ => format!("{}/{}", j.message.message_id, j.message.subscription_arn),
                },
                due_ms: due,
                attempts: 0,
                data: encode(j),
            })
            .collect();
        self.inner.store.sns().add_sns_deliveries(&rows)?;
        self.inner.wake.notify_one();
        Ok(())
    }

    /// ConfirmSubscription: the confirmed subscription's ARN.
    pub fn confirm_subscription(
        &self,
        topic_arn: &str,
        token: &str,
        authenticate_on_unsubscribe: bool,
    ) -> Result<String, SnsError> {
        self.topic(topic_arn, "TopicArn")?;
        let mut s = self
            .topic_subscriptions(topic_arn)?
            .into_iter()
            .find(|s| s.token.as_deref() == Some(token))
            .ok_or_else(|| SnsError::invalid("Token"))?;
        if !s.confirmed || authenticate_on_unsubscribe {
            s.confirmed = true;
            s.authenticated = s.authenticated || authenticate_on_unsubscribe;
            self.inner
                .store
                .sns()
                .put_sns_subscription(&s.arn, &encode(&s))?;
        }
        Ok(s.arn)
    }

    /// Unsubscribe; an http/https endpoint is sent an UnsubscribeConfirmation.
    /// `authenticated`: whether the caller signed the request (an unsigned call cannot
    /// remove a subscription confirmed with `AuthenticateOnUnsubscribe`).
    /// Unsubscribing what is not (or no longer) subscribed succeeds, as AWS's does.
    pub fn unsubscribe(&self, arn: &str, authenticated: bool) -> Result<(), SnsError> {
        subscription_topic(arn)?;
        let Some(data) = self.inner.store.sns().get_sns_subscription(arn)? else {
            return Ok(());
        };
        let s: Subscription = decode(&data)?;
        // Lambda and SQS subscriptions are confirmed by their authenticated Subscribe.
        if !authenticated && s.authenticated {
            return Err(SnsError::authorization(
                "Unsubscribe of this subscription needs an authenticated request",
            ));
        }
        self.inner.store.sns().delete_sns_subscription(arn)?;
        if !matches!(s.protocol.as_str(), "lambda" | "sqs") {
            if let Some(t) = self.get_topic(&s.topic_arn)? {
                self.queue_confirmation(&t, &s, Kind::UnsubscribeConfirmation)?;
            }
        }
        Ok(())
    }

    fn summaries(
        &self,
        account: Option<&str>,
        topic: Option<&str>,
        next: Option<&str>,
    ) -> Result<(Vec<SubscriptionSummary>, Option<String>), SnsError> {
        let after = after_token(next)?;
        let page = self.inner.store.sns().list_sns_subscriptions(
            account,
            topic,
            after.as_deref(),
            PAGE + 1,
        )?;
        let mut subs = page
            .iter()
            .map(|d| decode::<Subscription>(d))
            .collect::<Result<Vec<_>, _>>()?;
        let more = subs.len() > PAGE;
        subs.truncate(PAGE);
        let token = more.then(|| token_of(subs.last().map_or("", |s| s.arn.as_str())));
        let out = subs
            .iter()
            .map(|s| SubscriptionSummary {
                subscription_arn: s.listed_arn().to_string(),
                owner: s.owner.clone(),
                protocol: s.protocol.clone(),
                endpoint: s.endpoint.clone(),
                topic_arn: s.topic_arn.clone(),
            })
            .collect();
        Ok((out, token))
    }

    /// ListSubscriptions: the account's subscriptions.
    pub fn list_subscriptions(
        &self,
        account: &str,
        next: Option<&str>,
    ) -> Result<(Vec<SubscriptionSummary>, Option<String>), SnsError> {
        self.summaries(Some(account), None, next)
    }

    /// ListSubscriptionsByTopic.
    pub fn list_subscriptions_by_topic(
        &self,
        topic: &str,
        next: Option<&str>,
    ) -> Result<(Vec<SubscriptionSummary>, Option<String>), SnsError> {
        self.topic(topic, "TopicArn")?;
        self.summaries(None, Some(topic), next)
    }

    /// GetSubscriptionAttributes.
    pub fn get_subscription_attributes(
        &self,
        arn: &str,
    ) -> Result<BTreeMap<String, String>, SnsError> {
        Ok(self.subscription(arn)?.view())
    }

    /// SetSubscriptionAttributes.
    pub fn set_subscription_attributes(
        &self,
        arn: &str,
        name: &str,
        value: Option<&str>,
    ) -> Result<(), SnsError> {
        let mut s = self.subscription(arn)?;
        let value = value.unwrap_or("");
        if value.is_empty() && matches!(name, "FilterPolicy" | "RedrivePolicy" | "DeliveryPolicy") {
            subscription::check_attribute(&s.protocol, name, "{}").or_else(|e| {
                if name == "RedrivePolicy" {
                    Ok(())
                } else {
                    Err(e)
                }
            })?;
            s.attributes.remove(name);
        } else {
            subscription::check_attribute(&s.protocol, name, value)?;
            s.attributes.insert(name.to_string(), value.to_string());
        }
        if !self
            .inner
            .store
            .sns()
            .put_sns_subscription(arn, &encode(&s))?
        {
            return Err(SnsError::no_subscription());
        }
        Ok(())
    }

    /// The topic (its owner, its policy) a subscription belongs to, for authorization.
    pub fn subscription_topic(&self, arn: &str) -> Option<String> {
        subscription_topic(arn).ok().map(str::to_string)
    }

    /// Publish.
    /// The message is checked before the topic is looked up, as AWS does (a FIFO topic is
    /// known by its name; its deduplication setting needs the record).
    pub fn publish(&self, topic_arn: &str, input: PublishInput) -> Result<Published, SnsError> {
        let (_, name) = parse_topic_arn(topic_arn, "TopicArn")?;
        let fifo = name.ends_with(".fifo");
        message::check(&input, fifo, true)?;
        let t = self.topic(topic_arn, "TopicArn")?;
        message::check(&input, t.fifo(), t.content_based_dedup())?;
        self.accept(&t, input)
    }

    fn accept(&self, t: &Topic, input: PublishInput) -> Result<Published, SnsError> {
        let message_id = uuid::Uuid::new_v4().to_string();
        let mut sequence_number = None;
        let mut dedup_id = None;
        if t.fifo() {
            let id = message::dedup_id(&input);
            // The microsecond of publishing: numbers only grow on this node, and across
            // nodes they follow the clocks (publishes through two nodes a moment apart
            // are numbered in that order).
            let floor = u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or(0);
            let last = self
                .inner
                .seq
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
                    Some(floor.max(last + 1))
                })
                .unwrap_or(floor);
            let seq = format!("{:020}", floor.max(last + 1));
            let window = i64::try_from(DEDUP_WINDOW.as_millis()).unwrap_or(i64::MAX);
            if let Some((first, first_seq)) = self.inner.store.sns().sns_dedup(
                &t.arn,
                &id,
                &message_id,
                &seq,
                now_ms(),
                window,
            )? {
                return Ok(Published {
                    message_id: first,
                    sequence_number: Some(first_seq),
                });
            }
            sequence_number = Some(seq);
            dedup_id = Some(id);
        }
        let stamp = timestamp();
        let mut jobs = Vec::new();
        for s in self.topic_subscriptions(&t.arn)? {
            if !s.confirmed {
                continue;
            }
            let body = message::for_protocol(&input, &s.protocol);
            let scope = if s.attributes.get("FilterPolicyScope").map(String::as_str)
                == Some("MessageBody")
            {
                filter::Scope::Body(&body)
            } else {
                filter::Scope::Attributes(&input.attributes)
            };
            if !filter::matches(s.attributes.get("FilterPolicy").map(String::as_str), &scope) {
                continue;
            }
            let retry = match s.protocol.as_str() {
                "http" | "https" => Retry::Http(HealthyRetryPolicy::of(
                    s.attributes.get("DeliveryPolicy").map(String::as_str),
                    t.attributes.get("DeliveryPolicy").map(String::as_str),
                )),
                _ => Retry::Managed,
            };
            jobs.push(Job {
                message: Message {
                    kind: Kind::Notification,
                    message_id: message_id.clone(),
                    topic_arn: t.arn.clone(),
                    subscription_arn: s.arn.clone(),
                    message: body,
                    subject: input.subject.clone(),
                    timestamp: stamp.clone(),
                    attributes: input.attributes.clone(),
                    sequence_number: sequence_number.clone(),
                    token: None,
                    signature_version: t.signature_version().to_string(),
                },
                raw: s.raw(),
                dead_letter: s.dead_letter_queue(),
                protocol: s.protocol,
                endpoint: s.endpoint,
                group_id: input.group_id.clone(),
                dedup_id: dedup_id.clone(),
                retry,
                trace_header: input.trace_header.clone(),
            });
        }
        self.queue(&jobs)?;
        Ok(Published {
            message_id,
            sequence_number,
        })
    }

    /// PublishBatch: the successful entries' answers and the failed entries.
    pub fn publish_batch(
        &self,
        topic_arn: &str,
        entries: Vec<BatchEntry>,
    ) -> Result<BatchOutcome, SnsError> {
        let t = self.topic(topic_arn, "TopicArn")?;
        if entries.is_empty() {
            return Err(SnsError::batch(
                "EmptyBatchRequest",
                "The batch request doesn't contain any entries.",
            ));
        }
        if entries.len() > BATCH_MAX {
            return Err(SnsError::batch(
                "TooManyEntriesInBatchRequest",
                "The batch request contains more entries than permissible.",
            ));
        }
        let mut ids = std::collections::HashSet::new();
        for e in &entries {
            let valid = !e.id.is_empty()
                && e.id.len() <= 80
                && e.id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return Err(SnsError::batch(
                    "InvalidBatchEntryId",
                    "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
                ));
            }
            if !ids.insert(e.id.as_str()) {
                return Err(SnsError::batch(
                    "BatchEntryIdsNotDistinct",
                    "Two or more batch entries in the request have the same Id.",
                ));
            }
        }
        if entries
            .iter()
            .map(|e| message::size(&e.input))
            .sum::<usize>()
            > message::MAX_MESSAGE_BYTES
        {
            return Err(SnsError::batch(
                "BatchRequestTooLong",
                "The length of all the messages put together is more than the limit.",
            ));
        }
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        for e in entries {
            let outcome = message::check(&e.input, t.fifo(), t.content_based_dedup())
                .and_then(|()| self.accept(&t, e.input));
            match outcome {
                Ok(p) => ok.push((e.id, p)),
                Err(SnsError::Client { code, message, .. }) => failed.push(BatchFailure {
                    id: e.id,
                    code: code.to_string(),
                    message,
                    sender_fault: true,
                }),
                Err(other) => return Err(other),
            }
        }
        Ok((ok, failed))
    }

    fn tagged_topic(&self, arn: &str) -> Result<Topic, SnsError> {
        parse_topic_arn(arn, "ResourceArn")?;
        self.get_topic(arn)?.ok_or_else(SnsError::no_resource)
    }

    /// TagResource.
    pub fn tag_resource(&self, arn: &str, new: &[Tag]) -> Result<(), SnsError> {
        tags::check(new)?;
        let mut t = self.tagged_topic(arn)?;
        tags::merge(&mut t.tags, new)?;
        self.inner.store.sns().put_sns_topic(arn, &encode(&t))?;
        Ok(())
    }

    /// UntagResource.
    pub fn untag_resource(&self, arn: &str, keys: &[&str]) -> Result<(), SnsError> {
        let mut t = self.tagged_topic(arn)?;
        t.tags.retain(|tag| !keys.contains(&tag.key.as_str()));
        self.inner.store.sns().put_sns_topic(arn, &encode(&t))?;
        Ok(())
    }

    /// ListTagsForResource.
    pub fn list_tags(&self, arn: &str) -> Result<Vec<Tag>, SnsError> {
        Ok(self.tagged_topic(arn)?.tags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::MessageAttribute;
    use crate::NoQueues;

    fn service() -> (tempfile::TempDir, Sns) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let sns = Sns::new(
            store,
            SnsConfig {
                endpoint: "http://h:1/".into(),
                sink: Arc::new(NoQueues),
            },
        );
        (dir, sns)
    }

    fn queued(sns: &Sns) -> Vec<Job> {
        sns.inner
            .store
            .sns()
            .claim_sns_deliveries("t", i64::MAX / 2, 1, 100)
            .expect("claim")
            .iter()
            .map(|d| serde_json::from_str(&d.data).expect("job"))
            .collect()
    }

    const ACCOUNT: &str = "000000000000";

    #[test]
    fn publish_queues_one_delivery_per_matching_subscription() {
        let (_d, sns) = service();
        let topic = sns
            .create_topic(ACCOUNT, "t", BTreeMap::new(), vec![])
            .expect("topic");
        let queue = "arn:aws:sqs:us-east-1:000000000000:q";
        let sub = sns
            .subscribe(
                ACCOUNT,
                &topic,
                "sqs",
                Some(queue),
                BTreeMap::from([
                    ("RawMessageDelivery".into(), "true".into()),
                    ("FilterPolicy".into(), r#"{"color":["red"]}"#.into()),
                    (
                        "RedrivePolicy".into(),
                        r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq"}"#
                            .into(),
                    ),
                ]),
                false,
            )
            .expect("subscribe");
        let color = |c: &str| {
            BTreeMap::from([(
                "color".to_string(),
                MessageAttribute {
                    data_type: "String".into(),
                    string_value: Some(c.into()),
                    binary_value: None,
                },
            )])
        };
        let publish = |m: &str, attributes| {
            sns.publish(
                &topic,
                PublishInput {
                    message: m.into(),
                    attributes,
                    message_structure: Some("json".into()),
                    ..Default::default()
                },
            )
            .expect("publish")
        };
        publish(r#"{"default":"d","sqs":"for queues"}"#, color("blue"));
        let red = publish(r#"{"default":"d","sqs":"for queues"}"#, color("red"));
        let jobs = queued(&sns);
        assert_eq!(jobs.len(), 1, "the blue message is filtered out");
        let j = &jobs[0];
        assert_eq!(j.message.message_id, red.message_id);
        assert_eq!(j.message.message, "for queues");
        assert_eq!(j.message.subscription_arn, sub);
        assert!(j.raw);
        assert_eq!(j.endpoint, queue);
        assert_eq!(
            j.dead_letter.as_deref(),
            Some("arn:aws:sqs:us-east-1:000000000000:dlq")
        );
        assert_eq!(j.retry, Retry::Managed);
    }

    #[test]
    fn http_subscriptions_confirm_with_their_token_and_say_goodbye() {
        let (_d, sns) = service();
        let topic = sns
            .create_topic(ACCOUNT, "t", BTreeMap::new(), vec![])
            .expect("topic");
        let pending = sns
            .subscribe(
                ACCOUNT,
                &topic,
                "http",
                Some("http://127.0.0.1:1/"),
                BTreeMap::new(),
                false,
            )
            .expect("subscribe");
        assert_eq!(pending, "pending confirmation");
        let jobs = queued(&sns);
        assert_eq!(jobs.len(), 1);
        let confirm = &jobs[0].message;
        assert_eq!(confirm.kind, Kind::SubscriptionConfirmation);
        let token = confirm.token.clone().expect("token");
        assert_eq!(token.len(), 288);
        // Nothing is delivered to a subscription that has not confirmed.
        sns.publish(
            &topic,
            PublishInput {
                message: "m".into(),
                ..Default::default()
            },
        )
        .expect("publish");
        assert!(queued(&sns).is_empty());
        assert!(sns.confirm_subscription(&topic, "nope", false).is_err());
        let arn = sns
            .confirm_subscription(&topic, &token, false)
            .expect("confirm");
        assert_eq!(arn, confirm.subscription_arn);
        assert_eq!(
            sns.get_subscription_attributes(&arn).expect("attrs")["PendingConfirmation"],
            "false"
        );
        sns.unsubscribe(&arn, true).expect("unsubscribe");
        let jobs = queued(&sns);
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].message.kind, Kind::UnsubscribeConfirmation);
    }

    #[test]
    fn topics_are_idempotent_and_listed_in_pages() {
        let (_d, sns) = service();
        for i in 0..101 {
            sns.create_topic(ACCOUNT, &format!("t{i:03}"), BTreeMap::new(), vec![])
                .expect("topic");
        }
        let (first, next) = sns.list_topics(ACCOUNT, None).expect("list");
        assert_eq!(first.len(), 100);
        let (second, last) = sns.list_topics(ACCOUNT, next.as_deref()).expect("list");
        assert_eq!(second, [topic_arn(ACCOUNT, "t100")]);
        assert_eq!(last, None);
        assert!(sns.list_topics(ACCOUNT, Some("%%")).is_err());
        let again = sns
            .create_topic(
                ACCOUNT,
                "t000",
                BTreeMap::from([("FifoTopic".into(), "false".into())]),
                vec![],
            )
            .expect("same");
        assert_eq!(again, topic_arn(ACCOUNT, "t000"));
    }

    #[test]
    fn subscriptions_are_listed_in_pages() {
        let (_d, sns) = service();
        let topic = sns
            .create_topic(ACCOUNT, "t", BTreeMap::new(), vec![])
            .expect("topic");
        for i in 0..101 {
            let queue = format!("arn:aws:sqs:us-east-1:000000000000:q{i}");
            sns.subscribe(ACCOUNT, &topic, "sqs", Some(&queue), BTreeMap::new(), false)
                .expect("subscribe");
        }
        let (first, next) = sns.list_subscriptions(ACCOUNT, None).expect("list");
        assert_eq!(first.len(), 100);
        let (second, last) = sns
            .list_subscriptions_by_topic(&topic, next.as_deref())
            .expect("list");
        assert_eq!((second.len(), last), (1, None));
        assert!(!first
            .iter()
            .any(|s| s.subscription_arn == second[0].subscription_arn));
        assert_eq!(
            sns.list_subscriptions_by_topic(&topic_arn(ACCOUNT, "gone"), None)
                .expect_err("no topic")
                .to_string(),
            "Topic does not exist"
        );
        let (other, _) = sns.list_subscriptions("111111111111", None).expect("list");
        assert!(other.is_empty());
    }
}
