//! The Runtime API (2018-06-01) of one execution environment: the HTTP server a
//! runtime interface client talks to, and the channel through which the engine hands
//! it invocations and gets back their outcomes.
//!
//! The wire contract is written down in `docs/wire/runtime-api.md`: `next` long-polls and
//! answers exactly 200, every POST answers exactly 202, responses over 6291556 bytes get 413.
//! The same listener serves the Extensions API (2020-01-01, `docs/extensions.md`) and the
//! Telemetry API (2022-07-01) and Logs API (2020-08-15) (`docs/telemetry.md`).

mod extension_routes;
mod extensions;
mod handlers;
mod next_watch;
mod stream;
mod telemetry_routes;
mod types;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use extensions::{EventType, ExtensionFailure, ExtensionSetup, InvokeEvent, ShutdownReason};
pub use types::{
    FunctionFailure, InitSignal, Invocation, Outcome, ResponseSink, ResponseTiming, StreamPart,
};

/// A runtime needs one or two connections (a runtime interface client keeps one alive;
/// `lambda_runtime` pools a few). The cap keeps a function that opens connections to its
/// own Runtime API from using up the server's descriptors: beyond it the connection that
/// has been idle longest is closed (never one with a request in flight, such as the
/// runtime's pending `next`). No timeouts: a runtime may wait between calls as long as
/// it likes, and an environment's connections all close when it ends.
pub const CONNECTION_LIMITS: hearth_serve::Limits = hearth_serve::Limits {
    max_connections: 32,
    header_read_timeout: None,
    idle_timeout: None,
};

/// How long the answer to a runtime's `/init/error` waits for
/// [`RuntimeApi::answer_init_error`]: longer than the engine's flush of a failed init
/// (two seconds), so that only a caller that never answers meets it.
pub const INIT_ERROR_HOLD: std::time::Duration = std::time::Duration::from_secs(3);

/// State shared by the handlers of one environment.
pub(crate) struct Shared {
    /// Invocations handed over by the engine, waiting for the runtime's `next`.
    pub(crate) queue: tokio::sync::Mutex<mpsc::Receiver<(Invocation, oneshot::Sender<Outcome>)>>,
    /// The invocation the runtime is working on.
    pub(crate) current: Mutex<Option<(String, Reply)>>,
    /// The last finished request id, to tell a repeated post (403) from an unknown id (400).
    pub(crate) finished: Mutex<Option<String>>,
    /// The request id `next` last handed to the runtime.
    pub(crate) delivered: Mutex<Option<String>>,
    /// Signals the end of init: the first `next`, or an `/init/error`.
    pub(crate) init: Mutex<Option<oneshot::Sender<InitSignal>>>,
    /// Lets the answer to the runtime's `/init/error` go (see
    /// [`RuntimeApi::answer_init_error`]).
    pub(crate) init_error_answer: tokio::sync::Notify,
    /// Who waits for the runtime's `next` after an invocation (see [`RuntimeApi::watch_next`]).
    pub(crate) next_watch: next_watch::NextWatch,
    /// The Extensions API's registrations and events.
    pub(crate) extensions: extensions::Extensions,
    /// The environment's Telemetry/Logs API subscriptions.
    pub(crate) telemetry: Arc<hearth_telemetry::Hub>,
    /// When the last response arrived; written only while someone subscribed.
    pub(crate) response_timing: Mutex<Option<ResponseTiming>>,
}

/// Where the outcome of the invocation in progress goes.
pub(crate) struct Reply {
    pub(crate) outcome: oneshot::Sender<Outcome>,
    /// Where a streamed response goes, when the caller reads it as a stream.
    pub(crate) sink: Option<ResponseSink>,
}

impl Shared {
    pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        // The guarded values are plain slots; a panic cannot leave them half-written.
        m.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running Runtime API server for one environment.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    tx: mpsc::Sender<(Invocation, oneshot::Sender<Outcome>)>,
    server: JoinHandle<()>,
}

impl RuntimeApi {
    /// Binds `addr` (port 0 for any free port) and starts serving. Returns the server
    /// and the receiver that reports the end of the runtime's init phase.
    pub async fn start(addr: SocketAddr) -> std::io::Result<(Self, oneshot::Receiver<InitSignal>)> {
        Self::serve(TcpListener::bind(addr).await?, None)
    }

    /// Serves on a listener made elsewhere (inside an environment's network namespace).
    pub fn serve_std(
        listener: std::net::TcpListener,
    ) -> std::io::Result<(Self, oneshot::Receiver<InitSignal>)> {
        listener.set_nonblocking(true)?;
        Self::serve(TcpListener::from_std(listener)?, None)
    }

    /// [`RuntimeApi::serve_std`] with the environment's telemetry hub made by the caller
    /// (which knows how the host reaches the environment's `sandbox.localdomain`).
    pub fn serve_std_with_telemetry(
        listener: std::net::TcpListener,
        telemetry: Arc<hearth_telemetry::Hub>,
    ) -> std::io::Result<(Self, oneshot::Receiver<InitSignal>)> {
        listener.set_nonblocking(true)?;
        Self::serve(TcpListener::from_std(listener)?, Some(telemetry))
    }

    fn serve(
        listener: TcpListener,
        telemetry: Option<Arc<hearth_telemetry::Hub>>,
    ) -> std::io::Result<(Self, oneshot::Receiver<InitSignal>)> {
        let addr = listener.local_addr()?;
        // Without a hub from the caller, the environment is where this listener is: its
        // own address, or loopback when it listens on every address.
        let telemetry = telemetry.unwrap_or_else(|| {
            let ip = match addr.ip() {
                ip if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
                ip => ip,
            };
            Arc::new(hearth_telemetry::Hub::new(
                Arc::new(hearth_telemetry::EnvironmentAddress(ip)),
                Arc::new(hearth_telemetry::SystemClock),
            ))
        });
        let (tx, rx) = mpsc::channel(1);
        let (init_tx, init_rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            queue: tokio::sync::Mutex::new(rx),
            current: Mutex::new(None),
            finished: Mutex::new(None),
            delivered: Mutex::new(None),
            init: Mutex::new(Some(init_tx)),
            init_error_answer: tokio::sync::Notify::new(),
            next_watch: next_watch::NextWatch::default(),
            extensions: extensions::Extensions::default(),
            telemetry,
            response_timing: Mutex::new(None),
        });
        let app = handlers::Service::app(shared.clone());
        // Aborting this task (on drop) closes the environment's connections with it.
        let server = tokio::spawn(hearth_serve::serve(
            listener,
            app,
            CONNECTION_LIMITS,
            std::future::pending(),
        ));
        Ok((
            Self {
                addr,
                tx,
                shared,
                server,
            },
            init_rx,
        ))
    }

    /// The environment's Telemetry/Logs API subscriptions, to publish records to.
    pub fn telemetry(&self) -> &Arc<hearth_telemetry::Hub> {
        &self.shared.telemetry
    }

    /// When the Runtime API received the last invocation's response (taken once).
    /// `None` when no extension was subscribed as it arrived (the handler then notes
    /// nothing: one atomic load), or when the runtime posted no response.
    pub fn take_response_timing(&self) -> Option<ResponseTiming> {
        Shared::lock(&self.shared.response_timing).take()
    }

    /// Answers the runtime's `/init/error`, which waits for this (up to
    /// [`INIT_ERROR_HOLD`]): the runtime interface clients exit as soon as they are
    /// answered, and the environment's processes (its extensions) end with the runtime's,
    /// so the caller first tells the Telemetry API's subscribers of the failure. Harmless
    /// when nothing was posted.
    pub fn answer_init_error(&self) {
        self.shared.init_error_answer.notify_one();
    }

    /// `host:port` for `AWS_LAMBDA_RUNTIME_API`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Hands an invocation to the runtime; the receiver yields its outcome. The caller
    /// sends one invocation at a time per environment.
    pub async fn dispatch(&self, invocation: Invocation) -> oneshot::Receiver<Outcome> {
        let (tx, rx) = oneshot::channel();
        // A send error means the server is gone; the dropped sender then closes `rx`,
        // which the caller treats like a crashed runtime.
        let _ = self.tx.send((invocation, tx)).await;
        rx
    }
}

impl RuntimeApi {
    /// Whether the runtime received invocation `request_id` from `next`.
    pub fn delivered(&self, request_id: &str) -> bool {
        Shared::lock(&self.shared.delivered).as_deref() == Some(request_id)
    }

    /// Watches for the runtime's first `next` after it finishes invocation `request_id`
    /// (posts its response or error): the receiver yields when that request arrived (the
    /// end of X-Ray's `Overhead`). Arm it before dispatching the invocation, since a
    /// runtime may ask again as soon as its post is answered. The receiver fails when the
    /// environment goes first, the runtime abandons the invocation, or a later watch
    /// replaces this one. Only one invocation is watched at a time.
    pub fn watch_next(&self, request_id: &str) -> oneshot::Receiver<std::time::SystemTime> {
        self.shared.next_watch.arm(request_id.to_string())
    }
}

/// The Extensions API side (see `docs/extensions.md`).
impl RuntimeApi {
    /// Tells the API which external extensions were started and what registering
    /// extensions are told of the function. Call before starting any process.
    pub fn set_extensions(&self, setup: ExtensionSetup) {
        self.shared.extensions.setup(setup);
    }

    /// Waits until init is over for the extensions: every external extension
    /// registered and every registered one asked for its first event; then closes
    /// registration. `Err` when one reported an error (`init/error`).
    pub async fn extensions_init_done(&self) -> Result<(), ExtensionFailure> {
        self.shared.extensions.init_done().await
    }

    /// Every registered extension (external or internal) and the events it subscribed
    /// to, in registration order.
    pub fn registered_extensions(&self) -> Vec<(String, Vec<EventType>)> {
        self.shared.extensions.registered()
    }

    /// The external extensions that have not asked for their first event yet.
    pub fn extensions_not_ready(&self) -> Vec<String> {
        self.shared.extensions.not_ready()
    }

    /// Whether any extension subscribed to INVOKE (one atomic load: the whole cost of
    /// extensions for an invocation of a function without them).
    pub fn extensions_want_invoke(&self) -> bool {
        self.shared.extensions.wants_invoke()
    }

    /// Whether an internal extension (one registered from inside the runtime's process,
    /// under a name that is no executable of `/opt/extensions`) registered: one atomic
    /// load. Such an environment has a shutdown phase of its own (SIGTERM, 500 ms).
    pub fn internal_extensions_registered(&self) -> bool {
        self.shared.extensions.any_internal()
    }

    /// Hands the INVOKE event to every extension subscribed to it.
    pub fn invoke_extensions(&self, event: &InvokeEvent) {
        self.shared.extensions.invoke(event);
    }

    /// Waits until every extension given the INVOKE event asked for its next event.
    pub async fn extensions_invoke_done(&self) {
        self.shared.extensions.invoke_done().await;
    }

    /// Hands SHUTDOWN to every extension subscribed to it and closes registration;
    /// returns how many got it.
    pub fn shutdown_extensions(&self, reason: ShutdownReason, deadline_ms: i64) -> usize {
        self.shared.extensions.shutdown(reason, deadline_ms)
    }

    /// Waits until every extension given SHUTDOWN asked for its next event (which,
    /// after SHUTDOWN, never comes: asking means it is done).
    pub async fn extensions_shutdown_done(&self) {
        self.shared.extensions.shutdown_done().await;
    }

    /// Waits until an external extension's process is reported ended (by the jail's
    /// watcher, `POST /_hearth/extension/exited`): its name and wait status. Never
    /// resolves when none is.
    pub async fn extension_exit(&self) -> (String, i32) {
        self.shared.extensions.next_exit().await
    }

    /// The first error an extension reported (`init/error`, `exit/error`), if any.
    pub fn extension_failure(&self) -> Option<ExtensionFailure> {
        self.shared.extensions.failure()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}
