//! [`MappingSource`] (`sqs-mapping`): the event source that follows the store's mappings.
//! Once a second it reads them all and applies what changed: an enabled mapping gets its
//! pollers (restarted when its settings change), a disabled one loses them, a `Deleting`
//! mapping's pollers stop and its record goes; and only then does a transitional state
//! (`Creating`, `Enabling`, `Updating`, `Disabling`) become `Enabled` or `Disabled`, so
//! that the state a change answers lasts until the change is in effect (Lambda refuses
//! another change meanwhile: `crates/api/src/event_source_mappings.rs`).
//!
//! On a shared store a mapping is applied, polled and settled by the one node that holds
//! its lease; while the holder is away (until its lease lapses) the mapping's transitional
//! state stays. A mapping that neither polls nor changes needs no holder.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use hearth_model::event_source_mapping::{EventSourceMapping, MappingState};
use hearth_store::Store;
use hearth_triggers::{BoxFuture, EventSource, Invoker, RunningSource, SourceContext, SourceError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::client::QueueClients;
use crate::metrics::{Counter, MappingMetrics};
use crate::poller::MappingRun;

/// How often the mappings are read again.
const TICK: Duration = Duration::from_secs(1);
/// How long a node's lease on a mapping lasts without renewal.
const LEASE_TTL: Duration = Duration::from_secs(15);

/// The SQS event-source mappings' pollers.
pub struct MappingSource {
    store: Store,
    clients: Arc<dyn QueueClients>,
    /// This node's id (a lease's holder).
    node: String,
    /// Where mappings with `MetricsConfig` count their events.
    metrics: Option<Arc<dyn MappingMetrics>>,
}

impl MappingSource {
    pub fn new(store: Store, clients: Arc<dyn QueueClients>, node: &str) -> Self {
        Self {
            store,
            clients,
            node: node.to_string(),
            metrics: None,
        }
    }

    /// Mappings that ask for their event counts (`MetricsConfig`) count them into
    /// `metrics`; without it they count nothing.
    pub fn counting_into(mut self, metrics: Arc<dyn MappingMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }
}

impl EventSource for MappingSource {
    fn name(&self) -> &'static str {
        "sqs-mapping"
    }

    fn start(self: Box<Self>, ctx: SourceContext) -> Result<Box<dyn RunningSource>, SourceError> {
        let (stop, stopped) = watch::channel(None);
        let follower = Follower {
            store: self.store,
            clients: self.clients,
            node: self.node,
            metrics: self.metrics,
            invoker: ctx.invoker().clone(),
            stop: stopped,
            runs: HashMap::new(),
        };
        let task = tokio::spawn(follower.run());
        Ok(Box::new(Running { stop, task }))
    }
}

struct Running {
    /// The stop, with the grace the runs' invocations have to finish.
    stop: watch::Sender<Option<Duration>>,
    task: JoinHandle<()>,
}

impl RunningSource for Running {
    fn stop(self: Box<Self>, grace: Duration) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let _ = self.stop.send(Some(grace));
            // The follower stops its runs, waiting for them up to the grace.
            let _ = tokio::time::timeout(grace + Duration::from_millis(100), self.task).await;
        })
    }
}

/// A mapping's running pollers, and what they were started with.
struct Active {
    run: Arc<MappingRun>,
    stop: watch::Sender<bool>,
}

struct Follower {
    store: Store,
    clients: Arc<dyn QueueClients>,
    node: String,
    metrics: Option<Arc<dyn MappingMetrics>>,
    invoker: Invoker,
    stop: watch::Receiver<Option<Duration>>,
    runs: HashMap<String, Active>,
}

/// A mapping's settings, without what changes as it runs (state, times, results): when
/// they differ, its pollers restart.
fn settings(m: &EventSourceMapping) -> EventSourceMapping {
    EventSourceMapping {
        state: MappingState::Enabled,
        state_transition_reason: String::new(),
        last_modified_ms: 0,
        last_processing_result: None,
        ..m.clone()
    }
}

impl Follower {
    async fn run(mut self) {
        let mut stop = self.stop.clone();
        loop {
            if let Err(e) = self.follow().await {
                tracing::warn!(error = %e, "cannot read the event-source mappings");
            }
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = stop.changed() => break,
            }
        }
        let runs: Vec<Active> = self.runs.drain().map(|(_, a)| a).collect();
        for a in &runs {
            let _ = a.stop.send(true);
        }
        // One grace for all: the host gives the source no more than its own.
        let grace = (*self.stop.borrow()).unwrap_or_default();
        let deadline = tokio::time::Instant::now() + grace;
        for a in runs {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            a.run.join(left).await;
            self.release(&a.run.mapping.uuid).await;
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, hearth_store::StoreError> + Send + 'static,
    ) -> Result<T, String> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }

    async fn follow(&mut self) -> Result<(), String> {
        let all = self.blocking(|s| s.mappings().all_mappings()).await?;
        let seen: Vec<String> = all.iter().map(|m| m.uuid.clone()).collect();
        for m in all {
            self.apply(m).await?;
        }
        let gone: Vec<String> = self
            .runs
            .keys()
            .filter(|u| !seen.contains(u))
            .cloned()
            .collect();
        for uuid in gone {
            self.halt(&uuid);
        }
        Ok(())
    }

    /// Puts one mapping in effect on this node if it holds it, then settles its state.
    async fn apply(&mut self, m: EventSourceMapping) -> Result<(), String> {
        let changing = m.state.is_transitional();
        if !(m.enabled || changing) || !self.holds(&m.uuid).await {
            self.halt(&m.uuid);
            return Ok(());
        }
        let uuid = m.uuid.clone();
        if m.state == MappingState::Deleting {
            self.halt(&uuid);
            let gone = uuid.clone();
            self.blocking(move |s| s.mappings().delete_mapping(&gone))
                .await?;
            self.release(&uuid).await;
            return Ok(());
        }
        if m.enabled {
            self.ensure(&m).await;
        } else {
            self.halt(&uuid);
        }
        if changing {
            let settled = self.settle(m).await?;
            if settled.is_some_and(|m| !m.enabled) {
                // Disabled: nothing of it runs here any more.
                self.release(&uuid).await;
            }
        }
        Ok(())
    }

    /// Moves a transitional state to where it settles, unless the mapping changed
    /// meanwhile; the mapping as it now stands.
    async fn settle(&self, m: EventSourceMapping) -> Result<Option<EventSourceMapping>, String> {
        let Some(next) = m.state.settled(m.enabled) else {
            return Ok(None);
        };
        let (uuid, seen_state, seen_at) = (m.uuid.clone(), m.state, m.last_modified_ms);
        let edited = self
            .blocking(move |s| {
                s.mappings().edit_mapping(
                    &uuid,
                    Box::new(move |m| {
                        if m.state != seen_state || m.last_modified_ms != seen_at {
                            return false;
                        }
                        m.state = next;
                        m.last_modified_ms = hearth_model::time::now_ms();
                        true
                    }),
                )
            })
            .await?;
        Ok(match edited {
            hearth_store::Edited::Done(m) => Some(m),
            _ => None,
        })
    }

    /// Whether this node runs the mapping: always on the embedded store, while it holds
    /// the mapping's lease on a shared one.
    async fn holds(&self, uuid: &str) -> bool {
        if !self.store.fleet().shared() {
            return true;
        }
        let (name, node) = (lease_name(uuid), self.node.clone());
        self.blocking(move |s| s.fleet().acquire_lease(&name, &node, LEASE_TTL))
            .await
            .map(|l| l.is_some())
            .unwrap_or(false)
    }

    async fn release(&self, uuid: &str) {
        if self.store.fleet().shared() {
            let (name, node) = (lease_name(uuid), self.node.clone());
            let _ = self
                .blocking(move |s| s.fleet().release_lease(&name, &node))
                .await;
        }
    }

    /// Starts the mapping's pollers, or restarts them if its settings changed; none for
    /// a mapping whose function is gone.
    async fn ensure(&mut self, m: &EventSourceMapping) {
        if let Some(a) = self.runs.get(&m.uuid) {
            if settings(&a.run.mapping) == settings(m) {
                return;
            }
            self.halt(&m.uuid);
        }
        let function = m.function.clone();
        match self
            .blocking(move |s| s.metadata().get_function(&function))
            .await
        {
            Ok(Some(_)) => {}
            Ok(None) => {
                tracing::debug!(mapping = %m.uuid, "the mapping's function does not exist");
                return;
            }
            Err(e) => {
                tracing::warn!(mapping = %m.uuid, error = %e, "cannot read the mapping's function");
                return;
            }
        }
        let client = self.clients.client(m);
        let (stop, stopped) = watch::channel(false);
        tracing::info!(mapping = %m.uuid, queue = %m.event_source_arn, function = %m.function_arn, "polling");
        let counter = Counter::for_mapping(m, self.metrics.as_ref());
        let run = MappingRun::start(
            m.clone(),
            client,
            self.invoker.clone(),
            self.store.clone(),
            stopped,
            counter,
        );
        self.runs.insert(m.uuid.clone(), Active { run, stop });
    }

    /// Stops a mapping's pollers; their invocations finish on their own.
    fn halt(&mut self, uuid: &str) {
        if let Some(a) = self.runs.remove(uuid) {
            let _ = a.stop.send(true);
            tracing::info!(mapping = %uuid, "stopped polling");
        }
    }
}

fn lease_name(uuid: &str) -> String {
    format!("sqs-mapping:{uuid}")
}
