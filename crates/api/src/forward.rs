//! Synchronous invokes forwarded between the nodes of a fleet (issue 21 §3,
//! docs/fleet.md). The node a caller reached authenticates and authorises the call,
//! asks the engine where it should run (`hearth_engine::placement`), and when that is
//! another node sends it there on `POST /_hearth/fleet/invoke`, signed with the fleet's
//! key (`fleet_auth.rs`). The receiving node checks that signature (never the caller's
//! SigV4, which the first node checked) and runs the invoke itself, never forwarding it
//! again. The answer goes back unchanged: status, payload, `X-Amz-Function-Error`,
//! `X-Amz-Executed-Version`, `X-Amz-Log-Result`, errors in Lambda's shape; the request
//! id is the first node's, which the function also sees.
//!
//! A node that cannot be connected to (or refuses the forward) is left out for a while
//! and the next candidate is tried, then this node runs it. Once a request may have
//! reached a node it is not sent again (it could run twice). Connections to other nodes
//! are kept and reused (HTTP/1.1 keep-alive), over TLS to nodes that serve HTTPS
//! (trusting the certificates the server was told to trust for its fleet).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use hearth_engine::placement::Peer;
use hearth_engine::InvokeRequest;
use hearth_model::limits::SYNC_REQUEST_MAX_BYTES;
use hearth_model::{AwsError, ErrorCode, FunctionRef};
use hearth_serve::HttpClient;
use http_body_util::{BodyExt, Full};

use crate::error::ApiError;
use crate::fleet_auth::{FleetKey, Refused, Signed};
use crate::{body, AppState};

/// Where forwarded invokes are received.
pub(crate) const PATH: &str = "/_hearth/fleet/invoke";
/// Where forwarded InvokeWithResponseStream calls are received: the answer is the event
/// stream, passed through to the caller as it comes.
pub(crate) const STREAM_PATH: &str = "/_hearth/fleet/invoke-stream";

/// On a refusal by the receiving node (so the sender tells it from the function's own
/// errors, which come back as they are).
pub(crate) const REFUSED: &str = "x-hearth-fleet-refused";

const H_TIME: &str = "x-hearth-fleet-time";
const H_FROM: &str = "x-hearth-fleet-from";
const H_REQUEST_ID: &str = "x-hearth-fleet-request-id";
const H_CALLER: &str = "x-hearth-fleet-caller";
const H_FUNCTION: &str = "x-hearth-fleet-function";
const H_QUALIFIER: &str = "x-hearth-fleet-qualifier";
const H_SIGNATURE: &str = "x-hearth-fleet-signature";
const H_LOG_TYPE: &str = "x-amz-log-type";
const H_CLIENT_CONTEXT: &str = "x-amz-client-context";
/// The caller's trace header, under its own name (signed with the rest).
const H_TRACE: &str = "x-amzn-trace-id";

/// How long a connection to another node may take before the next one is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long past the function's timeout a forwarded invoke may go unanswered before its
/// outcome counts as lost (the executing node answers a timed-out invoke itself, well
/// within this).
const ANSWER_GRACE: Duration = Duration::from_secs(30);

/// This node's part in forwarding: its id, the fleet's key and its connections (SQS
/// calls to the node that serves SQS share them, `sqs/fleet.rs`).
pub struct Fleet {
    pub(crate) node: String,
    pub(crate) key: FleetKey,
    pub(crate) client: HttpClient,
}

impl Fleet {
    /// Node `node` of a fleet whose forwarding secret is `secret` (the same on every
    /// node: derived from the shared server key), trusting `roots` for the nodes that
    /// serve HTTPS. Needs the tokio runtime.
    pub fn new(node: &str, secret: &[u8], roots: rustls::RootCertStore) -> Self {
        Self {
            node: node.to_string(),
            key: FleetKey::new(secret),
            client: hearth_serve::http_client(roots, CONNECT_TIMEOUT),
        }
    }
}

/// A synchronous invoke as the first node authorised it.
pub(crate) struct Forwardable<'a> {
    pub request_id: &'a str,
    pub caller: &'a str,
    pub function: &'a FunctionRef,
    pub log_tail: bool,
    /// As the caller sent it (Base64).
    pub client_context: Option<&'a str>,
    /// The caller's `X-Amzn-Trace-Id`, continued on the node that runs it.
    pub trace_header: Option<&'a str>,
    pub payload: &'a Bytes,
    /// An InvokeWithResponseStream: the answer streams through, not collected.
    pub stream: bool,
}

/// What became of one attempt.
enum Sent {
    /// The node answered: its answer, for the caller.
    Answered(Response),
    /// The node could not be reached, or refused the forward: try another.
    Elsewhere(String),
}

/// Runs `req` where the fleet's placement says: the answer of the node that ran it, or
/// `None` when this node should run it (no fleet, its turn, or no other node answered).
pub(crate) async fn route(s: &AppState, req: &Forwardable<'_>) -> Option<Response> {
    let fleet = s.options.fleet.as_ref()?;
    let forward = s.engine.place(req.function)?;
    let wait = forward.timeout + ANSWER_GRACE;
    for peer in &forward.peers {
        match send(fleet, peer, req, wait).await {
            Sent::Answered(resp) => return Some(resp),
            Sent::Elsewhere(why) => {
                tracing::warn!(node = %peer.id, address = %peer.address, why, "cannot forward an invoke to this node; trying the next");
                s.engine.avoid_node(&peer.id);
            }
        }
    }
    None
}

async fn send(fleet: &Fleet, peer: &Peer, req: &Forwardable<'_>, wait: Duration) -> Sent {
    let signed = Signed {
        time_ms: hearth_model::time::now_ms(),
        from: &fleet.node,
        request_id: req.request_id,
        caller: req.caller,
        function: &req.function.name,
        qualifier: req.function.qualifier.as_deref().unwrap_or(""),
        log_type: if req.log_tail { "Tail" } else { "None" },
        client_context: req.client_context.unwrap_or(""),
        trace_header: req.trace_header.unwrap_or(""),
    };
    let path = if req.stream { STREAM_PATH } else { PATH };
    let signature = fleet.key.sign("POST", path, &signed, req.payload);
    let builder = Request::post(format!("{}://{}{path}", peer.scheme, peer.address))
        .header(axum::http::header::HOST, &peer.address);
    let builder = signed_headers(builder, &signed, &signature);
    let request = match builder.body(Full::new(req.payload.clone())) {
        Ok(r) => r,
        Err(e) => return Sent::Elsewhere(format!("cannot make the request: {e}")),
    };
    // The answer in full (its head, for a stream), or what became of it. A node that
    // stopped answering (stopped, or its network gone without a reset) must not hold the
    // caller forever.
    let answer = tokio::time::timeout(wait, async {
        let resp = match fleet.client.request(request).await {
            Ok(r) => r,
            // Not connected: the request never left, another node may run it.
            Err(e) if e.is_connect() => return Err(Sent::Elsewhere(causes(&e))),
            // It may have reached the node (and run): not sent again.
            Err(e) => return Err(Sent::Answered(lost(&peer.id, &causes(&e)))),
        };
        if resp.headers().contains_key(REFUSED) {
            return Err(Sent::Elsewhere(format!(
                "it refused the forward ({})",
                resp.status()
            )));
        }
        let (parts, body) = resp.into_parts();
        if req.stream {
            // Each event goes on as the executing node sends it.
            return Ok((parts, Body::new(body)));
        }
        match body.collect().await {
            Ok(b) => Ok((parts, Body::from(b.to_bytes()))),
            Err(e) => Err(Sent::Answered(lost(&peer.id, &causes(&e)))),
        }
    })
    .await;
    let (parts, body) = match answer {
        Ok(Ok(answer)) => answer,
        Ok(Err(sent)) => return sent,
        Err(_) => {
            let why = format!("no answer within {} s", wait.as_secs());
            return Sent::Answered(lost(&peer.id, &why));
        }
    };
    let mut out = (parts.status, body).into_response();
    for (name, value) in &parts.headers {
        if relayed(name) {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Sent::Answered(out)
}

/// An error with its causes ("client error (Connect): invalid peer certificate: ..."):
/// the client's own words name only the stage that failed.
pub(crate) fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Whether a header of the executing node's answer goes to the caller: not the
/// connection's own, nor the request id (the caller's is this node's).
fn relayed(name: &HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "transfer-encoding"
            | "content-length"
            | "date"
            | "x-amzn-requestid"
    )
}

/// The answer when a forwarded invoke's outcome is unknown.
fn lost(node: &str, why: &str) -> Response {
    tracing::error!(node, why, "a forwarded invoke got no answer");
    ApiError(AwsError::service(
        "The invocation was sent to another node of the fleet, which did not answer",
    ))
    .into_response()
}

/// `POST /_hearth/fleet/invoke`: a forwarded invoke, run here if its signature holds.
pub(crate) async fn receive(State(s): State<AppState>, req: Request<Body>) -> Response {
    let (req, request_id) = match verified(&s, req, "Invoke").await {
        Ok(checked) => checked,
        Err(refused) => return refused,
    };
    let mut out = match s.invoker.invoke(req).await {
        Ok(resp) => crate::invoke::respond(resp, false),
        Err(e) => ApiError::from(e).into_response(),
    };
    set_request_id(&mut out, &request_id);
    out
}

/// `POST /_hearth/fleet/invoke-stream`: a forwarded InvokeWithResponseStream, run here
/// if its signature holds; the event stream goes back as the function writes.
pub(crate) async fn receive_stream(State(s): State<AppState>, req: Request<Body>) -> Response {
    let (req, request_id) = match verified(&s, req, "InvokeWithResponseStream").await {
        Ok(checked) => checked,
        Err(refused) => return refused,
    };
    let mut out = match s.invoker.invoke_stream(req).await {
        Ok(streamed) => crate::invoke_stream::respond(streamed, false),
        Err(e) => ApiError::from(e).into_response(),
    };
    set_request_id(&mut out, &request_id);
    out
}

fn set_request_id(out: &mut Response, request_id: &str) {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        out.headers_mut().insert("x-amzn-requestid", v);
    }
}

/// The invoke a forward asks for, once its signature (over its path, headers and
/// payload) holds; else the refusal to answer. Also returns the first node's request id.
async fn verified(
    s: &AppState,
    req: Request<Body>,
    operation: &str,
) -> Result<(InvokeRequest, String), Response> {
    let (parts, body) = req.into_parts();
    let payload = body::read(body, SYNC_REQUEST_MAX_BYTES, operation)
        .await
        .map_err(IntoResponse::into_response)?;
    let signed = signed_by_fleet(s, &parts, &payload).map_err(|e| refuse(&e))?;
    let client_context = match signed.client_context {
        "" => None,
        cc => BASE64
            .decode(cc)
            .ok()
            .and_then(|b| String::from_utf8(b).ok()),
    };
    let function = FunctionRef {
        name: signed.function.to_string(),
        qualifier: Some(signed.qualifier)
            .filter(|q| !q.is_empty())
            .map(str::to_string),
    };
    let request_id = signed.request_id.to_string();
    let req = InvokeRequest {
        log_tail: signed.log_type == "Tail",
        client_context,
        trace_id: Some(signed.trace_header)
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        ..InvokeRequest::new(request_id.clone(), function, payload)
    };
    Ok((req, request_id))
}

/// What a forward says, once its signature (over its method, path, fields and body)
/// holds; else why it is refused (answer it with [`refuse`]).
pub(crate) fn signed_by_fleet<'h>(
    s: &AppState,
    parts: &'h axum::http::request::Parts,
    body: &[u8],
) -> Result<Signed<'h>, Refused> {
    let h = &parts.headers;
    let text = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let Some(fleet) = s.options.fleet.as_ref() else {
        return Err(Refused::NoFleet);
    };
    let (Some(signature), Ok(time_ms)) = (h.get(H_SIGNATURE), text(H_TIME).parse::<i64>()) else {
        return Err(Refused::Unsigned);
    };
    let signed = Signed {
        time_ms,
        from: text(H_FROM),
        request_id: text(H_REQUEST_ID),
        caller: text(H_CALLER),
        function: text(H_FUNCTION),
        qualifier: text(H_QUALIFIER),
        log_type: text(H_LOG_TYPE),
        client_context: text(H_CLIENT_CONTEXT),
        trace_header: text(H_TRACE),
    };
    let checked = fleet.key.verify(
        (parts.method.as_str(), parts.uri.path()),
        &signed,
        body,
        signature.to_str().unwrap_or(""),
        hearth_model::time::now_ms(),
    );
    if let Err(e) = checked {
        tracing::warn!(from = signed.from, path = parts.uri.path(), error = %e, "refused a forward from another node");
        return Err(e);
    }
    Ok(signed)
}

/// The headers of a forward that carry its signed fields (the empty ones left out).
pub(crate) fn signed_headers(
    mut builder: axum::http::request::Builder,
    signed: &Signed<'_>,
    signature: &str,
) -> axum::http::request::Builder {
    builder = builder
        .header(H_TIME, signed.time_ms.to_string())
        .header(H_SIGNATURE, signature);
    for (name, value) in [
        (H_FROM, signed.from),
        (H_REQUEST_ID, signed.request_id),
        (H_CALLER, signed.caller),
        (H_FUNCTION, signed.function),
        (H_QUALIFIER, signed.qualifier),
        (H_LOG_TYPE, signed.log_type),
        (H_CLIENT_CONTEXT, signed.client_context),
        (H_TRACE, signed.trace_header),
    ] {
        if !value.is_empty() {
            builder = builder.header(name, value);
        }
    }
    builder
}

/// 403 `AccessDeniedException`, marked as the fleet's refusal.
pub(crate) fn refuse(why: &Refused) -> Response {
    let mut resp =
        ApiError(AwsError::new(ErrorCode::AccessDenied, why.to_string())).into_response();
    resp.headers_mut()
        .insert(REFUSED, HeaderValue::from_static("1"));
    resp
}

/// The routes of forwarding (invokes here, SQS calls in `sqs/fleet.rs`): they
/// authenticate by the fleet's key, not SigV4, so they are merged outside the
/// authentication and authorization layers.
pub(crate) fn routes() -> axum::Router<AppState> {
    // Literal paths: the authorize tests read them here (PATH and STREAM_PATH).
    axum::Router::new()
        .route("/_hearth/fleet/invoke", axum::routing::post(receive))
        .route(
            "/_hearth/fleet/invoke-stream",
            axum::routing::post(receive_stream),
        )
        .route(
            "/_hearth/fleet/sqs",
            axum::routing::post(crate::sqs::fleet::receive),
        )
}

/// Whether `path` is one where forwards are received.
fn is_forward_path(path: &str) -> bool {
    path == PATH || path == STREAM_PATH || path == crate::sqs::fleet::PATH
}

/// The forwards' routes in front of the API (a [`hearth_serve::Gate`]): a request to one
/// of their paths goes to their router, every other straight on. A router in front
/// matched every request's path and boxed a clone of its fallback (the API, which a
/// request to one of its own routes never reached).
#[derive(Clone)]
pub(crate) struct Forwards(pub axum::Router);

impl hearth_serve::Gate for Forwards {
    type Carry = ();

    fn check<S: hearth_serve::App>(
        &self,
        req: axum::extract::Request,
        _: &S,
    ) -> hearth_serve::Step<()> {
        if !is_forward_path(req.uri().path()) {
            return hearth_serve::Step::Pass(req, ());
        }
        let forwards = self.0.clone();
        hearth_serve::Step::Answer(Box::pin(async move {
            let Ok(resp) = tower::ServiceExt::oneshot(forwards, req).await;
            resp
        }))
    }
}

/// Whether a header map is a forward's (the request guard lets these through: they
/// carry their own authentication, which no browser can forge).
pub fn is_forward(path: &str, headers: &HeaderMap) -> bool {
    is_forward_path(path) && headers.contains_key(H_SIGNATURE)
}

/// A fleet's key from its server key's derived secret (shared for the server's use),
/// trusting `roots` for nodes that serve HTTPS.
pub fn fleet(node: &str, secret: &[u8], roots: rustls::RootCertStore) -> Arc<Fleet> {
    Arc::new(Fleet::new(node, secret, roots))
}

/// How this node's SQS sends its calls to the node that serves SQS, over `fleet`'s
/// signed channel ([`hearth_sqs::Sqs::relay_through`]).
pub fn sqs_relay(fleet: &Arc<Fleet>) -> Arc<dyn hearth_sqs::Relay> {
    crate::sqs::fleet::relay(fleet)
}
