//! Settings Lambda keeps beside a function's configuration: runtime management (per
//! `$LATEST` or version), recursive-loop detection (per function), and the code
//! signing config a function has (none: Hearth has no code signing configs). Stored
//! and returned; Hearth runs the one installed version of each runtime whatever they
//! say. The recursive-loop setting is obeyed by the invoke path's loop detection
//! (`recursion.rs`): `Terminate` drops the invocation that makes a loop, `Allow` runs it.

use hearth_model::alias::is_version_number;
use hearth_model::arn::{function_arn, LATEST};
use hearth_model::function_settings::{FunctionSettings, RecursiveLoop, RuntimeManagement};
use hearth_model::FunctionRef;

use crate::error::EngineError;
use crate::Engine;

impl Engine {
    /// The qualifier runtime management is kept under: `$LATEST` or an existing
    /// version; anything else is an unknown function.
    fn runtime_target(&self, r: &FunctionRef) -> Result<String, EngineError> {
        let entry = self.entry(r)?;
        let q = r.qualifier.as_deref().unwrap_or(LATEST);
        if q == LATEST || (is_version_number(q) && entry.versions.contains_key(q)) {
            Ok(q.to_string())
        } else {
            Err(EngineError::function_not_found(function_arn(
                &r.name,
                Some(q),
            )))
        }
    }

    pub(super) fn settings_of(
        &self,
        name: &str,
        qualifier: &str,
    ) -> Result<FunctionSettings, EngineError> {
        Ok(self
            .inner
            .store
            .resources()
            .function_settings(name, qualifier)?)
    }

    pub(super) fn edit_settings(
        &self,
        name: &str,
        qualifier: &str,
        f: impl FnOnce(&mut FunctionSettings),
    ) -> Result<FunctionSettings, EngineError> {
        let outcome =
            self.inner
                .store
                .resources()
                .update_function_settings(name, qualifier, |s| {
                    f(s);
                    Ok::<_, EngineError>(())
                })?;
        match outcome {
            None => Err(EngineError::function_not_found(function_arn(
                name,
                Some(qualifier).filter(|q| *q != LATEST),
            ))),
            Some(done) => done,
        }
    }

    /// GetRuntimeManagementConfig: the configuration (Lambda's default, `Auto`, if
    /// none was put).
    pub fn get_runtime_management(
        &self,
        r: &FunctionRef,
    ) -> Result<RuntimeManagement, EngineError> {
        let q = self.runtime_target(r)?;
        Ok(self
            .settings_of(&r.name, &q)?
            .runtime_management
            .unwrap_or_default())
    }

    /// PutRuntimeManagementConfig.
    pub fn put_runtime_management(
        &self,
        r: &FunctionRef,
        config: RuntimeManagement,
    ) -> Result<RuntimeManagement, EngineError> {
        let q = self.runtime_target(r)?;
        let stored = self.edit_settings(&r.name, &q, |s| s.runtime_management = Some(config))?;
        Ok(stored.runtime_management.unwrap_or_default())
    }

    /// GetFunctionRecursionConfig: `Terminate` unless `Allow` was put.
    pub fn get_recursion(&self, name: &str) -> Result<RecursiveLoop, EngineError> {
        self.function_entry(name)?;
        Ok(self
            .settings_of(name, LATEST)?
            .recursive_loop
            .unwrap_or_default())
    }

    /// PutFunctionRecursionConfig.
    pub fn put_recursion(
        &self,
        name: &str,
        value: RecursiveLoop,
    ) -> Result<RecursiveLoop, EngineError> {
        self.function_entry(name)?;
        let stored = self.edit_settings(name, LATEST, |s| s.recursive_loop = Some(value))?;
        Ok(stored.recursive_loop.unwrap_or_default())
    }

    /// GetFunctionCodeSigningConfig: checks the function (or version or alias)
    /// exists; it has no code signing config.
    pub fn check_function_exists(&self, r: &FunctionRef) -> Result<(), EngineError> {
        self.get_function(r).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use hearth_model::function_settings::UpdateRuntimeOn;

    use crate::changes::NewFunction;
    use crate::error::NotFound;
    use crate::testing::{create, engine, fref, new_function};

    use super::*;

    #[tokio::test]
    async fn settings_default_are_kept_per_version_and_go_with_the_function() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (engine, _) = engine(dir.path());
        create(
            &engine,
            NewFunction {
                publish: true,
                ..new_function("f")
            },
        )
        .await;
        assert_eq!(
            engine.get_runtime_management(&fref("f")).expect("default"),
            RuntimeManagement::default()
        );
        let manual = RuntimeManagement {
            update_runtime_on: UpdateRuntimeOn::Manual,
            runtime_version_arn: Some("arn:aws:lambda:us-east-1::runtime:abc".into()),
        };
        engine
            .put_runtime_management(&fref("f:1"), manual.clone())
            .expect("put");
        assert_eq!(
            engine.get_runtime_management(&fref("f:1")).expect("v1"),
            manual
        );
        assert_eq!(
            engine.get_runtime_management(&fref("f")).expect("latest"),
            RuntimeManagement::default()
        );
        assert!(matches!(
            engine.get_runtime_management(&fref("f:7")),
            Err(EngineError::NotFound(NotFound::Function { arn })) if arn.ends_with("f:7")
        ));
        assert_eq!(
            engine.get_recursion("f").expect("default"),
            RecursiveLoop::Terminate
        );
        engine
            .put_recursion("f", RecursiveLoop::Allow)
            .expect("put");
        assert_eq!(
            engine.get_recursion("f").expect("allow"),
            RecursiveLoop::Allow
        );
        engine.delete_function(&fref("f")).expect("delete");
        assert!(engine.get_recursion("f").is_err());
        create(&engine, new_function("f")).await;
        assert_eq!(
            engine.get_recursion("f").expect("new"),
            RecursiveLoop::Terminate
        );
    }
}
