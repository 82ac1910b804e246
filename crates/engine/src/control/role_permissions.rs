//! What a function's execution role lets Lambda do on the function's behalf. Lambda acts
//! with the role when it sends an asynchronous invocation's record to a destination, so
//! a function destination is accepted (`PutFunctionEventInvokeConfig`) and later sent
//! to only where the role's identity policies, or the destination's resource policy
//! (AddPermission's), allow `lambda:InvokeFunction` on it. The same questions serve the
//! authorization of a role's own sessions (`role_policies`) and the api's reading of a
//! function's resource policy (`function_resource_policy`).
//!
//! Only with role checking on (`EngineConfig::check_roles`): without it a function's
//! role need not exist, and destinations are sent to as before.

use std::sync::Arc;

use hearth_iam_policy::{
    evaluate, parse, Policy, PolicyKind, RequestContext, RequestPrincipal, ResourcePolicy,
};
use hearth_model::arn::{function_arn, key_account, key_name, REGION};
use hearth_model::iam::{managed, parse_role_arn};
use hearth_model::FunctionRef;

use super::roles::IamError;
use crate::error::EngineError;
use crate::Engine;

/// The action a destination function is sent a record with.
const INVOKE: &str = "lambda:InvokeFunction";

/// Lambda's answer when the role may not send to a destination.
pub(crate) fn cannot_invoke(destination: &str) -> EngineError {
    EngineError::Invalid(format!(
        "The function execution role does not have permissions to call InvokeFunction on {destination}"
    ))
}

impl Engine {
    /// The identity policies of `role_arn`: its inline policies and the documents of the
    /// managed policies attached to it. None for a role that is gone (a session of it
    /// keeps its credentials and nothing else) or an ARN that names no role.
    pub fn role_policies(&self, role_arn: &str) -> Result<Vec<Policy>, IamError> {
        let Some((account, name)) = parse_role_arn(role_arn) else {
            return Ok(Vec::new());
        };
        let role = match self.get_role(account, name) {
            Ok(role) => role,
            Err(IamError::NoSuchRole { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let managed = role
            .attached_policies
            .iter()
            .filter_map(|arn| managed::by_arn(arn).map(|p| p.document));
        role.inline_policies
            .values()
            .map(String::as_str)
            .chain(managed)
            .map(|doc| {
                // A stored document was checked when it was stored. One that no longer
                // parses (a grammar change) fails the question rather than be skipped.
                parse(doc, PolicyKind::Identity).map_err(|e| {
                    EngineError::internal(format!(
                        "the identity policy of {role_arn} does not parse: {e}"
                    ))
                    .into()
                })
            })
            .collect()
    }

    /// The resource policy (AddPermission's) of the function, version or alias `r`, if it
    /// has one that parses.
    /// Kept parsed in the registry until the function changes: most API requests and
    /// every request of the HTTP fronts read it.
    pub fn function_resource_policy(&self, r: &FunctionRef) -> Option<Arc<Policy>> {
        let qualifier = r.qualifier.as_deref().unwrap_or_default();
        let loaded = self
            .inner
            .registry
            .policy(&r.name, qualifier, || -> Result<_, EngineError> {
                let Ok(stored) = self.get_policy(r) else {
                    return Ok(None);
                };
                match parse(&stored.document(), PolicyKind::Resource) {
                    Ok(p) => Ok(Some(p)),
                    Err(e) => {
                        tracing::warn!(function = %r.name, error = %e, "a stored function policy does not parse; ignored");
                        Ok(None)
                    }
                }
            });
        loaded.ok().flatten()
    }

    /// Whether the execution role of `function` (a key) at `qualifier` (`$LATEST`, a
    /// version or an alias: its primary version's role) may invoke the function
    /// `destination` (its ARN, in `function`'s account): always true with role checking
    /// off.
    pub fn role_may_send_to(
        &self,
        function: &str,
        qualifier: &str,
        destination: &str,
    ) -> Result<bool, EngineError> {
        if !self.inner.check_roles {
            return Ok(true);
        }
        let source = FunctionRef {
            name: function.to_string(),
            qualifier: Some(qualifier.to_string()),
        };
        let role = match self.select(&source, |a| &a.function_version) {
            Ok(config) => config.role.clone(),
            // Gone since (deleted with its versions): no role to send anything with.
            Err(EngineError::NotFound(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        let identity = self.role_policies(&role).map_err(|e| match e {
            IamError::Engine(e) => e,
            other => EngineError::internal(other.to_string()),
        })?;
        let account = key_account(function);
        let Ok(target) = FunctionRef::parse(destination, account) else {
            return Ok(false);
        };
        let Some((role_account, role_name)) = parse_role_arn(&role) else {
            return Ok(false);
        };
        // The session Lambda holds for the function: the role's, named after it.
        let principal = RequestPrincipal::assumed_role(role_account, role_name, key_name(function));
        let mut ctx = RequestContext::new(principal).at_time(chrono::Utc::now().timestamp());
        ctx.set("aws:RequestedRegion", REGION);
        let resource_policy = self.function_resource_policy(&target);
        let outcome = evaluate(
            &ctx,
            INVOKE,
            &function_arn(&target.name, target.qualifier.as_deref()),
            &identity,
            ResourcePolicy {
                account: key_account(&target.name),
                policy: resource_policy.as_deref(),
            },
        );
        Ok(outcome.allowed())
    }
}

impl Engine {
    /// Whether the execution role of `function` (a key) at `qualifier` lets Lambda call
    /// `action` on `resource` (an ARN of another service, whose own resource policy
    /// Hearth does not hold here): what a mapping needs of the role before it polls its
    /// source (`sqs:ReceiveMessage` on the queue). Always true with role checking off.
    pub fn role_may_call(
        &self,
        function: &str,
        qualifier: Option<&str>,
        action: &str,
        resource: &str,
    ) -> Result<bool, EngineError> {
        if !self.inner.check_roles {
            return Ok(true);
        }
        let source = FunctionRef {
            name: function.to_string(),
            qualifier: qualifier.map(str::to_string),
        };
        let role = self.select(&source, |a| &a.function_version)?.role.clone();
        let identity = self.role_policies(&role).map_err(|e| match e {
            IamError::Engine(e) => e,
            other => EngineError::internal(other.to_string()),
        })?;
        let Some((role_account, role_name)) = parse_role_arn(&role) else {
            return Ok(false);
        };
        let principal = RequestPrincipal::assumed_role(role_account, role_name, key_name(function));
        let mut ctx = RequestContext::new(principal).at_time(chrono::Utc::now().timestamp());
        ctx.set("aws:RequestedRegion", REGION);
        let outcome = evaluate(
            &ctx,
            action,
            resource,
            &identity,
            ResourcePolicy {
                account: role_account,
                policy: None,
            },
        );
        Ok(outcome.allowed())
    }
}
