//! IAM roles (issue 14, section 3): CreateRole, GetRole, ListRoles, DeleteRole,
//! UpdateAssumeRolePolicy, inline policies, attached managed policies, and the two
//! questions other parts ask of a role: may this principal assume it (STS
//! `AssumeRole`), and does it trust this service (CreateFunction's role check).
//!
//! Inputs are checked against IAM's request model by the api; policy documents are
//! checked there too (`hearth_model::iam::policy_document::check`). Every operation is
//! within one account, the caller's.

use hearth_iam_policy::{
    evaluate_trust_action, parse, Policy, PolicyKind, RequestContext, TrustedRole, ASSUME_ROLE,
};
use hearth_model::iam::managed::{self, ManagedPolicy};
use hearth_model::iam::{Role, Tag};
use hearth_store::traits::Edited;
use hearth_store::StoreError;

use crate::error::EngineError;
use crate::Engine;

/// IAM's limits Hearth keeps (IAM's default quotas).
pub const MAX_ATTACHED_POLICIES: usize = 10;
/// The total characters of a role's inline policies (whitespace not counted by IAM;
/// Hearth counts the documents as given, which is stricter).
pub const MAX_INLINE_POLICY_CHARS: usize = 10_240;

/// A role to create, its members checked against IAM's model.
#[derive(Debug, Clone)]
pub struct NewRole {
    pub account: String,
    pub name: String,
    pub path: String,
    pub assume_role_policy: String,
    pub description: Option<String>,
    pub max_session_duration: u32,
    pub tags: Vec<Tag>,
    pub permissions_boundary: Option<String>,
}

/// Why a role operation failed, in IAM's terms (the api words each as IAM does).
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    #[error("the role {name} does not exist")]
    NoSuchRole { name: String },
    #[error("the role {role} has no inline policy {policy}")]
    NoSuchRolePolicy { role: String, policy: String },
    /// A managed policy Hearth does not have (GetPolicy, GetPolicyVersion).
    #[error("no policy {arn}")]
    NoSuchPolicy { arn: String },
    #[error("policy {arn} has no version {version}")]
    NoSuchPolicyVersion { arn: String, version: String },
    /// AttachRolePolicy of a policy Hearth does not have.
    #[error("policy {arn} is not attachable")]
    NotAttachable { arn: String },
    /// DetachRolePolicy of a policy not attached to the role.
    #[error("policy {arn} is not attached")]
    NotAttached { arn: String },
    #[error("a role named {name} exists")]
    RoleExists { name: String },
    /// DeleteRole of a role that still has inline (`inline`) or attached policies.
    #[error("the role still has policies")]
    DeleteConflict { inline: bool },
    /// A quota of IAM's: too many attached policies, or too large inline ones.
    #[error("limit exceeded")]
    LimitExceeded(Limit),
    /// The principal may not assume the role (or there is no such role): `action` is
    /// what the trust decision refused (`sts:AssumeRole`, or `sts:TagSession` /
    /// `sts:SetSourceIdentity` that the request also needed).
    #[error("the principal may not perform {action} on the role")]
    AssumeDenied { action: &'static str },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Which of IAM's quotas was reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limit {
    AttachedPolicies,
    InlinePolicySize { role: String },
}

impl From<StoreError> for IamError {
    fn from(e: StoreError) -> Self {
        Self::Engine(EngineError::from(e))
    }
}

/// `AROA` and 17 characters of IAM's unique-id alphabet.
fn role_id() -> Result<String, IamError> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let bytes = hearth_store::seal::random_bytes::<17>()
        .map_err(|e| IamError::Engine(EngineError::internal(e)))?;
    let tail: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
        .collect();
    Ok(format!("AROA{tail}"))
}

impl Engine {
    /// CreateRole.
    pub fn create_role(&self, new: NewRole) -> Result<Role, IamError> {
        let role = Role {
            account: new.account,
            name: new.name,
            path: new.path,
            id: role_id()?,
            create_date: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            assume_role_policy: new.assume_role_policy,
            description: new.description,
            max_session_duration: new.max_session_duration,
            tags: new.tags,
            permissions_boundary: new.permissions_boundary,
            inline_policies: Default::default(),
            attached_policies: Vec::new(),
        };
        match self.inner.store.roles().insert_role(&role) {
            Ok(()) => Ok(role),
            Err(StoreError::Exists(_)) => Err(IamError::RoleExists { name: role.name }),
            Err(e) => Err(e.into()),
        }
    }

    /// GetRole.
    pub fn get_role(&self, account: &str, name: &str) -> Result<Role, IamError> {
        self.inner
            .store
            .roles()
            .get_role(account, name)?
            .ok_or_else(|| IamError::NoSuchRole { name: name.into() })
    }

    /// ListRoles: a page of at most `max` roles under `path_prefix` after `marker`,
    /// and the marker of the next page if there is one.
    pub fn list_roles(
        &self,
        account: &str,
        path_prefix: &str,
        marker: Option<&str>,
        max: usize,
    ) -> Result<(Vec<Role>, Option<String>), IamError> {
        let mut roles = self.inner.store.roles().list_roles(
            account,
            path_prefix,
            marker,
            max.saturating_add(1),
        )?;
        let next = if roles.len() > max {
            roles.truncate(max);
            roles.last().map(|r| r.name.clone())
        } else {
            None
        };
        Ok((roles, next))
    }

    /// DeleteRole: refused while the role has inline or attached policies.
    pub fn delete_role(&self, account: &str, name: &str) -> Result<(), IamError> {
        let mut conflict = None;
        let outcome = self.inner.store.roles().delete_role(
            account,
            name,
            Box::new(|r| {
                if !r.inline_policies.is_empty() {
                    conflict = Some(true);
                } else if !r.attached_policies.is_empty() {
                    conflict = Some(false);
                }
                conflict.is_none()
            }),
        )?;
        match outcome {
            Edited::Done(_) => Ok(()),
            Edited::Missing => Err(IamError::NoSuchRole { name: name.into() }),
            Edited::Declined => Err(IamError::DeleteConflict {
                inline: conflict.unwrap_or(true),
            }),
        }
    }

    /// Reads, changes and writes one role; the change may refuse with its own error.
    fn edit_role<F>(&self, account: &str, name: &str, edit: F) -> Result<Role, IamError>
    where
        F: FnOnce(&mut Role) -> Result<(), IamError>,
    {
        let mut refused = None;
        let outcome = self.inner.store.roles().edit_role(
            account,
            name,
            Box::new(|r| match edit(r) {
                Ok(()) => true,
                Err(e) => {
                    refused = Some(e);
                    false
                }
            }),
        )?;
        match outcome {
            Edited::Done(r) => Ok(r),
            Edited::Missing => Err(IamError::NoSuchRole { name: name.into() }),
            Edited::Declined => Err(refused.unwrap_or(IamError::NoSuchRole { name: name.into() })),
        }
    }

    /// UpdateAssumeRolePolicy.
    pub fn update_assume_role_policy(
        &self,
        account: &str,
        name: &str,
        document: String,
    ) -> Result<(), IamError> {
        self.edit_role(account, name, |r| {
            r.assume_role_policy = document;
            Ok(())
        })
        .map(drop)
    }

    /// PutRolePolicy: adds or replaces an inline policy.
    pub fn put_role_policy(
        &self,
        account: &str,
        role: &str,
        policy: &str,
        document: String,
    ) -> Result<(), IamError> {
        self.edit_role(account, role, |r| {
            let others: usize = r
                .inline_policies
                .iter()
                .filter(|(name, _)| name.as_str() != policy)
                .map(|(_, d)| d.chars().count())
                .sum();
            if others + document.chars().count() > MAX_INLINE_POLICY_CHARS {
                return Err(IamError::LimitExceeded(Limit::InlinePolicySize {
                    role: r.name.clone(),
                }));
            }
            r.inline_policies.insert(policy.to_string(), document);
            Ok(())
        })
        .map(drop)
    }

    /// GetRolePolicy: the role (for its name as stored) and the document.
    pub fn get_role_policy(
        &self,
        account: &str,
        role: &str,
        policy: &str,
    ) -> Result<(Role, String), IamError> {
        let r = self.get_role(account, role)?;
        let document =
            r.inline_policies
                .get(policy)
                .cloned()
                .ok_or_else(|| IamError::NoSuchRolePolicy {
                    role: r.name.clone(),
                    policy: policy.into(),
                })?;
        Ok((r, document))
    }

    /// DeleteRolePolicy.
    pub fn delete_role_policy(
        &self,
        account: &str,
        role: &str,
        policy: &str,
    ) -> Result<(), IamError> {
        self.edit_role(account, role, |r| match r.inline_policies.remove(policy) {
            Some(_) => Ok(()),
            None => Err(IamError::NoSuchRolePolicy {
                role: r.name.clone(),
                policy: policy.into(),
            }),
        })
        .map(drop)
    }

    /// AttachRolePolicy: attaching one already attached is no change, as on IAM.
    pub fn attach_role_policy(&self, account: &str, role: &str, arn: &str) -> Result<(), IamError> {
        // The role is looked up first: IAM names a missing role before a bad policy.
        self.get_role(account, role)?;
        if managed::by_arn(arn).is_none() {
            return Err(IamError::NotAttachable { arn: arn.into() });
        }
        self.edit_role(account, role, |r| {
            if r.attached_policies.iter().any(|a| a == arn) {
                return Ok(());
            }
            if r.attached_policies.len() >= MAX_ATTACHED_POLICIES {
                return Err(IamError::LimitExceeded(Limit::AttachedPolicies));
            }
            r.attached_policies.push(arn.to_string());
            Ok(())
        })
        .map(drop)
    }

    /// DetachRolePolicy.
    pub fn detach_role_policy(&self, account: &str, role: &str, arn: &str) -> Result<(), IamError> {
        self.edit_role(account, role, |r| {
            let before = r.attached_policies.len();
            r.attached_policies.retain(|a| a != arn);
            if r.attached_policies.len() == before {
                return Err(IamError::NotAttached { arn: arn.into() });
            }
            Ok(())
        })
        .map(drop)
    }

    /// GetPolicy / GetPolicyVersion: one of Hearth's managed policies, and how many of
    /// the account's roles have it attached (its `AttachmentCount`).
    pub fn managed_policy(
        &self,
        account: &str,
        arn: &str,
    ) -> Result<(&'static ManagedPolicy, usize), IamError> {
        let p = managed::by_arn(arn).ok_or_else(|| IamError::NoSuchPolicy { arn: arn.into() })?;
        Ok((p, self.attachment_count(account, arn)?))
    }

    /// How many of the account's roles have the policy `arn` attached.
    pub fn attachment_count(&self, account: &str, arn: &str) -> Result<usize, IamError> {
        let roles = self
            .inner
            .store
            .roles()
            .list_roles(account, "/", None, usize::MAX >> 1)?;
        Ok(roles
            .iter()
            .filter(|r| r.attached_policies.iter().any(|a| a == arn))
            .count())
    }

    /// The role `name` of `account` if the principal of `ctx` may assume it, and perform
    /// each of `also` on it (`sts:TagSession` when the session is tagged, ...): the role's
    /// trust policy and the principal's identity policies (`identity`) decided together
    /// by the policy crate ([`evaluate_trust_action`]), conditions included;
    /// `AssumeDenied` naming the refused action otherwise, also when there is no such
    /// role, as STS answers.
    pub fn role_to_assume(
        &self,
        account: &str,
        name: &str,
        ctx: &RequestContext,
        identity: &[Policy],
        also: &[&'static str],
    ) -> Result<Role, IamError> {
        let denied = IamError::AssumeDenied {
            action: ASSUME_ROLE,
        };
        let role = self
            .inner
            .store
            .roles()
            .get_role(account, name)?
            .ok_or(denied)?;
        // The name must match as given: a role ARN is not case-folded.
        if role.name != name {
            return Err(IamError::AssumeDenied {
                action: ASSUME_ROLE,
            });
        }
        // Stored trust policies were parsed with this grammar when stored; one that no
        // longer parses (a grammar change) trusts no one rather than being guessed at.
        let trust = match parse(&role.assume_role_policy, PolicyKind::Trust) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(role = %role.arn(), error = %e, "a stored trust policy does not parse; nobody may assume the role");
                return Err(IamError::AssumeDenied {
                    action: ASSUME_ROLE,
                });
            }
        };
        let arn = role.arn();
        let trusted = TrustedRole {
            arn: &arn,
            account: &role.account,
            trust: &trust,
        };
        for action in std::iter::once(ASSUME_ROLE).chain(also.iter().copied()) {
            if !evaluate_trust_action(ctx, trusted, identity, action).allowed() {
                return Err(IamError::AssumeDenied { action });
            }
        }
        Ok(role)
    }

    /// Whether the role `name` of `account` exists and its trust policy lets the service
    /// principal of `ctx` assume it (CreateFunction's role check, with
    /// `lambda.amazonaws.com` and the function as `aws:SourceArn`/`aws:SourceAccount`).
    pub fn role_trusts_service(
        &self,
        account: &str,
        name: &str,
        ctx: &RequestContext,
    ) -> Result<bool, IamError> {
        match self.role_to_assume(account, name, ctx, &[], &[]) {
            Ok(_) => Ok(true),
            Err(IamError::AssumeDenied { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use hearth_iam_policy::RequestPrincipal;

    use super::*;
    use crate::testing;

    const TRUST_LAMBDA: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    fn new_role(account: &str, name: &str) -> NewRole {
        NewRole {
            account: account.into(),
            name: name.into(),
            path: "/".into(),
            assume_role_policy: TRUST_LAMBDA.into(),
            description: None,
            max_session_duration: 3600,
            tags: Vec::new(),
            permissions_boundary: None,
        }
    }

    #[tokio::test]
    async fn roles_live_in_their_account_and_delete_only_without_policies() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (engine, _) = testing::engine(dir.path());
        let e = &engine;
        let r = e
            .create_role(new_role("111111111111", "exec"))
            .expect("create");
        assert!(r.id.starts_with("AROA") && r.id.len() == 21, "{}", r.id);
        assert!(matches!(
            e.create_role(new_role("111111111111", "EXEC")),
            Err(IamError::RoleExists { .. })
        ));
        assert!(matches!(
            e.get_role("222222222222", "exec"),
            Err(IamError::NoSuchRole { .. })
        ));
        let basic = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";
        e.attach_role_policy("111111111111", "exec", basic)
            .expect("attach");
        e.attach_role_policy("111111111111", "exec", basic)
            .expect("again");
        assert_eq!(e.attachment_count("111111111111", basic).expect("count"), 1);
        assert!(matches!(
            e.attach_role_policy("111111111111", "exec", "arn:aws:iam::aws:policy/Nope"),
            Err(IamError::NotAttachable { .. })
        ));
        e.put_role_policy("111111111111", "exec", "p", "{}".into())
            .expect("put");
        assert!(matches!(
            e.delete_role("111111111111", "exec"),
            Err(IamError::DeleteConflict { inline: true })
        ));
        e.delete_role_policy("111111111111", "exec", "p")
            .expect("delete policy");
        assert!(matches!(
            e.delete_role("111111111111", "exec"),
            Err(IamError::DeleteConflict { inline: false })
        ));
        e.detach_role_policy("111111111111", "exec", basic)
            .expect("detach");
        assert!(matches!(
            e.detach_role_policy("111111111111", "exec", basic),
            Err(IamError::NotAttached { .. })
        ));
        let service = |name: &str| RequestContext::new(RequestPrincipal::service(name));
        let lambda = service("lambda.amazonaws.com");
        assert!(e
            .role_trusts_service("111111111111", "exec", &lambda)
            .expect("check"));
        assert!(!e
            .role_trusts_service("111111111111", "exec", &service("ec2.amazonaws.com"))
            .expect("check"));
        assert!(!e
            .role_trusts_service("222222222222", "exec", &lambda)
            .expect("check"));
        assert!(!e
            .role_trusts_service("111111111111", "EXEC", &lambda)
            .expect("check"));
        e.delete_role("111111111111", "exec").expect("delete");
    }

    #[tokio::test]
    async fn list_roles_pages() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (engine, _) = testing::engine(dir.path());
        let e = &engine;
        for n in ["a", "b", "c"] {
            e.create_role(new_role("111111111111", n)).expect("create");
        }
        let (page, next) = e.list_roles("111111111111", "/", None, 2).expect("list");
        assert_eq!(page.len(), 2);
        assert_eq!(next.as_deref(), Some("b"));
        let (page, next) = e
            .list_roles("111111111111", "/", next.as_deref(), 2)
            .expect("list");
        assert_eq!(
            page.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["c"]
        );
        assert_eq!(next, None);
    }
}
