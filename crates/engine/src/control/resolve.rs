//! Resolution: a reference (`$LATEST`, a version number, an alias with weighted
//! routing) to the configuration it names, and of that configuration to the
//! [`RunSpec`] the executor runs.

use std::sync::Arc;

use hearth_model::alias::{is_version_number, Alias};
use hearth_model::arn::{function_arn, LATEST};
use hearth_model::egress::EgressPolicy;
use hearth_model::{FunctionConfig, FunctionRef, LastUpdateStatus, State};

use super::registry::Entry;
use super::versions::version_of;
use crate::error::{Conflict, EngineError};
use crate::executor::{environment_key, pool_key, RunSpec};
use crate::Engine;

/// What an invocation runs: the spec of the version it resolved to.
pub(crate) struct Target {
    /// Made once per version for as long as the function's cached entry lives (any
    /// change to the function replaces the entry), not for every invocation.
    pub spec: Arc<RunSpec>,
    /// The qualifier the caller named (alias or version), if any: provisioned
    /// concurrency is configured per qualifier.
    pub qualifier: Option<String>,
}

/// A uniform draw in [0, 1) for weighted alias routing.
pub(super) fn uniform() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}

impl Engine {
    /// The configuration `r` names: `$LATEST`, a version, or the version of an alias
    /// that `pick` chooses.
    pub(crate) fn select(
        &self,
        r: &FunctionRef,
        pick: impl FnOnce(&Alias) -> &str,
    ) -> Result<Arc<FunctionConfig>, EngineError> {
        select_in(&*self.entry(r)?, r, pick)
    }

    /// What an invocation of `r` runs. An alias with routing picks its additional
    /// version with that version's weight.
    pub(crate) fn resolve_target(&self, r: &FunctionRef) -> Result<Target, EngineError> {
        // An invocation without a qualifier runs $LATEST, and AWS names it so when the
        // function does not exist.
        let entry = self
            .inner
            .registry
            .get(&self.inner.store, &r.name)?
            .ok_or_else(|| {
                let qualifier = r.qualifier.as_deref().unwrap_or(LATEST);
                EngineError::function_not_found(function_arn(&r.name, Some(qualifier)))
            })?;
        let config = match r.qualifier.as_deref() {
            None => entry.latest.clone(),
            Some(_) => select_in(&entry, r, |a| a.pick_version(uniform()))?,
        };
        runnable(&config)?;
        let spec = entry.spec(&config, || {
            let egress = entry
                .egress
                .clone()
                .unwrap_or_else(|| self.inner.egress_default.clone());
            spec_of(&config, egress)
        });
        Ok(Target {
            spec,
            qualifier: r.qualifier.clone().filter(|q| q != LATEST),
        })
    }
}

/// The configuration `r` names in its function's `entry` (see [`Engine::select`]).
fn select_in(
    entry: &Entry,
    r: &FunctionRef,
    pick: impl FnOnce(&Alias) -> &str,
) -> Result<Arc<FunctionConfig>, EngineError> {
    let not_found =
        || EngineError::function_not_found(function_arn(&r.name, r.qualifier.as_deref()));
    match r.qualifier.as_deref() {
        None | Some(LATEST) => Ok(entry.latest.clone()),
        Some(q) if is_version_number(q) => entry.versions.get(q).cloned().ok_or_else(not_found),
        Some(q) => {
            let alias = entry.aliases.get(q).ok_or_else(not_found)?;
            version_of(entry, pick(alias)).ok_or_else(not_found)
        }
    }
}

/// What an invocation of `config` runs, if it can run now, with the default egress.
#[cfg(test)]
pub(crate) fn run_spec(config: &FunctionConfig) -> Result<RunSpec, EngineError> {
    runnable(config)?;
    Ok(spec_of(config, hearth_model::egress::EgressPolicy::All))
}

/// Whether `config` can run now: it is `Active`.
pub(crate) fn runnable(config: &FunctionConfig) -> Result<(), EngineError> {
    if config.state != State::Active {
        return Err(Conflict::NotActive {
            state: config.state,
        }
        .into());
    }
    Ok(())
}

/// The spec of `config`, whatever its state: itself, except that while an update of
/// `$LATEST`'s code is in progress, invocations go to the previous code (as Lambda's
/// do) in environments of their own (a revision of their own keeps them apart in the
/// pool).
pub(crate) fn spec_of(config: &FunctionConfig, egress: EgressPolicy) -> RunSpec {
    let (code, revision) = match &config.previous_code {
        Some(previous)
            if config.is_latest() && config.last_update_status == LastUpdateStatus::InProgress =>
        {
            (previous.clone(), format!("{}~previous", config.revision_id))
        }
        // A PublishVersion's new RevisionId does not make `$LATEST`'s environments stale.
        _ => (
            config.code.clone(),
            config
                .environment_revision
                .clone()
                .unwrap_or_else(|| config.revision_id.clone()),
        ),
    };
    let environment_key = environment_key(&revision, &egress);
    RunSpec {
        function: config.name.clone(),
        role: config.role.clone(),
        version: config.version.clone(),
        revision,
        runtime: config.runtime.clone(),
        handler: config.handler.clone(),
        timeout_s: config.timeout,
        memory_mb: config.memory_size,
        ephemeral_storage_mb: config.ephemeral_storage,
        environment: config.environment.clone(),
        code,
        log_group: config.log_group(),
        logging: config.logging.clone(),
        runtime_version_arn: hearth_model::function::runtime_version_arn(
            &config.runtime,
            config.runtime_version.as_deref(),
        ),
        egress,
        architecture: config
            .architectures
            .first()
            .cloned()
            .unwrap_or_else(|| "x86_64".to_string()),
        layers: config.layers.iter().map(|l| l.code.clone()).collect(),
        tracing: config.tracing,
        fresh_env: config.fresh_env,
        pool_key: pool_key(&config.name, &config.version),
        environment_key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::testing::{code, function};

    fn config() -> FunctionConfig {
        FunctionConfig {
            runtime: "python3.12".into(),
            handler: "app.handler".into(),
            description: "not run".into(),
            timeout: 7,
            memory_size: 256,
            ephemeral_storage: 1024,
            environment: [("A".to_string(), "1".to_string())].into(),
            code: code("new"),
            revision_id: "r1".into(),
            ..function("f")
        }
    }

    #[test]
    fn a_spec_carries_what_an_environment_needs() {
        let spec = run_spec(&config()).expect("active");
        assert_eq!(
            spec,
            RunSpec {
                function: "f".into(),
                role: function("f").role,
                version: LATEST.into(),
                revision: "r1".into(),
                runtime: "python3.12".into(),
                handler: "app.handler".into(),
                timeout_s: 7,
                memory_mb: 256,
                ephemeral_storage_mb: 1024,
                environment: [("A".to_string(), "1".to_string())].into(),
                code: code("new"),
                log_group: "/aws/lambda/f".into(),
                logging: Default::default(),
                runtime_version_arn: hearth_model::function::runtime_version_arn(
                    "python3.12",
                    None
                ),
                egress: EgressPolicy::All,
                architecture: "x86_64".into(),
                tracing: hearth_model::settings::TracingMode::PassThrough,
                layers: Vec::new(),
                fresh_env: false,
                pool_key: "f#$LATEST".into(),
                environment_key: format!("r1|{}", EgressPolicy::All),
            }
        );
        let fresh = FunctionConfig {
            fresh_env: true,
            ..config()
        };
        assert!(run_spec(&fresh).expect("active").fresh_env);
    }

    #[test]
    fn only_active_functions_run() {
        for state in [State::Pending, State::Failed, State::Inactive] {
            let c = FunctionConfig { state, ..config() };
            match run_spec(&c) {
                Err(EngineError::Conflict(Conflict::NotActive { state: s })) => {
                    assert_eq!(s, state)
                }
                other => panic!("{state:?} ran: {other:?}"),
            }
        }
    }

    #[test]
    fn an_update_in_progress_runs_the_previous_code_apart() {
        let updating = FunctionConfig {
            previous_code: Some(code("old")),
            last_update_status: LastUpdateStatus::InProgress,
            ..config()
        };
        let spec = run_spec(&updating).expect("active");
        assert_eq!(spec.code, code("old"));
        assert_eq!(spec.revision, "r1~previous");
        // Settled, or a published version (its own snapshot): the code it names.
        let settled = FunctionConfig {
            previous_code: Some(code("old")),
            ..config()
        };
        assert_eq!(run_spec(&settled).expect("active").code, code("new"));
        let version = FunctionConfig {
            version: "1".into(),
            ..updating
        };
        let spec = run_spec(&version).expect("active");
        assert_eq!((spec.code, spec.revision), (code("new"), "r1".into()));
    }

    #[test]
    fn publishing_leaves_latest_environments_current() {
        let published = FunctionConfig {
            revision_id: "r2".into(),
            environment_revision: Some("r1".into()),
            ..config()
        };
        assert_eq!(run_spec(&published).expect("active").revision, "r1");
    }

    #[tokio::test]
    async fn a_spec_is_made_once_per_version_until_the_function_changes() {
        use crate::testing::{create, engine, fref};
        let dir = tempfile::tempdir().expect("tempdir");
        let (e, _) = engine(dir.path());
        create(&e, crate::testing::new_function("f")).await;
        let spec = |r: &str| e.resolve_target(&fref(r)).expect("resolve").spec;
        let first = spec("f");
        assert!(Arc::ptr_eq(&first, &spec("f")));
        assert!(Arc::ptr_eq(&first, &spec("f:$LATEST")));
        let one = e
            .publish_version(&fref("f"), Default::default())
            .expect("1");
        let v1 = spec("f:1");
        assert_eq!(v1.version, one.version);
        assert!(Arc::ptr_eq(&v1, &spec("f:1")));
        // A change to the function is a new entry, and a new spec with what changed.
        assert!(e.put_fresh_env("f", true).expect("put"));
        let changed = spec("f");
        assert!(changed.fresh_env && !first.fresh_env);
        assert_ne!(changed.environment_key, first.environment_key);
        assert!(matches!(
            e.resolve_target(&fref("nope")),
            Err(EngineError::NotFound(_))
        ));
    }
}
