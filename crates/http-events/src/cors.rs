//! CORS as the HTTP fronts apply it: a function URL's `Cors` and an HTTP API's
//! `CorsConfiguration` have the same six members and the same effect.
//!
//! What AWS's pages say ("Configuring CORS for an HTTP API"; "Creating and managing
//! Lambda function URLs", Cross-origin resource sharing):
//! - with CORS configured, the front answers preflight `OPTIONS` requests itself, even
//!   when no route is for `OPTIONS` (HTTP APIs); a preflight is an `OPTIONS` request with
//!   `Origin` and `Access-Control-Request-Method` (the HTTP API page: "For the OPTIONS
//!   method, your request must contain an origin header and an
//!   Access-Control-Request-Method header");
//! - CORS headers are returned only to requests with an `Origin` header;
//! - the front adds the configured headers to the function's response, and the
//!   function's own CORS headers give way: an HTTP API "ignores CORS headers returned
//!   from your backend integration", a function URL's "configured CORS headers ...
//!   take precedence". Here both drop every `Access-Control-*` header the function
//!   returned, so the configuration alone decides.
//!
//! What the pages leave open, decided here the way CORS servers commonly do (and noted
//! so): origins compare ignoring ASCII case (browsers send them lower case), and an
//! allowed origin may hold `*` wildcards (`https://*.example.com`); `*` alone allows any
//! origin; methods and header names compare ignoring case, and `*` allows any. A
//! preflight is answered `204` with the CORS headers only when its origin, method and
//! every requested header are allowed, and `204` without them otherwise (the browser
//! then refuses the request). `Access-Control-Allow-Origin` is `*` when any origin is
//! allowed without credentials, else the request's origin (with `Vary: Origin`); a
//! configured `*` method or header list is answered with what the preflight asked for,
//! which also holds with credentials, where browsers take `*` literally.

use bytes::Bytes;
use http::header::{
    HeaderName, HeaderValue, ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS,
    ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS,
    ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
    VARY,
};
use http::{HeaderMap, Method, StatusCode};
use serde_json::Value;

/// A front's CORS configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsRules {
    pub allow_credentials: bool,
    pub allow_headers: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_origins: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<i64>,
}

fn any(list: &[String]) -> bool {
    list.iter().any(|x| x.trim() == "*")
}

fn contains_ignoring_case(list: &[String], item: &str) -> bool {
    list.iter().any(|x| x.trim().eq_ignore_ascii_case(item))
}

/// Whether `text` matches `pattern`, whose `*`s stand for any run of characters,
/// ignoring ASCII case.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.to_ascii_lowercase(), text.to_ascii_lowercase());
    let mut parts = p.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = t.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = parts.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(i) => rest = &rest[i + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The names a comma-separated header lists, trimmed, empty ones left out.
fn listed(headers: &HeaderMap, name: HeaderName) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

fn add_vary_origin(headers: &mut HeaderMap) {
    let already = headers
        .get_all(VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim() == "*" || v.trim().eq_ignore_ascii_case("origin"));
    if !already {
        headers.append(VARY, HeaderValue::from_static("Origin"));
    }
}

impl CorsRules {
    /// The rules of a stored configuration: an HTTP API's `corsConfiguration`
    /// (`allowOrigins`, ...) or a function URL's `Cors` (`AllowOrigins`, ...); members
    /// of the wrong type count as absent (both were validated when stored).
    pub fn from_json(v: &Value) -> Option<Self> {
        let obj = v.as_object()?;
        let get = |name: &str| {
            let mut upper = name.to_string();
            upper[..1].make_ascii_uppercase();
            obj.get(name).or_else(|| obj.get(&upper))
        };
        let list = |name: &str| -> Vec<String> {
            get(name)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        Some(Self {
            allow_credentials: get("allowCredentials")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            allow_headers: list("allowHeaders"),
            allow_methods: list("allowMethods"),
            allow_origins: list("allowOrigins"),
            expose_headers: list("exposeHeaders"),
            max_age: get("maxAge").and_then(Value::as_i64),
        })
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        self.allow_origins
            .iter()
            .any(|o| o.trim() == "*" || glob(o.trim(), origin))
    }

    /// The request's origin when it is allowed.
    fn allowed_origin<'h>(&self, request: &'h HeaderMap) -> Option<&'h str> {
        let origin = request.get(ORIGIN)?.to_str().ok()?;
        self.origin_allowed(origin).then_some(origin)
    }

    /// `Access-Control-Allow-Origin` (and `Vary`) and `-Allow-Credentials`, which
    /// preflights and answers share.
    fn origin_headers(&self, origin: &str, out: &mut HeaderMap) {
        if any(&self.allow_origins) && !self.allow_credentials {
            out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        } else {
            set(out, ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            add_vary_origin(out);
        }
        if self.allow_credentials {
            out.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }

    /// The front's answer to a preflight (`OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`), made without invoking the function; `None`
    /// for any other request, which goes on to the function.
    pub fn preflight(&self, method: &Method, headers: &HeaderMap) -> Option<http::Response<Bytes>> {
        if method != Method::OPTIONS || !headers.contains_key(ORIGIN) {
            return None;
        }
        let requested = headers
            .get(ACCESS_CONTROL_REQUEST_METHOD)?
            .to_str()
            .unwrap_or("")
            .trim()
            .to_string();
        let mut r = http::Response::new(Bytes::new());
        *r.status_mut() = StatusCode::NO_CONTENT;
        let requested_headers = listed(headers, ACCESS_CONTROL_REQUEST_HEADERS);
        let method_ok = !requested.is_empty()
            && (any(&self.allow_methods)
                || contains_ignoring_case(&self.allow_methods, &requested));
        let headers_ok = any(&self.allow_headers)
            || requested_headers
                .iter()
                .all(|h| contains_ignoring_case(&self.allow_headers, h));
        let Some(origin) = self.allowed_origin(headers) else {
            return Some(r);
        };
        if !(method_ok && headers_ok) {
            return Some(r);
        }
        let out = r.headers_mut();
        self.origin_headers(origin, out);
        let methods = if any(&self.allow_methods) {
            requested
        } else {
            self.allow_methods.join(",")
        };
        set(out, ACCESS_CONTROL_ALLOW_METHODS, &methods);
        let allow_headers = if any(&self.allow_headers) {
            requested_headers.join(",")
        } else {
            self.allow_headers.join(",")
        };
        if !allow_headers.is_empty() {
            set(out, ACCESS_CONTROL_ALLOW_HEADERS, &allow_headers);
        }
        if let Some(age) = self.max_age {
            set(out, ACCESS_CONTROL_MAX_AGE, &age.to_string());
        }
        Some(r)
    }

    /// Makes a function's answer carry the configured CORS headers: the function's own
    /// `Access-Control-*` headers are dropped, and for a request from an allowed origin
    /// `Access-Control-Allow-Origin`, `-Allow-Credentials` and `-Expose-Headers` are
    /// added.
    pub fn apply(&self, request_headers: &HeaderMap, response_headers: &mut HeaderMap) {
        let theirs: Vec<HeaderName> = response_headers
            .keys()
            .filter(|k| k.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in theirs {
            response_headers.remove(name);
        }
        let Some(origin) = self.allowed_origin(request_headers) else {
            return;
        };
        self.origin_headers(origin, response_headers);
        if !self.expose_headers.is_empty() {
            set(
                response_headers,
                ACCESS_CONTROL_EXPOSE_HEADERS,
                &self.expose_headers.join(","),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> CorsRules {
        CorsRules {
            allow_credentials: false,
            allow_headers: vec!["Authorization".into(), "X-Custom".into()],
            allow_methods: vec!["GET".into(), "POST".into()],
            allow_origins: vec![
                "https://www.example.com".into(),
                "https://*.example.org".into(),
            ],
            expose_headers: vec!["Date".into(), "x-api-id".into()],
            max_age: Some(300),
        }
    }

    fn headers(list: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in list {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn pairs(h: &HeaderMap) -> Vec<(String, String)> {
        let mut v: Vec<_> = h
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().expect("ascii").to_string()))
            .collect();
        v.sort();
        v
    }

    fn expect(list: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<_> = list
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        v.sort();
        v
    }

    fn preflight(
        r: &CorsRules,
        h: &[(&'static str, &'static str)],
    ) -> Option<(u16, Vec<(String, String)>)> {
        r.preflight(&Method::OPTIONS, &headers(h))
            .map(|resp| (resp.status().as_u16(), pairs(resp.headers())))
    }

    #[test]
    fn only_options_with_origin_and_a_requested_method_is_a_preflight() {
        let r = rules();
        let full = [
            ("origin", "https://www.example.com"),
            ("access-control-request-method", "GET"),
        ];
        assert!(r.preflight(&Method::GET, &headers(&full)).is_none());
        assert!(preflight(&r, &full[..1]).is_none());
        assert!(preflight(&r, &full[1..]).is_none());
        assert!(preflight(&r, &full).is_some());
    }

    #[test]
    fn an_allowed_preflight_gets_every_header() {
        let got = preflight(
            &rules(),
            &[
                ("origin", "https://www.example.com"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "authorization, x-custom"),
            ],
        );
        assert_eq!(
            got,
            Some((
                204,
                expect(&[
                    ("access-control-allow-origin", "https://www.example.com"),
                    ("vary", "Origin"),
                    ("access-control-allow-methods", "GET,POST"),
                    ("access-control-allow-headers", "Authorization,X-Custom"),
                    ("access-control-max-age", "300"),
                ])
            ))
        );
    }

    #[test]
    fn a_refused_preflight_is_answered_bare() {
        let r = rules();
        let bare = Some((204, vec![]));
        // An origin not listed (nor matching the wildcard).
        assert_eq!(
            preflight(
                &r,
                &[
                    ("origin", "https://evil.com"),
                    ("access-control-request-method", "GET")
                ]
            ),
            bare
        );
        assert_eq!(
            preflight(
                &r,
                &[
                    ("origin", "https://example.org"),
                    ("access-control-request-method", "GET")
                ]
            ),
            bare
        );
        // A method not allowed.
        assert_eq!(
            preflight(
                &r,
                &[
                    ("origin", "https://www.example.com"),
                    ("access-control-request-method", "DELETE")
                ]
            ),
            bare
        );
        // A header not allowed.
        assert_eq!(
            preflight(
                &r,
                &[
                    ("origin", "https://www.example.com"),
                    ("access-control-request-method", "GET"),
                    ("access-control-request-headers", "x-custom, x-other"),
                ]
            ),
            bare
        );
    }

    #[test]
    fn origins_match_ignoring_case_and_by_wildcard() {
        let r = rules();
        assert!(r.origin_allowed("https://WWW.Example.com"));
        assert!(r.origin_allowed("https://a.example.org"));
        assert!(r.origin_allowed("https://a.b.example.org"));
        assert!(!r.origin_allowed("http://a.example.org"));
        assert!(!r.origin_allowed("https://a.example.org.evil.com"));
        assert!(!r.origin_allowed("https://www.example.com:8443"));
        assert!(glob("a*b*c", "aXbYc") && glob("*", "") && !glob("a*b", "ab-"));
        assert!(glob("*.x", "a.x") && !glob("a*a", "a"));
    }

    #[test]
    fn wildcards_allow_anything_and_echo_the_request() {
        let r = CorsRules {
            allow_headers: vec!["*".into()],
            allow_methods: vec!["*".into()],
            allow_origins: vec!["*".into()],
            ..CorsRules::default()
        };
        let got = preflight(
            &r,
            &[
                ("origin", "http://localhost:3000"),
                ("access-control-request-method", "PATCH"),
                ("access-control-request-headers", "X-Anything"),
            ],
        );
        assert_eq!(
            got,
            Some((
                204,
                expect(&[
                    ("access-control-allow-origin", "*"),
                    ("access-control-allow-methods", "PATCH"),
                    ("access-control-allow-headers", "X-Anything"),
                ])
            ))
        );
        // With credentials the origin is echoed, never `*`.
        let creds = CorsRules {
            allow_credentials: true,
            ..r
        };
        let got = preflight(
            &creds,
            &[
                ("origin", "http://localhost:3000"),
                ("access-control-request-method", "GET"),
            ],
        );
        assert_eq!(
            got,
            Some((
                204,
                expect(&[
                    ("access-control-allow-origin", "http://localhost:3000"),
                    ("vary", "Origin"),
                    ("access-control-allow-credentials", "true"),
                    ("access-control-allow-methods", "GET"),
                ])
            ))
        );
    }

    #[test]
    fn methods_and_headers_match_ignoring_case() {
        let got = preflight(
            &rules(),
            &[
                ("origin", "https://www.example.com"),
                ("access-control-request-method", "post"),
                ("access-control-request-headers", "AUTHORIZATION"),
            ],
        );
        assert!(got.expect("a preflight").1.len() > 1);
    }

    #[test]
    fn answers_get_origin_credentials_and_exposed_headers() {
        let r = CorsRules {
            allow_credentials: true,
            ..rules()
        };
        let mut out = headers(&[
            ("content-type", "text/plain"),
            ("access-control-allow-origin", "*"),
            ("access-control-max-age", "9"),
        ]);
        r.apply(&headers(&[("origin", "https://a.example.org")]), &mut out);
        assert_eq!(
            pairs(&out),
            expect(&[
                ("content-type", "text/plain"),
                ("access-control-allow-origin", "https://a.example.org"),
                ("access-control-allow-credentials", "true"),
                ("access-control-expose-headers", "Date,x-api-id"),
                ("vary", "Origin"),
            ])
        );
    }

    #[test]
    fn answers_without_an_allowed_origin_lose_the_functions_cors_headers() {
        let r = rules();
        for request in [headers(&[]), headers(&[("origin", "https://evil.com")])] {
            let mut out = headers(&[
                ("x-keep", "1"),
                ("access-control-allow-origin", "https://evil.com"),
                ("access-control-allow-credentials", "true"),
            ]);
            r.apply(&request, &mut out);
            assert_eq!(pairs(&out), expect(&[("x-keep", "1")]));
        }
    }

    #[test]
    fn any_origin_without_credentials_is_a_star_and_vary_is_not_repeated() {
        let r = CorsRules {
            allow_origins: vec!["*".into()],
            ..CorsRules::default()
        };
        let mut out = HeaderMap::new();
        r.apply(&headers(&[("origin", "https://x.dev")]), &mut out);
        assert_eq!(pairs(&out), expect(&[("access-control-allow-origin", "*")]));
        let r = rules();
        let mut out = headers(&[("vary", "Accept-Encoding, origin")]);
        r.apply(&headers(&[("origin", "https://www.example.com")]), &mut out);
        assert_eq!(out.get_all(VARY).iter().count(), 1);
    }

    #[test]
    fn rules_from_either_fronts_configuration() {
        let api = json!({"allowOrigins": ["https://a.com"], "allowMethods": ["GET"],
                         "allowHeaders": ["x"], "exposeHeaders": ["y"], "maxAge": 60,
                         "allowCredentials": true});
        let url = json!({"AllowOrigins": ["https://a.com"], "AllowMethods": ["GET"],
                         "AllowHeaders": ["x"], "ExposeHeaders": ["y"], "MaxAge": 60,
                         "AllowCredentials": true});
        let want = CorsRules {
            allow_credentials: true,
            allow_headers: vec!["x".into()],
            allow_methods: vec!["GET".into()],
            allow_origins: vec!["https://a.com".into()],
            expose_headers: vec!["y".into()],
            max_age: Some(60),
        };
        assert_eq!(CorsRules::from_json(&api), Some(want.clone()));
        assert_eq!(CorsRules::from_json(&url), Some(want));
        assert_eq!(CorsRules::from_json(&json!({})), Some(CorsRules::default()));
        assert_eq!(CorsRules::from_json(&json!(null)), None);
    }
}
