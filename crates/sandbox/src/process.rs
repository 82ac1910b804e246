//! The `process` backend: the runtime is a plain child process in its own process
//! group. No isolation at all — for development only.

use std::process::Stdio;

use tokio::process::Command;

use crate::instance::spawn_with_output;
use crate::{GuestPaths, Instance, Prepared, Sandbox, SandboxError, SandboxSpec};

/// Open files a function may have (Lambda's limit).
const FUNCTION_NOFILE: u64 = 1024;

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
        let xray = crate::xray::bind_host().map_err(SandboxError::Network)?;
        Ok(Prepared::loopback()?.with_xray_socket(xray))
    }

    fn spawn(&self, spec: &SandboxSpec, _prepared: Prepared) -> Result<Instance, SandboxError> {
        let mut cmd = Command::new(&spec.program);
        cmd.args(&spec.args)
            .env_clear()
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&spec.task_root)
            .stdin(Stdio::null());
        // The server raises its own descriptor limit; a function gets Lambda's 1024, as
        // in the jail.
        // SAFETY: the closure runs in the forked child before exec and only makes one
        // system call (setrlimit is async-signal-safe); it allocates nothing and takes no lock.
        #[allow(unsafe_code)]
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::resource::setrlimit(
                    nix::sys::resource::Resource::RLIMIT_NOFILE,
                    FUNCTION_NOFILE,
                    FUNCTION_NOFILE,
                )
                .map_err(std::io::Error::from)
            });
        }
        let (child, output) = spawn_with_output(cmd, &spec.program)?;
        let pid = child.id().unwrap_or_default();
        Ok(Instance::new(child, pid, output, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_environment_gets_a_daemon_socket_on_a_free_loopback_port() {
        let mut prepared = ProcessSandbox.prepare().expect("prepared");
        let socket = prepared.take_xray_socket().expect("a daemon socket");
        let addr = socket.local_addr().expect("bound");
        assert_eq!(addr.ip(), std::net::Ipv4Addr::LOCALHOST);
        assert_ne!(addr.port(), 0);
        assert!(prepared.take_xray_socket().is_none(), "taken once");
    }
}
