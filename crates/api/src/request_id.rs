//! Every response carries `x-amzn-RequestId`; for Invoke it is also the id the
//! function sees as its request id.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

/// The request id of the request being handled (a request extension).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub(crate) async fn assign(mut req: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut resp = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}
