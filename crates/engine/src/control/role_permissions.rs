//! What a function's execution role lets Lambda do on the function's behalf. Lambda acts
//! with the role when it sends an asynchronous invocation's record to a destination or
//! its event to the dead-letter queue, so a destination (`PutFunctionEventInvokeConfig`)
//! or dead-letter target (`DeadLetterConfig`) is accepted and later sent to only where
//! the role's identity policies allow `lambda:InvokeFunction` (a function's resource
//! policy, AddPermission's, may allow it too), `sqs:SendMessage` or `sns:Publish` on it. The same questions serve the
//! authorization of a role's own sessions (`role_policies`) and the api's reading of a
//! function's resource policy (`function_resource_policy`).
//!
//! Only with role checking on (`EngineConfig::check_roles`): without it a function's
//! role need not exist, and destinations are sent to as before.

use std::sync::Arc;

use hearth_iam_policy::{
    evaluate, parse, Policy, PolicyKind, RequestContext, RequestPrincipal, ResourcePolicy,
};
use hearth_model::arn::{arn_account, function_arn, key_account, key_name, REGION};
use hearth_model::event_invoke::send_operation;
use hearth_model::iam::{managed, parse_role_arn};
use hearth_model::FunctionRef;

use super::roles::IamError;
use crate::error::EngineError;
use crate::Engine;

/// The action a destination function is sent a record with.
const INVOKE: &str = "lambda:InvokeFunction";

/// Lambda's answer when the role may not send to a destination.
pub(crate) fn cannot_send(destination: &str) -> EngineError {
    let operation = send_operation(destination).map_or("InvokeFunction", |(_, op)| op);
    EngineError::Invalid(format!(
        "The function execution role does not have permissions to call {operation} on {destination}"
    ))
}

/// Lambda's answer when the role may not send to the dead-letter queue or topic a
/// function's `DeadLetterConfig` names (its text, as CloudFormation users meet it).
pub fn dead_letters_refused(target: &str) -> EngineError {
    let (operation, service) = match target.split(':').nth(2) {
        Some("sns") => ("Publish", "SNS"),
        _ => ("SendMessage", "SQS"),
    };
    EngineError::Invalid(format!(
        "The provided execution role does not have permissions to call {operation} on {service}"
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
    /// version or an alias: its primary version's role) may hand something to
    /// `destination`: invoke the function, send to the SQS queue or publish to the SNS
    /// topic it names (in `function`'s account unless the ARN names another). Always true
    /// with role checking off.
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
        self.role_may_send(&role, function, destination)
    }

    /// Whether `role`, as the session Lambda holds for the function `function` (a key),
    /// may hand something to `destination` (see [`Engine::role_may_send_to`]). A function
    /// is asked with its resource policy too; a queue's or topic's own policy is not
    /// consulted, so a destination in another account is refused.
    pub fn role_may_send(
        &self,
        role: &str,
        function: &str,
        destination: &str,
    ) -> Result<bool, EngineError> {
        if !self.inner.check_roles {
            return Ok(true);
        }
        let Some((action, _)) = send_operation(destination) else {
            return Ok(false);
        };
        let (resource, owner, resource_policy) = if action == INVOKE {
            let Ok(target) = FunctionRef::parse(destination, key_account(function)) else {
                return Ok(false);
            };
            (
                function_arn(&target.name, target.qualifier.as_deref()),
                key_account(&target.name).to_string(),
                self.function_resource_policy(&target),
            )
        } else {
            let Some(owner) = arn_account(destination) else {
                return Ok(false);
            };
            (destination.to_string(), owner.to_string(), None)
        };
        self.role_allows(
            role,
            function,
            action,
            &resource,
            &owner,
            resource_policy.as_deref(),
        )
    }

    /// Whether `role` may be assumed by the service principal `service` for `source_arn`
    /// (its trust policy, with `aws:SourceArn` and `aws:SourceAccount`) and, so assumed,
    /// call `action` on `resource` (an ARN; its account owns it), whose resource policy,
    /// if Hearth holds one, is `resource_policy`: what EventBridge Scheduler needs of a
    /// schedule's `RoleArn` to call its target. Always true with role checking off.
    pub fn role_may_act(
        &self,
        role: &str,
        service: &str,
        source_arn: &str,
        action: &str,
        resource: &str,
        resource_policy: Option<&Policy>,
    ) -> Result<bool, EngineError> {
        if !self.inner.check_roles {
            return Ok(true);
        }
        let (Some(owner), Some((role_account, role_name))) =
            (arn_account(resource), parse_role_arn(role))
        else {
            return Ok(false);
        };
        let mut ctx = RequestContext::new(RequestPrincipal::service(service))
            .at_time(chrono::Utc::now().timestamp());
        ctx.set("aws:SourceArn", source_arn);
        if let Some(a) = arn_account(source_arn) {
            ctx.set("aws:SourceAccount", a);
        }
        let trusted = match self.role_trusts_service(role_account, role_name, &ctx) {
            Ok(t) => t,
            Err(IamError::Engine(e)) => return Err(e),
            // No such role: nothing to act with.
            Err(_) => false,
        };
        if !trusted {
            return Ok(false);
        }
        // The session is named after the service (`scheduler`).
        let session = service.split('.').next().unwrap_or(service);
        self.role_allows(role, session, action, resource, owner, resource_policy)
    }

    /// Whether `role`, as the session Lambda holds for the function `function` (a key,
    /// the session's name), may call `action` on `resource`, owned by `owner`, whose
    /// resource policy (if Hearth holds one) is `resource_policy`.
    fn role_allows(
        &self,
        role: &str,
        function: &str,
        action: &str,
        resource: &str,
        owner: &str,
        resource_policy: Option<&Policy>,
    ) -> Result<bool, EngineError> {
        let identity = self.role_policies(role).map_err(|e| match e {
            IamError::Engine(e) => e,
            other => EngineError::internal(other.to_string()),
        })?;
        let Some((role_account, role_name)) = parse_role_arn(role) else {
            return Ok(false);
        };
        // The session Lambda holds for the function: the role's, named after it.
        let principal = RequestPrincipal::assumed_role(role_account, role_name, key_name(function));
        let mut ctx = RequestContext::new(principal).at_time(chrono::Utc::now().timestamp());
        ctx.set("aws:RequestedRegion", REGION);
        let outcome = evaluate(
            &ctx,
            action,
            resource,
            &identity,
            ResourcePolicy {
                account: owner,
                policy: resource_policy,
            },
        );
        Ok(outcome.allowed())
    }
}

impl Engine {
    /// Whether the execution role of `function` (a key) at `qualifier` (`$LATEST` when
    /// `None`, a version, or an alias: its primary version's role) lets Lambda call
    /// `action` on `resource`, an ARN of another service whose own resource policy, if it
    /// has one, is `resource_policy` (an SQS queue's `Policy`: it can let the role in from
    /// another account, and deny it anywhere). What a mapping needs of the role to poll
    /// its queue: asked when it is made and at each call its poller makes. Always true
    /// with role checking off.
    pub fn role_may_call(
        &self,
        function: &str,
        qualifier: Option<&str>,
        action: &str,
        resource: &str,
        resource_policy: Option<&Policy>,
    ) -> Result<bool, EngineError> {
        if !self.inner.check_roles {
            return Ok(true);
        }
        let source = FunctionRef {
            name: function.to_string(),
            qualifier: qualifier.map(str::to_string),
        };
        let role = self.select(&source, |a| &a.function_version)?.role.clone();
        let owner = arn_account(resource).unwrap_or_else(|| key_account(function));
        self.role_allows(&role, function, action, resource, owner, resource_policy)
    }
}
