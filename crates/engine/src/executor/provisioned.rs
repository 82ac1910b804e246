//! Provisioned concurrency, the environments: initialised ahead for a version or alias
//! (`AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency`), kept out of the idle
//! reaper, and preferred by invocations of that qualifier; overflow runs on demand.
//! The configuration is a record of the control plane (`crate::control::provisioned`),
//! which resolves what it wants into [`Wanted`] run specs and hands them here.
//!
//! An allocation is a generation: changing or deleting the configuration (or the alias
//! it names) starts a new generation, and environments of an older one are dropped when
//! they come back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::env::{Environment, Origin};
use super::invoke::StartError;
use super::{Executor, RunSpec};
use crate::error::{EngineError, NotFound};

/// At most this many provisioned environments start at once per configuration.
const PARALLEL_STARTS: usize = 4;

/// Environments wanted of one version for an allocation.
#[derive(Debug, Clone)]
pub(crate) struct Wanted {
    pub version: String,
    pub count: i64,
    /// What they run, or why the version could not be resolved (the allocation fails
    /// with that reason).
    pub spec: Result<Arc<RunSpec>, String>,
}

/// How far an allocation has come, for `GetProvisionedConcurrencyConfig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AllocationView {
    /// Environments of the current generation alive, idle or busy.
    pub allocated: i64,
    /// Of those, idle.
    pub available: i64,
    /// Environments wanted over every version.
    pub wanted: i64,
    pub failure: Option<String>,
}

/// One allocation on this node, as the fleet's spread reads it (`control/spread.rs`).
#[derive(Debug, Clone)]
pub(crate) struct AllocationEntry {
    pub function: String,
    pub qualifier: String,
    pub view: AllocationView,
    /// The environments it wants, per version.
    pub plan: Vec<(String, i64)>,
}

struct Alloc {
    generation: u64,
    targets: Vec<Wanted>,
    idle: Vec<Environment>,
    /// Environments of this generation alive (idle or busy).
    allocated: i64,
    failure: Option<String>,
}

type Key = (String, String);

fn key(function: &str, qualifier: &str) -> Key {
    (function.to_string(), qualifier.to_string())
}

#[derive(Default)]
pub(crate) struct Provisioned {
    allocs: Mutex<HashMap<Key, Alloc>>,
    next_generation: AtomicU64,
}

impl Provisioned {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Alloc>> {
        self.allocs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An idle provisioned environment of `function` at `qualifier` running `version`,
    /// never one past its age limit (its credentials are about to expire).
    pub(crate) fn take(
        &self,
        function: &str,
        qualifier: &str,
        version: &str,
    ) -> Option<Environment> {
        let mut allocs = self.lock();
        let alloc = allocs.get_mut(&key(function, qualifier))?;
        let i = alloc
            .idle
            .iter()
            .rposition(|e| e.version == version && !e.past_max_age())?;
        Some(alloc.idle.swap_remove(i))
    }

    /// Whether an invocation of `function` at `qualifier` that runs on demand spills
    /// over: the qualifier has provisioned environments allocated (all busy, or it would
    /// have taken one).
    pub(crate) fn spills(&self, function: &str, qualifier: &str) -> bool {
        self.lock()
            .get(&key(function, qualifier))
            .is_some_and(|a| a.allocated > 0)
    }

    /// Takes every idle environment past its age limit out of its allocation, with its
    /// function, to be replaced.
    pub(crate) fn take_aged(&self) -> Vec<(String, Environment)> {
        let mut aged = Vec::new();
        for ((function, _), alloc) in self.lock().iter_mut() {
            let (old, young) = std::mem::take(&mut alloc.idle)
                .into_iter()
                .partition::<Vec<_>, _>(Environment::past_max_age);
            alloc.idle = young;
            aged.extend(old.into_iter().map(|e| (function.clone(), e)));
        }
        aged
    }

    /// Makes every idle environment `by` older (tests of the age limit).
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn age(&self, by: std::time::Duration) {
        for alloc in self.lock().values_mut() {
            for env in &mut alloc.idle {
                env.born = env.born.checked_sub(by).unwrap_or(env.born);
            }
        }
    }

    /// Whether `generation` is the current one of its allocation.
    fn is_current(&self, function: &str, qualifier: &str, generation: u64) -> bool {
        self.lock()
            .get(&key(function, qualifier))
            .is_some_and(|a| a.generation == generation)
    }

    /// Takes an environment back after an invocation; one of an older generation is
    /// handed back to be dropped.
    fn give_back(&self, function: &str, env: Environment) -> Option<Environment> {
        let Origin::Provisioned {
            qualifier,
            generation,
        } = &env.origin
        else {
            return Some(env);
        };
        let mut allocs = self.lock();
        match allocs.get_mut(&key(function, qualifier)) {
            Some(a) if a.generation == *generation => {
                a.idle.push(env);
                None
            }
            _ => Some(env),
        }
    }

    /// Adds a started environment to its generation; handed back to be dropped if the
    /// generation is no longer current.
    fn add(&self, function: &str, qualifier: &str, env: Environment) -> Option<Environment> {
        let Origin::Provisioned { generation, .. } = env.origin else {
            return Some(env);
        };
        let mut allocs = self.lock();
        match allocs.get_mut(&key(function, qualifier)) {
            Some(a) if a.generation == generation => {
                a.allocated += 1;
                a.idle.push(env);
                None
            }
            _ => Some(env),
        }
    }

    /// Forgets one environment of a generation; what it ran, if it should be replaced.
    fn lost(
        &self,
        function: &str,
        qualifier: &str,
        generation: u64,
        version: &str,
    ) -> Option<Arc<RunSpec>> {
        let mut allocs = self.lock();
        match allocs.get_mut(&key(function, qualifier)) {
            Some(a) if a.generation == generation => {
                a.allocated -= 1;
                a.targets
                    .iter()
                    .find(|w| w.version == version)
                    .and_then(|w| w.spec.clone().ok())
            }
            _ => None,
        }
    }

    /// Records why a generation's allocation stopped.
    fn fail(&self, function: &str, qualifier: &str, generation: u64, reason: String) {
        tracing::warn!(function, qualifier, %reason, "provisioned concurrency failed");
        if let Some(a) = self
            .lock()
            .get_mut(&key(function, qualifier))
            .filter(|a| a.generation == generation)
        {
            a.failure = Some(reason);
        }
    }

    /// Removes one allocation; its idle environments are returned.
    pub(crate) fn remove(&self, function: &str, qualifier: &str) -> Vec<Environment> {
        self.lock()
            .remove(&key(function, qualifier))
            .map(|a| a.idle)
            .unwrap_or_default()
    }

    /// Removes every allocation (shutdown); the idle environments are returned.
    pub(crate) fn drain(&self) -> Vec<Environment> {
        self.lock().drain().flat_map(|(_, a)| a.idle).collect()
    }

    /// Removes every allocation of `function` (its idle environments are returned).
    pub(crate) fn remove_function(&self, function: &str) -> Vec<Environment> {
        let mut allocs = self.lock();
        let keys: Vec<_> = allocs
            .keys()
            .filter(|(f, _)| f == function)
            .cloned()
            .collect();
        keys.iter()
            .flat_map(|k| allocs.remove(k).map(|a| a.idle).unwrap_or_default())
            .collect()
    }

    /// Every allocation, in function and qualifier order.
    fn all(&self) -> Vec<AllocationEntry> {
        let allocs = self.lock();
        let mut out: Vec<_> = allocs
            .iter()
            .map(|((f, q), a)| AllocationEntry {
                function: f.clone(),
                qualifier: q.clone(),
                view: AllocationView {
                    allocated: a.allocated,
                    available: a.idle.len() as i64,
                    wanted: a.targets.iter().map(|t| t.count).sum(),
                    failure: a.failure.clone(),
                },
                plan: a
                    .targets
                    .iter()
                    .map(|t| (t.version.clone(), t.count))
                    .collect(),
            })
            .collect();
        out.sort_by(|a, b| (&a.function, &a.qualifier).cmp(&(&b.function, &b.qualifier)));
        out
    }

    /// Environments configured per function version, over every allocation (two
    /// aliases on one version are two configurations, billed each), for as long as the
    /// configuration stands: a version that could not be resolved runs nothing.
    pub(crate) fn configured(&self) -> Vec<crate::observe::ProvisionedVersion> {
        let allocs = self.lock();
        let mut out: Vec<crate::observe::ProvisionedVersion> = Vec::new();
        for ((function, _), a) in allocs.iter() {
            for t in a.targets.iter().filter(|t| t.count > 0) {
                let Ok(spec) = &t.spec else { continue };
                let same = out.iter_mut().find(|p| {
                    p.function == *function
                        && p.version == t.version
                        && p.memory_mb == spec.memory_mb
                        && p.ephemeral_storage_mb == spec.ephemeral_storage_mb
                        && p.architecture == spec.architecture
                });
                match same {
                    Some(p) => p.environments += t.count,
                    None => out.push(crate::observe::ProvisionedVersion {
                        function: function.clone(),
                        version: t.version.clone(),
                        environments: t.count,
                        memory_mb: spec.memory_mb,
                        ephemeral_storage_mb: spec.ephemeral_storage_mb,
                        architecture: spec.architecture.clone(),
                    }),
                }
            }
        }
        out.sort_by(|a, b| (&a.function, &a.version).cmp(&(&b.function, &b.version)));
        out
    }

    fn view(&self, function: &str, qualifier: &str) -> Option<AllocationView> {
        let allocs = self.lock();
        let a = allocs.get(&key(function, qualifier))?;
        Some(AllocationView {
            allocated: a.allocated,
            available: a.idle.len() as i64,
            wanted: a.targets.iter().map(|t| t.count).sum(),
            failure: a.failure.clone(),
        })
    }
}

/// What an allocation that failed on `e` reports in `StatusReason`: the client's
/// message for its mistakes, little for Hearth's own failures (logged in full).
pub(crate) fn status_reason(e: EngineError) -> String {
    match e {
        EngineError::CodeUnusable(m) => m,
        EngineError::NotFound(NotFound::Function { arn }) => format!("Function not found: {arn}"),
        other => {
            tracing::error!(error = %other, "provisioned concurrency could not be allocated");
            "An internal error occurred in Hearth; see the server log.".into()
        }
    }
}

impl Executor {
    /// Starts a new generation of the allocation of `function` at `qualifier`: the
    /// environments `targets` want, started by background tasks. The previous
    /// generation's idle environments are dropped.
    pub(crate) fn allocate(&self, function: &str, qualifier: &str, targets: Vec<Wanted>) {
        let provisioned = &self.inner.provisioned;
        let generation = provisioned.next_generation.fetch_add(1, Ordering::Relaxed);
        let old = provisioned.lock().insert(
            key(function, qualifier),
            Alloc {
                generation,
                targets: targets.clone(),
                idle: Vec::new(),
                allocated: 0,
                failure: None,
            },
        );
        drop(old);
        for wanted in targets {
            let executor = self.clone();
            let (function, qualifier) = (function.to_string(), qualifier.to_string());
            tokio::spawn(async move {
                executor
                    .fill(&function, &qualifier, wanted, generation)
                    .await
            });
        }
    }

    /// How far the allocation of `function` at `qualifier` has come; `None` when there
    /// is none.
    pub(crate) fn allocation(&self, function: &str, qualifier: &str) -> Option<AllocationView> {
        self.inner.provisioned.view(function, qualifier)
    }

    /// Every allocation on this node: function, qualifier, how far it came, and the
    /// environments it wants per version.
    pub(crate) fn allocations(&self) -> Vec<AllocationEntry> {
        self.inner.provisioned.all()
    }

    /// Starts the environments one [`Wanted`] asks for, a few at a time.
    async fn fill(&self, function: &str, qualifier: &str, wanted: Wanted, generation: u64) {
        let spec = match wanted.spec {
            Ok(spec) => spec,
            Err(reason) => {
                if self
                    .inner
                    .provisioned
                    .is_current(function, qualifier, generation)
                {
                    self.inner
                        .provisioned
                        .fail(function, qualifier, generation, reason);
                }
                return;
            }
        };
        let mut left = wanted.count;
        while left > 0 {
            let batch = left.min(PARALLEL_STARTS as i64);
            left -= batch;
            let mut starts = tokio::task::JoinSet::new();
            for _ in 0..batch {
                let executor = self.clone();
                let (f, q, spec) = (function.to_string(), qualifier.to_string(), spec.clone());
                starts.spawn(
                    async move { executor.start_provisioned(&f, &q, &spec, generation).await },
                );
            }
            let mut go_on = true;
            while let Some(ok) = starts.join_next().await {
                go_on &= ok.unwrap_or(false);
            }
            if !go_on {
                return;
            }
        }
    }

    /// Starts one provisioned environment; false if the allocation should stop.
    async fn start_provisioned(
        &self,
        function: &str,
        qualifier: &str,
        spec: &RunSpec,
        generation: u64,
    ) -> bool {
        let provisioned = &self.inner.provisioned;
        if !provisioned.is_current(function, qualifier, generation) {
            return false;
        }
        let origin = Origin::Provisioned {
            qualifier: qualifier.to_string(),
            generation,
        };
        let request_id = uuid::Uuid::new_v4().to_string();
        let reason = match self.start_environment(spec, &request_id, origin).await {
            Ok(mut env) => {
                // Init happened ahead (its lines are logged already): no invocation on
                // this environment reports an Init Duration.
                env.init_duration = None;
                return provisioned.add(function, qualifier, env).is_none();
            }
            // The version was deleted since it was looked up: its allocation goes too.
            Err(StartError::CodeGone) => return false,
            Err(StartError::Code(e)) => status_reason(e),
            Err(StartError::Init(failure)) => {
                if !failure.logged {
                    self.submit_logs(&spec.function, &failure.stream, &failure.lines)
                        .await;
                }
                failure.platform.unwrap_or_else(|| {
                    format!(
                        "FUNCTION_ERROR_INIT_FAILURE: {}",
                        String::from_utf8_lossy(&failure.body)
                    )
                })
            }
        };
        provisioned.fail(function, qualifier, generation, reason);
        false
    }

    /// After an invocation on a provisioned environment: back to its allocation, or,
    /// if it can no longer serve, a replacement is started.
    pub(crate) fn release_provisioned(&self, function: &str, env: Environment, healthy: bool) {
        let Origin::Provisioned {
            qualifier,
            generation,
        } = env.origin.clone()
        else {
            return;
        };
        // One at the age limit is replaced like a broken one: its credentials expire soon.
        if healthy && !env.past_max_age() {
            drop(self.inner.provisioned.give_back(function, env));
            return;
        }
        let version = env.version.clone();
        drop(env);
        if let Some(spec) = self
            .inner
            .provisioned
            .lost(function, &qualifier, generation, &version)
        {
            let executor = self.clone();
            let function = function.to_string();
            tokio::spawn(async move {
                executor
                    .start_provisioned(&function, &qualifier, &spec, generation)
                    .await
            });
        }
    }
}
