//! Streamed responses over a real socket, written as a runtime client writes them:
//! `Lambda-Runtime-Function-Response-Mode: streaming`, a chunked body, and trailers for
//! an error after the stream began.

use std::net::{Ipv4Addr, SocketAddr};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use hearth_runtime_api::{
    FunctionFailure, Invocation, Outcome, ResponseSink, RuntimeApi, StreamPart,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";

fn invocation(id: &str, stream: Option<ResponseSink>) -> Invocation {
    Invocation {
        request_id: id.into(),
        payload: Bytes::from_static(b"{}"),
        deadline_ms: 4_102_444_800_000,
        invoked_function_arn: "arn:aws:lambda:us-east-1:000000000000:function:f".into(),
        trace_id: "Root=1-0-0".into(),
        client_context: None,
        cognito_identity: None,
        stream,
    }
}

/// A server whose runtime took invocation `id` (its `next` answered).
async fn delivered(
    id: &str,
    stream: Option<ResponseSink>,
) -> (RuntimeApi, SocketAddr, oneshot::Receiver<Outcome>) {
    let (api, _init) = RuntimeApi::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("start");
    let addr = api.addr();
    let next = tokio::spawn(async move {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        let req = format!("GET {NEXT} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.expect("read");
    });
    let outcome = api.dispatch(invocation(id, stream)).await;
    next.await.expect("next");
    (api, addr, outcome)
}

/// Opens a streamed post; chunks are written with [`chunk`], the end with [`finish`].
async fn open(addr: SocketAddr, id: &str, content_type: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: x\r\n\
         Connection: close\r\nLambda-Runtime-Function-Response-Mode: streaming\r\n\
         Transfer-Encoding: chunked\r\nContent-Type: {content_type}\r\n\
         Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.expect("head");
    s
}

async fn chunk(s: &mut TcpStream, data: &[u8]) {
    s.write_all(format!("{:x}\r\n", data.len()).as_bytes())
        .await
        .expect("size");
    s.write_all(data).await.expect("data");
    s.write_all(b"\r\n").await.expect("end");
}

/// Ends the body (with the trailers given) and returns the status of the answer.
async fn finish(mut s: TcpStream, trailers: &[(&str, &str)]) -> u16 {
    let mut end = String::from("0\r\n");
    for (k, v) in trailers {
        end.push_str(&format!("{k}: {v}\r\n"));
    }
    end.push_str("\r\n");
    s.write_all(end.as_bytes()).await.expect("last chunk");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read");
    String::from_utf8_lossy(&raw[9..12])
        .parse()
        .expect("status")
}

#[tokio::test]
async fn chunks_reach_the_sink_as_they_are_written_and_trailers_end_it() {
    let (tx, mut rx) = mpsc::channel(4);
    let (_api, addr, outcome) = delivered("s-1", Some(tx)).await;
    let mut s = open(addr, "s-1", "text/plain").await;
    assert_eq!(
        rx.recv().await,
        Some(StreamPart::Start {
            content_type: "text/plain".into()
        })
    );
    chunk(&mut s, b"first").await;
    // The first chunk is out before the second is written.
    assert_eq!(
        rx.recv().await,
        Some(StreamPart::Chunk(Bytes::from_static(b"first")))
    );
    chunk(&mut s, b"second").await;
    let error = br#"{"errorType":"Error","errorMessage":"late"}"#;
    let status = finish(
        s,
        &[
            ("Lambda-Runtime-Function-Error-Type", "Error"),
            ("Lambda-Runtime-Function-Error-Body", &BASE64.encode(error)),
        ],
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(
        rx.recv().await,
        Some(StreamPart::Chunk(Bytes::from_static(b"second")))
    );
    assert_eq!(
        outcome.await.expect("outcome"),
        Outcome::Streamed {
            bytes: 11,
            failure: Some(FunctionFailure {
                body: Bytes::from_static(error),
                error_type: Some("Error".into()),
            }),
        }
    );
}

#[tokio::test]
async fn a_stream_for_a_buffered_caller_is_buffered_whole() {
    let (_api, addr, outcome) = delivered("s-2", None).await;
    let mut s = open(addr, "s-2", "application/json").await;
    chunk(&mut s, b"{\"a\":").await;
    chunk(&mut s, b"1}").await;
    assert_eq!(finish(s, &[]).await, 202);
    assert_eq!(
        outcome.await.expect("outcome"),
        Outcome::Response(Bytes::from_static(b"{\"a\":1}"))
    );
}

#[tokio::test]
async fn a_failed_stream_for_a_buffered_caller_is_a_function_error() {
    let (_api, addr, outcome) = delivered("s-3", None).await;
    let mut s = open(addr, "s-3", "text/plain").await;
    chunk(&mut s, b"partial").await;
    let status = finish(
        s,
        &[
            ("Lambda-Runtime-Function-Error-Type", "Runtime.StreamError"),
            ("Lambda-Runtime-Function-Error-Body", &BASE64.encode(b"bad")),
        ],
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(
        outcome.await.expect("outcome"),
        Outcome::Error {
            body: Bytes::from_static(b"bad"),
            error_type: Some("Runtime.StreamError".into()),
        }
    );
}

#[tokio::test]
async fn a_caller_that_hangs_up_does_not_stop_the_function() {
    let (tx, rx) = mpsc::channel(1);
    let (_api, addr, outcome) = delivered("s-4", Some(tx)).await;
    drop(rx);
    let mut s = open(addr, "s-4", "text/plain").await;
    for _ in 0..10 {
        chunk(&mut s, b"lost").await;
    }
    assert_eq!(finish(s, &[]).await, 202);
    assert_eq!(
        outcome.await.expect("outcome"),
        Outcome::Streamed {
            bytes: 40,
            failure: None
        }
    );
}

#[tokio::test]
async fn a_stream_for_a_buffered_caller_keeps_the_buffered_limit() {
    let (_api, addr, outcome) = delivered("s-5", None).await;
    let mut s = open(addr, "s-5", "application/octet-stream").await;
    let piece = vec![b'x'; 1 << 20];
    for _ in 0..6 {
        chunk(&mut s, &piece).await;
    }
    // 6 MiB so far, within the 6,291,556 bytes; one more byte than those is refused.
    chunk(&mut s, &[b'y'; 6_291_556 - 6 * (1 << 20) + 1]).await;
    assert_eq!(outcome.await.expect("outcome"), Outcome::ResponseTooLarge);
    // The 413 may be lost to a reset: the server closes with the rest of the body unread.
    let mut raw = Vec::new();
    if s.read_to_end(&mut raw).await.is_ok() && raw.len() >= 12 {
        assert_eq!(&raw[9..12], b"413");
    }
}

#[tokio::test]
async fn a_stream_cut_off_is_reported_as_broken() {
    let (tx, mut rx) = mpsc::channel(4);
    let (_api, addr, outcome) = delivered("s-6", Some(tx)).await;
    let mut s = open(addr, "s-6", "text/plain").await;
    chunk(&mut s, b"half").await;
    assert!(matches!(rx.recv().await, Some(StreamPart::Start { .. })));
    assert_eq!(
        rx.recv().await,
        Some(StreamPart::Chunk(Bytes::from_static(b"half")))
    );
    // The runtime dies: its connection closes before the last chunk.
    drop(s);
    assert_eq!(
        outcome.await.expect("outcome"),
        Outcome::StreamBroken { bytes: 4 }
    );
}

/// A caller that does not read holds the function's writes back once the sink's
/// channel and the sockets' buffers are full: the server buffers nothing more, so a
/// stream's memory is bounded whatever the function writes.
#[tokio::test]
async fn a_reader_that_does_not_read_holds_the_writer_back() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    const CHUNK: usize = 64 * 1024;
    // Far more than the loopback sockets' buffers hold.
    const CHUNKS: usize = 1024;
    let (tx, mut rx) = mpsc::channel(4);
    let (_api, addr, outcome) = delivered("s-bp", Some(tx)).await;
    let mut s = open(addr, "s-bp", "application/octet-stream").await;
    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    let writer = tokio::spawn(async move {
        let data = vec![7u8; CHUNK];
        for _ in 0..CHUNKS {
            chunk(&mut s, &data).await;
            counter.fetch_add(1, Ordering::SeqCst);
        }
        finish(s, &[]).await
    });
    // Wait until the writer makes no more progress (the caller reads nothing).
    let mut last = usize::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = written.load(Ordering::SeqCst);
        if now == last {
            break;
        }
        last = now;
    }
    eprintln!("the writer stalled after {last} of {CHUNKS} chunks");
    assert!(
        last < CHUNKS,
        "the writer wrote all {CHUNKS} chunks with nobody reading: the server buffered them"
    );
    // Reading lets it finish, every byte delivered in order of arrival.
    let reader = tokio::spawn(async move {
        let mut bytes = 0;
        while let Some(part) = rx.recv().await {
            if let StreamPart::Chunk(c) = part {
                bytes += c.len();
            }
        }
        bytes
    });
    assert_eq!(writer.await.expect("writer"), 202);
    assert_eq!(
        outcome.await.expect("outcome"),
        Outcome::Streamed {
            bytes: (CHUNK * CHUNKS) as u64,
            failure: None,
        }
    );
    drop(_api);
    assert_eq!(reader.await.expect("reader"), CHUNK * CHUNKS);
}
