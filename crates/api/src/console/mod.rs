//! The web console (issue 22): a page served under `/console` on the API's own port, its
//! files embedded in the binary (`assets.rs`), and the few endpoints it needs of its own:
//!
//! - `GET /console/session`: who is signed in, and the CSRF token the page sends back in
//!   `X-Hearth-Csrf` with every change; `POST /console/session` signs in with an access
//!   key (its id and secret), `DELETE /console/session` signs out.
//! - `/console/api/<path>`: any operation of the APIs Hearth serves, as the same request
//!   without the prefix. It is not a second copy of them: the request goes on to the one
//!   router, with the session's principal as its caller in place of a signature, so the
//!   same authorization (`authorize.rs`), audit trail and handlers see it as they see a
//!   signed request of that principal.
//! - `GET /console/logs/<function>?filter=<text>`: the live tail of a function's log
//!   group as Server-Sent Events, read with the API's FilterLogEvents (`logs.rs`).
//!
//! Sessions are sealed cookies (`session.rs`), `HttpOnly` and `SameSite=Strict`; a change
//! (any method but GET and HEAD) without the session's CSRF token is refused, so a page
//! of another site cannot make a signed-in browser act, even where the request guard
//! (`guard.rs`) was told to allow other origins. A sign-out is recorded in the store until
//! the session would have expired, so it holds on every node of a fleet.

mod assets;
mod logs;
pub mod session;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hearth_model::caller::Caller;
use hearth_serve::{App, Step, Transport};
use serde_json::json;

pub use logs::close_live_tails;
pub use session::Settings;
use session::{Ended, Session};

use crate::AppState;

/// Where the console is served.
const PREFIX: &str = "/console";
/// Where its calls of the APIs go.
const API: &str = "/api/";
/// Where a function's live log tail is (`logs.rs`).
const LOGS: &str = "/logs/";
/// The header a change carries its CSRF token in.
const CSRF_HEADER: &str = "x-hearth-csrf";
/// How long past a session's end its sign-out is kept (clocks of nodes and store differ).
const SIGN_OUT_MARGIN_MS: i64 = 5 * 60 * 1000;
/// The most a sign-in's body may be.
const SIGN_IN_MAX: usize = 4096;

/// A request the console authenticated (its [`Caller`] is set): the authentication layer
/// takes that caller as it is. Extensions never come from the wire.
#[derive(Clone, Copy)]
pub(crate) struct SignedIn;

/// The gate that serves `/console` (see the module docs); other paths pass.
#[derive(Clone)]
pub(crate) struct Console(pub AppState);

impl hearth_serve::Gate for Console {
    type Carry = ();

    fn check<S: App>(&self, req: Request, inner: &S) -> Step<()> {
        let path = req.uri().path();
        if path != PREFIX && !path.starts_with("/console/") {
            return Step::Pass(req, ());
        }
        let state = self.0.clone();
        let inner = inner.clone();
        Step::Answer(Box::pin(async move { serve(state, inner, req).await }))
    }
}

async fn serve<S: App>(state: AppState, inner: S, req: Request) -> Response {
    let Some(settings) = state.options.console.clone() else {
        return refusal(
            StatusCode::NOT_FOUND,
            "NotFound",
            "The console is not enabled.",
        );
    };
    let path = req.uri().path().to_string();
    let rest = &path[PREFIX.len()..];
    let method = req.method().clone();
    match (&method, rest) {
        (&Method::GET, "") => (
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, "/console/")],
        )
            .into_response(),
        (&Method::GET | &Method::HEAD, "/") => assets::page(),
        (&Method::GET | &Method::HEAD, r) if r.starts_with("/assets/") => {
            assets::asset(&r["/assets/".len()..])
        }
        (&Method::GET, "/session") => whoami(&state, &settings, req.headers(), secure(&req)).await,
        (&Method::POST, "/session") => sign_in(&state, &settings, req).await,
        (&Method::DELETE, "/session") => {
            sign_out(&state, &settings, req.headers(), secure(&req)).await
        }
        (_, r) if r.starts_with(API) => call(&state, &settings, inner, req).await,
        (&Method::GET, r) if r.starts_with(LOGS) => {
            logs::tail(&state, &settings, inner, req, &r[LOGS.len()..]).await
        }
        _ => refusal(StatusCode::NOT_FOUND, "NotFound", "No such console page."),
    }
}

/// Seconds since the epoch.
fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn secure(req: &Request) -> bool {
    req.extensions()
        .get::<Transport>()
        .is_some_and(|t| t.secure)
}

fn auth_off(state: &AppState) -> bool {
    matches!(state.options.auth, crate::Auth::Off)
}

/// Why a request's session does not stand.
enum Refused {
    Ended(Ended),
    SignedOut,
    KeyGone,
    Store(String),
}

impl Refused {
    fn response(&self) -> Response {
        match self {
            Self::Ended(e) => refusal(StatusCode::UNAUTHORIZED, "SessionEnded", e.message()),
            Self::SignedOut => refusal(
                StatusCode::UNAUTHORIZED,
                "SessionEnded",
                "This console session was signed out; sign in again.",
            ),
            Self::KeyGone => refusal(
                StatusCode::UNAUTHORIZED,
                "SessionEnded",
                "The access key this session signed in with no longer exists; sign in again.",
            ),
            Self::Store(why) => refusal(StatusCode::SERVICE_UNAVAILABLE, "ServiceException", why),
        }
    }
}

/// The request's session and its principal, if it stands: sealed by this server, neither
/// idle nor expired, not signed out, and its key still there.
async fn current(
    state: &AppState,
    settings: &Settings,
    headers: &HeaderMap,
) -> Result<(Session, Caller), Refused> {
    let value = session::cookie_value(headers).ok_or(Refused::Ended(Ended::Missing))?;
    let session = Session::open(settings, value, now_s()).map_err(Refused::Ended)?;
    let id = session.id.clone();
    let ended = state
        .engine
        .store()
        .off_worker(move |s| s.console().console_session_ended(&id))
        .await
        .map_err(|e| Refused::Store(format!("cannot read the console's sign-outs: {e}")))?;
    if ended {
        return Err(Refused::SignedOut);
    }
    let caller = if auth_off(state) {
        Caller::default_root()
    } else {
        let key = state
            .options
            .keys
            .as_ref()
            .filter(|_| !session.access_key_id.is_empty())
            .and_then(|keys| hearth_auth::KeyLookup::lookup(keys, &session.access_key_id))
            .ok_or(Refused::KeyGone)?;
        key.caller.clone()
    };
    Ok((session, caller))
}

/// What the page is told of a session.
fn described(
    state: &AppState,
    session: &Session,
    caller: &Caller,
    settings: &Settings,
) -> serde_json::Value {
    json!({
        "Arn": caller.arn,
        "Account": caller.account,
        "AccessKeyId": session.access_key_id,
        "CsrfToken": session.csrf,
        "AuthOff": auth_off(state),
        "IdleSeconds": settings.idle.as_secs(),
    })
}

/// `session` re-sealed as used now, as a `Set-Cookie` value.
fn renewed(settings: &Settings, session: &Session, secure: bool) -> Option<HeaderValue> {
    let used = Session {
        last_s: now_s(),
        ..session.clone()
    };
    let value = used.seal(settings).ok()?;
    HeaderValue::from_str(&session::set_cookie(&value, secure)).ok()
}

fn with_cookie(mut resp: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `GET /console/session`. With `--auth off` a browser without a session gets one: the
/// console acts as the default account's root, as every request does then.
async fn whoami(
    state: &AppState,
    settings: &Settings,
    headers: &HeaderMap,
    secure: bool,
) -> Response {
    match current(state, settings, headers).await {
        Ok((session, caller)) => with_cookie(
            axum::Json(described(state, &session, &caller, settings)).into_response(),
            renewed(settings, &session, secure),
        ),
        Err(Refused::Store(why)) => Refused::Store(why).response(),
        Err(_) if auth_off(state) => issue(state, settings, "", &Caller::default_root(), secure),
        Err(refused) => refused.response(),
    }
}

/// A new session of `access_key_id` (empty with `--auth off`), set in the browser.
fn issue(
    state: &AppState,
    settings: &Settings,
    access_key_id: &str,
    caller: &Caller,
    secure: bool,
) -> Response {
    let Ok(session) = Session::new(access_key_id, now_s()) else {
        return refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceException",
            "No randomness for a new session.",
        );
    };
    let cookie = session
        .seal(settings)
        .ok()
        .and_then(|v| HeaderValue::from_str(&session::set_cookie(&v, secure)).ok());
    with_cookie(
        axum::Json(described(state, &session, caller, settings)).into_response(),
        cookie,
    )
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SignIn {
    access_key_id: String,
    secret_access_key: String,
}

/// `POST /console/session`: `{"AccessKeyId": ..., "SecretAccessKey": ...}`.
async fn sign_in(state: &AppState, settings: &Settings, req: Request) -> Response {
    let secure = secure(&req);
    let (parts, body) = req.into_parts();
    let bytes = match crate::body::read(body, SIGN_IN_MAX, "SignIn").await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    if auth_off(state) {
        return issue(state, settings, "", &Caller::default_root(), secure);
    }
    let Ok(given) = serde_json::from_slice::<SignIn>(&bytes) else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            "Sign in with {\"AccessKeyId\": ..., \"SecretAccessKey\": ...}.",
        );
    };
    let access_key_id = given.access_key_id.trim();
    let caller = state
        .options
        .keys
        .as_ref()
        .and_then(|keys| hearth_auth::sign_in(keys, access_key_id, &given.secret_access_key));
    // Who tried, for the audit trail: the key's owner, whether or not the secret was right.
    let owner = state
        .options
        .keys
        .as_ref()
        .and_then(|keys| hearth_auth::KeyLookup::lookup(keys, access_key_id))
        .map(|k| k.caller.clone());
    crate::audit::console_login(
        state,
        &parts,
        access_key_id,
        owner.as_ref(),
        caller.is_some(),
    );
    match caller {
        Some(caller) => {
            tracing::info!(arn = %caller.arn, access_key_id, "signed in to the console");
            issue(state, settings, access_key_id, &caller, secure)
        }
        None => refusal(
            StatusCode::FORBIDDEN,
            "UnrecognizedClientException",
            "The access key ID or the secret access key is not correct.",
        ),
    }
}

/// `DELETE /console/session`: recorded until the session would have expired.
async fn sign_out(
    state: &AppState,
    settings: &Settings,
    headers: &HeaderMap,
    secure: bool,
) -> Response {
    let session = match current(state, settings, headers).await {
        Ok((session, _)) => session,
        Err(refused) => return refused.response(),
    };
    if !csrf_ok(&session, headers) {
        return csrf_refused();
    }
    // Kept a while past the session's own end: the store's clock may run ahead of ours.
    let until = session
        .expires_ms(settings)
        .saturating_add(SIGN_OUT_MARGIN_MS);
    let id = session.id.clone();
    if let Err(e) = state
        .engine
        .store()
        .off_worker(move |s| s.console().end_console_session(&id, until))
        .await
    {
        return Refused::Store(format!("cannot record the sign-out: {e}")).response();
    }
    let clear = HeaderValue::from_str(&session::clear_cookie(secure)).ok();
    with_cookie(StatusCode::NO_CONTENT.into_response(), clear)
}

/// Whether a change carries the session's CSRF token.
fn csrf_ok(session: &Session, headers: &HeaderMap) -> bool {
    let token = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    session.csrf_matches(token)
}

fn csrf_refused() -> Response {
    refusal(
        StatusCode::FORBIDDEN,
        "InvalidCsrfToken",
        "The console refused a change without this session's CSRF token (X-Hearth-Csrf).",
    )
}

/// `/console/api/<path>`: the API's own operation, as the session's principal.
async fn call<S: App>(state: &AppState, settings: &Settings, inner: S, req: Request) -> Response {
    let secure = secure(&req);
    let (mut parts, body) = req.into_parts();
    let (session, caller) = match current(state, settings, &parts.headers).await {
        Ok(found) => found,
        Err(refused) => return refused.response(),
    };
    if !matches!(parts.method, Method::GET | Method::HEAD) && !csrf_ok(&session, &parts.headers) {
        return csrf_refused();
    }
    let path_and_query = parts.uri.path_and_query().map_or("", |p| p.as_str());
    let stripped = &path_and_query[PREFIX.len() + API.len() - 1..];
    let Ok(uri) = stripped.parse::<Uri>() else {
        return refusal(StatusCode::BAD_REQUEST, "ValidationException", "Bad path.");
    };
    parts.uri = uri;
    // The session stands for the signature: nothing of the browser's authentication goes on.
    parts.headers.remove(header::COOKIE);
    parts.headers.remove(CSRF_HEADER);
    parts.extensions.insert(caller);
    parts.extensions.insert(SignedIn);
    let Ok(resp) = tower::ServiceExt::oneshot(inner, Request::from_parts(parts, body)).await;
    with_cookie(resp, renewed(settings, &session, secure))
}

/// An error of the console's own endpoints, shaped as Lambda's (`x-amzn-ErrorType`, a
/// JSON body with `message`), so the page reads every failure the same way.
fn refusal(status: StatusCode, code: &'static str, message: &str) -> Response {
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "Type": "User", "message": message }).to_string(),
    )
        .into_response();
    resp.headers_mut()
        .insert("x-amzn-errortype", HeaderValue::from_static(code));
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
