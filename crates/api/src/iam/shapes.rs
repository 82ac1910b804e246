//! The XML of IAM's shapes as its operations answer them. Which members appear differs
//! by operation, as on AWS: CreateRole leaves out `MaxSessionDuration`, GetRole adds
//! `RoleLastUsed` and the permissions boundary, ListRoles shows neither tags nor
//! `RoleLastUsed`.

use hearth_model::iam::managed::ManagedPolicy;
use hearth_model::iam::Role;

use super::url_encode;
use crate::query::Xml;

/// Where a role is shown: the members differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RoleView {
    Create,
    Get,
    List,
}

/// A `Role` structure's members (inside `<Role>` or `<member>`).
pub(super) fn role(x: &mut Xml, r: &Role, view: RoleView) {
    x.leaf("Path", &r.path)
        .leaf("RoleName", &r.name)
        .leaf("RoleId", &r.id)
        .leaf("Arn", &r.arn())
        .leaf("CreateDate", &r.create_date)
        .leaf(
            "AssumeRolePolicyDocument",
            &url_encode(&r.assume_role_policy),
        )
        .leaf_opt("Description", r.description.as_deref());
    if view != RoleView::Create {
        x.leaf("MaxSessionDuration", &r.max_session_duration.to_string());
    }
    if view != RoleView::List {
        if let Some(boundary) = &r.permissions_boundary {
            x.element("PermissionsBoundary", |x| {
                x.leaf("PermissionsBoundaryType", "Policy")
                    .leaf("PermissionsBoundaryArn", boundary);
            });
        }
        if !r.tags.is_empty() {
            x.element("Tags", |x| {
                for t in &r.tags {
                    x.element("member", |x| {
                        x.leaf("Key", &t.key).leaf("Value", &t.value);
                    });
                }
            });
        }
    }
    if view == RoleView::Get {
        x.element("RoleLastUsed", |_| {});
    }
}

/// A managed `Policy` structure's members; ListPolicies leaves out the description.
pub(super) fn policy(x: &mut Xml, p: &ManagedPolicy, attachments: usize, describe: bool) {
    x.leaf("PolicyName", p.name)
        .leaf("PolicyId", &p.id())
        .leaf("Arn", &p.arn())
        .leaf("Path", p.path)
        .leaf("DefaultVersionId", p.version)
        .leaf("AttachmentCount", &attachments.to_string())
        .leaf("PermissionsBoundaryUsageCount", "0")
        .leaf("IsAttachable", "true");
    if describe {
        x.leaf("Description", p.description);
    }
    x.leaf("CreateDate", p.create_date)
        .leaf("UpdateDate", p.update_date);
}
