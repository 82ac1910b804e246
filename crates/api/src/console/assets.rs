//! The console's files, embedded in the binary (nothing to install, nothing fetched from
//! elsewhere: it works on an offline machine). Every answer carries a Content Security
//! Policy that lets the page load and call nothing but this server, and no framing.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("../../console/index.html");

/// `(name, its type, its text)` of a file of `crates/api/console/`.
macro_rules! file_of {
    ($name:literal, $type:expr) => {
        ($name, $type, include_str!(concat!("../../console/", $name)))
    };
}

/// The page's script modules and its style sheet, by name under `/console/assets/`.
const FILES: &[(&str, &str, &str)] = &[
    file_of!("main.js", JS),
    file_of!("core.js", JS),
    file_of!("functions.js", JS),
    file_of!("logs.js", JS),
    file_of!("monitoring.js", JS),
    file_of!("triggers.js", JS),
    file_of!("platform.js", JS),
    file_of!("console.css", CSS),
];

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Scripts, styles and calls from this origin only; images also inline (`data:`, the
/// empty icon); no plugins, no framing, forms post here only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The page every console address loads (its script draws the rest).
pub(super) fn page() -> Response {
    match from_dir("index.html") {
        Some(body) => file(body.into(), HTML),
        None => file(INDEX.into(), HTML),
    }
}

const HTML: &str = "text/html; charset=utf-8";

/// With `HEARTH_CONSOLE_ASSETS` set (working on the console), its files are read from that
/// directory at each request instead of those built in, so a change shows without a build.
fn from_dir(name: &str) -> Option<String> {
    let dir = std::env::var_os("HEARTH_CONSOLE_ASSETS")?;
    std::fs::read_to_string(std::path::Path::new(&dir).join(name)).ok()
}

/// `/console/assets/<name>`.
pub(super) fn asset(name: &str) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((name, content_type, body)) => match from_dir(name) {
            Some(body) => file(body.into(), content_type),
            None => file((*body).into(), content_type),
        },
        None => super::refusal(StatusCode::NOT_FOUND, "NotFound", "No such console file."),
    }
}

fn file(body: std::borrow::Cow<'static, str>, content_type: &'static str) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The files change with the binary: always asked again (they are small).
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}
