//! A function's egress policy (a Hearth extension, docs/egress.md): kept in its
//! settings beside `$LATEST`, cached in the registry for the invoke path, and given to
//! every environment started after it is set (warm ones started under another policy
//! are not reused).

use hearth_model::arn::LATEST;
use hearth_model::egress::EgressPolicy;
use hearth_store::MetadataChange;

use crate::error::EngineError;
use crate::Engine;

/// A function's egress as Hearth shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressView {
    /// The policy its environments get.
    pub policy: EgressPolicy,
    /// Whether it is the function's own (`false`: the server's default).
    pub own: bool,
    /// Whether the sandbox applies it (a jail with egress networking).
    pub enforced: bool,
}

impl Engine {
    /// The policy environments of `name` get; the function must exist.
    pub(crate) fn egress_of(&self, name: &str) -> Result<EgressPolicy, EngineError> {
        Ok(self
            .function_entry(name)?
            .egress
            .clone()
            .unwrap_or_else(|| self.inner.egress_default.clone()))
    }

    /// The function's egress.
    pub fn get_egress(&self, name: &str) -> Result<EgressView, EngineError> {
        let own = self.function_entry(name)?.egress.clone();
        Ok(self.egress_view(own))
    }

    /// Sets the function's own policy, or with `None` returns it to the server's default.
    pub fn put_egress(
        &self,
        name: &str,
        policy: Option<EgressPolicy>,
    ) -> Result<EgressView, EngineError> {
        self.function_entry(name)?;
        let stored = self.edit_settings(name, LATEST, |s| s.egress = policy)?;
        // Settings changes are not store notifications: the cached entry goes now.
        self.inner
            .registry
            .forget(&MetadataChange::Function(name.to_string()));
        Ok(self.egress_view(stored.egress))
    }

    fn egress_view(&self, own: Option<EgressPolicy>) -> EgressView {
        EgressView {
            own: own.is_some(),
            policy: own.unwrap_or_else(|| self.inner.egress_default.clone()),
            enforced: self.inner.executor.enforces_egress(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{create, engine, new_function};

    use super::*;

    #[tokio::test]
    async fn a_functions_policy_is_its_own_until_cleared_and_reaches_its_run_spec() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (e, _) = engine(dir.path());
        create(&e, new_function("f")).await;
        let default = EgressView {
            policy: EgressPolicy::All,
            own: false,
            enforced: false,
        };
        assert_eq!(e.get_egress("f").expect("get"), default);
        let allow: EgressPolicy = "tcp:192.0.2.0/24:443".parse().expect("policy");
        let set = e.put_egress("f", Some(allow.clone())).expect("put");
        assert_eq!(
            set,
            EgressView {
                policy: allow.clone(),
                own: true,
                enforced: false
            }
        );
        assert_eq!(e.get_egress("f").expect("get"), set);
        let spec = e
            .resolve_target(&hearth_model::FunctionRef {
                name: "f".into(),
                qualifier: None,
            })
            .expect("resolve")
            .spec;
        assert_eq!(spec.egress, allow);
        assert!(spec.environment_key.ends_with("|tcp:192.0.2.0/24:443"));
        assert_eq!(e.put_egress("f", None).expect("clear"), default);
        assert!(matches!(
            e.get_egress("nope"),
            Err(EngineError::NotFound(_))
        ));
    }
}
