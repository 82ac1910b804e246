//! The Runtime API over a real socket, as a runtime client sees it: plain HTTP/1.1
//! requests, exact status codes and headers.

use std::net::{Ipv4Addr, SocketAddr};

use bytes::Bytes;
use hearth_runtime_api::{InitSignal, Invocation, Outcome, RuntimeApi};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const NEXT: &str = "/2018-06-01/runtime/invocation/next";

struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.expect("write head");
    s.write_all(body).await.expect("write body");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("head end");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head[9..12].parse().expect("status");
    Reply {
        status,
        head,
        body: raw[split + 4..].to_vec(),
    }
}

fn invocation(id: &str) -> Invocation {
    Invocation {
        request_id: id.into(),
        payload: Bytes::from_static(br#"{"hello":"world"}"#),
        deadline_ms: 1_700_000_000_000,
        invoked_function_arn: "arn:aws:lambda:us-east-1:000000000000:function:f".into(),
        trace_id: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
            .into(),
        client_context: Some(r#"{"custom":{"k":"v"}}"#.into()),
        cognito_identity: None,
        stream: None,
    }
}

async fn start() -> (
    RuntimeApi,
    tokio::sync::oneshot::Receiver<InitSignal>,
    SocketAddr,
) {
    let (api, init) = RuntimeApi::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("start");
    let addr = api.addr();
    (api, init, addr)
}

/// A server whose runtime has taken invocation `id`: the server, its address, the
/// outcome receiver and the runtime's `next` reply.
async fn delivered(
    id: &str,
) -> (
    RuntimeApi,
    SocketAddr,
    tokio::sync::oneshot::Receiver<Outcome>,
    Reply,
) {
    let (api, _init, addr) = start().await;
    let next = tokio::spawn(http(addr, "GET", NEXT, &[], b""));
    let outcome = api.dispatch(invocation(id)).await;
    let reply = next.await.expect("next");
    (api, addr, outcome, reply)
}

async fn post(
    addr: SocketAddr,
    id: &str,
    what: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    http(
        addr,
        "POST",
        &format!("/2018-06-01/runtime/invocation/{id}/{what}"),
        headers,
        body,
    )
    .await
}

#[tokio::test]
async fn next_response_and_wrong_ids() {
    let (api, init, addr) = start().await;
    let next = tokio::spawn(http(addr, "GET", NEXT, &[], b""));
    assert_eq!(init.await.expect("init signal"), InitSignal::Ready);
    let outcome = api.dispatch(invocation("req-1")).await;
    let got = next.await.expect("next");
    assert_eq!(got.status, 200);
    assert_eq!(got.body, br#"{"hello":"world"}"#);
    assert_eq!(
        got.header("lambda-runtime-aws-request-id").as_deref(),
        Some("req-1")
    );
    assert_eq!(
        got.header("lambda-runtime-deadline-ms").as_deref(),
        Some("1700000000000")
    );
    assert_eq!(
        got.header("lambda-runtime-invoked-function-arn").as_deref(),
        Some("arn:aws:lambda:us-east-1:000000000000:function:f")
    );
    assert!(got
        .header("lambda-runtime-trace-id")
        .is_some_and(|t| t.starts_with("Root=1-")));
    assert_eq!(
        got.header("lambda-runtime-client-context").as_deref(),
        Some(r#"{"custom":{"k":"v"}}"#)
    );
    assert_eq!(
        got.header("content-type").as_deref(),
        Some("application/json")
    );
    // Sized, not chunked: the answers of the two requests every invocation makes skip
    // the router, which would have added it.
    assert_eq!(got.header("content-length").as_deref(), Some("17"));
    assert!(api.delivered("req-1"));

    let unknown = post(addr, "nope", "response", &[], b"{}").await;
    assert_eq!(unknown.status, 400);
    assert_eq!(
        unknown.header("content-length"),
        Some(unknown.body.len().to_string())
    );
    let accepted = post(addr, "req-1", "response", &[], b"\"done\"").await;
    assert_eq!(accepted.status, 202);
    assert_eq!(accepted.body, br#"{"status":"OK"}"#);
    assert_eq!(accepted.header("content-length").as_deref(), Some("15"));
    assert_eq!(
        outcome.await.expect("outcome"),
        Outcome::Response(Bytes::from_static(b"\"done\""))
    );
    assert_eq!(
        post(addr, "req-1", "response", &[], b"{}").await.status,
        403
    );
}

#[tokio::test]
async fn error_post_carries_type_header() {
    let (_api, addr, outcome, _) = delivered("req-2").await;
    let body = br#"{"errorMessage":"boom","errorType":"ValueError","stackTrace":[]}"#;
    let headers = [("Lambda-Runtime-Function-Error-Type", "ValueError")];
    assert_eq!(
        post(addr, "req-2", "error", &headers, body).await.status,
        202
    );
    assert_eq!(
        outcome.await.expect("outcome"),
        Outcome::Error {
            body: Bytes::from_static(body),
            error_type: Some("ValueError".into())
        }
    );
}

#[tokio::test]
async fn oversized_response_is_413_and_reported() {
    let (_api, addr, outcome, _) = delivered("req-3").await;
    let big = vec![b'x'; 6_291_557];
    assert_eq!(post(addr, "req-3", "response", &[], &big).await.status, 413);
    assert_eq!(outcome.await.expect("outcome"), Outcome::ResponseTooLarge);
}

#[tokio::test]
async fn exactly_the_limit_is_accepted() {
    let (_api, addr, outcome, _) = delivered("req-4").await;
    let max = vec![b'x'; 6_291_556];
    assert_eq!(post(addr, "req-4", "response", &[], &max).await.status, 202);
    assert!(
        matches!(outcome.await.expect("outcome"), Outcome::Response(b) if b.len() == 6_291_556)
    );
}

#[tokio::test]
async fn init_error_ends_init() {
    let (api, init, addr) = start().await;
    let body = br#"{"errorMessage":"Unable to import module 'app'","errorType":"Runtime.ImportModuleError"}"#;
    let post = tokio::spawn(http(
        addr,
        "POST",
        "/2018-06-01/runtime/init/error",
        &[(
            "Lambda-Runtime-Function-Error-Type",
            "Runtime.ImportModuleError",
        )],
        body,
    ));
    assert_eq!(
        init.await.expect("init"),
        InitSignal::Error {
            body: Bytes::from_static(body),
            error_type: Some("Runtime.ImportModuleError".into())
        }
    );
    // The runtime is answered only when the engine says so (it exits once answered).
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!post.is_finished(), "answered before answer_init_error");
    api.answer_init_error();
    assert_eq!(post.await.expect("post").status, 202);
}

#[tokio::test]
async fn a_watch_yields_the_next_after_the_response_only() {
    let (api, _init, addr) = start().await;
    let first = tokio::spawn(http(addr, "GET", NEXT, &[], b""));
    let mut watch = api.watch_next("req-w");
    let outcome = api.dispatch(invocation("req-w")).await;
    assert_eq!(first.await.expect("next").status, 200);
    // The `next` that handed the event over was asked for before it finished.
    assert_eq!(
        watch.try_recv(),
        Err(tokio::sync::oneshot::error::TryRecvError::Empty)
    );
    assert_eq!(post(addr, "req-w", "response", &[], b"1").await.status, 202);
    assert_eq!(
        outcome.await.expect("outcome"),
        Outcome::Response(Bytes::from_static(b"1"))
    );
    let posted = std::time::SystemTime::now();
    assert_eq!(
        watch.try_recv(),
        Err(tokio::sync::oneshot::error::TryRecvError::Empty)
    );
    // This `next` waits for an event that never comes: it is not awaited.
    let _pending = tokio::spawn(http(addr, "GET", NEXT, &[], b""));
    let at = watch.await.expect("the next after the response");
    assert!(at >= posted, "{at:?} is not after {posted:?}");
}
