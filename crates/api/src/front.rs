//! The front door of function URLs and HTTP APIs: the outermost layer of the router
//! sends a request whose host (under the server's domain) or path prefix names one
//! (`http_endpoints.rs`) to its data plane, before Lambda's authentication, request ids
//! and routes see it. Those endpoints authenticate (or not) as their own configuration
//! says, and answer in their own terms, not as the Lambda API does.

use std::future::Future;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::ORIGIN;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use hearth_http_events::cors::CorsRules;

use crate::http_endpoints::FrontTarget;
use crate::AppState;

/// Which front a request is for.
enum Front {
    Url,
    Api,
}

/// The layer: a function URL's or HTTP API's request goes to its data plane, any other
/// to the API.
pub(crate) async fn dispatch(State(s): State<AppState>, req: Request, next: Next) -> Response {
    // Only a request for a front pays for owning its id and path.
    let front = {
        let host = req
            .headers()
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            // HTTP/2 carries the host in the URI instead.
            .or_else(|| req.uri().authority().map(|a| a.as_str()));
        s.options
            .endpoints
            .target(host, req.uri().path())
            .map(|t| match t {
                FrontTarget::FunctionUrl { id, path } => {
                    (Front::Url, id.to_owned(), path.to_owned())
                }
                FrontTarget::HttpApi { id, path } => (Front::Api, id.to_owned(), path.to_owned()),
            })
    };
    // The fronts' futures are boxed on their own: inline, they would make this layer's
    // future (which axum boxes for every request) some 13 KB, moved into its box for
    // every Lambda API request too.
    match front {
        Some((Front::Url, id, path)) => {
            Box::pin(crate::function_urls::serve::serve(&s, &id, &path, req)).await
        }
        Some((Front::Api, id, path)) => Box::pin(crate::http_api::serve(&s, &id, &path, req)).await,
        None => next.run(req).await,
    }
}

/// The address a request came from: the connection's peer as the server saw it.
pub(crate) fn source_ip(parts: &axum::http::request::Parts) -> Option<std::net::IpAddr> {
    parts
        .extensions
        .get::<crate::Transport>()
        .map(|t| t.peer.ip())
        .or_else(|| {
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip())
        })
}

/// A front's CORS around its answer: with `cors`, a preflight is answered from it without
/// running `answer`, and any other answer gets its headers for the request's `Origin` (in
/// place of the function's). Without, `answer` as it is.
pub(crate) async fn with_cors<F: Future<Output = Response>>(
    cors: Option<&CorsRules>,
    req: Request,
    answer: impl FnOnce(Request) -> F,
) -> Response {
    let Some(cors) = cors else {
        return answer(req).await;
    };
    if let Some(preflight) = cors.preflight(req.method(), req.headers()) {
        return preflight.map(Body::from);
    }
    // The origin is all the rules read of the request.
    let mut origin = HeaderMap::new();
    if let Some(o) = req.headers().get(ORIGIN) {
        origin.insert(ORIGIN, o.clone());
    }
    let mut resp = answer(req).await;
    cors.apply(&origin, resp.headers_mut());
    resp
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use axum::extract::Request;
    use axum::middleware::Next;

    /// The size of the future `layer` returns (never called).
    fn future_size<A, F: Future>(_layer: impl Fn(A, Request, Next) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// axum boxes this layer's future for every request the server answers, so its size
    /// is copied every time: with the fronts' data planes inline it was about 13 KB.
    #[test]
    fn the_outermost_layers_future_stays_small() {
        let size = future_size(super::dispatch);
        assert!(size < 4096, "front::dispatch's future is {size} bytes");
    }
}
