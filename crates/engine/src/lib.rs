//! Hearth's engine: execution environments (cold start, init, warm reuse, idle reclaim,
//! timeouts, crashes) started from the runtime catalogue of `hearth-runtimes`, the invoke
//! path with its log records, and the function lifecycle behind the control plane
//! (create, update, delete, states).

mod admission;
mod changes;
mod code;
mod env;
pub mod error;
mod event_config;
mod functions;
mod invoke;
mod log_groups;
mod logs;
mod output;
mod pool;
mod provisioned;
mod registry;
mod versions;

use std::sync::Arc;
use std::time::Duration;

use hearth_sandbox::Sandbox;
use hearth_store::{Store, Writer};

pub use changes::{AliasChange, CodeChange, ConfigChange, NewAlias, NewFunction, NewVersion};
pub use error::{Conflict, EngineError, NotFound, Size, Throttle};
pub use functions::AccountSettings;
pub use hearth_runtimes::Catalog;
/// The store's types that the engine's callers read and pass (log queries, the
/// retention CloudWatch accepts), so that they need not depend on the store.
pub use hearth_store::{LogEvent, LogQuery, RETENTION_DAYS};
pub use invoke::{InvokeRequest, InvokeResponse};
pub use log_groups::RetentionConfig;
pub use output::LogLimits;

/// Settings of an engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How long an idle environment is kept warm.
    pub idle_ttl: Duration,
    /// The account's concurrency limit (Lambda's default is 1000).
    pub account_concurrency: i64,
    /// What one invocation and one idle period may store of a function's output.
    pub log_limits: LogLimits,
    /// Bytes of log lines that may wait for the store writer.
    pub log_backlog: usize,
}

struct Inner {
    store: Store,
    catalog: Catalog,
    sandbox: Arc<dyn Sandbox>,
    pool: pool::Pool,
    /// Kept correct by the store's change notifications while `_follow` lives.
    registry: Arc<registry::Registry>,
    _follow: hearth_store::Subscription,
    /// Writes invocation logs (and the async queue's changes) in groups.
    writer: Writer,
    admission: Arc<admission::Admission>,
    provisioned: provisioned::Provisioned,
    config: EngineConfig,
}

/// Cheap to clone; every clone is the same engine.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl Engine {
    /// Builds the engine, finishes any function changes a previous run left half done
    /// (functions still `Pending` or `InProgress`) and provisions the configured
    /// provisioned concurrency. Must be called inside the tokio runtime.
    pub fn new(
        store: Store,
        catalog: Catalog,
        sandbox: Arc<dyn Sandbox>,
        config: EngineConfig,
    ) -> Result<Self, hearth_store::StoreError> {
        let reserved = store.metadata().all_reserved()?;
        let writer = Writer::with_backlog(store.clone(), config.log_backlog)?;
        let registry = Arc::new(registry::Registry::default());
        let follow = store.metadata().subscribe(registry.follower());
        let engine = Self {
            inner: Arc::new(Inner {
                store,
                catalog,
                sandbox,
                pool: pool::Pool::default(),
                registry,
                _follow: follow,
                writer,
                admission: Arc::new(admission::Admission::new(
                    config.account_concurrency,
                    reserved,
                )),
                provisioned: provisioned::Provisioned::default(),
                config,
            }),
        };
        engine.resume_pending();
        engine.resume_provisioned();
        engine.spawn_reaper();
        Ok(engine)
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The store's writer, shared with the async queue: changes handed to it after an
    /// invocation's log lines are committed no earlier than those lines.
    pub fn writer(&self) -> &Writer {
        &self.inner.writer
    }

    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    pub fn sandbox_name(&self) -> &'static str {
        self.inner.sandbox.name()
    }

    /// Number of warm environments waiting for work.
    pub fn idle_environments(&self) -> usize {
        self.inner.pool.idle_count()
    }

    /// Environments busy with an invocation, account-wide.
    pub fn busy_environments(&self) -> i64 {
        self.inner.admission.busy()
    }

    /// Environments busy with an invocation, per function.
    pub fn busy_by_function(&self) -> std::collections::HashMap<String, i64> {
        self.inner.admission.busy_by_function()
    }

    /// Stops every idle environment (busy ones stop when their invocation is dropped)
    /// and waits for the sandbox to have removed them.
    pub fn shutdown(&self) {
        drop(self.inner.pool.drain());
        drop(self.inner.provisioned.drain());
        if let Err(e) = self.inner.writer.flush_blocking() {
            tracing::error!(error = %e, "invocation logs not written at shutdown");
        }
        self.inner.sandbox.shutdown();
    }

    /// Reclaims environments idle for longer than the TTL.
    fn spawn_reaper(&self) {
        let weak = Arc::downgrade(&self.inner);
        let ttl = self.inner.config.idle_ttl;
        let period = (ttl / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let gone = inner.pool.expired(ttl);
                if !gone.is_empty() {
                    tracing::debug!(count = gone.len(), "reclaiming idle environments");
                }
                drop(gone);
            }
        });
    }
}
