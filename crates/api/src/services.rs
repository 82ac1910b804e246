//! One endpoint for every AWS service: the requests that all arrive as `POST /` are told
//! apart here, by protocol, and handed to their service's module. JSON protocols name
//! their operation in `X-Amz-Target` (`Logs_20140328.*`); the query protocol (IAM, STS,
//! and later SQS and SNS) sends a form with `Action=`, whose service the signature's
//! credential scope names (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`). Lambda's
//! REST paths are routed by path and never reach this.
//!
//! Each service adds one arm to [`Service`] and [`service_of`].

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::Router;

use crate::{cloudwatch_logs, AppState};

/// The AWS service a `POST /` request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    /// CloudWatch Logs (AWS JSON 1.1), and any request no other service claims: it
    /// answers `UnknownOperationException` as before services were told apart.
    Logs,
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/", post(dispatch))
}

async fn dispatch(state: State<AppState>, headers: HeaderMap, body: Body) -> Response {
    match service_of(&headers) {
        Service::Logs => cloudwatch_logs::dispatch(state, headers, body).await,
    }
}

fn service_of(_headers: &HeaderMap) -> Service {
    Service::Logs
}

/// The service named by the request's SigV4 credential scope, if it is signed in the
/// `Authorization` header (`AWS4-HMAC-SHA256 Credential=AK/20261201/us-east-1/iam/aws4_request, ...`).
pub(crate) fn scope_service(headers: &HeaderMap) -> Option<&str> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let credential = auth
        .split([' ', ','])
        .find_map(|part| part.trim().strip_prefix("Credential="))?;
    let mut scope = credential.rsplitn(3, '/');
    scope.next().filter(|t| *t == "aws4_request")?;
    scope.next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_scope_names_the_service() {
        let mut h = HeaderMap::new();
        assert_eq!(scope_service(&h), None);
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
                .parse()
                .expect("header"),
        );
        assert_eq!(scope_service(&h), Some("iam"));
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AK/2026/us-east-1/sts"
                .parse()
                .expect("header"),
        );
        assert_eq!(scope_service(&h), None);
    }
}
