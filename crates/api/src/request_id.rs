//! Every response carries `x-amzn-RequestId`; for Invoke it is also the id the
//! function sees as its request id.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;

/// The request id of the request being handled (a request extension).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Gives every request its id (a request extension) and its response the
/// `x-amzn-RequestId` header.
#[derive(Clone)]
pub(crate) struct Assign;

impl hearth_serve::Gate for Assign {
    type Carry = String;

    fn check<S: hearth_serve::App>(&self, mut req: Request, _: &S) -> hearth_serve::Step<String> {
        let id = uuid::Uuid::new_v4().to_string();
        req.extensions_mut().insert(RequestId(id.clone()));
        hearth_serve::Step::Pass(req, id)
    }

    fn finish(id: String, mut resp: Response) -> Response {
        // Made once: a name given as a `&str` is copied into a new one on every insert.
        const NAME: HeaderName = HeaderName::from_static("x-amzn-requestid");
        if let Ok(v) = HeaderValue::from_str(&id) {
            resp.headers_mut().insert(NAME, v);
        }
        resp
    }
}
