//! Resolution: a reference (`$LATEST`, a version number, an alias with weighted
//! routing) to the configuration it names, and of that configuration to the
//! [`RunSpec`] the executor runs.

use std::sync::Arc;

use hearth_model::alias::{is_version_number, Alias};
use hearth_model::arn::{function_arn, LATEST};
use hearth_model::egress::EgressPolicy;
use hearth_model::{FunctionConfig, FunctionRef, LastUpdateStatus, State};

use super::versions::version_of;
use crate::error::{Conflict, EngineError};
use crate::executor::RunSpec;
use crate::Engine;

/// What an invocation runs: the spec of the version it resolved to.
pub(crate) struct Target {
    pub spec: RunSpec,
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
        let entry = self.entry(r)?;
        let not_found =
            || EngineError::function_not_found(function_arn(&r.name, r.qualifier.as_deref()));
        match r.qualifier.as_deref() {
            None | Some(LATEST) => Ok(entry.latest.clone()),
            Some(q) if is_version_number(q) => entry.versions.get(q).cloned().ok_or_else(not_found),
            Some(q) => {
                let alias = entry.aliases.get(q).ok_or_else(not_found)?;
                version_of(&entry, pick(alias)).ok_or_else(not_found)
            }
        }
    }

    /// What an invocation of `r` runs. An alias with routing picks its additional
    /// version with that version's weight.
    pub(crate) fn resolve_target(&self, r: &FunctionRef) -> Result<Target, EngineError> {
        // An invocation without a qualifier runs $LATEST, and AWS names it so when the
        // function does not exist.
        let named = FunctionRef {
            name: r.name.clone(),
            qualifier: Some(r.qualifier.clone().unwrap_or_else(|| LATEST.to_string())),
        };
        let config = self.select(&named, |a| a.pick_version(uniform()))?;
        runnable(&config)?;
        Ok(Target {
            spec: spec_of(&config, self.egress_of(&r.name)?),
            qualifier: r.qualifier.clone().filter(|q| q != LATEST),
        })
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
}
