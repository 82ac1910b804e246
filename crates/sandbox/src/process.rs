//! The `process` backend: the runtime is a plain child process in its own process
//! group. No isolation at all — for development only.

use std::os::fd::OwnedFd;
use std::process::Stdio;

use tokio::net::unix::pipe;
use tokio::process::Command;

use crate::{GuestPaths, Instance, Prepared, Sandbox, SandboxError, SandboxSpec};

#[derive(Debug, Default, Clone, Copy)]
pub struct ProcessSandbox;

impl Sandbox for ProcessSandbox {
    fn name(&self) -> &'static str {
        "process"
    }

    fn guest_paths(&self) -> GuestPaths {
        GuestPaths::Host
    }

    fn prepare(&self) -> Result<Prepared, SandboxError> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(SandboxError::Network)?;
        Ok(Prepared::new(listener, None))
    }

    fn spawn(&self, spec: &SandboxSpec, _prepared: Prepared) -> Result<Instance, SandboxError> {
        let (reader, writer) = std::io::pipe().map_err(SandboxError::Pipe)?;
        let writer2 = writer.try_clone().map_err(SandboxError::Pipe)?;
        let mut cmd = Command::new(&spec.program);
        cmd.args(&spec.args)
            .env_clear()
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&spec.task_root)
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::from(writer2))
            .process_group(0)
            .kill_on_drop(true);
        let child = cmd.spawn().map_err(|source| SandboxError::Spawn {
            program: spec.program.display().to_string(),
            source,
        })?;
        // `cmd` still holds the parent's copies of the write ends; dropping it closes
        // them so the pipe reports EOF once the environment's processes are gone.
        drop(cmd);
        let pid = child.id().unwrap_or_default();
        let output =
            pipe::Receiver::from_owned_fd(OwnedFd::from(reader)).map_err(SandboxError::Pipe)?;
        Ok(Instance::new(child, pid, output, None))
    }
}
