//! The data plane of function URLs: a request for a URL (by its host under the server's
//! domain, or `/lambda-url/<url-id>/...`) is checked against the URL's `AuthType`
//! (`access.rs`), becomes a payload 2.0 event, runs the function through the one invoke
//! path ([`hearth_triggers::Invoker`]) and its answer becomes the HTTP response, buffered
//! or streamed as the URL's `InvokeMode` says. CORS preflights are answered from the
//! URL's `Cors` without invoking anything, and its headers are added to every answer.
//! Every answer carries `x-amzn-RequestId` (the function's request id) and
//! `X-Amzn-Trace-Id` (the trace the function saw: the caller's, when it sent one).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use hearth_http_events::cors::CorsRules;
use hearth_http_events::response::url_answers;
use hearth_http_events::v1::V1Request;
use hearth_http_events::v2::{self, Front, V2Context};
use hearth_http_events::{Piece, PreludeSplitter, HTTP_INTEGRATION_CONTENT_TYPE};
use hearth_model::arn::{arn_account, LATEST};
use hearth_model::function_url::{Cors, FunctionUrl, InvokeMode};
use hearth_model::limits::SYNC_REQUEST_MAX_BYTES;
use hearth_model::FunctionRef;
use hearth_triggers::{InvokeRequest, StreamEvent, StreamedInvoke};

use super::access::{self, Principal};
use crate::AppState;

/// One of Lambda's own answers on a function URL (`url_answers`).
fn own(answer: fn() -> axum::http::Response<Bytes>) -> Response {
    answer().map(Body::from)
}

/// A request being served: its URL and the ids its answer carries.
struct Served<'a> {
    url: &'a FunctionUrl,
    request_id: &'a str,
    trace_id: &'a str,
}

impl Served<'_> {
    /// The function (or alias) the URL runs.
    fn function(&self) -> FunctionRef {
        FunctionRef {
            name: self.url.function.clone(),
            qualifier: (self.url.qualifier != LATEST).then(|| self.url.qualifier.clone()),
        }
    }
}

/// Serves a request for the function URL `url_id`; `path` is the path the function
/// sees (after `/lambda-url/<url-id>` in the path form).
pub(crate) async fn serve(s: &AppState, url_id: &str, path: &str, req: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let trace_id = req
        .headers()
        .get("x-amzn-trace-id")
        .and_then(|v| v.to_str().ok())
        .filter(|t| t.starts_with("Root=1-"))
        .map_or_else(hearth_engine::trace_id, str::to_string);
    let mut resp = match s.engine.function_url_by_id(url_id) {
        Ok(Some(url)) => {
            let served = Served {
                url: &url,
                request_id: &request_id,
                trace_id: &trace_id,
            };
            handle(s, &served, path, req).await
        }
        // As Lambda answers a host that names no URL.
        Ok(None) => own(url_answers::no_such_url),
        Err(e) => {
            tracing::warn!(url = url_id, error = %e, "a function URL could not be looked up");
            own(url_answers::function_error)
        }
    };
    let h = resp.headers_mut();
    for (name, value) in [
        ("x-amzn-requestid", &request_id),
        ("x-amzn-trace-id", &trace_id),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    }
    resp
}

/// The CORS rules of a URL's `Cors`, absent members empty (nothing allowed).
fn cors_rules(c: &Cors) -> CorsRules {
    CorsRules {
        allow_credentials: c.allow_credentials.unwrap_or(false),
        allow_headers: c.allow_headers.clone().unwrap_or_default(),
        allow_methods: c.allow_methods.clone().unwrap_or_default(),
        allow_origins: c.allow_origins.clone().unwrap_or_default(),
        expose_headers: c.expose_headers.clone().unwrap_or_default(),
        max_age: c.max_age,
    }
}

async fn handle(s: &AppState, served: &Served<'_>, path: &str, req: Request) -> Response {
    let cors = served.url.cors.as_ref().map(cors_rules);
    crate::front::with_cors(cors.as_ref(), req, |req| invoke(s, served, path, req)).await
}

async fn invoke(s: &AppState, served: &Served<'_>, path: &str, req: Request) -> Response {
    let (url, function) = (served.url, served.function());
    let (parts, body) = req.into_parts();
    let body = match crate::body::read(body, SYNC_REQUEST_MAX_BYTES, "lambda-url").await {
        Ok(b) => b,
        Err(_) => return own(url_answers::too_large),
    };
    let source_ip = crate::front::source_ip(&parts);
    let principal = match access::authorize(s, url, &function, &parts, &body, source_ip) {
        Ok(p) => p,
        Err(why) => {
            tracing::info!(url = %url.url_id, reason = %why, "function URL request refused");
            return own(url_answers::forbidden);
        }
    };
    let event = event(s, served, &principal, path, &parts, &body, source_ip);
    let payload = match serde_json::to_vec(&event) {
        Ok(p) => Bytes::from(p),
        Err(_) => return own(url_answers::function_error),
    };
    match url.invoke_mode {
        InvokeMode::Buffered => buffered(s, served, payload).await,
        InvokeMode::ResponseStream => streamed(s, served, payload).await,
    }
}

/// The payload 2.0 event of the request.
fn event(
    s: &AppState,
    served: &Served<'_>,
    principal: &Principal,
    path: &str,
    parts: &axum::http::request::Parts,
    body: &[u8],
    source_ip: Option<std::net::IpAddr>,
) -> serde_json::Value {
    let url = served.url;
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    let domain_name = s
        .options
        .endpoints
        .domain_name(&url.url_id, "lambda-url", host);
    let function_arn = url.function_arn();
    let account = match principal {
        // Lambda writes `anonymous` for a caller of a URL without authentication.
        Principal::Anonymous => "anonymous",
        Principal::Signed(_) => arn_account(&function_arn).unwrap_or_default(),
    };
    let (time, epoch_ms) = v2::request_time(chrono::Utc::now());
    let source_ip = source_ip.map_or_else(|| "127.0.0.1".to_string(), |ip| ip.to_string());
    v2::event(
        &V1Request {
            method: &parts.method,
            version: parts.version,
            headers: &parts.headers,
            query: parts.uri.query(),
            body,
        },
        &V2Context {
            account_id: account,
            api_id: &url.url_id,
            domain_name: &domain_name,
            request_id: served.request_id,
            route_key: "$default",
            stage: "$default",
            raw_path: path,
            path_parameters: None,
            stage_variables: None,
            source_ip: &source_ip,
            time: &time,
            time_epoch_ms: epoch_ms,
            authorizer: principal.authorizer(),
            front: Front::FunctionUrl,
        },
    )
}

fn request(served: &Served<'_>, payload: Bytes) -> InvokeRequest {
    InvokeRequest {
        trace_id: Some(served.trace_id.to_string()),
        ..InvokeRequest::new(served.request_id.to_string(), served.function(), payload)
    }
}

/// An invoke that failed before the function answered, as the URL answers it.
fn refused(url: &FunctionUrl, e: &hearth_engine::EngineError) -> Response {
    if e.is_throttle() {
        return own(url_answers::throttled);
    }
    tracing::warn!(url = %url.url_id, error = %e, "a function URL's function could not be invoked");
    own(url_answers::function_error)
}

/// `BUFFERED`: the whole answer, mapped as payload 2.0 says.
async fn buffered(s: &AppState, served: &Served<'_>, payload: Bytes) -> Response {
    let out = match s.invoker.invoke(request(served, payload)).await {
        Ok(out) => out,
        Err(e) => return refused(served.url, &e),
    };
    if out.function_error.is_some() {
        return own(url_answers::function_error);
    }
    match hearth_http_events::response::response(&out.payload) {
        Ok(r) => r.map(Body::from),
        Err(why) => {
            tracing::info!(url = %served.url.url_id, reason = %why, "a function URL's function answered something that is not a response");
            own(url_answers::function_error)
        }
    }
}

/// `RESPONSE_STREAM`: the function's bytes as it writes them. A stream whose content
/// type is the HTTP integration's begins with a prelude (status, headers, cookies) that
/// becomes the response's head; any other is a 200 of the stream's content type. A
/// function that fails before its head is known answers 502; one that fails later ends
/// the body early, as Lambda does (the status is gone by then).
async fn streamed(s: &AppState, served: &Served<'_>, payload: Bytes) -> Response {
    let mut st = match s.invoker.invoke_stream(request(served, payload)).await {
        Ok(st) => st,
        Err(e) => return refused(served.url, &e),
    };
    if st.content_type != HTTP_INTEGRATION_CONTENT_TYPE {
        return match st.next().await {
            Some(StreamEvent::Chunk(first)) => {
                let content_type = st.content_type.clone();
                let mut r = Response::new(body_after(vec![first], st));
                set_content_type(r.headers_mut(), &content_type);
                r
            }
            Some(StreamEvent::End(end)) if end.error.is_none() => {
                let mut r = Response::new(Body::empty());
                set_content_type(r.headers_mut(), &st.content_type);
                r
            }
            _ => own(url_answers::function_error),
        };
    }
    let mut splitter = PreludeSplitter::new();
    let mut early = Vec::new();
    let head = loop {
        match st.next().await {
            Some(StreamEvent::Chunk(c)) => match splitter.push(c) {
                Ok(pieces) => {
                    let mut head = None;
                    for p in pieces {
                        match p {
                            Piece::Head(h) => head = Some(h),
                            Piece::Body(b) => early.push(b),
                        }
                    }
                    if let Some(h) = head {
                        break h;
                    }
                }
                Err(why) => {
                    tracing::info!(url = %served.url.url_id, reason = %why, "a streamed response's prelude could not be read");
                    return own(url_answers::function_error);
                }
            },
            Some(StreamEvent::End(end)) if end.error.is_none() => {
                match std::mem::take(&mut splitter).finish() {
                    Ok(Some(h)) => break h,
                    _ => return own(url_answers::function_error),
                }
            }
            _ => return own(url_answers::function_error),
        }
    };
    let status = head
        .status_code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .unwrap_or(StatusCode::OK);
    let mut r = Response::new(body_after(early, st));
    *r.status_mut() = status;
    let h = r.headers_mut();
    for (k, v) in &head.headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            h.append(name, value);
        }
    }
    for c in &head.cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    if !h.contains_key(header::CONTENT_TYPE) {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
    }
    r
}

fn set_content_type(h: &mut HeaderMap, content_type: &str) {
    let v = HeaderValue::from_str(content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, v);
}

/// A body of `first` then the rest of the stream's chunks, as they come. A function
/// error ends it with an error, so the connection is cut rather than the body looking
/// whole.
fn body_after(first: Vec<Bytes>, st: StreamedInvoke) -> Body {
    let first = futures_util::stream::iter(first.into_iter().map(Ok::<Bytes, std::io::Error>));
    let rest = futures_util::stream::unfold(st, |mut st| async move {
        match st.next().await? {
            StreamEvent::Chunk(c) => Some((Ok(c), st)),
            StreamEvent::End(end) => {
                let e = end.error?;
                let cut = std::io::Error::other(format!("{}: {}", e.code, e.details));
                Some((Err(cut), st))
            }
        }
    });
    Body::from_stream(futures_util::StreamExt::chain(first, rest))
}
