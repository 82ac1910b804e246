//! A memory budget for large request bodies in flight, so that parallel uploads (a
//! CreateFunction body is up to ~70 MB) cannot grow the server without bound.
//!
//! A request whose body is over [`LARGE_BODY`] takes permits for its size (in KiB) from a
//! fair semaphore before its handler runs, and holds them until its response is made, since
//! the handler keeps copies of the body (the JSON, the decoded zip) until then. A body
//! without a `Content-Length` (chunked) takes them as it grows past [`LARGE_BODY`], and is
//! not read further until it has them. A request that cannot get its permits within the
//! wait answers 429 `TooManyRequestsException` with `Retry-After` (the SDKs retry it); until
//! then its bytes stay in the kernel's socket buffers, not in the server. A body larger than
//! the whole budget waits for all of it and then runs alone. Smaller bodies take nothing, so
//! uploads never hold up ordinary calls.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use hearth_model::{AwsError, ErrorCode};
use http_body::{Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// Bodies up to this size take no permits.
pub const LARGE_BODY: usize = 1 << 20;

/// Permits are KiB, so that a budget of many GB fits the semaphore's `u32` requests.
const UNIT: usize = 1024;

/// The budget shared by every request of one server.
#[derive(Clone)]
pub struct BodyBudget {
    permits: Arc<Semaphore>,
    total: u32,
    wait: Duration,
}

/// The permits a request holds until its response is made (shared with its body).
type Held = Arc<Mutex<Option<OwnedSemaphorePermit>>>;

/// The budget stayed exhausted for the whole wait.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.message)]
pub(crate) struct Exhausted(pub(crate) AwsError);

impl BodyBudget {
    /// `total` bytes of large bodies in flight at once; a request waits up to `wait` for room.
    pub fn new(total: usize, wait: Duration) -> Self {
        let total = u32::try_from(total.div_ceil(UNIT).max(1)).unwrap_or(u32::MAX);
        Self {
            permits: Arc::new(Semaphore::new(total as usize)),
            total,
            wait,
        }
    }

    /// Applies the budget to every request of `router`.
    pub fn apply(self, app: impl hearth_serve::App) -> impl hearth_serve::App {
        hearth_serve::around(app, hearth_serve::GateLayer(self))
    }

    /// The permits a body of `bytes` costs, at most the whole budget.
    fn units(&self, bytes: usize) -> u32 {
        u32::try_from(bytes.div_ceil(UNIT))
            .unwrap_or(u32::MAX)
            .min(self.total)
    }

    fn take(&self, units: u32) -> impl Future<Output = Result<OwnedSemaphorePermit, Exhausted>> {
        let permits = self.permits.clone();
        let wait = self.wait;
        async move {
            match tokio::time::timeout(wait, permits.acquire_many_owned(units)).await {
                Ok(Ok(permit)) => Ok(permit),
                // Timed out (the semaphore is never closed).
                _ => Err(Exhausted(AwsError {
                    retry_after: Some(1),
                    ..AwsError::new(
                        ErrorCode::TooManyRequests,
                        "Too many large requests are being received at once; retry later.",
                    )
                })),
            }
        }
    }
}

fn hold(held: &Held, permit: OwnedSemaphorePermit) {
    let mut slot = held.lock().unwrap_or_else(|p| p.into_inner());
    match slot.as_mut() {
        Some(p) => p.merge(permit),
        None => *slot = Some(permit),
    }
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(axum::http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// A body declared larger than [`LARGE_BODY`] waits for its permits before the app sees
/// the request; one of unknown length takes them as it is read; the permits go back
/// when the response is done (and the body dropped).
impl hearth_serve::Gate for BodyBudget {
    /// The permits held for the request, when it may take any.
    type Carry = Option<Held>;

    fn check<S: hearth_serve::App>(
        &self,
        req: Request,
        inner: &S,
    ) -> hearth_serve::Step<Option<Held>> {
        let held = Held::default();
        match declared_length(req.headers()) {
            Some(len) if len <= LARGE_BODY => hearth_serve::Step::Pass(req, None),
            Some(len) => {
                let (budget, inner) = (self.clone(), inner.clone());
                hearth_serve::Step::Answer(Box::pin(async move {
                    match budget.take(budget.units(len)).await {
                        Ok(permit) => {
                            hold(&held, permit);
                            let Ok(response) = tower::ServiceExt::oneshot(inner, req).await;
                            drop(held);
                            response
                        }
                        Err(Exhausted(e)) => ApiError(e).into_response(),
                    }
                }))
            }
            None => {
                let req = req.map(|body| {
                    Body::new(Metered {
                        inner: body,
                        budget: self.clone(),
                        held: held.clone(),
                        seen: 0,
                        charged: 0,
                        waiting: None,
                    })
                });
                hearth_serve::Step::Pass(req, Some(held))
            }
        }
    }
}

type Waiting = Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, Exhausted>> + Send>>;

/// A body of unknown length that takes permits as it grows past [`LARGE_BODY`].
struct Metered {
    inner: Body,
    budget: BodyBudget,
    held: Held,
    seen: usize,
    charged: u32,
    /// Permits for what was read last; nothing more is read until they are granted.
    waiting: Option<Waiting>,
}

impl HttpBody for Metered {
    type Data = Bytes;
    // Boxed, so that `Body::new` keeps `Exhausted` one downcast away for `body::read`.
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let this = self.get_mut();
        if let Some(waiting) = this.waiting.as_mut() {
            match waiting.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(permit)) => hold(&this.held, permit),
                Poll::Ready(Err(e)) => {
                    this.waiting = None;
                    return Poll::Ready(Some(Err(Box::new(e))));
                }
            }
            this.waiting = None;
        }
        let polled = Pin::new(&mut this.inner)
            .poll_frame(cx)
            .map_err(axum::BoxError::from);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                this.seen = this.seen.saturating_add(data.len());
                if this.seen > LARGE_BODY {
                    let want = this.budget.units(this.seen);
                    if want > this.charged {
                        this.waiting = Some(Box::pin(this.budget.take(want - this.charged)));
                        this.charged = want;
                    }
                }
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.waiting.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;
    use axum::Router;
    use tower::ServiceExt;

    const MB: usize = 1 << 20;
    const SHORT: Duration = Duration::from_millis(50);

    fn app(budget: &BodyBudget) -> impl hearth_serve::App {
        let router = Router::new().route(
            "/",
            post(|body: Body| async move {
                match crate::body::read(body, 100 * MB, "Test").await {
                    Ok(bytes) => bytes.len().to_string().into_response(),
                    Err(e) => e.into_response(),
                }
            }),
        );
        budget.clone().apply(router)
    }

    fn sized(len: usize) -> Request {
        Request::post("/")
            .header("content-length", len)
            .body(Body::from(vec![b'x'; len]))
            .expect("a valid request")
    }

    fn chunked(len: usize) -> Request {
        let chunks: Vec<Bytes> = vec![b'x'; len]
            .chunks(256 * 1024)
            .map(Bytes::copy_from_slice)
            .collect();
        Request::post("/")
            .body(Body::new(crate::body::tests::Chunks(chunks.into_iter())))
            .expect("a valid request")
    }

    async fn status(app: impl hearth_serve::App, req: Request) -> u16 {
        app.oneshot(req)
            .await
            .expect("infallible")
            .status()
            .as_u16()
    }

    #[test]
    fn units_are_kib_rounded_up_and_capped_at_the_budget() {
        let budget = BodyBudget::new(10 * MB, SHORT);
        assert_eq!(budget.total, 10 * 1024);
        assert_eq!(budget.units(1), 1);
        assert_eq!(budget.units(1025), 2);
        assert_eq!(budget.units(70 * MB), 10 * 1024);
        assert_eq!(BodyBudget::new(0, SHORT).total, 1);
    }

    #[tokio::test]
    async fn a_large_body_waits_for_room_and_gives_it_back() {
        let budget = BodyBudget::new(4 * MB, SHORT);
        let held = budget.take(budget.units(3 * MB)).await.expect("room");
        // 2 MB does not fit next to 3 MB: 429 after the wait.
        assert_eq!(status(app(&budget), sized(2 * MB)).await, 429);
        // Small bodies take nothing.
        assert_eq!(status(app(&budget), sized(MB)).await, 200);
        drop(held);
        assert_eq!(status(app(&budget), sized(2 * MB)).await, 200);
        assert_eq!(budget.permits.available_permits(), 4 * 1024);
    }

    #[tokio::test]
    async fn a_waiting_body_gets_in_when_room_is_freed() {
        let budget = BodyBudget::new(4 * MB, Duration::from_secs(30));
        let held = budget.take(budget.units(3 * MB)).await.expect("room");
        let waiting = tokio::spawn(status(app(&budget), sized(2 * MB)));
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(held);
        assert_eq!(waiting.await.expect("joined"), 200);
    }

    #[tokio::test]
    async fn a_body_over_the_whole_budget_runs_alone() {
        let budget = BodyBudget::new(2 * MB, SHORT);
        assert_eq!(status(app(&budget), sized(5 * MB)).await, 200);
        let held = budget.take(1).await.expect("room");
        assert_eq!(status(app(&budget), sized(5 * MB)).await, 429);
        drop(held);
    }

    #[tokio::test]
    async fn a_chunked_body_takes_permits_as_it_grows() {
        let budget = BodyBudget::new(4 * MB, SHORT);
        assert_eq!(status(app(&budget), chunked(3 * MB)).await, 200);
        assert_eq!(budget.permits.available_permits(), 4 * 1024);
        // With 2 MB held, a chunked 3 MB body cannot be read past what fits.
        let held = budget.take(budget.units(2 * MB)).await.expect("room");
        assert_eq!(status(app(&budget), chunked(3 * MB)).await, 429);
        // Under LARGE_BODY it needs nothing.
        assert_eq!(status(app(&budget), chunked(MB)).await, 200);
        drop(held);
        assert_eq!(budget.permits.available_permits(), 4 * 1024);
    }
}
