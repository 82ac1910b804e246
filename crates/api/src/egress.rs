//! `/_hearth/functions/{name}/egress`: a function's egress policy (a Hearth extension,
//! docs/egress.md), which AWS's clients cannot send. `GET` shows it, `PUT` with
//! `{"Policy": "all" | "none" | "<allowlist>"}` sets it, `DELETE` returns the function
//! to the server's default (`--egress-default`). Each answers the policy as
//! [`egress_json`] shows it, which is also GetFunction's `Hearth.Egress`.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use hearth_engine::EgressView;
use hearth_model::egress::EgressPolicy;
use hearth_model::AwsError;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::action::{Operation, ResourceOf};
use crate::error::ApiResult;
use crate::functions::unqualified_name;
use crate::tenant::Tenant;
use crate::{body, AppState};

/// Hearth's own operations, on the function they configure.
const GET_EGRESS: Operation = Operation::new(
    "GetFunctionEgress",
    "hearth:GetFunctionEgress",
    ResourceOf::UnqualifiedFunction,
);
const PUT_EGRESS: Operation = Operation::new(
    "PutFunctionEgress",
    "hearth:PutFunctionEgress",
    ResourceOf::UnqualifiedFunction,
);
const DELETE_EGRESS: Operation = Operation::new(
    "DeleteFunctionEgress",
    "hearth:DeleteFunctionEgress",
    ResourceOf::UnqualifiedFunction,
);
pub(crate) const OPERATIONS: &[Operation] = &[GET_EGRESS, PUT_EGRESS, DELETE_EGRESS];

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/_hearth/functions/{function}/egress",
        get(get_egress)
            .layer(Extension(GET_EGRESS))
            .merge(axum::routing::put(put_egress).layer(Extension(PUT_EGRESS)))
            .merge(axum::routing::delete(delete_egress).layer(Extension(DELETE_EGRESS))),
    )
}

/// `{"Policy": "all", "Source": "function" | "default", "Enforced": true}`.
pub(crate) fn egress_json(view: &EgressView) -> Value {
    json!({
        "Policy": view.policy.to_string(),
        "Source": if view.own { "function" } else { "default" },
        "Enforced": view.enforced,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct PutEgress {
    policy: Option<String>,
}

async fn get_egress(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
) -> ApiResult<Json<Value>> {
    let name = unqualified_name(&function, &tenant)?;
    Ok(Json(egress_json(&s.engine.get_egress(&name)?)))
}

async fn put_egress(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    body: Body,
) -> ApiResult<Json<Value>> {
    let name = unqualified_name(&function, &tenant)?;
    let req: PutEgress = body::json(body, PUT_EGRESS.name).await?;
    let text = req
        .policy
        .ok_or_else(|| AwsError::invalid("Policy is required: all, none or an allowlist"))?;
    let policy: EgressPolicy = text
        .parse()
        .map_err(|e: String| AwsError::invalid(format!("Invalid egress policy: {e}")))?;
    Ok(Json(egress_json(
        &s.engine.put_egress(&name, Some(policy))?,
    )))
}

async fn delete_egress(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
) -> ApiResult<Json<Value>> {
    let name = unqualified_name(&function, &tenant)?;
    Ok(Json(egress_json(&s.engine.put_egress(&name, None)?)))
}
