//! The front door of function URLs and HTTP APIs: the outermost layer of the router
//! sends a request whose host (under the server's domain) or path prefix names one
//! (`http_endpoints.rs`) to its data plane, before Lambda's authentication, request ids
//! and routes see it. Those endpoints authenticate (or not) as their own configuration
//! says, and answer in their own terms, not as the Lambda API does.

use std::future::Future;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::ORIGIN;
use axum::http::HeaderMap;
use axum::response::Response;
use hearth_http_events::cors::CorsRules;

use crate::http_endpoints::FrontTarget;
use crate::AppState;

/// Which front a request is for.
enum Front {
    Url,
    Api,
}

/// The front door as a gate: a function URL's or HTTP API's request goes to its data
/// plane (its future boxed on its own, so that the Lambda API's requests, which pass
/// through, carry nothing of it), any other to the API.
#[derive(Clone)]
pub(crate) struct Fronts(pub(crate) AppState);

impl hearth_serve::Gate for Fronts {
    type Carry = ();

    fn check<S: hearth_serve::App>(&self, req: Request, _: &S) -> hearth_serve::Step<()> {
        // Only a request for a front pays for owning its id and path.
        let front = {
            let host = req
                .headers()
                .get(axum::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                // HTTP/2 carries the host in the URI instead.
                .or_else(|| req.uri().authority().map(|a| a.as_str()));
            self.0
                .options
                .endpoints
                .target(host, req.uri().path())
                .map(|t| match t {
                    FrontTarget::FunctionUrl { id, path } => {
                        (Front::Url, id.to_owned(), path.to_owned())
                    }
                    FrontTarget::HttpApi { id, path } => {
                        (Front::Api, id.to_owned(), path.to_owned())
                    }
                })
        };
        let Some((front, id, path)) = front else {
            return hearth_serve::Step::Pass(req, ());
        };
        let s = self.0.clone();
        hearth_serve::Step::Answer(Box::pin(async move {
            match front {
                Front::Url => crate::function_urls::serve::serve(&s, &id, &path, req).await,
                Front::Api => crate::http_api::serve(&s, &id, &path, req).await,
            }
        }))
    }
}

/// The address a request came from: the connection's peer as the server saw it.
pub(crate) fn source_ip(parts: &axum::http::request::Parts) -> Option<std::net::IpAddr> {
    parts
        .extensions
        .get::<crate::Transport>()
        .map(|t| t.peer.ip())
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
