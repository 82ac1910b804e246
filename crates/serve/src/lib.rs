//! Serving an axum app over HTTP/1.1 with a bounded number of connections, a
//! header-read timeout and a keep-alive idle timeout: the loop behind the control plane
//! and behind every environment's Runtime API, so that neither clients nor functions
//! can take all of the server's file descriptors.
//!
//! At the cap, the server accepts a new connection and closes the one that matters least
//! (never one with a request in flight: first those that never had a request answered,
//! then the longest idle keep-alive one), so it holds at most one over the cap for a
//! moment; when every connection is busy it stops accepting, and new clients wait in the
//! kernel's listen backlog, which costs the server no descriptor. So an attacker holding idle or half-sent connections cannot
//! lock legitimate clients out: each new connection pushes out the oldest idle one.
//!
//! With a TLS configuration ([`serve_tls`]) each connection first completes a TLS
//! handshake (within the header-read timeout, like a request head), then speaks HTTP/2
//! when the client chose `h2` by ALPN, HTTP/1.1 otherwise. Every request carries a
//! [`Transport`] extension: whether it came over TLS, and from which address.
//!
//! The outbound side is here too ([`http_client`]): one client shape for what Hearth
//! sends to other nodes and to subscribers.

mod around;
mod client;
mod gate;
mod io;
mod repoll;
mod table;
mod transport;

pub use around::{around, boxed, BoxApp};
pub use client::{http_client, public_roots, HttpClient};
pub use gate::{Gate, GateFuture, GateLayer, Gated, Step};
pub use repoll::Repoll;
pub use transport::{tls_config, Transport};

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::response::Response;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::table::{Close, Entry, Table};

/// How long a keep-alive connection asked to close may take to finish writing its last
/// response.
const DRAIN: Duration = Duration::from_secs(1);

/// How connections are bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once (at least 1).
    pub max_connections: usize,
    /// How long a request header may take to arrive, from its first byte, or from the
    /// connection's start for its first request (slowloris).
    pub header_read_timeout: Option<Duration>,
    /// How long a keep-alive connection may wait for its next request.
    pub idle_timeout: Option<Duration>,
}

/// What [`serve`] serves: an axum `Router`, or any service of axum requests that, like a
/// router, is always ready (its `poll_ready` is not asked), never fails and is cheap to
/// clone (one clone per request).
pub trait App:
    tower_service::Service<
        axum::extract::Request,
        Response = Response,
        Error = Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> App for S where
    S: tower_service::Service<
            axum::extract::Request,
            Response = Response,
            Error = Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, lets
/// requests in flight finish (idle connections close at once) and returns when every
/// connection is closed, as `axum::serve(..).with_graceful_shutdown(..)` does. Dropping
/// the returned future closes every connection.
pub async fn serve(
    listener: TcpListener,
    app: impl App,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    serve_tls(listener, app, limits, None, shutdown).await;
}

/// [`serve`], over TLS when `tls` is given (see [`tls_config`] for its ALPN protocols).
pub async fn serve_tls(
    listener: TcpListener,
    app: impl App,
    limits: Limits,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = tls.map(TlsAcceptor::from);
    let table = Arc::new(Table::new(Limits {
        max_connections: limits.max_connections.max(1),
        ..limits
    }));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    let mut reaper = table.reap_every().map(tokio::time::interval);
    let max = table.limits.max_connections;
    // The last connection accepted: not pushed out for the one before it.
    let mut newest = None;
    loop {
        let open = table.len();
        if open > max {
            // Over by one: the connection chosen to make room began a request meanwhile,
            // or every other one became busy while waiting to accept.
            table.evict_one(newest);
        }
        // At the cap, accept only when an idle connection can make room for the new one;
        // otherwise new clients wait in the listen backlog until one ends.
        let can_accept = open < max || (open == max && table.can_make_room());
        tokio::select! {
            accepted = listener.accept(), if can_accept => match accepted {
                Ok((stream, peer)) => {
                    let entry = table.register();
                    newest = Some(entry.id);
                    if table.len() > max {
                        table.evict_one(newest);
                    }
                    tasks.spawn(Repoll::new(connection(
                        stream,
                        peer,
                        acceptor.clone(),
                        entry,
                        app.clone(),
                        stop_rx.clone(),
                    )));
                }
                Err(e) => {
                    // Out of descriptors or memory, or a connection reset before it was
                    // accepted: wait rather than spin (as axum::serve does).
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = table.gone.notified(), if !can_accept => {}
            // Requests ending do not signal; look again now and then.
            _ = tokio::time::sleep(Duration::from_millis(50)), if !can_accept => {}
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            _ = tick(&mut reaper) => { table.reap(Instant::now()); }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Half-sent requests still meet their header timeout while the rest finish.
    loop {
        tokio::select! {
            joined = tasks.join_next() => if joined.is_none() { break },
            _ = tick(&mut reaper) => { table.reap(Instant::now()); }
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

async fn tick(reaper: &mut Option<tokio::time::Interval>) {
    match reaper {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    entry: Entry,
    app: impl App,
    mut stop: watch::Receiver<bool>,
) {
    let watched = io::Watched {
        stream,
        conn: entry.conn.clone(),
    };
    let Some(acceptor) = tls else {
        let service = service(&entry, app, Transport::plain(peer));
        let http = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(watched), service);
        return drive(http, &entry, stop).await;
    };
    // The handshake is bounded like a request head: the reaper asks a connection that
    // has answered nothing to close after the header-read timeout, and eviction may too.
    let mut first = [0u8; 1];
    let peeked = tokio::select! {
        peeked = watched.stream.peek(&mut first) => peeked,
        () = asked_to_close(&entry) => return,
        _ = stop.changed() => return,
    };
    match peeked {
        // A TLS handshake record.
        Ok(1) if first[0] == TLS_HANDSHAKE => {}
        Ok(1) => return refuse_plain_http(watched.stream).await,
        _ => return,
    }
    let stream = tokio::select! {
        accepted = acceptor.accept(watched) => match accepted {
            Ok(stream) => stream,
            Err(e) => {
                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                return;
            }
        },
        () = asked_to_close(&entry) => return,
        _ = stop.changed() => return,
    };
    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
    let service = service(&entry, app, Transport::tls(peer));
    let io = TokioIo::new(stream);
    if h2 {
        let http = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .serve_connection(io, service);
        drive(http, &entry, stop).await;
    } else {
        let http = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
        drive(http, &entry, stop).await;
    }
}

/// The first byte of a TLS connection: a handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// What a client speaking plain HTTP on the TLS port gets, instead of a TLS alert it
/// cannot read.
const PLAIN_HTTP_REFUSAL: &str = "This port speaks HTTPS: send the request to https://, \
     trusting the server's certificate (see docs/tls.md).\n";

/// Answers 400 to a plain HTTP request on the TLS port, then closes the connection.
async fn refuse_plain_http(mut stream: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{PLAIN_HTTP_REFUSAL}",
        PLAIN_HTTP_REFUSAL.len()
    );
    let reply = async {
        // Read what was sent (a request head), so closing does not reset the connection
        // before the client has read the answer.
        let mut buf = [0u8; 8192];
        let _ = stream.read(&mut buf).await;
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), reply).await;
}

/// Completes when the table asks the connection to close and it may (nothing in flight).
async fn asked_to_close(entry: &Entry) {
    loop {
        entry.conn.close.notified().await;
        if entry.conn.confirm_close() != Close::No {
            return;
        }
    }
}

/// The app as a hyper service for one connection: each request carries the connection's
/// [`Transport`] (its peer is the client's address: axum's `ConnectInfo` is not set, one
/// insert less per request) and keeps the connection busy until its
/// response body is written.
fn service(
    entry: &Entry,
    app: impl App,
    transport: Transport,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = axum::response::Response,
    Error = Infallible,
    Future = impl Future<Output = Result<axum::response::Response, Infallible>> + Send,
> + Clone {
    let conn = entry.conn.clone();
    hyper::service::service_fn(move |req: Request<Incoming>| {
        let busy = conn.begin();
        let mut req = req.map(Body::new);
        req.extensions_mut().insert(transport);
        let response = tower_service::Service::call(&mut app.clone(), req);
        async move {
            let response = response.await?;
            // The connection stays busy until hyper has written and dropped the body.
            Ok::<_, Infallible>(response.map(|body| {
                Body::new(body.map_frame(move |frame| {
                    let _busy = &busy;
                    frame
                }))
            }))
        }
    })
}

/// A hyper server connection of either HTTP version, as [`drive`] needs it.
trait HttpConnection: Future<Output = Result<(), hyper::Error>> {
    fn graceful_shutdown(self: Pin<&mut Self>);
}

impl<I, S> HttpConnection for hyper::server::conn::http1::Connection<I, S>
where
    S: hyper::service::HttpService<Incoming, ResBody = Body>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        hyper::server::conn::http1::Connection::graceful_shutdown(self);
    }
}

impl<I, S> HttpConnection for hyper::server::conn::http2::Connection<I, S, TokioExecutor>
where
    S: hyper::service::HttpService<Incoming, ResBody = Body>,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    TokioExecutor: hyper::rt::bounds::Http2ServerConnExec<S::Future, Body>,
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        hyper::server::conn::http2::Connection::graceful_shutdown(self);
    }
}

/// Runs one HTTP connection until it ends, closing it when the table asks (never with a
/// request in flight) or gracefully when the server stops.
async fn drive(http: impl HttpConnection, entry: &Entry, mut stop: watch::Receiver<bool>) {
    let mut http = pin!(http);
    let mut stopping = false;
    let mut drain_until = None;
    loop {
        tokio::select! {
            result = http.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended");
                }
                return;
            }
            () = entry.conn.close.notified() => match entry.conn.confirm_close() {
                Close::No => {}
                // Dropping the connection closes the socket.
                Close::Now => return,
                Close::Drain => {
                    http.as_mut().graceful_shutdown();
                    drain_until = Some(tokio::time::Instant::now() + DRAIN);
                }
            },
            () = sleep_until(drain_until), if drain_until.is_some() => {
                drain_until = None;
                if entry.conn.confirm_close() != Close::No {
                    return;
                }
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    http.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
