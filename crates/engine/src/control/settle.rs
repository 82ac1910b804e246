//! Settling a create or update: the state machine Lambda reports (`Pending` → `Active`
//! after create, `LastUpdateStatus` `InProgress` → `Successful` after an update). The
//! code is unpacked, and so fully checked, while the change is in progress: a package
//! that cannot be unpacked fails the creation (`State` `Failed`) or the update
//! (`LastUpdateStatus` `Failed`, `$LATEST` back on its previous code), and versions
//! published meanwhile share that fate. The function's layers are composed into its
//! `/opt` at the same time, for the same reason.

use hearth_model::{FunctionConfig, LastUpdateStatus, State};
use hearth_store::StoreError;

use super::retire::RecordChange;
use crate::executor::CodeFailure;
use crate::Engine;

/// How long `settle` waits before each new try to record an outcome the store refused.
const RECORD_RETRIES: [std::time::Duration; 4] = [
    std::time::Duration::from_secs(1),
    std::time::Duration::from_secs(2),
    std::time::Duration::from_secs(4),
    std::time::Duration::from_secs(8),
];

impl Engine {
    /// Finishes a create or update in the background: unpacks the code (so the first
    /// invoke does not pay for it), retires old environments, then reports the
    /// function `Active` / `Successful`, or `Failed` with the reason.
    pub(super) fn spawn_settle(&self, name: String) {
        let engine = self.clone();
        tokio::spawn(async move { engine.settle(&name).await });
    }

    async fn settle(&self, name: &str) {
        let Ok(Some(f)) = self.inner.store.metadata().get_function(name) else {
            return;
        };
        self.retire(RecordChange::LatestChanged { function: name });
        // The pin is held until the outcome is recorded: until then no row may name
        // the code (a crash, a delete) and it must not go.
        let ready = self.inner.executor.ready_code(&f.code).await;
        if let Err(failure) = &ready {
            tracing::warn!(function = name, reason = %failure.reason(), "the function's code cannot be unpacked");
        }
        // The layers' `/opt` too, so that the first environment finds it made. A layer
        // that cannot be composed does not fail the change (layers are checked when
        // published); the environments that need it report it.
        let layers: Vec<_> = f.layers.iter().map(|l| l.code.clone()).collect();
        if let Err(failure) = self.inner.executor.compose_layers(&layers).await {
            tracing::warn!(function = name, reason = %failure.reason(), "the function's layers cannot be composed");
        }
        let mut result = self.record_outcome(name, &f.revision_id, ready.as_ref().err());
        // A store error (a full disk, a lock held too long) must not leave the function
        // `Pending` until the next start: try again a few times, further apart.
        for wait in RECORD_RETRIES {
            if result.is_ok() {
                break;
            }
            tokio::time::sleep(wait).await;
            result = self.record_outcome(name, &f.revision_id, ready.as_ref().err());
        }
        if result.is_err() {
            tracing::error!(
                function = name,
                "gave up recording the function's state; the next start settles it"
            );
        }
        // Gone, failed, or a newer change settles (and settles these versions) itself.
        let Ok(Some(Ok(latest))) = result else {
            self.inner.store.code().collect_code();
            return;
        };
        let code_failed = ready.is_err();
        drop(ready);
        // Environments started meanwhile ran the previous code (see `resolve::spec_of`):
        // they are stale now, and would keep that code stored while they idle.
        self.retire(RecordChange::LatestChanged { function: name });
        self.settle_versions(name, &latest, code_failed);
        // The code the update replaced (or the new code, if it failed) may be
        // unreferenced now.
        self.inner.store.code().collect_code();
    }

    /// Records the outcome on `$LATEST` if `revision` is still the change in progress;
    /// `Some(Err(()))` when a newer change owns the state now (it settles itself).
    fn record_outcome(
        &self,
        name: &str,
        revision: &str,
        failure: Option<&CodeFailure>,
    ) -> Result<Option<Result<FunctionConfig, ()>>, StoreError> {
        let result = self.inner.store.metadata().update_function(name, |f| {
            if f.revision_id != revision {
                return Err(());
            }
            apply_outcome(f, failure);
            Ok(())
        });
        if let Err(e) = &result {
            tracing::error!(function = name, error = %e, "could not record the function's state");
        }
        result
    }

    /// Versions published while the change was in progress share its fate: they
    /// snapshot the new code, so they fail with it.
    fn settle_versions(&self, name: &str, latest: &FunctionConfig, code_failed: bool) {
        let versions = match self.inner.store.metadata().list_versions(name) {
            Ok(versions) => versions,
            Err(e) => {
                tracing::error!(function = name, error = %e, "could not read versions");
                return;
            }
        };
        for v in versions {
            let Some(v) = settled_version(v, latest, code_failed) else {
                continue;
            };
            if let Err(e) = self.inner.store.metadata().put_version(&v) {
                tracing::error!(function = name, error = %e, "could not record a version's state");
            }
        }
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
}

/// `$LATEST` once its code was unpacked (`failure` is `None`) or could not be. The
/// state changes, so the revision does, as on Lambda.
fn apply_outcome(f: &mut FunctionConfig, failure: Option<&CodeFailure>) {
    f.revision_id = super::functions::new_revision();
    f.environment_revision = None;
    match failure {
        None => {
            f.state = State::Active;
            f.state_reason = None;
            f.state_reason_code = None;
            f.last_update_status = LastUpdateStatus::Successful;
            f.last_update_status_reason = None;
            f.last_update_status_reason_code = None;
            f.previous_code = None;
        }
        Some(failure) => {
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
}

/// Version `v` after the change of `latest` settled, if it was published while the
/// change was in progress (else it is settled already: `None`).
fn settled_version(
    mut v: FunctionConfig,
    latest: &FunctionConfig,
    code_failed: bool,
) -> Option<FunctionConfig> {
    if v.state != State::Pending && v.last_update_status != LastUpdateStatus::InProgress {
        return None;
    }
    let failed = code_failed || latest.state == State::Failed;
    v.state = if failed { State::Failed } else { State::Active };
    v.revision_id = super::functions::new_revision();
    v.state_reason = latest.state_reason.clone();
    v.state_reason_code = latest.state_reason_code.clone();
    v.last_update_status = latest.last_update_status;
    v.last_update_status_reason = latest.last_update_status_reason.clone();
    v.last_update_status_reason_code = latest.last_update_status_reason_code.clone();
    if failed && v.state_reason.is_none() {
        v.state_reason = latest.last_update_status_reason.clone();
        v.state_reason_code = latest.last_update_status_reason_code.clone();
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::testing::{self, code};

    fn function(state: State, update: LastUpdateStatus) -> FunctionConfig {
        FunctionConfig {
            code: code("new"),
            state,
            state_reason: Some("The function is being created.".into()),
            state_reason_code: Some("Creating".into()),
            last_update_status: update,
            ..testing::function("f")
        }
    }

    #[test]
    fn a_create_whose_code_unpacks_is_active() {
        let mut f = function(State::Pending, LastUpdateStatus::Successful);
        apply_outcome(&mut f, None);
        assert_eq!(f.state, State::Active);
        assert_eq!(f.state_reason, None);
        assert_eq!(f.last_update_status, LastUpdateStatus::Successful);
    }

    #[test]
    fn a_create_whose_code_cannot_unpack_fails() {
        let mut f = function(State::Pending, LastUpdateStatus::Successful);
        apply_outcome(&mut f, Some(&CodeFailure::Invalid("bad zip".into())));
        assert_eq!(f.state, State::Failed);
        assert_eq!(f.state_reason.as_deref(), Some("bad zip"));
        assert_eq!(
            f.state_reason_code.as_deref(),
            Some("InvalidZipFileException")
        );
        assert_eq!(f.last_update_status, LastUpdateStatus::Failed);
    }

    #[test]
    fn a_failed_update_goes_back_to_the_previous_code() {
        let mut f = function(State::Active, LastUpdateStatus::InProgress);
        f.state_reason = None;
        f.previous_code = Some(code("old"));
        apply_outcome(
            &mut f,
            Some(&CodeFailure::Internal {
                message: "disk".into(),
                disk_full: true,
            }),
        );
        assert_eq!(
            f.state,
            State::Active,
            "an update does not fail the function"
        );
        assert_eq!(f.code, code("old"));
        assert_eq!(f.previous_code, None);
        assert_eq!(f.last_update_status, LastUpdateStatus::Failed);
        assert_eq!(
            f.last_update_status_reason_code.as_deref(),
            Some("InternalError")
        );
    }

    #[test]
    fn versions_published_meanwhile_share_the_outcome() {
        let mut latest = function(State::Pending, LastUpdateStatus::Successful);
        apply_outcome(&mut latest, Some(&CodeFailure::Invalid("bad zip".into())));
        let pending = FunctionConfig {
            version: "1".into(),
            ..function(State::Pending, LastUpdateStatus::Successful)
        };
        let v = settled_version(pending.clone(), &latest, true).expect("settled");
        assert_eq!(v.state, State::Failed);
        assert_eq!(v.state_reason.as_deref(), Some("bad zip"));

        let mut ok = function(State::Pending, LastUpdateStatus::Successful);
        apply_outcome(&mut ok, None);
        let v = settled_version(pending, &ok, false).expect("settled");
        assert_eq!(v.state, State::Active);

        let done = FunctionConfig {
            version: "2".into(),
            ..function(State::Active, LastUpdateStatus::Successful)
        };
        assert!(settled_version(done, &latest, true).is_none());
    }
}
