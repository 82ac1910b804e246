//! The executor: runs a resolved, immutable function configuration ([`RunSpec`]) in
//! execution environments. It owns the environments (`env`), the warm pool (`pool`),
//! the invoke path (`invoke`), admission against concurrency (`admission`), the
//! environments of provisioned concurrency (`provisioned`), the function's output and
//! its log lines (`output`, `logs`) and the unpacking of code (`code`).
//!
//! It knows nothing of aliases, version lookup or the store's metadata: the control
//! plane (`crate::control`) resolves a reference to a [`RunSpec`], owns the records,
//! and tells the executor what to retire ([`Retire`]) when they change.

mod admission;
mod aws_api;
mod code;
mod discard;
mod ending;
mod env;
mod in_flight;
mod invoke;
mod logs;
mod output;
mod platform_log;
mod pool;
mod provisioned;
mod spec;
mod telemetry;
mod usage;

use std::sync::Arc;
use std::time::Duration;

use hearth_runtimes::Catalog;
use hearth_sandbox::Sandbox;
use hearth_store::{CodeStore, Writer};

pub(crate) use admission::{Admission, FleetTokens};
pub use aws_api::{
    CredentialIssuer, EnvCredentials, FunctionApi, ENVIRONMENT_MAX_AGE, FUNCTION_API_LIMITS,
};
pub(crate) use code::CodeFailure;
pub use invoke::{trace_id, InvokeRequest, InvokeResponse};
pub use logs::billed_ms;
pub use output::LogLimits;
pub(crate) use pool::key as pool_key;
pub(crate) use provisioned::{status_reason, AllocationView, Wanted};
pub(crate) use spec::{environment_key, RunSpec};

/// What the executor needs to run environments, given once when the engine is built.
pub(crate) struct Parts {
    pub code: Arc<dyn CodeStore>,
    pub catalog: Catalog,
    pub sandbox: Arc<dyn Sandbox>,
    /// Where environments' log lines go (shared with the control plane and the queue).
    pub writer: Writer,
    pub log_limits: LogLimits,
    pub admission: Admission,
    pub observer: crate::observe::ObserverHandle,
}

/// Environments that a change of the records makes stale, as the control plane names
/// them (see `crate::control::retire`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Retire {
    /// The warm environments of one version (`$LATEST` whose code or configuration
    /// changed, or a deleted version).
    Version { function: String, version: String },
    /// A provisioned-concurrency allocation and its environments (its configuration,
    /// its alias or its version deleted).
    Allocation { function: String, qualifier: String },
    /// Every environment of a deleted function, warm or provisioned.
    Function { function: String },
}

struct Inner {
    code: Arc<dyn CodeStore>,
    catalog: Catalog,
    sandbox: Arc<dyn Sandbox>,
    pool: pool::Pool,
    writer: Writer,
    log_limits: LogLimits,
    admission: Arc<Admission>,
    provisioned: provisioned::Provisioned,
    /// The live environments, for sampling their use of the host.
    usage: Arc<usage::Registry>,
    observer: crate::observe::ObserverHandle,
    /// Set by the server at start, taken at shutdown: the router it holds holds the
    /// engine, and that cycle would otherwise keep both alive.
    function_api: std::sync::RwLock<Option<FunctionApi>>,
    /// The shutdown phases of environments with extensions, under way.
    phases: Arc<env::ShutdownPhases>,
    /// Retired and expired environments, dropped off the tokio workers.
    discard: discard::Discard,
}

/// Cheap to clone; every clone is the same executor.
#[derive(Clone)]
pub(crate) struct Executor {
    inner: Arc<Inner>,
}

impl Executor {
    /// An executor with no environments; `idle_ttl` is how long an idle one is kept.
    /// Must be called inside the tokio runtime (it starts the idle reaper).
    pub(crate) fn new(parts: Parts, idle_ttl: Duration) -> Self {
        let executor = Self {
            inner: Arc::new(Inner {
                code: parts.code,
                catalog: parts.catalog,
                sandbox: parts.sandbox,
                pool: pool::Pool::default(),
                writer: parts.writer,
                log_limits: parts.log_limits,
                admission: Arc::new(parts.admission),
                provisioned: provisioned::Provisioned::default(),
                usage: Arc::default(),
                observer: parts.observer,
                function_api: std::sync::RwLock::new(None),
                phases: Arc::default(),
                discard: discard::Discard::default(),
            }),
        };
        executor.spawn_reaper(idle_ttl);
        executor
    }

    pub(crate) fn set_function_api(&self, api: Option<FunctionApi>) {
        match self.inner.function_api.write() {
            Ok(mut slot) => *slot = api,
            Err(poisoned) => *poisoned.into_inner() = api,
        }
    }

    /// What environments started now are given to reach Hearth's AWS API.
    pub(crate) fn function_api(&self) -> Option<FunctionApi> {
        match self.inner.function_api.read() {
            Ok(slot) => slot.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub(crate) fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    pub(crate) fn sandbox_name(&self) -> &'static str {
        self.inner.sandbox.name()
    }

    pub(crate) fn enforces_egress(&self) -> bool {
        self.inner.sandbox.enforces_egress()
    }

    /// The reservations and busy environments invocations are admitted against.
    pub(crate) fn admission(&self) -> &Admission {
        &self.inner.admission
    }

    /// The same, shared (for the heartbeat task that renews the node's tokens).
    pub(crate) fn admission_handle(&self) -> Arc<Admission> {
        self.inner.admission.clone()
    }

    /// Makes every idle provisioned environment `by` older (tests of the age limit).
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn age_provisioned(&self, by: Duration) {
        self.inner.provisioned.age(by);
    }

    /// Number of warm environments waiting for work.
    pub(crate) fn idle_environments(&self) -> usize {
        self.inner.pool.idle_count()
    }

    /// This node's concurrency now (see [`crate::observe::Concurrency`]).
    pub(crate) fn concurrency(&self) -> crate::observe::Concurrency {
        let admission = &self.inner.admission;
        let mut functions: Vec<_> = admission
            .busy_by_function()
            .into_iter()
            .map(|(function, busy)| crate::observe::FunctionConcurrency {
                reserved: admission.reserved(&function),
                function,
                busy,
            })
            .collect();
        for (function, reserved) in admission.all_reserved() {
            if !functions.iter().any(|f| f.function == function) {
                functions.push(crate::observe::FunctionConcurrency {
                    function,
                    busy: 0,
                    reserved: Some(reserved),
                });
            }
        }
        functions.sort_by(|a, b| a.function.cmp(&b.function));
        let provisioned = self
            .allocations()
            .into_iter()
            .map(|a| crate::observe::ProvisionedConcurrency {
                busy: a.view.allocated - a.view.available,
                allocated: a.view.allocated,
                function: a.function,
                qualifier: a.qualifier,
            })
            .collect();
        crate::observe::Concurrency {
            functions,
            provisioned,
        }
    }

    /// Provisioned concurrency configured on this node now, per function version.
    pub(crate) fn provisioned_versions(&self) -> Vec<crate::observe::ProvisionedVersion> {
        self.inner.provisioned.configured()
    }

    /// Warm environments waiting for work, per function key.
    pub(crate) fn idle_by_function(&self) -> std::collections::HashMap<String, usize> {
        self.inner.pool.idle_by_function()
    }

    /// Stops what `retire` names: idle environments now, busy ones when their
    /// invocation ends.
    pub(crate) fn retire(&self, retire: &Retire) {
        let discard = &self.inner.discard;
        match retire {
            Retire::Version { function, version } => {
                discard.later(self.inner.pool.retire(&pool::key(function, version)))
            }
            Retire::Allocation {
                function,
                qualifier,
            } => discard.later(self.inner.provisioned.remove(function, qualifier)),
            Retire::Function { function } => {
                discard.later(self.inner.provisioned.remove_function(function));
                discard.later(self.inner.pool.retire_function(function));
            }
        }
    }

    /// Stops every idle environment, and waits for the shutdown phases of those with
    /// extensions (run in parallel, each bounded by its limit) and any already under way.
    pub(crate) async fn end_environments(&self) {
        drop(self.inner.pool.drain());
        drop(self.inner.provisioned.drain());
        self.inner.discard.finished().await;
        self.inner.phases.finished().await;
    }

    /// The shutdown phases of environments with extensions under way.
    pub(crate) fn shutdown_phases(&self) -> &env::ShutdownPhases {
        &self.inner.phases
    }

    /// Stops every idle environment (busy ones stop when their invocation is dropped)
    /// and waits for the sandbox to have removed them.
    pub(crate) fn shutdown(&self) {
        self.set_function_api(None);
        drop(self.inner.pool.drain());
        drop(self.inner.provisioned.drain());
        self.inner.discard.wait_blocking(Duration::from_secs(5));
        if let Err(e) = self.inner.writer.flush_blocking() {
            tracing::error!(error = %e, "invocation logs not written at shutdown");
        }
        self.inner.sandbox.shutdown();
    }

    /// Reclaims environments idle for longer than the TTL.
    fn spawn_reaper(&self, ttl: Duration) {
        let weak = Arc::downgrade(&self.inner);
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
                inner.discard.later(gone);
                // Provisioned environments are never reclaimed for idleness, but one at
                // the age limit is replaced before its credentials expire.
                let aged = inner.provisioned.take_aged();
                let executor = Executor { inner };
                for (function, env) in aged {
                    tracing::debug!(
                        function,
                        "replacing a provisioned environment at its age limit"
                    );
                    executor.release_provisioned(&function, env, false);
                }
            }
        });
    }
}
