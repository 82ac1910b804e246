//! API Gateway HTTP APIs (`apigatewayv2`, botocore's `2018-11-29` model, REST-JSON under
//! `/v2/`): the control plane (APIs with quick create, integrations, routes, stages,
//! deployments, tags) and the data plane ([`serve`]), which routes a request to a
//! function as API Gateway does and answers with what the function returns.

mod api_routes;
mod apis;
mod children;
mod deployments;
mod error;
mod integrations;
mod model;
mod permission;
mod records;
mod serve;
mod stages;

use axum::routing::{get, post};
use axum::Router;

pub(crate) use serve::serve;

use crate::AppState;

/// The control plane's routes (authenticated and authorised with the rest).
pub(crate) fn routes() -> Router<AppState> {
    use apis as a;
    Router::new()
        .route("/v2/apis", post(a::create).get(a::list))
        .route(
            "/v2/apis/{apiId}",
            get(a::get).patch(a::update).delete(a::delete),
        )
        .route(
            "/v2/apis/{apiId}/integrations",
            post(integrations::create_integration).get(integrations::get_integrations),
        )
        .route(
            "/v2/apis/{apiId}/integrations/{integrationId}",
            get(integrations::get_integration)
                .patch(integrations::update_integration)
                .delete(integrations::delete_integration),
        )
        .route(
            "/v2/apis/{apiId}/routes",
            post(api_routes::create_route).get(api_routes::get_routes),
        )
        .route(
            "/v2/apis/{apiId}/routes/{routeId}",
            get(api_routes::get_route)
                .patch(api_routes::update_route)
                .delete(api_routes::delete_route),
        )
        .route(
            "/v2/apis/{apiId}/stages",
            post(stages::create_stage).get(stages::get_stages),
        )
        .route(
            "/v2/apis/{apiId}/stages/{stageName}",
            get(stages::get_stage)
                .patch(stages::update_stage)
                .delete(stages::delete_stage),
        )
        .route(
            "/v2/apis/{apiId}/deployments",
            post(deployments::create_deployment).get(deployments::get_deployments),
        )
        .route(
            "/v2/apis/{apiId}/deployments/{deploymentId}",
            get(deployments::get_deployment).delete(deployments::delete_deployment),
        )
        .route(
            "/v2/tags/{arn}",
            get(a::get_tags).post(a::tag).delete(a::untag),
        )
}
