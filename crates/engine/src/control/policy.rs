//! Resource-based policies: AddPermission, RemovePermission, GetPolicy. One policy per
//! function (unqualified), version or alias, with its own revision. Stored and
//! returned; nothing enforces them until requests are signed.

use hearth_model::alias::is_version_number;
use hearth_model::arn::{function_arn, LATEST};
use hearth_model::policy::{NewPermission, Policy, Statement};
use hearth_model::FunctionRef;

use super::functions::new_revision;
use crate::error::{Conflict, EngineError, NotFound};
use crate::Engine;

/// What a policy operation names, once it is known to exist.
struct Target {
    /// The key the policy is kept under: `$LATEST` when unqualified.
    qualifier: String,
    /// The statements' `Resource`.
    arn: String,
    /// The function's, version's or alias's revision: the policy's precondition
    /// before it has one of its own.
    revision_id: String,
    alias: bool,
}

/// Whether `q` names an alias (not a version number, in the alias name pattern).
fn is_alias_name(q: &str) -> bool {
    !is_version_number(q)
        && q.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Engine {
    /// The function, version or alias `r` names, or what Lambda answers when it is
    /// missing: `missing_function` for the function itself.
    fn policy_target(
        &self,
        r: &FunctionRef,
        missing_function: impl FnOnce() -> EngineError,
    ) -> Result<Target, EngineError> {
        let entry = self
            .inner
            .registry
            .get(&self.inner.store, &r.name)?
            .ok_or_else(missing_function)?;
        let q = r.qualifier.as_deref().unwrap_or(LATEST);
        let qualified_arn = function_arn(&r.name, Some(q));
        let (revision_id, alias) = if q == LATEST {
            (entry.latest.revision_id.clone(), false)
        } else if let Some(v) = entry.versions.get(q) {
            (v.revision_id.clone(), false)
        } else if let Some(a) = entry.aliases.get(q) {
            (a.revision_id.clone(), true)
        } else if is_alias_name(q) {
            return Err(NotFound::AliasTarget { arn: qualified_arn }.into());
        } else {
            return Err(EngineError::function_not_found(qualified_arn));
        };
        Ok(Target {
            qualifier: q.to_string(),
            arn: function_arn(&r.name, r.qualifier.as_deref().filter(|q| *q != LATEST)),
            revision_id,
            alias,
        })
    }

    /// AddPermission: adds a statement to the policy of the function, version or
    /// alias, and returns it.
    pub fn add_permission(
        &self,
        r: &FunctionRef,
        p: NewPermission,
    ) -> Result<Statement, EngineError> {
        if r.qualifier.as_deref() == Some(LATEST) {
            return Err(EngineError::Invalid(
                "We currently do not support adding policies for $LATEST.".into(),
            ));
        }
        let target = self.policy_target(r, || {
            EngineError::function_not_found(function_arn(&r.name, None))
        })?;
        let statement = p.statement(&target.arn);
        let added = statement.clone();
        let outcome =
            self.inner
                .store
                .resources()
                .update_policy(&r.name, &target.qualifier, |policy| {
                    let current = policy
                        .as_ref()
                        .map_or(&target.revision_id, |p| &p.revision_id);
                    if p.revision_id.as_ref().is_some_and(|want| want != current) {
                        return Err(Conflict::PolicyRevisionMismatch {
                            alias: target.alias,
                        }
                        .into());
                    }
                    let policy = policy.get_or_insert_with(|| Policy {
                        revision_id: String::new(),
                        statements: Vec::new(),
                    });
                    if policy.statements.iter().any(|s| s.sid == statement.sid) {
                        return Err(EngineError::from(Conflict::StatementExists {
                            sid: statement.sid.clone(),
                        }));
                    }
                    policy.statements.push(statement);
                    policy.revision_id = new_revision();
                    Ok(())
                })?;
        match outcome {
            None => Err(EngineError::function_not_found(function_arn(
                &r.name,
                r.qualifier.as_deref(),
            ))),
            Some(done) => done.map(|_| added),
        }
    }

    /// RemovePermission: removes statement `sid`; the policy goes with its last one.
    pub fn remove_permission(
        &self,
        r: &FunctionRef,
        sid: &str,
        revision_id: Option<&str>,
    ) -> Result<(), EngineError> {
        let target = self.policy_target(r, || {
            NotFound::PolicyOf {
                arn: function_arn(&r.name, r.qualifier.as_deref()),
            }
            .into()
        })?;
        let outcome =
            self.inner
                .store
                .resources()
                .update_policy(&r.name, &target.qualifier, |policy| {
                    let Some(current) = policy.as_mut() else {
                        return Err(EngineError::from(NotFound::NoPolicy));
                    };
                    if revision_id.is_some_and(|want| want != current.revision_id) {
                        return Err(Conflict::PolicyRevisionMismatch {
                            alias: target.alias,
                        }
                        .into());
                    }
                    let before = current.statements.len();
                    current.statements.retain(|s| s.sid != sid);
                    if current.statements.len() == before {
                        return Err(NotFound::Statement { sid: sid.into() }.into());
                    }
                    if current.statements.is_empty() {
                        *policy = None;
                    } else {
                        current.revision_id = new_revision();
                    }
                    Ok(())
                })?;
        match outcome {
            None => Err(NotFound::PolicyOf {
                arn: function_arn(&r.name, r.qualifier.as_deref()),
            }
            .into()),
            Some(done) => done.map(|_| ()),
        }
    }

    /// GetPolicy: the policy of the function, version or alias.
    pub fn get_policy(&self, r: &FunctionRef) -> Result<Policy, EngineError> {
        let target = self
            .policy_target(r, || NotFound::Resource.into())
            .map_err(|e| match e {
                EngineError::NotFound(_) => NotFound::Resource.into(),
                other => other,
            })?;
        self.inner
            .store
            .resources()
            .policy(&r.name, &target.qualifier)?
            .ok_or_else(|| NotFound::Resource.into())
    }
}

#[cfg(test)]
mod tests {
    use hearth_model::policy::AddPermissionRequest;

    use crate::changes::NewFunction;
    use crate::testing::{create, engine, fref, new_function};

    use super::*;

    fn permission(sid: &str, revision_id: Option<&str>) -> NewPermission {
        AddPermissionRequest {
            statement_id: Some(sid.into()),
            action: Some("lambda:InvokeFunction".into()),
            principal: Some("s3.amazonaws.com".into()),
            revision_id: revision_id.map(str::to_string),
            ..Default::default()
        }
        .validated()
        .expect("valid")
    }

    #[tokio::test]
    async fn the_cached_parsed_policy_follows_every_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (engine, _) = engine(dir.path());
        create(&engine, new_function("f")).await;
        let statements = |e: &Engine| {
            e.function_resource_policy(&fref("f"))
                .map_or(0, |p| p.statements.len())
        };
        assert_eq!(statements(&engine), 0);
        engine
            .add_permission(&fref("f"), permission("a", None))
            .expect("add");
        assert_eq!(statements(&engine), 1, "an added statement is seen at once");
        engine
            .add_permission(&fref("f"), permission("b", None))
            .expect("add");
        assert_eq!(statements(&engine), 2);
        engine
            .remove_permission(&fref("f"), "a", None)
            .expect("remove");
        assert_eq!(statements(&engine), 1, "so is a removed one");
    }

    #[tokio::test]
    async fn policies_keep_statements_revisions_and_lambdas_errors() {
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
        assert!(matches!(
            engine.get_policy(&fref("f")),
            Err(EngineError::NotFound(NotFound::Resource))
        ));
        let s = engine
            .add_permission(&fref("f"), permission("a", None))
            .expect("add");
        assert_eq!(s.resource, function_arn("f", None));
        assert!(matches!(
            engine.add_permission(&fref("f"), permission("a", None)),
            Err(EngineError::Conflict(Conflict::StatementExists { .. }))
        ));
        let rev = engine.get_policy(&fref("f")).expect("policy").revision_id;
        assert!(matches!(
            engine.add_permission(&fref("f"), permission("b", Some("wrong"))),
            Err(EngineError::Conflict(Conflict::PolicyRevisionMismatch {
                alias: false
            }))
        ));
        engine
            .add_permission(&fref("f"), permission("b", Some(&rev)))
            .expect("right revision");
        // A version's policy is its own, on its qualified ARN.
        let v = engine
            .add_permission(&fref("f:1"), permission("a", None))
            .expect("v1");
        assert_eq!(v.resource, function_arn("f", Some("1")));
        assert_eq!(
            engine.get_policy(&fref("f")).expect("f").statements.len(),
            2
        );
        assert!(matches!(
            engine.add_permission(&fref("f:$LATEST"), permission("c", None)),
            Err(EngineError::Invalid(_))
        ));
        assert!(matches!(
            engine.add_permission(&fref("f:nope"), permission("c", None)),
            Err(EngineError::NotFound(NotFound::AliasTarget { .. }))
        ));
        assert!(matches!(
            engine.add_permission(&fref("f:42"), permission("c", None)),
            Err(EngineError::NotFound(NotFound::Function { .. }))
        ));
        assert!(matches!(
            engine.remove_permission(&fref("f"), "zz", None),
            Err(EngineError::NotFound(NotFound::Statement { .. }))
        ));
        assert!(matches!(
            engine.remove_permission(&fref("g"), "a", None),
            Err(EngineError::NotFound(NotFound::PolicyOf { .. }))
        ));
        engine
            .remove_permission(&fref("f"), "a", None)
            .expect("remove");
        engine
            .remove_permission(&fref("f"), "b", None)
            .expect("remove");
        assert!(matches!(
            engine.remove_permission(&fref("f"), "b", None),
            Err(EngineError::NotFound(NotFound::NoPolicy))
        ));
        engine
            .delete_function(&fref("f:1"))
            .expect("delete version");
        assert!(matches!(
            engine.get_policy(&fref("f:1")),
            Err(EngineError::NotFound(NotFound::Resource))
        ));
    }
}
