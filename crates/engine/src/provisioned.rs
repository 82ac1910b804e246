//! Provisioned concurrency: environments initialised ahead for a version or alias
//! (`AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency`), kept out of the idle
//! reaper, and preferred by invocations of that qualifier; overflow runs on demand.
//!
//! A configuration's allocation is a generation: changing or deleting the
//! configuration (or the alias it names) starts a new generation, and environments of
//! an older one are dropped when they come back.

use std::collections::HashMap;
use std::sync::Mutex;

use hearth_model::alias::is_version_number;
use hearth_model::arn::{function_arn, LATEST};
use hearth_model::concurrency::{
    ProvisionedConcurrencyConfig, ProvisionedConfig, ProvisionedStatus,
};
use hearth_model::FunctionRef;

use crate::env::{Environment, Origin};
use crate::error::{EngineError, NotFound};
use crate::invoke::StartError;
use crate::Engine;

/// At most this many provisioned environments start at once per configuration.
const PARALLEL_STARTS: usize = 4;

struct Alloc {
    generation: u64,
    /// Environments wanted per version.
    targets: Vec<(String, i64)>,
    idle: Vec<Environment>,
    /// Environments of this generation alive (idle or busy).
    allocated: i64,
    failure: Option<String>,
}

#[derive(Default)]
pub(crate) struct Provisioned {
    allocs: Mutex<HashMap<(String, String), Alloc>>,
    next_generation: std::sync::atomic::AtomicU64,
}

impl Provisioned {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Alloc>> {
        self.allocs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An idle provisioned environment of `function` at `qualifier` running `version`.
    pub(crate) fn take(
        &self,
        function: &str,
        qualifier: &str,
        version: &str,
    ) -> Option<Environment> {
        let mut allocs = self.lock();
        let alloc = allocs.get_mut(&(function.to_string(), qualifier.to_string()))?;
        let i = alloc.idle.iter().rposition(|e| e.version == version)?;
        Some(alloc.idle.swap_remove(i))
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
        match allocs.get_mut(&(function.to_string(), qualifier.clone())) {
            Some(a) if a.generation == *generation => {
                a.idle.push(env);
                None
            }
            _ => Some(env),
        }
    }

    /// Forgets one environment of a generation; true if it should be replaced.
    fn lost(&self, function: &str, qualifier: &str, generation: u64) -> bool {
        let mut allocs = self.lock();
        match allocs.get_mut(&(function.to_string(), qualifier.to_string())) {
            Some(a) if a.generation == generation => {
                a.allocated -= 1;
                true
            }
            _ => false,
        }
    }

    /// Removes every allocation (shutdown); the idle environments are returned.
    pub(crate) fn drain(&self) -> Vec<Environment> {
        self.lock().drain().flat_map(|(_, a)| a.idle).collect()
    }

    /// Removes every allocation of `function` (its idle environments are returned).
    fn remove_function(&self, function: &str) -> Vec<Environment> {
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
}

/// What an allocation that failed on `e` reports in `StatusReason`: the client's
/// message for its mistakes, little for Hearth's own failures (logged in full).
fn status_reason(e: EngineError) -> String {
    match e {
        EngineError::CodeUnusable(m) => m,
        EngineError::NotFound(NotFound::Function { arn }) => format!("Function not found: {arn}"),
        other => {
            tracing::error!(error = %other, "provisioned concurrency could not be allocated");
            "An internal error occurred in Hearth; see the server log.".into()
        }
    }
}

impl Engine {
    /// Validates and stores a provisioned-concurrency request, then allocates it in the
    /// background (Status `IN_PROGRESS`, then `READY`).
    pub fn put_provisioned(
        &self,
        r: &FunctionRef,
        requested: i64,
    ) -> Result<ProvisionedConcurrencyConfig, EngineError> {
        let qualifier = self.provisioned_qualifier(r)?;
        let others = self.provisioned_total(&r.name, Some(&qualifier))?;
        match self.inner.admission.reserved(&r.name) {
            Some(reserved) if others + requested > reserved => {
                return Err(EngineError::Invalid(format!(
                    "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function ({reserved})."
                )))
            }
            Some(_) => {}
            None => {
                let room = self.inner.admission.unreserved_limit() - hearth_model::limits::UNRESERVED_MIN;
                if others + requested > room {
                    return Err(EngineError::Invalid(format!(
                        "Specified ConcurrentExecutions for function is greater than account's unreserved concurrency less its minimum of {} ({room}).",
                        hearth_model::limits::UNRESERVED_MIN
                    )));
                }
            }
        }
        let config = ProvisionedConfig {
            function: r.name.clone(),
            qualifier: qualifier.clone(),
            requested,
            last_modified: crate::functions::now_stamp(),
        };
        self.inner.store.metadata().put_provisioned(&config)?;
        self.allocate(&r.name, &qualifier)?;
        Ok(self.provisioned_view(&config, false))
    }

    /// The qualifier of a provisioned-concurrency request: an existing version or alias.
    fn provisioned_qualifier(&self, r: &FunctionRef) -> Result<String, EngineError> {
        let Some(q) = r.qualifier.clone() else {
            return Err(EngineError::MissingMember("qualifier"));
        };
        if q == LATEST {
            return Err(EngineError::Invalid(
                "Provisioned Concurrency Configs cannot be applied to unpublished function versions.".into(),
            ));
        }
        let entry = self.entry(r)?;
        let exists = if is_version_number(&q) {
            entry.versions.contains_key(&q)
        } else {
            entry.aliases.contains_key(&q)
        };
        if !exists {
            return Err(EngineError::function_not_found(function_arn(
                &r.name,
                Some(&q),
            )));
        }
        if let Some(a) = entry.aliases.get(&q) {
            if a.function_version == LATEST {
                return Err(EngineError::Invalid(
                    "Provisioned Concurrency Configs cannot be applied to unpublished function versions.".into(),
                ));
            }
        }
        Ok(q)
    }

    pub fn get_provisioned(
        &self,
        r: &FunctionRef,
    ) -> Result<ProvisionedConcurrencyConfig, EngineError> {
        let q = self.existing_qualifier(r)?;
        let config = self
            .inner
            .store
            .metadata()
            .get_provisioned(&r.name, &q)?
            .ok_or_else(|| NotFound::ProvisionedConfig {
                arn: function_arn(&r.name, Some(&q)),
            })?;
        Ok(self.provisioned_view(&config, false))
    }

    pub fn list_provisioned(
        &self,
        r: &FunctionRef,
    ) -> Result<Vec<ProvisionedConcurrencyConfig>, EngineError> {
        self.function_entry(&r.name)?;
        Ok(self
            .inner
            .store
            .metadata()
            .list_provisioned(Some(&r.name))?
            .iter()
            .map(|c| self.provisioned_view(c, true))
            .collect())
    }

    /// Provisioned concurrency requested for `function`, leaving out `except`'s.
    pub(crate) fn provisioned_total(
        &self,
        function: &str,
        except: Option<&str>,
    ) -> Result<i64, EngineError> {
        Ok(self
            .inner
            .store
            .metadata()
            .list_provisioned(Some(function))?
            .iter()
            .filter(|c| Some(c.qualifier.as_str()) != except)
            .map(|c| c.requested)
            .sum())
    }

    pub fn delete_provisioned(&self, r: &FunctionRef) -> Result<(), EngineError> {
        let q = self.existing_qualifier(r)?;
        self.drop_provisioned(&r.name, &q)
    }

    /// The qualifier Get/DeleteProvisionedConcurrencyConfig require, of an existing
    /// function.
    fn existing_qualifier(&self, r: &FunctionRef) -> Result<String, EngineError> {
        self.entry(r)?;
        r.qualifier
            .clone()
            .ok_or(EngineError::MissingMember("qualifier"))
    }

    /// Removes a configuration and its environments (no error if there was none).
    pub(crate) fn drop_provisioned(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<(), EngineError> {
        self.inner
            .store
            .metadata()
            .delete_provisioned(function, qualifier)?;
        let gone = self
            .inner
            .provisioned
            .lock()
            .remove(&(function.to_string(), qualifier.to_string()));
        drop(gone);
        Ok(())
    }

    /// Drops every provisioned environment of a deleted function.
    pub(crate) fn drop_function_provisioned(&self, function: &str) {
        drop(self.inner.provisioned.remove_function(function));
    }

    /// Re-allocates the configuration on an alias whose versions changed.
    pub(crate) fn reprovision(&self, function: &str, qualifier: &str) {
        match self
            .inner
            .store
            .metadata()
            .get_provisioned(function, qualifier)
        {
            Ok(Some(_)) => {
                if let Err(e) = self.allocate(function, qualifier) {
                    tracing::warn!(function, qualifier, error = %e, "could not re-provision");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(function, qualifier, error = %e, "could not re-provision"),
        }
    }

    /// Allocates every stored configuration (at start-up).
    pub(crate) fn resume_provisioned(&self) {
        match self.inner.store.metadata().list_provisioned(None) {
            Ok(all) => {
                for c in all {
                    if let Err(e) = self.allocate(&c.function, &c.qualifier) {
                        tracing::warn!(function = %c.function, qualifier = %c.qualifier, error = %e, "could not provision");
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "could not read provisioned concurrency at start-up")
            }
        }
    }

    /// Starts a new generation for a configuration: what it wants per version, and
    /// tasks starting those environments.
    fn allocate(&self, function: &str, qualifier: &str) -> Result<(), EngineError> {
        let Some(config) = self
            .inner
            .store
            .metadata()
            .get_provisioned(function, qualifier)?
        else {
            return Ok(());
        };
        let entry = self.function_entry(function)?;
        let targets = match entry.aliases.get(qualifier) {
            None => vec![(qualifier.to_string(), config.requested)],
            Some(a) => split(config.requested, &a.function_version, &a.additional_weights),
        };
        let generation = self
            .inner
            .provisioned
            .next_generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let old = self.inner.provisioned.lock().insert(
            (function.to_string(), qualifier.to_string()),
            Alloc {
                generation,
                targets: targets.clone(),
                idle: Vec::new(),
                allocated: 0,
                failure: None,
            },
        );
        drop(old);
        for (version, count) in targets {
            let engine = self.clone();
            let (function, qualifier) = (function.to_string(), qualifier.to_string());
            tokio::spawn(async move {
                engine
                    .fill(&function, &qualifier, &version, count, generation)
                    .await
            });
        }
        Ok(())
    }

    /// Starts `count` environments of one version for a generation, a few at a time.
    async fn fill(
        &self,
        function: &str,
        qualifier: &str,
        version: &str,
        count: i64,
        generation: u64,
    ) {
        let mut left = count;
        while left > 0 {
            let batch = left.min(PARALLEL_STARTS as i64);
            left -= batch;
            let mut starts = tokio::task::JoinSet::new();
            for _ in 0..batch {
                let engine = self.clone();
                let (f, q, v) = (
                    function.to_string(),
                    qualifier.to_string(),
                    version.to_string(),
                );
                starts.spawn(async move { engine.start_provisioned(&f, &q, &v, generation).await });
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
        version: &str,
        generation: u64,
    ) -> bool {
        let current = |p: &Provisioned| {
            p.lock()
                .get(&(function.to_string(), qualifier.to_string()))
                .is_some_and(|a| a.generation == generation)
        };
        if !current(&self.inner.provisioned) {
            return false;
        }
        let f = match self.get_function(&FunctionRef {
            name: function.to_string(),
            qualifier: Some(version.to_string()),
        }) {
            Ok(f) => f,
            Err(e) => {
                return self.provisioning_failed(function, qualifier, generation, status_reason(e))
            }
        };
        let origin = Origin::Provisioned {
            qualifier: qualifier.to_string(),
            generation,
        };
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut env = match self.start_environment(&f, &request_id, origin).await {
            Ok(env) => env,
            // The version was deleted since it was looked up: its allocation goes too.
            Err(StartError::CodeGone) => return false,
            Err(StartError::Code(e)) => {
                return self.provisioning_failed(function, qualifier, generation, status_reason(e))
            }
            Err(StartError::Init(failure)) => {
                if !failure.logged {
                    self.submit_logs(&f.name, &failure.stream, &failure.lines)
                        .await;
                }
                let reason = failure.platform.unwrap_or_else(|| {
                    format!(
                        "FUNCTION_ERROR_INIT_FAILURE: {}",
                        String::from_utf8_lossy(&failure.body)
                    )
                });
                return self.provisioning_failed(function, qualifier, generation, reason);
            }
        };
        // Init happened ahead (its lines are logged already): no invocation on this
        // environment reports an Init Duration.
        env.init_duration = None;
        let mut allocs = self.inner.provisioned.lock();
        match allocs.get_mut(&(function.to_string(), qualifier.to_string())) {
            Some(a) if a.generation == generation => {
                a.allocated += 1;
                a.idle.push(env);
                true
            }
            _ => {
                drop(allocs);
                false
            }
        }
    }

    fn provisioning_failed(
        &self,
        function: &str,
        qualifier: &str,
        generation: u64,
        reason: String,
    ) -> bool {
        tracing::warn!(function, qualifier, %reason, "provisioned concurrency failed");
        if let Some(a) = self
            .inner
            .provisioned
            .lock()
            .get_mut(&(function.to_string(), qualifier.to_string()))
            .filter(|a| a.generation == generation)
        {
            a.failure = Some(reason);
        }
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
        if healthy {
            drop(self.inner.provisioned.give_back(function, env));
            return;
        }
        let version = env.version.clone();
        drop(env);
        if self
            .inner
            .provisioned
            .lost(function, &qualifier, generation)
        {
            let engine = self.clone();
            let function = function.to_string();
            tokio::spawn(async move {
                engine
                    .start_provisioned(&function, &qualifier, &version, generation)
                    .await
            });
        }
    }

    fn provisioned_view(
        &self,
        c: &ProvisionedConfig,
        with_arn: bool,
    ) -> ProvisionedConcurrencyConfig {
        let allocs = self.inner.provisioned.lock();
        let a = allocs.get(&(c.function.clone(), c.qualifier.clone()));
        let allocated = a.map_or(0, |a| a.allocated);
        let available = a.map_or(0, |a| a.idle.len() as i64);
        let wanted: i64 = a.map_or(c.requested, |a| a.targets.iter().map(|t| t.1).sum());
        let failure = a.and_then(|a| a.failure.clone());
        let status = if failure.is_some() {
            ProvisionedStatus::Failed
        } else if allocated >= wanted {
            ProvisionedStatus::Ready
        } else {
            ProvisionedStatus::InProgress
        };
        ProvisionedConcurrencyConfig {
            function_arn: with_arn.then(|| function_arn(&c.function, Some(&c.qualifier))),
            requested_provisioned_concurrent_executions: c.requested,
            available_provisioned_concurrent_executions: available,
            allocated_provisioned_concurrent_executions: allocated,
            status,
            status_reason: failure,
            last_modified: c.last_modified.clone(),
        }
    }
}

/// Splits a count between an alias's versions by their weights.
fn split(
    count: i64,
    primary: &str,
    weights: &std::collections::BTreeMap<String, f64>,
) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    let mut rest = count;
    for (version, w) in weights {
        let n = ((count as f64) * w).round() as i64;
        let n = n.min(rest);
        if n > 0 {
            out.push((version.clone(), n));
            rest -= n;
        }
    }
    if rest > 0 {
        out.insert(0, (primary.to_string(), rest));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_follows_weights() {
        let w = std::collections::BTreeMap::from([("2".to_string(), 0.25)]);
        assert_eq!(
            split(4, "1", &w),
            vec![("1".to_string(), 3), ("2".to_string(), 1)]
        );
        assert_eq!(split(1, "1", &w), vec![("1".to_string(), 1)]);
        assert_eq!(
            split(3, "1", &Default::default()),
            vec![("1".to_string(), 3)]
        );
    }
}
