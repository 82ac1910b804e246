//! A running environment's processes.

use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{ExitStatus, Stdio};

use rustix::process::{kill_process, kill_process_group, Pid, Signal};
use tokio::net::unix::pipe;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};

use crate::reread::{vm_hwm_bytes, Reread};
use crate::SandboxError;

/// Starts `cmd` as the leader of its own process group, with stdout and stderr merged
/// into one non-blocking pipe (the environment's log) and killed if the handle drops.
/// The caller makes the pipe (and may have given its write end to other processes of
/// the environment: extensions).
pub(crate) fn spawn_on_pipe(
    mut cmd: Command,
    program: &Path,
    (reader, writer): (std::io::PipeReader, std::io::PipeWriter),
) -> Result<(Child, pipe::Receiver), SandboxError> {
    let writer2 = writer.try_clone().map_err(SandboxError::Pipe)?;
    cmd.stdout(Stdio::from(writer))
        .stderr(Stdio::from(writer2))
        .process_group(0)
        .kill_on_drop(true);
    let child = cmd.spawn().map_err(|source| SandboxError::Spawn {
        program: program.display().to_string(),
        source,
    })?;
    // `cmd` still holds the parent's copies of the write ends; dropping it closes them
    // so the pipe reports EOF once the environment's processes are gone.
    drop(cmd);
    let output =
        pipe::Receiver::from_owned_fd(OwnedFd::from(reader)).map_err(SandboxError::Pipe)?;
    Ok((child, output))
}

/// Backend-specific parts of an environment: resource accounting and teardown (its
/// `Drop` removes whatever the backend created).
pub trait Teardown: Send + Sync {
    /// Peak memory of the whole environment, in bytes.
    fn peak_memory_bytes(&self) -> Option<u64>;
    /// Whether the kernel killed a process of the environment for exceeding memory.
    fn oom_killed(&self) -> bool;
    /// Kills every process of the environment, wherever it went.
    fn kill_all(&self);
    /// Called when the runtime has finished its init phase.
    fn init_done(&self) {}
    /// What reads the environment's use of the host (see [`crate::usage`]).
    fn usage_source(&self) -> Option<std::sync::Arc<dyn crate::UsageSource>> {
        None
    }
}

/// A process Hearth did not start itself (the jail's zygote forks it) and learns the
/// exit of from whoever reaps it.
pub(crate) struct Adopted {
    pub pid: u32,
    /// `None` until the process has ended.
    pub status: watch::Receiver<Option<ExitStatus>>,
}

/// The process Hearth waits for.
enum Process {
    Child(Child),
    Adopted(Adopted),
    /// Taken out by [`Instance::take`]: nothing left to wait for or kill.
    Gone,
    /// Not an OS process: the scripted sandbox's in-process runtime.
    #[cfg(any(test, feature = "scripted"))]
    Task(crate::scripted::Task),
}

/// The external extensions started beside the runtime (see [`crate::extensions`]).
pub(crate) struct ExtensionProcesses {
    /// Each leads its own process group, killed with the environment.
    pub pids: Vec<u32>,
    /// How each ended, with its name, as it ends.
    pub exits: mpsc::UnboundedReceiver<(String, ExitStatus)>,
}

/// Reports how an environment's external extensions end.
pub struct ExtensionExits(mpsc::UnboundedReceiver<(String, ExitStatus)>);

impl ExtensionExits {
    /// Waits for the next extension to end: its name and how. Never resolves once
    /// every one has been reported (so that it can sit in a `select!`).
    pub async fn next(&mut self) -> (String, ExitStatus) {
        match self.0.recv().await {
            Some(exit) => exit,
            None => std::future::pending().await,
        }
    }
}

/// The runtime process of one environment, leader of its own process group.
pub struct Instance {
    process: Process,
    pid: u32,
    output: Option<pipe::Receiver>,
    teardown: Option<Box<dyn Teardown>>,
    /// None for an environment without external extensions (or whose backend reports
    /// none).
    extensions: Option<ExtensionProcesses>,
    /// The external extensions' merged stdout/stderr, a pipe of their own: the
    /// environment's log gets it as the runtime's, the Telemetry API tells it apart
    /// (`extension` records).
    extension_output: Option<pipe::Receiver>,
    /// The runtime process's `/proc/PID/status`, read for its peak memory after every
    /// invocation (a process sandbox's; a jail reads its cgroup's).
    status: Reread,
}

impl Instance {
    pub(crate) fn new(
        child: Child,
        pid: u32,
        output: pipe::Receiver,
        teardown: Option<Box<dyn Teardown>>,
    ) -> Self {
        Self {
            process: Process::Child(child),
            pid,
            output: Some(output),
            teardown,
            extensions: None,
            extension_output: None,
            status: Reread::default(),
        }
    }

    /// The same instance with its external extensions' own output pipe.
    pub(crate) fn with_extension_output(mut self, output: Option<pipe::Receiver>) -> Self {
        self.extension_output = output;
        self
    }

    /// The same instance with its external extensions' processes.
    pub(crate) fn with_extensions(mut self, extensions: Option<ExtensionProcesses>) -> Self {
        self.extensions = extensions;
        self
    }

    /// How the external extensions' processes end, as they end; taken once. None for
    /// an environment without any.
    pub fn take_extension_exits(&mut self) -> Option<ExtensionExits> {
        let e = self.extensions.as_mut()?;
        let (_, empty) = mpsc::unbounded_channel();
        Some(ExtensionExits(std::mem::replace(&mut e.exits, empty)))
    }

    /// The external extensions' merged stdout/stderr, when they have a pipe of their own
    /// (the process sandbox); taken once. None when they write to the runtime's.
    pub fn take_extension_output(&mut self) -> Option<pipe::Receiver> {
        self.extension_output.take()
    }

    /// Takes the instance out, leaving one that has no process (for an environment
    /// that hands its processes to a task that ends them later).
    pub fn take(&mut self) -> Instance {
        let gone = Instance {
            process: Process::Gone,
            pid: 0,
            output: None,
            teardown: None,
            extensions: None,
            extension_output: None,
            status: Reread::default(),
        };
        std::mem::replace(self, gone)
    }

    pub(crate) fn adopted(
        process: Adopted,
        output: pipe::Receiver,
        teardown: Option<Box<dyn Teardown>>,
    ) -> Self {
        Self {
            pid: process.pid,
            process: Process::Adopted(process),
            output: Some(output),
            teardown,
            extensions: None,
            extension_output: None,
            status: Reread::default(),
        }
    }

    /// An in-process runtime that stands in for a process: it ends when `task` sets
    /// its exit status, and killing the instance aborts it.
    #[cfg(any(test, feature = "scripted"))]
    pub(crate) fn task(task: crate::scripted::Task, output: pipe::Receiver) -> Self {
        Self {
            process: Process::Task(task),
            pid: 0,
            output: Some(output),
            teardown: None,
            extensions: None,
            extension_output: None,
            status: Reread::default(),
        }
    }

    /// The runtime's process id (0 for a scripted runtime, which is no process).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The merged stdout/stderr pipe; taken once by the log collector.
    pub fn take_output(&mut self) -> Option<pipe::Receiver> {
        self.output.take()
    }

    /// Kills every process of the environment, including ones the runtime started in
    /// the background.
    pub fn kill(&mut self) {
        if let Process::Gone = self.process {
            return;
        }
        for pid in self.extensions.iter().flat_map(|e| &e.pids) {
            if let Some(pid) = i32::try_from(*pid).ok().and_then(Pid::from_raw) {
                // ESRCH (already gone) is the only expected failure.
                let _ = kill_process_group(pid, Signal::KILL);
            }
        }
        #[cfg(any(test, feature = "scripted"))]
        if let Process::Task(task) = &self.process {
            task.kill();
            return;
        }
        if let Some(pid) = i32::try_from(self.pid).ok().and_then(Pid::from_raw) {
            // ESRCH (already gone) is the only expected failure and needs no handling.
            let _ = kill_process_group(pid, Signal::KILL);
        }
        match &mut self.process {
            Process::Child(child) => {
                let _ = child.start_kill();
            }
            Process::Gone => {}
            #[cfg(any(test, feature = "scripted"))]
            Process::Task(_) => {}
            Process::Adopted(p) => {
                // Once its end is known its pid may be someone else's.
                if p.status.borrow().is_none() {
                    if let Some(pid) = i32::try_from(p.pid).ok().and_then(Pid::from_raw) {
                        let _ = kill_process(pid, Signal::KILL);
                    }
                }
            }
        }
        if let Some(t) = &self.teardown {
            t.kill_all();
        }
    }

    /// Sends SIGTERM to the runtime's process alone (not its group, nor the
    /// extensions): the start of the shutdown phase of an environment with extensions.
    /// In a jail the signal goes to the environment's init, which relays it to the
    /// reaper, which relays it to the runtime (see `jail::init`). Nothing for a process
    /// that already ended, or a scripted runtime.
    pub fn terminate_runtime(&mut self) {
        if self.has_exited() {
            return;
        }
        let pid = match &self.process {
            Process::Child(child) => child.id(),
            Process::Adopted(p) => Some(p.pid),
            Process::Gone => None,
            #[cfg(any(test, feature = "scripted"))]
            Process::Task(_) => None,
        };
        if let Some(pid) = pid
            .and_then(|p| i32::try_from(p).ok())
            .and_then(Pid::from_raw)
        {
            // ESRCH (ended meanwhile) is the only expected failure.
            let _ = kill_process(pid, Signal::TERM);
        }
    }

    /// Tells the backend the runtime finished init (a jail then lowers the CPU limit
    /// from the init phase's full CPU to the function's share).
    pub fn init_done(&self) {
        if let Some(t) = &self.teardown {
            t.init_done();
        }
    }

    /// Whether the runtime process has exited (without waiting).
    pub fn has_exited(&mut self) -> bool {
        match &mut self.process {
            Process::Child(child) => !matches!(child.try_wait(), Ok(None)),
            Process::Adopted(p) => p.status.borrow().is_some(),
            Process::Gone => true,
            #[cfg(any(test, feature = "scripted"))]
            Process::Task(task) => task.has_exited(),
        }
    }

    /// Whether the environment ran out of memory.
    pub fn oom_killed(&self) -> bool {
        self.teardown.as_ref().is_some_and(|t| t.oom_killed())
    }

    /// Peak memory of the environment in bytes: its cgroup's peak in a jail, the
    /// runtime process's peak resident size otherwise.
    pub fn peak_memory_bytes(&self) -> Option<u64> {
        if let Some(t) = &self.teardown {
            return t.peak_memory_bytes();
        }
        if let Process::Gone = self.process {
            return None;
        }
        #[cfg(any(test, feature = "scripted"))]
        if let Process::Task(_) = &self.process {
            return None;
        }
        self.status
            .with(|| format!("/proc/{}/status", self.pid).into(), vm_hwm_bytes)
    }

    /// What reads the environment's use of the host while it runs: its cgroup in a
    /// jail, the runtime process otherwise; none for a scripted runtime.
    pub fn usage_source(&self) -> Option<std::sync::Arc<dyn crate::UsageSource>> {
        if let Some(t) = &self.teardown {
            return t.usage_source();
        }
        if let Process::Gone = self.process {
            return None;
        }
        #[cfg(any(test, feature = "scripted"))]
        if let Process::Task(_) = &self.process {
            return None;
        }
        Some(std::sync::Arc::new(crate::usage::ProcUsage::new(self.pid)))
    }

    /// Waits for the runtime process to exit.
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        match &mut self.process {
            Process::Child(child) => child.wait().await,
            Process::Adopted(p) => {
                let status = p.status.wait_for(Option::is_some).await.map_err(|_| {
                    std::io::Error::other("the process that reaps this one is gone")
                })?;
                (*status).ok_or_else(|| std::io::Error::other("no exit status"))
            }
            Process::Gone => Err(std::io::Error::other("the instance was taken")),
            #[cfg(any(test, feature = "scripted"))]
            Process::Task(task) => task.wait().await,
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}
