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

mod io;
mod table;

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::Router;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

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

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, lets
/// requests in flight finish (idle connections close at once) and returns when every
/// connection is closed, as `axum::serve(..).with_graceful_shutdown(..)` does. Dropping
/// the returned future closes every connection.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
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
                Ok((stream, _)) => {
                    let entry = table.register();
                    newest = Some(entry.id);
                    if table.len() > max {
                        table.evict_one(newest);
                    }
                    tasks.spawn(connection(stream, entry, app.clone(), stop_rx.clone()));
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
    entry: Entry,
    app: Router,
    mut stop: watch::Receiver<bool>,
) {
    let conn = entry.conn.clone();
    let io = TokioIo::new(io::Watched {
        stream,
        conn: conn.clone(),
    });
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let busy = conn.begin();
        let response = tower_service::Service::call(&mut app.clone(), req.map(Body::new));
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
    });
    let builder = hyper::server::conn::http1::Builder::new();
    let mut http = pin!(builder.serve_connection(io, service));
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
