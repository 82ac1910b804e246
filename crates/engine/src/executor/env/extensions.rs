//! An environment's extensions after init (docs/extensions.md): handing them each
//! invocation, waiting until those subscribed to INVOKE are done with it (the
//! invocation's `PostRuntimeExtensionsDuration`), and starting the shutdown phase
//! ([`super::shutdown`]) when the environment goes.
//!
//! A function without extensions pays one atomic load per invocation
//! ([`Environment::extensions_want_invoke`]) and one when its environment goes.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Instant;

use hearth_runtime_api::{Invocation, InvokeEvent, RuntimeApi, ShutdownReason};
use hearth_sandbox::ExtensionExits;

use super::{shutdown, Environment};

/// The external extensions an environment started.
pub(crate) struct Started {
    /// How they end, as they end (none from a backend that does not report it).
    pub exits: Option<ExtensionExits>,
    /// What the SHUTDOWN event says when the environment goes.
    pub reason: ShutdownReason,
    /// Set once every process was killed: there is nobody left to tell.
    pub killed: bool,
}

/// How the wait for the extensions after the runtime's response ended.
#[derive(Debug)]
pub(crate) enum AfterRuntime {
    /// Every extension subscribed to INVOKE asked for its next event.
    Done,
    /// The invocation's deadline passed first.
    TimedOut,
    /// An extension's process ended first.
    Crashed { name: String, status: ExitStatus },
}

impl Environment {
    /// Whether any extension (external or internal) subscribed to INVOKE: one atomic
    /// load, the whole cost of extensions for a function without them.
    pub(crate) fn extensions_want_invoke(&self) -> bool {
        self.api.extensions_want_invoke()
    }

    /// Hands the invocation to the extensions subscribed to INVOKE, before the runtime
    /// gets it.
    pub(crate) fn invoke_extensions(&self, invocation: &Invocation) {
        self.api.invoke_extensions(&InvokeEvent {
            request_id: invocation.request_id.clone(),
            deadline_ms: invocation.deadline_ms,
            invoked_function_arn: invocation.invoked_function_arn.clone(),
            trace_id: invocation.trace_id.clone(),
        });
    }

    /// Waits, after the runtime's response, until every extension subscribed to INVOKE
    /// asked for its next event, the invocation's `deadline` passes (its timeout covers
    /// both), or an extension's process ends.
    pub(crate) async fn await_extensions(&mut self, deadline: Instant) -> AfterRuntime {
        let exits = self.extensions.as_mut().and_then(|e| e.exits.as_mut());
        let crashed = crashed(exits, &self.api);
        let end = tokio::select! {
            biased;
            () = self.api.extensions_invoke_done() => AfterRuntime::Done,
            (name, status) = crashed => AfterRuntime::Crashed { name, status },
            () = tokio::time::sleep_until(deadline.into()) => AfterRuntime::TimedOut,
        };
        match &end {
            AfterRuntime::Done => {}
            AfterRuntime::TimedOut => self.set_shutdown_reason(ShutdownReason::Timeout),
            AfterRuntime::Crashed { .. } => self.set_shutdown_reason(ShutdownReason::Failure),
        }
        end
    }

    /// Whether an extension reported an error (`exit/error`): the environment is then
    /// retired (reason `failure`). Takes a lock: asked only of invocations extensions took.
    pub(crate) fn extension_failed(&mut self) -> bool {
        let failed = self.api.extension_failure().is_some();
        if failed {
            self.set_shutdown_reason(ShutdownReason::Failure);
        }
        failed
    }

    /// Whether the environment started external extensions, which hear of its end.
    pub(super) fn shuts_down_extensions(&self) -> bool {
        self.extensions.as_ref().is_some_and(|e| !e.killed)
    }

    pub(super) fn set_shutdown_reason(&mut self, reason: ShutdownReason) {
        if let Some(e) = &mut self.extensions {
            e.reason = reason;
        }
    }

    pub(super) fn extensions_killed(&mut self) {
        if let Some(e) = &mut self.extensions {
            e.killed = true;
        }
    }
}

/// The end of an external extension's process, as its sandbox reports it (`exits`:
/// the process backend's children) or as the jail's watcher tells the Runtime API.
pub(super) async fn crashed(
    exits: Option<&mut ExtensionExits>,
    api: &RuntimeApi,
) -> (String, ExitStatus) {
    let from_sandbox = async {
        match exits {
            Some(exits) => exits.next().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        exit = from_sandbox => exit,
        (name, raw) = api.extension_exit() => (name, ExitStatus::from_raw(raw)),
    }
}

impl Drop for Environment {
    /// The shutdown phase ([`super::shutdown`]) of an environment that registered
    /// extensions, from a task of its own (the server's stop waits for it). Without
    /// extensions, or without a tokio runtime (the process is ending), there is no
    /// phase: the processes go at once.
    fn drop(&mut self) {
        let external = self
            .extensions
            .as_ref()
            .filter(|e| !e.killed)
            .map(|e| e.reason);
        // An internal-only environment whose runtime is gone has nobody to tell.
        let internal = self.api.internal_extensions_registered()
            && (external.is_some() || !self.instance.has_exited());
        let Some(plan) = shutdown::plan(external.is_some(), internal) else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let ending = shutdown::Ending {
            plan,
            reason: external.unwrap_or(ShutdownReason::Spindown),
            instance: self.instance.take(),
            api: Arc::clone(&self.api),
            logs: Arc::clone(&self.logs),
        };
        match &self.phases {
            Some(phases) => phases.spawn(&runtime, shutdown::run(ending)),
            None => drop(runtime.spawn(shutdown::run(ending))),
        }
    }
}
