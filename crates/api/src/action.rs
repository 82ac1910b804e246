//! What every route is authorised as: its IAM action and how the ARN of the resource it
//! acts on is formed from the request, declared here for every (method, path) the router
//! serves, as Lambda's "Actions, resources, and condition keys" page lists them. The
//! authorization layer (`authorize.rs`) finds a request's declaration by the route axum
//! matched and, where two operations share a route and differ by a fixed query parameter
//! (botocore's `requestUri` with a query: GetLayerVersionByArn's `?find=LayerVersion` on
//! ListLayers' route, ListProvisionedConcurrencyConfigs' `?List=ALL`), by that parameter,
//! read as the router's fallback and the handlers read it ([`crate::operations::binds`]);
//! so each is authorized as its own action on its own resource. A route with no
//! declaration is refused, so no handler can run unchecked.
//!
//! Operations that share one route (`POST /`, told apart by `X-Amz-Target` or the query
//! protocol's `Action`) are declared by their service's dispatcher (see
//! [`crate::cloudwatch_logs::OPERATIONS`], [`crate::sqs::OPERATIONS`],
//! [`crate::sns::OPERATIONS`], [`crate::eventbridge::OPERATIONS`],
//! [`crate::cloudwatch::OPERATIONS`]), which checks each
//! before running it.

use axum::http::Method;

/// How an operation's resource ARN is formed from its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResourceOf {
    /// `*`: the action acts on no one resource (ListFunctions, GetAccountSettings).
    Any,
    /// The function of the `{function}` path parameter, with its qualifier
    /// (`name:qualifier` or `?Qualifier=`): version and alias ARNs, as Lambda authorises
    /// GetFunction, Invoke, the policy operations and the event invoke configs.
    Function,
    /// The function of the `{function}` path parameter without any qualifier.
    UnqualifiedFunction,
    /// The alias of the `{function}` and `{name}` path parameters.
    Alias,
    /// The function named by the JSON body's `FunctionName` (CreateFunction).
    FunctionInBody,
    /// The ARN in the `{resource}` path parameter (the tag operations).
    PathArn,
    /// The route carries several operations (`POST /`): its dispatcher declares and
    /// checks each one.
    Dispatched,
    /// The event-source mapping of the `{uuid}` path parameter:
    /// `arn:aws:lambda:REGION:ACCOUNT:event-source-mapping:UUID` in the caller's account,
    /// with the condition key `lambda:FunctionArn` of its function.
    EventSourceMapping,
    /// `*`, with the condition key `lambda:FunctionArn` of the body's `FunctionName`
    /// (CreateEventSourceMapping).
    AnyForFunctionInBody,
    /// `*`, with the condition key `lambda:FunctionArn` of the query's `FunctionName`
    /// when it has one (ListEventSourceMappings).
    AnyForFunctionInQuery,
    /// The layer of the `{LayerName}` path parameter (a name, or a layer ARN):
    /// `arn:aws:lambda:REGION:ACCOUNT:layer:NAME`, in the caller's account (another
    /// account's layer policy is the engine's to read).
    Layer,
    /// The layer version of the `{LayerName}` and `{VersionNumber}` path parameters:
    /// `arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION`, as [`ResourceOf::Layer`].
    LayerVersion,
    /// The layer version ARN of the query's `Arn` (GetLayerVersionByArn), as given, the
    /// caller's identity policies asked in the caller's account (another account's
    /// layer policy is the engine's to read, as for [`ResourceOf::Layer`]); `*` when the
    /// query has none, whose handler answers the validation error.
    LayerVersionInQuery,
    /// An API Gateway resource: `arn:aws:apigateway:REGION::` and the request's path
    /// after `/v2` (`/apis/{apiId}/routes/{routeId}`), as API Gateway's IAM resources are.
    ApiGatewayPath,
}

/// An operation, the IAM action that authorises it, and its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Operation {
    /// The operation's name in botocore's model (Hearth's own for `/_hearth`).
    pub name: &'static str,
    /// The IAM action, e.g. `lambda:TagResource`.
    pub action: &'static str,
    pub resource: ResourceOf,
}

impl Operation {
    pub(crate) const fn new(
        name: &'static str,
        action: &'static str,
        resource: ResourceOf,
    ) -> Self {
        Self {
            name,
            action,
            resource,
        }
    }
}

/// One route's declaration: the method and axum path it is served at, the query
/// parameter that binds it (`Key=Value`, as [`crate::operations::Operation::query`];
/// empty for the operation a route serves without one), and its operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub query: &'static str,
    pub op: Operation,
}

const fn r(method: &'static str, path: &'static str, op: Operation) -> Route {
    Route {
        method,
        path,
        query: "",
        op,
    }
}

/// A route's operation bound by a fixed query parameter (`query`, `Key=Value`): it is
/// declared beside the operation the same method and path serve without it.
const fn rq(method: &'static str, path: &'static str, query: &'static str, op: Operation) -> Route {
    Route {
        method,
        path,
        query,
        op,
    }
}

const fn lambda(name: &'static str, action: &'static str, resource: ResourceOf) -> Operation {
    Operation::new(name, action, resource)
}

use ResourceOf::{Alias, Any, Function, FunctionInBody, PathArn, UnqualifiedFunction};

const CREATE: Operation = lambda("CreateFunction", "lambda:CreateFunction", FunctionInBody);
const LIST: Operation = lambda("ListFunctions", "lambda:ListFunctions", Any);
const INVOKE_ASYNC: Operation = lambda("InvokeAsync", "lambda:InvokeAsync", Function);
const ACCOUNT: Operation = lambda("GetAccountSettings", "lambda:GetAccountSettings", Any);
const F: &str = "/2015-03-31/functions/{function}";
const APIGW_API: &str = "/v2/apis/{apiId}";
const APIGW_INTEGRATION: &str = "/v2/apis/{apiId}/integrations/{integrationId}";
const APIGW_ROUTE: &str = "/v2/apis/{apiId}/routes/{routeId}";
const APIGW_STAGE: &str = "/v2/apis/{apiId}/stages/{stageName}";
const APIGW_DEPLOYMENT: &str = "/v2/apis/{apiId}/deployments/{deploymentId}";
const APIGW_TAGS: &str = "/v2/tags/{arn}";

const fn apigw(name: &'static str, action: &'static str) -> Operation {
    Operation::new(name, action, ResourceOf::ApiGatewayPath)
}
const SCHEDULE: &str = "/schedules/{Name}";
const SCHEDULE_GROUP: &str = "/schedule-groups/{Name}";
const SCHEDULER_TAGS: &str = "/tags/{ResourceArn}";

/// An EventBridge Scheduler operation (`scheduler.rs` checks these against its table),
/// its resource found by the dispatcher.
const fn sched(name: &'static str, action: &'static str) -> Operation {
    Operation::new(name, action, ResourceOf::Dispatched)
}

const SCHEMAS_REGISTRY: &str = "/v1/registries/name/{registryName}";
const SCHEMAS_SCHEMA: &str = "/v1/registries/name/{registryName}/schemas/name/{schemaName}";

/// An EventBridge Schemas operation (`schemas/` checks these against its table on the
/// registry or schema its path names).
const fn schemas_op(name: &'static str, action: &'static str) -> Operation {
    Operation::new(name, action, ResourceOf::Dispatched)
}

const PROVISIONED: &str = "/2019-09-30/functions/{function}/provisioned-concurrency";
const EVENT_CONFIG: &str = "/2019-09-25/functions/{function}/event-invoke-config";
const URL: &str = "/2021-10-31/functions/{function}/url";

// Event-source mappings (docs/event-source-mappings.md): Create and List act on `*`
// (Lambda's page lists the condition key `lambda:FunctionArn` for them), the others on
// the mapping's ARN.
const ESM_CREATE: Operation = lambda(
    "CreateEventSourceMapping",
    "lambda:CreateEventSourceMapping",
    ResourceOf::AnyForFunctionInBody,
);
const ESM_LIST: Operation = lambda(
    "ListEventSourceMappings",
    "lambda:ListEventSourceMappings",
    ResourceOf::AnyForFunctionInQuery,
);
const ESM: &str = "/2015-03-31/event-source-mappings/{uuid}";

// Layers (docs/layers.md): ListLayers and ListLayerVersions act on `*`, publishing on the
// layer, the others on the layer version (GetLayerVersionByArn, on ListLayers' route with
// `?find=LayerVersion`, on the version its `Arn` names).
const LAYERS: &str = "/2018-10-31/layers/{LayerName}/versions";
const LAYER_VERSION: &str = "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}";
const LAYER_POLICY: &str = "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy";

/// Every route the router serves, with its operation.
pub(crate) const ROUTES: &[Route] = &[
    rq(
        "GET",
        "/2018-10-31/layers",
        "find=LayerVersion",
        lambda(
            "GetLayerVersionByArn",
            "lambda:GetLayerVersion",
            ResourceOf::LayerVersionInQuery,
        ),
    ),
    r(
        "GET",
        "/2018-10-31/layers",
        lambda("ListLayers", "lambda:ListLayers", Any),
    ),
    r(
        "POST",
        LAYERS,
        lambda(
            "PublishLayerVersion",
            "lambda:PublishLayerVersion",
            ResourceOf::Layer,
        ),
    ),
    r(
        "GET",
        LAYERS,
        lambda("ListLayerVersions", "lambda:ListLayerVersions", Any),
    ),
    r(
        "GET",
        LAYER_VERSION,
        lambda(
            "GetLayerVersion",
            "lambda:GetLayerVersion",
            ResourceOf::LayerVersion,
        ),
    ),
    r(
        "DELETE",
        LAYER_VERSION,
        lambda(
            "DeleteLayerVersion",
            "lambda:DeleteLayerVersion",
            ResourceOf::LayerVersion,
        ),
    ),
    r(
        "POST",
        LAYER_POLICY,
        lambda(
            "AddLayerVersionPermission",
            "lambda:AddLayerVersionPermission",
            ResourceOf::LayerVersion,
        ),
    ),
    r(
        "GET",
        LAYER_POLICY,
        lambda(
            "GetLayerVersionPolicy",
            "lambda:GetLayerVersionPolicy",
            ResourceOf::LayerVersion,
        ),
    ),
    r(
        "DELETE",
        "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy/{StatementId}",
        lambda(
            "RemoveLayerVersionPermission",
            "lambda:RemoveLayerVersionPermission",
            ResourceOf::LayerVersion,
        ),
    ),
    r("POST", "/2015-03-31/event-source-mappings", ESM_CREATE),
    r("POST", "/2015-03-31/event-source-mappings/", ESM_CREATE),
    r("GET", "/2015-03-31/event-source-mappings", ESM_LIST),
    r("GET", "/2015-03-31/event-source-mappings/", ESM_LIST),
    r(
        "GET",
        ESM,
        lambda(
            "GetEventSourceMapping",
            "lambda:GetEventSourceMapping",
            ResourceOf::EventSourceMapping,
        ),
    ),
    r(
        "PUT",
        ESM,
        lambda(
            "UpdateEventSourceMapping",
            "lambda:UpdateEventSourceMapping",
            ResourceOf::EventSourceMapping,
        ),
    ),
    r(
        "DELETE",
        ESM,
        lambda(
            "DeleteEventSourceMapping",
            "lambda:DeleteEventSourceMapping",
            ResourceOf::EventSourceMapping,
        ),
    ),
    r("POST", "/2015-03-31/functions", CREATE),
    r("GET", "/2015-03-31/functions", LIST),
    r("POST", "/2015-03-31/functions/", CREATE),
    r("GET", "/2015-03-31/functions/", LIST),
    r(
        "GET",
        F,
        lambda("GetFunction", "lambda:GetFunction", Function),
    ),
    r(
        "DELETE",
        F,
        lambda("DeleteFunction", "lambda:DeleteFunction", Function),
    ),
    r(
        "GET",
        "/2015-03-31/functions/{function}/configuration",
        lambda(
            "GetFunctionConfiguration",
            "lambda:GetFunctionConfiguration",
            Function,
        ),
    ),
    r(
        "PUT",
        "/2015-03-31/functions/{function}/configuration",
        lambda(
            "UpdateFunctionConfiguration",
            "lambda:UpdateFunctionConfiguration",
            UnqualifiedFunction,
        ),
    ),
    r(
        "PUT",
        "/2015-03-31/functions/{function}/code",
        lambda(
            "UpdateFunctionCode",
            "lambda:UpdateFunctionCode",
            UnqualifiedFunction,
        ),
    ),
    r(
        "POST",
        "/2015-03-31/functions/{function}/versions",
        lambda(
            "PublishVersion",
            "lambda:PublishVersion",
            UnqualifiedFunction,
        ),
    ),
    r(
        "GET",
        "/2015-03-31/functions/{function}/versions",
        lambda(
            "ListVersionsByFunction",
            "lambda:ListVersionsByFunction",
            UnqualifiedFunction,
        ),
    ),
    r(
        "POST",
        "/2015-03-31/functions/{function}/aliases",
        lambda("CreateAlias", "lambda:CreateAlias", UnqualifiedFunction),
    ),
    r(
        "GET",
        "/2015-03-31/functions/{function}/aliases",
        lambda("ListAliases", "lambda:ListAliases", UnqualifiedFunction),
    ),
    r(
        "GET",
        "/2015-03-31/functions/{function}/aliases/{name}",
        lambda("GetAlias", "lambda:GetAlias", Alias),
    ),
    r(
        "PUT",
        "/2015-03-31/functions/{function}/aliases/{name}",
        lambda("UpdateAlias", "lambda:UpdateAlias", Alias),
    ),
    r(
        "DELETE",
        "/2015-03-31/functions/{function}/aliases/{name}",
        lambda("DeleteAlias", "lambda:DeleteAlias", Alias),
    ),
    r(
        "PUT",
        "/2017-10-31/functions/{function}/concurrency",
        lambda(
            "PutFunctionConcurrency",
            "lambda:PutFunctionConcurrency",
            UnqualifiedFunction,
        ),
    ),
    r(
        "DELETE",
        "/2017-10-31/functions/{function}/concurrency",
        lambda(
            "DeleteFunctionConcurrency",
            "lambda:DeleteFunctionConcurrency",
            UnqualifiedFunction,
        ),
    ),
    r(
        "GET",
        "/2019-09-30/functions/{function}/concurrency",
        lambda(
            "GetFunctionConcurrency",
            "lambda:GetFunctionConcurrency",
            UnqualifiedFunction,
        ),
    ),
    r(
        "PUT",
        PROVISIONED,
        lambda(
            "PutProvisionedConcurrencyConfig",
            "lambda:PutProvisionedConcurrencyConfig",
            Function,
        ),
    ),
    rq(
        "GET",
        PROVISIONED,
        "List=ALL",
        lambda(
            "ListProvisionedConcurrencyConfigs",
            "lambda:ListProvisionedConcurrencyConfigs",
            UnqualifiedFunction,
        ),
    ),
    r(
        "GET",
        PROVISIONED,
        lambda(
            "GetProvisionedConcurrencyConfig",
            "lambda:GetProvisionedConcurrencyConfig",
            Function,
        ),
    ),
    r(
        "DELETE",
        PROVISIONED,
        lambda(
            "DeleteProvisionedConcurrencyConfig",
            "lambda:DeleteProvisionedConcurrencyConfig",
            Function,
        ),
    ),
    r(
        "PUT",
        EVENT_CONFIG,
        lambda(
            "PutFunctionEventInvokeConfig",
            "lambda:PutFunctionEventInvokeConfig",
            Function,
        ),
    ),
    r(
        "POST",
        EVENT_CONFIG,
        lambda(
            "UpdateFunctionEventInvokeConfig",
            "lambda:UpdateFunctionEventInvokeConfig",
            Function,
        ),
    ),
    r(
        "GET",
        EVENT_CONFIG,
        lambda(
            "GetFunctionEventInvokeConfig",
            "lambda:GetFunctionEventInvokeConfig",
            Function,
        ),
    ),
    r(
        "DELETE",
        EVENT_CONFIG,
        lambda(
            "DeleteFunctionEventInvokeConfig",
            "lambda:DeleteFunctionEventInvokeConfig",
            Function,
        ),
    ),
    r(
        "GET",
        "/2019-09-25/functions/{function}/event-invoke-config/list",
        lambda(
            "ListFunctionEventInvokeConfigs",
            "lambda:ListFunctionEventInvokeConfigs",
            UnqualifiedFunction,
        ),
    ),
    r(
        "POST",
        "/2015-03-31/functions/{function}/invocations",
        lambda("Invoke", "lambda:InvokeFunction", Function),
    ),
    // Function URLs (docs/function-urls.md): the alias's ARN with `?Qualifier=`.
    r(
        "POST",
        URL,
        lambda(
            "CreateFunctionUrlConfig",
            "lambda:CreateFunctionUrlConfig",
            Function,
        ),
    ),
    r(
        "GET",
        URL,
        lambda(
            "GetFunctionUrlConfig",
            "lambda:GetFunctionUrlConfig",
            Function,
        ),
    ),
    r(
        "PUT",
        URL,
        lambda(
            "UpdateFunctionUrlConfig",
            "lambda:UpdateFunctionUrlConfig",
            Function,
        ),
    ),
    r(
        "DELETE",
        URL,
        lambda(
            "DeleteFunctionUrlConfig",
            "lambda:DeleteFunctionUrlConfig",
            Function,
        ),
    ),
    r(
        "GET",
        "/2021-10-31/functions/{function}/urls",
        lambda(
            "ListFunctionUrlConfigs",
            "lambda:ListFunctionUrlConfigs",
            UnqualifiedFunction,
        ),
    ),
    // Response streaming (docs/streaming.md).
    r(
        "POST",
        "/2021-11-15/functions/{function}/response-streaming-invocations",
        lambda(
            "InvokeWithResponseStream",
            "lambda:InvokeFunction",
            Function,
        ),
    ),
    r(
        "POST",
        "/2014-11-13/functions/{function}/invoke-async",
        INVOKE_ASYNC,
    ),
    r(
        "POST",
        "/2014-11-13/functions/{function}/invoke-async/",
        INVOKE_ASYNC,
    ),
    r("GET", "/2016-08-19/account-settings", ACCOUNT),
    r("GET", "/2016-08-19/account-settings/", ACCOUNT),
    r(
        "GET",
        "/2017-03-31/tags/{resource}",
        lambda("ListTags", "lambda:ListTags", PathArn),
    ),
    r(
        "POST",
        "/2017-03-31/tags/{resource}",
        lambda("TagResource", "lambda:TagResource", PathArn),
    ),
    r(
        "DELETE",
        "/2017-03-31/tags/{resource}",
        lambda("UntagResource", "lambda:UntagResource", PathArn),
    ),
    r(
        "POST",
        "/2015-03-31/functions/{function}/policy",
        lambda("AddPermission", "lambda:AddPermission", Function),
    ),
    r(
        "GET",
        "/2015-03-31/functions/{function}/policy",
        lambda("GetPolicy", "lambda:GetPolicy", Function),
    ),
    r(
        "DELETE",
        "/2015-03-31/functions/{function}/policy/{sid}",
        lambda("RemovePermission", "lambda:RemovePermission", Function),
    ),
    r(
        "GET",
        "/2021-07-20/functions/{function}/runtime-management-config",
        lambda(
            "GetRuntimeManagementConfig",
            "lambda:GetRuntimeManagementConfig",
            Function,
        ),
    ),
    r(
        "PUT",
        "/2021-07-20/functions/{function}/runtime-management-config",
        lambda(
            "PutRuntimeManagementConfig",
            "lambda:PutRuntimeManagementConfig",
            Function,
        ),
    ),
    r(
        "GET",
        "/2024-08-31/functions/{function}/recursion-config",
        lambda(
            "GetFunctionRecursionConfig",
            "lambda:GetFunctionRecursionConfig",
            UnqualifiedFunction,
        ),
    ),
    r(
        "PUT",
        "/2024-08-31/functions/{function}/recursion-config",
        lambda(
            "PutFunctionRecursionConfig",
            "lambda:PutFunctionRecursionConfig",
            UnqualifiedFunction,
        ),
    ),
    r(
        "GET",
        "/2020-06-30/functions/{function}/code-signing-config",
        lambda(
            "GetFunctionCodeSigningConfig",
            "lambda:GetFunctionCodeSigningConfig",
            UnqualifiedFunction,
        ),
    ),
    // SNS's signing certificate (`SigningCertURL`): public, opened unsigned by
    // subscribers that verify messages.
    r(
        "GET",
        "/SimpleNotificationService-{file}",
        lambda("GetSigningCertificate", "sns:GetSigningCertificate", Any),
    ),
    // Hearth's private endpoints, as `hearth:` actions.
    r(
        "GET",
        "/_hearth/code/{file}",
        lambda("GetCode", "hearth:GetCode", Any),
    ),
    r(
        "GET",
        "/_hearth/logs/{function}",
        lambda("GetLogs", "hearth:GetLogs", UnqualifiedFunction),
    ),
    r(
        "DELETE",
        "/_hearth/logs/{function}",
        lambda("DeleteLogs", "hearth:DeleteLogs", UnqualifiedFunction),
    ),
    r(
        "GET",
        "/_hearth/runtimes",
        lambda("ListRuntimes", "hearth:ListRuntimes", Any),
    ),
    r(
        "GET",
        "/_hearth/concurrency",
        lambda("GetConcurrency", "hearth:GetConcurrency", Any),
    ),
    r(
        "GET",
        "/_hearth/queue",
        lambda("GetQueue", "hearth:GetQueue", Any),
    ),
    r(
        "GET",
        "/_hearth/metering",
        lambda("GetMetering", "hearth:GetMetering", Any),
    ),
    // The metering priced (`cost.rs`): the same data as GetMetering, its own action so
    // that a policy can grant the bill without the raw rows.
    r(
        "GET",
        "/_hearth/cost",
        lambda("GetCost", "hearth:GetCost", Any),
    ),
    // Power tuning run by the server (`tune.rs`): its steps are authorised one by one as
    // the caller's own requests (CreateFunction, Invoke, DeleteFunction of the copies).
    r(
        "POST",
        "/_hearth/tune/{function}",
        lambda("TuneFunction", "hearth:TuneFunction", UnqualifiedFunction),
    ),
    // Prometheus's scrape: outside the signature check, it checks its bearer token
    // itself (`prometheus.rs`).
    r(
        "GET",
        "/metrics",
        lambda("GetMetrics", "hearth:GetMetrics", Any),
    ),
    r(
        "GET",
        "/_hearth/nodes",
        lambda("ListNodes", "hearth:ListNodes", Any),
    ),
    r(
        "POST",
        "/_hearth/nodes/{id}/drain",
        lambda("DrainNode", "hearth:DrainNode", Any),
    ),
    r(
        "POST",
        "/_hearth/nodes/{id}/undrain",
        lambda("UndrainNode", "hearth:UndrainNode", Any),
    ),
    // A node's forward to another (`forward.rs`): merged outside the authorization layer,
    // it is authenticated by the fleet's key and no caller's policy applies; declared so
    // that the table names every route.
    r(
        "POST",
        "/_hearth/fleet/invoke",
        lambda("ForwardInvoke", "hearth:ForwardInvoke", Any),
    ),
    r(
        "POST",
        "/_hearth/fleet/invoke-stream",
        lambda(
            "ForwardInvokeWithResponseStream",
            "hearth:ForwardInvokeWithResponseStream",
            Any,
        ),
    ),
    // An SQS operation sent to the node that serves SQS (`sqs/fleet.rs`), likewise.
    r(
        "POST",
        "/_hearth/fleet/sqs",
        lambda("ForwardSqsCall", "hearth:ForwardSqsCall", Any),
    ),
    r(
        "GET",
        "/_hearth/audit",
        lambda("ListAuditEvents", "hearth:ListAuditEvents", Any),
    ),
    r(
        "GET",
        "/_hearth/keys",
        lambda("ListKeys", "hearth:ListKeys", Any),
    ),
    r(
        "POST",
        "/_hearth/keys",
        lambda("CreateKey", "hearth:CreateKey", Any),
    ),
    r(
        "POST",
        "/_hearth/keys/{id}/rotate",
        lambda("RotateKey", "hearth:RotateKey", Any),
    ),
    r(
        "DELETE",
        "/_hearth/keys/{id}",
        lambda("DeleteKey", "hearth:DeleteKey", Any),
    ),
    r(
        "GET",
        "/_hearth/kms",
        lambda("ListKmsKeys", "hearth:ListKmsKeys", Any),
    ),
    r(
        "POST",
        "/_hearth/kms",
        lambda("CreateKmsKey", "hearth:CreateKmsKey", Any),
    ),
    // Every `POST /` service (CloudWatch Logs, IAM, STS) and the query protocol's `GET /`:
    // each dispatcher checks its own (`services.rs`).
    r(
        "GET",
        "/_hearth/functions/{function}/egress",
        crate::egress::OPERATIONS[0],
    ),
    r(
        "PUT",
        "/_hearth/functions/{function}/egress",
        crate::egress::OPERATIONS[1],
    ),
    r(
        "DELETE",
        "/_hearth/functions/{function}/egress",
        crate::egress::OPERATIONS[2],
    ),
    r(
        "GET",
        "/_hearth/functions/{function}/fresh-env",
        crate::fresh_env::OPERATIONS[0],
    ),
    r(
        "PUT",
        "/_hearth/functions/{function}/fresh-env",
        crate::fresh_env::OPERATIONS[1],
    ),
    r("POST", "/", lambda("Dispatch", "", ResourceOf::Dispatched)),
    // CloudWatch's RPC v2 CBOR: its dispatcher checks each operation (`cloudwatch/`).
    r(
        "POST",
        "/service/{service}/operation/{operation}",
        lambda("Dispatch", "", ResourceOf::Dispatched),
    ),
    // SQS's query protocol POSTed to a queue URL: its dispatcher checks each operation
    // (`sqs/mod.rs`).
    r(
        "POST",
        "/{account}/{queue}",
        lambda("Dispatch", "", ResourceOf::Dispatched),
    ),
    // API Gateway HTTP APIs (`http_api/`): `apigateway:` actions by HTTP method, as
    // "Actions, resources, and condition keys for Amazon API Gateway Management V2" has.
    r("POST", "/v2/apis", apigw("CreateApi", "apigateway:POST")),
    r("GET", "/v2/apis", apigw("GetApis", "apigateway:GET")),
    r("GET", APIGW_API, apigw("GetApi", "apigateway:GET")),
    r("PATCH", APIGW_API, apigw("UpdateApi", "apigateway:PATCH")),
    r("DELETE", APIGW_API, apigw("DeleteApi", "apigateway:DELETE")),
    r(
        "POST",
        "/v2/apis/{apiId}/integrations",
        apigw("CreateIntegration", "apigateway:POST"),
    ),
    r(
        "GET",
        "/v2/apis/{apiId}/integrations",
        apigw("GetIntegrations", "apigateway:GET"),
    ),
    r(
        "GET",
        APIGW_INTEGRATION,
        apigw("GetIntegration", "apigateway:GET"),
    ),
    r(
        "PATCH",
        APIGW_INTEGRATION,
        apigw("UpdateIntegration", "apigateway:PATCH"),
    ),
    r(
        "DELETE",
        APIGW_INTEGRATION,
        apigw("DeleteIntegration", "apigateway:DELETE"),
    ),
    r(
        "POST",
        "/v2/apis/{apiId}/routes",
        apigw("CreateRoute", "apigateway:POST"),
    ),
    r(
        "GET",
        "/v2/apis/{apiId}/routes",
        apigw("GetRoutes", "apigateway:GET"),
    ),
    r("GET", APIGW_ROUTE, apigw("GetRoute", "apigateway:GET")),
    r(
        "PATCH",
        APIGW_ROUTE,
        apigw("UpdateRoute", "apigateway:PATCH"),
    ),
    r(
        "DELETE",
        APIGW_ROUTE,
        apigw("DeleteRoute", "apigateway:DELETE"),
    ),
    r(
        "POST",
        "/v2/apis/{apiId}/stages",
        apigw("CreateStage", "apigateway:POST"),
    ),
    r(
        "GET",
        "/v2/apis/{apiId}/stages",
        apigw("GetStages", "apigateway:GET"),
    ),
    r("GET", APIGW_STAGE, apigw("GetStage", "apigateway:GET")),
    r(
        "PATCH",
        APIGW_STAGE,
        apigw("UpdateStage", "apigateway:PATCH"),
    ),
    r(
        "DELETE",
        APIGW_STAGE,
        apigw("DeleteStage", "apigateway:DELETE"),
    ),
    r(
        "POST",
        "/v2/apis/{apiId}/deployments",
        apigw("CreateDeployment", "apigateway:POST"),
    ),
    r(
        "GET",
        "/v2/apis/{apiId}/deployments",
        apigw("GetDeployments", "apigateway:GET"),
    ),
    r(
        "GET",
        APIGW_DEPLOYMENT,
        apigw("GetDeployment", "apigateway:GET"),
    ),
    r(
        "DELETE",
        APIGW_DEPLOYMENT,
        apigw("DeleteDeployment", "apigateway:DELETE"),
    ),
    r("GET", APIGW_TAGS, apigw("GetTags", "apigateway:GET")),
    r("POST", APIGW_TAGS, apigw("TagResource", "apigateway:POST")),
    r(
        "DELETE",
        APIGW_TAGS,
        apigw("UntagResource", "apigateway:DELETE"),
    ),
    // EventBridge Scheduler (`scheduler.rs`): each route one operation, checked by its
    // dispatcher against its `OPERATIONS` (the schedule's group can be in the body).
    r(
        "GET",
        "/schedules",
        sched("ListSchedules", "scheduler:ListSchedules"),
    ),
    r(
        "POST",
        SCHEDULE,
        sched("CreateSchedule", "scheduler:CreateSchedule"),
    ),
    r(
        "GET",
        SCHEDULE,
        sched("GetSchedule", "scheduler:GetSchedule"),
    ),
    r(
        "PUT",
        SCHEDULE,
        sched("UpdateSchedule", "scheduler:UpdateSchedule"),
    ),
    r(
        "DELETE",
        SCHEDULE,
        sched("DeleteSchedule", "scheduler:DeleteSchedule"),
    ),
    r(
        "GET",
        "/schedule-groups",
        sched("ListScheduleGroups", "scheduler:ListScheduleGroups"),
    ),
    r(
        "POST",
        SCHEDULE_GROUP,
        sched("CreateScheduleGroup", "scheduler:CreateScheduleGroup"),
    ),
    r(
        "GET",
        SCHEDULE_GROUP,
        sched("GetScheduleGroup", "scheduler:GetScheduleGroup"),
    ),
    r(
        "DELETE",
        SCHEDULE_GROUP,
        sched("DeleteScheduleGroup", "scheduler:DeleteScheduleGroup"),
    ),
    r(
        "GET",
        SCHEDULER_TAGS,
        sched("ListTagsForResource", "scheduler:ListTagsForResource"),
    ),
    r(
        "POST",
        SCHEDULER_TAGS,
        sched("TagResource", "scheduler:TagResource"),
    ),
    r(
        "DELETE",
        SCHEDULER_TAGS,
        sched("UntagResource", "scheduler:UntagResource"),
    ),
    // EventBridge Schemas (`schemas/`): each route one operation, checked by its
    // dispatcher against its `OPERATIONS` on the registry or schema the path names.
    r(
        "GET",
        "/v1/registries",
        schemas_op("ListRegistries", "schemas:ListRegistries"),
    ),
    r(
        "POST",
        SCHEMAS_REGISTRY,
        schemas_op("CreateRegistry", "schemas:CreateRegistry"),
    ),
    r(
        "GET",
        SCHEMAS_REGISTRY,
        schemas_op("DescribeRegistry", "schemas:DescribeRegistry"),
    ),
    r(
        "DELETE",
        SCHEMAS_REGISTRY,
        schemas_op("DeleteRegistry", "schemas:DeleteRegistry"),
    ),
    r(
        "GET",
        "/v1/registries/name/{registryName}/schemas",
        schemas_op("ListSchemas", "schemas:ListSchemas"),
    ),
    r(
        "POST",
        SCHEMAS_SCHEMA,
        schemas_op("CreateSchema", "schemas:CreateSchema"),
    ),
    r(
        "GET",
        SCHEMAS_SCHEMA,
        schemas_op("DescribeSchema", "schemas:DescribeSchema"),
    ),
    r(
        "PUT",
        SCHEMAS_SCHEMA,
        schemas_op("UpdateSchema", "schemas:UpdateSchema"),
    ),
    r(
        "DELETE",
        SCHEMAS_SCHEMA,
        schemas_op("DeleteSchema", "schemas:DeleteSchema"),
    ),
    r(
        "GET",
        "/v1/registries/name/{registryName}/schemas/name/{schemaName}/versions",
        schemas_op("ListSchemaVersions", "schemas:ListSchemaVersions"),
    ),
    r(
        "DELETE",
        "/v1/registries/name/{registryName}/schemas/name/{schemaName}/version/{schemaVersion}",
        schemas_op("DeleteSchemaVersion", "schemas:DeleteSchemaVersion"),
    ),
    // Hearth's own: a schedule's next fire times, on the schedule's ARN (`scheduler.rs`).
    r(
        "GET",
        "/schedules/{Name}/fire-times",
        sched("GetScheduleFireTimes", "hearth:GetScheduleFireTimes"),
    ),
    // HTTP APIs' data plane by path (`http_api/mod.rs`): merged outside authentication
    // and authorization, as API Gateway's endpoints without an authorizer are (a
    // function's resource policy decides, `http_api/permission.rs`); declared so that the
    // table names every route.
    r(
        "GET",
        "/execute-api/{*rest}",
        lambda("Invoke", "execute-api:Invoke", Any),
    ),
    r("GET", "/", lambda("Dispatch", "", ResourceOf::Dispatched)),
];

/// What the table says of a request's route.
pub(crate) enum Declared {
    Op(Operation),
    /// The path is declared, not this method: the router answers it as an unknown
    /// operation.
    OtherMethod,
    /// No declaration for this path at all: a route someone forgot to declare.
    Undeclared,
}

/// The declaration of `method` on the axum route `path` for a request with the query
/// string `query`: the operation its query binds if one does, else the route's own.
pub(crate) fn declared(method: &Method, path: &str, query: Option<&str>) -> Declared {
    let Some(routes) = BY_PATH.get(path) else {
        return Declared::Undeclared;
    };
    let mut plain = None;
    for route in routes {
        if route.method != method.as_str() {
            continue;
        }
        if route.query.is_empty() {
            plain = Some(route.op);
        } else if crate::operations::binds(query, route.query) {
            return Declared::Op(route.op);
        }
    }
    match plain {
        Some(op) => Declared::Op(op),
        None => Declared::OtherMethod,
    }
}

/// [`ROUTES`] by path, each path's in their order there (a query's binding is tried in
/// the order declared): every API request looks its route up, twice (the audit trail and
/// authorization), and a scan of the whole table cost more than the rest of either.
static BY_PATH: std::sync::LazyLock<hearth_model::FastMap<&'static str, Vec<&'static Route>>> =
    std::sync::LazyLock::new(|| {
        let mut by_path: hearth_model::FastMap<_, Vec<_>> = hearth_model::FastMap::default();
        for route in ROUTES {
            by_path.entry(route.path).or_default().push(route);
        }
        by_path
    });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_lambda_action_is_its_operation() {
        for route in ROUTES {
            let op = route.op;
            match op.action.split_once(':') {
                Some(("lambda", name)) => {
                    // Lambda's actions are its operations' names, but for the invokes'
                    // (InvokeWithResponseStream needs lambda:InvokeFunction, as its
                    // documentation in the model says).
                    // GetLayerVersionByArn needs lambda:GetLayerVersion, as the
                    // service authorization reference lists it.
                    let expected = match op.name {
                        "Invoke" | "InvokeWithResponseStream" => "InvokeFunction",
                        "GetLayerVersionByArn" => "GetLayerVersion",
                        name => name,
                    };
                    assert_eq!(name, expected, "{route:?}");
                }
                Some(("hearth", name)) => assert_eq!(name, op.name, "{route:?}"),
                Some(("sns", name)) => assert_eq!(name, op.name, "{route:?}"),
                Some(("execute-api", "Invoke")) => {
                    assert!(route.path.starts_with("/execute-api/"), "{route:?}");
                }
                // API Gateway's actions are HTTP methods: the route's own.
                Some(("apigateway", method)) => {
                    assert_eq!(method, route.method, "{route:?}");
                    assert_eq!(op.resource, ResourceOf::ApiGatewayPath, "{route:?}");
                    assert!(route.path.starts_with("/v2/"), "{route:?}");
                }
                _ => assert_eq!(op.resource, ResourceOf::Dispatched, "{route:?}"),
            }
            let needs_function = matches!(
                op.resource,
                ResourceOf::Function | ResourceOf::UnqualifiedFunction | ResourceOf::Alias
            );
            assert_eq!(
                needs_function,
                route.path.contains("{function}"),
                "{route:?}"
            );
            if op.resource == ResourceOf::PathArn {
                assert!(route.path.contains("{resource}"), "{route:?}");
            }
        }
    }

    #[test]
    fn the_modules_declarations_are_the_tables() {
        let modules = [
            crate::tags::OPERATIONS,
            crate::policy::OPERATIONS,
            crate::function_settings::OPERATIONS,
            crate::egress::OPERATIONS,
            crate::fresh_env::OPERATIONS,
        ]
        .concat();
        for op in modules {
            assert!(ROUTES.iter().any(|r| r.op == op), "{op:?}");
        }
    }

    #[test]
    fn each_method_path_and_query_is_declared_once() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path && a.query == b.query),
                    "declared twice: {a:?}"
                );
            }
        }
    }

    /// A route bound by a query parameter is a variant of one served without it.
    #[test]
    fn each_query_binding_has_its_plain_route() {
        for bound in ROUTES.iter().filter(|r| !r.query.is_empty()) {
            assert!(
                ROUTES.iter().any(|r| r.method == bound.method
                    && r.path == bound.path
                    && r.query.is_empty()),
                "{bound:?}"
            );
        }
    }

    /// `template` (the model's `{FunctionName}`) against an axum path (`{function}`):
    /// the same segments, any label for any label.
    fn same_shape(template: &str, path: &str) -> bool {
        let label = |s: &str| s.starts_with('{');
        let (a, b): (Vec<&str>, Vec<&str>) =
            (template.split('/').collect(), path.split('/').collect());
        a.len() == b.len()
            && a.iter()
                .zip(&b)
                .all(|(x, y)| x == y || (label(x) && label(y)))
    }

    /// Every operation of botocore's Lambda model whose `requestUri` carries a query
    /// (`crate::operations`, the model's bindings) and whose method and path the router
    /// serves is declared as itself, not as the operation of the same route without it.
    #[test]
    fn every_query_bound_operation_of_the_model_is_authorized_as_itself() {
        let bound: Vec<_> = crate::operations::OPERATIONS
            .iter()
            .filter(|o| !o.query.is_empty())
            .collect();
        let names: Vec<&str> = bound.iter().map(|o| o.name).collect();
        assert_eq!(
            names,
            ["GetLayerVersionByArn", "ListProvisionedConcurrencyConfigs"],
            "the model's query-bound operations"
        );
        for o in bound {
            let Some(route) = ROUTES
                .iter()
                .find(|r| r.method == o.method && same_shape(o.path, r.path))
            else {
                continue;
            };
            let method = Method::from_bytes(o.method.as_bytes()).expect("a method");
            let query = format!("{}&Arn=x&Marker=m", o.query);
            let Declared::Op(op) = declared(&method, route.path, Some(&query)) else {
                panic!("{} is not declared", o.name);
            };
            assert_eq!(op.name, o.name, "{route:?}");
            let Declared::Op(plain) = declared(&method, route.path, None) else {
                panic!("{} without its query is not declared", o.name);
            };
            assert_ne!(plain.name, o.name, "{route:?}");
            assert_ne!(plain.action, op.action, "{route:?}");
        }
        let get = Method::GET;
        let by_arn = declared(&get, "/2018-10-31/layers", Some("find=LayerVersion&Arn=a"));
        assert!(matches!(
            by_arn,
            Declared::Op(Operation {
                name: "GetLayerVersionByArn",
                action: "lambda:GetLayerVersion",
                resource: ResourceOf::LayerVersionInQuery,
            })
        ));
        let list = declared(
            &get,
            "/2018-10-31/layers",
            Some("CompatibleRuntime=python3.12"),
        );
        assert!(matches!(
            list,
            Declared::Op(Operation {
                name: "ListLayers",
                action: "lambda:ListLayers",
                resource: ResourceOf::Any,
            })
        ));
        let all = declared(&get, PROVISIONED, Some("List=ALL"));
        assert!(matches!(
            all,
            Declared::Op(Operation {
                name: "ListProvisionedConcurrencyConfigs",
                action: "lambda:ListProvisionedConcurrencyConfigs",
                resource: ResourceOf::UnqualifiedFunction,
            })
        ));
        assert!(matches!(
            declared(
                &Method::POST,
                "/2018-10-31/layers",
                Some("find=LayerVersion")
            ),
            Declared::OtherMethod
        ));
    }
}
