//! API Gateway HTTP APIs (`apigatewayv2`, botocore's `2018-11-29` model, REST-JSON under
//! `/v2/`): the control plane (APIs with quick create, integrations, routes, stages,
//! deployments, tags) and the data plane ([`serve`]), which routes a request to a
//! function as API Gateway does and answers with what the function returns.

mod apis;
mod children;
mod error;
mod model;
mod permission;
mod records;
mod serve;
mod v2_interim;

use axum::routing::{any, get, post};
use axum::Router;

#[allow(unused_imports)]
pub(crate) use serve::serve;

use crate::AppState;

/// The control plane's routes (authenticated and authorised with the rest).
pub(crate) fn routes() -> Router<AppState> {
    use apis as a;
    use children as c;
    Router::new()
        .route("/v2/apis", post(a::create).get(a::list))
        .route(
            "/v2/apis/{apiId}",
            get(a::get).patch(a::update).delete(a::delete),
        )
        .route(
            "/v2/apis/{apiId}/integrations",
            post(c::create_integration).get(c::get_integrations),
        )
        .route(
            "/v2/apis/{apiId}/integrations/{integrationId}",
            get(c::get_integration)
                .patch(c::update_integration)
                .delete(c::delete_integration),
        )
        .route(
            "/v2/apis/{apiId}/routes",
            post(c::create_route).get(c::get_routes),
        )
        .route(
            "/v2/apis/{apiId}/routes/{routeId}",
            get(c::get_route)
                .patch(c::update_route)
                .delete(c::delete_route),
        )
        .route(
            "/v2/apis/{apiId}/stages",
            post(c::create_stage).get(c::get_stages),
        )
        .route(
            "/v2/apis/{apiId}/stages/{stageName}",
            get(c::get_stage)
                .patch(c::update_stage)
                .delete(c::delete_stage),
        )
        .route(
            "/v2/apis/{apiId}/deployments",
            post(c::create_deployment).get(c::get_deployments),
        )
        .route(
            "/v2/apis/{apiId}/deployments/{deploymentId}",
            get(c::get_deployment).delete(c::delete_deployment),
        )
        .route(
            "/v2/tags/{arn}",
            get(a::get_tags).post(a::tag).delete(a::untag),
        )
}

/// The data plane by path (`/execute-api/<api-id>/...`), outside authentication: a
/// stand-in until the front middleware (host or path, `HttpEndpoints::target`) calls
/// [`serve`] for every request it finds is for an API.
pub(crate) fn data_plane() -> Router<AppState> {
    Router::new().route("/execute-api/{*rest}", any(serve::by_path))
}
