//! The AWS API as functions reach it (`AWS_ENDPOINT_URL`, served by the engine inside
//! each environment's network namespace): the AWS paths only. Hearth's own `/_hearth`
//! endpoints (code downloads, runtimes, logs, environments) are for the operator and
//! answer 404 there, as they would on AWS.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The path prefix of Hearth's own endpoints.
const HEARTH_PREFIX: &str = "/_hearth";

/// `app` without Hearth's own endpoints.
pub fn for_functions(app: impl hearth_serve::App) -> impl hearth_serve::App {
    hearth_serve::around(app, axum::middleware::from_fn(aws_paths_only))
}

async fn aws_paths_only(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let hearths = path == HEARTH_PREFIX
        || path
            .strip_prefix(HEARTH_PREFIX)
            .is_some_and(|rest| rest.starts_with('/'));
    if hearths {
        return StatusCode::NOT_FOUND.into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn hearths_paths_answer_404_and_the_rest_pass() {
        let app = for_functions(
            Router::new()
                .route("/_hearth/runtimes", get(|| async { "secret" }))
                .route("/2015-03-31/functions", get(|| async { "ok" }))
                .route("/_hearthling", get(|| async { "ok" })),
        );
        for (path, want) in [
            ("/_hearth/runtimes", StatusCode::NOT_FOUND),
            ("/_hearth", StatusCode::NOT_FOUND),
            ("/2015-03-31/functions", StatusCode::OK),
            ("/_hearthling", StatusCode::OK),
        ] {
            let req = Request::builder()
                .uri(path)
                .body(Body::empty())
                .expect("request");
            let resp = app.clone().oneshot(req).await.expect("response");
            assert_eq!(resp.status(), want, "{path}");
        }
    }
}
