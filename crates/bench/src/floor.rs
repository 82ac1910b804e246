//! The floor: the smallest Runtime API (2018-06-01) that official runtime clients accept,
//! served by the bench itself on blocking sockets (a thread per connection), and the runtime
//! process started against it directly. What a runtime costs here is what it would cost under
//! any platform; whatever Hearth measures above it is Hearth's own overhead.
//!
//! Deliberately not `hearth-runtime-api` or `hearth-engine`: the floor must not share the
//! code it is the baseline for.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};

use super::wire::{self, Head};

const PREFIX: &str = "/2018-06-01/runtime/";
/// The deadline handed to the runtime: far enough away never to matter.
const DEADLINE: Duration = Duration::from_secs(300);

/// How one invocation ended at the floor.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Response(Vec<u8>),
    Error(Vec<u8>),
}

/// An invocation's outcome and how long the runtime had it: from just before the event was
/// written to the runtime until its answer had been read. The floor's latency is this span,
/// without the hand-offs between the bench's own threads, so that nothing of the bench is
/// counted in the baseline Hearth is compared with.
#[derive(Debug)]
pub struct Answer {
    pub outcome: Outcome,
    pub runtime_time: Duration,
}

struct Event {
    id: String,
    payload: Vec<u8>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Event>,
    waiting: HashMap<String, mpsc::Sender<Answer>>,
    /// When each event in flight was handed to the runtime.
    handed: HashMap<String, Instant>,
    /// When the first `next` arrived (the end of init).
    first_next: Option<Instant>,
    init_error: Option<Vec<u8>>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    shutdown: AtomicBool,
    function_arn: String,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running floor Runtime API on `127.0.0.1:<ephemeral port>`.
pub struct FloorApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
    ids: AtomicU64,
}

impl FloorApi {
    pub fn start(function_name: &str) -> anyhow::Result<Self> {
        let listener =
            TcpListener::bind("127.0.0.1:0").context("cannot listen for the floor Runtime API")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            shutdown: AtomicBool::new(false),
            function_arn: format!("arn:aws:lambda:us-east-1:000000000000:function:{function_name}"),
        });
        let accept_shared = shared.clone();
        let acceptor = std::thread::Builder::new()
            .name("floor-accept".into())
            .spawn(move || accept(listener, accept_shared))
            .context("cannot start the floor's thread")?;
        Ok(Self {
            addr,
            shared,
            acceptor: Some(acceptor),
            ids: AtomicU64::new(0),
        })
    }

    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits for the runtime's first `next` and returns when it arrived; fails on an init
    /// error, or when `child` exits or `timeout` passes first.
    pub fn wait_ready(&self, child: &mut Child, timeout: Duration) -> anyhow::Result<Instant> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if let Some(at) = state.first_next {
                return Ok(at);
            }
            if let Some(body) = &state.init_error {
                bail!(
                    "the runtime reported an init error: {}",
                    String::from_utf8_lossy(body)
                );
            }
            if let Some(status) = child.try_wait()? {
                bail!("the runtime exited ({status}) before asking for an event");
            }
            let now = Instant::now();
            if now >= deadline {
                bail!("the runtime did not ask for an event within {timeout:?}");
            }
            // Short waits: a child's exit does not signal the condition variable.
            let wait = (deadline - now).min(Duration::from_millis(20));
            state = self
                .shared
                .changed
                .wait_timeout(state, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Hands `payload` to the runtime and waits for its answer.
    pub fn invoke(&self, payload: &[u8], timeout: Duration) -> anyhow::Result<Answer> {
        let id = format!(
            "00000000-0000-4000-8000-{:012x}",
            self.ids.fetch_add(1, Ordering::Relaxed)
        );
        let (tx, rx) = mpsc::channel();
        {
            let mut state = self.shared.lock();
            state.waiting.insert(id.clone(), tx);
            state.queue.push_back(Event {
                id: id.clone(),
                payload: payload.to_vec(),
            });
        }
        self.shared.changed.notify_all();
        match rx.recv_timeout(timeout) {
            Ok(answer) => Ok(answer),
            Err(_) => {
                let mut state = self.shared.lock();
                state.waiting.remove(&id);
                state.handed.remove(&id);
                bail!("the floor runtime did not answer within {timeout:?}")
            }
        }
    }
}

impl Drop for FloorApi {
    fn drop(&mut self) {
        {
            // Set under the lock: a connection thread checks the flag and starts waiting
            // while holding it, so it cannot miss this wake-up.
            let _state = self.shared.lock();
            self.shared.shutdown.store(true, Ordering::SeqCst);
        }
        self.shared.changed.notify_all();
        // Wakes the acceptor out of `accept` so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept(listener: TcpListener, shared: Arc<Shared>) {
    for socket in listener.incoming() {
        if shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
        let Ok(socket) = socket else { continue };
        let shared = shared.clone();
        // Connection threads end with their connection: the runtime is killed before the
        // floor is dropped, and one waiting in `next` sees the shutdown flag.
        let _ = std::thread::Builder::new()
            .name("floor-conn".into())
            .spawn(move || {
                let _ = serve(socket, &shared);
            });
    }
}

fn serve(socket: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut stream = wire::stream(socket)?;
    let mut out = Vec::with_capacity(4096);
    while let Some(head) = wire::read_head(&mut stream)? {
        let body = wire::read_body(&mut stream, &head)?;
        let received = Instant::now();
        out.clear();
        if !answer(shared, &head, body, received, &mut out)? {
            return Ok(());
        }
        stream.get_mut().write_all(&out)?;
    }
    Ok(())
}

/// Writes the answer to one request into `out`; `false` when the floor is shutting down
/// and the connection should just close.
fn answer(
    shared: &Shared,
    head: &Head,
    body: Vec<u8>,
    received: Instant,
    out: &mut Vec<u8>,
) -> std::io::Result<bool> {
    let (method, target) = head.request_line().unwrap_or(("", ""));
    let route = target.strip_prefix(PREFIX).unwrap_or("");
    match (method, route) {
        ("GET", "invocation/next") => {
            let Some(event) = next_event(shared) else {
                return Ok(false);
            };
            let deadline_ms = (SystemTime::now() + DEADLINE)
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0);
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                 Lambda-Runtime-Aws-Request-Id: {}\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline_ms}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: {}\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0\r\n\
                 Content-Length: {}\r\n\r\n",
                event.id,
                shared.function_arn,
                event.payload.len()
            )?;
            out.extend_from_slice(&event.payload);
            shared.lock().handed.insert(event.id, Instant::now());
        }
        ("POST", "init/error") => {
            shared.lock().init_error = Some(body);
            shared.changed.notify_all();
            accepted(out)?;
        }
        ("POST", route) => {
            let finished = route.strip_prefix("invocation/").and_then(|rest| {
                if let Some(id) = rest.strip_suffix("/response") {
                    Some((id, Outcome::Response(body)))
                } else {
                    rest.strip_suffix("/error")
                        .map(|id| (id, Outcome::Error(body)))
                }
            });
            let Some((id, outcome)) = finished else {
                return not_found(out);
            };
            let (waiter, handed) = {
                let mut state = shared.lock();
                (state.waiting.remove(id), state.handed.remove(id))
            };
            match waiter {
                Some(tx) => {
                    let runtime_time =
                        received.saturating_duration_since(handed.unwrap_or(received));
                    let _ = tx.send(Answer {
                        outcome,
                        runtime_time,
                    });
                    accepted(out)?;
                }
                None => {
                    let msg =
                        br#"{"errorMessage":"unknown request id","errorType":"InvalidRequestID"}"#;
                    write!(
                        out,
                        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        msg.len()
                    )?;
                    out.extend_from_slice(msg);
                }
            }
        }
        _ => return not_found(out),
    }
    Ok(true)
}

/// Blocks until there is an event (marking the first `next` as the end of init), or
/// returns `None` on shutdown.
fn next_event(shared: &Shared) -> Option<Event> {
    let mut state = shared.lock();
    if state.first_next.is_none() {
        state.first_next = Some(Instant::now());
        shared.changed.notify_all();
    }
    loop {
        if shared.shutdown.load(Ordering::SeqCst) {
            return None;
        }
        if let Some(event) = state.queue.pop_front() {
            return Some(event);
        }
        state = shared
            .changed
            .wait(state)
            .unwrap_or_else(|p| p.into_inner());
    }
}

fn accepted(out: &mut Vec<u8>) -> std::io::Result<()> {
    out.extend_from_slice(
        b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}",
    );
    Ok(())
}

fn not_found(out: &mut Vec<u8>) -> std::io::Result<bool> {
    out.extend_from_slice(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    Ok(true)
}

/// How to start a runtime for the floor: the program, arguments and environment Hearth
/// would give it, with host paths (see `super::functions::floor_command`).
#[derive(Debug, Clone)]
pub struct RuntimeCommand {
    pub program: std::path::PathBuf,
    pub args: Vec<String>,
    /// Everything but `AWS_LAMBDA_RUNTIME_API`, which is the floor's address.
    pub env: Vec<(String, String)>,
    pub cwd: std::path::PathBuf,
}

impl RuntimeCommand {
    /// Starts the runtime against `api`, with nothing of the bench's own environment;
    /// stdout is discarded and stderr appended to `log` (where a failure can be read).
    pub fn spawn(&self, api: &FloorApi, log: &Path) -> anyhow::Result<Child> {
        self.spawn_against(api.addr(), log)
    }

    /// [`RuntimeCommand::spawn`] against any Runtime API (the relay floor's).
    pub fn spawn_against(&self, api: SocketAddr, log: &Path) -> anyhow::Result<Child> {
        let stderr = File::options()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("cannot open {}", log.display()))?;
        Command::new(&self.program)
            .args(&self.args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start {}", self.program.display()))
    }
}

/// A runtime process serving invocations from its own floor; killed when dropped.
pub struct WarmFloor {
    api: FloorApi,
    child: Child,
}

impl WarmFloor {
    /// Starts the runtime and waits for it to ask for its first event.
    pub fn start(command: &RuntimeCommand, name: &str, log: &Path) -> anyhow::Result<Self> {
        let api = FloorApi::start(name)?;
        let mut child = command.spawn(&api, log)?;
        if let Err(e) = api.wait_ready(&mut child, Duration::from_secs(30)) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e.context(format!("the floor runtime failed; see {}", log.display())));
        }
        Ok(Self { api, child })
    }

    /// The runtime's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// One invocation, and how long the runtime had it; an error answer fails it.
    pub fn invoke(&self, payload: &[u8]) -> anyhow::Result<Duration> {
        let answer = self.api.invoke(payload, Duration::from_secs(30))?;
        match answer.outcome {
            Outcome::Response(_) => Ok(answer.runtime_time),
            Outcome::Error(body) => bail!(
                "the floor runtime answered with an error: {}",
                String::from_utf8_lossy(&body)
            ),
        }
    }
}

impl Drop for WarmFloor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The cold floor once: exec the runtime and time until its first `next` arrives.
pub fn cold_once(command: &RuntimeCommand, name: &str, log: &Path) -> anyhow::Result<Duration> {
    let api = FloorApi::start(name)?;
    let started = Instant::now();
    let mut child = command.spawn(&api, log)?;
    let ready = api.wait_ready(&mut child, Duration::from_secs(30));
    let _ = child.kill();
    let _ = child.wait();
    let ready =
        ready.with_context(|| format!("the floor runtime failed; see {}", log.display()))?;
    Ok(ready.saturating_duration_since(started))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    fn exchange(stream: &mut BufReader<TcpStream>, request: &str) -> (Head, Vec<u8>) {
        stream
            .get_mut()
            .write_all(request.as_bytes())
            .expect("write");
        let head = wire::read_head(stream).expect("head").expect("answer");
        let body = wire::read_body(stream, &head).expect("body");
        (head, body)
    }

    #[test]
    fn serves_a_hand_made_runtime() {
        let api = FloorApi::start("f").expect("floor");
        let socket = TcpStream::connect(api.addr()).expect("connect");
        let mut stream = BufReader::new(socket);

        let invoke = std::thread::scope(|scope| {
            let invoker = scope.spawn(|| api.invoke(br#"{"x":1}"#, Duration::from_secs(30)));
            let (head, body) = exchange(
                &mut stream,
                "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n",
            );
            assert_eq!(body, br#"{"x":1}"#);
            let id = head.next_event_id("arn:aws:lambda:us-east-1:000000000000:function:f");

            let (head, _) = exchange(
                &mut stream,
                "POST /2018-06-01/runtime/invocation/unknown/response HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
            );
            assert_eq!(head.status(), Some(400));

            let (head, body) = exchange(
                &mut stream,
                &format!(
                    "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nContent-Length: 4\r\n\r\n\"ok\""
                ),
            );
            assert_eq!(head.status(), Some(202));
            assert_eq!(body, br#"{"status":"OK"}"#);
            invoker.join().expect("invoker")
        });
        assert_eq!(
            invoke.expect("invoke").outcome,
            Outcome::Response(b"\"ok\"".to_vec())
        );

        let (head, _) = exchange(
            &mut stream,
            "GET /2018-06-01/runtime/elsewhere HTTP/1.1\r\n\r\n",
        );
        assert_eq!(head.status(), Some(404));
        let (head, _) = exchange(
            &mut stream,
            "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
        );
        assert_eq!(head.status(), Some(202));
        assert!(api.shared.lock().init_error.is_some());
        assert!(api.shared.lock().first_next.is_some());
    }

    #[test]
    fn errors_are_outcomes_and_shutdown_releases_next() {
        let api = FloorApi::start("f").expect("floor");
        let socket = TcpStream::connect(api.addr()).expect("connect");
        let mut stream = BufReader::new(socket);
        let outcome = std::thread::scope(|scope| {
            let invoker = scope.spawn(|| api.invoke(b"{}", Duration::from_secs(30)));
            let (head, _) = exchange(
                &mut stream,
                "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n",
            );
            let id = head
                .header("lambda-runtime-aws-request-id")
                .expect("id")
                .to_string();
            let (head, _) = exchange(
                &mut stream,
                &format!("POST /2018-06-01/runtime/invocation/{id}/error HTTP/1.1\r\nContent-Length: 2\r\n\r\n{{}}"),
            );
            assert_eq!(head.status(), Some(202));
            invoker.join().expect("invoker")
        });
        assert_eq!(
            outcome.expect("invoke").outcome,
            Outcome::Error(b"{}".to_vec())
        );

        // A runtime waiting in `next` when the floor goes away sees its connection close.
        stream
            .get_mut()
            .write_all(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n")
            .expect("write");
        drop(api);
        assert!(wire::read_head(&mut stream).expect("closed").is_none());
    }
}
