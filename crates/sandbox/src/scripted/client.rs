//! The scripted runtime's side of the Runtime API (2018-06-01): the calls a runtime
//! interface client makes, over real HTTP to the environment's listener.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::channel::Channel;
use http_body_util::{BodyExt, Full};
use hyper::body::Body;
use hyper::header::{HeaderMap, HeaderValue, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const INIT_ERROR: &str = "/2018-06-01/runtime/init/error";
const ERROR_TYPE: &str = "Lambda-Runtime-Function-Error-Type";

/// Why a call to the Runtime API failed: the runtime then ends, as a real one would.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    #[error("cannot reach the Runtime API: {0}")]
    Io(#[from] std::io::Error),
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    #[error("bad request: {0}")]
    Request(#[from] hyper::http::Error),
    #[error("{path} answered {status}")]
    Status { path: String, status: StatusCode },
}

/// One invocation as `next` hands it over.
pub(crate) struct Next {
    pub request_id: String,
    pub deadline_ms: i64,
    pub invoked_function_arn: String,
    pub client_context: Option<String>,
    pub payload: Bytes,
}

/// The Runtime API of one environment, at `AWS_LAMBDA_RUNTIME_API`.
pub(crate) struct Client {
    addr: SocketAddr,
}

impl Client {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Self { addr }
    }

    /// `GET next`: waits for the next invocation.
    pub(crate) async fn next(&self) -> Result<Next, CallError> {
        let (headers, payload) = self.call(Method::GET, NEXT, None, Bytes::new()).await?;
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Ok(Next {
            request_id: header("lambda-runtime-aws-request-id").unwrap_or_default(),
            deadline_ms: header("lambda-runtime-deadline-ms")
                .and_then(|v| v.parse().ok())
                .unwrap_or_default(),
            invoked_function_arn: header("lambda-runtime-invoked-function-arn").unwrap_or_default(),
            client_context: header("lambda-runtime-client-context"),
            payload,
        })
    }

    /// `POST .../{id}/response`.
    pub(crate) async fn respond(&self, request_id: &str, body: Bytes) -> Result<(), CallError> {
        let path = format!("/2018-06-01/runtime/invocation/{request_id}/response");
        self.call(Method::POST, &path, None, body).await.map(drop)
    }

    /// `POST .../{id}/response` streamed (`Lambda-Runtime-Function-Response-Mode:
    /// streaming`, chunked): the body is what `body` is sent, trailers included, until
    /// its sender is dropped.
    pub(crate) async fn stream(
        &self,
        request_id: &str,
        content_type: &str,
        body: Channel<Bytes>,
    ) -> Result<(), CallError> {
        let path = format!("/2018-06-01/runtime/invocation/{request_id}/response");
        let request = Request::builder()
            .method(Method::POST)
            .uri(&path)
            .header(HOST, self.addr.to_string())
            .header("Lambda-Runtime-Function-Response-Mode", "streaming")
            .header(hyper::header::CONTENT_TYPE, content_type)
            .header(
                hyper::header::TRAILER,
                HeaderValue::from_static(
                    "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
                ),
            )
            .body(body)?;
        self.exchange(&path, request).await.map(drop)
    }

    /// `POST .../{id}/error`, or `POST /runtime/init/error` without an invocation.
    pub(crate) async fn error(
        &self,
        request_id: Option<&str>,
        error_type: &str,
        body: Bytes,
    ) -> Result<(), CallError> {
        let path = match request_id {
            Some(id) => format!("/2018-06-01/runtime/invocation/{id}/error"),
            None => INIT_ERROR.to_string(),
        };
        self.call(Method::POST, &path, Some(error_type), body)
            .await
            .map(drop)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        error_type: Option<&str>,
        body: Bytes,
    ) -> Result<(HeaderMap, Bytes), CallError> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.addr.to_string());
        if let Some(t) = error_type {
            request = request.header(ERROR_TYPE, t);
        }
        let request = request.body(Full::new(body))?;
        self.exchange(path, request).await
    }

    /// One request on its own connection (a runtime client keeps one alive; the
    /// Runtime API serves either the same way). The connection is driven here, so
    /// dropping the call (the runtime being killed) closes it.
    async fn exchange<B>(
        &self,
        path: &str,
        request: Request<B>,
    ) -> Result<(HeaderMap, Bytes), CallError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let stream = TcpStream::connect(self.addr).await?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        let exchange = async move {
            let response = sender.send_request(request).await?;
            let (parts, body) = response.into_parts();
            let bytes = body.collect().await?.to_bytes();
            Ok::<_, CallError>((parts.status, parts.headers, bytes))
        };
        tokio::pin!(conn);
        let (status, headers, bytes) = tokio::select! {
            biased;
            r = exchange => r?,
            r = &mut conn => {
                r?;
                return Err(CallError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
        };
        if !status.is_success() {
            return Err(CallError::Status {
                path: path.to_string(),
                status,
            });
        }
        Ok((headers, bytes))
    }
}
