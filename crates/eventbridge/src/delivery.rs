//! [`Deliveries`]: the event source that delivers what PutEvents, scheduled rules and
//! schedules queued. Each node claims due rows of the store's EventBridge delivery queue
//! for a while (a node that dies mid-delivery leaves its rows to be claimed again, so every
//! event reaches each target at least once, across restarts too), delivers them and
//! deletes each row, or puts it back due after a backoff. A Lambda target is an
//! asynchronous invocation through the `Invoker` (Lambda's own retries and destinations
//! then apply); queues and topics are reached through the server's [`Targets`]; a bus
//! target routes the event again on that bus.
//!
//! Authorization is AWS's: a rule's delivery is EventBridge acting as
//! `events.amazonaws.com`, allowed by the target's resource policy for `aws:SourceArn` the
//! rule; a schedule's is Scheduler acting with the schedule's role. A target that does not
//! exist or does not allow the delivery is not retried (AWS's rule): the event goes to the
//! dead-letter queue at once. Other failures are retried by the target's retry policy, then
//! dead-lettered. The dead-letter message is the event, with AWS's attributes
//! (`RULE_ARN`, `TARGET_ARN`, `ERROR_CODE`, `ERROR_MESSAGE`, `EXHAUSTED_RETRY_CONDITION`,
//! `RETRY_ATTEMPTS`).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hearth_engine::EngineError;
use hearth_iam_policy::{evaluate, RequestContext, RequestPrincipal, ResourcePolicy};
use hearth_model::FunctionRef;
use hearth_store::Delivery;
use hearth_triggers::{
    BoxFuture, EnqueueRequest, EventSource, Invoker, RunningSource, SourceContext, SourceError,
    SpawnedSource,
};
use tokio::sync::{watch, Semaphore};

use crate::arn::parse_bus_arn;
use crate::job::{retry_delay_ms, Failure, Job, Sender};
use crate::routing::Routing;
use crate::targets::TargetKind;
use crate::{EventBridge, Json};

/// How long a claimed row is held before another node may take it.
const HOLD_MS: i64 = 60_000;
/// Rows claimed at once, and deliveries running at once.
const BATCH: usize = 64;
/// How often the queue is looked at with nothing having woken it (retries coming due,
/// rows of a node that died).
const POLL: Duration = Duration::from_millis(500);
/// The service principal EventBridge acts as for rules.
pub const PRINCIPAL: &str = "events.amazonaws.com";
/// The service principal EventBridge Scheduler assumes a schedule's role as.
pub const SCHEDULER_PRINCIPAL: &str = "scheduler.amazonaws.com";
/// The most buses an event is routed through (a loop of bus targets ends there).
const MAX_HOPS: u32 = 4;

/// A message for a queue or a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub body: String,
    /// The rule or schedule that sends it (`aws:SourceArn`).
    pub source_arn: String,
    pub sender: Sender,
    /// A FIFO queue's message group, and its deduplication id (the event's id).
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    /// String attributes (a dead-letter message's).
    pub attributes: Vec<(String, String)>,
    pub trace_header: Option<String>,
}

/// Why a queue or a topic did not take a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// It does not exist: not retried.
    #[error("{0}")]
    NoResource(String),
    /// Its policy (or the schedule's role) does not allow the delivery: not retried.
    #[error("{0}")]
    NoPermissions(String),
    /// It refused the message as it is (a FIFO queue without a group): not retried.
    #[error("{0}")]
    Refused(String),
    /// Anything else: retried.
    #[error("{0}")]
    Failed(String),
}

impl TargetError {
    fn code(&self) -> &'static str {
        match self {
            TargetError::NoResource(_) => "NO_RESOURCE",
            TargetError::NoPermissions(_) => "NO_PERMISSIONS",
            TargetError::Refused(_) => "INVALID_PARAMETER",
            TargetError::Failed(_) => "ERROR_FROM_TARGET",
        }
    }

    fn retried(&self) -> bool {
        matches!(self, TargetError::Failed(_))
    }
}

/// The queues and topics EventBridge delivers to, which the server provides (the
/// services do not know each other). Each checks the delivery is allowed: for
/// [`Sender::Rule`] the queue's or topic's policy for `events.amazonaws.com` and
/// `aws:SourceArn`, for [`Sender::Schedule`] the role.
pub trait Targets: Send + Sync + 'static {
    fn send_to_queue<'a>(
        &'a self,
        queue_arn: &'a str,
        msg: Outgoing,
    ) -> BoxFuture<'a, Result<(), TargetError>>;
    fn publish_to_topic<'a>(
        &'a self,
        topic_arn: &'a str,
        msg: Outgoing,
    ) -> BoxFuture<'a, Result<(), TargetError>>;
}

/// The delivery source; the server adds it to its event sources.
pub struct Deliveries {
    eb: EventBridge,
    targets: Arc<dyn Targets>,
    node: String,
}

impl Deliveries {
    /// The deliveries of node `node` of the fleet (its stable id): at start it frees the
    /// rows it held when it last stopped (see `hearth_sns::Deliveries::new`).
    pub fn new(eb: &EventBridge, targets: Arc<dyn Targets>, node: &str) -> Self {
        Self {
            eb: eb.clone(),
            targets,
            node: node.to_string(),
        }
    }
}

impl EventSource for Deliveries {
    fn name(&self) -> &'static str {
        "events"
    }

    fn start(self: Box<Self>, ctx: SourceContext) -> Result<Box<dyn RunningSource>, SourceError> {
        let worker = Worker {
            eb: self.eb,
            targets: self.targets,
            invoker: ctx.invoker().clone(),
            node: format!("events-{}", self.node),
        };
        if let Err(e) = worker
            .eb
            .store
            .events()
            .release_event_deliveries(&worker.node)
        {
            tracing::warn!(error = %e, "cannot free the EventBridge deliveries this node held");
        }
        Ok(SpawnedSource::spawn(|stopped| worker.run(stopped)))
    }
}

#[derive(Clone)]
struct Worker {
    eb: EventBridge,
    targets: Arc<dyn Targets>,
    invoker: Invoker,
    node: String,
}

impl Worker {
    async fn run(self, mut stopped: watch::Receiver<bool>) {
        let running = Arc::new(Semaphore::new(BATCH));
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
                let (node, now) = (self.node.clone(), self.eb.now());
                self.eb
                    .store
                    .off_worker(move |store| {
                        store
                            .events()
                            .claim_event_deliveries(&node, now, HOLD_MS, room)
                    })
                    .await
                    .unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "cannot claim EventBridge deliveries");
                        Vec::new()
                    })
            };
            let full = room > 0 && claimed.len() == room;
            for row in claimed {
                let Ok(permit) = running.clone().acquire_owned().await else {
                    break;
                };
                let me = self.clone();
                tokio::spawn(async move {
                    me.deliver(row).await;
                    drop(permit);
                });
            }
            if full {
                continue;
            }
            tokio::select! {
                _ = self.eb.shared.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = stopped.changed() => {}
            }
        }
        let _ = running.acquire_many(BATCH as u32).await;
    }

    /// One attempt at a row, and its outcome recorded.
    async fn deliver(&self, row: Delivery) {
        let store = self.eb.store.events();
        let job: Job = match serde_json::from_str(&row.data) {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(id = %row.id, error = %e, "an unreadable EventBridge delivery is dropped");
                let _ = store.finish_event_delivery(&row.id);
                return;
            }
        };
        let outcome = self.attempt(&job).await;
        let result = match outcome {
            Ok(()) => store.finish_event_delivery(&row.id),
            Err(e) => {
                let failed = row.attempts + 1;
                let now = self.eb.now();
                let exhausted = job.exhausted(failed, now);
                if e.retried() && exhausted.is_none() {
                    let jitter = (uuid::Uuid::new_v4().as_u128() % 1000) as u32;
                    let due = now + retry_delay_ms(failed, jitter);
                    tracing::debug!(id = %row.id, error = %e, due, "EventBridge delivery failed; retrying");
                    store.retry_event_delivery(&row.id, due, failed)
                } else {
                    self.give_up(&row, &job, &e, exhausted.filter(|_| e.retried()), failed)
                }
            }
        };
        if let Err(e) = result {
            tracing::warn!(id = %row.id, error = %e, "cannot record an EventBridge delivery's outcome");
        }
    }

    /// The delivery is over without success: to the dead-letter queue (a delivery of its
    /// own, retried like any), or dropped.
    fn give_up(
        &self,
        row: &Delivery,
        job: &Job,
        error: &TargetError,
        exhausted: Option<&str>,
        failed: u32,
    ) -> Result<(), hearth_store::StoreError> {
        let store = self.eb.store.events();
        let failure = Failure {
            code: error.code().to_string(),
            message: error.to_string(),
            exhausted: exhausted.map(str::to_string),
            retry_attempts: failed.saturating_sub(1),
            target_arn: String::new(),
        };
        let dead = if job.failure.is_some() {
            None
        } else {
            job.dead_letter(failure)
        };
        match dead {
            Some(dl) => {
                tracing::info!(id = %row.id, %error, "EventBridge delivery failed; to the dead-letter queue");
                let now = self.eb.now();
                let rows = match crate::routing::row(&dl, now) {
                    Ok(r) => vec![r],
                    Err(e) => {
                        tracing::error!(id = %row.id, error = %e, "cannot queue a dead letter");
                        Vec::new()
                    }
                };
                store.add_event_deliveries(&rows)?;
                self.eb.shared.wake.notify_one();
            }
            None => tracing::warn!(id = %row.id, %error, "EventBridge delivery failed; given up"),
        }
        store.finish_event_delivery(&row.id)
    }

    async fn attempt(&self, job: &Job) -> Result<(), TargetError> {
        if job.failure.is_some() {
            return self
                .targets
                .send_to_queue(&job.target_arn, dead_letter_message(job))
                .await;
        }
        match TargetKind::of(&job.target_arn) {
            Some(TargetKind::Lambda) => self.to_lambda(job).await,
            Some(TargetKind::Sqs) => {
                self.targets
                    .send_to_queue(&job.target_arn, message(job))
                    .await
            }
            Some(TargetKind::Sns) => {
                self.targets
                    .publish_to_topic(&job.target_arn, message(job))
                    .await
            }
            Some(TargetKind::EventBus) => self.to_bus(job),
            None => Err(TargetError::Refused(format!(
                "Hearth does not deliver to {}",
                job.target_arn
            ))),
        }
    }

    async fn to_lambda(&self, job: &Job) -> Result<(), TargetError> {
        let account = hearth_model::arn::arn_account(&job.target_arn).unwrap_or_default();
        let function = FunctionRef::parse(&job.target_arn, account)
            .map_err(|e| TargetError::Refused(e.to_string()))?;
        self.may_invoke(&function, job)?;
        let req = EnqueueRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            function,
            payload: Bytes::from(job.payload.clone()),
            client_context: None,
            // The PutEvents caller's trace, continued by the function. EventBridge is
            // not among the services whose invocations Lambda's loop detection counts.
            trace_header: job.trace_header.clone(),
            counts_lineage: false,
        };
        match self.invoker.enqueue(req).await {
            Ok(()) => Ok(()),
            Err(EngineError::NotFound(e)) => Err(TargetError::NoResource(e.to_string())),
            Err(e) => Err(TargetError::Failed(e.to_string())),
        }
    }

    /// Whether the rule may invoke the function (its resource policy lets
    /// `events.amazonaws.com` in for the rule), or the schedule's role may.
    fn may_invoke(&self, function: &FunctionRef, job: &Job) -> Result<(), TargetError> {
        let policy = self.invoker.function_resource_policy(function);
        let allowed = match &job.sender {
            Sender::Rule => {
                let mut ctx = RequestContext::new(RequestPrincipal::service(PRINCIPAL));
                ctx.set("aws:SourceArn", &job.origin);
                if let Some(a) = hearth_model::arn::arn_account(&job.origin) {
                    ctx.set("aws:SourceAccount", a);
                }
                evaluate(
                    &ctx,
                    "lambda:InvokeFunction",
                    &job.target_arn,
                    &[],
                    ResourcePolicy {
                        account: function.account(),
                        policy: policy.as_deref(),
                    },
                )
                .allowed()
            }
            Sender::Schedule { role_arn } => self
                .invoker
                .role_may_act(
                    role_arn,
                    SCHEDULER_PRINCIPAL,
                    &job.origin,
                    "lambda:InvokeFunction",
                    &job.target_arn,
                    policy.as_deref(),
                )
                .map_err(|e| TargetError::Failed(e.to_string()))?,
        };
        if allowed {
            Ok(())
        } else {
            Err(TargetError::NoPermissions(match &job.sender {
                Sender::Rule => format!(
                    "the resource policy of {} does not allow {PRINCIPAL} to invoke it for {}",
                    job.target_arn, job.origin
                ),
                Sender::Schedule { role_arn } => {
                    format!("the role {role_arn} may not invoke {}", job.target_arn)
                }
            }))
        }
    }

    /// Routes the event again on the target bus.
    fn to_bus(&self, job: &Job) -> Result<(), TargetError> {
        let Some((account, _)) = parse_bus_arn(&job.target_arn) else {
            return Err(TargetError::Refused(format!(
                "{} is not a bus",
                job.target_arn
            )));
        };
        if job.hops + 1 >= MAX_HOPS {
            return Err(TargetError::Refused(format!(
                "the event was routed through {MAX_HOPS} buses; a loop of bus targets is stopped there"
            )));
        }
        let origin_account = hearth_model::arn::arn_account(&job.origin).unwrap_or_default();
        if account != origin_account {
            // Another account's bus takes events only where its policy allows them, and
            // Hearth has no bus policies yet (PutPermission).
            return Err(TargetError::NoPermissions(format!(
                "the bus {} is in another account",
                job.target_arn
            )));
        }
        let exists = self
            .eb
            .store
            .events()
            .get_event_bus(&job.target_arn)
            .map_err(|e| TargetError::Failed(e.to_string()))?
            .is_some();
        if !exists && !job.target_arn.ends_with(":event-bus/default") {
            return Err(TargetError::NoResource(format!(
                "the bus {} does not exist",
                job.target_arn
            )));
        }
        let json = Json::parse(&job.event).map_err(|e| TargetError::Refused(e.to_string()))?;
        let now = self.eb.now();
        let event = Routing::new(
            &job.event_id,
            &json,
            job.trace_header.as_deref(),
            job.hops + 1,
        );
        let jobs = self
            .eb
            .route(&job.target_arn, &event, now)
            .map_err(|e| TargetError::Failed(e.to_string()))?;
        self.eb
            .queue(&jobs, now)
            .map_err(|e| TargetError::Failed(e.to_string()))
    }
}

/// What a queue or topic target receives.
fn message(job: &Job) -> Outgoing {
    Outgoing {
        body: job.payload.clone(),
        source_arn: job.origin.clone(),
        sender: job.sender.clone(),
        group_id: job.group_id.clone(),
        dedup_id: job.group_id.as_ref().map(|_| job.event_id.clone()),
        attributes: Vec::new(),
        trace_header: job.trace_header.clone(),
    }
}

/// What the dead-letter queue receives: the event and, as attributes, why. A schedule's
/// dead letter names the schedule in Scheduler's attributes (UNSURE: their names are taken
/// from AWS's examples of Scheduler's dead-letter messages, not from a reference).
fn dead_letter_message(job: &Job) -> Outgoing {
    let mut attributes = match &job.sender {
        Sender::Rule => vec![("RULE_ARN".to_string(), job.origin.clone())],
        Sender::Schedule { .. } => {
            let (group, name) = job
                .origin
                .rsplit_once(":schedule/")
                .and_then(|(_, path)| path.split_once('/'))
                .unwrap_or(("", ""));
            vec![
                (
                    "X-Amz-Scheduler-Schedule-Arn".to_string(),
                    job.origin.clone(),
                ),
                ("X-Amz-Scheduler-Group".to_string(), group.to_string()),
                ("X-Amz-Scheduler-Schedule".to_string(), name.to_string()),
                (
                    "X-Amz-Scheduler-Attempt".to_string(),
                    job.failure
                        .as_ref()
                        .map_or(1, |f| f.retry_attempts + 1)
                        .to_string(),
                ),
            ]
        }
    };
    if let Some(f) = &job.failure {
        attributes.push(("TARGET_ARN".into(), f.target_arn.clone()));
        attributes.push(("ERROR_CODE".into(), f.code.clone()));
        attributes.push(("ERROR_MESSAGE".into(), f.message.clone()));
        if let Some(x) = &f.exhausted {
            attributes.push(("EXHAUSTED_RETRY_CONDITION".into(), x.clone()));
        }
        attributes.push(("RETRY_ATTEMPTS".into(), f.retry_attempts.to_string()));
    }
    Outgoing {
        body: job.payload.clone(),
        source_arn: job.origin.clone(),
        sender: job.sender.clone(),
        group_id: None,
        dedup_id: None,
        attributes,
        trace_header: job.trace_header.clone(),
    }
}
