//! Execution-environment sandboxes: the [`Sandbox`] trait and its backends.
//!
//! A sandbox first [`prepares`](Sandbox::prepare) an environment's network side (the
//! listener its Runtime API serves on, the socket of its X-Ray daemon), then starts the
//! runtime with exactly the environment it is given and hands back an [`Instance`]: the
//! process, its merged stdout/stderr as a non-blocking pipe, and a way to kill
//! everything it started.
//! `process` isolates nothing and exists for development; `jail` isolates each
//! environment in its own namespaces under cgroup limits. `scripted` (tests only, the
//! `scripted` feature) runs in-process scripted runtimes instead of processes.

mod exit;
pub mod extensions;
mod instance;
pub mod jail;
mod process;
mod reread;
mod sched;
#[cfg(any(test, feature = "scripted"))]
pub mod scripted;
#[cfg(test)]
mod test_privileges;
mod usage;
pub mod xray;

use std::net::{TcpListener, UdpSocket};
use std::path::PathBuf;

pub use exit::describe_exit;
pub use instance::{ExtensionExits, Instance, Teardown};
pub use jail::JailSandbox;
pub use process::ProcessSandbox;
pub use usage::{Usage, UsageSource};

/// What to run in a new environment. Paths in `program`, `args` and `env` are as the
/// runtime sees them (see [`Sandbox::guest_paths`]); the other paths are the host's.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The complete environment: nothing of Hearth's own environment is inherited.
    pub env: Vec<(String, String)>,
    /// Function code (host path), `/var/task` inside a jail.
    pub task_root: PathBuf,
    /// Runtime client files (host path), `/var/runtime` inside a jail.
    pub runtime_dir: Option<PathBuf>,
    /// The function's layers composed into one tree (host path), `/opt` inside a jail,
    /// read-only; `None` for a function without layers.
    pub opt_dir: Option<PathBuf>,
    /// Host directories the runtime needs read-only at the same path (an interpreter
    /// installed outside `/usr`).
    pub ro_paths: Vec<PathBuf>,
    /// Host directories the runtime would search for modules the function did not
    /// bundle (Node's `<prefix>/lib/node`): a jail shows them empty; the process
    /// sandbox cannot hide them.
    pub hidden: Vec<PathBuf>,
    pub memory_mb: u64,
    pub ephemeral_storage_mb: u64,
    /// Where the environment may connect to; only a backend whose
    /// [`Sandbox::enforces_egress`] says so applies it.
    pub egress: hearth_model::egress::EgressPolicy,
}

/// Where a runtime finds its code and runtime client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestPaths {
    /// The host's own paths (no mount namespace).
    Host,
    /// Lambda's: code at `/var/task`, runtime client at `/var/runtime`.
    Lambda,
}

/// Opens a TCP connection to an address inside an environment's own network namespace,
/// for the host (the Telemetry API's deliveries to an extension's listener). Blocking.
pub type Connector = std::sync::Arc<
    dyn Fn(std::net::SocketAddr) -> std::io::Result<std::net::TcpStream> + Send + Sync,
>;

/// What [`Sandbox::spawn_now`] did.
// Made once per cold start and matched at once: a box would be an allocation for nothing.
#[allow(clippy::large_enum_variant)]
pub enum SpawnNow {
    /// It spawned (or failed to), as [`Sandbox::spawn`] would have.
    Done(Result<Instance, SandboxError>),
    /// Spawning might block: call [`Sandbox::spawn`] where it may.
    Later(Prepared),
}

/// An environment's network side, made before its runtime starts so that the Runtime
/// API is listening when the runtime first calls it.
pub struct Prepared {
    /// How the host connects into the environment's own network namespace; none when it
    /// shares the host's network.
    connector: Option<Connector>,
    listener: Option<TcpListener>,
    /// Where the function reaches Hearth's AWS API inside its own network namespace;
    /// none when it shares the host's network.
    aws_listener: Option<TcpListener>,
    /// Where the function's X-Ray SDK sends its segments ([`xray`]); none from a
    /// sandbox that makes no daemon socket.
    xray_socket: Option<UdpSocket>,
    pub(crate) keep: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl Prepared {
    pub(crate) fn new(
        listener: TcpListener,
        keep: Option<Box<dyn std::any::Any + Send + Sync>>,
    ) -> Self {
        Self {
            listener: Some(listener),
            connector: None,
            aws_listener: None,
            xray_socket: None,
            keep,
        }
    }

    pub(crate) fn with_aws_listener(mut self, listener: TcpListener) -> Self {
        self.aws_listener = Some(listener);
        self
    }

    pub(crate) fn with_connector(mut self, connector: Connector) -> Self {
        self.connector = Some(connector);
        self
    }

    /// How the host opens a connection inside the environment's own network namespace;
    /// `None` when it shares the host's network (connect there). Taken once.
    pub fn take_connector(&mut self) -> Option<Connector> {
        self.connector.take()
    }

    pub(crate) fn with_xray_socket(mut self, socket: UdpSocket) -> Self {
        self.xray_socket = Some(socket);
        self
    }

    /// A listener on a free loopback port and nothing else: what an environment that
    /// shares the host's network needs.
    pub(crate) fn loopback() -> Result<Self, SandboxError> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(SandboxError::Network)?;
        Ok(Self::new(listener, None))
    }

    /// The listener the environment's Runtime API must serve on; taken once.
    pub fn take_listener(&mut self) -> Option<TcpListener> {
        self.listener.take()
    }

    /// The listener inside the environment's own network namespace on which the
    /// function reaches Hearth's AWS API; `None` when the environment shares the host's
    /// network (it then uses the server's own endpoint). Taken once.
    pub fn take_aws_listener(&mut self) -> Option<TcpListener> {
        self.aws_listener.take()
    }

    /// The X-Ray daemon's socket of the environment, bound where its function sends
    /// segments (the address [`xray::variables`] tells it: the socket's local address).
    /// Whoever takes it reads the datagrams; dropped, they go nowhere. Taken once.
    pub fn take_xray_socket(&mut self) -> Option<UdpSocket> {
        self.xray_socket.take()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// An executable of `/opt/extensions` could not be started.
    #[error("cannot start extension {name}: {source}")]
    ExtensionSpawn {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create the output pipe: {0}")]
    Pipe(#[source] std::io::Error),
    #[error("cannot prepare the environment's network: {0}")]
    Network(#[source] std::io::Error),
    #[error("cannot set up the jail: {0}")]
    Jail(String),
}

/// A way of starting execution environments.
pub trait Sandbox: Send + Sync + 'static {
    /// The backend's name as given to `hearth server --sandbox`.
    fn name(&self) -> &'static str;

    /// Paths as the runtime sees them.
    fn guest_paths(&self) -> GuestPaths;

    /// Makes the listener for an environment's Runtime API (and the other sockets of
    /// its network side, see [`Prepared`]).
    fn prepare(&self) -> Result<Prepared, SandboxError>;

    /// [`Sandbox::prepare`] when it can be done at once without blocking (the jail: a
    /// spare environment is ready), which spares a cold start a trip through the
    /// blocking pool; `None` means call `prepare` where it may block.
    fn prepare_now(&self) -> Option<Result<Prepared, SandboxError>> {
        None
    }

    /// Starts the runtime described by `spec` in the environment `prepared` made.
    fn spawn(&self, spec: &SandboxSpec, prepared: Prepared) -> Result<Instance, SandboxError>;

    /// [`Sandbox::spawn`] when it can be done at once without blocking (the jail: the
    /// function's code is mounted already, and its `/tmp` and egress policy are those of
    /// the environment made ahead), which spares a cold start a second trip through the
    /// blocking pool; otherwise `prepared` comes back, for `spawn` where it may block.
    fn spawn_now(&self, _spec: &SandboxSpec, prepared: Prepared) -> SpawnNow {
        SpawnNow::Later(prepared)
    }

    /// Whether environments get the egress policy of their spec (a jail with egress
    /// networking); otherwise they have either the host's network (`process`) or
    /// loopback only (a jail on a host that cannot give them more).
    fn enforces_egress(&self) -> bool {
        false
    }

    /// Whether the backend starts the external extensions of a spec's `opt_dir`
    /// (`<opt>/extensions/*`) before the runtime.
    fn starts_extensions(&self) -> bool {
        false
    }

    /// Releases what the backend holds ahead of need and waits for environments being
    /// torn down, before the process exits.
    fn shutdown(&self) {}
}
