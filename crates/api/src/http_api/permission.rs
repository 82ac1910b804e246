//! Whether API Gateway may invoke a function for an API, as Lambda decides it: the
//! function's resource policy (AddPermission's) must allow `lambda:InvokeFunction` to the
//! service principal `apigateway.amazonaws.com`, with the request's `aws:SourceArn`
//! (`arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH`) and `aws:SourceAccount`
//! meeting its conditions.

use hearth_iam_policy::{evaluate, RequestContext, RequestPrincipal, ResourcePolicy};
use hearth_model::arn::REGION;
use hearth_model::FunctionRef;

use crate::AppState;

/// The service principal API Gateway invokes as.
pub(crate) const PRINCIPAL: &str = "apigateway.amazonaws.com";

/// The `aws:SourceArn` of a request on `route_key` (`$default` or `METHOD /path`) of
/// `stage`: `API/STAGE/$default` for the default route, else `API/STAGE/METHOD/path` with
/// the request's method and the route's path, as API Gateway forms it.
pub(crate) fn source_arn(
    account: &str,
    api: &str,
    stage: &str,
    method: &str,
    route_key: &str,
) -> String {
    let tail = match route_key.split_once(' ') {
        Some((_, path)) => format!("{method}{path}"),
        None => route_key.to_string(),
    };
    format!("arn:aws:execute-api:{REGION}:{account}:{api}/{stage}/{tail}")
}

/// Whether the policy of `function` (its ARN, qualified or not) lets API Gateway invoke
/// it for a request whose source is `source_arn` in `account`; `Err` says why not.
pub(crate) fn check(
    s: &AppState,
    function_arn: &str,
    function: &FunctionRef,
    source_arn: &str,
    account: &str,
) -> Result<(), String> {
    let Some(policy) = s.engine.function_resource_policy(function) else {
        return Err(format!(
            "the function {function_arn} has no resource policy: add a permission for {PRINCIPAL} (lambda add-permission)"
        ));
    };
    let mut ctx = RequestContext::new(RequestPrincipal::service(PRINCIPAL));
    ctx.set("aws:SourceArn", source_arn);
    ctx.set("aws:SourceAccount", account);
    let fn_account = hearth_model::arn::arn_account(function_arn).unwrap_or(account);
    let outcome = evaluate(
        &ctx,
        "lambda:InvokeFunction",
        function_arn,
        &[],
        ResourcePolicy {
            account: fn_account,
            policy: Some(&policy),
        },
    );
    if outcome.allowed() {
        Ok(())
    } else {
        Err(format!(
            "the resource policy of {function_arn} does not allow {PRINCIPAL} to invoke it for {source_arn}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_arns_name_the_route() {
        assert_eq!(
            source_arn("000000000000", "a1", "$default", "GET", "$default"),
            "arn:aws:execute-api:us-east-1:000000000000:a1/$default/$default"
        );
        assert_eq!(
            source_arn("000000000000", "a1", "prod", "POST", "ANY /items/{id}"),
            "arn:aws:execute-api:us-east-1:000000000000:a1/prod/POST/items/{id}"
        );
    }
}
