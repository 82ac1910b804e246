//! Middleware applied once around a whole router, rather than to each of its routes.
//!
//! `Router::layer` wraps every route's endpoint in the layer, each wrapping in a box of
//! its own, and axum clones the matched route's stack of boxes for every request: one
//! allocation per layer per request (with Hearth's layers, about 35,000 instructions and
//! 84 allocations of a warm Invoke; `docs/performance.md`). Wrapped once, the layers are
//! one service around the router (whose clone is an `Arc`), cloned into one box per
//! request. What a layer sees is the same either way but for the matched route: only
//! route layers (`Router::route_layer`, after routing) see `MatchedPath`, and the control
//! plane's two that need it (authorization and the audit trail) stay route layers. Both
//! the control plane and every environment's Runtime API wrap their routers with it.

use std::convert::Infallible;

use axum::extract::Request;
use axum::response::IntoResponse;
use axum::Router;
use tower::{Layer, Service};

/// `router` with `layer` applied once around it: every request, whatever its path and
/// whether or not a route takes it (the fallbacks too), passes through the layer.
pub fn around<L>(router: Router, layer: L) -> Router
where
    L: Layer<Router>,
    L::Service: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
    <L::Service as Service<Request>>::Response: IntoResponse,
    <L::Service as Service<Request>>::Future: Send + 'static,
{
    Router::new().fallback_service(layer.layer(router))
}
