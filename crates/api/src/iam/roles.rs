//! CreateRole, GetRole, ListRoles, DeleteRole, UpdateAssumeRolePolicy.

use std::collections::HashSet;

use hearth_engine::NewRole;
use hearth_model::iam::policy_document::PolicyKind;
use hearth_model::iam::{self, managed, Tag};
use hearth_model::violations::Violations;

use super::shapes::{self, RoleView};
use super::{document, not_found, paging, truncation, violations};
use crate::query::{integer, required, QueryError, QueryRequest, Xml};
use crate::AppState;

/// `RoleName`, checked.
pub(super) fn role_name(req: &QueryRequest) -> Result<&str, QueryError> {
    let name = required(req, "RoleName")?;
    let mut v = Violations::new();
    iam::check_name(&mut v, name, "roleName", 64);
    violations(v)?;
    Ok(name)
}

/// `Tags`: the model's limits on each, at most 50, and no key twice (case-folded).
fn tags(req: &QueryRequest) -> Result<Vec<Tag>, QueryError> {
    let tags = super::tags_of(req);
    let mut v = Violations::new();
    for (i, t) in tags.iter().enumerate() {
        iam::check_tag(&mut v, t, i + 1);
    }
    if tags.len() > iam::MAX_TAGS {
        v.value(
            "[...]",
            "tags",
            &format!(
                "Member must have length less than or equal to {}",
                iam::MAX_TAGS
            ),
        );
    }
    violations(v)?;
    let mut seen = HashSet::new();
    if !tags.iter().all(|t| seen.insert(t.key.to_lowercase())) {
        return Err(QueryError::sender(
            axum::http::StatusCode::BAD_REQUEST,
            "InvalidInput",
            "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
        ));
    }
    Ok(tags)
}

pub(super) fn create(s: &AppState, account: &str, req: &QueryRequest) -> Result<Xml, QueryError> {
    let name = role_name(req)?;
    let mut v = Violations::new();
    let path = req.get("Path").unwrap_or("/");
    iam::check_path(&mut v, path, "path");
    let description = req.get("Description");
    if let Some(d) = description {
        iam::check_description(&mut v, d, "description");
    }
    let max_session = integer(req, "MaxSessionDuration", "maxSessionDuration")?;
    if let Some(n) = max_session {
        v.range(
            n,
            "maxSessionDuration",
            Some(iam::MAX_SESSION_MIN),
            Some(iam::MAX_SESSION_MAX),
        );
    }
    let boundary = req.get("PermissionsBoundary");
    if let Some(b) = boundary {
        v.length(b, "permissionsBoundary", 20, 2048);
    }
    violations(v)?;
    let trust = document(
        req,
        "AssumeRolePolicyDocument",
        "assumeRolePolicyDocument",
        PolicyKind::Trust,
    )?;
    let tags = tags(req)?;
    if let Some(b) = boundary {
        if managed::by_arn(b).is_none() {
            return Err(not_found(format!(
                "Scope ARN: {b} does not exist or is not attachable."
            )));
        }
    }
    let role = s.engine.create_role(NewRole {
        account: account.into(),
        name: name.into(),
        path: path.into(),
        assume_role_policy: trust,
        description: description.map(str::to_string),
        max_session_duration: max_session
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(iam::MAX_SESSION_DEFAULT),
        tags,
        permissions_boundary: boundary.map(str::to_string),
    })?;
    let mut x = Xml::default();
    x.element("Role", |x| shapes::role(x, &role, RoleView::Create));
    Ok(x)
}

pub(super) fn get(s: &AppState, account: &str, req: &QueryRequest) -> Result<Xml, QueryError> {
    let role = s.engine.get_role(account, role_name(req)?)?;
    let mut x = Xml::default();
    x.element("Role", |x| shapes::role(x, &role, RoleView::Get));
    Ok(x)
}

pub(super) fn list(s: &AppState, account: &str, req: &QueryRequest) -> Result<Xml, QueryError> {
    let prefix = req.get("PathPrefix").unwrap_or("/");
    let mut v = Violations::new();
    iam::check_path_prefix(&mut v, prefix, "pathPrefix");
    violations(v)?;
    let (max, marker) = paging(req)?;
    let (roles, next) = s.engine.list_roles(account, prefix, marker, max)?;
    let mut x = Xml::default();
    x.element("Roles", |x| {
        for r in &roles {
            x.element("member", |x| shapes::role(x, r, RoleView::List));
        }
    });
    truncation(&mut x, next.as_deref());
    Ok(x)
}

pub(super) fn delete(s: &AppState, account: &str, req: &QueryRequest) -> Result<(), QueryError> {
    Ok(s.engine.delete_role(account, role_name(req)?)?)
}

pub(super) fn update_trust(
    s: &AppState,
    account: &str,
    req: &QueryRequest,
) -> Result<(), QueryError> {
    let name = role_name(req)?;
    let doc = document(req, "PolicyDocument", "policyDocument", PolicyKind::Trust)?;
    Ok(s.engine.update_assume_role_policy(account, name, doc)?)
}
