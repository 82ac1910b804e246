//! Payload format 2.0: the event function URLs and HTTP APIs (integrations with
//! `PayloadFormatVersion` `2.0`) send the function. Read from "Lambda function URL
//! request and response payloads" (Invoking Lambda function URLs) and "Working with AWS
//! Lambda proxy integrations for HTTP APIs":
//!
//! - header names are lower case, a repeated header's values joined with `,`; `Cookie`
//!   is not among them but split into `cookies` (absent without one);
//! - `queryStringParameters` joins a repeated name's values with `,` (absent without a
//!   query); `rawQueryString` is the query as sent (`""` without one);
//! - `body` is absent for an empty body, else text or base64 as [`v1::body_field`]
//!   decides, with `isBase64Encoded`;
//! - `requestContext.time` is `12/Mar/2020:19:03:58 +0000`, `timeEpoch` milliseconds.
//!
//! The fronts differ only in the fields around the request, as each page's example has
//! them ([`Front`]):
//!
//! - a function URL's `routeKey` and `stage` are `$default`. With an `AWS_IAM` URL (an
//!   `authorizer` given) the event is the Lambda page's example: `authentication`,
//!   `pathParameters` and `stageVariables` `null`, `authorizer` `{"iam": {...}}`. With
//!   auth type `NONE` it is what such a URL sends (the event AWS's Powertools keep as
//!   `lambdaFunctionUrlEvent.json`, captured from one): `accountId` `anonymous` (the
//!   caller passes it), and no `authentication`, `authorizer`, `pathParameters` or
//!   `stageVariables` at all; the Lambda page says of each that Lambda "sets this to
//!   `null` or excludes this from the JSON";
//! - an HTTP API has no client certificates here (no mutual TLS), so no
//!   `authentication`; `authorizer` only when one authorized the request;
//!   `pathParameters` and `stageVariables` only when there are some.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use http::header::{COOKIE, USER_AGENT};
use serde_json::{json, Map, Value};

use crate::v1::{self, V1Request};

/// Which front builds the event: it decides the fields the two pages' examples give
/// differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    FunctionUrl,
    HttpApi,
}

/// What the event says about where the request arrived, besides the request itself.
#[derive(Debug, Clone)]
pub struct V2Context<'a> {
    /// The function owner's account; `anonymous` for a function URL of auth type `NONE`,
    /// as such URLs send it.
    pub account_id: &'a str,
    /// The API's id, or the function URL's id (its host's first label).
    pub api_id: &'a str,
    /// The host the request named (`<url-id>.lambda-url.<region>.on.aws`,
    /// `<api-id>.execute-api.<region>.amazonaws.com`); `domainPrefix` is its first label.
    pub domain_name: &'a str,
    pub request_id: &'a str,
    /// The route's key (`GET /items/{id}`); `$default` for function URLs.
    pub route_key: &'a str,
    /// The stage's name; `$default` for function URLs.
    pub stage: &'a str,
    /// The path as the client sent it (a named stage included), still percent-encoded:
    /// `rawPath` and `requestContext.http.path`.
    pub raw_path: &'a str,
    pub path_parameters: Option<&'a BTreeMap<String, String>>,
    pub stage_variables: Option<&'a BTreeMap<String, String>>,
    pub source_ip: &'a str,
    /// From [`request_time`].
    pub time: &'a str,
    pub time_epoch_ms: i64,
    /// `requestContext.authorizer` as is (`{"iam": {...}}` for an `AWS_IAM` function
    /// URL, see [`iam_authorizer`]); `None` when nothing authorized the request.
    pub authorizer: Option<Value>,
    pub front: Front,
}

/// The request's time as `requestContext.time` (`12/Mar/2020:19:03:58 +0000`) and
/// `timeEpoch` (milliseconds) give it.
pub fn request_time(now: DateTime<Utc>) -> (String, i64) {
    (
        now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
        now.timestamp_millis(),
    )
}

/// The caller an `AWS_IAM` function URL names in `requestContext.authorizer`.
#[derive(Debug, Clone)]
pub struct IamCaller<'a> {
    pub access_key: &'a str,
    pub account_id: &'a str,
    /// The IAM user's (or role session's) unique id.
    pub caller_id: &'a str,
    pub principal_org_id: Option<&'a str>,
    pub user_arn: &'a str,
    pub user_id: &'a str,
}

/// `{"iam": {...}}` as the Lambda page's example has it (`cognitoIdentity` `null`:
/// function URLs have no Cognito identity).
pub fn iam_authorizer(caller: &IamCaller<'_>) -> Value {
    json!({
        "iam": {
            "accessKey": caller.access_key,
            "accountId": caller.account_id,
            "callerId": caller.caller_id,
            "cognitoIdentity": null,
            "principalOrgId": caller.principal_org_id,
            "userArn": caller.user_arn,
            "userId": caller.user_id,
        }
    })
}

/// Appends `value` to the entry `key`, joining with `,` as 2.0 does for repeats.
fn join(map: &mut Map<String, Value>, key: &str, value: &str) {
    match map.get_mut(key) {
        Some(Value::String(joined)) => {
            joined.push(',');
            joined.push_str(value);
        }
        _ => {
            map.insert(key.to_string(), Value::String(value.to_string()));
        }
    }
}

fn strings(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// The 2.0 event of a request.
pub fn event(req: &V1Request<'_>, ctx: &V2Context<'_>) -> Value {
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in req.headers {
        let v = String::from_utf8_lossy(value.as_bytes());
        if name == COOKIE {
            cookies.extend(
                v.split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| Value::String(c.to_string())),
            );
            continue;
        }
        join(&mut headers, name.as_str(), &v);
    }
    let mut query = Map::new();
    for (k, v) in form_urlencoded::parse(req.query.unwrap_or("").as_bytes()) {
        join(&mut query, &k, &v);
    }
    let user_agent = req
        .headers
        .get(USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let mut context = json!({
        "accountId": ctx.account_id,
        "apiId": ctx.api_id,
        "domainName": ctx.domain_name,
        "domainPrefix": ctx.domain_name.split('.').next().unwrap_or(ctx.domain_name),
        "http": {
            "method": req.method.as_str(),
            "path": ctx.raw_path,
            "protocol": v1::protocol(req.version),
            "sourceIp": ctx.source_ip,
            "userAgent": user_agent,
        },
        "requestId": ctx.request_id,
        "routeKey": ctx.route_key,
        "stage": ctx.stage,
        "time": ctx.time,
        "timeEpoch": ctx.time_epoch_ms,
    });
    let mut e = json!({
        "version": "2.0",
        "routeKey": ctx.route_key,
        "rawPath": ctx.raw_path,
        "rawQueryString": req.query.unwrap_or(""),
        "headers": headers,
        "isBase64Encoded": false,
    });
    if !cookies.is_empty() {
        e["cookies"] = Value::Array(cookies);
    }
    if !query.is_empty() {
        e["queryStringParameters"] = Value::Object(query);
    }
    let (body, encoded) = v1::body_field(req.headers, req.body);
    if !body.is_null() {
        e["body"] = body;
        e["isBase64Encoded"] = Value::Bool(encoded);
    }
    let params = ctx.path_parameters.filter(|m| !m.is_empty());
    let vars = ctx.stage_variables.filter(|m| !m.is_empty());
    match (ctx.front, &ctx.authorizer) {
        (Front::FunctionUrl, Some(authorizer)) => {
            context["authentication"] = Value::Null;
            context["authorizer"] = authorizer.clone();
            e["pathParameters"] = params.map_or(Value::Null, strings);
            e["stageVariables"] = vars.map_or(Value::Null, strings);
        }
        (front, authorizer) => {
            if let (Front::HttpApi, Some(a)) = (front, authorizer) {
                context["authorizer"] = a.clone();
            }
            if let Some(p) = params {
                e["pathParameters"] = strings(p);
            }
            if let Some(v) = vars {
                e["stageVariables"] = strings(v);
            }
        }
    }
    e["requestContext"] = context;
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use http::header::{HeaderValue, CONTENT_TYPE};
    use http::{HeaderMap, Method, Version};

    /// The request both pages' examples show: repeated `header2` and `parameter1`, two
    /// cookies.
    fn example_headers(user_agent: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.append("Header1", HeaderValue::from_static("value1"));
        h.append("Header2", HeaderValue::from_static("value1"));
        h.append("Header2", HeaderValue::from_static("value2"));
        h.append("Cookie", HeaderValue::from_static("cookie1; cookie2"));
        h.append("User-Agent", HeaderValue::from_static(user_agent));
        h
    }

    const QUERY: &str = "parameter1=value1&parameter1=value2&parameter2=value";

    /// The Lambda page's request payload (an `AWS_IAM` URL), field for field; its
    /// headers plus the `user-agent` its `userAgent` comes from.
    #[test]
    fn the_function_url_example() {
        let headers = example_headers("agent");
        let req = V1Request {
            method: &Method::POST,
            version: Version::HTTP_11,
            headers: &headers,
            query: Some(QUERY),
            body: b"Hello from client!",
        };
        let ctx = V2Context {
            account_id: "123456789012",
            api_id: "<urlid>",
            domain_name: "<url-id>.lambda-url.us-west-2.on.aws",
            request_id: "id",
            route_key: "$default",
            stage: "$default",
            raw_path: "/my/path",
            path_parameters: None,
            stage_variables: None,
            source_ip: "123.123.123.123",
            time: "12/Mar/2020:19:03:58 +0000",
            time_epoch_ms: 1583348638390,
            authorizer: Some(iam_authorizer(&IamCaller {
                access_key: "AKIA...",
                account_id: "111122223333",
                caller_id: "AIDA...",
                principal_org_id: None,
                user_arn: "arn:aws:iam::111122223333:user/example-user",
                user_id: "AIDA...",
            })),
            front: Front::FunctionUrl,
        };
        let expected = json!({
          "version": "2.0",
          "routeKey": "$default",
          "rawPath": "/my/path",
          "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
          "cookies": ["cookie1", "cookie2"],
          "headers": { "header1": "value1", "header2": "value1,value2", "user-agent": "agent" },
          "queryStringParameters": { "parameter1": "value1,value2", "parameter2": "value" },
          "requestContext": {
            "accountId": "123456789012",
            "apiId": "<urlid>",
            "authentication": null,
            "authorizer": {
                "iam": {
                    "accessKey": "AKIA...",
                    "accountId": "111122223333",
                    "callerId": "AIDA...",
                    "cognitoIdentity": null,
                    "principalOrgId": null,
                    "userArn": "arn:aws:iam::111122223333:user/example-user",
                    "userId": "AIDA..."
                }
            },
            "domainName": "<url-id>.lambda-url.us-west-2.on.aws",
            "domainPrefix": "<url-id>",
            "http": {
              "method": "POST",
              "path": "/my/path",
              "protocol": "HTTP/1.1",
              "sourceIp": "123.123.123.123",
              "userAgent": "agent"
            },
            "requestId": "id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "12/Mar/2020:19:03:58 +0000",
            "timeEpoch": 1583348638390_i64
          },
          "body": "Hello from client!",
          "pathParameters": null,
          "isBase64Encoded": false,
          "stageVariables": null
        });
        assert_eq!(event(&req, &ctx), expected);
    }

    /// A `NONE` URL's GET, as Powertools' captured `lambdaFunctionUrlEvent.json` has it
    /// (its headers cut to two).
    #[test]
    fn a_function_url_without_auth() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "host",
            HeaderValue::from_static("<url-id>.lambda-url.us-east-1.on.aws"),
        );
        headers.insert("user-agent", HeaderValue::from_static("agent"));
        let req = V1Request {
            method: &Method::GET,
            version: Version::HTTP_11,
            headers: &headers,
            query: None,
            body: b"",
        };
        let ctx = V2Context {
            account_id: "anonymous",
            api_id: "<url-id>",
            domain_name: "<url-id>.lambda-url.us-east-1.on.aws",
            request_id: "id",
            route_key: "$default",
            stage: "$default",
            raw_path: "/",
            path_parameters: None,
            stage_variables: None,
            source_ip: "123.123.123.123",
            time: "05/Aug/2022:08:14:39 +0000",
            time_epoch_ms: 1659687279885,
            authorizer: None,
            front: Front::FunctionUrl,
        };
        let expected = json!({
           "version": "2.0",
           "routeKey": "$default",
           "rawPath": "/",
           "rawQueryString": "",
           "headers": {
              "host": "<url-id>.lambda-url.us-east-1.on.aws",
              "user-agent": "agent"
           },
           "requestContext": {
              "accountId": "anonymous",
              "apiId": "<url-id>",
              "domainName": "<url-id>.lambda-url.us-east-1.on.aws",
              "domainPrefix": "<url-id>",
              "http": {
                 "method": "GET",
                 "path": "/",
                 "protocol": "HTTP/1.1",
                 "sourceIp": "123.123.123.123",
                 "userAgent": "agent"
              },
              "requestId": "id",
              "routeKey": "$default",
              "stage": "$default",
              "time": "05/Aug/2022:08:14:39 +0000",
              "timeEpoch": 1659687279885_i64
           },
           "isBase64Encoded": false
        });
        assert_eq!(event(&req, &ctx), expected);
    }

    /// The HTTP API page's 2.0 example, field for field (its client certificate aside:
    /// no mutual TLS), header names lower case as HTTP APIs send them.
    #[test]
    fn the_http_api_example() {
        let headers = example_headers("agent");
        let params = BTreeMap::from([("parameter1".to_string(), "value1".to_string())]);
        let vars = BTreeMap::from([
            ("stageVariable1".to_string(), "value1".to_string()),
            ("stageVariable2".to_string(), "value2".to_string()),
        ]);
        let authorizer = json!({
          "jwt": {
            "claims": { "claim1": "value1", "claim2": "value2" },
            "scopes": ["scope1", "scope2"]
          },
          "lambda": { "exampleKey1": "exampleValue1", "exampleKey2": "exampleValue2" }
        });
        let req = V1Request {
            method: &Method::POST,
            version: Version::HTTP_11,
            headers: &headers,
            query: Some(QUERY),
            body: b"Hello from Lambda",
        };
        let ctx = V2Context {
            account_id: "123456789012",
            api_id: "api-id",
            domain_name: "id.execute-api.us-east-1.amazonaws.com",
            request_id: "id",
            route_key: "$default",
            stage: "$default",
            raw_path: "/my/path",
            path_parameters: Some(&params),
            stage_variables: Some(&vars),
            source_ip: "IP",
            time: "12/Mar/2020:19:03:58 +0000",
            time_epoch_ms: 1583348638390,
            authorizer: Some(authorizer.clone()),
            front: Front::HttpApi,
        };
        let expected = json!({
          "version": "2.0",
          "routeKey": "$default",
          "rawPath": "/my/path",
          "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
          "cookies": ["cookie1", "cookie2"],
          "headers": { "header1": "value1", "header2": "value1,value2", "user-agent": "agent" },
          "queryStringParameters": { "parameter1": "value1,value2", "parameter2": "value" },
          "requestContext": {
            "accountId": "123456789012",
            "apiId": "api-id",
            "authorizer": authorizer,
            "domainName": "id.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "id",
            "http": {
              "method": "POST",
              "path": "/my/path",
              "protocol": "HTTP/1.1",
              "sourceIp": "IP",
              "userAgent": "agent"
            },
            "requestId": "id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "12/Mar/2020:19:03:58 +0000",
            "timeEpoch": 1583348638390_i64
          },
          "body": "Hello from Lambda",
          "pathParameters": { "parameter1": "value1" },
          "isBase64Encoded": false,
          "stageVariables": { "stageVariable1": "value1", "stageVariable2": "value2" }
        });
        assert_eq!(event(&req, &ctx), expected);
    }

    /// An HTTP API request with nothing optional: no cookies, query, body, parameters,
    /// variables or authorizer, and a binary body on a named stage.
    #[test]
    fn an_http_api_request_without_extras() {
        let headers = HeaderMap::new();
        let empty = BTreeMap::new();
        let mut ctx = V2Context {
            account_id: "000000000000",
            api_id: "a1b2c3d4e5",
            domain_name: "localhost:9000",
            request_id: "r",
            route_key: "GET /x",
            stage: "prod",
            raw_path: "/prod/x",
            path_parameters: Some(&empty),
            stage_variables: None,
            source_ip: "127.0.0.1",
            time: "t",
            time_epoch_ms: 1,
            authorizer: None,
            front: Front::HttpApi,
        };
        let req = V1Request {
            method: &Method::GET,
            version: Version::HTTP_2,
            headers: &headers,
            query: None,
            body: b"",
        };
        let expected = json!({
            "version": "2.0",
            "routeKey": "GET /x",
            "rawPath": "/prod/x",
            "rawQueryString": "",
            "headers": {},
            "requestContext": {
                "accountId": "000000000000",
                "apiId": "a1b2c3d4e5",
                "domainName": "localhost:9000",
                "domainPrefix": "localhost:9000",
                "http": {
                    "method": "GET",
                    "path": "/prod/x",
                    "protocol": "HTTP/2.0",
                    "sourceIp": "127.0.0.1",
                    "userAgent": ""
                },
                "requestId": "r",
                "routeKey": "GET /x",
                "stage": "prod",
                "time": "t",
                "timeEpoch": 1
            },
            "isBase64Encoded": false
        });
        assert_eq!(event(&req, &ctx), expected);
        let mut png = HeaderMap::new();
        png.insert(CONTENT_TYPE, HeaderValue::from_static("image/png"));
        let req = V1Request {
            headers: &png,
            body: &[0x89, b'P', b'N', b'G'],
            ..req
        };
        ctx.route_key = "POST /x";
        let e = event(&req, &ctx);
        assert_eq!(
            (&e["body"], &e["isBase64Encoded"]),
            (&json!("iVBORw=="), &json!(true))
        );
        assert_eq!(e["headers"], json!({"content-type": "image/png"}));
    }

    /// The pair of the captured event (the pages' examples pair a time with another
    /// day's epoch).
    #[test]
    fn the_request_time() {
        let t = Utc
            .timestamp_millis_opt(1659687279885)
            .single()
            .expect("a valid instant");
        assert_eq!(
            request_time(t),
            ("05/Aug/2022:08:14:39 +0000".to_string(), 1659687279885)
        );
    }
}
