//! `hearth_serve::serve` over real sockets: the cap, eviction, timeouts and graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use hearth_serve::{serve, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify};

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n";
const PATIENCE: Duration = Duration::from_secs(10);

/// `/` answers "ok" once `gate` is notified (or at once without a gate).
fn app(gate: Option<Arc<Notify>>) -> Router {
    Router::new().route(
        "/",
        get(move || {
            let gate = gate.clone();
            async move {
                if let Some(gate) = gate {
                    gate.notified().await;
                }
                "ok"
            }
        }),
    )
}

struct Server {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

async fn start(limits: Limits, gate: Option<Arc<Notify>>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(serve(listener, app(gate), limits, async move {
        let _ = stopped.await;
    }));
    Server {
        addr,
        stop: Some(stop),
        task,
    }
}

/// Reads one response's head (the bodies here are tiny and come with it).
async fn response(conn: &mut TcpStream) -> String {
    let mut buf = vec![0; 4096];
    let n = tokio::time::timeout(PATIENCE, conn.read(&mut buf))
        .await
        .expect("a response in time")
        .expect("read");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Whether the server closed `conn`, waiting up to PATIENCE.
async fn closed(conn: &mut TcpStream) -> bool {
    let mut buf = [0; 64];
    matches!(
        tokio::time::timeout(PATIENCE, conn.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

fn limits(max_connections: usize) -> Limits {
    Limits {
        max_connections,
        header_read_timeout: None,
        idle_timeout: None,
    }
}

#[tokio::test]
async fn at_the_cap_a_new_client_pushes_out_the_oldest_idle_one() {
    let server = start(limits(2), None).await;
    let mut first = TcpStream::connect(server.addr).await.expect("connect");
    // Served once, so it is a keep-alive connection: pushed out after the silent one.
    first.write_all(GET).await.expect("write");
    assert!(response(&mut first).await.starts_with("HTTP/1.1 200"));
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    let mut third = TcpStream::connect(server.addr).await.expect("connect");
    third.write_all(GET).await.expect("write");
    assert!(response(&mut third).await.starts_with("HTTP/1.1 200"));
    assert!(closed(&mut silent).await);
    first.write_all(GET).await.expect("write");
    assert!(response(&mut first).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn a_busy_connection_is_never_pushed_out() {
    let gate = Arc::new(Notify::new());
    let server = start(limits(1), Some(gate.clone())).await;
    let mut busy = TcpStream::connect(server.addr).await.expect("connect");
    busy.write_all(GET).await.expect("write");
    // Once its request is in the handler (until then it is as idle as any new one) ...
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ... the second client does not push it out: it waits in the listen backlog (or, if
    // the server was already accepting, is taken one over the cap) and is answered after.
    let mut waiting = TcpStream::connect(server.addr).await.expect("connect");
    waiting.write_all(GET).await.expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;
    gate.notify_one();
    assert!(response(&mut busy).await.starts_with("HTTP/1.1 200"));
    drop(busy);
    gate.notify_one();
    assert!(response(&mut waiting).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn silent_and_idle_connections_time_out() {
    let server = start(
        Limits {
            max_connections: 10,
            header_read_timeout: Some(Duration::from_millis(200)),
            idle_timeout: Some(Duration::from_millis(400)),
        },
        None,
    )
    .await;
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    let mut half = TcpStream::connect(server.addr).await.expect("connect");
    half.write_all(b"GET / HTTP/1.1\r\nHost:")
        .await
        .expect("write");
    let mut kept = TcpStream::connect(server.addr).await.expect("connect");
    kept.write_all(GET).await.expect("write");
    assert!(response(&mut kept).await.starts_with("HTTP/1.1 200"));
    assert!(closed(&mut silent).await);
    assert!(closed(&mut half).await);
    assert!(closed(&mut kept).await);
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    let gate = Arc::new(Notify::new());
    let mut server = start(limits(10), Some(gate.clone())).await;
    let mut idle = TcpStream::connect(server.addr).await.expect("connect");
    let mut busy = TcpStream::connect(server.addr).await.expect("connect");
    busy.write_all(GET).await.expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = server.stop.take().expect("not stopped yet").send(());
    // An idle connection closes at once; the busy one gets its answer, then the server ends.
    assert!(closed(&mut idle).await);
    assert!(!server.task.is_finished());
    gate.notify_one();
    assert!(response(&mut busy).await.starts_with("HTTP/1.1 200"));
    tokio::time::timeout(PATIENCE, server.task)
        .await
        .expect("the server ends")
        .expect("joined");
    assert!(TcpStream::connect(server.addr).await.is_err());
}
