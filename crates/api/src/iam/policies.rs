//! A role's inline policies (PutRolePolicy, GetRolePolicy, DeleteRolePolicy,
//! ListRolePolicies), its attached managed policies (AttachRolePolicy,
//! DetachRolePolicy, ListAttachedRolePolicies), and Hearth's managed policies
//! (GetPolicy, GetPolicyVersion, ListPolicies).

use hearth_engine::IamError;
use hearth_model::iam::managed::{self, ManagedPolicy};
use hearth_model::iam::policy_document::PolicyKind;
use hearth_model::iam::{self};
use hearth_model::violations::Violations;

use super::roles::role_name;
use super::shapes;
use super::{document, page, paging, truncation, url_encode, violations};
use crate::query::{required, QueryError, QueryRequest, Xml};
use crate::AppState;

fn policy_name(req: &QueryRequest) -> Result<&str, QueryError> {
    let name = required(req, "PolicyName")?;
    let mut v = Violations::new();
    iam::check_name(&mut v, name, "policyName", 128);
    violations(v)?;
    Ok(name)
}

/// `PolicyArn`: the model's length, then IAM's parse of an ARN.
fn policy_arn(req: &QueryRequest) -> Result<&str, QueryError> {
    let arn = required(req, "PolicyArn")?;
    let mut v = Violations::new();
    v.length(arn, "policyArn", 20, 2048);
    violations(v)?;
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() < 6 || parts[0] != "arn" || parts[1].is_empty() || parts[2].is_empty() {
        return Err(QueryError::validation("Invalid ARN:  Could not be parsed!"));
    }
    Ok(arn)
}

pub(super) fn put_inline(
    s: &AppState,
    account: &str,
    req: &QueryRequest,
) -> Result<(), QueryError> {
    let role = role_name(req)?;
    let name = policy_name(req)?;
    let doc = document(
        req,
        "PolicyDocument",
        "policyDocument",
        PolicyKind::Identity,
    )?;
    Ok(s.engine.put_role_policy(account, role, name, doc)?)
}

pub(super) fn get_inline(
    s: &AppState,
    account: &str,
    req: &QueryRequest,
) -> Result<Xml, QueryError> {
    let role = role_name(req)?;
    let name = policy_name(req)?;
    let (r, doc) = s.engine.get_role_policy(account, role, name)?;
    let mut x = Xml::default();
    x.leaf("RoleName", &r.name)
        .leaf("PolicyName", name)
        .leaf("PolicyDocument", &url_encode(&doc));
    Ok(x)
}

pub(super) fn delete_inline(
    s: &AppState,
    account: &str,
    req: &QueryRequest,
) -> Result<(), QueryError> {
    let role = role_name(req)?;
    let name = policy_name(req)?;
    Ok(s.engine.delete_role_policy(account, role, name)?)
}

pub(super) fn list_inline(
    s: &AppState,
    account: &str,
    req: &QueryRequest,
) -> Result<Xml, QueryError> {
    let role = s.engine.get_role(account, role_name(req)?)?;
    let (max, marker) = paging(req)?;
    let names: Vec<String> = role.inline_policies.into_keys().collect();
    let (names, next) = page(names, marker, max)?;
    let mut x = Xml::default();
    x.element("PolicyNames", |x| {
        for n in &names {
            x.leaf("member", n);
        }
    });
    truncation(&mut x, next.as_deref());
    Ok(x)
}

pub(super) fn attach(s: &AppState, account: &str, req: &QueryRequest) -> Result<(), QueryError> {
    let role = role_name(req)?;
    let arn = policy_arn(req)?;
    Ok(s.engine.attach_role_policy(account, role, arn)?)
}

pub(super) fn detach(s: &AppState, account: &str, req: &QueryRequest) -> Result<(), QueryError> {
    let role = role_name(req)?;
    let arn = policy_arn(req)?;
    Ok(s.engine.detach_role_policy(account, role, arn)?)
}

pub(super) fn list_attached(
    s: &AppState,
    account: &str,
    req: &QueryRequest,
) -> Result<Xml, QueryError> {
    let role = s.engine.get_role(account, role_name(req)?)?;
    let prefix = path_prefix(req)?;
    let (max, marker) = paging(req)?;
    let attached: Vec<&ManagedPolicy> = role
        .attached_policies
        .iter()
        .filter_map(|arn| managed::by_arn(arn))
        .filter(|p| p.path.starts_with(prefix))
        .collect();
    let (attached, next) = page(attached, marker, max)?;
    let mut x = Xml::default();
    x.element("AttachedPolicies", |x| {
        for p in &attached {
            x.element("member", |x| {
                x.leaf("PolicyName", p.name).leaf("PolicyArn", &p.arn());
            });
        }
    });
    truncation(&mut x, next.as_deref());
    Ok(x)
}

fn path_prefix(req: &QueryRequest) -> Result<&str, QueryError> {
    let prefix = req.get("PathPrefix").unwrap_or("/");
    let mut v = Violations::new();
    iam::check_path_prefix(&mut v, prefix, "pathPrefix");
    violations(v)?;
    Ok(prefix)
}

pub(super) fn get_managed(
    s: &AppState,
    account: &str,
    req: &QueryRequest,
) -> Result<Xml, QueryError> {
    let (p, attachments) = s.engine.managed_policy(account, policy_arn(req)?)?;
    let mut x = Xml::default();
    x.element("Policy", |x| shapes::policy(x, p, attachments, true));
    Ok(x)
}

pub(super) fn get_managed_version(
    s: &AppState,
    account: &str,
    req: &QueryRequest,
) -> Result<Xml, QueryError> {
    let arn = policy_arn(req)?;
    let version = required(req, "VersionId")?;
    let (p, _) = s.engine.managed_policy(account, arn)?;
    if version != p.version {
        return Err(IamError::NoSuchPolicyVersion {
            arn: arn.into(),
            version: version.into(),
        }
        .into());
    }
    let mut x = Xml::default();
    x.element("PolicyVersion", |x| {
        x.leaf("Document", &url_encode(p.document))
            .leaf("VersionId", p.version)
            .leaf("IsDefaultVersion", "true")
            .leaf("CreateDate", p.update_date);
    });
    Ok(x)
}

pub(super) fn list_managed(
    s: &AppState,
    account: &str,
    req: &QueryRequest,
) -> Result<Xml, QueryError> {
    let scope = req.get("Scope").unwrap_or("All");
    if !matches!(scope, "All" | "AWS" | "Local") {
        return Err(QueryError::validation(format!(
            "1 validation error detected: Value '{scope}' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]"
        )));
    }
    let only_attached = req.get("OnlyAttached") == Some("true");
    let prefix = path_prefix(req)?;
    let (max, marker) = paging(req)?;
    // Hearth has no customer managed policies: `Local` lists none.
    let mut listed = Vec::new();
    if scope != "Local" {
        for p in managed::POLICIES
            .iter()
            .filter(|p| p.path.starts_with(prefix))
        {
            let n = s.engine.attachment_count(account, &p.arn())?;
            if !only_attached || n > 0 {
                listed.push((p, n));
            }
        }
    }
    let (listed, next) = page(listed, marker, max)?;
    let mut x = Xml::default();
    x.element("Policies", |x| {
        for (p, n) in &listed {
            x.element("member", |x| shapes::policy(x, p, *n, false));
        }
    });
    truncation(&mut x, next.as_deref());
    Ok(x)
}
