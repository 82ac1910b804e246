//! The Runtime API routes.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::{Bytes, BytesMut};
use hearth_model::limits::SYNC_RESPONSE_MAX_BYTES;
use http_body_util::BodyExt;
use serde_json::json;

use crate::stream::{self, Read};
use crate::{InitSignal, Outcome, Reply, Shared};

const ERROR_TYPE_HEADER: &str = "lambda-runtime-function-error-type";
const REQUEST_ID: HeaderName = HeaderName::from_static("lambda-runtime-aws-request-id");
const DEADLINE_MS: HeaderName = HeaderName::from_static("lambda-runtime-deadline-ms");
const INVOKED_FUNCTION_ARN: HeaderName =
    HeaderName::from_static("lambda-runtime-invoked-function-arn");
const TRACE_ID: HeaderName = HeaderName::from_static("lambda-runtime-trace-id");
const CLIENT_CONTEXT: HeaderName = HeaderName::from_static("lambda-runtime-client-context");
const COGNITO_IDENTITY: HeaderName = HeaderName::from_static("lambda-runtime-cognito-identity");

/// The Runtime API as it is served: the two requests of every invocation (`next` and
/// `{id}/response`) go straight to their handlers; everything else, and anything of
/// theirs the fast match is unsure of, through the router. The router's layers and
/// matching cost a warm invoke more than the handlers themselves (`docs/performance.md`).
#[derive(Clone)]
pub(crate) struct Service {
    shared: Arc<Shared>,
    router: Router,
}

impl Service {
    /// The service for `shared`'s environment, its body limits off (the handlers read
    /// bodies with Lambda's own limits): once around everything, not per route (see
    /// `hearth_serve::around`).
    pub(crate) fn app(shared: Arc<Shared>) -> impl hearth_serve::App {
        let service = Self {
            router: router(shared.clone()),
            shared,
        };
        hearth_serve::around(service, DefaultBodyLimit::disable())
    }
}

type Answer = Result<Response, std::convert::Infallible>;

impl tower_service::Service<axum::extract::Request> for Service {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = futures_util::future::Either<
        futures_util::future::BoxFuture<'static, Answer>,
        <Router as tower_service::Service<axum::extract::Request>>::Future,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: axum::extract::Request) -> Self::Future {
        use futures_util::future::Either;
        use futures_util::FutureExt;
        match hot(&req) {
            Some(Hot::Next) => {
                Either::Left(next(State(self.shared.clone())).map(with_length).boxed())
            }
            Some(Hot::Response(id)) => {
                let (parts, body) = req.into_parts();
                Either::Left(
                    response(State(self.shared.clone()), Path(id), parts.headers, body)
                        .map(with_length)
                        .boxed(),
                )
            }
            None => Either::Right(self.router.call(req)),
        }
    }
}

/// `response` with the `Content-Length` of its body when that is known, as the router's
/// answers have it (axum adds it there): a runtime client reads a whole body by it.
fn with_length(mut response: Response) -> Answer {
    use axum::http::header::CONTENT_LENGTH;
    use http_body::Body as _;
    if !response.headers().contains_key(CONTENT_LENGTH) {
        if let Some(len) = response.body().size_hint().exact() {
            response
                .headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(len));
        }
    }
    Ok(response)
}

/// The two requests [`Service`] answers without the router.
#[derive(Debug, PartialEq, Eq)]
enum Hot {
    Next,
    Response(String),
}

const NEXT_PATH: &str = "/2018-06-01/runtime/invocation/next";
const INVOCATION_PREFIX: &str = "/2018-06-01/runtime/invocation/";

/// Which hot request `req` is, matched as the router would match it: the exact path
/// with no query, and a request id of plain characters (a percent sign, which the router
/// would decode, a slash or an empty id leave it to the router).
fn hot(req: &axum::extract::Request) -> Option<Hot> {
    let uri = req.uri();
    if uri.query().is_some() {
        return None;
    }
    let path = uri.path();
    match *req.method() {
        axum::http::Method::GET if path == NEXT_PATH => Some(Hot::Next),
        axum::http::Method::POST => {
            let id = path
                .strip_prefix(INVOCATION_PREFIX)?
                .strip_suffix("/response")?;
            let plain = !id.is_empty() && !id.contains(['/', '%']);
            plain.then(|| Hot::Response(id.to_string()))
        }
        _ => None,
    }
}

fn router(shared: Arc<Shared>) -> Router {
    // The routes are the same for every environment: made once (matching tables and
    // boxed handlers take tens of microseconds, on every cold start), then cloned
    // (reference counts) and given the environment's state.
    static ROUTES: OnceLock<Router<Arc<Shared>>> = OnceLock::new();
    ROUTES
        .get_or_init(|| {
            Router::new()
                .route("/2018-06-01/runtime/invocation/next", get(next))
                .route(
                    "/2018-06-01/runtime/invocation/{id}/response",
                    post(response),
                )
                .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
                .route("/2018-06-01/runtime/init/error", post(init_error))
                .merge(crate::extension_routes::routes())
                .merge(crate::telemetry_routes::routes())
        })
        .clone()
        .with_state(shared)
}

/// `202 {"status":"OK"}`, the answer to every post the runtime makes: a static body, not
/// a JSON value serialised on each invocation's response.
fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        r#"{"status":"OK"}"#,
    )
        .into_response()
}

fn runtime_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"errorMessage": message, "errorType": error_type})),
    )
        .into_response()
}

fn error_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(ERROR_TYPE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    shared.next_watch.next_requested(
        |id| Shared::lock(&shared.finished).as_deref() == Some(id),
        std::time::SystemTime::now,
    );
    if let Some(init) = Shared::lock(&shared.init).take() {
        let _ = init.send(InitSignal::Ready);
    }
    // A runtime that asks for the next event has given up on the current one; dropping
    // its sender tells the engine so.
    Shared::lock(&shared.current).take();
    // Waiting here is the long poll; the lock makes concurrent `next` calls queue up
    // rather than race for one event. Receiving is cancel-safe: a runtime that hangs up
    // while waiting loses no event.
    let received = shared.queue.lock().await.recv().await;
    let Some((mut inv, outcome)) = received else {
        return runtime_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            "environment is shutting down",
        );
    };
    // Straight into the answer's own map (a map of its own was copied into it entry by
    // entry). Static names and values: a name made from a `&str` is copied into a new
    // buffer on every insert.
    let mut answer = (StatusCode::OK, std::mem::take(&mut inv.payload)).into_response();
    let headers = answer.headers_mut();
    headers.reserve(8);
    let mut set = |name: HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    set(REQUEST_ID, &inv.request_id);
    set(INVOKED_FUNCTION_ARN, &inv.invoked_function_arn);
    set(TRACE_ID, &inv.trace_id);
    if let Some(cc) = &inv.client_context {
        set(CLIENT_CONTEXT, cc);
    }
    if let Some(ci) = &inv.cognito_identity {
        set(COGNITO_IDENTITY, ci);
    }
    headers.insert(DEADLINE_MS, HeaderValue::from(inv.deadline_ms));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    *Shared::lock(&shared.delivered) = Some(inv.request_id.clone());
    let reply = Reply {
        outcome,
        sink: inv.stream.take(),
    };
    *Shared::lock(&shared.current) = Some((inv.request_id.clone(), reply));
    answer
}

/// Why a post for an invocation was refused.
enum Rejection {
    /// The id is not the invocation in progress.
    UnknownId,
    /// The invocation was already finished by an earlier post.
    AlreadyFinished,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Self::AlreadyFinished => runtime_error(
                StatusCode::FORBIDDEN,
                "InvalidStateTransition",
                "Invalid state transition: the invocation has already been finished",
            ),
            Self::UnknownId => runtime_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestID",
                "Invalid request ID",
            ),
        }
    }
}

/// Takes where invocation `id` answers.
fn take_current(shared: &Shared, id: &str) -> Result<Reply, Rejection> {
    let mut current = Shared::lock(&shared.current);
    match current.take() {
        Some((cur, tx)) if cur == id => {
            *Shared::lock(&shared.finished) = Some(cur);
            Ok(tx)
        }
        other => {
            *current = other;
            if Shared::lock(&shared.finished).as_deref() == Some(id) {
                Err(Rejection::AlreadyFinished)
            } else {
                Err(Rejection::UnknownId)
            }
        }
    }
}

/// Reads a body up to `limit` bytes; `None` if it is longer. A body that comes in one
/// frame (a small response usually does) is kept as it came, not copied: the engine
/// hands those bytes to the caller as they are.
async fn read_limited(body: Body, limit: usize) -> Result<Option<Bytes>, axum::Error> {
    let mut body = body;
    let mut first: Option<Bytes> = None;
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        let held = first.as_ref().map_or(0, Bytes::len) + buf.len();
        if held + data.len() > limit {
            return Ok(None);
        }
        match first.take() {
            None if buf.is_empty() => first = Some(data),
            taken => {
                if let Some(taken) = taken {
                    buf.extend_from_slice(&taken);
                }
                buf.extend_from_slice(&data);
            }
        }
    }
    Ok(Some(first.unwrap_or_else(|| buf.freeze())))
}

/// Notes when a response arrived, before its outcome goes to the engine (which takes
/// the note once it has the outcome).
fn note_timing(shared: &Shared, first_byte: Option<std::time::Instant>, bytes: u64) {
    if let Some(first_byte) = first_byte {
        *Shared::lock(&shared.response_timing) = Some(crate::ResponseTiming {
            first_byte,
            done: std::time::Instant::now(),
            bytes,
        });
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // The Telemetry API's spans: one atomic load when nobody subscribed.
    let first_byte = shared.telemetry.is_active().then(std::time::Instant::now);
    let reply = match take_current(&shared, &id) {
        Ok(reply) => reply,
        Err(rejection) => return rejection.into_response(),
    };
    if stream::is_streaming(&headers) {
        let (outcome, read) = stream::read(body, &headers, reply.sink).await;
        let bytes = match &outcome {
            Outcome::Streamed { bytes, .. } | Outcome::StreamBroken { bytes } => *bytes,
            Outcome::Response(b) => b.len() as u64,
            _ => 0,
        };
        note_timing(&shared, first_byte, bytes);
        let _ = reply.outcome.send(outcome);
        return match read {
            Read::Done => accepted(),
            Read::TooLarge { limit } => runtime_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                &format!("Exceeded maximum allowed payload size ({limit} bytes)."),
            ),
            Read::Broken => runtime_error(
                StatusCode::BAD_REQUEST,
                "InvalidResponse",
                "could not read the body",
            ),
        };
    }
    let tx = reply.outcome;
    match read_limited(body, SYNC_RESPONSE_MAX_BYTES).await {
        Ok(Some(bytes)) => {
            note_timing(&shared, first_byte, bytes.len() as u64);
            let _ = tx.send(Outcome::Response(bytes));
            accepted()
        }
        Ok(None) => {
            let _ = tx.send(Outcome::ResponseTooLarge);
            runtime_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                &format!(
                    "Exceeded maximum allowed payload size ({SYNC_RESPONSE_MAX_BYTES} bytes)."
                ),
            )
        }
        Err(e) => {
            let _ = tx.send(Outcome::Error {
                body: Bytes::from(
                    json!({"errorMessage": format!("Failed to read the response: {e}"), "errorType": "Runtime.InvalidResponse"})
                        .to_string(),
                ),
                error_type: Some("Runtime.InvalidResponse".into()),
            });
            runtime_error(
                StatusCode::BAD_REQUEST,
                "InvalidResponse",
                "could not read the body",
            )
        }
    }
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match take_current(&shared, &id) {
        Ok(reply) => {
            let _ = reply.outcome.send(Outcome::Error {
                body,
                error_type: error_type(&headers),
            });
            accepted()
        }
        Err(rejection) => rejection.into_response(),
    }
}

async fn init_error(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let init = Shared::lock(&shared.init).take();
    match init {
        Some(init) => {
            let told = init.send(InitSignal::Error {
                body,
                error_type: error_type(&headers),
            });
            if told.is_ok() {
                let answer = shared.init_error_answer.notified();
                let _ = tokio::time::timeout(crate::INIT_ERROR_HOLD, answer).await;
            }
            accepted()
        }
        None => runtime_error(
            StatusCode::FORBIDDEN,
            "InvalidStateTransition",
            "init has already finished",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(frames: &[&'static [u8]]) -> Body {
        let frames: Vec<Result<Bytes, std::io::Error>> =
            frames.iter().map(|f| Ok(Bytes::from_static(f))).collect();
        Body::from_stream(futures_util::stream::iter(frames))
    }

    #[tokio::test]
    async fn a_body_is_read_whole_up_to_its_limit() {
        let one = read_limited(body_of(&[b"{\"a\":1}"]), 7)
            .await
            .expect("read");
        assert_eq!(one.as_deref(), Some(&b"{\"a\":1}"[..]));
        let many = read_limited(body_of(&[b"", b"ab", b"", b"cd", b"e"]), 5)
            .await
            .expect("read");
        assert_eq!(many.as_deref(), Some(&b"abcde"[..]));
        assert_eq!(
            read_limited(body_of(&[b"abcdef"]), 5).await.expect("read"),
            None
        );
        assert_eq!(
            read_limited(body_of(&[b"abc", b"def"]), 5)
                .await
                .expect("read"),
            None
        );
        assert_eq!(
            read_limited(body_of(&[]), 5)
                .await
                .expect("read")
                .as_deref(),
            Some(&b""[..])
        );
    }

    #[tokio::test]
    async fn a_body_of_one_frame_is_kept_not_copied() {
        static PAYLOAD: &[u8] = b"{\"answer\":42}";
        let read = read_limited(body_of(&[PAYLOAD]), 100)
            .await
            .expect("read")
            .expect("within the limit");
        assert_eq!(read.as_ptr(), PAYLOAD.as_ptr());
    }

    fn request(method: &str, uri: &str) -> axum::extract::Request {
        axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .expect("a request")
    }

    #[test]
    fn only_the_plain_invocation_requests_skip_the_router() {
        let id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";
        let response = format!("{INVOCATION_PREFIX}{id}/response");
        assert_eq!(hot(&request("GET", NEXT_PATH)), Some(Hot::Next));
        assert_eq!(
            hot(&request("POST", &response)),
            Some(Hot::Response(id.into()))
        );
        for (method, uri) in [
            ("POST", NEXT_PATH),
            ("HEAD", NEXT_PATH),
            ("GET", &format!("{NEXT_PATH}?wait=1")),
            ("GET", &format!("{NEXT_PATH}/")),
            ("GET", response.as_str()),
            ("POST", &format!("{response}?x=1")),
            ("POST", &format!("{INVOCATION_PREFIX}/response")),
            ("POST", &format!("{INVOCATION_PREFIX}a%2Fb/response")),
            ("POST", &format!("{INVOCATION_PREFIX}a/b/response")),
            ("POST", &format!("{INVOCATION_PREFIX}{id}/error")),
            ("POST", "/2018-06-01/runtime/init/error"),
        ] {
            assert_eq!(hot(&request(method, uri)), None, "{method} {uri}");
        }
    }

    #[tokio::test]
    async fn accepted_is_lambdas_202() {
        let response = accepted();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).expect("json"),
            json!({"status": "OK"})
        );
    }
}
