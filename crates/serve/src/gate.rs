//! Middleware that decides before the inner service runs, with no box of its own on the
//! way through: a [`Gate`] looks at each request and either passes it on (keeping a value
//! to finish the response with) or answers it itself. axum's `from_fn` boxes the
//! middleware's future and a clone of the inner service for every request, and every
//! poll goes through both; a gate's future is the inner one, beside its value, unless the
//! gate answers (a refusal, a function URL, a wait for a budget), which is boxed then.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use futures_util::future::BoxFuture;
use tower::Layer;
use tower_service::Service;

use crate::App;

/// What a [`Gate`] does with a request.
// Returned once per request and taken apart at once: boxing the request to even the
// variants out would cost the allocation per request this module is for.
#[allow(clippy::large_enum_variant)]
pub enum Step<C> {
    /// Pass the request on to the inner service; the value goes to [`Gate::finish`] with
    /// its response.
    Pass(Request, C),
    /// Answer with this future instead (which may call a clone of the inner service
    /// itself, after a wait).
    Answer(BoxFuture<'static, Response>),
}

impl<C> Step<C> {
    /// Answer with `response`, ready now (a refusal).
    pub fn answer_now(response: Response) -> Self {
        Step::Answer(Box::pin(std::future::ready(response)))
    }
}

/// A check made before the inner service (see the module docs).
pub trait Gate: Clone + Send + Sync + 'static {
    /// What [`Gate::check`] keeps for the response.
    type Carry: Send + 'static;

    /// Passes `req` on or answers it; `inner` is the service it would pass to.
    fn check<S: App>(&self, req: Request, inner: &S) -> Step<Self::Carry>;

    /// The inner service's response, finished with what the check kept; by default the
    /// response as it is, what was kept dropped only now (permits held until the
    /// response is there).
    fn finish(carry: Self::Carry, response: Response) -> Response {
        drop(carry);
        response
    }
}

/// The layer of a [`Gate`].
#[derive(Clone)]
pub struct GateLayer<G>(pub G);

impl<G: Gate, S> Layer<S> for GateLayer<G> {
    type Service = Gated<G, S>;

    fn layer(&self, inner: S) -> Self::Service {
        Gated {
            gate: self.0.clone(),
            inner,
        }
    }
}

/// A service behind a [`Gate`].
#[derive(Clone)]
pub struct Gated<G, S> {
    gate: G,
    inner: S,
}

impl<G: Gate, S: App> Service<Request> for Gated<G, S> {
    type Response = Response;
    type Error = Infallible;
    type Future = GateFuture<S::Future, G::Carry>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // An `App` is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        match self.gate.check(req, &self.inner) {
            Step::Pass(req, carry) => GateFuture::Inner {
                future: self.inner.call(req),
                carry: Some(carry),
                finish: G::finish,
            },
            Step::Answer(future) => GateFuture::Answer { future },
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of a [`Gated`] service's request.
    #[project = Projected]
    pub enum GateFuture<F, C> {
        /// Passed on: the inner service's future, then [`Gate::finish`].
        Inner {
            #[pin]
            future: F,
            carry: Option<C>,
            finish: fn(C, Response) -> Response,
        },
        /// Answered by the gate.
        Answer {
            future: BoxFuture<'static, Response>,
        },
    }
}

impl<F, C> Future for GateFuture<F, C>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            Projected::Inner {
                future,
                carry,
                finish,
            } => {
                let Ok(response) = ready!(future.poll(cx));
                let carry = carry
                    .take()
                    .expect("a gated future polled after it finished");
                Poll::Ready(Ok(finish(carry, response)))
            }
            Projected::Answer { future } => future.as_mut().poll(cx).map(Ok),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    use super::*;

    /// Passes `/pass` on with its path, which it writes into the response; answers 403
    /// itself to anything else.
    #[derive(Clone)]
    struct Only;

    impl Gate for Only {
        type Carry = String;

        fn check<S: App>(&self, req: Request, _: &S) -> Step<String> {
            if req.uri().path() == "/pass" {
                let path = req.uri().path().to_string();
                Step::Pass(req, path)
            } else {
                Step::Answer(Box::pin(async {
                    let mut refused = Response::new(Body::empty());
                    *refused.status_mut() = StatusCode::FORBIDDEN;
                    refused
                }))
            }
        }

        fn finish(path: String, mut response: Response) -> Response {
            let value = path.parse().expect("a header value");
            response.headers_mut().insert("x-gate", value);
            response
        }
    }

    async fn send(path: &str) -> Response {
        let app = Router::new()
            .route("/pass", get(|| async { "inner" }))
            .route("/other", get(|| async { "inner" }));
        let req = Request::builder()
            .uri(path)
            .body(Body::empty())
            .expect("a request");
        let Ok(response) = crate::around(app, GateLayer(Only)).oneshot(req).await;
        response
    }

    #[tokio::test]
    async fn a_passed_request_reaches_the_inner_service_and_is_finished() {
        let response = send("/pass").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["x-gate"], "/pass");
        let body = axum::body::to_bytes(response.into_body(), 100)
            .await
            .expect("body");
        assert_eq!(&body[..], b"inner");
    }

    #[tokio::test]
    async fn an_answered_request_never_reaches_the_inner_service() {
        let response = send("/other").await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(response.headers().get("x-gate").is_none());
    }
}
