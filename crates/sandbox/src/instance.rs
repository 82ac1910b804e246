//! A running environment's processes.

use std::process::ExitStatus;

use rustix::process::{kill_process_group, Pid, Signal};
use tokio::net::unix::pipe;
use tokio::process::Child;

/// The runtime process of one environment, leader of its own process group.
pub struct Instance {
    child: Child,
    pid: u32,
    output: Option<pipe::Receiver>,
}

impl Instance {
    pub(crate) fn new(child: Child, pid: u32, output: pipe::Receiver) -> Self {
        Self {
            child,
            pid,
            output: Some(output),
        }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The merged stdout/stderr pipe; taken once by the log collector.
    pub fn take_output(&mut self) -> Option<pipe::Receiver> {
        self.output.take()
    }

    /// Kills every process in the environment's process group, including ones the
    /// runtime started in the background.
    pub fn kill(&mut self) {
        if let Some(pid) = i32::try_from(self.pid).ok().and_then(Pid::from_raw) {
            // ESRCH (already gone) is the only expected failure and needs no handling.
            let _ = kill_process_group(pid, Signal::KILL);
        }
        let _ = self.child.start_kill();
    }

    /// Whether the runtime process has exited (without waiting).
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// The peak resident memory of the runtime process, in bytes.
    pub fn peak_memory_bytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb * 1024)
    }

    /// Waits for the runtime process to exit.
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}
