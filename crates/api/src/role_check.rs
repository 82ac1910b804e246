//! CreateFunction's and UpdateFunctionConfiguration's role check (with
//! [`crate::ApiOptions::check_roles`]): the execution role must be a role of the
//! caller's account whose trust policy lets `lambda.amazonaws.com` assume it, else
//! Lambda's `InvalidParameterValueException`.

use hearth_engine::IamError;
use hearth_model::caller::Caller;
use hearth_model::iam::parse_role_arn;
use hearth_model::AwsError;

use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// The service principal Lambda assumes execution roles as.
const LAMBDA: &str = "lambda.amazonaws.com";

/// Lambda's answer when it cannot assume the role.
const CANNOT_ASSUME: &str = "The role defined for the function cannot be assumed by Lambda.";

/// Checks `role` (already valid to Lambda's pattern) when role checking is on.
pub(crate) fn check(s: &AppState, caller: &Caller, role: &str) -> ApiResult<()> {
    if !s.options.check_roles {
        return Ok(());
    }
    let trusted = match parse_role_arn(role) {
        Some((account, name)) if account == caller.account => s
            .engine
            .role_trusts_service(account, name, LAMBDA)
            .map_err(|e| match e {
                IamError::Engine(e) => ApiError::from(e),
                other => ApiError(AwsError::service(other.to_string())),
            })?,
        _ => false,
    };
    if trusted {
        Ok(())
    } else {
        Err(AwsError::invalid(CANNOT_ASSUME).into())
    }
}
