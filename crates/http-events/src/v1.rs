//! HTTP APIs' payload format 1.0: the REST-style event an integration with
//! `PayloadFormatVersion` `1.0` sends the function, and how the function's answer becomes
//! the HTTP response, as "Working with AWS Lambda proxy integrations for HTTP APIs"
//! shows them. Header names are lower case (HTTP APIs pass them so); `headers` and
//! `queryStringParameters` hold one value of a repeated name (the last header, the first
//! query value, as the page's example has them) and the `multiValue` fields every value;
//! an absent query string, body, path parameters or stage variables is `null`.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, USER_AGENT};
use http::{HeaderMap, Method, StatusCode, Version};
use serde_json::{json, Map, Value};

/// What the event says about where the request arrived, besides the request itself.
#[derive(Debug, Clone)]
pub struct V1Context<'a> {
    pub account_id: &'a str,
    pub api_id: &'a str,
    /// The host the request named (`<api-id>.execute-api.<region>.<domain>`).
    pub domain_name: &'a str,
    pub request_id: &'a str,
    /// `$default` or the named stage.
    pub stage: &'a str,
    /// The request's path as the client sent it, the stage included for a named stage.
    pub path: &'a str,
    /// The route's key (`GET /items/{id}`, `$default`).
    pub route_key: &'a str,
    /// The route's path (`/items/{id}`, `$default`): `resource` and `resourcePath`.
    pub resource: &'a str,
    pub path_parameters: &'a BTreeMap<String, String>,
    pub stage_variables: &'a BTreeMap<String, String>,
    pub source_ip: &'a str,
    /// `04/Mar/2020:19:15:17 +0000`.
    pub request_time: &'a str,
    pub request_time_epoch_ms: i64,
}

/// The request as the event needs it.
#[derive(Debug, Clone, Copy)]
pub struct V1Request<'a> {
    pub method: &'a Method,
    pub version: Version,
    pub headers: &'a HeaderMap,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    pub body: &'a [u8],
}

/// The protocol as API Gateway writes it.
pub fn protocol(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// Whether a body of `content_type` reaches the function as text (else base64): text
/// types, JSON, JavaScript, XML and YAML, with or without parameters, `+json`/`+xml`
/// suffixes included. Form posts and every binary type are base64, as HTTP APIs send them.
pub fn is_text(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else {
        return true;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || matches!(
            essence.as_str(),
            "application/json"
                | "application/javascript"
                | "application/xml"
                | "application/yaml"
                | "application/x-yaml"
        )
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
}

/// The body field and `isBase64Encoded`: `null` for an empty body.
pub fn body_field(headers: &HeaderMap, body: &[u8]) -> (Value, bool) {
    if body.is_empty() {
        return (Value::Null, false);
    }
    let ct = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    match std::str::from_utf8(body) {
        Ok(text) if is_text(ct) => (Value::String(text.into()), false),
        _ => (Value::String(BASE64.encode(body)), true),
    }
}

fn string_map(m: &BTreeMap<String, String>) -> Value {
    if m.is_empty() {
        return Value::Null;
    }
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// The 1.0 event of a request.
pub fn event(req: &V1Request<'_>, ctx: &V1Context<'_>) -> Value {
    let mut headers = Map::new();
    let mut multi_headers: Map<String, Value> = Map::new();
    for (name, value) in req.headers {
        let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers.insert(name.as_str().into(), Value::String(v.clone()));
        match multi_headers
            .entry(name.as_str())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            Value::Array(a) => a.push(Value::String(v)),
            _ => unreachable!("only arrays are inserted"),
        }
    }
    let mut query = Map::new();
    let mut multi_query: Map<String, Value> = Map::new();
    for (k, v) in form_urlencoded::parse(req.query.unwrap_or("").as_bytes()) {
        query
            .entry(k.as_ref())
            .or_insert_with(|| Value::String(v.to_string()));
        if let Value::Array(a) = multi_query
            .entry(k.as_ref())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            a.push(Value::String(v.into_owned()));
        }
    }
    let (query, multi_query) = if query.is_empty() {
        (Value::Null, Value::Null)
    } else {
        (Value::Object(query), Value::Object(multi_query))
    };
    let (body, is_base64) = body_field(req.headers, req.body);
    let user_agent = req
        .headers
        .get(USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let domain_prefix = ctx.domain_name.split('.').next().unwrap_or(ctx.domain_name);
    json!({
        "version": "1.0",
        "resource": ctx.resource,
        "path": ctx.path,
        "httpMethod": req.method.as_str(),
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "requestContext": {
            "accountId": ctx.account_id,
            "apiId": ctx.api_id,
            "authorizer": { "claims": null, "scopes": null },
            "domainName": ctx.domain_name,
            "domainPrefix": domain_prefix,
            "extendedRequestId": ctx.request_id,
            "httpMethod": req.method.as_str(),
            "identity": {
                "accessKey": null,
                "accountId": null,
                "caller": null,
                "cognitoAuthenticationProvider": null,
                "cognitoAuthenticationType": null,
                "cognitoIdentityId": null,
                "cognitoIdentityPoolId": null,
                "principalOrgId": null,
                "sourceIp": ctx.source_ip,
                "user": null,
                "userAgent": user_agent,
                "userArn": null,
            },
            "path": ctx.path,
            "protocol": protocol(req.version),
            "requestId": ctx.request_id,
            "requestTime": ctx.request_time,
            "requestTimeEpoch": ctx.request_time_epoch_ms,
            "resourceId": ctx.route_key,
            "resourcePath": ctx.resource,
            "stage": ctx.stage,
        },
        "pathParameters": string_map(ctx.path_parameters),
        "stageVariables": string_map(ctx.stage_variables),
        "body": body,
        "isBase64Encoded": is_base64,
    })
}

/// Why a function's answer is no 1.0 response (API Gateway answers 500).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("the function's response is not a JSON object")]
    NotAnObject,
    #[error("the function's response has no valid statusCode")]
    StatusCode,
    #[error("the function's response has an invalid header {0}")]
    Header(String),
    #[error("the function's response has a body that is not a string")]
    Body,
    #[error("the function's response says isBase64Encoded but its body is not base64")]
    Base64,
}

/// A header value as the fronts take it: strings, numbers and booleans.
pub(crate) fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Why a proxy answer's body cannot be read.
pub(crate) enum BodyFault {
    /// `body` or `isBase64Encoded` of the wrong type.
    Body,
    /// `isBase64Encoded` with a body that is not base64.
    Base64,
}

impl From<BodyFault> for Malformed {
    fn from(f: BodyFault) -> Self {
        match f {
            BodyFault::Body => Malformed::Body,
            BodyFault::Base64 => Malformed::Base64,
        }
    }
}

/// The `body` of a proxy answer, base64-decoded when `isBase64Encoded` says so: both
/// payload formats read it alike (absent or `null` is empty).
pub(crate) fn answer_body(obj: &Map<String, Value>) -> Result<Bytes, BodyFault> {
    let encoded = match obj.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(BodyFault::Body),
    };
    match obj.get("body") {
        None | Some(Value::Null) => Ok(Bytes::new()),
        Some(Value::String(s)) if encoded => BASE64
            .decode(s.trim())
            .map(Bytes::from)
            .map_err(|_| BodyFault::Base64),
        Some(Value::String(s)) => Ok(Bytes::from(s.clone())),
        Some(_) => Err(BodyFault::Body),
    }
}

/// The HTTP response of a 1.0 function answer: `statusCode`, `headers` and
/// `multiValueHeaders` merged (a name in `multiValueHeaders` takes its values from there
/// only, as API Gateway merges them), `body` (base64-decoded with `isBase64Encoded`).
/// Without a `Content-Type` the response is `application/json`.
pub fn response(payload: &[u8]) -> Result<http::Response<Bytes>, Malformed> {
    let v: Value = serde_json::from_slice(payload).map_err(|_| Malformed::NotAnObject)?;
    let obj = v.as_object().ok_or(Malformed::NotAnObject)?;
    let status = obj
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or(Malformed::StatusCode)?;
    let mut headers: Vec<(String, String)> = Vec::new();
    let multi = match obj.get("multiValueHeaders") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(Malformed::Header("multiValueHeaders".into())),
    };
    let multi_names: Vec<String> = multi.keys().map(|k| k.to_ascii_lowercase()).collect();
    match obj.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                if v.is_null() || multi_names.contains(&k.to_ascii_lowercase()) {
                    continue;
                }
                headers.push((
                    k.clone(),
                    scalar(v).ok_or_else(|| Malformed::Header(k.clone()))?,
                ));
            }
        }
        Some(_) => return Err(Malformed::Header("headers".into())),
    }
    for (k, values) in &multi {
        let list = values
            .as_array()
            .ok_or_else(|| Malformed::Header(k.clone()))?;
        for v in list {
            headers.push((
                k.clone(),
                scalar(v).ok_or_else(|| Malformed::Header(k.clone()))?,
            ));
        }
    }
    let body = answer_body(obj)?;
    let mut resp = http::Response::new(body);
    *resp.status_mut() = status;
    for (k, v) in headers {
        let name =
            HeaderName::from_bytes(k.as_bytes()).map_err(|_| Malformed::Header(k.clone()))?;
        let value = HeaderValue::from_str(&v).map_err(|_| Malformed::Header(k.clone()))?;
        resp.headers_mut().append(name, value);
    }
    if !resp.headers().contains_key(CONTENT_TYPE) {
        resp.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.append("Header1", HeaderValue::from_static("value1"));
        h.append("Header2", HeaderValue::from_static("value1"));
        h.append("Header2", HeaderValue::from_static("value2"));
        h.append("User-Agent", HeaderValue::from_static("user-agent"));
        h
    }

    /// The page's 1.0 example, field for field (its client certificate aside: Hearth
    /// has no mutual TLS).
    #[test]
    fn the_documented_example() {
        let headers = request_headers();
        let none = BTreeMap::new();
        let req = V1Request {
            method: &Method::GET,
            version: Version::HTTP_11,
            headers: &headers,
            query: Some("parameter1=value1&parameter1=value2&parameter2=value"),
            body: b"Hello from Lambda!",
        };
        let ctx = V1Context {
            account_id: "123456789012",
            api_id: "id",
            domain_name: "id.execute-api.us-east-1.amazonaws.com",
            request_id: "id=",
            stage: "$default",
            path: "/my/path",
            route_key: "GET /my/path",
            resource: "/my/path",
            path_parameters: &none,
            stage_variables: &none,
            source_ip: "IP",
            request_time: "04/Mar/2020:19:15:17 +0000",
            request_time_epoch_ms: 1583349317135,
        };
        let expected = json!({
            "version": "1.0",
            "resource": "/my/path",
            "path": "/my/path",
            "httpMethod": "GET",
            "headers": { "header1": "value1", "header2": "value2", "user-agent": "user-agent" },
            "multiValueHeaders": {
                "header1": ["value1"],
                "header2": ["value1", "value2"],
                "user-agent": ["user-agent"]
            },
            "queryStringParameters": { "parameter1": "value1", "parameter2": "value" },
            "multiValueQueryStringParameters": {
                "parameter1": ["value1", "value2"],
                "parameter2": ["value"]
            },
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "id",
                "authorizer": { "claims": null, "scopes": null },
                "domainName": "id.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "id",
                "extendedRequestId": "id=",
                "httpMethod": "GET",
                "identity": {
                    "accessKey": null,
                    "accountId": null,
                    "caller": null,
                    "cognitoAuthenticationProvider": null,
                    "cognitoAuthenticationType": null,
                    "cognitoIdentityId": null,
                    "cognitoIdentityPoolId": null,
                    "principalOrgId": null,
                    "sourceIp": "IP",
                    "user": null,
                    "userAgent": "user-agent",
                    "userArn": null
                },
                "path": "/my/path",
                "protocol": "HTTP/1.1",
                "requestId": "id=",
                "requestTime": "04/Mar/2020:19:15:17 +0000",
                "requestTimeEpoch": 1583349317135_i64,
                "resourceId": "GET /my/path",
                "resourcePath": "/my/path",
                "stage": "$default"
            },
            "pathParameters": null,
            "stageVariables": null,
            "body": "Hello from Lambda!",
            "isBase64Encoded": false
        });
        assert_eq!(event(&req, &ctx), expected);
    }

    #[test]
    fn parameters_variables_and_binary_bodies() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("image/png"));
        let params = BTreeMap::from([("id".to_string(), "7".to_string())]);
        let vars = BTreeMap::from([("env".to_string(), "prod".to_string())]);
        let req = V1Request {
            method: &Method::POST,
            version: Version::HTTP_2,
            headers: &headers,
            query: None,
            body: &[0x89, b'P', b'N', b'G'],
        };
        let ctx = V1Context {
            account_id: "000000000000",
            api_id: "a1b2c3d4e5",
            domain_name: "localhost:9000",
            request_id: "r",
            stage: "prod",
            path: "/prod/items/7",
            route_key: "POST /items/{id}",
            resource: "/items/{id}",
            path_parameters: &params,
            stage_variables: &vars,
            source_ip: "127.0.0.1",
            request_time: "t",
            request_time_epoch_ms: 1,
        };
        let e = event(&req, &ctx);
        assert_eq!(e["pathParameters"], json!({"id": "7"}));
        assert_eq!(e["stageVariables"], json!({"env": "prod"}));
        assert_eq!(e["queryStringParameters"], Value::Null);
        assert_eq!(e["multiValueQueryStringParameters"], Value::Null);
        assert_eq!(e["isBase64Encoded"], json!(true));
        assert_eq!(e["body"], json!("iVBORw=="));
        assert_eq!(e["requestContext"]["protocol"], json!("HTTP/2.0"));
        assert_eq!(e["requestContext"]["resourceId"], json!("POST /items/{id}"));
        assert_eq!(e["requestContext"]["identity"]["userAgent"], json!(""));
        assert!(is_text(Some("application/vnd.api+json; charset=utf-8")));
        assert!(!is_text(Some("application/x-www-form-urlencoded")));
        assert!(is_text(None));
    }

    #[test]
    fn a_response_with_merged_headers_and_a_base64_body() {
        let resp = response(
            br#"{"statusCode": 201, "headers": {"X-One": "1", "Set-Cookie": "ignored", "X-Num": 5},
                 "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]},
                 "body": "aGk=", "isBase64Encoded": true, "cookies": ["not-in-1.0"]}"#,
        )
        .expect("a response");
        assert_eq!(resp.status(), StatusCode::CREATED);
        assert_eq!(resp.headers()["x-one"], "1");
        assert_eq!(resp.headers()["x-num"], "5");
        let cookies: Vec<_> = resp.headers().get_all("set-cookie").iter().collect();
        assert_eq!(cookies, vec!["a=1", "b=2"]);
        assert_eq!(resp.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(resp.body().as_ref(), b"hi");
        let plain = response(
            br#"{"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "ok"}"#,
        )
        .expect("a response");
        assert_eq!(plain.headers()[CONTENT_TYPE], "text/plain");
        assert_eq!(plain.body().as_ref(), b"ok");
        let empty = response(br#"{"statusCode": 204}"#).expect("a response");
        assert!(empty.body().is_empty());
    }

    #[test]
    fn malformed_responses() {
        assert_eq!(response(b"\"hello\"").err(), Some(Malformed::NotAnObject));
        assert_eq!(response(b"not json").err(), Some(Malformed::NotAnObject));
        assert_eq!(
            response(br#"{"body": "x"}"#).err(),
            Some(Malformed::StatusCode)
        );
        assert_eq!(
            response(br#"{"statusCode": "200"}"#).err(),
            Some(Malformed::StatusCode)
        );
        assert_eq!(
            response(br#"{"statusCode": 200, "body": {"a": 1}}"#).err(),
            Some(Malformed::Body)
        );
        assert_eq!(
            response(br#"{"statusCode": 200, "body": "!!", "isBase64Encoded": true}"#).err(),
            Some(Malformed::Base64)
        );
        assert_eq!(
            response(br#"{"statusCode": 200, "headers": {"x": [1]}}"#).err(),
            Some(Malformed::Header("x".into()))
        );
    }
}
