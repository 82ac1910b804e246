//! CreateFunction's and UpdateFunctionConfiguration's role check. First, always, a
//! caller other than an account's root must be allowed `iam:PassRole` on the role, as
//! AWS requires of whoever hands a role to a service: without it a user allowed to create
//! functions could run code with any role's permissions. Then (with
//! [`hearth_engine::EngineConfig::check_roles`]) the execution role must be a role of the
//! function's account whose trust policy lets `lambda.amazonaws.com` assume it, else
//! Lambda's `InvalidParameterValueException`. The trust policy is evaluated by the policy
//! crate with Lambda as the principal and the function as the source
//! (`aws:SourceAccount`, `aws:SourceArn`), so that a trust policy limited to some
//! functions or accounts is honoured.
//!
//! A function with a `DeadLetterConfig` must also have a role that may send to it
//! (`sqs:SendMessage` on the queue, `sns:Publish` on the topic), as Lambda sends dead
//! letters with the role: [`check_dead_letters`].

use hearth_engine::IamError;
use hearth_iam_policy::{RequestContext, RequestPrincipal};
use hearth_model::arn::{function_arn, key_account};
use hearth_model::caller::CallerKind;
use hearth_model::iam::parse_role_arn;
use hearth_model::AwsError;

use crate::authorize::Access;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// What handing a role to a service takes.
const PASS_ROLE: &str = "iam:PassRole";

/// The service principal Lambda assumes execution roles as.
const LAMBDA: &str = "lambda.amazonaws.com";

/// Lambda's answer when it cannot assume the role.
const CANNOT_ASSUME: &str = "The role defined for the function cannot be assumed by Lambda.";

/// Checks `role` (already valid to Lambda's pattern) as the execution role of the
/// function whose key is `function` (`hearth_model::arn::function_key`), passed by the
/// caller of `access` (none: a request the authorization layer did not see, in-process):
/// a role the caller may pass, and of the function's own account when role checking is
/// on.
pub(crate) fn check(
    s: &AppState,
    access: Option<&Access>,
    role: &str,
    function: &str,
) -> ApiResult<()> {
    // A root needs no permission in its own account, and another account's role is the
    // trust check's to refuse (with Lambda's message).
    if let Some(access) = access.filter(|a| a.caller.kind != CallerKind::Root) {
        access.check(s, PASS_ROLE, role, None)?;
    }
    if !s.engine.checks_roles() {
        return Ok(());
    }
    let owner = key_account(function);
    let ctx = RequestContext::new(RequestPrincipal::service(LAMBDA))
        .with("aws:SourceAccount", owner)
        .with("aws:SourceArn", &function_arn(function, None));
    let trusted = match parse_role_arn(role) {
        Some((account, name)) if account == owner => s
            .engine
            .role_trusts_service(account, name, &ctx)
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

/// With role checking on, whether `role`, the execution role of the function whose key is
/// `function`, may send its dead letters to `target` (an SQS queue or SNS topic ARN),
/// else Lambda's `InvalidParameterValueException`.
pub(crate) fn check_dead_letters(
    s: &AppState,
    role: &str,
    function: &str,
    target: &str,
) -> ApiResult<()> {
    if s.engine.role_may_send(role, function, target)? {
        Ok(())
    } else {
        Err(hearth_engine::dead_letters_refused(target).into())
    }
}
