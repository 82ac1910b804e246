//! The relay floor's server: the smallest thing that does what Hearth's data plane does
//! between a client and warm runtimes, on the HTTP stack Hearth serves with (a tokio
//! multi-thread runtime and hyper 1's HTTP/1.1 server), and nothing else: no authentication,
//! no logs, no limits, no sandbox, no store. An Invoke (`POST …/invocations` on one port)
//! becomes an event on a queue every runtime's `GET …/invocation/next` (on the Runtime API
//! port) waits on; the runtime's `POST …/invocation/{id}/response` answers the Invoke.
//!
//! `hearth-bench` runs it in a process of its own (`--relay-floor-serve`) so that its CPU
//! time is measured alone. Deliberately not `hearth-runtime-api`, `hearth-engine` or
//! `hearth-serve`: the floor must not share the code it is the baseline for.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// The hidden flag that makes `hearth-bench` the relay instead of the bench.
pub const SERVE_FLAG: &str = "--relay-floor-serve";

const RUNTIME_PREFIX: &str = "/2018-06-01/runtime/";
/// The deadline handed to the runtime: far enough away never to matter (as the floor's).
const DEADLINE: Duration = Duration::from_secs(300);
/// Lambda's synchronous payload limit, with room to spare: bodies are read whole.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
const ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function:relay-floor";
const TRACE_ID: &str = "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0";

/// Where the relay listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addresses {
    /// Clients' `POST …/invocations`.
    pub invoke: SocketAddr,
    /// `AWS_LAMBDA_RUNTIME_API` for the runtimes.
    pub runtime_api: SocketAddr,
}

impl Addresses {
    /// The one line the relay prints on standard output once it listens.
    pub fn line(&self) -> String {
        format!(
            "relay-floor invoke={} runtime-api={}",
            self.invoke, self.runtime_api
        )
    }

    /// Reads [`Addresses::line`] back.
    pub fn parse(line: &str) -> Option<Self> {
        let mut words = line.trim_end().split(' ');
        if words.next()? != "relay-floor" {
            return None;
        }
        let invoke = words.next()?.strip_prefix("invoke=")?.parse().ok()?;
        let runtime_api = words.next()?.strip_prefix("runtime-api=")?.parse().ok()?;
        if words.next().is_some() {
            return None;
        }
        Some(Self {
            invoke,
            runtime_api,
        })
    }
}

/// How a runtime ended an invocation.
enum Outcome {
    Response(Bytes),
    Error(Bytes),
}

struct Event {
    id: String,
    payload: Bytes,
}

struct Relay {
    queue: mpsc::UnboundedSender<Event>,
    /// Held by one `next` at a time while it waits, so each event goes to one runtime.
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Event>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    ids: AtomicU64,
}

type Answer = Response<Full<Bytes>>;

/// The process's entry: serves until standard input closes (the bench ends it so, or by
/// dying), after printing the addresses on standard output.
pub fn serve_process() -> anyhow::Result<()> {
    let stdin_closed = async {
        // Nothing is ever sent on stdin: reading it only waits for its end.
        let _ = tokio::task::spawn_blocking(|| {
            std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink())
        })
        .await;
    };
    run(
        |addresses| {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", addresses.line())?;
            out.flush()
        },
        stdin_closed,
    )
}

/// Runs the relay on its own runtime until `stop` resolves; `bound` gets the addresses as
/// soon as both ports listen.
pub fn run(
    bound: impl FnOnce(Addresses) -> std::io::Result<()>,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    // Hearth's server's default worker count (`hearth server --worker-threads`): half the
    // CPUs, at least one (one on the reference machine). Written out here rather than
    // taken from the server's code, which the floor must not share; `TOKIO_WORKER_THREADS`
    // is not read, as the server does not read it either.
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get() / 2)
        .max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .context("cannot start the relay's runtime")?;
    runtime.block_on(async {
        let invoke = TcpListener::bind("127.0.0.1:0").await?;
        let runtime_api = TcpListener::bind("127.0.0.1:0").await?;
        bound(Addresses {
            invoke: invoke.local_addr()?,
            runtime_api: runtime_api.local_addr()?,
        })?;
        let (queue, events) = mpsc::unbounded_channel();
        let relay = Arc::new(Relay {
            queue,
            events: tokio::sync::Mutex::new(events),
            waiting: Mutex::new(HashMap::new()),
            ids: AtomicU64::new(0),
        });
        tokio::spawn(accept(invoke, relay.clone(), Port::Invoke));
        tokio::spawn(accept(runtime_api, relay, Port::RuntimeApi));
        stop.await;
        anyhow::Ok(())
    })?;
    // Connections still open (runtimes waiting in `next`) end with the runtime.
    runtime.shutdown_background();
    Ok(())
}

#[derive(Clone, Copy)]
enum Port {
    Invoke,
    RuntimeApi,
}

async fn accept(listener: TcpListener, relay: Arc<Relay>, port: Port) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors or a reset before accept: wait rather than spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let relay = relay.clone();
        // Hearth's connections are wrapped so (hearth_serve::Repoll): the floor keeps the
        // same HTTP stack.
        tokio::spawn(hearth_serve::Repoll::new(async move {
            let service = service_fn(move |request| {
                let relay = relay.clone();
                async move {
                    Ok::<_, Infallible>(match port {
                        Port::Invoke => invoke(&relay, request).await,
                        Port::RuntimeApi => runtime_api(&relay, request).await,
                    })
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        }));
    }
}

async fn body(request: Request<Incoming>) -> Option<Bytes> {
    Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .ok()
        .map(|b| b.to_bytes())
}

fn answer(status: StatusCode, body: impl Into<Bytes>) -> Answer {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn not_found() -> Answer {
    answer(StatusCode::NOT_FOUND, Bytes::new())
}

/// `POST …/invocations`: queues the event and answers with what the runtime returned.
async fn invoke(relay: &Relay, request: Request<Incoming>) -> Answer {
    if request.method() != Method::POST || !request.uri().path().ends_with("/invocations") {
        return not_found();
    }
    let Some(payload) = body(request).await else {
        return answer(StatusCode::BAD_REQUEST, Bytes::new());
    };
    let n = relay.ids.fetch_add(1, Ordering::Relaxed);
    let id = format!("00000000-0000-4000-8000-{n:012x}");
    let (tx, rx) = oneshot::channel();
    lock(&relay.waiting).insert(id.clone(), tx);
    // The receiver lives as long as the relay, which owns it.
    let _ = relay.queue.send(Event { id, payload });
    match rx.await {
        Ok(Outcome::Response(body)) => answer(StatusCode::OK, body),
        Ok(Outcome::Error(body)) => {
            let mut response = answer(StatusCode::OK, body);
            response.headers_mut().insert(
                "x-amz-function-error",
                HeaderValue::from_static("Unhandled"),
            );
            response
        }
        Err(_) => answer(StatusCode::INTERNAL_SERVER_ERROR, Bytes::new()),
    }
}

/// The Runtime API: `next`, `{id}/response`, `{id}/error` and `init/error`.
async fn runtime_api(relay: &Relay, request: Request<Incoming>) -> Answer {
    let Some(route) = request.uri().path().strip_prefix(RUNTIME_PREFIX) else {
        return not_found();
    };
    match *request.method() {
        Method::GET if route == "invocation/next" => return next(relay).await,
        Method::POST if route == "init/error" => return accepted(),
        Method::POST => {}
        _ => return not_found(),
    }
    let Some(rest) = route.strip_prefix("invocation/") else {
        return not_found();
    };
    let (id, error) = if let Some(id) = rest.strip_suffix("/response") {
        (id, false)
    } else if let Some(id) = rest.strip_suffix("/error") {
        (id, true)
    } else {
        return not_found();
    };
    let Some(tx) = lock(&relay.waiting).remove(id) else {
        return answer(
            StatusCode::BAD_REQUEST,
            r#"{"errorMessage":"unknown request id","errorType":"InvalidRequestID"}"#,
        );
    };
    let Some(body) = body(request).await else {
        return answer(StatusCode::BAD_REQUEST, Bytes::new());
    };
    // A client that went away no longer waits; the runtime is done all the same.
    let _ = tx.send(if error {
        Outcome::Error(body)
    } else {
        Outcome::Response(body)
    });
    accepted()
}

/// Waits for the next event and hands it over with the headers the official clients need.
async fn next(relay: &Relay) -> Answer {
    let Some(event) = relay.events.lock().await.recv().await else {
        return answer(StatusCode::SERVICE_UNAVAILABLE, Bytes::new());
    };
    let deadline_ms = (SystemTime::now() + DEADLINE)
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let mut response = answer(StatusCode::OK, event.payload);
    let headers = response.headers_mut();
    let value = |s: String| HeaderValue::try_from(s).expect("ids and numbers are header-safe");
    headers.insert("lambda-runtime-aws-request-id", value(event.id));
    headers.insert("lambda-runtime-deadline-ms", value(deadline_ms.to_string()));
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static(ARN),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        HeaderValue::from_static(TRACE_ID),
    );
    response
}

fn accepted() -> Answer {
    answer(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{self, Head};
    use std::io::Write;
    use std::net::TcpStream;

    /// A relay on a thread of the test, stopped when dropped.
    struct Running {
        addresses: Addresses,
        stop: Option<oneshot::Sender<()>>,
        thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
    }

    impl Running {
        fn start() -> Self {
            let (bound_tx, bound_rx) = std::sync::mpsc::channel();
            let (stop, stopped) = oneshot::channel::<()>();
            let thread = std::thread::spawn(move || {
                run(
                    |addresses| {
                        bound_tx
                            .send(addresses)
                            .map_err(|_| std::io::Error::other("test gone"))
                    },
                    async {
                        let _ = stopped.await;
                    },
                )
            });
            let addresses = bound_rx
                .recv_timeout(Duration::from_secs(10))
                .expect("the relay listens");
            Self {
                addresses,
                stop: Some(stop),
                thread: Some(thread),
            }
        }
    }

    impl Drop for Running {
        fn drop(&mut self) {
            drop(self.stop.take());
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }

    fn connect(addr: SocketAddr) -> wire::Stream {
        let socket = TcpStream::connect(addr).expect("connect");
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        wire::stream(socket).expect("stream")
    }

    fn send(stream: &mut wire::Stream, request: &str) {
        stream
            .get_mut()
            .write_all(request.as_bytes())
            .expect("write");
    }

    fn read(stream: &mut wire::Stream) -> (Head, Vec<u8>) {
        let head = wire::read_head(stream).expect("head").expect("answer");
        let body = wire::read_body(stream, &head).expect("body");
        (head, body)
    }

    fn exchange(stream: &mut wire::Stream, request: &str) -> (Head, Vec<u8>) {
        send(stream, request);
        read(stream)
    }

    fn post(path: &str, body: &str) -> String {
        format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    const NEXT: &str = "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n";
    const INVOKE: &str = "/2015-03-31/functions/f/invocations";

    /// A hand-made runtime's `next`: the event and its request id.
    fn next(runtime: &mut wire::Stream) -> (String, Vec<u8>) {
        let (head, body) = exchange(runtime, NEXT);
        assert_eq!(head.header("content-type"), Some("application/json"));
        (head.next_event_id(ARN), body)
    }

    #[test]
    fn relays_an_invoke_to_a_hand_made_runtime_and_back() {
        let relay = Running::start();
        let mut runtime = connect(relay.addresses.runtime_api);
        let mut client = connect(relay.addresses.invoke);
        send(&mut client, &post(INVOKE, r#"{"x":1}"#));
        let (id, event) = next(&mut runtime);
        assert_eq!(event, br#"{"x":1}"#);

        // Only the id `next` handed over completes the invocation.
        let (head, _) = exchange(
            &mut runtime,
            &post("/2018-06-01/runtime/invocation/other/response", "{}"),
        );
        assert_eq!(head.status(), Some(400));
        let (head, body) = exchange(
            &mut runtime,
            &post(
                &format!("/2018-06-01/runtime/invocation/{id}/response"),
                r#""ok""#,
            ),
        );
        assert_eq!(head.status(), Some(202));
        assert_eq!(body, br#"{"status":"OK"}"#);
        let (head, body) = read(&mut client);
        assert_eq!(head.status(), Some(200));
        assert_eq!(body, br#""ok""#);
        assert!(head.header("x-amz-function-error").is_none());

        // A second invoke, answered with an error.
        send(&mut client, &post(INVOKE, "{}"));
        let (second, _) = next(&mut runtime);
        assert_ne!(second, id);
        let (head, _) = exchange(
            &mut runtime,
            &post(
                &format!("/2018-06-01/runtime/invocation/{second}/error"),
                r#"{"errorMessage":"no"}"#,
            ),
        );
        assert_eq!(head.status(), Some(202));
        let (head, body) = read(&mut client);
        assert_eq!(head.status(), Some(200));
        assert_eq!(head.header("x-amz-function-error"), Some("Unhandled"));
        assert_eq!(body, br#"{"errorMessage":"no"}"#);
    }

    #[test]
    fn unknown_paths_are_not_found() {
        let relay = Running::start();
        let mut runtime = connect(relay.addresses.runtime_api);
        for request in [
            "GET /2018-06-01/runtime/elsewhere HTTP/1.1\r\nHost: x\r\n\r\n".to_string(),
            post("/2018-06-01/runtime/invocation/1/other", "{}"),
            post("/2015-03-31/functions/f/invocations", "{}"),
        ] {
            let (head, _) = exchange(&mut runtime, &request);
            assert_eq!(head.status(), Some(404), "{request}");
        }
        let (head, _) = exchange(&mut runtime, &post("/2018-06-01/runtime/init/error", "{}"));
        assert_eq!(head.status(), Some(202));
        let mut client = connect(relay.addresses.invoke);
        for request in [
            "GET /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: x\r\n\r\n".to_string(),
            post("/2015-03-31/functions/f", "{}"),
            NEXT.to_string(),
        ] {
            let (head, _) = exchange(&mut client, &request);
            assert_eq!(head.status(), Some(404), "{request}");
        }
    }

    #[test]
    fn two_runtimes_serve_two_concurrent_invokes() {
        let relay = Running::start();
        let addresses = relay.addresses;
        std::thread::scope(|scope| {
            let clients: Vec<_> = [r#"{"n":1}"#, r#"{"n":2}"#]
                .into_iter()
                .map(|event| {
                    scope.spawn(move || {
                        let mut client = connect(addresses.invoke);
                        exchange(&mut client, &post(INVOKE, event))
                    })
                })
                .collect();
            // Both runtimes hold an event at once: neither answers before both have one.
            let mut runtimes: Vec<_> = (0..2).map(|_| connect(addresses.runtime_api)).collect();
            let events: Vec<_> = runtimes.iter_mut().map(next).collect();
            assert_ne!(events[0].0, events[1].0);
            for (runtime, (id, event)) in runtimes.iter_mut().zip(&events) {
                let mut answer = br#"{"echo":"#.to_vec();
                answer.extend_from_slice(event);
                answer.push(b'}');
                let answer = String::from_utf8(answer).expect("utf-8");
                let (head, _) = exchange(
                    runtime,
                    &post(
                        &format!("/2018-06-01/runtime/invocation/{id}/response"),
                        &answer,
                    ),
                );
                assert_eq!(head.status(), Some(202));
            }
            let mut bodies: Vec<String> = clients
                .into_iter()
                .map(|c| {
                    let (head, body) = c.join().expect("client");
                    assert_eq!(head.status(), Some(200));
                    String::from_utf8(body).expect("utf-8")
                })
                .collect();
            bodies.sort();
            assert_eq!(bodies, [r#"{"echo":{"n":1}}"#, r#"{"echo":{"n":2}}"#]);
        });
    }

    #[test]
    fn the_address_line_reads_back() {
        let addresses = Addresses {
            invoke: "127.0.0.1:4001".parse().expect("addr"),
            runtime_api: "127.0.0.1:4002".parse().expect("addr"),
        };
        assert_eq!(Addresses::parse(&addresses.line()), Some(addresses));
        assert_eq!(
            Addresses::parse(&format!("{}\n", addresses.line())),
            Some(addresses)
        );
        for bad in [
            "",
            "relay-floor",
            "relay-floor invoke=127.0.0.1:1",
            "relay-floor runtime-api=127.0.0.1:2 invoke=127.0.0.1:1",
            "relay-floor invoke=127.0.0.1:1 runtime-api=nowhere",
            "relay-floor invoke=127.0.0.1:1 runtime-api=127.0.0.1:2 more",
            "other invoke=127.0.0.1:1 runtime-api=127.0.0.1:2",
        ] {
            assert_eq!(Addresses::parse(bad), None, "{bad:?}");
        }
    }
}
