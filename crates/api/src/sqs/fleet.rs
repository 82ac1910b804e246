//! SQS calls between the nodes of a fleet (docs/fleet.md): the [`Relay`] through which a
//! node that does not serve SQS sends each operation to the node that does, and the
//! route where that node receives them. A call is the typed operation `hearth-sqs`
//! serializes (the node that sent it authenticated and authorized the caller, reading
//! the queue's policy from the holder), signed with the fleet's key as forwarded
//! invokes are (`forward.rs`, `fleet_auth.rs`); the answer is the operation's result.
//!
//! A call that could not be connected, or that the receiver refused before running it
//! (a bad signature, no such route), is `NotSent`: `hearth-sqs` may send it to another
//! holder. Once it may have reached the holder, a lost answer is `Lost`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use hearth_sqs::{Holder, Relay, RelayError};
use http_body_util::{BodyExt, Full};

use crate::fleet_auth::Signed;
use crate::forward::{causes, refuse, signed_by_fleet, signed_headers, Fleet, REFUSED};
use crate::{body, AppState};

/// Where SQS calls are received.
pub(crate) const PATH: &str = "/_hearth/fleet/sqs";

/// The largest call: a batch of ten 256 KiB messages, JSON-escaped, with binary
/// attributes in Base64.
const CALL_MAX: usize = 32 << 20;

/// The fleet's channel, as `hearth-sqs` sends through it.
struct FleetRelay(Arc<Fleet>);

/// The relay of this node of `fleet`, for [`hearth_sqs::Sqs::relay_through`].
pub(crate) fn relay(fleet: &Arc<Fleet>) -> Arc<dyn Relay> {
    Arc::new(FleetRelay(fleet.clone()))
}

impl Relay for FleetRelay {
    fn send<'a>(
        &'a self,
        to: &'a Holder,
        call: Vec<u8>,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Vec<u8>, RelayError>> {
        Box::pin(async move {
            let fleet = &self.0;
            // Each call is signed once: the receiver accepts a signature only once.
            let request_id = uuid::Uuid::new_v4().to_string();
            let signed = Signed {
                time_ms: hearth_model::time::now_ms(),
                from: &fleet.node,
                request_id: &request_id,
                caller: "",
                function: "",
                qualifier: "",
                log_type: "",
                client_context: "",
                trace_header: "",
            };
            let signature = fleet.key.sign("POST", PATH, &signed, &call);
            let builder = Request::post(format!("{}://{}{PATH}", to.scheme, to.address))
                .header(axum::http::header::HOST, &to.address)
                .header(axum::http::header::CONTENT_TYPE, "application/json");
            let request = signed_headers(builder, &signed, &signature)
                .body(Full::new(Bytes::from(call)))
                .map_err(|e| RelayError::NotSent(format!("cannot make the request: {e}")))?;
            let answer = tokio::time::timeout(wait, async {
                let resp = match fleet.client.request(request).await {
                    Ok(r) => r,
                    Err(e) if e.is_connect() => return Err(RelayError::NotSent(causes(&e))),
                    Err(e) => return Err(RelayError::Lost(causes(&e))),
                };
                if resp.headers().contains_key(REFUSED) || resp.status() != StatusCode::OK {
                    // Refused, or a node without this route: nothing was run.
                    return Err(RelayError::NotSent(format!(
                        "it answered {}",
                        resp.status()
                    )));
                }
                resp.into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes().to_vec())
                    .map_err(|e| RelayError::Lost(causes(&e)))
            })
            .await;
            answer.unwrap_or_else(|_| {
                Err(RelayError::Lost(format!(
                    "no answer within {} s",
                    wait.as_secs()
                )))
            })
        })
    }
}

/// `POST /_hearth/fleet/sqs`: another node's SQS call, run here if its signature holds
/// (and answered `ServiceUnavailable` by `hearth-sqs` if this node does not serve SQS).
pub(crate) async fn receive(State(s): State<AppState>, req: Request<Body>) -> Response {
    let (parts, body) = req.into_parts();
    let call = match body::read(body, CALL_MAX, "SqsCall").await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    if let Err(refused) = signed_by_fleet(&s, &parts, &call) {
        return refuse(&refused);
    }
    let Some(sqs) = s.options.sqs.as_ref() else {
        return (StatusCode::NOT_FOUND, "SQS is not enabled on this node.").into_response();
    };
    let mut resp = (StatusCode::OK, sqs.answer(&call).await).into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
