//! The function lifecycle behind the control plane: create, read, update, delete, and
//! the state machine Lambda reports (`Pending` → `Active` after create,
//! `LastUpdateStatus` `InProgress` → `Successful` after an update). The code is
//! unpacked, and so fully checked, while the change is in progress: a package that
//! cannot be unpacked fails the creation (`State` `Failed`) or the update
//! (`LastUpdateStatus` `Failed`, `$LATEST` back on its previous code).

use hearth_model::arn::{function_arn, LATEST};
use hearth_model::function::CodeRef;
use hearth_model::time::lambda_timestamp;
use hearth_model::{FunctionConfig, FunctionRef, LastUpdateStatus, State};
use hearth_store::{CodePin, LogEvent, LogQuery, StoreError};

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

pub(crate) fn now_stamp() -> String {
    lambda_timestamp(chrono::Utc::now())
}

impl Engine {
    /// Stores a zip; the pin keeps it until the caller has written the row naming it.
    async fn put_zip(&self, zip: Vec<u8>) -> Result<(CodeRef, CodePin), EngineError> {
        let store = self.inner.store.clone();
        Ok(tokio::task::spawn_blocking(move || store.code().put_zip(&zip)).await??)
    }

    /// The runtime must be installed on this host (the api checked Lambda knows it).
    fn check_runtime(&self, runtime: &str) -> Result<(), EngineError> {
        let available = self.inner.catalog.available();
        if available.iter().any(|r| r == runtime) {
            return Ok(());
        }
        Err(EngineError::RuntimeNotInstalled {
            runtime: runtime.to_string(),
            available,
        })
    }

    pub async fn create_function(&self, new: NewFunction) -> Result<FunctionConfig, EngineError> {
        self.check_runtime(&new.runtime)?;
        let (code, _pin) = self.put_zip(new.zip).await?;

        let config = FunctionConfig {
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
        };
        match self.inner.store.metadata().insert_function(&config) {
            Ok(()) => {}
            Err(StoreError::Exists(name)) => return Err(Conflict::FunctionExists { name }.into()),
            Err(e) => return Err(e.into()),
        }
        self.spawn_settle(config.name.clone());
        if new.publish {
            return self.publish(&config.name, Default::default(), false);
        }
        Ok(config)
    }

    /// Finishes a create or update in the background: unpacks the code (so the first
    /// invoke does not pay for it), retires old environments, then reports the
    /// function `Active` / `Successful`, or `Failed` with the reason.
    fn spawn_settle(&self, name: String) {
        let engine = self.clone();
        tokio::spawn(async move { engine.settle(&name).await });
    }

    async fn settle(&self, name: &str) {
        let Ok(Some(f)) = self.inner.store.metadata().get_function(name) else {
            return;
        };
        drop(self.inner.pool.retire(&crate::pool::key(name, LATEST)));
        // The pin is held until the outcome is recorded: until then no row may name
        // the code (a crash, a delete) and it must not go.
        let ready = self.ready_code(&f.code).await;
        if let Err(failure) = &ready {
            tracing::warn!(function = name, reason = %failure.reason(), "the function's code cannot be unpacked");
        }
        let revision = f.revision_id.clone();
        let result = self.inner.store.metadata().update_function(name, |f| {
            // A newer change owns the state now; it will settle itself.
            if f.revision_id != revision {
                return Err(());
            }
            match &ready {
                Ok(_) => {
                    f.state = State::Active;
                    f.state_reason = None;
                    f.state_reason_code = None;
                    f.last_update_status = LastUpdateStatus::Successful;
                    f.last_update_status_reason = None;
                    f.last_update_status_reason_code = None;
                    f.previous_code = None;
                }
                Err(failure) => {
                    let reason = failure.reason();
                    let code = failure.reason_code();
                    if f.state == State::Pending {
                        f.state = State::Failed;
                        f.state_reason = Some(reason.clone());
                        f.state_reason_code = Some(code.into());
                    }
                    // Lambda aborts a failed update: the function keeps running (and
                    // reporting) its previous code.
                    if let Some(previous) = f.previous_code.take() {
                        f.code = previous;
                    }
                    f.last_update_status = LastUpdateStatus::Failed;
                    f.last_update_status_reason = Some(reason);
                    f.last_update_status_reason_code = Some(code.into());
                }
            }
            Ok(())
        });
        if let Err(e) = &result {
            tracing::error!(function = name, error = %e, "could not record the function's state");
        }
        // Gone, failed, or a newer change settles (and settles these versions) itself.
        let Ok(Some(Ok(latest))) = result else {
            self.inner.store.code().collect_code();
            return;
        };
        let code_failed = ready.is_err();
        drop(ready);
        // Environments started meanwhile ran the previous code (see `versions::running`):
        // they are stale now, and would keep that code stored while they idle.
        drop(self.inner.pool.retire(&crate::pool::key(name, LATEST)));
        // Versions published while the change was in progress share its fate: they
        // snapshot the new code, so they fail with it.
        match self.inner.store.metadata().list_versions(name) {
            Ok(versions) => {
                for mut v in versions {
                    if v.state != State::Pending
                        && v.last_update_status != LastUpdateStatus::InProgress
                    {
                        continue;
                    }
                    let failed = code_failed || latest.state == State::Failed;
                    v.state = if failed { State::Failed } else { State::Active };
                    v.state_reason = latest.state_reason.clone();
                    v.state_reason_code = latest.state_reason_code.clone();
                    v.last_update_status = latest.last_update_status;
                    v.last_update_status_reason = latest.last_update_status_reason.clone();
                    v.last_update_status_reason_code =
                        latest.last_update_status_reason_code.clone();
                    if failed && v.state_reason.is_none() {
                        v.state_reason = latest.last_update_status_reason.clone();
                        v.state_reason_code = latest.last_update_status_reason_code.clone();
                    }
                    if let Err(e) = self.inner.store.metadata().put_version(&v) {
                        tracing::error!(function = name, error = %e, "could not record a version's state");
                    }
                }
            }
            Err(e) => tracing::error!(function = name, error = %e, "could not read versions"),
        }
        // The code the update replaced (or the new code, if it failed) may be
        // unreferenced now.
        self.inner.store.code().collect_code();
    }

    /// Settles functions a previous run left `Pending` or `InProgress`.
    pub(crate) fn resume_pending(&self) {
        match self.inner.store.metadata().all_functions() {
            Ok(all) => {
                for f in all {
                    if f.state == State::Pending
                        || f.last_update_status == LastUpdateStatus::InProgress
                    {
                        self.spawn_settle(f.name);
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "could not read functions at start-up"),
        }
    }

    /// Functions after `marker`, at most `max`, and the marker of the next page.
    pub fn list_functions(
        &self,
        marker: Option<&str>,
        max: usize,
    ) -> Result<(Vec<FunctionConfig>, Option<String>), EngineError> {
        let mut page = self
            .inner
            .store
            .metadata()
            .list_functions(marker, max + 1)?;
        let next = if page.len() > max {
            page.truncate(max);
            page.last().map(|f| f.name.clone())
        } else {
            None
        };
        Ok((page, next))
    }

    /// Applies a change to `$LATEST` under Lambda's preconditions: the function exists,
    /// no other update is in progress, and `RevisionId` (if given) matches.
    fn change(
        &self,
        r: &FunctionRef,
        revision_id: Option<&str>,
        apply: impl FnOnce(&mut FunctionConfig),
    ) -> Result<FunctionConfig, EngineError> {
        let arn = function_arn(&r.name, r.qualifier.as_deref());
        if r.qualifier.as_deref().is_some_and(|q| q != LATEST) {
            return Err(EngineError::function_not_found(arn));
        }
        let result = self
            .inner
            .store
            .metadata()
            .update_function(&r.name, |f| {
                if f.state == State::Pending {
                    return Err(Conflict::NotActive {
                        state: State::Pending,
                    });
                }
                if f.last_update_status == LastUpdateStatus::InProgress {
                    return Err(Conflict::UpdateInProgress { arn: f.arn() });
                }
                if revision_id.is_some_and(|want| want != f.revision_id) {
                    return Err(Conflict::RevisionMismatch);
                }
                apply(f);
                f.last_modified = now_stamp();
                f.revision_id = new_revision();
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
            if f.code != code {
                f.previous_code = Some(std::mem::replace(&mut f.code, code));
            }
            if let Some(a) = change.architectures {
                f.architectures = a;
            }
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
        if let Some(runtime) = &change.runtime {
            self.check_runtime(runtime)?;
        }
        let revision_id = change.revision_id.clone();
        self.change(r, revision_id.as_deref(), |f| {
            let c = change;
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
            }
            if let Some(v) = c.dead_letter_target_arn {
                f.dead_letter_target_arn = v;
            }
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
            if !hearth_model::alias::is_version_number(q) {
                return Err(EngineError::Invalid(format!(
                    "Deletion of aliases is not supported by DeleteFunction; use DeleteAlias for {}",
                    function_arn(&r.name, Some(q))
                )));
            }
            return self.delete_version(&r.name, q);
        }
        let existed = self.inner.store.metadata().delete_function(&r.name)?;
        if !existed {
            return Err(EngineError::function_not_found(function_arn(&r.name, None)));
        }
        self.inner.admission.set_reserved(&r.name, None);
        self.drop_function_provisioned(&r.name);
        drop(self.inner.pool.retire_function(&r.name));
        // Its code goes once no other function or environment uses it.
        self.inner.store.code().collect_code();
        Ok(())
    }

    pub fn account_settings(&self) -> Result<AccountSettings, EngineError> {
        let all = self.inner.store.metadata().all_functions()?;
        let code_size = self.inner.store.code().total_code_size()?;
        Ok(AccountSettings {
            function_count: all.len() as i64,
            total_code_size: code_size as i64,
            concurrent_executions: self.inner.admission.limit(),
            unreserved_concurrent_executions: self.inner.admission.unreserved_limit(),
        })
    }

    /// A function's log lines, including those of every invocation that has answered.
    pub async fn logs(
        &self,
        function: &str,
        query: LogQuery,
    ) -> Result<Vec<LogEvent>, EngineError> {
        // Lines that could not be stored (a full disk) are gone; the rest can be read.
        if let Err(e) = self.inner.writer.flush().await {
            tracing::warn!(error = %e, "reading logs after a failed write");
        }
        let store = self.inner.store.clone();
        let function = function.to_string();
        Ok(
            tokio::task::spawn_blocking(move || store.logs().query_logs(&function, &query))
                .await??,
        )
    }

    /// The zip stored under a hash, for `Code.Location`.
    pub fn code_zip_path(&self, sha256_hex: &str) -> Option<std::path::PathBuf> {
        let valid = sha256_hex.len() == 64 && sha256_hex.bytes().all(|b| b.is_ascii_hexdigit());
        let path = self.inner.store.code().zip_path(sha256_hex);
        (valid && path.is_file()).then_some(path)
    }
}
