//! The Extensions API's (2020-01-01) state of one environment: who registered, for
//! which events, and who is waiting in `next`; and what the engine asks of it (is init
//! over for the extensions, hand them an event, have they finished with it).
//!
//! Extensions are external (an executable of `/opt/extensions`, named by its file name,
//! started by the sandbox) or internal (registered from inside the runtime's process
//! under any other name); internal ones may subscribe to `INVOKE` only, as in Lambda's
//! runtime interface emulator. Every change bumps a counter the engine waits on, so a
//! waiter re-reads the state under its lock and never misses a transition.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use bytes::Bytes;
use serde_json::json;
use tokio::sync::{mpsc, watch};

/// An extension's events are few (one at a time, SHUTDOWN last): a small buffer.
const EVENT_BUFFER: usize = 4;

/// What registering extensions are told, and which executables the sandbox started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtensionSetup {
    /// File names of the executables in `/opt/extensions` that were started.
    pub external: Vec<String>,
    pub function_name: String,
    pub function_version: String,
    pub handler: String,
    /// Told to an extension that sends `Lambda-Extension-Accept-Feature: accountId`.
    pub account_id: Option<String>,
}

/// An event an extension subscribes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Invoke,
    Shutdown,
}

impl EventType {
    /// The name on the wire: `INVOKE`, `SHUTDOWN`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invoke => "INVOKE",
            Self::Shutdown => "SHUTDOWN",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "INVOKE" => Some(Self::Invoke),
            "SHUTDOWN" => Some(Self::Shutdown),
            _ => None,
        }
    }
}

/// Why an environment is shut down, as the SHUTDOWN event says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownReason {
    /// Retired normally (idle, replaced, the server stopping).
    Spindown,
    /// An invocation ran out of time.
    Timeout,
    /// The runtime or an extension failed.
    Failure,
}

impl ShutdownReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::Spindown => "spindown",
            Self::Timeout => "timeout",
            Self::Failure => "failure",
        }
    }
}

/// The INVOKE event's fields, as `next` hands them to an extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeEvent {
    pub request_id: String,
    /// Epoch milliseconds.
    pub deadline_ms: i64,
    pub invoked_function_arn: String,
    pub trace_id: String,
}

impl InvokeEvent {
    fn body(&self) -> Bytes {
        Bytes::from(
            json!({
                "eventType": "INVOKE",
                "deadlineMs": self.deadline_ms,
                "requestId": self.request_id,
                "invokedFunctionArn": self.invoked_function_arn,
                "tracing": {"type": "X-Amzn-Trace-Id", "value": self.trace_id},
            })
            .to_string(),
        )
    }
}

fn shutdown_body(reason: ShutdownReason, deadline_ms: i64) -> Bytes {
    Bytes::from(
        json!({
            "eventType": "SHUTDOWN",
            "shutdownReason": reason.as_str(),
            "deadlineMs": deadline_ms,
        })
        .to_string(),
    )
}

/// Where an extension is in its cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Registered, has not asked for an event yet.
    Registered,
    /// Asked for its first event: init is over for it.
    Ready,
    /// Reported an error (`init/error`, `exit/error`).
    Failed,
}

pub(crate) struct Agent {
    pub(crate) name: String,
    pub(crate) id: String,
    pub(crate) invoke: bool,
    pub(crate) shutdown: bool,
    pub(crate) phase: Phase,
    /// Events queued for it that its `next` has not taken yet.
    outstanding: u32,
    /// Whether it took an event and has not asked for the next one since: it works on it.
    working: bool,
    events: mpsc::Sender<Bytes>,
    pub(crate) inbox: std::sync::Arc<tokio::sync::Mutex<mpsc::Receiver<Bytes>>>,
}

impl Agent {
    /// Whether it has an event it has not finished: one queued for it, or one it took
    /// and has not asked past. An event counts as finished only by the `next` after the
    /// one that took it, so a `next` that ends an INVOKE does not end a SHUTDOWN queued
    /// meanwhile.
    fn busy(&self) -> bool {
        self.phase != Phase::Failed && (self.outstanding > 0 || self.working)
    }
}

/// An extension's failure reported on the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionFailure {
    /// The extension's name.
    pub name: String,
    /// Its `Lambda-Extension-Function-Error-Type`.
    pub error_type: String,
    /// `init/error` (true) or `exit/error`.
    pub during_init: bool,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) setup: ExtensionSetup,
    pub(crate) agents: Vec<Agent>,
    /// Closed once init is over: later registrations are refused.
    pub(crate) closed: bool,
    pub(crate) failure: Option<ExtensionFailure>,
    /// External extensions whose process ended, as the jail's watcher reports them
    /// (name, wait status), not yet taken by the engine.
    pub(crate) exits: std::collections::VecDeque<(String, i32)>,
}

/// The extensions of one environment.
pub(crate) struct Extensions {
    state: Mutex<State>,
    /// Bumped on every change the engine may wait for.
    changed: watch::Sender<u64>,
    /// Whether any extension subscribed to INVOKE: the only thing an invocation of a
    /// function without extensions reads (one atomic load; no lock, task or allocation).
    any_invoke: AtomicBool,
    /// Whether an internal extension registered: what an environment's end reads to
    /// know it has a shutdown phase (one atomic load for a function without extensions).
    any_internal: AtomicBool,
}

impl Default for Extensions {
    fn default() -> Self {
        Self {
            state: Mutex::new(State::default()),
            changed: watch::channel(0).0,
            any_invoke: AtomicBool::new(false),
            any_internal: AtomicBool::new(false),
        }
    }
}

/// Why a call of an extension was refused: an error type and message, all 403 as in
/// Lambda's runtime interface emulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) error_type: &'static str,
    pub(crate) message: String,
}

fn refuse(error_type: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        error_type,
        message: message.into(),
    }
}

/// What a successful registration answers.
pub(crate) struct Registered {
    pub(crate) id: String,
    pub(crate) body: serde_json::Value,
}

impl Extensions {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Plain values: a panic cannot leave them half-written.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub(crate) fn setup(&self, setup: ExtensionSetup) {
        self.lock().setup = setup;
        self.bump();
    }

    /// `POST /extension/register`.
    pub(crate) fn register(
        &self,
        name: &str,
        events: &[String],
        account_id_wanted: bool,
    ) -> Result<Registered, Refusal> {
        if name.is_empty() {
            return Err(refuse(
                "Extension.InvalidExtensionName",
                "Empty extension name",
            ));
        }
        let mut state = self.lock();
        let external = state.setup.external.iter().any(|n| n == name);
        let mut invoke = false;
        let mut shutdown = false;
        for e in events {
            match EventType::parse(e) {
                Some(EventType::Invoke) => invoke = true,
                Some(EventType::Shutdown) if external => shutdown = true,
                Some(EventType::Shutdown) => {
                    return Err(refuse(
                        "Extension.InvalidEventType",
                        format!("{e}: internal extensions cannot subscribe to SHUTDOWN"),
                    ))
                }
                None => {
                    return Err(refuse(
                        "Extension.InvalidEventType",
                        format!("{e}: unknown event type"),
                    ))
                }
            }
        }
        if state.closed {
            return Err(refuse(
                "Extension.RegistrationClosed",
                "Extension registration closed already",
            ));
        }
        if state.agents.iter().any(|a| a.name == name) {
            return Err(refuse(
                "Extension.InvalidExtensionState",
                "Extension with this name already registered",
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        state.agents.push(Agent {
            name: name.to_string(),
            id: id.clone(),
            invoke,
            shutdown,
            phase: Phase::Registered,
            outstanding: 0,
            working: false,
            events: tx,
            inbox: std::sync::Arc::new(tokio::sync::Mutex::new(rx)),
        });
        if invoke {
            self.any_invoke.store(true, Ordering::Release);
        }
        if !external {
            self.any_internal.store(true, Ordering::Release);
        }
        let mut body = json!({
            "functionName": state.setup.function_name,
            "functionVersion": state.setup.function_version,
            "handler": state.setup.handler,
        });
        if let (true, Some(account)) = (account_id_wanted, &state.setup.account_id) {
            body["accountId"] = json!(account);
        }
        drop(state);
        self.bump();
        Ok(Registered { id, body })
    }

    /// `GET /extension/event/next`: the extension is done with what it had; returns
    /// where its next event arrives.
    pub(crate) fn next(
        &self,
        id: &str,
    ) -> Result<std::sync::Arc<tokio::sync::Mutex<mpsc::Receiver<Bytes>>>, Refusal> {
        let mut state = self.lock();
        let agent = find(&mut state, id)?;
        if agent.phase == Phase::Failed {
            return Err(refuse(
                "Extension.InvalidExtensionState",
                format!("State transition from Failed to Ready failed for extension {id}"),
            ));
        }
        agent.phase = Phase::Ready;
        agent.working = false;
        let inbox = agent.inbox.clone();
        drop(state);
        self.bump();
        Ok(inbox)
    }

    /// `POST /extension/init/error` and `/exit/error`.
    pub(crate) fn error(
        &self,
        id: &str,
        error_type: &str,
        during_init: bool,
    ) -> Result<(), Refusal> {
        let mut state = self.lock();
        let closed = state.closed;
        let agent = find(&mut state, id)?;
        if during_init && closed {
            return Err(refuse(
                "Extension.InvalidExtensionState",
                format!("State transition to InitError failed for extension {id}: init is over"),
            ));
        }
        agent.phase = Phase::Failed;
        let failure = ExtensionFailure {
            name: agent.name.clone(),
            error_type: error_type.to_string(),
            during_init,
        };
        state.failure.get_or_insert(failure);
        drop(state);
        self.bump();
        Ok(())
    }

    /// Whether init is over for the extensions: every external one registered, and
    /// every registered one asked for its first event. `Err` with the failure if one
    /// reported an error.
    fn init_state(&self) -> Option<Result<(), ExtensionFailure>> {
        let state = self.lock();
        if let Some(f) = &state.failure {
            return Some(Err(f.clone()));
        }
        let all_registered = state
            .setup
            .external
            .iter()
            .all(|n| state.agents.iter().any(|a| &a.name == n));
        let all_ready = state.agents.iter().all(|a| a.phase == Phase::Ready);
        (all_registered && all_ready).then_some(Ok(()))
    }

    /// Waits until init is over for the extensions (see [`Self::init_state`]), then
    /// closes registration.
    pub(crate) async fn init_done(&self) -> Result<(), ExtensionFailure> {
        let mut rx = self.changed.subscribe();
        let mut result = None;
        // An error only when the sender is gone, which `self` keeps alive.
        let _ = rx
            .wait_for(|_| {
                result = self.init_state();
                result.is_some()
            })
            .await;
        self.lock().closed = true;
        result.unwrap_or(Ok(()))
    }

    /// Names of the external extensions that have not yet asked for their first event
    /// (registered or not), for a crash report.
    pub(crate) fn not_ready(&self) -> Vec<String> {
        let state = self.lock();
        state
            .setup
            .external
            .iter()
            .filter(|n| {
                !state
                    .agents
                    .iter()
                    .any(|a| &&a.name == n && a.phase == Phase::Ready)
            })
            .cloned()
            .collect()
    }

    /// Every registered extension with the events it subscribed to, in registration
    /// order.
    pub(crate) fn registered(&self) -> Vec<(String, Vec<EventType>)> {
        self.lock()
            .agents
            .iter()
            .map(|a| {
                let mut events = Vec::new();
                if a.invoke {
                    events.push(EventType::Invoke);
                }
                if a.shutdown {
                    events.push(EventType::Shutdown);
                }
                (a.name.clone(), events)
            })
            .collect()
    }

    /// Extension `id`'s `next` took an event: it works on it until it asks again.
    pub(crate) fn received(&self, id: &str) {
        let mut state = self.lock();
        if let Ok(agent) = find(&mut state, id) {
            agent.outstanding = agent.outstanding.saturating_sub(1);
            agent.working = true;
        }
        drop(state);
        self.bump();
    }

    /// Whether any extension wants INVOKE events (one atomic load).
    pub(crate) fn wants_invoke(&self) -> bool {
        self.any_invoke.load(Ordering::Acquire)
    }

    /// Whether an internal extension registered (one atomic load). Internal means
    /// registered under a name that is not the file name of an executable of
    /// `/opt/extensions`, as in Lambda's runtime interface emulator: the registry does
    /// not see which process calls it.
    pub(crate) fn any_internal(&self) -> bool {
        self.any_internal.load(Ordering::Acquire)
    }

    /// Hands `event` to every extension subscribed to INVOKE.
    pub(crate) fn invoke(&self, event: &InvokeEvent) {
        let body = event.body();
        let mut state = self.lock();
        for agent in state.agents.iter_mut().filter(|a| a.invoke) {
            if agent.phase == Phase::Failed {
                continue;
            }
            // Full only if the extension has not taken its last events: it is then
            // still counted busy until it asks again.
            if agent.events.try_send(body.clone()).is_ok() {
                agent.outstanding += 1;
            }
        }
        drop(state);
        self.bump();
    }

    /// Waits until every extension subscribed to INVOKE has asked for its next event
    /// (or failed).
    pub(crate) async fn invoke_done(&self) {
        let mut rx = self.changed.subscribe();
        let _ = rx
            .wait_for(|_| !self.lock().agents.iter().any(|a| a.invoke && a.busy()))
            .await;
    }

    /// Hands SHUTDOWN to every extension subscribed to it; returns how many.
    pub(crate) fn shutdown(&self, reason: ShutdownReason, deadline_ms: i64) -> usize {
        let body = shutdown_body(reason, deadline_ms);
        let mut state = self.lock();
        state.closed = true;
        let mut n = 0;
        for agent in state.agents.iter_mut().filter(|a| a.shutdown) {
            if agent.events.try_send(body.clone()).is_ok() {
                agent.outstanding += 1;
            }
            n += 1;
        }
        drop(state);
        self.bump();
        n
    }

    /// Waits until every extension handed SHUTDOWN has asked again (is done).
    pub(crate) async fn shutdown_done(&self) {
        let mut rx = self.changed.subscribe();
        let _ = rx
            .wait_for(|_| !self.lock().agents.iter().any(|a| a.shutdown && a.busy()))
            .await;
    }

    /// Records that external extension `name`'s process ended with wait status
    /// `status`; false for a name that is not one of the external extensions.
    pub(crate) fn exited(&self, name: &str, status: i32) -> bool {
        let mut state = self.lock();
        if !state.setup.external.iter().any(|n| n == name) {
            return false;
        }
        state.exits.push_back((name.to_string(), status));
        drop(state);
        self.bump();
        true
    }

    /// Waits for the next reported end of an external extension's process.
    pub(crate) async fn next_exit(&self) -> (String, i32) {
        let mut rx = self.changed.subscribe();
        let mut got = None;
        let _ = rx
            .wait_for(|_| {
                got = self.lock().exits.pop_front();
                got.is_some()
            })
            .await;
        match got {
            Some(exit) => exit,
            None => std::future::pending().await,
        }
    }

    /// The registered name of extension `id` (the Telemetry and Logs APIs' caller); the
    /// same refusal as its other calls when the identifier is unknown.
    pub(crate) fn name_of(&self, id: &str) -> Result<String, Refusal> {
        let mut state = self.lock();
        Ok(find(&mut state, id)?.name.clone())
    }

    /// The first failure an extension reported, if any.
    pub(crate) fn failure(&self) -> Option<ExtensionFailure> {
        self.lock().failure.clone()
    }
}

fn find<'a>(state: &'a mut State, id: &str) -> Result<&'a mut Agent, Refusal> {
    state.agents.iter_mut().find(|a| a.id == id).ok_or_else(|| {
        refuse(
            "Extension.UnknownExtensionIdentifier",
            format!("Unknown extension {id}"),
        )
    })
}
