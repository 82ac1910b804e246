//! Payload format 2.0 for HTTP APIs until `hearth_http_events::v2` and
//! `hearth_http_events::response` (the function URL work) take over: the merger swaps
//! [`event`] and [`response`] for those and deletes this file. The event follows "Working
//! with AWS Lambda proxy integrations for HTTP APIs" (2.0): lower-case headers with
//! repeated ones comma-joined, cookies apart, query values comma-joined; the response is
//! read as that page says, inferring a 200 JSON answer from one without `statusCode`.

use std::collections::BTreeMap;

use axum::http::header::{HeaderName, HeaderValue, CONTENT_TYPE, COOKIE, SET_COOKIE, USER_AGENT};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use hearth_http_events::v1::{body_field, protocol, V1Request};
use serde_json::{json, Map, Value};

/// What the 2.0 event says about where the request arrived.
pub(crate) struct V2Context<'a> {
    pub account_id: &'a str,
    pub api_id: &'a str,
    pub domain_name: &'a str,
    pub request_id: &'a str,
    pub route_key: &'a str,
    pub stage: &'a str,
    pub raw_path: &'a str,
    pub path_parameters: &'a BTreeMap<String, String>,
    pub stage_variables: &'a BTreeMap<String, String>,
    pub source_ip: &'a str,
    pub time: &'a str,
    pub time_epoch_ms: i64,
}

pub(crate) fn event(req: &V1Request<'_>, ctx: &V2Context<'_>) -> Value {
    let mut headers: Map<String, Value> = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in req.headers {
        let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == COOKIE {
            cookies.extend(v.split(';').map(|c| Value::String(c.trim().to_string())));
            continue;
        }
        match headers.get_mut(name.as_str()) {
            Some(Value::String(joined)) => {
                joined.push(',');
                joined.push_str(&v);
            }
            _ => {
                headers.insert(name.as_str().into(), Value::String(v));
            }
        }
    }
    let mut query: Map<String, Value> = Map::new();
    for (k, v) in form_urlencoded::parse(req.query.unwrap_or("").as_bytes()) {
        match query.get_mut(k.as_ref()) {
            Some(Value::String(joined)) => {
                joined.push(',');
                joined.push_str(&v);
            }
            _ => {
                query.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
    }
    let user_agent = req
        .headers
        .get(USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let mut e = json!({
        "version": "2.0",
        "routeKey": ctx.route_key,
        "rawPath": ctx.raw_path,
        "rawQueryString": req.query.unwrap_or(""),
        "headers": headers,
        "requestContext": {
            "accountId": ctx.account_id,
            "apiId": ctx.api_id,
            "domainName": ctx.domain_name,
            "domainPrefix": ctx.domain_name.split('.').next().unwrap_or(ctx.domain_name),
            "http": {
                "method": req.method.as_str(),
                "path": ctx.raw_path,
                "protocol": protocol(req.version),
                "sourceIp": ctx.source_ip,
                "userAgent": user_agent,
            },
            "requestId": ctx.request_id,
            "routeKey": ctx.route_key,
            "stage": ctx.stage,
            "time": ctx.time,
            "timeEpoch": ctx.time_epoch_ms,
        },
        "isBase64Encoded": false,
    });
    if !cookies.is_empty() {
        e["cookies"] = Value::Array(cookies);
    }
    if !query.is_empty() {
        e["queryStringParameters"] = Value::Object(query);
    }
    let (body, encoded) = body_field(req.headers, req.body);
    if !body.is_null() {
        e["body"] = body;
        e["isBase64Encoded"] = Value::Bool(encoded);
    }
    let strings = |m: &BTreeMap<String, String>| {
        Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    };
    if !ctx.path_parameters.is_empty() {
        e["pathParameters"] = strings(ctx.path_parameters);
    }
    if !ctx.stage_variables.is_empty() {
        e["stageVariables"] = strings(ctx.stage_variables);
    }
    e
}

/// The HTTP response of a 2.0 answer; `None` when it cannot be one (API Gateway's 500).
pub(crate) fn response(payload: &[u8]) -> Option<axum::http::Response<Bytes>> {
    let v: Value = serde_json::from_slice(payload).ok()?;
    let obj = match v.as_object() {
        Some(o) if o.contains_key("statusCode") => o,
        // Anything else is the body of a 200 JSON answer.
        _ => {
            let mut r = axum::http::Response::new(Bytes::copy_from_slice(payload));
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            return Some(r);
        }
    };
    let status = obj
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| axum::http::StatusCode::from_u16(s).ok())?;
    let encoded = obj
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let body = match obj.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(s)) if encoded => Bytes::from(BASE64.decode(s.trim()).ok()?),
        Some(Value::String(s)) => Bytes::from(s.clone()),
        Some(_) => return None,
    };
    let mut r = axum::http::Response::new(body);
    *r.status_mut() = status;
    if let Some(Value::Object(h)) = obj.get("headers") {
        for (k, v) in h {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            let name = HeaderName::from_bytes(k.as_bytes()).ok()?;
            r.headers_mut()
                .append(name, HeaderValue::from_str(&text).ok()?);
        }
    }
    if let Some(Value::Array(cookies)) = obj.get("cookies") {
        for c in cookies {
            let c = c.as_str()?;
            r.headers_mut()
                .append(SET_COOKIE, HeaderValue::from_str(c).ok()?);
        }
    }
    if !r.headers().contains_key(CONTENT_TYPE) {
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    Some(r)
}
