//! Whether a principal may assume a role: its trust policy (the role's resource-based
//! policy) and the principal's identity policies, combined as the IAM User Guide documents
//! for role trust policies ("Policy evaluation logic": role trust policies and KMS key
//! policies are the exceptions where the resource policy must itself allow the principal).
//!
//! - The trust policy must allow, always: an identity policy allowing `sts:AssumeRole`
//!   on a role whose trust policy names neither the principal nor its account allows
//!   nothing, in the role's account too.
//! - A trust policy naming the principal itself (a user's ARN, a role's ARN for its
//!   sessions, a session's ARN, `"*"`, a service) is enough within the role's account.
//! - A trust policy naming only the account (`123456789012`, `arn:aws:iam::123456789012:root`)
//!   delegates to that account's identity policies, which must allow `sts:AssumeRole` on
//!   the role.
//! - From another account, the principal's identity policies must allow as well.
//! - An explicit `Deny` in either wins.
//!
//! An account's root has no identity policies and needs none: it is named by its account.
//! (AWS refuses AssumeRole with root credentials altogether; Hearth's administrator key is
//! its default account's root, which keeps assuming the roles that trust its account.)

use crate::context::{PrincipalKind, RequestContext};
use crate::document::Policy;
use crate::evaluate::{identity_found, resource_found, DecidedBy, Decision, Outcome};

/// The action a trust policy is asked about.
pub const ASSUME_ROLE: &str = "sts:AssumeRole";
/// Asked too when AssumeRole passes session tags.
pub const TAG_SESSION: &str = "sts:TagSession";
/// Asked too when AssumeRole sets a source identity.
pub const SET_SOURCE_IDENTITY: &str = "sts:SetSourceIdentity";

/// A role as a trust decision needs it.
#[derive(Debug, Clone, Copy)]
pub struct TrustedRole<'a> {
    /// `arn:aws:iam::ACCOUNT:role/PATH/NAME`: the request's resource.
    pub arn: &'a str,
    /// The role's account.
    pub account: &'a str,
    /// Its trust policy (`AssumeRolePolicyDocument`), parsed as [`crate::PolicyKind::Trust`].
    pub trust: &'a Policy,
}

/// Whether the principal of `ctx` may assume `role`, with its identity policies
/// (`identity`, empty for a root or a service). `ctx` carries the request's condition
/// keys (`sts:ExternalId`, `aws:SourceIp`, `aws:SourceArn`, ...).
pub fn evaluate_trust(ctx: &RequestContext, role: TrustedRole<'_>, identity: &[Policy]) -> Outcome {
    evaluate_trust_action(ctx, role, identity, ASSUME_ROLE)
}

/// [`evaluate_trust`] for `action`: `sts:AssumeRole`, or what an AssumeRole also asks of
/// the same trust policy ([`TAG_SESSION`], [`SET_SOURCE_IDENTITY`]), with the same rules.
pub fn evaluate_trust_action(
    ctx: &RequestContext,
    role: TrustedRole<'_>,
    identity: &[Policy],
    action: &str,
) -> Outcome {
    let outcome = |decision, by| Outcome { decision, by };
    let id = identity_found(ctx, action, role.arn, identity);
    let trust = resource_found(ctx, action, role.arn, Some(role.trust));
    if id.deny {
        return outcome(Decision::ExplicitDeny, DecidedBy::IdentityPolicy);
    }
    if trust.deny {
        return outcome(Decision::ExplicitDeny, DecidedBy::ResourcePolicy);
    }
    let p = &ctx.principal;
    match p.kind {
        // Neither has identity policies: the trust policy alone decides (a root is named
        // directly by its account).
        PrincipalKind::Service { .. } | PrincipalKind::Root => {
            return if trust.allow || trust.allow_account {
                outcome(Decision::Allow, DecidedBy::ResourcePolicy)
            } else {
                outcome(Decision::ImplicitDeny, DecidedBy::ResourcePolicy)
            };
        }
        // No role trusts a caller that did not say who it is.
        PrincipalKind::Anonymous => {
            return outcome(Decision::ImplicitDeny, DecidedBy::ResourcePolicy);
        }
        PrincipalKind::User { .. } | PrincipalKind::AssumedRole { .. } => {}
    }
    let same_account = p.account.as_deref() == Some(role.account);
    if !trust.allow && !trust.allow_account {
        outcome(Decision::ImplicitDeny, DecidedBy::ResourcePolicy)
    } else if same_account && trust.allow {
        outcome(Decision::Allow, DecidedBy::ResourcePolicy)
    } else if id.allow {
        outcome(Decision::Allow, DecidedBy::IdentityPolicy)
    } else {
        outcome(Decision::ImplicitDeny, DecidedBy::IdentityPolicy)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::context::RequestPrincipal;
    use crate::document::{parse, PolicyKind};

    const A: &str = "111122223333";
    const B: &str = "444455556666";
    const ROLE: &str = "arn:aws:iam::111122223333:role/target";

    fn trust(statements: Value) -> Policy {
        let doc = json!({"Version": "2012-10-17", "Statement": statements});
        parse(&doc.to_string(), PolicyKind::Trust).expect("trust policy parses")
    }

    fn allow(principal: Value) -> Value {
        json!({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})
    }

    fn allow_if(principal: Value, condition: Value) -> Value {
        json!({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole",
               "Condition": condition})
    }

    fn identity(action: &str, resource: &str) -> Vec<Policy> {
        let doc = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": action, "Resource": resource}]});
        vec![parse(&doc.to_string(), PolicyKind::Identity).expect("identity parses")]
    }

    fn user(account: &str, name: &str) -> RequestContext {
        RequestContext::new(RequestPrincipal::user(account, name))
    }

    fn decide(ctx: &RequestContext, t: &Policy, id: &[Policy]) -> (Decision, DecidedBy) {
        let o = evaluate_trust(
            ctx,
            TrustedRole {
                arn: ROLE,
                account: A,
                trust: t,
            },
            id,
        );
        (o.decision, o.by)
    }

    use DecidedBy::{IdentityPolicy as Id, ResourcePolicy as Res};

    /// A case: its name, the request, the trust policy's one statement, the caller's
    /// identity policies, and the expected decision.
    type Row = (
        &'static str,
        RequestContext,
        Value,
        Vec<Policy>,
        (Decision, DecidedBy),
    );
    use Decision::{Allow as Yes, ExplicitDeny as Deny, ImplicitDeny as No};

    #[test]
    fn principals_as_aws_combines_trust_and_identity() {
        let alice = || user(A, "alice");
        let none: Vec<Policy> = Vec::new();
        let may = identity("sts:AssumeRole", ROLE);
        let rows: Vec<Row> = vec![
            // The trust policy names the user: enough in its own account.
            (
                "user named",
                alice(),
                allow(json!({"AWS": format!("arn:aws:iam::{A}:user/alice")})),
                none.clone(),
                (Yes, Res),
            ),
            (
                "another user named",
                alice(),
                allow(json!({"AWS": format!("arn:aws:iam::{A}:user/bob")})),
                may.clone(),
                (No, Res),
            ),
            // Naming the account delegates to the identity policy.
            (
                "account root, no identity",
                alice(),
                allow(json!({"AWS": format!("arn:aws:iam::{A}:root")})),
                none.clone(),
                (No, Id),
            ),
            (
                "bare account, no identity",
                alice(),
                allow(json!({"AWS": A})),
                none.clone(),
                (No, Id),
            ),
            (
                "account root, identity allows",
                alice(),
                allow(json!({"AWS": format!("arn:aws:iam::{A}:root")})),
                may.clone(),
                (Yes, Id),
            ),
            (
                "account, identity on another role",
                alice(),
                allow(json!({"AWS": A})),
                identity("sts:AssumeRole", "arn:aws:iam::111122223333:role/other"),
                (No, Id),
            ),
            (
                "account, identity wildcard",
                alice(),
                allow(json!({"AWS": A})),
                identity("sts:*", "*"),
                (Yes, Id),
            ),
            // The trust policy must allow even when the identity policy does.
            (
                "identity alone",
                alice(),
                allow(json!({"Service": "lambda.amazonaws.com"})),
                identity("*", "*"),
                (No, Res),
            ),
            (
                "everyone",
                alice(),
                allow(json!("*")),
                none.clone(),
                (Yes, Res),
            ),
            (
                "AWS everyone",
                alice(),
                allow(json!({"AWS": "*"})),
                none.clone(),
                (Yes, Res),
            ),
            // Across accounts both must allow.
            (
                "other account named, no identity",
                user(B, "carol"),
                allow(json!({"AWS": B})),
                none.clone(),
                (No, Id),
            ),
            (
                "other account user named, no identity",
                user(B, "carol"),
                allow(json!({"AWS": format!("arn:aws:iam::{B}:user/carol")})),
                none.clone(),
                (No, Id),
            ),
            (
                "other account user named, identity",
                user(B, "carol"),
                allow(json!({"AWS": format!("arn:aws:iam::{B}:user/carol")})),
                may.clone(),
                (Yes, Id),
            ),
            (
                "other account not named",
                user(B, "carol"),
                allow(json!({"AWS": A})),
                may.clone(),
                (No, Res),
            ),
            // Roots: named by their account, no identity policy.
            (
                "root of the account",
                RequestContext::new(RequestPrincipal::root(A)),
                allow(json!({"AWS": A})),
                none.clone(),
                (Yes, Res),
            ),
            (
                "root of another account",
                RequestContext::new(RequestPrincipal::root(B)),
                allow(json!({"AWS": format!("arn:aws:iam::{B}:root")})),
                none.clone(),
                (Yes, Res),
            ),
            (
                "root when a user is named",
                RequestContext::new(RequestPrincipal::root(A)),
                allow(json!({"AWS": format!("arn:aws:iam::{A}:user/alice")})),
                none.clone(),
                (No, Res),
            ),
            // Services by name only.
            (
                "lambda",
                RequestContext::new(RequestPrincipal::service("lambda.amazonaws.com")),
                allow(json!({"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"]})),
                none.clone(),
                (Yes, Res),
            ),
            (
                "another service",
                RequestContext::new(RequestPrincipal::service("sqs.amazonaws.com")),
                allow(json!({"Service": "lambda.amazonaws.com"})),
                none.clone(),
                (No, Res),
            ),
            (
                "a service is no account",
                RequestContext::new(RequestPrincipal::service("lambda.amazonaws.com")),
                allow(json!({"AWS": A})),
                none.clone(),
                (No, Res),
            ),
        ];
        for (name, ctx, statement, id, want) in rows {
            assert_eq!(
                decide(&ctx, &trust(json!([statement])), &id),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn role_sessions_are_named_by_their_role_or_their_own_arn() {
        let session = || RequestContext::new(RequestPrincipal::assumed_role(A, "caller", "s1"));
        let none: Vec<Policy> = Vec::new();
        let rows = [
            (
                "the role",
                json!({"AWS": format!("arn:aws:iam::{A}:role/caller")}),
                (Yes, Res),
            ),
            (
                "this session",
                json!({"AWS": format!("arn:aws:sts::{A}:assumed-role/caller/s1")}),
                (Yes, Res),
            ),
            (
                "another session",
                json!({"AWS": format!("arn:aws:sts::{A}:assumed-role/caller/s2")}),
                (No, Res),
            ),
            (
                "another role",
                json!({"AWS": format!("arn:aws:iam::{A}:role/other")}),
                (No, Res),
            ),
            ("the account", json!({"AWS": A}), (No, Id)),
        ];
        for (name, principal, want) in rows {
            assert_eq!(
                decide(&session(), &trust(json!([allow(principal)])), &none),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn actions_other_than_assume_role_do_not_apply() {
        let ctx = RequestContext::new(RequestPrincipal::service("lambda.amazonaws.com"));
        for (action, ok) in [
            (json!("sts:AssumeRole"), true),
            (json!("sts:*"), true),
            (json!("*"), true),
            (json!("STS:assumerole"), true),
            (json!("sts:AssumeRoleWithSAML"), false),
            (json!(["sts:TagSession"]), false),
        ] {
            let t = trust(json!([{"Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"}, "Action": action}]));
            let want = if ok { (Yes, Res) } else { (No, Res) };
            assert_eq!(decide(&ctx, &t, &[]), want, "{action}");
        }
        let t = trust(
            json!([{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
            "NotAction": "sts:TagSession"}]),
        );
        assert_eq!(decide(&ctx, &t, &[]), (Yes, Res));
    }

    #[test]
    fn conditions_are_evaluated_with_the_request() {
        let root = || RequestContext::new(RequestPrincipal::root(A));
        let external = allow_if(
            json!({"AWS": A}),
            json!({"StringEquals": {"sts:ExternalId": "s3cret"}}),
        );
        let ip = allow_if(
            json!({"AWS": A}),
            json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        );
        let before = allow_if(
            json!({"AWS": A}),
            json!({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}),
        );
        let principal_account = allow_if(
            json!("*"),
            json!({"StringEquals": {"aws:PrincipalAccount": B}}),
        );
        let source = allow_if(
            json!({"Service": "lambda.amazonaws.com"}),
            json!({
            "StringEquals": {"aws:SourceAccount": A},
            "ArnLike": {"aws:SourceArn": format!("arn:aws:lambda:us-east-1:{A}:function:f*")}}),
        );
        let lambda = || RequestContext::new(RequestPrincipal::service("lambda.amazonaws.com"));
        let rows = [
            (
                "external id matches",
                root().with("sts:ExternalId", "s3cret"),
                external.clone(),
                Yes,
            ),
            (
                "external id differs",
                root().with("sts:ExternalId", "guess"),
                external.clone(),
                No,
            ),
            ("external id missing", root(), external, No),
            (
                "inside the range",
                root().with("aws:SourceIp", "10.1.2.3"),
                ip.clone(),
                Yes,
            ),
            (
                "outside the range",
                root().with("aws:SourceIp", "192.168.0.1"),
                ip,
                No,
            ),
            (
                "before the date",
                root().at_time(1_800_000_000),
                before.clone(),
                Yes,
            ),
            ("after the date", root().at_time(1_900_000_000), before, No),
            (
                "principal's account",
                RequestContext::new(RequestPrincipal::root(B)),
                principal_account.clone(),
                Yes,
            ),
            ("another principal account", root(), principal_account, No),
            (
                "source function",
                lambda().with("aws:SourceAccount", A).with(
                    "aws:SourceArn",
                    &format!("arn:aws:lambda:us-east-1:{A}:function:fn1"),
                ),
                source.clone(),
                Yes,
            ),
            (
                "another function",
                lambda().with("aws:SourceAccount", A).with(
                    "aws:SourceArn",
                    &format!("arn:aws:lambda:us-east-1:{A}:function:g"),
                ),
                source.clone(),
                No,
            ),
            ("no source", lambda(), source, No),
        ];
        for (name, ctx, statement, want) in rows {
            assert_eq!(
                decide(&ctx, &trust(json!([statement])), &[]),
                (want, Res),
                "{name}"
            );
        }
    }

    #[test]
    fn an_explicit_deny_wins() {
        let alice = user(A, "alice");
        let may = identity("sts:AssumeRole", ROLE);
        let named = allow(json!({"AWS": format!("arn:aws:iam::{A}:user/alice")}));
        let deny_all = json!({"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"});
        assert_eq!(
            decide(&alice, &trust(json!([named.clone(), deny_all])), &may),
            (Deny, Res)
        );
        let deny_ip = json!({"Effect": "Deny", "Principal": {"AWS": A}, "Action": "sts:*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}});
        let t = trust(json!([named.clone(), deny_ip]));
        assert_eq!(
            decide(&alice.clone().with("aws:SourceIp", "192.168.1.1"), &t, &[]),
            (Deny, Res)
        );
        assert_eq!(
            decide(&alice.clone().with("aws:SourceIp", "10.9.9.9"), &t, &[]),
            (Yes, Res)
        );
        // NotPrincipal: everyone but alice is refused.
        let not_alice = json!({"Effect": "Deny", "NotPrincipal": {"AWS": format!("arn:aws:iam::{A}:user/alice")}, "Action": "sts:AssumeRole"});
        let t = trust(json!([allow(json!({"AWS": A})), not_alice]));
        assert_eq!(decide(&alice, &t, &may), (Yes, Id));
        assert_eq!(decide(&user(A, "bob"), &t, &may), (Deny, Res));
        // The identity policy's deny wins over a trust policy naming the user.
        let doc = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": ROLE}]});
        let deny = vec![parse(&doc.to_string(), PolicyKind::Identity).expect("parses")];
        assert_eq!(decide(&alice, &trust(json!([named])), &deny), (Deny, Id));
    }
}
