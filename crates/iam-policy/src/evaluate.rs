//! AWS's policy evaluation logic for one request, as the IAM User Guide documents it
//! ("Policy evaluation logic", "Cross-account policy evaluation logic"):
//!
//! 1. Every request starts denied (implicit deny).
//! 2. An applicable `Deny` in any policy wins (explicit deny).
//! 3. Within one account, an `Allow` in the principal's identity policies or in the
//!    resource's policy naming the principal itself is enough. A resource policy naming only
//!    the account delegates to that account's identity policies.
//! 4. Across accounts, the identity policies in the principal's account AND the resource
//!    policy in the resource's account must both allow.
//! 5. An account's root needs no identity policy on its own account's resources; it is an
//!    outside principal to other accounts.
//! 6. Service principals (`sns.amazonaws.com`, ...) have no identity policies: only a
//!    resource policy can allow them, usually with `aws:SourceArn`/`aws:SourceAccount`.
//!    Nor has an anonymous caller (a function URL with `AuthType` `NONE`), which only a
//!    statement with principal `*` names.
//!
//! Hearth has no organizations (SCPs, RCPs), permissions boundaries or session policies.

use crate::context::{PrincipalKind, RequestContext};
use crate::document::{Effect, Policy};
use crate::principal::PrincipalMatch;

/// The answer to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// A `Deny` statement applied.
    ExplicitDeny,
    /// Nothing allowed it.
    ImplicitDeny,
}

/// Which kind of policy decided (for an implicit deny: which kind failed to allow), so that
/// the denial can say so as AWS's does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecidedBy {
    IdentityPolicy,
    ResourcePolicy,
    /// The account's root acting on its own account's resources.
    AccountRoot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub decision: Decision,
    pub by: DecidedBy,
}

impl Outcome {
    pub fn allowed(&self) -> bool {
        self.decision == Decision::Allow
    }
}

/// A resource's policy and the account that owns the resource.
#[derive(Debug, Clone, Copy)]
pub struct ResourcePolicy<'a> {
    pub account: &'a str,
    pub policy: Option<&'a Policy>,
}

/// What the statements of one kind of policy said about a request.
#[derive(Default)]
pub(crate) struct Found {
    pub(crate) allow: bool,
    pub(crate) deny: bool,
    /// Allowed only through a statement naming the principal's account.
    pub(crate) allow_account: bool,
}

/// What the principal's identity policies say of `action` on `resource`. Identity
/// policies belong to IAM users and roles; a root or a service has none.
pub(crate) fn identity_found(
    ctx: &RequestContext,
    action: &str,
    resource: &str,
    identity: &[Policy],
) -> Found {
    let mut id = Found::default();
    if !matches!(
        ctx.principal.kind,
        PrincipalKind::User { .. } | PrincipalKind::AssumedRole { .. }
    ) {
        return id;
    }
    for policy in identity {
        for s in &policy.statements {
            if s.action_applies(action)
                && s.resource_applies(resource, ctx, policy.has_variables())
                && s.conditions_hold(ctx, policy.has_variables())
            {
                match s.effect {
                    Effect::Allow => id.allow = true,
                    Effect::Deny => id.deny = true,
                }
            }
        }
    }
    id
}

/// What a resource's policy (or a role's trust policy) says of `action` on `resource`
/// for the principal of `ctx`: its statements that name the principal (or, with
/// `NotPrincipal`, do not name it), cover the action and resource, and whose conditions
/// hold.
pub(crate) fn resource_found(
    ctx: &RequestContext,
    action: &str,
    resource: &str,
    policy: Option<&Policy>,
) -> Found {
    let mut res = Found::default();
    let Some(policy) = policy else {
        return res;
    };
    let p = &ctx.principal;
    for s in &policy.statements {
        let named = match &s.principal {
            None => PrincipalMatch::No,
            Some(np) if np.negated => match np.items.matches(p) {
                PrincipalMatch::No => PrincipalMatch::Direct,
                _ => PrincipalMatch::No,
            },
            Some(np) => np.items.matches(p),
        };
        if named == PrincipalMatch::No
            || !s.action_applies(action)
            || !s.resource_applies(resource, ctx, policy.has_variables())
            || !s.conditions_hold(ctx, policy.has_variables())
        {
            continue;
        }
        match (s.effect, named) {
            (Effect::Deny, _) => res.deny = true,
            (Effect::Allow, PrincipalMatch::Direct) => res.allow = true,
            (Effect::Allow, _) => res.allow_account = true,
        }
    }
    res
}

/// Evaluates `action` on `resource` (an ARN, or `*` for actions on no resource) for the
/// principal of `ctx`, with the principal's identity policies and the resource's policy.
pub fn evaluate(
    ctx: &RequestContext,
    action: &str,
    resource: &str,
    identity: &[Policy],
    resource_policy: ResourcePolicy<'_>,
) -> Outcome {
    let p = &ctx.principal;
    let outcome = |decision, by| Outcome { decision, by };
    // Neither a service nor an anonymous caller has identity policies or an account of
    // its own: the resource's policy alone can allow.
    let is_service = matches!(
        p.kind,
        PrincipalKind::Service { .. } | PrincipalKind::Anonymous
    );
    let id = identity_found(ctx, action, resource, identity);
    let res = resource_found(ctx, action, resource, resource_policy.policy);
    if id.deny {
        return outcome(Decision::ExplicitDeny, DecidedBy::IdentityPolicy);
    }
    if res.deny {
        return outcome(Decision::ExplicitDeny, DecidedBy::ResourcePolicy);
    }
    if is_service {
        return if res.allow {
            outcome(Decision::Allow, DecidedBy::ResourcePolicy)
        } else {
            outcome(Decision::ImplicitDeny, DecidedBy::ResourcePolicy)
        };
    }
    let same_account = p.account.as_deref() == Some(resource_policy.account);
    if p.kind == PrincipalKind::Root {
        return if same_account {
            outcome(Decision::Allow, DecidedBy::AccountRoot)
        } else if res.allow || res.allow_account {
            outcome(Decision::Allow, DecidedBy::ResourcePolicy)
        } else {
            outcome(Decision::ImplicitDeny, DecidedBy::ResourcePolicy)
        };
    }
    if same_account {
        if id.allow {
            outcome(Decision::Allow, DecidedBy::IdentityPolicy)
        } else if res.allow {
            outcome(Decision::Allow, DecidedBy::ResourcePolicy)
        } else {
            outcome(Decision::ImplicitDeny, DecidedBy::IdentityPolicy)
        }
    } else if !id.allow {
        outcome(Decision::ImplicitDeny, DecidedBy::IdentityPolicy)
    } else if res.allow || res.allow_account {
        outcome(Decision::Allow, DecidedBy::ResourcePolicy)
    } else {
        outcome(Decision::ImplicitDeny, DecidedBy::ResourcePolicy)
    }
}

/// AWS's access-denied text for a denial, `None` for an allow. The wording is the IAM User
/// Guide's ("Troubleshoot access denied error messages"):
/// `User: ARN is not authorized to perform: ACTION on resource: RESOURCE because no
/// identity-based policy allows the ACTION action` (or `... with an explicit deny in an
/// identity-based policy`, and the resource-based forms).
pub fn denial_message(
    outcome: &Outcome,
    principal_arn: &str,
    action: &str,
    resource: &str,
) -> Option<String> {
    let head = format!(
        "User: {principal_arn} is not authorized to perform: {action} on resource: {resource}"
    );
    let kind = match outcome.by {
        DecidedBy::ResourcePolicy => "resource-based",
        _ => "identity-based",
    };
    match outcome.decision {
        Decision::Allow => None,
        Decision::ExplicitDeny => {
            let article = if kind == "identity-based" { "an" } else { "a" };
            Some(format!(
                "{head} with an explicit deny in {article} {kind} policy"
            ))
        }
        Decision::ImplicitDeny => Some(format!(
            "{head} because no {kind} policy allows the {action} action"
        )),
    }
}
