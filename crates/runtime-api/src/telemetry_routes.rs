//! The Telemetry API (`PUT /2022-07-01/telemetry`) and Logs API (`PUT /2020-08-15/logs`)
//! routes, on the same listener as the Runtime API: the caller is resolved from its
//! `Lambda-Extension-Identifier` through the Extensions API's registry, then the
//! environment's [`hearth_telemetry::Hub`] answers.
//!
//! A missing or unknown identifier gets the registry's refusal (403, as the Extensions API's
//! other calls): AWS does not document the Telemetry API's answer to it, and its runtime
//! interface emulator checks the identifier the same way for every extension call.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use axum::Router;
use bytes::Bytes;
use hearth_telemetry::{Api, Caller};

use crate::extension_routes::identifier;
use crate::Shared;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/2022-07-01/telemetry", put(telemetry))
        .route("/2020-08-15/logs", put(logs))
}

async fn telemetry(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    subscribe(&shared, Api::Telemetry, &headers, &body)
}

async fn logs(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    subscribe(&shared, Api::Logs, &headers, &body)
}

fn subscribe(shared: &Shared, api: Api, headers: &HeaderMap, body: &[u8]) -> Response {
    let caller = identifier(headers).and_then(|id| {
        let name = shared.extensions.name_of(id)?;
        Ok(Caller {
            id: id.to_owned(),
            name,
        })
    });
    let caller = match caller {
        Ok(caller) => caller,
        Err(refusal) => return refusal.into_response(),
    };
    let (status, body) = shared.telemetry.answer(api, &caller, body);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}
