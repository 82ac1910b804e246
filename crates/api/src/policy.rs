//! AddPermission, RemovePermission and GetPolicy
//! (`/2015-03-31/functions/{FunctionName}/policy[/{StatementId}]`). Policies are
//! stored and returned; they are enforced once requests are signed (issue 14).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use hearth_model::policy::{
    bad_qualifier, statement_json, valid_qualifier, AddPermissionRequest, AddPermissionResponse,
    GetPolicyResponse,
};
use hearth_model::{AwsError, FunctionRef};

use crate::action::{Operation, ResourceOf};
use crate::error::ApiResult;
use crate::tenant::Tenant;
use crate::{body, AppState};

const ADD_PERMISSION: Operation = Operation::new(
    "AddPermission",
    "lambda:AddPermission",
    ResourceOf::Function,
);
const REMOVE_PERMISSION: Operation = Operation::new(
    "RemovePermission",
    "lambda:RemovePermission",
    ResourceOf::Function,
);
const GET_POLICY: Operation = Operation::new("GetPolicy", "lambda:GetPolicy", ResourceOf::Function);
#[cfg(test)]
pub(crate) const OPERATIONS: &[Operation] = &[ADD_PERMISSION, REMOVE_PERMISSION, GET_POLICY];

/// RemovePermission's `StatementId` pattern (it also allows `.`).
const REMOVE_SID_PATTERN: &str = "([a-zA-Z0-9-_.]+)";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/2015-03-31/functions/{function}/policy",
            post(add_permission)
                .layer(Extension(ADD_PERMISSION))
                .merge(get(get_policy).layer(Extension(GET_POLICY))),
        )
        .route(
            "/2015-03-31/functions/{function}/policy/{sid}",
            delete(remove_permission).layer(Extension(REMOVE_PERMISSION)),
        )
}

/// The function reference with `?Qualifier=` folded in, checked against the policy
/// operations' qualifier pattern.
fn policy_ref(
    path: &str,
    query: &HashMap<String, String>,
    tenant: &Tenant,
) -> ApiResult<FunctionRef> {
    let mut r = FunctionRef::parse(path, tenant.as_str())?;
    if let Some(q) = query.get("Qualifier") {
        if !valid_qualifier(q) {
            return Err(bad_qualifier(q).into());
        }
        match &r.qualifier {
            Some(existing) if existing != q => {
                return Err(AwsError::invalid(
                    "The derived qualifier from the function name does not match the specified qualifier.",
                )
                .into())
            }
            _ => r.qualifier = Some(q.clone()),
        }
    }
    Ok(r)
}

async fn add_permission(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: Body,
) -> ApiResult<Response> {
    let req: AddPermissionRequest = body::json(body, ADD_PERMISSION.name).await?;
    let permission = req.validated()?;
    let r = policy_ref(&function, &query, &tenant)?;
    let statement = s.engine.add_permission(&r, permission)?;
    Ok((
        StatusCode::CREATED,
        Json(AddPermissionResponse {
            statement: statement_json(&statement),
        }),
    )
        .into_response())
}

async fn remove_permission(
    State(s): State<AppState>,
    tenant: Tenant,
    Path((function, sid)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    let r = policy_ref(&function, &query, &tenant)?;
    let sid_ok = !sid.is_empty()
        && sid.len() <= 100
        && sid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !sid_ok {
        return Err(AwsError::constraint(
            &sid,
            "statementId",
            &format!("Member must satisfy regular expression pattern: {REMOVE_SID_PATTERN}"),
        )
        .into());
    }
    let revision = query.get("RevisionId").map(String::as_str);
    s.engine.remove_permission(&r, &sid, revision)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_policy(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<GetPolicyResponse>> {
    let r = policy_ref(&function, &query, &tenant)?;
    let policy = s.engine.get_policy(&r)?;
    Ok(Json(GetPolicyResponse {
        policy: policy.document(),
        revision_id: policy.revision_id,
    }))
}
