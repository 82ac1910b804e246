//! The shutdown phase of an environment with extensions (docs/extensions.md), as AWS's
//! "Lambda execution environment lifecycle" documents it: the runtime gets SIGTERM and
//! a share of the phase to exit, then the external extensions subscribed to SHUTDOWN
//! get the event and the rest of it; whoever is left at the limit is killed. It runs in
//! a task of its own, which the server's stop waits for ([`ShutdownPhases`]).
//!
//! A function without extensions pays one atomic load when its environment goes (the
//! registry's "an internal extension registered") and has no phase: its processes are
//! killed at once.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hearth_model::time::now_ms;
use hearth_runtime_api::{RuntimeApi, ShutdownReason};
use hearth_sandbox::Instance;

use super::super::in_flight::InFlight;
use super::super::logs::LogCollector;

/// The phase's limit with one or more registered external extensions.
pub(crate) const EXTERNAL_LIMIT: Duration = Duration::from_millis(2000);
/// The phase's limit with registered internal extensions only.
pub(crate) const INTERNAL_LIMIT: Duration = Duration::from_millis(500);
/// The runtime's share of [`EXTERNAL_LIMIT`] to exit after SIGTERM ("up to 300 ms").
pub(crate) const RUNTIME_SHARE: Duration = Duration::from_millis(300);
/// The runtime's share of [`EXTERNAL_LIMIT`] when an internal extension registered too
/// ("500 ms for a runtime with an internal extension").
pub(crate) const RUNTIME_SHARE_WITH_INTERNAL: Duration = Duration::from_millis(500);

/// How an environment's shutdown phase goes, by the extensions it registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    /// From SIGTERM to the kill of whoever is left.
    pub limit: Duration,
    /// How long the runtime has to exit before the extensions get SHUTDOWN.
    pub runtime_share: Duration,
    /// Whether external extensions get SHUTDOWN.
    pub external: bool,
}

/// The phase for an environment with registered `external` and `internal` extensions;
/// none without extensions (Lambda's limit is then 0 ms).
pub(crate) fn plan(external: bool, internal: bool) -> Option<Plan> {
    match (external, internal) {
        (false, false) => None,
        (false, true) => Some(Plan {
            limit: INTERNAL_LIMIT,
            runtime_share: INTERNAL_LIMIT,
            external: false,
        }),
        (true, internal) => Some(Plan {
            limit: EXTERNAL_LIMIT,
            runtime_share: if internal {
                RUNTIME_SHARE_WITH_INTERNAL
            } else {
                RUNTIME_SHARE
            },
            external: true,
        }),
    }
}

/// What a phase takes over from its environment.
pub(super) struct Ending {
    pub plan: Plan,
    pub reason: ShutdownReason,
    pub instance: Instance,
    pub api: Arc<RuntimeApi>,
    pub logs: Arc<LogCollector>,
}

/// Runs one environment's shutdown phase: SIGTERM to the runtime alone; its share to
/// exit; the Telemetry API's subscribers flushed (their last `platform.report` may still
/// wait in a buffer) while their listeners still run; SHUTDOWN to the external
/// extensions subscribed to it, whose `deadlineMs` is the phase's limit, until each
/// asked for its next event; then every process is killed.
///
/// In a jail the runtime's exit is not seen apart from the environment's (its reaper
/// outlives it while extensions run): the runtime's share is then waited in full unless
/// the whole environment ended.
pub(super) async fn run(ending: Ending) {
    let Ending {
        plan,
        reason,
        mut instance,
        api,
        logs,
    } = ending;
    let deadline = tokio::time::Instant::now() + plan.limit;
    let deadline_ms = now_ms() + plan.limit.as_millis() as i64;
    instance.terminate_runtime();
    let _ = tokio::time::timeout(plan.runtime_share, instance.wait()).await;
    if api.telemetry().is_active() {
        let _ = tokio::time::timeout_at(deadline, api.telemetry().shutdown()).await;
    }
    if plan.external && api.shutdown_extensions(reason, deadline_ms) > 0 {
        let _ = tokio::time::timeout_at(deadline, api.extensions_shutdown_done()).await;
    }
    instance.kill();
    let _ = tokio::time::timeout(Duration::from_secs(5), instance.wait()).await;
    // The last of their output goes to the log when the collector goes.
    drop(logs);
    drop(api);
}

/// The shutdown phases under way, which the server's stop waits for.
#[derive(Debug, Default)]
pub(crate) struct ShutdownPhases {
    running: InFlight,
}

impl ShutdownPhases {
    /// Runs `phase` on `runtime`, counted until it ends.
    pub(super) fn spawn(
        &self,
        runtime: &tokio::runtime::Handle,
        phase: impl Future<Output = ()> + Send + 'static,
    ) {
        let running = self.running.start();
        runtime.spawn(async move {
            phase.await;
            drop(running);
        });
    }

    /// How many phases are under way.
    pub(crate) fn running(&self) -> usize {
        self.running.count()
    }

    /// Waits until no phase is under way (each is bounded by its limit and the kill).
    pub(crate) async fn finished(&self) {
        self.running.finished().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_follow_the_registered_extensions() {
        assert_eq!(plan(false, false), None);
        assert_eq!(
            plan(false, true),
            Some(Plan {
                limit: Duration::from_millis(500),
                runtime_share: Duration::from_millis(500),
                external: false,
            })
        );
        assert_eq!(
            plan(true, false),
            Some(Plan {
                limit: Duration::from_millis(2000),
                runtime_share: Duration::from_millis(300),
                external: true,
            })
        );
        assert_eq!(
            plan(true, true),
            Some(Plan {
                limit: Duration::from_millis(2000),
                runtime_share: Duration::from_millis(500),
                external: true,
            })
        );
    }

    #[tokio::test]
    async fn phases_are_counted_until_they_end() {
        let phases = ShutdownPhases::default();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        phases.spawn(&tokio::runtime::Handle::current(), async move {
            let _ = rx.await;
        });
        assert_eq!(phases.running(), 1);
        tx.send(()).expect("the phase waits");
        phases.finished().await;
        assert_eq!(phases.running(), 0);
    }
}
