//! A small web app on the official `lambda_http` crate, for Hearth's end-to-end tests of
//! function URLs and HTTP APIs: the crate reads the payload 1.0 or 2.0 event into an
//! `http::Request` and writes the response back, so the app never sees Lambda at all.
//!
//! - `GET /hello/{name}?greeting=G`: `text/plain` "G, name!" (`Hello` by default);
//! - `POST /echo`: the request's body back, bytes and content type as they came;
//! - `GET /cookies`: two `Set-Cookie` headers, and the cookies it got as JSON;
//! - anything else: 404 `text/plain`.

use lambda_http::http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{run, service_fn, Body, Error, Request, RequestExt, Response};

async fn handler(req: Request) -> Result<Response<Body>, Error> {
    let path = req.uri().path().to_string();
    let reply = Response::builder();
    let out = match (req.method(), path.as_str()) {
        (&Method::GET, p) if p.starts_with("/hello/") => {
            let name = &p["/hello/".len()..];
            let params = req.query_string_parameters();
            let greeting = params.first("greeting").unwrap_or("Hello");
            reply
                .header(CONTENT_TYPE, "text/plain")
                .body(Body::from(format!("{greeting}, {name}!")))?
        }
        (&Method::POST, "/echo") => {
            let content_type = req
                .headers()
                .get(CONTENT_TYPE)
                .cloned()
                .unwrap_or_else(|| "application/octet-stream".parse().expect("a header value"));
            let body = match req.into_body() {
                Body::Text(t) => Body::Text(t),
                Body::Binary(b) => Body::Binary(b),
                _ => Body::Empty,
            };
            reply.header(CONTENT_TYPE, content_type).body(body)?
        }
        (&Method::GET, "/cookies") => {
            let got: Vec<String> = req
                .headers()
                .get_all(COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect();
            reply
                .header(CONTENT_TYPE, "application/json")
                .header(SET_COOKIE, "session=abc; Path=/; HttpOnly")
                .header(SET_COOKIE, "theme=dark")
                .body(Body::from(
                    serde_json::json!({ "cookies": got }).to_string(),
                ))?
        }
        _ => reply
            .status(StatusCode::NOT_FOUND)
            .header(CONTENT_TYPE, "text/plain")
            .body(Body::from("not found"))?,
    };
    Ok(out)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(handler)).await
}
