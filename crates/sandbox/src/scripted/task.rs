//! A scripted runtime as the [`crate::Instance`] sees it: an in-process task standing
//! in for a process, whose exit status is a watch the task (or a kill) sets once.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::AbortHandle;

/// `signal: killed`, as a killed process reports.
const SIGKILL: i32 = 9;

/// Where a scripted runtime's end is recorded: by the runtime when its script exits,
/// or by [`Task::kill`].
#[derive(Clone)]
pub(crate) struct ExitSlot(Arc<watch::Sender<Option<ExitStatus>>>);

impl ExitSlot {
    pub(crate) fn new() -> Self {
        Self(Arc::new(watch::channel(None).0))
    }

    /// Records the end; the first one recorded stands.
    pub(crate) fn set(&self, status: ExitStatus) {
        self.0.send_if_modified(|slot| {
            if slot.is_some() {
                return false;
            }
            *slot = Some(status);
            true
        });
    }

    pub(crate) fn get(&self) -> Option<ExitStatus> {
        *self.0.borrow()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<Option<ExitStatus>> {
        self.0.subscribe()
    }
}

/// The "process" of a scripted environment.
pub(crate) struct Task {
    exit: ExitSlot,
    status: watch::Receiver<Option<ExitStatus>>,
    handle: AbortHandle,
}

impl Task {
    pub(crate) fn new(exit: ExitSlot, handle: AbortHandle) -> Self {
        Self {
            status: exit.subscribe(),
            exit,
            handle,
        }
    }

    /// Ends the runtime where it is, as SIGKILL ends a process: its output pipe and
    /// Runtime API connections close as the task is dropped.
    pub(crate) fn kill(&self) {
        self.handle.abort();
        self.exit.set(ExitStatus::from_raw(SIGKILL));
    }

    pub(crate) fn has_exited(&self) -> bool {
        self.exit.get().is_some()
    }

    pub(crate) async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        let status = self
            .status
            .wait_for(Option::is_some)
            .await
            .map_err(|_| std::io::Error::other("the scripted runtime's exit slot is gone"))?;
        (*status).ok_or_else(|| std::io::Error::other("no exit status"))
    }
}
