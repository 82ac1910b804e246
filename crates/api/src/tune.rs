//! `POST /_hearth/tune/<function>`: power tuning run by the server (the console's power-tuning
//! button), answering the JSON `hearth tune --json` prints (docs/cost.md). The run is
//! `hearth-tune`'s, the one `hearth tune` makes; here its requests (GetFunction, the code,
//! CreateFunction, GetFunctionConfiguration, Invoke, DeleteFunction) go to this server's own
//! router as the caller, each authorised and audited as that caller's request. The router
//! reaches the handler through [`SelfCalls`], a gate that hands it to requests of this path.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hearth_model::caller::Caller;
use hearth_model::AwsError;
use hearth_serve::{App, BoxApp, Step, Transport};
use hearth_tune::{Api, Options, Reply, Silent, Strategy, TuneError, Tuner, Why};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::error::ApiError;
use crate::RequestId;

/// The route's path before its `{function}`.
const PREFIX: &str = "/_hearth/tune/";

/// The body: every field optional, as `hearth tune`'s flags are.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct TuneRequest {
    /// Memory sizes in MB (default 128, 256, 512, 1024, 1769, 3008).
    memory: Option<Vec<u32>>,
    /// Measured invocations per size (default 50).
    invocations: Option<u32>,
    strategy: Option<Strategy>,
    region: Option<String>,
    /// The event, as JSON (default `{}`).
    payload: Option<Value>,
}

impl TuneRequest {
    fn options(self) -> Options {
        let d = Options::default();
        Options {
            memory: self.memory.unwrap_or(d.memory),
            invocations: self.invocations.unwrap_or(d.invocations),
            strategy: self.strategy.unwrap_or(d.strategy),
            region: self.region.unwrap_or(d.region),
            payload: self
                .payload
                .map_or(d.payload, |v| v.to_string().into_bytes()),
        }
    }
}

/// This server's router, for the tuning run's requests (a request extension on this
/// route's requests only).
#[derive(Clone)]
pub(crate) struct Router(BoxApp);

/// The gate that gives requests of `/_hearth/tune/` the router they came through.
#[derive(Clone)]
pub(crate) struct SelfCalls;

impl hearth_serve::Gate for SelfCalls {
    type Carry = ();

    fn check<S: App>(&self, mut req: Request, inner: &S) -> Step<()> {
        if req.uri().path().starts_with(PREFIX) {
            req.extensions_mut()
                .insert(Router(hearth_serve::boxed(inner.clone())));
        }
        Step::Pass(req, ())
    }
}

/// The Lambda API through the router, as `caller` (the console's mark of a caller the
/// server has authenticated, [`crate::console::SignedIn`], stands for a signature).
struct Loopback {
    router: BoxApp,
    caller: Caller,
    transport: Option<Transport>,
    runtime: tokio::runtime::Handle,
}

impl Api for Loopback {
    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Reply, String> {
        let mut req = axum::http::Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if body.is_some()
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let mut req = req
            .body(Body::from(body.unwrap_or_default()))
            .map_err(|e| format!("a bad request {method} {path}: {e}"))?;
        let ext = req.extensions_mut();
        ext.insert(self.caller.clone());
        ext.insert(crate::console::SignedIn);
        ext.insert(RequestId(uuid::Uuid::new_v4().to_string()));
        if let Some(t) = self.transport {
            ext.insert(t);
        }
        let router = self.router.clone();
        self.runtime.block_on(async move {
            let Ok(resp) = router.oneshot(req).await;
            let (parts, body) = resp.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| format!("reading the answer to {method} {path}: {e}"))?
                .to_bytes();
            Ok(Reply {
                status: parts.status.as_u16(),
                headers: parts
                    .headers
                    .iter()
                    .filter_map(|(k, v)| {
                        Some((k.as_str().to_string(), v.to_str().ok()?.to_string()))
                    })
                    .collect(),
                body: body.to_vec(),
            })
        })
    }

    fn warn(&self, message: &str) {
        tracing::warn!("tune: {message}");
    }
}

pub(crate) async fn tune(Path(function): Path<String>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let (Some(Router(router)), Some(caller)) = (
        parts.extensions.get::<Router>().cloned(),
        parts.extensions.get::<Caller>().cloned(),
    ) else {
        tracing::error!("POST /_hearth/tune came without the router or its caller");
        return ApiError(AwsError::service("the tuning run cannot start")).into_response();
    };
    let options = match crate::body::control(body, "TuneFunction").await {
        Ok(bytes) => match crate::body::parse::<TuneRequest>(&bytes) {
            Ok(r) => r.options(),
            Err(e) => return e.into_response(),
        },
        Err(e) => return e.into_response(),
    };
    if let Err(e) = options.check() {
        return failure(&e);
    }
    let api = Loopback {
        router,
        caller,
        transport: parts.extensions.get::<Transport>().copied(),
        runtime: tokio::runtime::Handle::current(),
    };
    // Off the async workers: each step waits for its answer. A caller that goes away does
    // not stop the run, whose copies are deleted when it ends.
    let run = tokio::task::spawn_blocking(move || {
        Tuner::new(Arc::new(api)).run(&function, &options, &mut Silent)
    })
    .await;
    match run {
        Ok(Ok(report)) => (StatusCode::OK, axum::Json(report)).into_response(),
        Ok(Err(e)) => failure(&e),
        Err(e) => {
            tracing::error!(error = %e, "the tuning run stopped");
            ApiError(AwsError::service("the tuning run stopped")).into_response()
        }
    }
}

/// A run's failure as Lambda's errors look: a refused step keeps its status and code; the
/// function's own error is a 400 `FunctionError`; a copy left behind is a 500.
fn failure(e: &TuneError) -> Response {
    let (status, code, message) = match e {
        TuneError::Invalid(_) => (400, "InvalidParameterValueException", e.to_string()),
        // The step's own code is in `x-amzn-ErrorType`: the message says it once.
        TuneError::Step {
            doing,
            why: Why::Api(f),
        } => (f.status, f.code.as_str(), format!("{doing}: {}", f.message)),
        TuneError::Step {
            why: Why::Function { .. },
            ..
        } => (400, "FunctionError", e.to_string()),
        TuneError::Step { .. } | TuneError::Leftover(_) => (500, "ServiceException", e.to_string()),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let kind = if status.is_server_error() {
        "Service"
    } else {
        "User"
    };
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "Type": kind, "message": message }).to_string(),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(code) {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    resp
}
