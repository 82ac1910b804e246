//! Who may call a function URL, as Lambda decides it ("Control access to Lambda function
//! URLs"):
//!
//! - `AuthType` `NONE`: anyone, but only if the function's resource policy allows
//!   `lambda:InvokeFunctionUrl` to principal `*` (the permission `CreateFunctionUrlConfig`
//!   asks for, usually with the condition `lambda:FunctionUrlAuthType` = `NONE`). The
//!   caller is anonymous: nothing but such a statement can allow it.
//! - `AuthType` `AWS_IAM`: only requests signed with SigV4 for the service `lambda`, whose
//!   principal is allowed `lambda:InvokeFunctionUrl` on the function by its identity
//!   policies or the function's resource policy (as any Lambda action is decided). With
//!   `--auth off` no signature can be verified: a signed request is taken as the default
//!   account's root, as every API request is then, and an unsigned one is refused.
//!
//! A refusal is Lambda's `403 {"Message":"Forbidden"}`, whatever the reason; the reason
//! goes to the server's log.

use std::time::SystemTime;

use axum::http::request::Parts;
use hearth_auth::{Incoming, ServiceCheck};
use hearth_http_events::v2::{iam_authorizer, IamCaller};
use hearth_iam_policy::{evaluate, RequestContext, RequestPrincipal, ResourcePolicy};
use hearth_model::caller::Caller;
use hearth_model::function_url::{AuthType, FunctionUrl};
use hearth_model::FunctionRef;
use serde_json::Value;

use crate::authorize::Access;
use crate::{AppState, Auth};

/// The IAM action of a call to a function URL.
pub(crate) const ACTION: &str = "lambda:InvokeFunctionUrl";

/// The condition key a URL's permission is usually scoped by.
const AUTH_TYPE_KEY: &str = "lambda:FunctionUrlAuthType";

/// Who a served request came from.
pub(crate) enum Principal {
    /// `AuthType` `NONE`.
    Anonymous,
    /// `AuthType` `AWS_IAM`: the signer.
    Signed(Caller),
}

impl Principal {
    /// The event's `requestContext.authorizer`: the signer's identity, as Lambda passes
    /// it for `AWS_IAM`; none for an anonymous call.
    pub(crate) fn authorizer(&self) -> Option<Value> {
        match self {
            Principal::Anonymous => None,
            Principal::Signed(c) => Some(iam_authorizer(&IamCaller {
                access_key: c.access_key_id.as_deref().unwrap_or_default(),
                account_id: &c.account,
                caller_id: &c.user_id,
                principal_org_id: None,
                user_arn: &c.arn,
                user_id: &c.user_id,
            })),
        }
    }
}

/// Whether the request may call the URL; `Err` says why not (for the log only).
pub(crate) fn authorize(
    s: &AppState,
    url: &FunctionUrl,
    function: &FunctionRef,
    parts: &Parts,
    body: &[u8],
    source_ip: Option<std::net::IpAddr>,
) -> Result<Principal, String> {
    let resource = url.function_arn();
    match url.auth_type {
        AuthType::None => {
            let policy = s.engine.function_resource_policy(function);
            let mut ctx = RequestContext::new(RequestPrincipal::anonymous());
            ctx.set(AUTH_TYPE_KEY, AuthType::None.as_str());
            if let Some(ip) = source_ip {
                ctx.set("aws:SourceIp", &ip.to_string());
            }
            let account = hearth_model::arn::arn_account(&resource).unwrap_or_default();
            let outcome = evaluate(
                &ctx,
                ACTION,
                &resource,
                &[],
                ResourcePolicy {
                    account,
                    policy: policy.as_deref(),
                },
            );
            if outcome.allowed() {
                Ok(Principal::Anonymous)
            } else {
                Err(format!(
                    "the resource policy of {resource} does not allow {ACTION} to principal * (lambda add-permission --principal '*' --action {ACTION} --function-url-auth-type NONE)"
                ))
            }
        }
        AuthType::AwsIam => {
            let caller = signer(s, parts, body)?;
            let access = Access {
                caller: caller.clone(),
                source_ip,
                epoch_seconds: chrono::Utc::now().timestamp(),
            };
            access
                .check_keyed(
                    s,
                    ACTION,
                    &resource,
                    Some(function),
                    &[(AUTH_TYPE_KEY, AuthType::AwsIam.as_str())],
                )
                .map_err(|r| format!("{r:?}"))?;
            Ok(Principal::Signed(caller))
        }
    }
}

/// Whether a request carries a SigV4 signature at all (header or presigned query).
fn is_signed(parts: &Parts) -> bool {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(hearth_auth::parse::ALGORITHM))
        || parts
            .uri
            .query()
            .is_some_and(|q| q.contains("X-Amz-Signature="))
}

/// The principal that signed the request for the service `lambda`.
fn signer(s: &AppState, parts: &Parts, body: &[u8]) -> Result<Caller, String> {
    let verifier = match &s.options.auth {
        Auth::SigV4(v) => v,
        Auth::Off if is_signed(parts) => return Ok(Caller::default_root()),
        Auth::Off => return Err("an AWS_IAM function URL needs a SigV4-signed request".into()),
    };
    let incoming = Incoming {
        method: parts.method.as_str(),
        path_and_query: parts.uri.path_and_query().map_or("/", |p| p.as_str()),
        headers: &parts.headers,
        body,
    };
    verifier
        .verify(&incoming, ServiceCheck::Is("lambda"), SystemTime::now())
        .map_err(|e| e.to_string())
}
