//! The console's files, embedded in the binary (nothing to install, nothing fetched from
//! elsewhere: it works on an offline machine). Every answer carries a Content Security
//! Policy that lets the page load and call nothing but this server, and no framing.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("../../console/index.html");

/// The page's script modules and its style sheet, by name under `/console/assets/`.
const FILES: &[(&str, &str, &str)] = &[
    ("main.js", JS, include_str!("../../console/main.js")),
    ("core.js", JS, include_str!("../../console/core.js")),
    (
        "functions.js",
        JS,
        include_str!("../../console/functions.js"),
    ),
    (
        "console.css",
        CSS,
        include_str!("../../console/console.css"),
    ),
];

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Scripts, styles and calls from this origin only; images also inline (`data:`, the
/// empty icon); no plugins, no framing, forms post here only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The page every console address loads (its script draws the rest).
pub(super) fn page() -> Response {
    file(INDEX, "text/html; charset=utf-8")
}

/// `/console/assets/<name>`.
pub(super) fn asset(name: &str) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => file(body, content_type),
        None => super::refusal(StatusCode::NOT_FOUND, "NotFound", "No such console file."),
    }
}

fn file(body: &'static str, content_type: &'static str) -> Response {
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
