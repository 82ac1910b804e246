//! How a function's answer to a 2.0 event becomes the HTTP response, for function URLs
//! and HTTP APIs alike ("Lambda function URL request and response payloads"; "Working
//! with AWS Lambda proxy integrations for HTTP APIs", format 2.0), and the answers the
//! fronts give of their own ([`url_answers`]).
//!
//! - A JSON object with `statusCode` is a response: `statusCode` (a number, or a string
//!   of one: function URLs take `"418"`, as LocalStack's AWS-validated
//!   `test_lambda_url_headers_and_status` records), `headers` (string, number or boolean
//!   values; 2.0 has no `multiValueHeaders`, which is ignored), `cookies` (each its own
//!   `Set-Cookie`), `body` (a string; base64-decoded when `isBase64Encoded`). Without a
//!   `Content-Type` the response is `application/json`.
//! - Any other valid JSON is the body of a 200 `application/json` answer, as both pages
//!   say ("Lambda infers the response format"): the payload as it came, except that a
//!   JSON string is answered as the string itself, as the HTTP API page's interpretation
//!   of `"Hello from Lambda!"` shows (`"body": "Hello from Lambda!"`).
//! - Anything else (not JSON, a `statusCode` that is no status, a body that is not a
//!   string, bad base64, an invalid header or cookie) is a [`ResponseError`]: the front
//!   answers its error for a function's failure (a function URL [`url_answers::function_error`],
//!   an HTTP API 500 `{"message":"Internal Server Error"}`).

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, SET_COOKIE};
use http::StatusCode;
use serde_json::{Map, Value};

use crate::v1::{answer_body, scalar, BodyFault};

/// Why a function's answer is no HTTP response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("the function's response is not JSON")]
    NotJson,
    #[error("the function's response has no valid statusCode")]
    StatusCode,
    #[error("the function's response has an invalid header {0}")]
    Header(String),
    #[error("the function's response has an invalid cookie")]
    Cookie,
    #[error("the function's response has a body that is not a string")]
    Body,
    #[error("the function's response says isBase64Encoded but its body is not base64")]
    Base64,
}

fn status(v: &Value) -> Option<StatusCode> {
    let n = match v {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    StatusCode::from_u16(u16::try_from(n).ok()?).ok()
}

fn json_answer(body: Bytes) -> http::Response<Bytes> {
    let mut r = http::Response::new(body);
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// The HTTP response of a function's answer to a 2.0 event.
pub fn response(payload: &[u8]) -> Result<http::Response<Bytes>, ResponseError> {
    // Parsed whole, even to answer it as it came: a cheaper probe for `statusCode` (serde's
    // IgnoredAny) skips members without checking them (invalid UTF-8, lone surrogates),
    // which would pass off an answer that is no JSON as one.
    let v: Value = serde_json::from_slice(payload).map_err(|_| ResponseError::NotJson)?;
    let obj = match v {
        Value::Object(o) if o.contains_key("statusCode") => o,
        Value::String(s) => return Ok(json_answer(Bytes::from(s))),
        _ => return Ok(json_answer(Bytes::copy_from_slice(payload))),
    };
    let status = obj
        .get("statusCode")
        .and_then(status)
        .ok_or(ResponseError::StatusCode)?;
    let body = answer_body(&obj).map_err(|f| match f {
        BodyFault::Body => ResponseError::Body,
        BodyFault::Base64 => ResponseError::Base64,
    })?;
    let mut r = http::Response::new(body);
    *r.status_mut() = status;
    let headers = match obj.get("headers") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(ResponseError::Header("headers".into())),
    };
    for (k, v) in &headers {
        if v.is_null() {
            continue;
        }
        let bad = || ResponseError::Header(k.clone());
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| bad())?;
        let value = HeaderValue::from_str(&scalar(v).ok_or_else(bad)?).map_err(|_| bad())?;
        r.headers_mut().append(name, value);
    }
    match obj.get("cookies") {
        None | Some(Value::Null) => {}
        Some(Value::Array(cookies)) => {
            for c in cookies {
                let c = c.as_str().ok_or(ResponseError::Cookie)?;
                let value = HeaderValue::from_str(c).map_err(|_| ResponseError::Cookie)?;
                r.headers_mut().append(SET_COOKIE, value);
            }
        }
        Some(_) => return Err(ResponseError::Cookie),
    }
    if !r.headers().contains_key(CONTENT_TYPE) {
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    Ok(r)
}

/// The answers a function URL gives of its own, as far as AWS's pages and recorded
/// behaviour show them:
///
/// - a function error (an unhandled exception, a timeout, a response that is not one):
///   502 with the text body `Internal Server Error` (LocalStack's AWS-validated
///   `test_lambda_url_invocation_exception` records exactly that status and body; the
///   content type is not recorded, `text/plain` here);
/// - throttling: 429 ("Throttling function URLs": "your function URL returns an HTTP
///   `429` status code"), body `{"message":"Rate Exceeded."}` with
///   `x-amzn-ErrorType: ThrottlingException` as a function URL's throttle answer was
///   recorded (huntharo/lambda-provisioned-throttling, whose 400 status was the bug AWS
///   fixed);
/// - a request over the 6 MB synchronous payload: 413; no page records the body, so
///   `{"Message":"Request Entity Too Large"}` is Hearth's wording;
/// - refused by auth (an unsigned or unauthorized request to an `AWS_IAM` URL, no
///   permission for a `NONE` one): 403 `{"Message":"Forbidden"}` with
///   `x-amzn-ErrorType: AccessDeniedException`;
/// - no such URL: 403 `{"Message":null}`, `x-amzn-ErrorType: AccessDeniedException`
///   (LocalStack's AWS-validated `test_lambda_url_non_existing_url`).
pub mod url_answers {
    use bytes::Bytes;
    use http::header::{HeaderValue, CONTENT_TYPE};
    use http::StatusCode;

    fn answer(
        status: StatusCode,
        content_type: &'static str,
        error_type: Option<&'static str>,
        body: &'static str,
    ) -> http::Response<Bytes> {
        let mut r = http::Response::new(Bytes::from_static(body.as_bytes()));
        *r.status_mut() = status;
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Some(t) = error_type {
            r.headers_mut()
                .insert("x-amzn-errortype", HeaderValue::from_static(t));
        }
        r
    }

    /// An unhandled function error, a timeout, or an answer that is no response.
    pub fn function_error() -> http::Response<Bytes> {
        answer(
            StatusCode::BAD_GATEWAY,
            "text/plain",
            None,
            "Internal Server Error",
        )
    }

    pub fn throttled() -> http::Response<Bytes> {
        answer(
            StatusCode::TOO_MANY_REQUESTS,
            "application/json",
            Some("ThrottlingException"),
            r#"{"message":"Rate Exceeded."}"#,
        )
    }

    pub fn too_large() -> http::Response<Bytes> {
        answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            "application/json",
            Some("RequestEntityTooLargeException"),
            r#"{"Message":"Request Entity Too Large"}"#,
        )
    }

    pub fn forbidden() -> http::Response<Bytes> {
        answer(
            StatusCode::FORBIDDEN,
            "application/json",
            Some("AccessDeniedException"),
            r#"{"Message":"Forbidden"}"#,
        )
    }

    pub fn no_such_url() -> http::Response<Bytes> {
        answer(
            StatusCode::FORBIDDEN,
            "application/json",
            Some("AccessDeniedException"),
            r#"{"Message":null}"#,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(r: &http::Response<Bytes>) -> (u16, Vec<(String, String)>, String) {
        let headers = r
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    v.to_str().expect("ascii").to_string(),
                )
            })
            .collect();
        (
            r.status().as_u16(),
            headers,
            String::from_utf8_lossy(r.body()).into_owned(),
        )
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The Lambda page's custom response with cookies: status, headers in order, one
    /// Set-Cookie per cookie, the body.
    #[test]
    fn the_documented_custom_response() {
        let r = response(
            br#"{
               "statusCode": 201,
                "headers": {
                    "Content-Type": "application/json",
                    "My-Custom-Header": "Custom Value"
                },
                "body": "{ \"message\": \"Hello, world!\" }",
                "cookies": [
                    "Cookie_1=Value1; Expires=21 Oct 2021 07:48 GMT",
                    "Cookie_2=Value2; Max-Age=78000"
                ],
                "isBase64Encoded": false
            }"#,
        )
        .expect("a response");
        assert_eq!(
            parts(&r),
            (
                201,
                pairs(&[
                    ("content-type", "application/json"),
                    ("my-custom-header", "Custom Value"),
                    (
                        "set-cookie",
                        "Cookie_1=Value1; Expires=21 Oct 2021 07:48 GMT"
                    ),
                    ("set-cookie", "Cookie_2=Value2; Max-Age=78000"),
                ]),
                r#"{ "message": "Hello, world!" }"#.to_string()
            )
        );
    }

    /// Valid JSON without `statusCode` is a 200 JSON answer of the payload; a string is
    /// answered as itself.
    #[test]
    fn inferred_answers() {
        let json_ct = pairs(&[("content-type", "application/json")]);
        let object = br#"{ "message": "Hello from Lambda!" }"#;
        assert_eq!(
            parts(&response(object).expect("a response")),
            (200, json_ct.clone(), String::from_utf8_lossy(object).into())
        );
        assert_eq!(
            parts(&response(br#""Hello from Lambda!""#).expect("a response")),
            (200, json_ct.clone(), "Hello from Lambda!".into())
        );
        for other in [
            "3",
            "3.1",
            "true",
            "null",
            "[]",
            "{}",
            r#"["hello", 3, true]"#,
            r#"{"inner": {"statusCode": 201}}"#,
        ] {
            assert_eq!(
                parts(&response(other.as_bytes()).expect("a response")),
                (200, json_ct.clone(), other.into()),
                "{other}"
            );
        }
        // An object with a body but no statusCode is still inferred, body and all.
        let looks = br#"{"body": "x", "headers": {"a": "b"}}"#;
        assert_eq!(
            parts(&response(looks).expect("a response")).2,
            String::from_utf8_lossy(looks)
        );
    }

    #[test]
    fn status_headers_and_bodies() {
        let r = response(
            br#"{"statusCode": "418", "body": "aGk=", "isBase64Encoded": true,
                 "headers": {"x-num": 5, "x-bool": false, "x-null": null, "Content-Type": "text/plain"},
                 "multiValueHeaders": {"x-multi": ["ignored"]}}"#,
        )
        .expect("a response");
        assert_eq!(
            parts(&r),
            (
                418,
                pairs(&[
                    ("content-type", "text/plain"),
                    ("x-bool", "false"),
                    ("x-num", "5"),
                ]),
                "hi".into()
            )
        );
        let empty = response(br#"{"statusCode": 204}"#).expect("a response");
        assert_eq!(
            parts(&empty),
            (
                204,
                pairs(&[("content-type", "application/json")]),
                "".into()
            )
        );
    }

    #[test]
    fn answers_that_are_no_response() {
        let cases: &[(&[u8], ResponseError)] = &[
            (b"not json", ResponseError::NotJson),
            (b"", ResponseError::NotJson),
            // Found by the fuzzer: an ignored member of invalid UTF-8.
            (b"{\"\": \"\xc5\"}", ResponseError::NotJson),
            (br#"{"a": "\ud800"}"#, ResponseError::NotJson),
            (br#"{"statusCode": "abc"}"#, ResponseError::StatusCode),
            (br#"{"statusCode": 99}"#, ResponseError::StatusCode),
            (br#"{"statusCode": 70000}"#, ResponseError::StatusCode),
            (br#"{"statusCode": -1}"#, ResponseError::StatusCode),
            (br#"{"statusCode": null}"#, ResponseError::StatusCode),
            (
                br#"{"statusCode": 200, "body": {"a": 1}}"#,
                ResponseError::Body,
            ),
            (
                br#"{"statusCode": 200, "body": "!!", "isBase64Encoded": true}"#,
                ResponseError::Base64,
            ),
            (
                br#"{"statusCode": 200, "isBase64Encoded": "yes"}"#,
                ResponseError::Body,
            ),
            (
                br#"{"statusCode": 200, "headers": {"x": [1]}}"#,
                ResponseError::Header("x".into()),
            ),
            (
                br#"{"statusCode": 200, "headers": {"bad name": "v"}}"#,
                ResponseError::Header("bad name".into()),
            ),
            (
                br#"{"statusCode": 200, "headers": {"x": "a\nb"}}"#,
                ResponseError::Header("x".into()),
            ),
            (
                br#"{"statusCode": 200, "headers": "x"}"#,
                ResponseError::Header("headers".into()),
            ),
            (
                br#"{"statusCode": 200, "cookies": "a=1"}"#,
                ResponseError::Cookie,
            ),
            (
                br#"{"statusCode": 200, "cookies": [1]}"#,
                ResponseError::Cookie,
            ),
            (
                br#"{"statusCode": 200, "cookies": ["a\u0000"]}"#,
                ResponseError::Cookie,
            ),
        ];
        for (payload, want) in cases {
            assert_eq!(
                response(payload).err().as_ref(),
                Some(want),
                "{}",
                String::from_utf8_lossy(payload)
            );
        }
    }

    #[test]
    fn url_answers_as_recorded() {
        assert_eq!(
            parts(&url_answers::function_error()),
            (
                502,
                pairs(&[("content-type", "text/plain")]),
                "Internal Server Error".into()
            )
        );
        assert_eq!(parts(&url_answers::throttled()).0, 429);
        assert_eq!(parts(&url_answers::too_large()).0, 413);
        assert_eq!(
            parts(&url_answers::forbidden()),
            (
                403,
                pairs(&[
                    ("content-type", "application/json"),
                    ("x-amzn-errortype", "AccessDeniedException")
                ]),
                r#"{"Message":"Forbidden"}"#.into()
            )
        );
        assert_eq!(parts(&url_answers::no_such_url()).2, r#"{"Message":null}"#);
    }
}
