//! Test helpers: a fixed clock, subscriptions built directly, and a local HTTP server that
//! records what it is sent.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Notify};

use crate::destination::{Destination, Protocol};
use crate::event::{Event, LogLine, Record};
use crate::subscriber::Clock;
use crate::subscription::{Buffering, EventType, SchemaVersion, Subscription};

/// A clock stopped at one instant.
pub(crate) struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
        .single()
        .expect("a valid time")
}

pub(crate) fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock(t0()))
}

pub(crate) fn subscription(
    schema_version: SchemaVersion,
    types: &[EventType],
    buffering: Buffering,
    protocol: Protocol,
    port: u16,
) -> Subscription {
    Subscription {
        schema_version,
        types: types.iter().copied().collect(),
        buffering,
        destination: Destination {
            protocol,
            host: "sandbox.localdomain".into(),
            port,
            path: "/telemetry".into(),
        },
    }
}

pub(crate) fn line(text: &str) -> Event {
    Event {
        time: t0(),
        record: Record::Function(LogLine::Text(text.to_owned())),
    }
}

/// The bytes a Telemetry API subscriber receives for `event`.
pub(crate) fn wire(event: &Event) -> Vec<u8> {
    let value = event
        .render(SchemaVersion::Telemetry2022_12_13)
        .expect("rendered");
    serde_json::to_vec(&value).expect("serializes")
}

/// One request the server received.
#[derive(Debug)]
pub(crate) struct Received {
    pub method: String,
    pub path: String,
    pub host: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Received {
    pub(crate) fn items(&self) -> Vec<serde_json::Value> {
        serde_json::from_slice(&self.body).expect("a JSON array")
    }
}

/// Starts an HTTP server on 127.0.0.1 that reports each request; with `hold`, its answer to
/// the first request waits until `hold` is notified (a stalled subscriber).
pub(crate) async fn http_server(
    hold: Option<Arc<Notify>>,
) -> (SocketAddr, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("has an address");
    let (tx, rx) = mpsc::unbounded_channel();
    let seen = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (tx, hold, seen) = (tx.clone(), hold.clone(), Arc::clone(&seen));
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let (tx, hold, seen) = (tx.clone(), hold.clone(), Arc::clone(&seen));
                    async move {
                        let header = |name: hyper::header::HeaderName| {
                            request
                                .headers()
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_owned()
                        };
                        let method = request.method().to_string();
                        let path = request.uri().path().to_owned();
                        let host = header(hyper::header::HOST);
                        let content_type = header(hyper::header::CONTENT_TYPE);
                        let body = request
                            .into_body()
                            .collect()
                            .await
                            .expect("a body")
                            .to_bytes()
                            .to_vec();
                        let _ = tx.send(Received {
                            method,
                            path,
                            host,
                            content_type,
                            body,
                        });
                        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                            if let Some(hold) = hold {
                                hold.notified().await;
                            }
                        }
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                            b"OK",
                        ))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, rx)
}
