//! `/_hearth/functions/{name}/fresh-env`: whether every invocation of a function runs in
//! a new environment that is never reused (a Hearth extension, docs/fresh-env.md), which
//! AWS's clients cannot send. `GET` shows `{"Enabled": bool}` for `$LATEST`, `PUT` with
//! the same shape sets it there; GetFunction's `Hearth.FreshEnv` shows the value of the
//! version asked for.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use hearth_model::AwsError;
use serde_json::{json, Map, Value};

use crate::action::{Operation, ResourceOf};
use crate::error::ApiResult;
use crate::functions::unqualified_name;
use crate::tenant::Tenant;
use crate::{body, AppState};

/// Hearth's own operations, on the function they configure.
const GET_FRESH_ENV: Operation = Operation::new(
    "GetFunctionFreshEnv",
    "hearth:GetFunctionFreshEnv",
    ResourceOf::UnqualifiedFunction,
);
const PUT_FRESH_ENV: Operation = Operation::new(
    "PutFunctionFreshEnv",
    "hearth:PutFunctionFreshEnv",
    ResourceOf::UnqualifiedFunction,
);
pub(crate) const OPERATIONS: &[Operation] = &[GET_FRESH_ENV, PUT_FRESH_ENV];

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/_hearth/functions/{function}/fresh-env",
        get(get_fresh_env)
            .layer(Extension(GET_FRESH_ENV))
            .merge(axum::routing::put(put_fresh_env).layer(Extension(PUT_FRESH_ENV))),
    )
}

fn answer(enabled: bool) -> Json<Value> {
    Json(json!({ "Enabled": enabled }))
}

/// `{"Enabled": true | false}` and nothing else; a missing or mistyped `Enabled` is the
/// caller's mistake, said plainly.
fn enabled_of(body: &Map<String, Value>) -> Result<bool, AwsError> {
    if let Some(other) = body.keys().find(|k| *k != "Enabled") {
        return Err(AwsError::invalid(format!(
            "Unknown field {other}: the body is {{\"Enabled\": true | false}}"
        )));
    }
    match body.get("Enabled") {
        Some(Value::Bool(b)) => Ok(*b),
        None | Some(Value::Null) => Err(AwsError::invalid("Enabled is required: true or false")),
        Some(other) => Err(AwsError::invalid(format!(
            "Enabled must be a boolean (true or false), not {other}"
        ))),
    }
}

async fn get_fresh_env(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
) -> ApiResult<Json<Value>> {
    let name = unqualified_name(&function, &tenant)?;
    Ok(answer(s.engine.get_fresh_env(&name)?))
}

async fn put_fresh_env(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(function): Path<String>,
    body: Body,
) -> ApiResult<Json<Value>> {
    let name = unqualified_name(&function, &tenant)?;
    let req: Map<String, Value> = body::json(body, PUT_FRESH_ENV.name).await?;
    let enabled = enabled_of(&req)?;
    Ok(answer(s.engine.put_fresh_env(&name, enabled)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).expect("a JSON object")
    }

    #[test]
    fn only_a_boolean_enabled_is_taken() {
        assert_eq!(enabled_of(&body(r#"{"Enabled": true}"#)), Ok(true));
        assert_eq!(enabled_of(&body(r#"{"Enabled": false}"#)), Ok(false));
        let message = |text: &str| enabled_of(&body(text)).expect_err(text).message;
        assert_eq!(message("{}"), "Enabled is required: true or false");
        assert_eq!(
            message(r#"{"Enabled": null}"#),
            "Enabled is required: true or false"
        );
        assert_eq!(
            message(r#"{"Enabled": "yes"}"#),
            "Enabled must be a boolean (true or false), not \"yes\""
        );
        assert_eq!(
            message(r#"{"Enabled": 1}"#),
            "Enabled must be a boolean (true or false), not 1"
        );
        assert_eq!(
            message(r#"{"Enabled": true, "Policy": "x"}"#),
            "Unknown field Policy: the body is {\"Enabled\": true | false}"
        );
        assert_eq!(
            enabled_of(&body("{}")).expect_err("missing").code,
            hearth_model::ErrorCode::InvalidParameterValue
        );
    }
}
