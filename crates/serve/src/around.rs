//! Middleware applied once around a whole router, rather than to each of its routes.
//!
//! `Router::layer` wraps every route's endpoint in the layer, each wrapping in a box of
//! its own, and axum clones the matched route's stack of boxes for every request: one
//! allocation per layer per request (with Hearth's layers, about 35,000 instructions and
//! 84 allocations of a warm Invoke; `docs/performance.md`). Wrapped once, the layers are
//! one service around the router, which [`crate::serve`] serves as it is: no router of
//! its own around them (a router with only a fallback still matches the path and boxes a
//! clone of the fallback for every request). What a layer sees is the same either way
//! but for the matched route: only route layers (`Router::route_layer`, after routing)
//! see `MatchedPath`, and the control plane's two that need it (authorization and the
//! audit trail) stay route layers. Both the control plane and every environment's Runtime
//! API wrap their routers with it.

use std::convert::Infallible;

use axum::extract::Request;
use axum::response::Response;
use tower::util::BoxCloneSyncService;
use tower::Layer;

use crate::App;

/// `app` with `layer` applied once around it: every request, whatever its path and
/// whether or not a route takes it (the fallbacks too), passes through the layer.
pub fn around<A, L>(app: A, layer: L) -> L::Service
where
    A: App,
    L: Layer<A>,
    L::Service: App,
{
    layer.layer(app)
}

/// An app behind one box, for where its type must be named (a struct's field): a clone
/// and the future of each request are boxed, nothing else.
pub type BoxApp = BoxCloneSyncService<Request, Response, Infallible>;

/// `app` as a [`BoxApp`].
pub fn boxed(app: impl App) -> BoxApp {
    BoxCloneSyncService::new(app)
}
