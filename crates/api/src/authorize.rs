//! The authorization layer: every request that reaches a route is checked before its
//! handler runs. Its route's declaration (`action.rs`) gives the IAM action and how the
//! resource ARN is formed; the caller (the `Caller` extension the authentication layer
//! inserts, the default account's root when there is none), the source address and the
//! time make the request context; the caller's identity policies come from the
//! [`Authorizer`] and the function's resource policy (AddPermission's) from the engine;
//! `hearth-iam-policy` decides. A denial is AWS's `AccessDeniedException` with AWS's text.
//!
//! A route with no declaration answers 500 before its handler runs (fail closed), so a
//! route added without one cannot serve anything.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, Path, Query, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use hearth_iam_policy::{
    denial_message, evaluate, Policy, RequestContext, RequestPrincipal, ResourcePolicy,
};
use hearth_model::arn::{function_key, REGION};
use hearth_model::caller::{Caller, CallerKind};
use hearth_model::{AwsError, ErrorCode, FunctionRef, NameShape, Violations};
use hearth_serve::Step;

use crate::action::{declared, Declared, Operation, ResourceOf};
use crate::tenant::Tenant;
use crate::AppState;

/// Where the identity policies of a caller come from (its key's, its role's). Root callers
/// are never asked: an account's root needs none on its own resources.
pub trait Authorizer: Send + Sync {
    /// The identity-based policies attached to `caller`; an `Err` (a store failure) fails
    /// the request with a service error rather than deciding without them.
    fn identity_policies(&self, caller: &Caller) -> Result<Vec<Policy>, String>;
}

/// No key or role has policies: what Hearth has until keys and roles carry them. Only
/// roots (every caller with authentication off) are allowed anything.
pub struct NoIdentityPolicies;

impl Authorizer for NoIdentityPolicies {
    fn identity_policies(&self, _caller: &Caller) -> Result<Vec<Policy>, String> {
        Ok(Vec::new())
    }
}

/// The shared handle [`crate::AppState`] keeps.
pub type SharedAuthorizer = Arc<dyn Authorizer>;

/// The request's side of an authorization: who asks, from where, when.
#[derive(Debug, Clone)]
pub(crate) struct Access {
    pub caller: Caller,
    pub source_ip: Option<IpAddr>,
    pub epoch_seconds: i64,
}

/// Why a request is not let through.
#[derive(Debug)]
pub(crate) enum Refused {
    /// AWS's access-denied text.
    Denied(String),
    /// The policies could not be read.
    Failed(String),
}

impl Refused {
    /// In Lambda's REST-JSON encoding: 403 `AccessDeniedException`, `{"Message": ...}`.
    fn lambda_response(self) -> Response {
        crate::ApiError::from(self).into_response()
    }
}

impl From<Refused> for crate::ApiError {
    fn from(r: Refused) -> Self {
        Self(match r {
            Refused::Denied(m) => AwsError::new(ErrorCode::AccessDenied, m).untyped(),
            Refused::Failed(m) => AwsError::service(m),
        })
    }
}

/// The function a resource ARN names, and its account.
struct Target {
    arn: String,
    account: String,
    function: Option<FunctionRef>,
    /// The resource's own policy, for resources of other services (an SQS queue's
    /// `Policy` attribute).
    policy: Option<Arc<Policy>>,
}

impl Access {
    fn from_parts(parts: &Parts) -> Self {
        let caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or_else(Caller::default_root);
        let source_ip = crate::front::source_ip(parts);
        Self {
            caller,
            source_ip,
            epoch_seconds: chrono::Utc::now().timestamp(),
        }
    }

    /// A resource of the caller's own account, with no function or policy of its own.
    fn own(&self, arn: String) -> Target {
        Target {
            arn,
            account: self.caller.account.clone(),
            function: None,
            policy: None,
        }
    }

    fn principal(&self) -> RequestPrincipal {
        let c = &self.caller;
        let mut p = match &c.kind {
            CallerKind::Root => RequestPrincipal::root(&c.account),
            CallerKind::User { name } => RequestPrincipal::user(&c.account, name),
            CallerKind::AssumedRole { role_arn, .. } => RequestPrincipal {
                account: Some(c.account.clone()),
                arn: c.arn.clone(),
                kind: hearth_iam_policy::PrincipalKind::AssumedRole {
                    role_arn: role_arn.clone(),
                },
            },
        };
        p.arn = c.arn.clone();
        p
    }

    /// The request context of the caller's request (its principal, source address, time).
    pub(crate) fn context(&self) -> RequestContext {
        let mut ctx = RequestContext::new(self.principal()).at_time(self.epoch_seconds);
        ctx.set("aws:RequestedRegion", REGION);
        // Hearth serves plain HTTP until the TLS part sets this from the connection.
        ctx.set("aws:SecureTransport", "false");
        if let Some(ip) = self.source_ip {
            ctx.set("aws:SourceIp", &ip.to_string());
        }
        ctx.set("aws:userid", &self.caller.user_id);
        ctx
    }

    /// Whether the caller may perform `action` on `resource` (an ARN or `*`). Resource
    /// policies are read for functions only (the policies AddPermission writes).
    pub(crate) fn check(
        &self,
        s: &AppState,
        action: &str,
        resource: &str,
        function: Option<&FunctionRef>,
    ) -> Result<(), Refused> {
        self.check_keyed(s, action, resource, function, &[])
    }

    /// As [`Access::check`], with condition keys of the request besides the caller's
    /// (`lambda:FunctionUrlAuthType`, ...).
    pub(crate) fn check_keyed(
        &self,
        s: &AppState,
        action: &str,
        resource: &str,
        function: Option<&FunctionRef>,
        keys: &[(&str, &str)],
    ) -> Result<(), Refused> {
        let account = hearth_model::arn::arn_account(resource)
            .unwrap_or(&self.caller.account)
            .to_string();
        self.check_target(
            s,
            action,
            &Target {
                arn: resource.to_string(),
                account,
                function: function.cloned(),
                policy: None,
            },
            keys,
        )
    }

    /// As [`Access::check`], for a resource of another service whose owning account is
    /// `account` (it has no resource policy Hearth reads).
    pub(crate) fn check_in(
        &self,
        s: &AppState,
        action: &str,
        resource: &str,
        account: &str,
    ) -> Result<(), Refused> {
        self.check_target(
            s,
            action,
            &Target {
                arn: resource.to_string(),
                account: account.to_string(),
                function: None,
                policy: None,
            },
            &[],
        )
    }

    /// As [`Access::check_in`], with the resource's own policy (an SQS queue's), which
    /// can allow other accounts and deny anyone.
    pub(crate) fn check_with_policy(
        &self,
        s: &AppState,
        action: &str,
        resource: &str,
        account: &str,
        policy: Option<Arc<Policy>>,
    ) -> Result<(), Refused> {
        self.check_target(
            s,
            action,
            &Target {
                arn: resource.to_string(),
                account: account.to_string(),
                function: None,
                policy,
            },
            &[],
        )
    }

    fn check_target(
        &self,
        s: &AppState,
        action: &str,
        t: &Target,
        keys: &[(&str, &str)],
    ) -> Result<(), Refused> {
        // An account's root is allowed everything on its own account's resources unless a
        // resource policy denies it, and the only resource policies Hearth has
        // (AddPermission's) hold Allow statements only: nothing to read.
        if self.caller.kind == CallerKind::Root
            && self.caller.account == t.account
            && t.policy.is_none()
        {
            return Ok(());
        }
        let identity = match self.caller.kind {
            CallerKind::Root => Vec::new(),
            _ => s
                .options
                .authorizer
                .identity_policies(&self.caller)
                .map_err(Refused::Failed)?,
        };
        let resource_policy = t.policy.clone().or_else(|| {
            t.function
                .as_ref()
                .and_then(|f| s.engine.function_resource_policy(f))
        });
        let mut ctx = self.context();
        for (k, v) in keys {
            ctx.set(k, v);
        }
        let outcome = evaluate(
            &ctx,
            action,
            &t.arn,
            &identity,
            ResourcePolicy {
                account: &t.account,
                policy: resource_policy.as_deref(),
            },
        );
        match denial_message(&outcome, &self.caller.arn, action, &t.arn) {
            None => Ok(()),
            Some(m) => Err(Refused::Denied(m)),
        }
    }
}

/// The function a `{function}` path parameter names (name, partial ARN or ARN, with or
/// without a qualifier) as Lambda's loosest name shape reads it, in the account it names
/// or else the caller's (`own`); `None` if it reads as no name, in which case the raw
/// text stands in the ARN and the handler answers its validation error to whoever is
/// allowed to get that far.
fn function_target(raw: &str, qualifier: Option<&str>, keep_qualifier: bool, own: &str) -> Target {
    let mut v = Violations::new();
    match FunctionRef::check(raw, NameShape::Namespaced, "functionName", &mut v) {
        Some(parts) if v.into_result().is_ok() => {
            let account = parts.account.unwrap_or_else(|| own.to_string());
            let region = parts.region.unwrap_or_else(|| REGION.to_string());
            let q = if keep_qualifier {
                parts.qualifier.or(qualifier.map(str::to_string))
            } else {
                None
            };
            let arn = match &q {
                Some(q) => format!(
                    "arn:aws:lambda:{region}:{account}:function:{}:{q}",
                    parts.name
                ),
                None => format!("arn:aws:lambda:{region}:{account}:function:{}", parts.name),
            };
            Target {
                arn,
                function: Some(FunctionRef {
                    name: function_key(&account, &parts.name),
                    qualifier: q,
                }),
                policy: None,
                account,
            }
        }
        _ => Target {
            arn: format!("arn:aws:lambda:{REGION}:{own}:function:{raw}"),
            account: own.to_string(),
            function: None,
            policy: None,
        },
    }
}

/// The body's `FunctionName` (CreateFunction), read without the rest of the shape.
fn function_name_in(bytes: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Named {
        #[serde(rename = "FunctionName")]
        function_name: Option<String>,
    }
    serde_json::from_slice::<Named>(bytes).ok()?.function_name
}

/// The resource `op` acts on, as far as the request's line tells it.
enum Resolved {
    /// Known.
    Known(Target, Option<String>),
    /// The event source mapping `uuid`'s: its function (for `lambda:FunctionArn`) needs a
    /// store read.
    Mapping(Target, String),
    /// Named by the body's `FunctionName`, which needs the body read.
    InBody,
}

/// The resource `op` acts on in this request, from its path and query.
fn resolve(op: &Operation, access: &Access, parts: &mut Parts, s: &AppState) -> Resolved {
    // A path's parameters are in the request's extensions: the extractor is ready at once.
    let params = Path::<HashMap<String, String>>::from_request_parts(parts, s)
        .now_or_never()
        .and_then(Result::ok)
        .map(|Path(p)| p)
        .unwrap_or_default();
    let in_query = |name: &str| {
        Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|Query(mut q)| q.remove(name))
    };
    let function = params.get("function").map(String::as_str).unwrap_or("");
    let mine = access.caller.account.as_str();
    let target = match op.resource {
        ResourceOf::Any | ResourceOf::Dispatched => access.own("*".into()),
        ResourceOf::Function => {
            function_target(function, in_query("Qualifier").as_deref(), true, mine)
        }
        ResourceOf::UnqualifiedFunction => function_target(function, None, false, mine),
        ResourceOf::Alias => {
            let alias = params.get("name").map(String::as_str);
            let mut t = function_target(function, None, false, mine);
            if let (Some(f), Some(a)) = (t.function.as_mut(), alias) {
                t.arn = format!("{}:{a}", t.arn);
                f.qualifier = Some(a.to_string());
            }
            t
        }
        ResourceOf::PathArn => {
            let raw = params.get("resource").cloned().unwrap_or_default();
            let mut t = function_target(&raw, None, true, mine);
            if raw.starts_with("arn:") {
                t.arn = raw;
            }
            t
        }
        ResourceOf::EventSourceMapping => {
            let uuid = params.get("uuid").cloned().unwrap_or_default();
            let arn = hearth_model::event_source_mapping::mapping_arn(mine, &uuid);
            return Resolved::Mapping(access.own(arn), uuid);
        }
        ResourceOf::AnyForFunctionInQuery => {
            let function = in_query("FunctionName")
                .filter(|f| !f.is_empty())
                .map(|f| function_target(&f, None, true, mine).arn);
            return Resolved::Known(access.own("*".into()), function);
        }
        // A root's own resources are always its own: it needs no look at the body (a
        // function is made in the caller's own account).
        ResourceOf::AnyForFunctionInBody | ResourceOf::FunctionInBody
            if access.caller.kind == CallerKind::Root =>
        {
            access.own("*".into())
        }
        ResourceOf::AnyForFunctionInBody | ResourceOf::FunctionInBody => return Resolved::InBody,
        ResourceOf::Layer | ResourceOf::LayerVersion => {
            let raw = params.get("LayerName").map(String::as_str).unwrap_or("");
            let name = hearth_model::layer::parse_layer_name(raw, mine)
                .map_or_else(|| raw.to_string(), |(_, name)| name);
            let mut arn = hearth_model::layer::layer_arn(mine, &name);
            if op.resource == ResourceOf::LayerVersion {
                let version = params
                    .get("VersionNumber")
                    .map(String::as_str)
                    .unwrap_or("");
                arn = format!("{arn}:{version}");
            }
            access.own(arn)
        }
        ResourceOf::LayerVersionInQuery => {
            access.own(in_query("Arn").unwrap_or_else(|| "*".into()))
        }
        ResourceOf::ApiGatewayPath => {
            let path = parts.uri.path();
            let rest = path.strip_prefix("/v2").unwrap_or(path);
            access.own(format!("arn:aws:apigateway:{REGION}::{rest}"))
        }
    };
    Resolved::Known(target, None)
}

/// What [`resolve`] left to a store read or the body; the body is given back (read whole,
/// if it was).
async fn resolve_later(
    resolved: Resolved,
    op: &Operation,
    access: &Access,
    s: &AppState,
    body: Body,
) -> Result<(Target, Body, Option<String>), Response> {
    match resolved {
        Resolved::Known(target, function) => Ok((target, body, function)),
        Resolved::Mapping(target, uuid) => {
            // The mapping's function, for `lambda:FunctionArn` (none for one that does
            // not exist, whose handler answers that it does not).
            let function = match s.engine.mapping(uuid).await {
                Ok(Some(m)) if m.account == access.caller.account => Some(m.function_arn),
                _ => None,
            };
            Ok((target, body, function))
        }
        Resolved::InBody => {
            let bytes = crate::body::control(body, op.name)
                .await
                .map_err(IntoResponse::into_response)?;
            let name = function_name_in(&bytes);
            let mine = access.caller.account.as_str();
            let (target, function) = if op.resource == ResourceOf::FunctionInBody {
                let name = name.unwrap_or_default();
                (
                    access.own(format!("arn:aws:lambda:{REGION}:{mine}:function:{name}")),
                    None,
                )
            } else {
                let function = name.map(|f| function_target(&f, None, true, mine).arn);
                (access.own("*".into()), function)
            };
            Ok((target, Body::from(bytes), function))
        }
    }
}

/// Checks `access` against `op` on `target`; when allowed, gives the handler what it acts
/// with: the account of what it was allowed (the caller's own, or another's whose
/// resource policy let the caller in), the access (for what more the operation checks,
/// CreateFunction's iam:PassRole) and the operation.
fn allow(
    s: &AppState,
    op: Operation,
    access: Access,
    (target, function_arn): (Target, Option<String>),
    parts: &mut Parts,
) -> Result<(), Refused> {
    let keys: Vec<(&str, &str)> = function_arn
        .as_deref()
        .map(|f| ("lambda:FunctionArn", f))
        .into_iter()
        .collect();
    access.check_target(s, op.action, &target, &keys)?;
    parts.extensions.insert(Tenant(target.account));
    parts.extensions.insert(access);
    parts.extensions.insert(op);
    Ok(())
}

/// The route layer (`hearth_serve::GateLayer`): finds the request's declaration, checks
/// it, and lets the handler run only when allowed. `POST /` gets the [`Access`] as an
/// extension for its dispatcher. A request whose resource its line names (an Invoke's)
/// is decided on the spot and passed on with nothing boxed; one that needs a store read
/// or its body is decided in a future of its own.
#[derive(Clone)]
pub(crate) struct Authorize(pub AppState);

impl hearth_serve::Gate for Authorize {
    type Carry = ();

    fn check<S: hearth_serve::App>(&self, req: Request, inner: &S) -> Step<()> {
        let Some(path) = req.extensions().get::<MatchedPath>() else {
            return Step::Pass(req, ());
        };
        let op = match declared(req.method(), path.as_str(), req.uri().query()) {
            Declared::Op(op) => op,
            Declared::OtherMethod => {
                let (method, uri) = (req.method().clone(), req.uri().clone());
                return Step::Answer(Box::pin(crate::error::unknown_operation(method, uri)));
            }
            Declared::Undeclared => {
                tracing::error!(path = path.as_str(), "a route without an IAM declaration");
                return Step::answer_now(
                    crate::ApiError(AwsError::service(format!(
                        "the route {} has no IAM action declared",
                        path.as_str()
                    )))
                    .into_response(),
                );
            }
        };
        let (mut parts, body) = req.into_parts();
        let access = Access::from_parts(&parts);
        if op.resource == ResourceOf::Dispatched {
            parts
                .extensions
                .insert(Tenant(access.caller.account.clone()));
            parts.extensions.insert(access);
            return Step::Pass(Request::from_parts(parts, body), ());
        }
        match resolve(&op, &access, &mut parts, &self.0) {
            Resolved::Known(target, function) => {
                match allow(&self.0, op, access, (target, function), &mut parts) {
                    Ok(()) => Step::Pass(Request::from_parts(parts, body), ()),
                    Err(refused) => Step::answer_now(refused.lambda_response()),
                }
            }
            later => {
                let (s, inner) = (self.0.clone(), inner.clone());
                Step::Answer(Box::pin(async move {
                    let found = match resolve_later(later, &op, &access, &s, body).await {
                        Ok(found) => found,
                        Err(resp) => return resp,
                    };
                    let (target, body, function) = found;
                    if let Err(refused) = allow(&s, op, access, (target, function), &mut parts) {
                        return refused.lambda_response();
                    }
                    let Ok(resp) =
                        tower::ServiceExt::oneshot(inner, Request::from_parts(parts, body)).await;
                    resp
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::http::StatusCode;
    use axum::routing::get;
    use axum::Router;
    use hearth_events::AsyncQueue;
    use hearth_triggers::{EventSource, Invoker, SourceContext};
    use tower::ServiceExt;

    use super::*;
    use crate::action::ROUTES;

    fn state(dir: &std::path::Path) -> AppState {
        let (engine, path) = hearth_engine::testing::engine(dir);
        let queue = AsyncQueue::open(
            engine.store().clone(),
            engine.writer().clone(),
            Default::default(),
            hearth_events::Holder::alone("test"),
        )
        .expect("the async queue");
        let invoker = Invoker::new(path, Arc::new(queue.clone()));
        drop(
            Box::new(queue.dispatcher())
                .start(SourceContext::new(invoker.clone()))
                .expect("the dispatcher starts"),
        );
        AppState {
            engine,
            invoker,
            options: Default::default(),
        }
    }

    async fn status_and_body(
        app: impl hearth_serve::App,
        method: &str,
        uri: &str,
    ) -> (StatusCode, String) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .expect("request");
        let resp = app.oneshot(req).await.expect("response");
        let status = resp.status();
        let bytes = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .expect("body")
            .to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// A route added without a declaration never runs its handler.
    #[tokio::test]
    async fn an_undeclared_route_is_refused_before_its_handler() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = state(dir.path());
        let app = Router::new()
            .route("/2099-01-01/secrets", get(|| async { "the handler ran" }))
            .route_layer(hearth_serve::GateLayer(Authorize(s.clone())))
            .with_state(s);
        let (status, body) = status_and_body(app, "GET", "/2099-01-01/secrets").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(body.contains("has no IAM action declared"), "{body}");
        assert!(!body.contains("the handler ran"));
    }

    /// Every `.rs` file under `dir`, its subdirectories' too.
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().and_then(|e| e.to_str()) == Some("rs") {
                out.push(path);
            }
        }
    }

    /// Walks every route the router's sources add (`.route("PATH", ...)` in this crate)
    /// and fails for a path the table does not declare.
    #[test]
    fn every_routed_path_is_declared() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let mut seen = 0;
        for path in files {
            if path.ends_with("authorize.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source");
            // Test modules build routers of their own.
            let production = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
            let mut rest = production;
            while let Some(at) = rest.find(".route(") {
                rest = &rest[at + ".route(".len()..];
                let lit = rest.trim_start();
                let Some(lit) = lit.strip_prefix('"') else {
                    panic!("{}: a route whose path is not a literal", path.display());
                };
                let end = lit.find('"').expect("closing quote");
                let routed = &lit[..end];
                seen += 1;
                assert!(
                    ROUTES.iter().any(|r| r.path == routed),
                    "{}: route {routed} has no declaration in action.rs",
                    path.display()
                );
            }
        }
        assert!(seen > 20, "found only {seen} routes");
    }

    /// Every declaration is served by the router with its method: no declaration is stale
    /// (the default root passes every check, so the answer is the handler's).
    #[tokio::test]
    async fn every_declaration_reaches_a_handler() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = state(dir.path());
        let app = crate::router_with(s.engine, s.invoker, Default::default());
        for route in ROUTES {
            let uri = route
                .path
                .replace("{function}", "nothing")
                .replace("{name}", "alias")
                .replace("{sid}", "sid")
                .replace("{file}", "0000.zip")
                .replace("{apiId}", "nothing")
                .replace("{integrationId}", "nothing")
                .replace("{routeId}", "nothing")
                .replace("{stageName}", "nothing")
                .replace("{deploymentId}", "nothing")
                .replace("{account}", "000000000000")
                .replace("{queue}", "nothing")
                .replace("{Name}", "nothing")
                .replace("{service}", "GraniteServiceVersion20100801")
                .replace("{operation}", "ListMetrics")
                .replace(
                    "{ResourceArn}",
                    "arn%3Aaws%3Ascheduler%3Aus-east-1%3A000000000000%3Aschedule-group%2Fnothing",
                )
                .replace(
                    "{arn}",
                    "arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Fapis%2Fnothing",
                )
                .replace(
                    "{resource}",
                    "arn:aws:lambda:us-east-1:000000000000:function:nothing",
                );
            // The query protocol's `GET /` without an `Action` is no operation at all.
            let uri = match (route.method, uri.as_str()) {
                ("GET", "/") => "/?Action=GetCallerIdentity&Version=2011-06-15".to_string(),
                _ if !route.query.is_empty() => format!("{uri}?{}", route.query),
                _ => uri,
            };
            let (status, body) = status_and_body(app.clone(), route.method, &uri).await;
            assert!(
                !body.contains("Unknown operation") && !body.contains("no IAM action declared"),
                "{route:?}: {status} {body}"
            );
        }
    }
}
