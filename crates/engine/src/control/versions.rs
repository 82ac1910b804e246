//! Versions and aliases: PublishVersion (an immutable snapshot of `$LATEST`),
//! ListVersionsByFunction and the alias operations (a qualifier is resolved in
//! `resolve`).

use std::collections::BTreeMap;
use std::sync::Arc;

use hearth_model::alias::{routing_conflict, Alias};
use hearth_model::arn::{function_arn, LATEST};
use hearth_model::{FunctionConfig, FunctionRef, LastUpdateStatus, State};
use hearth_store::{Publish, StoreError};

use super::functions::open_to_change;
use super::registry::Entry;
use super::retire::RecordChange;
use crate::changes::{AliasChange, NewAlias, NewVersion};
use crate::error::{Conflict, EngineError, NotFound};
use crate::Engine;

fn alias_not_found(function: &str, alias: &str) -> EngineError {
    NotFound::Alias {
        arn: function_arn(function, Some(alias)),
    }
    .into()
}

/// Whether publishing `latest` would give the same function as `version`: code, every
/// setting that shapes an environment or its reuse (a fresh environment per
/// invocation), and `$LATEST`'s description when `version` was
/// published (Lambda publishes a new version when only that changed, but not when only
/// PublishVersion's own `Description` differs).
fn same_snapshot(latest: &FunctionConfig, version: &FunctionConfig) -> bool {
    let published_from = version
        .published_description
        .as_ref()
        .unwrap_or(&version.description);
    latest.code == version.code
        && latest.description == *published_from
        && latest.logging == version.logging
        && latest.tracing == version.tracing
        && latest.vpc == version.vpc
        && latest.runtime_version == version.runtime_version
        && latest.runtime == version.runtime
        && latest.handler == version.handler
        && latest.role == version.role
        && latest.timeout == version.timeout
        && latest.memory_size == version.memory_size
        && latest.ephemeral_storage == version.ephemeral_storage
        && latest.environment == version.environment
        && latest.architectures == version.architectures
        && latest.dead_letter_target_arn == version.dead_letter_target_arn
        && latest.layers == version.layers
        && latest.fresh_env == version.fresh_env
}

impl Engine {
    /// The cached view of function `name`, or ResourceNotFound under its unqualified ARN.
    pub(crate) fn function_entry(&self, name: &str) -> Result<Arc<Entry>, EngineError> {
        self.entry(&FunctionRef {
            name: name.to_string(),
            qualifier: None,
        })
    }

    /// The cached view of a function, or ResourceNotFound for `r`.
    pub(crate) fn entry(&self, r: &FunctionRef) -> Result<Arc<Entry>, EngineError> {
        self.inner
            .registry
            .get(&self.inner.store, &r.name)?
            .ok_or_else(|| {
                EngineError::function_not_found(function_arn(&r.name, r.qualifier.as_deref()))
            })
    }

    /// The configuration `r` names, for reading: `$LATEST`, a version, or the version an
    /// alias points at (its primary one).
    pub fn get_function(&self, r: &FunctionRef) -> Result<FunctionConfig, EngineError> {
        Ok((*self.select(r, |a| &a.function_version)?).clone())
    }

    pub fn publish_version(
        &self,
        r: &FunctionRef,
        req: NewVersion,
    ) -> Result<FunctionConfig, EngineError> {
        self.publish(&r.name, req, true)
    }

    /// Publishes `$LATEST`. `check_state` is false when publishing as part of a create or
    /// update (`Publish: true`), which is itself the change in progress.
    pub(crate) fn publish(
        &self,
        name: &str,
        req: NewVersion,
        check_state: bool,
    ) -> Result<FunctionConfig, EngineError> {
        let result = self
            .inner
            .store
            .metadata()
            .publish_version(name, |latest, newest, next| {
                if check_state {
                    open_to_change(latest)?;
                }
                if req
                    .revision_id
                    .as_deref()
                    .is_some_and(|r| r != latest.revision_id)
                {
                    return Err(Conflict::RevisionMismatch);
                }
                if let Some(sha) = req.code_sha256.as_deref() {
                    if sha != latest.code.sha256_b64 {
                        return Err(Conflict::CodeShaMismatch {
                            given: sha.to_string(),
                            current: latest.code.sha256_b64.clone(),
                        });
                    }
                }
                if let Some(newest) = newest.filter(|v| same_snapshot(latest, v)) {
                    return Ok(Publish::Existing(newest));
                }
                let mut v = latest.clone();
                v.version = next.to_string();
                // A version is its own snapshot: it has no code to fall back to.
                v.previous_code = None;
                v.published_description = Some(latest.description.clone());
                // Published as part of an update still in progress: the version is being
                // created until that update settles (see `settle`), as on Lambda.
                if latest.last_update_status == LastUpdateStatus::InProgress {
                    v.state = State::Pending;
                    v.state_reason = Some("The function is being created.".into());
                    v.state_reason_code = Some("Creating".into());
                    v.last_update_status = LastUpdateStatus::Successful;
                    v.last_update_status_reason = None;
                    v.last_update_status_reason_code = None;
                }
                if let Some(d) = &req.description {
                    v.description = d.clone();
                }
                v.revision_id = super::functions::new_revision();
                v.last_modified = super::functions::now_stamp();
                // PublishVersion gives `$LATEST` a new revision, as Lambda does. Not a
                // publish that is part of a create or update: that change is still in
                // progress, and settling it is keyed by its revision.
                if check_state {
                    return Ok(Publish::NewRevising(v, super::functions::new_revision()));
                }
                Ok(Publish::New(v))
            });
        let version =
            result?.ok_or_else(|| EngineError::function_not_found(function_arn(name, None)))??;
        Ok(version)
    }

    /// `$LATEST` (with its qualified ARN, as Lambda lists it) then each version.
    pub fn list_versions(&self, r: &FunctionRef) -> Result<Vec<FunctionConfig>, EngineError> {
        let entry = self.entry(r)?;
        let mut versions: Vec<&Arc<FunctionConfig>> = entry.versions.values().collect();
        versions.sort_by_key(|v| v.version.parse::<u64>().unwrap_or(u64::MAX));
        Ok(std::iter::once(&entry.latest)
            .chain(versions)
            .map(|v| (**v).clone())
            .collect())
    }

    /// Checks an alias's target versions exist.
    fn check_alias_versions(
        &self,
        entry: &Entry,
        function: &str,
        primary: &str,
        weights: &BTreeMap<String, f64>,
    ) -> Result<(), EngineError> {
        if let Some(message) = routing_conflict(primary, weights) {
            // AWS answers the $LATEST rule without `Type`, the same-version one with it.
            return Err(if primary == LATEST {
                EngineError::InvalidWithoutType(message)
            } else {
                EngineError::Invalid(message)
            });
        }
        for v in std::iter::once(primary).chain(weights.keys().map(String::as_str)) {
            if version_of(entry, v).is_none() {
                return Err(EngineError::function_not_found(function_arn(
                    function,
                    Some(v),
                )));
            }
        }
        Ok(())
    }

    pub fn create_alias(&self, r: &FunctionRef, new: NewAlias) -> Result<Alias, EngineError> {
        let NewAlias {
            name,
            function_version: version,
            description,
            weights,
        } = new;
        // AWS names the version the alias would point at when the function is missing.
        let entry = self.entry(&FunctionRef {
            name: r.name.clone(),
            qualifier: Some(version.clone()),
        })?;
        self.check_alias_versions(&entry, &r.name, &version, &weights)?;
        let alias = Alias {
            function: r.name.clone(),
            name,
            function_version: version,
            description,
            additional_weights: weights,
            revision_id: super::functions::new_revision(),
        };
        match self.inner.store.metadata().insert_alias(&alias) {
            Ok(()) => {}
            Err(StoreError::Exists(arn)) => return Err(Conflict::AliasExists { arn }.into()),
            Err(e) => return Err(e.into()),
        }
        Ok(alias)
    }

    pub fn get_alias(&self, r: &FunctionRef, name: &str) -> Result<Alias, EngineError> {
        let entry = self.function_entry(&r.name)?;
        entry.aliases.get(name).cloned().ok_or_else(|| {
            NotFound::AliasTarget {
                arn: function_arn(&r.name, Some(name)),
            }
            .into()
        })
    }

    pub fn update_alias(
        &self,
        r: &FunctionRef,
        name: &str,
        req: AliasChange,
    ) -> Result<Alias, EngineError> {
        let entry = self.function_entry(&r.name)?;
        let current = entry
            .aliases
            .get(name)
            .ok_or_else(|| alias_not_found(&r.name, name))?;
        let version = req
            .function_version
            .clone()
            .unwrap_or_else(|| current.function_version.clone());
        let weights = match &req.weights {
            Some(w) => w.clone(),
            None => current.additional_weights.clone(),
        };
        self.check_alias_versions(&entry, &r.name, &version, &weights)?;
        let updated = self
            .inner
            .store
            .metadata()
            .update_alias(&r.name, name, |a| {
                if req
                    .revision_id
                    .as_deref()
                    .is_some_and(|want| want != a.revision_id)
                {
                    return Err(Conflict::RevisionMismatch);
                }
                a.function_version = version;
                a.additional_weights = weights;
                if let Some(d) = req.description {
                    a.description = d;
                }
                a.revision_id = super::functions::new_revision();
                Ok(())
            })?
            .ok_or_else(|| alias_not_found(&r.name, name))??;
        self.reprovision(&r.name, name);
        Ok(updated)
    }

    /// Deletes an alias; deleting one that does not exist succeeds, as in Lambda.
    pub fn delete_alias(&self, r: &FunctionRef, name: &str) -> Result<(), EngineError> {
        self.inner.store.metadata().delete_alias(&r.name, name)?;
        self.drop_provisioned(&r.name, name)?;
        Ok(())
    }

    /// A function's aliases in name order, optionally only those routing to `version`.
    pub fn list_aliases(
        &self,
        r: &FunctionRef,
        version: Option<&str>,
    ) -> Result<Vec<Alias>, EngineError> {
        let entry = self.function_entry(&r.name)?;
        let mut out: Vec<Alias> = entry
            .aliases
            .values()
            .filter(|a| {
                version
                    .is_none_or(|v| a.function_version == v || a.additional_weights.contains_key(v))
            })
            .cloned()
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Deletes one published version, unless an alias routes to it.
    /// Deletes a published version. A version that does not exist is already deleted (204,
    /// as on AWS); a function that does not exist is not found, named without the version.
    pub(crate) fn delete_version(&self, name: &str, version: &str) -> Result<(), EngineError> {
        let entry = self.function_entry(name)?;
        let Ok(number) = version.parse::<u64>() else {
            return Ok(());
        };
        let users: Vec<&str> = entry
            .aliases
            .values()
            .filter(|a| a.function_version == version || a.additional_weights.contains_key(version))
            .map(|a| a.name.as_str())
            .collect();
        if !users.is_empty() {
            return Err(Conflict::VersionInUse {
                aliases: users.iter().map(|u| u.to_string()).collect(),
            }
            .into());
        }
        if !self.inner.store.metadata().delete_version(name, number)? {
            return Ok(());
        }
        self.inner
            .store
            .metadata()
            .delete_provisioned(name, version)?;
        self.retire(RecordChange::VersionDeleted {
            function: name,
            version,
        });
        self.inner.store.code().collect_code();
        Ok(())
    }
}

/// `$LATEST` or a published version of the entry's function.
pub(super) fn version_of(entry: &Entry, version: &str) -> Option<Arc<FunctionConfig>> {
    if version == LATEST {
        Some(entry.latest.clone())
    } else {
        entry.versions.get(version).cloned()
    }
}
