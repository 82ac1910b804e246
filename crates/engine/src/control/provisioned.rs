//! Provisioned concurrency, the record: Put, Get, List and
//! DeleteProvisionedConcurrencyConfig, the checks against reserved and unreserved
//! concurrency, and the plan of an allocation: the versions it wants (an alias's split
//! by their weights), each resolved to the run spec the executor starts ahead
//! (`crate::executor` owns the environments).

use std::sync::Arc;

use hearth_model::alias::is_version_number;
use hearth_model::arn::{function_arn, LATEST};
use hearth_model::concurrency::{
    ProvisionedConcurrencyConfig, ProvisionedConfig, ProvisionedStatus,
};
use hearth_model::FunctionRef;

use super::resolve::spec_of;
use super::retire::RecordChange;
use crate::error::{Conflict, EngineError, NotFound};
use crate::executor::{status_reason, AllocationView, RunSpec, Wanted};
use crate::Engine;

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
        match self.inner.executor.admission().reserved(&r.name) {
            Some(reserved) if others + requested > reserved => {
                return Err(EngineError::Invalid(format!(
                    "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function ({reserved})."
                )))
            }
            Some(_) => {}
            None => {
                let unreserved = self.inner.executor.admission().unreserved_limit(hearth_model::arn::key_account(&r.name));
                let room = unreserved - hearth_model::limits::UNRESERVED_MIN;
                if requested > unreserved {
                    return Err(EngineError::InvalidWithoutType(format!(
                        "Specified ConcurrentExecutions for function is greater than account's unreserved concurrency [{unreserved}]."
                    )));
                }
                if others + requested > room {
                    return Err(EngineError::InvalidWithoutType(format!(
                        "Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{}].",
                        hearth_model::limits::UNRESERVED_MIN
                    )));
                }
            }
        }
        let config = ProvisionedConfig {
            function: r.name.clone(),
            qualifier: qualifier.clone(),
            requested,
            last_modified: super::functions::now_stamp(),
        };
        self.inner.store.metadata().put_provisioned(&config)?;
        self.allocate(&r.name, &qualifier)?;
        Ok(self.provisioned_view(&config, false))
    }

    /// The qualifier of a provisioned-concurrency request: an existing version or alias.
    fn provisioned_qualifier(&self, r: &FunctionRef) -> Result<String, EngineError> {
        let q = self.provisioned_target(r, true)?;
        let entry = self.function_entry(&r.name)?;
        if let Some(a) = entry.aliases.get(&q) {
            if a.function_version == LATEST {
                return Err(EngineError::Invalid(
                    "Provisioned Concurrency Configs cannot be applied to unpublished function versions.".into(),
                ));
            }
        }
        // One configuration per version: either on it or on an alias routing to it.
        let configs = self
            .inner
            .store
            .metadata()
            .list_provisioned(Some(&r.name))?;
        let configured = |qualifier: &str| configs.iter().any(|c| c.qualifier == qualifier);
        if let Some(a) = entry.aliases.get(&q) {
            let versions = std::iter::once(&a.function_version).chain(a.additional_weights.keys());
            if versions.into_iter().any(|v| configured(v)) {
                return Err(Conflict::AliasVersionProvisioned.into());
            }
        } else if entry.aliases.values().any(|a| {
            (a.function_version == q || a.additional_weights.contains_key(&q))
                && configured(&a.name)
        }) {
            return Err(Conflict::VersionAliasProvisioned.into());
        }
        Ok(q)
    }

    /// The version or alias a provisioned-concurrency operation names, which must exist,
    /// with AWS's answers: `$LATEST` refused, a missing alias "cannot be found" (even when
    /// the function is missing too), a missing version or function "not found".
    fn provisioned_target(&self, r: &FunctionRef, put: bool) -> Result<String, EngineError> {
        let Some(q) = r.qualifier.clone() else {
            return Err(EngineError::MissingMember("qualifier"));
        };
        if q == LATEST {
            return Err(EngineError::Invalid(if put {
                "Provisioned Concurrency Configs cannot be applied to unpublished function versions.".into()
            } else {
                "The function resource provided must be an alias or a published version.".into()
            }));
        }
        let arn = function_arn(&r.name, Some(&q));
        if is_version_number(&q) {
            let entry = self.entry(r)?;
            if !entry.versions.contains_key(&q) {
                return Err(EngineError::function_not_found(arn));
            }
        } else {
            let exists = self
                .function_entry(&r.name)
                .is_ok_and(|entry| entry.aliases.contains_key(&q));
            if !exists {
                return Err(NotFound::AliasTarget { arn }.into());
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
        self.provisioned_target(r, false)
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
        self.retire(RecordChange::ProvisionedDeleted {
            function,
            qualifier,
        });
        Ok(())
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

    /// Starts a new generation of a configuration's allocation: the environments it
    /// wants per version (this node's share of them, in a fleet: `spread.rs`), resolved
    /// here and started by the executor.
    pub(crate) fn allocate(&self, function: &str, qualifier: &str) -> Result<(), EngineError> {
        let Some(config) = self
            .inner
            .store
            .metadata()
            .get_provisioned(function, qualifier)?
        else {
            return Ok(());
        };
        let targets = self
            .provisioned_plan(&config)?
            .into_iter()
            .map(|(version, count)| Wanted {
                spec: self.provisioned_spec(function, &version),
                version,
                count,
            })
            .collect();
        self.inner.executor.allocate(function, qualifier, targets);
        Ok(())
    }

    /// The environments this node starts for a configuration, per version: its share,
    /// an alias's split between its versions by weight.
    pub(crate) fn provisioned_plan(
        &self,
        config: &ProvisionedConfig,
    ) -> Result<Vec<(String, i64)>, EngineError> {
        let (function, qualifier) = (config.function.as_str(), config.qualifier.as_str());
        let count = self.share_of(function, qualifier, config.requested);
        let entry = self.function_entry(function)?;
        let counts = match entry.aliases.get(qualifier) {
            None => vec![(qualifier.to_string(), count)],
            Some(a) => split(count, &a.function_version, &a.additional_weights),
        };
        Ok(counts.into_iter().filter(|(_, n)| *n > 0).collect())
    }

    /// What the environments of one version of an allocation run, or the reason the
    /// allocation reports when the version cannot be found.
    fn provisioned_spec(&self, function: &str, version: &str) -> Result<Arc<RunSpec>, String> {
        let config = self
            .get_function(&FunctionRef {
                name: function.to_string(),
                qualifier: Some(version.to_string()),
            })
            .map_err(status_reason)?;
        let egress = self.egress_of(function).map_err(status_reason)?;
        Ok(Arc::new(spec_of(&config, egress)))
    }

    fn provisioned_view(
        &self,
        c: &ProvisionedConfig,
        with_arn: bool,
    ) -> ProvisionedConcurrencyConfig {
        let local = self.inner.executor.allocation(&c.function, &c.qualifier);
        view(
            c,
            self.fleet_allocation(&c.function, &c.qualifier, c.requested, local),
            with_arn,
        )
    }
}

/// The configuration `c` as Lambda reports it, with how far its allocation came.
fn view(
    c: &ProvisionedConfig,
    alloc: Option<AllocationView>,
    with_arn: bool,
) -> ProvisionedConcurrencyConfig {
    let allocated = alloc.as_ref().map_or(0, |a| a.allocated);
    let available = alloc.as_ref().map_or(0, |a| a.available);
    let wanted = alloc.as_ref().map_or(c.requested, |a| a.wanted);
    let failure = alloc.and_then(|a| a.failure);
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

    fn config(requested: i64) -> ProvisionedConfig {
        ProvisionedConfig {
            function: "f".into(),
            qualifier: "live".into(),
            requested,
            last_modified: "t".into(),
        }
    }

    #[test]
    fn status_follows_the_allocation() {
        let alloc = |allocated, failure: Option<&str>| AllocationView {
            allocated,
            available: allocated,
            wanted: 2,
            failure: failure.map(str::to_string),
        };
        let status = |a| view(&config(2), a, false).status;
        assert_eq!(status(None), ProvisionedStatus::InProgress);
        assert_eq!(status(Some(alloc(1, None))), ProvisionedStatus::InProgress);
        assert_eq!(status(Some(alloc(2, None))), ProvisionedStatus::Ready);
        let failed = view(&config(2), Some(alloc(1, Some("bad"))), true);
        assert_eq!(failed.status, ProvisionedStatus::Failed);
        assert_eq!(failed.status_reason.as_deref(), Some("bad"));
        assert_eq!(failed.allocated_provisioned_concurrent_executions, 1);
        assert_eq!(failed.function_arn, Some(function_arn("f", Some("live"))));
        // Nothing allocated yet, and nothing wanted: ready.
        assert_eq!(
            view(&config(0), None, false).status,
            ProvisionedStatus::Ready
        );
    }

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
