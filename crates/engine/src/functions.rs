//! The function lifecycle behind the control plane: create, read, update, delete, and
//! the state machine Lambda reports (`Pending` → `Active` after create,
//! `LastUpdateStatus` `InProgress` → `Successful` after an update). The code is
//! unpacked, and so fully checked, while the change is in progress: a package that
//! cannot be unpacked fails the creation (`State` `Failed`) or the update
//! (`LastUpdateStatus` `Failed`, `$LATEST` back on its previous code).

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hearth_model::arn::{function_arn, LATEST};
use hearth_model::function::CodeRef;
use hearth_model::limits::*;
use hearth_model::shapes::{
    CreateFunctionRequest, UpdateFunctionCodeRequest, UpdateFunctionConfigurationRequest,
};
use hearth_model::time::lambda_timestamp;
use hearth_model::{validate, AwsError, FunctionConfig, FunctionRef, LastUpdateStatus, State};
use hearth_store::{CodePin, LogEvent, LogQuery, StoreError};

use crate::{internal, Engine};

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

/// Rejects settings Hearth accepts in the model but cannot honour yet, by name.
fn unsupported(what: &str) -> AwsError {
    AwsError::invalid(format!("{what} is not supported by Hearth yet"))
}

/// `DeadLetterConfig.TargetArn`, validated; an empty or absent one means none.
fn dead_letter_target(
    config: Option<hearth_model::shapes::DeadLetterConfig>,
) -> Result<Option<String>, AwsError> {
    let arn = config.and_then(|d| d.target_arn).unwrap_or_default();
    validate::dead_letter_target(&arn)?;
    Ok(Some(arn).filter(|a| !a.is_empty()))
}

fn decode_zip(zip_b64: &str) -> Result<Vec<u8>, AwsError> {
    let bytes = BASE64.decode(zip_b64.trim()).map_err(|_| {
        AwsError::invalid(
            "Could not unzip uploaded file. Please check your file, then try to upload again.",
        )
    })?;
    if bytes.len() as u64 > ZIP_MAX_BYTES {
        return Err(AwsError::invalid(format!(
            "Zipped size must be smaller than {ZIP_MAX_BYTES} bytes"
        )));
    }
    Ok(bytes)
}

fn store_error(e: StoreError) -> AwsError {
    match e {
        StoreError::BadZip(_) => AwsError::invalid(
            "Could not unzip uploaded file. Please check your file, then try to upload again.",
        ),
        StoreError::TooLarge { limit, .. } => {
            AwsError::invalid(format!("Unzipped size must be smaller than {limit} bytes"))
        }
        other => internal(other),
    }
}

impl Engine {
    /// Stores a zip; the pin keeps it until the caller has written the row naming it.
    async fn put_zip(&self, zip_b64: &str) -> Result<(CodeRef, CodePin), AwsError> {
        let bytes = decode_zip(zip_b64)?;
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || store.code().put_zip(&bytes))
            .await
            .map_err(internal)?
            .map_err(store_error)
    }

    pub async fn create_function(
        &self,
        req: CreateFunctionRequest,
    ) -> Result<FunctionConfig, AwsError> {
        let name_ref = req.function_name.as_deref().ok_or_else(|| {
            AwsError::constraint("null", "functionName", "Member must not be null")
        })?;
        let role = req
            .role
            .ok_or_else(|| AwsError::constraint("null", "role", "Member must not be null"))?;
        let code = req
            .code
            .ok_or_else(|| AwsError::constraint("null", "code", "Member must not be null"))?;
        let fref = FunctionRef::parse(name_ref)?;
        if fref.qualifier.is_some() {
            return Err(AwsError::invalid(
                "A function name cannot have a qualifier when it is created",
            ));
        }
        validate::function_name(&fref.name)?;
        validate::role(&role)?;
        if req.package_type.as_deref().is_some_and(|p| p != "Zip") || code.image_uri.is_some() {
            return Err(unsupported("PackageType Image (container images)"));
        }
        if code.s3_bucket.is_some() || code.s3_key.is_some() {
            return Err(unsupported("Code from S3 (use Code.ZipFile)"));
        }
        if req.layers.as_ref().is_some_and(|l| !l.is_empty()) {
            return Err(unsupported("Layers"));
        }
        if req
            .file_system_configs
            .as_ref()
            .is_some_and(|l| !l.is_empty())
        {
            return Err(unsupported("FileSystemConfigs"));
        }
        let (Some(runtime), Some(handler)) = (req.runtime.clone(), req.handler.clone()) else {
            return Err(AwsError::invalid(
                "Runtime and Handler are mandatory parameters for functions created with deployment packages.",
            ));
        };
        validate::runtime(&runtime, &self.inner.catalog.available())?;
        validate::handler(&handler)?;
        let description = req.description.unwrap_or_default();
        validate::description(&description)?;
        let timeout = req.timeout.unwrap_or(TIMEOUT_DEFAULT_S);
        validate::timeout(timeout)?;
        let memory_size = req.memory_size.unwrap_or(MEMORY_DEFAULT_MB);
        validate::memory_size(memory_size)?;
        let ephemeral_storage = req
            .ephemeral_storage
            .map(|e| e.size)
            .unwrap_or(EPHEMERAL_DEFAULT_MB);
        validate::ephemeral_storage(ephemeral_storage)?;
        let environment = req
            .environment
            .and_then(|e| e.variables)
            .unwrap_or_default();
        validate::environment(&environment)?;
        let architectures = req
            .architectures
            .unwrap_or_else(|| vec![validate::host_architecture().to_string()]);
        validate::architectures(&architectures)?;
        let dead_letter_target_arn = dead_letter_target(req.dead_letter_config)?;
        let zip = code.zip_file.ok_or_else(|| {
            AwsError::invalid("Please provide a source for function code (Code.ZipFile).")
        })?;
        let (code, _pin) = self.put_zip(&zip).await?;

        let config = FunctionConfig {
            name: fref.name.clone(),
            version: LATEST.into(),
            runtime,
            handler,
            role,
            description,
            timeout,
            memory_size,
            ephemeral_storage,
            environment,
            architectures,
            code,
            last_modified: now_stamp(),
            revision_id: new_revision(),
            state: State::Pending,
            state_reason: Some("The function is being created.".into()),
            state_reason_code: Some("Creating".into()),
            last_update_status: LastUpdateStatus::Successful,
            last_update_status_reason: None,
            last_update_status_reason_code: None,
            tags: req.tags.unwrap_or_default(),
            dead_letter_target_arn,
            previous_code: None,
        };
        match self.inner.store.metadata().insert_function(&config) {
            Ok(()) => {}
            Err(StoreError::Exists(name)) => {
                return Err(AwsError::conflict(format!(
                    "Function already exist: {name}"
                )))
            }
            Err(e) => return Err(internal(e)),
        }
        self.spawn_settle(config.name.clone());
        if req.publish == Some(true) {
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
    ) -> Result<(Vec<FunctionConfig>, Option<String>), AwsError> {
        let mut page = self
            .inner
            .store
            .metadata()
            .list_functions(marker, max + 1)
            .map_err(internal)?;
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
    ) -> Result<FunctionConfig, AwsError> {
        let arn = function_arn(&r.name, r.qualifier.as_deref());
        if r.qualifier.as_deref().is_some_and(|q| q != LATEST) {
            return Err(AwsError::function_not_found(&arn));
        }
        let result = self
            .inner
            .store
            .metadata()
            .update_function(&r.name, |f| {
                if f.state == State::Pending {
                    return Err(AwsError::conflict("The operation cannot be performed at this time. The function is currently in the following state: Pending"));
                }
                if f.last_update_status == LastUpdateStatus::InProgress {
                    return Err(AwsError::conflict(format!(
                        "The operation cannot be performed at this time. An update is in progress for resource: {}",
                        f.arn()
                    )));
                }
                if revision_id.is_some_and(|want| want != f.revision_id) {
                    return Err(AwsError::new(
                        hearth_model::ErrorCode::PreconditionFailed,
                        "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
                    ));
                }
                apply(f);
                f.last_modified = now_stamp();
                f.revision_id = new_revision();
                f.last_update_status = LastUpdateStatus::InProgress;
                f.last_update_status_reason = Some("The function is being created.".into());
                f.last_update_status_reason_code = Some("Creating".into());
                Ok(())
            })
            .map_err(internal)?
            .ok_or_else(|| AwsError::function_not_found(&arn))??;
        self.spawn_settle(result.name.clone());
        Ok(result)
    }

    pub async fn update_code(
        &self,
        r: &FunctionRef,
        req: UpdateFunctionCodeRequest,
    ) -> Result<FunctionConfig, AwsError> {
        if req.image_uri.is_some() {
            return Err(unsupported("ImageUri (container images)"));
        }
        if req.s3_bucket.is_some() || req.s3_key.is_some() {
            return Err(unsupported("Code from S3 (use ZipFile)"));
        }
        if let Some(a) = &req.architectures {
            validate::architectures(a)?;
        }
        let zip = req.zip_file.ok_or_else(|| {
            AwsError::invalid("Please provide a source for function code (ZipFile).")
        })?;
        let (code, pin) = self.put_zip(&zip).await?;
        if req.dry_run == Some(true) {
            return self.get_function(r);
        }
        let publish = req.publish == Some(true);
        let updated = self.change(r, req.revision_id.as_deref(), |f| {
            // Invocations keep running the code being replaced until the new one is
            // unpacked, and the function goes back to it if it cannot be.
            if f.code != code {
                f.previous_code = Some(std::mem::replace(&mut f.code, code));
            }
            if let Some(a) = req.architectures {
                f.architectures = a;
            }
        })?;
        drop(pin);
        if publish {
            return self.publish(&updated.name, Default::default(), false);
        }
        Ok(updated)
    }

    pub async fn update_configuration(
        &self,
        r: &FunctionRef,
        req: UpdateFunctionConfigurationRequest,
    ) -> Result<FunctionConfig, AwsError> {
        if req.layers.as_ref().is_some_and(|l| !l.is_empty()) {
            return Err(unsupported("Layers"));
        }
        if req
            .file_system_configs
            .as_ref()
            .is_some_and(|l| !l.is_empty())
        {
            return Err(unsupported("FileSystemConfigs"));
        }
        if let Some(role) = &req.role {
            validate::role(role)?;
        }
        if let Some(runtime) = &req.runtime {
            validate::runtime(runtime, &self.inner.catalog.available())?;
        }
        if let Some(h) = &req.handler {
            validate::handler(h)?;
        }
        if let Some(d) = &req.description {
            validate::description(d)?;
        }
        if let Some(t) = req.timeout {
            validate::timeout(t)?;
        }
        if let Some(m) = req.memory_size {
            validate::memory_size(m)?;
        }
        if let Some(e) = &req.ephemeral_storage {
            validate::ephemeral_storage(e.size)?;
        }
        let environment: Option<BTreeMap<String, String>> =
            req.environment.map(|e| e.variables.unwrap_or_default());
        if let Some(vars) = &environment {
            validate::environment(vars)?;
        }
        let dead_letter = req
            .dead_letter_config
            .map(|d| dead_letter_target(Some(d)))
            .transpose()?;
        self.change(r, req.revision_id.as_deref(), |f| {
            if let Some(v) = req.role {
                f.role = v;
            }
            if let Some(v) = req.runtime {
                f.runtime = v;
            }
            if let Some(v) = req.handler {
                f.handler = v;
            }
            if let Some(v) = req.description {
                f.description = v;
            }
            if let Some(v) = req.timeout {
                f.timeout = v;
            }
            if let Some(v) = req.memory_size {
                f.memory_size = v;
            }
            if let Some(v) = req.ephemeral_storage {
                f.ephemeral_storage = v.size;
            }
            if let Some(v) = environment {
                f.environment = v;
            }
            if let Some(v) = dead_letter {
                f.dead_letter_target_arn = v;
            }
        })
    }

    /// Deletes a function (or, with a version qualifier, one version) and stops its
    /// environments. Its logs stay, as CloudWatch keeps a deleted function's log group.
    pub fn delete_function(&self, r: &FunctionRef) -> Result<(), AwsError> {
        if let Some(q) = r.qualifier.as_deref() {
            if q == LATEST {
                return Err(AwsError::invalid(
                    "$LATEST version cannot be deleted without deleting the function.",
                ));
            }
            if !hearth_model::alias::is_version_number(q) {
                return Err(AwsError::invalid(format!(
                    "Deletion of aliases is not supported by DeleteFunction; use DeleteAlias for {}",
                    function_arn(&r.name, Some(q))
                )));
            }
            return self.delete_version(&r.name, q);
        }
        let existed = self
            .inner
            .store
            .metadata()
            .delete_function(&r.name)
            .map_err(internal)?;
        if !existed {
            return Err(AwsError::function_not_found(&function_arn(&r.name, None)));
        }
        self.inner.admission.set_reserved(&r.name, None);
        self.drop_function_provisioned(&r.name);
        drop(self.inner.pool.retire_function(&r.name));
        // Its code goes once no other function or environment uses it.
        self.inner.store.code().collect_code();
        Ok(())
    }

    pub fn account_settings(&self) -> Result<AccountSettings, AwsError> {
        let all = self
            .inner
            .store
            .metadata()
            .all_functions()
            .map_err(internal)?;
        let code_size = self
            .inner
            .store
            .code()
            .total_code_size()
            .map_err(internal)?;
        Ok(AccountSettings {
            function_count: all.len() as i64,
            total_code_size: code_size as i64,
            concurrent_executions: self.inner.admission.limit(),
            unreserved_concurrent_executions: self.inner.admission.unreserved_limit(),
        })
    }

    /// A function's log lines, including those of every invocation that has answered.
    pub async fn logs(&self, function: &str, query: LogQuery) -> Result<Vec<LogEvent>, AwsError> {
        // Lines that could not be stored (a full disk) are gone; the rest can be read.
        if let Err(e) = self.inner.writer.flush().await {
            tracing::warn!(error = %e, "reading logs after a failed write");
        }
        let store = self.inner.store.clone();
        let function = function.to_string();
        tokio::task::spawn_blocking(move || store.logs().query_logs(&function, &query))
            .await
            .map_err(internal)?
            .map_err(internal)
    }

    /// The zip stored under a hash, for `Code.Location`.
    pub fn code_zip_path(&self, sha256_hex: &str) -> Option<std::path::PathBuf> {
        let valid = sha256_hex.len() == 64 && sha256_hex.bytes().all(|b| b.is_ascii_hexdigit());
        let path = self.inner.store.code().zip_path(sha256_hex);
        (valid && path.is_file()).then_some(path)
    }
}
