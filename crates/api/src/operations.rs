//! Every operation of botocore's Lambda model (`lambda/2015-03-31`, botocore 1.44.8) by
//! its HTTP binding, so that a request for one Hearth does not implement is answered with
//! an error that names it instead of a bare "unknown operation". Only the router's
//! fallback consults this table: a route that exists always wins, so adding an operation
//! never needs a change here.

use axum::http::Method;

/// One operation's HTTP binding: method, path template (`{Label}` is one segment) and the
/// query parameter the binding fixes, if any (`?List=ALL`, `?find=LayerVersion`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Operation {
    pub(crate) method: &'static str,
    pub(crate) path: &'static str,
    pub(crate) query: &'static str,
    pub(crate) name: &'static str,
}

const fn op(
    method: &'static str,
    path: &'static str,
    query: &'static str,
    name: &'static str,
) -> Operation {
    Operation {
        method,
        path,
        query,
        name,
    }
}

/// From the model's `http.method` and `http.requestUri`; bindings with a fixed query
/// parameter come before the plain binding of the same path.
pub(crate) const OPERATIONS: &[Operation] = &[
    op(
        "POST",
        "/2014-11-13/functions/{FunctionName}/invoke-async",
        "",
        "InvokeAsync",
    ),
    op(
        "GET",
        "/2015-03-31/event-source-mappings",
        "",
        "ListEventSourceMappings",
    ),
    op(
        "POST",
        "/2015-03-31/event-source-mappings",
        "",
        "CreateEventSourceMapping",
    ),
    op(
        "DELETE",
        "/2015-03-31/event-source-mappings/{UUID}",
        "",
        "DeleteEventSourceMapping",
    ),
    op(
        "GET",
        "/2015-03-31/event-source-mappings/{UUID}",
        "",
        "GetEventSourceMapping",
    ),
    op(
        "PUT",
        "/2015-03-31/event-source-mappings/{UUID}",
        "",
        "UpdateEventSourceMapping",
    ),
    op("GET", "/2015-03-31/functions", "", "ListFunctions"),
    op("POST", "/2015-03-31/functions", "", "CreateFunction"),
    op(
        "DELETE",
        "/2015-03-31/functions/{FunctionName}",
        "",
        "DeleteFunction",
    ),
    op(
        "GET",
        "/2015-03-31/functions/{FunctionName}",
        "",
        "GetFunction",
    ),
    op(
        "GET",
        "/2015-03-31/functions/{FunctionName}/aliases",
        "",
        "ListAliases",
    ),
    op(
        "POST",
        "/2015-03-31/functions/{FunctionName}/aliases",
        "",
        "CreateAlias",
    ),
    op(
        "DELETE",
        "/2015-03-31/functions/{FunctionName}/aliases/{Name}",
        "",
        "DeleteAlias",
    ),
    op(
        "GET",
        "/2015-03-31/functions/{FunctionName}/aliases/{Name}",
        "",
        "GetAlias",
    ),
    op(
        "PUT",
        "/2015-03-31/functions/{FunctionName}/aliases/{Name}",
        "",
        "UpdateAlias",
    ),
    op(
        "PUT",
        "/2015-03-31/functions/{FunctionName}/code",
        "",
        "UpdateFunctionCode",
    ),
    op(
        "GET",
        "/2015-03-31/functions/{FunctionName}/configuration",
        "",
        "GetFunctionConfiguration",
    ),
    op(
        "PUT",
        "/2015-03-31/functions/{FunctionName}/configuration",
        "",
        "UpdateFunctionConfiguration",
    ),
    op(
        "POST",
        "/2015-03-31/functions/{FunctionName}/invocations",
        "",
        "Invoke",
    ),
    op(
        "GET",
        "/2015-03-31/functions/{FunctionName}/policy",
        "",
        "GetPolicy",
    ),
    op(
        "POST",
        "/2015-03-31/functions/{FunctionName}/policy",
        "",
        "AddPermission",
    ),
    op(
        "DELETE",
        "/2015-03-31/functions/{FunctionName}/policy/{StatementId}",
        "",
        "RemovePermission",
    ),
    op(
        "GET",
        "/2015-03-31/functions/{FunctionName}/versions",
        "",
        "ListVersionsByFunction",
    ),
    op(
        "POST",
        "/2015-03-31/functions/{FunctionName}/versions",
        "",
        "PublishVersion",
    ),
    op(
        "GET",
        "/2016-08-19/account-settings",
        "",
        "GetAccountSettings",
    ),
    op("DELETE", "/2017-03-31/tags/{Resource}", "", "UntagResource"),
    op("GET", "/2017-03-31/tags/{Resource}", "", "ListTags"),
    op("POST", "/2017-03-31/tags/{Resource}", "", "TagResource"),
    op(
        "DELETE",
        "/2017-10-31/functions/{FunctionName}/concurrency",
        "",
        "DeleteFunctionConcurrency",
    ),
    op(
        "PUT",
        "/2017-10-31/functions/{FunctionName}/concurrency",
        "",
        "PutFunctionConcurrency",
    ),
    op(
        "GET",
        "/2018-10-31/layers",
        "find=LayerVersion",
        "GetLayerVersionByArn",
    ),
    op("GET", "/2018-10-31/layers", "", "ListLayers"),
    op(
        "GET",
        "/2018-10-31/layers/{LayerName}/versions",
        "",
        "ListLayerVersions",
    ),
    op(
        "POST",
        "/2018-10-31/layers/{LayerName}/versions",
        "",
        "PublishLayerVersion",
    ),
    op(
        "DELETE",
        "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}",
        "",
        "DeleteLayerVersion",
    ),
    op(
        "GET",
        "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}",
        "",
        "GetLayerVersion",
    ),
    op(
        "GET",
        "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy",
        "",
        "GetLayerVersionPolicy",
    ),
    op(
        "POST",
        "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy",
        "",
        "AddLayerVersionPermission",
    ),
    op(
        "DELETE",
        "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy/{StatementId}",
        "",
        "RemoveLayerVersionPermission",
    ),
    op(
        "DELETE",
        "/2019-09-25/functions/{FunctionName}/event-invoke-config",
        "",
        "DeleteFunctionEventInvokeConfig",
    ),
    op(
        "GET",
        "/2019-09-25/functions/{FunctionName}/event-invoke-config",
        "",
        "GetFunctionEventInvokeConfig",
    ),
    op(
        "POST",
        "/2019-09-25/functions/{FunctionName}/event-invoke-config",
        "",
        "UpdateFunctionEventInvokeConfig",
    ),
    op(
        "PUT",
        "/2019-09-25/functions/{FunctionName}/event-invoke-config",
        "",
        "PutFunctionEventInvokeConfig",
    ),
    op(
        "GET",
        "/2019-09-25/functions/{FunctionName}/event-invoke-config/list",
        "",
        "ListFunctionEventInvokeConfigs",
    ),
    op(
        "GET",
        "/2019-09-30/functions/{FunctionName}/concurrency",
        "",
        "GetFunctionConcurrency",
    ),
    op(
        "GET",
        "/2019-09-30/functions/{FunctionName}/provisioned-concurrency",
        "List=ALL",
        "ListProvisionedConcurrencyConfigs",
    ),
    op(
        "DELETE",
        "/2019-09-30/functions/{FunctionName}/provisioned-concurrency",
        "",
        "DeleteProvisionedConcurrencyConfig",
    ),
    op(
        "GET",
        "/2019-09-30/functions/{FunctionName}/provisioned-concurrency",
        "",
        "GetProvisionedConcurrencyConfig",
    ),
    op(
        "PUT",
        "/2019-09-30/functions/{FunctionName}/provisioned-concurrency",
        "",
        "PutProvisionedConcurrencyConfig",
    ),
    op(
        "GET",
        "/2020-04-22/code-signing-configs",
        "",
        "ListCodeSigningConfigs",
    ),
    op(
        "POST",
        "/2020-04-22/code-signing-configs",
        "",
        "CreateCodeSigningConfig",
    ),
    op(
        "DELETE",
        "/2020-04-22/code-signing-configs/{CodeSigningConfigArn}",
        "",
        "DeleteCodeSigningConfig",
    ),
    op(
        "GET",
        "/2020-04-22/code-signing-configs/{CodeSigningConfigArn}",
        "",
        "GetCodeSigningConfig",
    ),
    op(
        "PUT",
        "/2020-04-22/code-signing-configs/{CodeSigningConfigArn}",
        "",
        "UpdateCodeSigningConfig",
    ),
    op(
        "GET",
        "/2020-04-22/code-signing-configs/{CodeSigningConfigArn}/functions",
        "",
        "ListFunctionsByCodeSigningConfig",
    ),
    op(
        "DELETE",
        "/2020-06-30/functions/{FunctionName}/code-signing-config",
        "",
        "DeleteFunctionCodeSigningConfig",
    ),
    op(
        "GET",
        "/2020-06-30/functions/{FunctionName}/code-signing-config",
        "",
        "GetFunctionCodeSigningConfig",
    ),
    op(
        "PUT",
        "/2020-06-30/functions/{FunctionName}/code-signing-config",
        "",
        "PutFunctionCodeSigningConfig",
    ),
    op(
        "GET",
        "/2021-07-20/functions/{FunctionName}/runtime-management-config",
        "",
        "GetRuntimeManagementConfig",
    ),
    op(
        "PUT",
        "/2021-07-20/functions/{FunctionName}/runtime-management-config",
        "",
        "PutRuntimeManagementConfig",
    ),
    op(
        "DELETE",
        "/2021-10-31/functions/{FunctionName}/url",
        "",
        "DeleteFunctionUrlConfig",
    ),
    op(
        "GET",
        "/2021-10-31/functions/{FunctionName}/url",
        "",
        "GetFunctionUrlConfig",
    ),
    op(
        "POST",
        "/2021-10-31/functions/{FunctionName}/url",
        "",
        "CreateFunctionUrlConfig",
    ),
    op(
        "PUT",
        "/2021-10-31/functions/{FunctionName}/url",
        "",
        "UpdateFunctionUrlConfig",
    ),
    op(
        "GET",
        "/2021-10-31/functions/{FunctionName}/urls",
        "",
        "ListFunctionUrlConfigs",
    ),
    op(
        "POST",
        "/2021-11-15/functions/{FunctionName}/response-streaming-invocations",
        "",
        "InvokeWithResponseStream",
    ),
    op(
        "GET",
        "/2024-08-31/functions/{FunctionName}/recursion-config",
        "",
        "GetFunctionRecursionConfig",
    ),
    op(
        "PUT",
        "/2024-08-31/functions/{FunctionName}/recursion-config",
        "",
        "PutFunctionRecursionConfig",
    ),
    op(
        "GET",
        "/2025-11-30/capacity-providers",
        "",
        "ListCapacityProviders",
    ),
    op(
        "POST",
        "/2025-11-30/capacity-providers",
        "",
        "CreateCapacityProvider",
    ),
    op(
        "DELETE",
        "/2025-11-30/capacity-providers/{CapacityProviderName}",
        "",
        "DeleteCapacityProvider",
    ),
    op(
        "GET",
        "/2025-11-30/capacity-providers/{CapacityProviderName}",
        "",
        "GetCapacityProvider",
    ),
    op(
        "PUT",
        "/2025-11-30/capacity-providers/{CapacityProviderName}",
        "",
        "UpdateCapacityProvider",
    ),
    op(
        "GET",
        "/2025-11-30/capacity-providers/{CapacityProviderName}/function-versions",
        "",
        "ListFunctionVersionsByCapacityProvider",
    ),
    op(
        "GET",
        "/2025-11-30/functions/{FunctionName}/function-scaling-config",
        "",
        "GetFunctionScalingConfig",
    ),
    op(
        "PUT",
        "/2025-11-30/functions/{FunctionName}/function-scaling-config",
        "",
        "PutFunctionScalingConfig",
    ),
    op(
        "POST",
        "/2025-12-01/durable-execution-callbacks/{CallbackId}/fail",
        "",
        "SendDurableExecutionCallbackFailure",
    ),
    op(
        "POST",
        "/2025-12-01/durable-execution-callbacks/{CallbackId}/heartbeat",
        "",
        "SendDurableExecutionCallbackHeartbeat",
    ),
    op(
        "POST",
        "/2025-12-01/durable-execution-callbacks/{CallbackId}/succeed",
        "",
        "SendDurableExecutionCallbackSuccess",
    ),
    op(
        "DELETE",
        "/2025-12-01/durable-executions/{DurableExecutionArn}",
        "",
        "DeleteDurableExecution",
    ),
    op(
        "GET",
        "/2025-12-01/durable-executions/{DurableExecutionArn}",
        "",
        "GetDurableExecution",
    ),
    op(
        "POST",
        "/2025-12-01/durable-executions/{DurableExecutionArn}/checkpoint",
        "",
        "CheckpointDurableExecution",
    ),
    op(
        "GET",
        "/2025-12-01/durable-executions/{DurableExecutionArn}/history",
        "",
        "GetDurableExecutionHistory",
    ),
    op(
        "POST",
        "/2025-12-01/durable-executions/{DurableExecutionArn}/pause",
        "",
        "PauseDurableExecution",
    ),
    op(
        "POST",
        "/2025-12-01/durable-executions/{DurableExecutionArn}/resume",
        "",
        "ResumeDurableExecution",
    ),
    op(
        "GET",
        "/2025-12-01/durable-executions/{DurableExecutionArn}/state",
        "",
        "GetDurableExecutionState",
    ),
    op(
        "POST",
        "/2025-12-01/durable-executions/{DurableExecutionArn}/stop",
        "",
        "StopDurableExecution",
    ),
    op(
        "GET",
        "/2025-12-01/functions/{FunctionName}/durable-executions",
        "",
        "ListDurableExecutionsByFunction",
    ),
    op(
        "DELETE",
        "/2026-07-09/resource-policy/{ResourceArn}",
        "",
        "DeleteResourcePolicy",
    ),
    op(
        "GET",
        "/2026-07-09/resource-policy/{ResourceArn}",
        "",
        "GetResourcePolicy",
    ),
    op(
        "PUT",
        "/2026-07-09/resource-policy/{ResourceArn}",
        "",
        "PutResourcePolicy",
    ),
];

/// The operation a request is for, if the model has one at that method and path.
pub(crate) fn find(method: &Method, path: &str, query: Option<&str>) -> Option<&'static str> {
    OPERATIONS
        .iter()
        .find(|o| {
            o.method == method.as_str()
                && path_matches(o.path, path)
                && (o.query.is_empty() || binds(query, o.query))
        })
        .map(|o| o.name)
}

/// `template` against a request path: literal segments equal, `{Label}` any non-empty one.
fn path_matches(template: &str, path: &str) -> bool {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let mut want = template.split('/');
    let mut got = path.split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with('{') => {
                if g.is_empty() {
                    return false;
                }
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

/// Whether the query string binds the operation whose fixed query parameter is `pair`
/// (`Key=Value`): one of its parameters, decoded as handlers' `Query` extractors decode
/// them, is that key with that value. The router's fallback, the IAM declarations
/// ([`crate::action::declared`]) and the handlers that serve two operations on one route
/// all ask this, so that an operation is never authorized as one and run as another
/// (`find=Layer%56ersion` or `find=x&find=LayerVersion` bind the same for all).
pub(crate) fn binds(query: Option<&str>, pair: &str) -> bool {
    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
    query.is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == key && v == value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_operations_by_method_path_and_fixed_query() {
        let get = Method::GET;
        assert_eq!(
            find(&Method::POST, "/2015-03-31/event-source-mappings", None),
            Some("CreateEventSourceMapping")
        );
        assert_eq!(
            find(&Method::POST, "/2015-03-31/event-source-mappings/", None),
            Some("CreateEventSourceMapping")
        );
        assert_eq!(
            find(&get, "/2021-10-31/functions/f/url", None),
            Some("GetFunctionUrlConfig")
        );
        assert_eq!(
            find(&get, "/2018-10-31/layers", Some("find=LayerVersion&Arn=x")),
            Some("GetLayerVersionByArn")
        );
        assert_eq!(find(&get, "/2018-10-31/layers", None), Some("ListLayers"));
        assert_eq!(
            find(
                &get,
                "/2019-09-30/functions/f/provisioned-concurrency",
                Some("List=ALL")
            ),
            Some("ListProvisionedConcurrencyConfigs")
        );
        assert_eq!(
            find(
                &Method::DELETE,
                "/2018-10-31/layers/l/versions/1/policy/s",
                None
            ),
            Some("RemoveLayerVersionPermission")
        );
        assert_eq!(find(&get, "/2015-03-31/functions/f/nothing", None), None);
        assert_eq!(find(&get, "/2015-03-31/functions//url", None), None);
        assert_eq!(find(&Method::PATCH, "/2015-03-31/functions/f", None), None);
    }

    #[test]
    fn a_binding_is_read_decoded_from_any_of_the_parameters() {
        let pair = "find=LayerVersion";
        assert!(binds(Some("find=LayerVersion&Arn=x"), pair));
        assert!(binds(Some("Arn=x&find=LayerVersion"), pair));
        assert!(binds(Some("find=Layer%56ersion"), pair));
        assert!(binds(Some("find=x&find=LayerVersion"), pair));
        assert!(!binds(Some("find=LayerVersions"), pair));
        assert!(!binds(Some("find=layerversion"), pair));
        assert!(!binds(Some("Find=LayerVersion"), pair));
        assert!(!binds(Some(""), pair));
        assert!(!binds(None, pair));
    }

    #[test]
    fn every_operation_is_listed_once() {
        let mut names: Vec<&str> = OPERATIONS.iter().map(|o| o.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
        assert_eq!(
            before, 91,
            "botocore 1.44.8's Lambda model has 91 operations"
        );
    }
}
