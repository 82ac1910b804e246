//! The function lifecycle behind the control plane: create, read, update, delete.
//! A create or update leaves the function `Pending` or `InProgress`; `settle` finishes
//! it in the background.

use hearth_model::arn::{function_arn, function_key, key_name, LATEST};
use hearth_model::function::CodeRef;
use hearth_model::time::lambda_timestamp;
use hearth_model::{FunctionConfig, FunctionRef, LastUpdateStatus, State};
use hearth_store::{CodePin, LogEvent, LogQuery, LogScan, StoreError};

use super::retire::RecordChange;
use crate::changes::{CodeChange, ConfigChange, NewFunction};
use crate::error::{Conflict, EngineError};
use crate::Engine;

/// GetAccountSettings figures.
#[derive(Debug, Clone, Copy)]
pub struct AccountSettings {
    pub function_count: i64,
    pub total_code_size: i64,
    pub concurrent_executions: i64,
    pub unreserved_concurrent_executions: i64,
}

pub(crate) fn new_revision() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Lambda refuses a change to a function still being created or with an update in
/// progress (`ResourceConflictException`).
pub(crate) fn open_to_change(f: &FunctionConfig) -> Result<(), Conflict> {
    if f.state == State::Pending {
        return Err(Conflict::NotActive {
            state: State::Pending,
        });
    }
    if f.last_update_status == LastUpdateStatus::InProgress {
        return Err(Conflict::UpdateInProgress { arn: f.arn() });
    }
    Ok(())
}

pub(crate) fn now_stamp() -> String {
    lambda_timestamp(chrono::Utc::now())
}

/// The `$LATEST` of a function being created from `new`, running `code`: `Pending`
/// until its code is unpacked.
fn pending_function(
    new: NewFunction,
    code: CodeRef,
    runtime_version: Option<String>,
) -> FunctionConfig {
    FunctionConfig {
        name: new.name,
        version: LATEST.into(),
        runtime: new.runtime,
        handler: new.handler,
        role: new.role,
        description: new.description,
        timeout: new.timeout,
        memory_size: new.memory_size,
        ephemeral_storage: new.ephemeral_storage,
        environment: new.environment,
        architectures: new.architectures,
        code,
        last_modified: now_stamp(),
        revision_id: new_revision(),
        state: State::Pending,
        state_reason: Some("The function is being created.".into()),
        state_reason_code: Some("Creating".into()),
        last_update_status: LastUpdateStatus::Successful,
        last_update_status_reason: None,
        last_update_status_reason_code: None,
        tags: new.tags,
        dead_letter_target_arn: new.dead_letter_target_arn,
        previous_code: None,
        environment_set: new.environment_set,
        logging: new.logging,
        tracing: new.tracing,
        vpc: new.vpc,
        runtime_version,
        published_description: None,
        environment_revision: None,
        kms_key_arn: new.kms_key_arn,
        layers: new.layers,
        fresh_env: false,
    }
}

impl Engine {
    /// Stores a zip; the pin keeps it until the caller has written the row naming it.
    pub(crate) async fn put_zip(&self, zip: Vec<u8>) -> Result<(CodeRef, CodePin), EngineError> {
        let store = self.inner.store.clone();
        Ok(tokio::task::spawn_blocking(move || store.code().put_zip(&zip)).await??)
    }

    /// The runtime must be installed on this host (the api checked Lambda knows it);
    /// returns the id of its version (see `Catalog::runtime_version`).
    fn check_runtime(&self, runtime: &str) -> Result<Option<String>, EngineError> {
        let catalog = self.inner.executor.catalog();
        let available = catalog.available();
        if available.iter().any(|r| r == runtime) {
            return Ok(catalog.runtime_version(runtime));
        }
        Err(EngineError::RuntimeNotInstalled {
            runtime: runtime.to_string(),
            available,
        })
    }

    /// CreateFunction: stores the code and the function, `Pending`, then settles it in
    /// the background (see `settle`); with `publish`, publishes version 1 at once.
    pub async fn create_function(
        &self,
        mut new: NewFunction,
    ) -> Result<FunctionConfig, EngineError> {
        let runtime_version = self.check_runtime(&new.runtime)?;
        // The pin keeps the code until the row naming it is written.
        let (code, _pin) = self.put_zip(std::mem::take(&mut new.zip)).await?;
        super::layers::check_total_size(code.unzipped_size, &new.layers)?;
        let publish = new.publish;
        let config = pending_function(new, code, runtime_version);
        self.insert_function(&config)?;
        self.spawn_settle(config.name.clone());
        if publish {
            return self.publish(&config.name, Default::default(), false);
        }
        Ok(config)
    }

    /// Writes a new function's row; one of that name already there is a conflict.
    fn insert_function(&self, config: &FunctionConfig) -> Result<(), EngineError> {
        match self.inner.store.metadata().insert_function(config) {
            Ok(()) => Ok(()),
            Err(StoreError::Exists(name)) => Err(Conflict::FunctionExists { name }.into()),
            Err(e) => Err(e.into()),
        }
    }

    /// `account`'s functions after `marker` (a name), at most `max`, and the marker of
    /// the next page (the name of the last one given).
    pub fn list_functions(
        &self,
        account: &str,
        marker: Option<&str>,
        max: usize,
    ) -> Result<(Vec<FunctionConfig>, Option<String>), EngineError> {
        let after = marker.map(|m| function_key(account, m));
        let mut page =
            self.inner
                .store
                .metadata()
                .list_functions(Some(account), after.as_deref(), max + 1)?;
        let next = if page.len() > max {
            page.truncate(max);
            page.last().map(|f| key_name(&f.name).to_string())
        } else {
            None
        };
        Ok((page, next))
    }

    /// ListFunctions with `FunctionVersion=ALL`: each of `account`'s functions' `$LATEST`
    /// then its versions in order, functions by name; at most `max` entries after
    /// `marker` (`<function>:<version>`, the last entry given) and the marker of the next
    /// page.
    pub fn list_all_versions(
        &self,
        account: &str,
        marker: Option<&str>,
        max: usize,
    ) -> Result<(Vec<FunctionConfig>, Option<String>), EngineError> {
        let metadata = self.inner.store.metadata();
        let entries_of = |f: FunctionConfig| -> Result<Vec<FunctionConfig>, EngineError> {
            let versions = metadata.list_versions(&f.name)?;
            Ok(std::iter::once(f).chain(versions).collect())
        };
        let mut out = Vec::new();
        let mut after = None;
        if let Some((name, version)) = marker.and_then(|m| m.split_once(':')) {
            // The rest of the function the previous page ended in.
            let key = function_key(account, name);
            if let Some(f) = metadata.get_function(&key)? {
                let entries = entries_of(f)?;
                let seen = entries.iter().position(|e| e.version == version);
                out.extend(entries.into_iter().skip(seen.map_or(0, |i| i + 1)));
            }
            after = Some(key);
        }
        while out.len() <= max {
            let batch = metadata.list_functions(Some(account), after.as_deref(), max + 1)?;
            let Some(last) = batch.last() else { break };
            after = Some(last.name.clone());
            for f in batch {
                out.extend(entries_of(f)?);
            }
        }
        let next = if out.len() > max {
            out.truncate(max);
            out.last()
                .map(|e| format!("{}:{}", key_name(&e.name), e.version))
        } else {
            None
        };
        Ok((out, next))
    }

    /// Applies a change to `$LATEST` under Lambda's preconditions: the function exists,
    /// no other update is in progress, and `RevisionId` (if given) matches.
    fn change(
        &self,
        r: &FunctionRef,
        revision_id: Option<&str>,
        apply: impl FnOnce(&mut FunctionConfig) -> Result<(), EngineError>,
    ) -> Result<FunctionConfig, EngineError> {
        let arn = function_arn(&r.name, r.qualifier.as_deref());
        if r.qualifier.as_deref().is_some_and(|q| q != LATEST) {
            return Err(EngineError::function_not_found(arn));
        }
        let result = self
            .inner
            .store
            .metadata()
            .update_function(&r.name, |f| -> Result<(), EngineError> {
                open_to_change(f)?;
                if revision_id.is_some_and(|want| want != f.revision_id) {
                    return Err(Conflict::RevisionMismatch.into());
                }
                apply(f)?;
                f.last_modified = now_stamp();
                f.revision_id = new_revision();
                f.environment_revision = None;
                f.last_update_status = LastUpdateStatus::InProgress;
                f.last_update_status_reason = Some("The function is being created.".into());
                f.last_update_status_reason_code = Some("Creating".into());
                Ok(())
            })?
            .ok_or_else(|| EngineError::function_not_found(arn))??;
        self.spawn_settle(result.name.clone());
        Ok(result)
    }

    pub async fn update_code(
        &self,
        r: &FunctionRef,
        change: CodeChange,
    ) -> Result<FunctionConfig, EngineError> {
        let (code, pin) = self.put_zip(change.zip).await?;
        if change.dry_run {
            return self.get_function(r);
        }
        let updated = self.change(r, change.revision_id.as_deref(), |f| {
            // Invocations keep running the code being replaced until the new one is
            // unpacked, and the function goes back to it if it cannot be.
            super::layers::check_total_size(code.unzipped_size, &f.layers)?;
            if f.code != code {
                f.previous_code = Some(std::mem::replace(&mut f.code, code));
            }
            if let Some(a) = change.architectures {
                f.architectures = a;
            }
            Ok(())
        })?;
        drop(pin);
        if change.publish {
            return self.publish(&updated.name, Default::default(), false);
        }
        Ok(updated)
    }

    pub async fn update_configuration(
        &self,
        r: &FunctionRef,
        change: ConfigChange,
    ) -> Result<FunctionConfig, EngineError> {
        // An update takes the runtime's version installed now, as Lambda's automatic
        // runtime updates do.
        let runtime_version = match &change.runtime {
            Some(runtime) => Some(self.check_runtime(runtime)?),
            None => None,
        };
        let revision_id = change.revision_id.clone();
        self.change(r, revision_id.as_deref(), |f| {
            let c = change;
            if let Some(l) = &c.logging {
                f.logging = f
                    .logging
                    .merged(l)
                    .map_err(|message| EngineError::Invalid(message.into()))?;
            }
            if let Some(v) = runtime_version {
                f.runtime_version = v;
            }
            if let Some(v) = c.tracing {
                f.tracing = v;
            }
            if let Some(v) = c.vpc {
                f.vpc = Some(v);
            }
            if let Some(v) = c.role {
                f.role = v;
            }
            if let Some(v) = c.runtime {
                f.runtime = v;
            }
            if let Some(v) = c.handler {
                f.handler = v;
            }
            if let Some(v) = c.description {
                f.description = v;
            }
            if let Some(v) = c.timeout {
                f.timeout = v;
            }
            if let Some(v) = c.memory_size {
                f.memory_size = v;
            }
            if let Some(v) = c.ephemeral_storage {
                f.ephemeral_storage = v;
            }
            if let Some(v) = c.environment {
                f.environment = v;
                f.environment_set = true;
            }
            if let Some(v) = c.dead_letter_target_arn {
                f.dead_letter_target_arn = v;
            }
            if let Some(v) = c.kms_key_arn {
                f.kms_key_arn = v;
            }
            if let Some(layers) = c.layers {
                super::layers::check_total_size(f.code.unzipped_size, &layers)?;
                f.layers = layers;
            }
            Ok(())
        })
    }

    /// Deletes a function (or, with a version qualifier, one version) and stops its
    /// environments. Its logs stay, as CloudWatch keeps a deleted function's log group.
    pub fn delete_function(&self, r: &FunctionRef) -> Result<(), EngineError> {
        if let Some(q) = r.qualifier.as_deref() {
            if q == LATEST {
                return Err(EngineError::Invalid(
                    "$LATEST version cannot be deleted without deleting the function.".into(),
                ));
            }
            // AWS's words, checked before the function is looked up.
            if hearth_model::alias::validate_alias_name(q).is_ok() {
                return Err(EngineError::Invalid(
                    "Deletion of aliases is not currently supported.".into(),
                ));
            }
            return self.delete_version(&r.name, q);
        }
        let existed = self.inner.store.metadata().delete_function(&r.name)?;
        if !existed {
            return Err(EngineError::function_not_found(function_arn(&r.name, None)));
        }
        self.inner.executor.admission().set_reserved(&r.name, None);
        self.retire(RecordChange::FunctionDeleted { function: &r.name });
        // Its code goes once no other function or environment uses it.
        self.inner.store.code().collect_code();
        Ok(())
    }

    /// `account`'s settings: its functions, the stored code and the concurrency limits.
    pub fn account_settings(&self, account: &str) -> Result<AccountSettings, EngineError> {
        let all =
            self.inner
                .store
                .metadata()
                .list_functions(Some(account), None, usize::MAX >> 1)?;
        // Lambda counts `$LATEST`, each published version and each layer version ("deployment
        // packages and layer archives"), shared zips included.
        let mut code_size = 0;
        for f in &all {
            code_size += f.code.size;
            for v in self.inner.store.metadata().list_versions(&f.name)? {
                code_size += v.code.size;
            }
        }
        for l in self
            .inner
            .store
            .layers()
            .list_layer_versions(account, None)?
        {
            code_size += l.code.size;
        }
        Ok(AccountSettings {
            function_count: all.len() as i64,
            total_code_size: code_size as i64,
            concurrent_executions: self.inner.executor.admission().limit(),
            unreserved_concurrent_executions: self
                .inner
                .executor
                .admission()
                .unreserved_limit(account),
        })
    }

    /// A function's log lines, including those of every invocation that has answered.
    pub async fn logs(
        &self,
        function: &str,
        query: LogQuery,
    ) -> Result<Vec<LogEvent>, EngineError> {
        self.commit_handed_lines("reading logs after a failed write")
            .await;
        let store = self.inner.store.clone();
        let function = function.to_string();
        Ok(
            tokio::task::spawn_blocking(move || store.logs().query_logs(&function, &query))
                .await??,
        )
    }

    /// [`Self::logs`], also saying where a scan bounded by `scan_bytes` stopped.
    pub async fn scan_logs(&self, function: &str, query: LogQuery) -> Result<LogScan, EngineError> {
        self.commit_handed_lines("reading logs after a failed write")
            .await;
        let store = self.inner.store.clone();
        let function = function.to_string();
        Ok(
            tokio::task::spawn_blocking(move || store.logs().scan_logs(&function, &query))
                .await??,
        )
    }

    /// The zip stored under a hash, for `Code.Location`.
    ///
    /// Blocking: on a store that nodes share, a node that has not had the code yet fetches
    /// it first (pinning stored code and unpacking it brings its zip into the node's cache).
    pub fn code_zip_path(&self, sha256_hex: &str) -> Option<std::path::PathBuf> {
        let valid = sha256_hex.len() == 64 && sha256_hex.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return None;
        }
        let code = self.inner.store.code();
        let path = code.zip_path(sha256_hex);
        if path.is_file() {
            return Some(path);
        }
        let pin = code.pin_stored(sha256_hex)?;
        if let Err(e) = code.unpacked(&pin) {
            tracing::warn!(code = sha256_hex, error = %e, "cannot fetch code for a download");
            return None;
        }
        path.is_file().then_some(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_function_is_pending_until_settled() {
        let code = CodeRef {
            sha256_hex: "ab".into(),
            sha256_b64: "qw==".into(),
            size: 2,
            unzipped_size: 3,
        };
        let new = NewFunction {
            name: "f".into(),
            runtime: "provided.al2023".into(),
            handler: "bootstrap".into(),
            role: "arn:aws:iam::000000000000:role/r".into(),
            description: "d".into(),
            timeout: 9,
            memory_size: 256,
            ephemeral_storage: 600,
            environment: [("K".to_string(), "V".to_string())].into(),
            architectures: vec!["arm64".into()],
            dead_letter_target_arn: Some("arn:dlq".into()),
            kms_key_arn: None,
            environment_set: false,
            logging: Default::default(),
            tracing: Default::default(),
            vpc: None,
            tags: [("t".to_string(), "1".to_string())].into(),
            zip: Vec::new(),
            layers: Vec::new(),
            publish: false,
        };
        let f = pending_function(new, code.clone(), None);
        assert_eq!((f.name.as_str(), f.version.as_str()), ("f", LATEST));
        assert_eq!(f.state, State::Pending);
        assert_eq!(f.state_reason_code.as_deref(), Some("Creating"));
        assert_eq!(f.last_update_status, LastUpdateStatus::Successful);
        assert_eq!(f.code, code);
        assert_eq!(
            (f.timeout, f.memory_size, f.ephemeral_storage),
            (9, 256, 600)
        );
        assert_eq!(f.environment["K"], "V");
        assert_eq!(f.architectures, vec!["arm64".to_string()]);
        assert_eq!(f.dead_letter_target_arn.as_deref(), Some("arn:dlq"));
        assert_eq!(f.tags["t"], "1");
        assert!(f.previous_code.is_none());
        assert!(!f.revision_id.is_empty());
    }
}
