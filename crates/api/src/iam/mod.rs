//! IAM's subset on Hearth's one endpoint (the query protocol, `Version=2010-05-08`):
//! roles (`roles.rs`), their inline and attached policies and Hearth's managed policies
//! (`policies.rs`), the XML of each shape (`shapes.rs`). The engine's [`IamError`]s get
//! IAM's codes, statuses and messages here, in one place.

mod policies;
mod roles;
mod shapes;

use axum::http::StatusCode;
use axum::response::Response;
use hearth_engine::{IamError, Limit, MAX_ATTACHED_POLICIES};
use hearth_model::caller::Caller;
use hearth_model::iam::policy_document::{self, PolicyKind};
use hearth_model::violations::Violations;

use crate::query::{Protocol, QueryError, QueryRequest, Xml};
use crate::AppState;

pub(crate) const PROTOCOL: Protocol = Protocol {
    namespace: "https://iam.amazonaws.com/doc/2010-05-08/",
    version: "2010-05-08",
};

/// One IAM request, answered.
pub(crate) fn dispatch(
    s: &AppState,
    caller: &Caller,
    req: &QueryRequest,
    request_id: &str,
) -> Response {
    match handle(s, caller, req) {
        Ok(result) => PROTOCOL.answer(&req.action, request_id, result),
        Err(e) => PROTOCOL.error(&e, request_id),
    }
}

fn handle(s: &AppState, caller: &Caller, req: &QueryRequest) -> Result<Option<Xml>, QueryError> {
    let account = caller.account.as_str();
    match req.action.as_str() {
        "CreateRole" => roles::create(s, account, req).map(Some),
        "GetRole" => roles::get(s, account, req).map(Some),
        "ListRoles" => roles::list(s, account, req).map(Some),
        "DeleteRole" => roles::delete(s, account, req).map(|()| None),
        "UpdateAssumeRolePolicy" => roles::update_trust(s, account, req).map(|()| None),
        "PutRolePolicy" => policies::put_inline(s, account, req).map(|()| None),
        "GetRolePolicy" => policies::get_inline(s, account, req).map(Some),
        "DeleteRolePolicy" => policies::delete_inline(s, account, req).map(|()| None),
        "ListRolePolicies" => policies::list_inline(s, account, req).map(Some),
        "AttachRolePolicy" => policies::attach(s, account, req).map(|()| None),
        "DetachRolePolicy" => policies::detach(s, account, req).map(|()| None),
        "ListAttachedRolePolicies" => policies::list_attached(s, account, req).map(Some),
        "GetPolicy" => policies::get_managed(s, account, req).map(Some),
        "GetPolicyVersion" => policies::get_managed_version(s, account, req).map(Some),
        "ListPolicies" => policies::list_managed(s, account, req).map(Some),
        other => Err(QueryError::invalid_action(other, PROTOCOL.version)),
    }
}

fn not_found(message: String) -> QueryError {
    QueryError::sender(StatusCode::NOT_FOUND, "NoSuchEntity", message)
}

fn conflict(code: &str, message: impl Into<String>) -> QueryError {
    QueryError::sender(StatusCode::CONFLICT, code, message)
}

/// The engine's refusals in IAM's words.
impl From<IamError> for QueryError {
    fn from(e: IamError) -> Self {
        match e {
            IamError::NoSuchRole { name } => {
                not_found(format!("The role with name {name} cannot be found."))
            }
            IamError::NoSuchRolePolicy { policy, .. } => not_found(format!(
                "The role policy with name {policy} cannot be found."
            )),
            IamError::NoSuchPolicy { arn } | IamError::NotAttached { arn } => {
                not_found(format!("Policy {arn} was not found."))
            }
            IamError::NoSuchPolicyVersion { arn, version } => not_found(format!(
                "Policy {arn} version {version} does not exist or is not attachable."
            )),
            IamError::NotAttachable { arn } => {
                not_found(format!("Policy {arn} does not exist or is not attachable."))
            }
            IamError::RoleExists { name } => conflict(
                "EntityAlreadyExists",
                format!("Role with name {name} already exists."),
            ),
            IamError::DeleteConflict { inline: true } => conflict(
                "DeleteConflict",
                "Cannot delete entity, must delete policies first.",
            ),
            IamError::DeleteConflict { inline: false } => conflict(
                "DeleteConflict",
                "Cannot delete entity, must detach all policies first.",
            ),
            IamError::LimitExceeded(Limit::AttachedPolicies) => conflict(
                "LimitExceeded",
                format!("Cannot exceed quota for PoliciesPerRole: {MAX_ATTACHED_POLICIES}"),
            ),
            IamError::LimitExceeded(Limit::InlinePolicySize { role }) => conflict(
                "LimitExceeded",
                format!(
                    "Maximum policy size of {} bytes exceeded for role {role}",
                    hearth_engine::MAX_INLINE_POLICY_CHARS
                ),
            ),
            // Only STS asks whether a role may be assumed; it words its own answer.
            IamError::AssumeDenied { action } => QueryError::sender(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                format!("Not authorized to perform {action}"),
            ),
            IamError::Engine(e) => QueryError::internal(&e),
        }
    }
}

/// The model's violations as IAM's `ValidationError`.
fn violations(v: Violations) -> Result<(), QueryError> {
    match v.into_error() {
        None => Ok(()),
        Some(e) => Err(QueryError::validation(e.message)),
    }
}

/// A policy document member: the model's constraints, then IAM's reading of the
/// document (`MalformedPolicyDocument`). The document checks are the model's
/// `policy_document::check`, the one place the policy language crate plugs in.
fn document(
    req: &QueryRequest,
    name: &str,
    field: &str,
    kind: PolicyKind,
) -> Result<String, QueryError> {
    let doc = crate::query::required(req, name)?;
    let mut v = Violations::new();
    hearth_model::iam::check_document_chars(&mut v, doc, field);
    violations(v)?;
    policy_document::check(doc, kind)
        .map_err(|m| QueryError::sender(StatusCode::BAD_REQUEST, "MalformedPolicyDocument", m.0))?;
    Ok(doc.to_string())
}

/// `MaxItems` (1 to 1000, 100 when absent) and `Marker` of a listing.
fn paging(req: &QueryRequest) -> Result<(usize, Option<&str>), QueryError> {
    let mut v = Violations::new();
    let max = crate::query::integer(req, "MaxItems", "maxItems")?;
    if let Some(n) = max {
        v.range(n, "maxItems", Some(1), Some(1000));
    }
    let marker = req.get("Marker");
    if let Some(m) = marker {
        v.length(m, "marker", 1, 320);
    }
    violations(v)?;
    let max = max.and_then(|n| usize::try_from(n).ok()).unwrap_or(100);
    Ok((max, marker))
}

/// A page of an in-memory list: the items after the marker (an offset Hearth gave),
/// at most `max`, and the next marker.
fn page<T>(
    items: Vec<T>,
    marker: Option<&str>,
    max: usize,
) -> Result<(Vec<T>, Option<String>), QueryError> {
    let start = match marker {
        None => 0,
        Some(m) => m
            .parse::<usize>()
            .map_err(|_| QueryError::validation("Invalid Marker."))?,
    };
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(start).take(max).collect();
    let end = start.saturating_add(page.len());
    let next = (end < total).then(|| end.to_string());
    Ok((page, next))
}

/// `IsTruncated` and `Marker` of a listing's result.
fn truncation(x: &mut Xml, next: Option<&str>) {
    x.leaf("IsTruncated", if next.is_some() { "true" } else { "false" });
    x.leaf_opt("Marker", next);
}

/// `text` percent-encoded as IAM answers policy documents (every byte but the
/// unreserved ones; botocore decodes with `unquote`, so a space must be `%20`).
pub(crate) fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `Tags.member.N.Key`/`.Value` pairs of a request (IAM's CreateRole, STS's
/// AssumeRole), as sent; each caller checks them by its own rules.
pub(crate) fn tags_of(req: &QueryRequest) -> Vec<hearth_model::iam::Tag> {
    req.structs("Tags")
        .into_iter()
        .map(|t| hearth_model::iam::Tag {
            key: t.get("Key").copied().unwrap_or_default().to_string(),
            value: t.get("Value").copied().unwrap_or_default().to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_percent_encoded_as_iam_answers_them() {
        assert_eq!(
            url_encode(r#"{"a": "b+c/é"}"#),
            "%7B%22a%22%3A%20%22b%2Bc%2F%C3%A9%22%7D"
        );
    }

    #[test]
    fn in_memory_pages_carry_an_offset_marker() {
        let (p, next) = page(vec![1, 2, 3], None, 2).expect("page");
        assert_eq!((p, next.as_deref()), (vec![1, 2], Some("2")));
        let (p, next) = page(vec![1, 2, 3], Some("2"), 2).expect("page");
        assert_eq!((p, next), (vec![3], None));
        assert!(page(vec![1], Some("x"), 2).is_err());
    }
}
