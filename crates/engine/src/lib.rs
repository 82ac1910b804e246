//! Hearth's engine, in two parts behind one façade ([`Engine`]):
//! - the control plane (`control`): the records (functions and their lifecycle and
//!   states, versions, aliases, concurrency configurations, event invoke configurations,
//!   log groups), the registry caching them, and the resolution of a reference to the
//!   run spec of what an invocation runs;
//! - the executor (`executor`): execution environments (cold start, init, warm reuse,
//!   idle reclaim, timeouts, crashes) started from the runtime catalogue of
//!   `hearth-runtimes`, admission, provisioned environments, and the invoke path with
//!   its log records. It runs a resolved run spec and retires what the control plane
//!   names; it never reads the records.

mod changes;
mod control;
pub mod error;
mod executor;
pub mod fleet;
pub mod observe;
pub mod placement;
mod stream;
/// What tests build: engines over temporary stores, a function, a poller (the `testing`
/// feature).
#[cfg(any(test, feature = "testing"))]
pub mod testing;

use std::sync::Arc;
use std::time::Duration;

use hearth_sandbox::Sandbox;
use hearth_store::{Store, Writer};

pub use changes::{AliasChange, CodeChange, ConfigChange, NewAlias, NewFunction, NewVersion};
pub use control::{
    dead_letters_refused, AccountSettings, EgressView, IamError, Inserted, InvokePath, LayerCaller,
    LayerVersionRef, Limit, NewLayerStatement, NewLayerVersion, NewRole, RetentionConfig,
    MAX_ATTACHED_POLICIES, MAX_FUNCTION_LAYERS, MAX_INLINE_POLICY_CHARS,
};
pub use error::{Conflict, EngineError, NotFound, Size, Throttle};
pub use executor::billed_ms;
pub use executor::{
    trace_id, CredentialIssuer, EnvCredentials, FunctionApi, InvokeRequest, InvokeResponse,
    LogLimits, ENVIRONMENT_MAX_AGE, FUNCTION_API_LIMITS,
};
pub use hearth_runtimes::Catalog;
/// The store's types that the engine's callers read and pass (log queries, the
/// retention CloudWatch accepts), so that they need not depend on the store.
pub use hearth_store::{
    Edited, KmsKeyInfo, LogEvent, LogGroupInfo, LogQuery, LogScan, LogStreamInfo, RETENTION_DAYS,
};
pub use stream::{StreamEnd, StreamError, StreamEvent, StreamTarget, StreamedInvoke};

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
    /// The egress policy of functions that set none.
    pub egress_default: hearth_model::egress::EgressPolicy,
    /// Whether execution roles are checked: a function's role must exist and trust
    /// Lambda, and what Lambda does with the role (sending to destinations) needs the
    /// role's permission. Off, roles are names only.
    pub check_roles: bool,
    /// Told about every invocation, throttle and environment start.
    pub observer: observe::ObserverHandle,
}

/// The control plane's state; the executor is its own part with its own state.
struct Inner {
    store: Store,
    /// Kept correct by the store's change notifications while `_follow` lives.
    registry: Arc<control::registry::Registry>,
    _follow: hearth_store::Subscription,
    /// Writes invocation logs (and the async queue's changes) in groups.
    writer: Writer,
    executor: executor::Executor,
    egress_default: hearth_model::egress::EgressPolicy,
    check_roles: bool,
    /// This node's part in the fleet, once it joined (`fleet.rs`).
    membership: std::sync::OnceLock<fleet::Membership>,
    /// Whether this node's heartbeats are current (see [`hearth_store::Standing`]).
    standing: hearth_store::Standing,
    /// Where this node stands among the live nodes, in a fleet on a shared store: what
    /// its share of provisioned concurrency is (`control/spread.rs`). `None`: every
    /// environment is this node's.
    share: std::sync::Mutex<Option<control::spread::Placement>>,
    /// Where synchronous invokes run in the fleet (`placement.rs`).
    placement: Arc<placement::Placement>,
    /// How many invocations this node runs at once at most (published for placement).
    max_concurrency: i64,
}

/// The engine: a façade over the control plane (`control`: the records and the
/// resolution of references) and the executor (`executor`: environments and the
/// invoke path). Cheap to clone; every clone is the same engine.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl Engine {
    /// Builds the engine, finishes any function changes a previous run left half done
    /// (functions still `Pending` or `InProgress`) and provisions the configured
    /// provisioned concurrency. Must be called inside the tokio runtime. Returns the
    /// engine (the control plane's handle) and the one [`InvokePath`] that runs functions.
    pub fn new(
        store: Store,
        catalog: Catalog,
        sandbox: Arc<dyn Sandbox>,
        config: EngineConfig,
    ) -> Result<(Self, InvokePath), hearth_store::StoreError> {
        let reserved = store.metadata().all_reserved()?;
        let writer = Writer::with_backlog(store.clone(), config.log_backlog)?;
        let registry = Arc::new(control::registry::Registry::default());
        let follow = store.metadata().subscribe(registry.follower());
        let executor = executor::Executor::new(
            executor::Parts {
                code: store.code_handle(),
                catalog,
                sandbox,
                writer: writer.clone(),
                log_limits: config.log_limits,
                admission: executor::Admission::new(config.account_concurrency, reserved),
                observer: config.observer.clone(),
            },
            config.idle_ttl,
        );
        let engine = Self {
            inner: Arc::new(Inner {
                store,
                registry,
                _follow: follow,
                writer,
                executor,
                egress_default: config.egress_default.clone(),
                check_roles: config.check_roles,
                membership: std::sync::OnceLock::new(),
                standing: hearth_store::Standing::new(),
                share: std::sync::Mutex::new(None),
                placement: Arc::default(),
                max_concurrency: config.account_concurrency,
            }),
        };
        engine.resume_pending();
        // On a shared store the node provisions its share once it has joined the fleet.
        if !engine.store().fleet().shared() {
            engine.resume_provisioned();
        }
        let path = InvokePath::new(engine.clone());
        Ok((engine, path))
    }

    /// Whether execution roles are checked ([`EngineConfig::check_roles`]).
    pub fn checks_roles(&self) -> bool {
        self.inner.check_roles
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
        self.inner.executor.catalog()
    }

    pub fn sandbox_name(&self) -> &'static str {
        self.inner.executor.sandbox_name()
    }

    /// Number of warm environments waiting for work.
    pub fn idle_environments(&self) -> usize {
        self.inner.executor.idle_environments()
    }

    /// Makes every idle provisioned environment `by` older, as if it had waited that long
    /// (tests of [`ENVIRONMENT_MAX_AGE`]).
    #[cfg(any(test, feature = "testing"))]
    pub fn age_provisioned(&self, by: Duration) {
        self.inner.executor.age_provisioned(by);
    }

    /// This node's concurrency now, per function and provisioned allocation.
    pub fn concurrency(&self) -> observe::Concurrency {
        self.inner.executor.concurrency()
    }

    /// What the live environments (and those that ended) used of the host since the
    /// last call, read now: the server's housekeeping calls it every few seconds. It
    /// reads a file or two per environment; never call it per invocation.
    pub fn sample_host_use(&self, now: std::time::Instant) -> Vec<observe::HostUse> {
        self.inner.executor.sample_host_use(now)
    }

    /// Provisioned concurrency configured on this node now, per function version.
    pub fn provisioned_versions(&self) -> Vec<observe::ProvisionedVersion> {
        self.inner.executor.provisioned_versions()
    }

    /// Warm on-demand environments waiting for work, per function key.
    pub fn idle_by_function(&self) -> std::collections::HashMap<String, usize> {
        self.inner.executor.idle_by_function()
    }

    /// Environments busy with an invocation, account-wide.
    pub fn busy_environments(&self) -> i64 {
        self.inner.executor.admission().busy()
    }

    /// Environments busy with an invocation, per function.
    pub fn busy_by_function(&self) -> std::collections::HashMap<String, i64> {
        self.inner.executor.admission().busy_by_function()
    }

    /// Gives environments started from now on Hearth's AWS API (`AWS_ENDPOINT_URL`); the
    /// server calls it once, before it serves. [`Self::shutdown`] takes it back.
    pub fn serve_api_to_functions(&self, api: FunctionApi) {
        self.inner.executor.set_function_api(Some(api));
    }

    /// Stops every idle environment and waits for the shutdown phases of those that
    /// registered extensions (SIGTERM to the runtime, SHUTDOWN to external extensions;
    /// docs/extensions.md), which run in parallel, each bounded by its limit (2,000 ms
    /// at most, then the kill). The server's stop calls it before [`Self::shutdown`].
    pub async fn end_environments(&self) {
        self.inner.executor.end_environments().await;
    }

    /// How many shutdown phases of environments with extensions are under way.
    pub fn shutdown_phases_running(&self) -> usize {
        self.inner.executor.shutdown_phases().running()
    }

    /// Stops every idle environment (busy ones stop when their invocation is dropped)
    /// and waits for the sandbox to have removed them.
    pub fn shutdown(&self) {
        self.inner.executor.shutdown();
    }
}
