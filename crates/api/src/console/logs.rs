//! `GET /console/logs/<function>?filter=<text>`: the console's live tail of a function's
//! log group `/aws/lambda/<function>`, as Server-Sent Events.
//!
//! It reads nothing itself: each read is CloudWatch Logs' own FilterLogEvents, passed to
//! the one router as the session's principal (as `/console/api` passes a call), so its
//! authorization (`logs:FilterLogEvents` on the group), its validation and the store's
//! choice of lines are the API's. It sends the newest lines first (up to
//! [`BACKLOG`]), then `event: live`, then polls every [`POLL`] from the last line's id,
//! sending each new line as `id: <event id>` and `data: {"timestamp", "message",
//! "stream"}`. A browser that reconnects sends the last id back (`Last-Event-ID`) and
//! the tail goes on from there, without a gap or a repeat. A refusal of the API (a
//! policy that denies the read, a bad filter) is sent as `event: failure` with
//! `{"code", "message"}`, and the stream ends.
//!
//! The filter is text that lines must contain, sent as a quoted filter-pattern phrase.
//! The session is checked again every [`SESSION_CHECK`] (a sign-out, a deleted key or the
//! session's lifetime ends the stream; watching counts as use). The loop ends when the
//! browser goes (the body is dropped), and on [`close_live_tails`] (the server
//! stopping: its graceful shutdown waits for responses in flight).

use std::convert::Infallible;
use std::sync::LazyLock;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Extensions, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hearth_serve::App;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::time::Instant;

use super::session::{self, Session};
use super::{current, now_s, refusal, renewed, secure, with_cookie, Settings, SignedIn};
use crate::AppState;

/// How often the tail asks for new lines.
const POLL: Duration = Duration::from_millis(250);
/// How often the session is checked again.
const SESSION_CHECK: Duration = Duration::from_secs(5);
/// A comment is sent after this long without a line, so that proxies keep the stream
/// open and a browser that left is noticed (the write fails).
const HEARTBEAT: Duration = Duration::from_secs(15);
/// How many of the newest lines the tail starts with.
const BACKLOG: u32 = 100;
/// The most lines one poll asks for.
const BATCH: u32 = 1000;
/// The most a FilterLogEvents answer can be (1 MB of lines and their fields).
const ANSWER_MAX: usize = 4 << 20;
/// How long a browser waits before reconnecting a dropped stream (`retry:`).
const RETRY_MS: u32 = 1000;
const TARGET: &str = "Logs_20140328.FilterLogEvents";

/// Set when the server stops: every tail ends, and a new one ends at once.
static CLOSING: LazyLock<watch::Sender<bool>> = LazyLock::new(|| watch::channel(false).0);

/// Ends every live tail now, and every later one at once: the server is stopping, and
/// its graceful shutdown waits for the responses in flight.
pub fn close_live_tails() {
    CLOSING.send_replace(true);
}

/// `GET /console/logs/<function>`.
pub(super) async fn tail<S: App>(
    state: &AppState,
    settings: &Settings,
    inner: S,
    req: Request,
    function: &str,
) -> Response {
    let secure = secure(&req);
    let (parts, _) = req.into_parts();
    let (session, caller) = match current(state, settings, &parts.headers).await {
        Ok(found) => found,
        Err(refused) => return refused.response(),
    };
    if function.is_empty() || function.contains('/') {
        return refusal(StatusCode::NOT_FOUND, "NotFound", "No such console page.");
    }
    let mut extensions = parts.extensions.clone();
    extensions.insert(caller);
    extensions.insert(SignedIn);
    let resume = last_event_id(&parts.headers);
    let tail = Tail {
        inner,
        extensions,
        group: format!("{}{function}", crate::cloudwatch_logs::GROUP_PREFIX),
        pattern: filter_in(parts.uri.query()).map(|f| phrase(&f)),
        phase: if resume.is_some() {
            Phase::Resumed
        } else {
            Phase::Start
        },
        last: resume,
        next: resume.map(forward_token),
        state: state.clone(),
        settings: settings.clone(),
        session: session.clone(),
        checked: Instant::now(),
        written: Instant::now(),
        closing: CLOSING.subscribe(),
    };
    let stream = futures_util::stream::unfold(tail, |mut t| async move {
        let frames = t.step().await?;
        Some((Ok::<_, Infallible>(frames), t))
    });
    let mut resp = Body::from_stream(stream).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    // A proxy that buffers answers (nginx's default) would hold the lines back.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    with_cookie(resp, renewed(settings, &session, secure))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The newest lines are sent next.
    Start,
    /// A reconnection: the tail goes on after `last`.
    Resumed,
    /// New lines are polled for.
    Live,
    /// A failure was sent, or the server is stopping.
    Done,
}

/// Why the API did not answer lines: its error type and message.
#[derive(Debug, PartialEq, Eq)]
struct Failure {
    code: String,
    message: String,
}

struct Tail<S> {
    inner: S,
    /// The tail request's own (its transport, its request id) with the session's caller.
    extensions: Extensions,
    group: String,
    pattern: Option<String>,
    phase: Phase,
    /// The id of the last line sent (or, before any, the newest line's at the start).
    last: Option<i64>,
    /// The FilterLogEvents `nextToken` the next poll sends.
    next: Option<String>,
    state: AppState,
    settings: Settings,
    session: Session,
    checked: Instant,
    written: Instant,
    closing: watch::Receiver<bool>,
}

impl<S: App> Tail<S> {
    /// The next frames to write; `None` ends the stream.
    async fn step(&mut self) -> Option<String> {
        if *self.closing.borrow() {
            self.phase = Phase::Done;
        }
        let frames = match self.phase {
            Phase::Done => return None,
            Phase::Start => self.start().await,
            Phase::Resumed => {
                self.phase = Phase::Live;
                format!("retry: {RETRY_MS}\n\nevent: live\ndata: {{}}\n\n")
            }
            Phase::Live => self.follow().await?,
        };
        self.written = Instant::now();
        Some(frames)
    }

    /// The newest lines, oldest of them first, then `live`.
    async fn start(&mut self) -> String {
        let mut out = format!("retry: {RETRY_MS}\n\n");
        let newest = |limit: u32, pattern: Option<&String>| {
            let mut body = json!({
                "logGroupName": &self.group,
                "startFromHead": false,
                "limit": limit,
            });
            if let Some(p) = pattern {
                body["filterPattern"] = json!(p);
            }
            body
        };
        let (ends, backlog) = (newest(1, None), newest(BACKLOG, self.pattern.as_ref()));
        // Where the group ends now, whatever the filter: the tail goes on from there, so
        // a filter that matched nothing lately does not make it read the whole group.
        if self.pattern.is_some() {
            match self.read(ends).await {
                Ok(answer) => self.last = events(&answer).iter().filter_map(|e| e.id).max(),
                Err(f) => return self.fail(out, &f),
            }
        }
        match self.read(backlog).await {
            Ok(answer) => {
                let mut lines = events(&answer);
                lines.reverse();
                out.extend(lines.iter().map(Line::frame));
                self.last = self.last.max(lines.iter().filter_map(|e| e.id).max());
            }
            Err(f) => return self.fail(out, &f),
        }
        self.next = self.last.map(forward_token);
        self.phase = Phase::Live;
        out.push_str("event: live\ndata: {}\n\n");
        out
    }

    /// New lines as they come: the next frames, or `None` when the server stops.
    async fn follow(&mut self) -> Option<String> {
        loop {
            if self.checked.elapsed() >= SESSION_CHECK {
                if let Err(f) = self.check_session().await {
                    return Some(self.fail(String::new(), &f));
                }
            }
            let mut body = json!({
                "logGroupName": self.group,
                "startFromHead": true,
                "limit": BATCH,
            });
            if let Some(p) = &self.pattern {
                body["filterPattern"] = json!(p);
            }
            if let Some(t) = &self.next {
                body["nextToken"] = json!(t);
            }
            let answer = match self.read(body).await {
                Ok(answer) => answer,
                Err(f) => return Some(self.fail(String::new(), &f)),
            };
            let fresh: Vec<Line> = events(&answer)
                .into_iter()
                .filter(|e| e.id.is_some_and(|id| self.last.is_none_or(|l| id > l)))
                .collect();
            let more = answer.get("nextToken").and_then(Value::as_str);
            if let Some(id) = fresh.iter().filter_map(|e| e.id).max() {
                self.last = Some(id);
            }
            match more {
                Some(t) => self.next = Some(t.to_string()),
                None if !fresh.is_empty() => self.next = self.last.map(forward_token),
                None => {}
            }
            if !fresh.is_empty() {
                return Some(fresh.iter().map(Line::frame).collect());
            }
            if more.is_some() {
                // The store stopped early (a sparse filter over many lines): read on.
                continue;
            }
            if self.written.elapsed() >= HEARTBEAT {
                return Some(": keep-alive\n\n".into());
            }
            let closing = tokio::select! {
                () = tokio::time::sleep(POLL) => false,
                _ = self.closing.wait_for(|closing| *closing) => true,
            };
            if closing {
                self.phase = Phase::Done;
                return None;
            }
        }
    }

    /// `out` and the failure's frame; the stream ends after them.
    fn fail(&mut self, mut out: String, f: &Failure) -> String {
        self.phase = Phase::Done;
        out.push_str(&failure_frame(f));
        out
    }

    /// The session still stands (it counts as used now): not signed out, its key still
    /// there, its lifetime not over.
    async fn check_session(&mut self) -> Result<(), Failure> {
        self.checked = Instant::now();
        let used = Session {
            last_s: now_s(),
            ..self.session.clone()
        };
        let sealed = used.seal(&self.settings).map_err(|e| Failure {
            code: "ServiceException".into(),
            message: format!("cannot renew the session: {e}"),
        })?;
        let mut headers = HeaderMap::new();
        let cookie = HeaderValue::from_str(&format!("{}={sealed}", session::COOKIE));
        if let Ok(c) = cookie {
            headers.insert(header::COOKIE, c);
        }
        match current(&self.state, &self.settings, &headers).await {
            Ok((session, caller)) => {
                self.session = session;
                self.extensions.insert(caller);
                Ok(())
            }
            Err(refused) => Err(failure_of(refused.response()).await),
        }
    }

    /// FilterLogEvents through the router, as the session's principal. A group that
    /// does not exist yet (nothing was ever logged) has no lines.
    async fn read(&self, body: Value) -> Result<Value, Failure> {
        let mut req = Request::new(Body::from(body.to_string()));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = Uri::from_static("/");
        *req.extensions_mut() = self.extensions.clone();
        let h = req.headers_mut();
        h.insert("x-amz-target", HeaderValue::from_static(TARGET));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-amz-json-1.1"),
        );
        let Ok(resp) = tower::ServiceExt::oneshot(self.inner.clone(), req).await;
        if resp.status().is_success() {
            let bytes = axum::body::to_bytes(resp.into_body(), ANSWER_MAX)
                .await
                .map_err(|e| Failure {
                    code: "ServiceException".into(),
                    message: format!("cannot read FilterLogEvents' answer: {e}"),
                })?;
            return serde_json::from_slice(&bytes).map_err(|e| Failure {
                code: "ServiceException".into(),
                message: format!("FilterLogEvents' answer is not JSON: {e}"),
            });
        }
        let failure = failure_of(resp).await;
        if failure.code == "ResourceNotFoundException" {
            return Ok(json!({ "events": [] }));
        }
        Err(failure)
    }
}

/// An error answer's type (`x-amzn-ErrorType`, or the body's `__type`) and message.
async fn failure_of(resp: Response) -> Failure {
    let status = resp.status();
    let header_code = resp
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(|c| c.split(':').next().unwrap_or(c).to_string());
    let body: Value = axum::body::to_bytes(resp.into_body(), ANSWER_MAX)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    Failure {
        code: header_code
            .or_else(|| text("__type"))
            .unwrap_or_else(|| status.as_u16().to_string()),
        message: text("message")
            .or_else(|| text("Message"))
            .unwrap_or_else(|| status.to_string()),
    }
}

/// A line of a FilterLogEvents answer.
#[derive(Debug, PartialEq, Eq)]
struct Line {
    /// The event's id (`eventId`, a number with leading zeros).
    id: Option<i64>,
    timestamp: i64,
    message: String,
    stream: String,
}

impl Line {
    /// Its SSE event: the id a reconnection resumes after, and the line as JSON (one
    /// `data:` line: JSON escapes the message's own line breaks).
    fn frame(&self) -> String {
        let data = json!({
            "timestamp": self.timestamp,
            "message": self.message,
            "stream": self.stream,
        });
        match self.id {
            Some(id) => format!("id: {id}\ndata: {data}\n\n"),
            None => format!("data: {data}\n\n"),
        }
    }
}

/// The lines of a FilterLogEvents answer, in its order.
fn events(answer: &Value) -> Vec<Line> {
    let text = |e: &Value, k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    answer
        .get("events")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|e| Line {
                    id: e
                        .get("eventId")
                        .and_then(Value::as_str)
                        .and_then(|id| id.parse().ok()),
                    timestamp: e.get("timestamp").and_then(Value::as_i64).unwrap_or(0),
                    message: text(e, "message"),
                    stream: text(e, "logStreamName"),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `event: failure` with the API's error.
fn failure_frame(f: &Failure) -> String {
    let data = json!({ "code": f.code, "message": f.message });
    format!("event: failure\ndata: {data}\n\n")
}

/// FilterLogEvents' token for the lines after event `id`: `f/<the next id, 56 digits>/s`,
/// as `logs_read.rs` writes it (the id of its answers' `eventId`).
fn forward_token(id: i64) -> String {
    format!("f/{:056}/s", id.saturating_add(1))
}

/// The `filter` of the query string, trimmed; `None` when empty.
fn filter_in(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "filter")
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// `text` as a filter pattern that matches the lines containing it: one quoted phrase,
/// its quotes and backslashes escaped.
fn phrase(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The id a reconnecting browser last received.
fn last_event_id(headers: &HeaderMap) -> Option<i64> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .filter(|id: &i64| *id >= 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::log_filter::FilterPattern;

    #[test]
    fn a_filter_is_a_phrase_matching_the_lines_that_contain_it() {
        for text in [
            "ERROR",
            "two words",
            "a \"quoted\" bit",
            "back\\slash",
            "-x ?y {",
        ] {
            let pattern = FilterPattern::parse(&phrase(text)).expect("a phrase parses");
            assert!(pattern.matches(&format!("before {text} after")), "{text}");
            assert!(!pattern.matches("something else"), "{text}");
        }
        // Case-sensitive, as the page's own filter of the lines shown.
        let p = FilterPattern::parse(&phrase("Error")).expect("parses");
        assert!(!p.matches("ERROR"));
    }

    #[test]
    fn the_filter_comes_from_the_query_string() {
        assert_eq!(filter_in(Some("filter=a%20b")), Some("a b".into()));
        assert_eq!(filter_in(Some("x=1&filter=+ok+")), Some("ok".into()));
        assert_eq!(filter_in(Some("filter=")), None);
        assert_eq!(filter_in(Some("filter=%20")), None);
        assert_eq!(filter_in(None), None);
    }

    #[test]
    fn lines_become_sse_events_on_one_data_line() {
        let answer = json!({"events": [
            {"logStreamName": "s1", "timestamp": 5, "message": "two\nlines",
             "eventId": format!("{:056}", 42)},
            {"timestamp": 6, "message": "no id"},
        ]});
        let lines = events(&answer);
        assert_eq!(
            lines[0].frame(),
            "id: 42\ndata: {\"message\":\"two\\nlines\",\"stream\":\"s1\",\"timestamp\":5}\n\n"
        );
        assert_eq!(
            lines[1].frame(),
            "data: {\"message\":\"no id\",\"stream\":\"\",\"timestamp\":6}\n\n"
        );
        assert!(events(&json!({})).is_empty());
        let f = Failure {
            code: "AccessDeniedException".into(),
            message: "User: x is not authorized".into(),
        };
        assert_eq!(
            failure_frame(&f),
            "event: failure\ndata: {\"code\":\"AccessDeniedException\",\"message\":\"User: x is not authorized\"}\n\n"
        );
    }

    #[test]
    fn the_tail_resumes_after_the_last_id() {
        assert_eq!(forward_token(41), format!("f/{:056}/s", 42));
        let mut h = HeaderMap::new();
        assert_eq!(last_event_id(&h), None);
        h.insert("last-event-id", HeaderValue::from_static(" 42"));
        assert_eq!(last_event_id(&h), Some(42));
        h.insert("last-event-id", HeaderValue::from_static("-1"));
        assert_eq!(last_event_id(&h), None);
        h.insert("last-event-id", HeaderValue::from_static("x"));
        assert_eq!(last_event_id(&h), None);
    }

    #[tokio::test]
    async fn an_error_answer_gives_its_type_and_message() {
        let resp = refusal(
            StatusCode::UNAUTHORIZED,
            "SessionEnded",
            "This console session was signed out; sign in again.",
        );
        let f = failure_of(resp).await;
        assert_eq!(f.code, "SessionEnded");
        assert_eq!(
            f.message,
            "This console session was signed out; sign in again."
        );
        let logs = (
            StatusCode::BAD_REQUEST,
            json!({"__type": "AccessDeniedException", "message": "no"}).to_string(),
        )
            .into_response();
        assert_eq!(
            failure_of(logs).await,
            Failure {
                code: "AccessDeniedException".into(),
                message: "no".into()
            }
        );
    }
}
