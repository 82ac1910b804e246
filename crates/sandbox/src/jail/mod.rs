//! The `jail` backend: each environment in its own mount, PID, IPC, UTS, cgroup and
//! network namespaces, under cgroup limits (memory, CPU in proportion to memory,
//! pids), on a read-only root assembled from what the runtime needs, as an
//! unprivileged user with no capabilities, `no_new_privs` and a seccomp filter.
//!
//! Hearth starts `hearth __jail-init` ([`init::main`]) with a [`JailSpec`]; that process
//! builds the environment and execs the runtime. See `init.rs` for the process tree.

pub mod cgroup;
pub mod init;
mod mounts;
mod netns;
pub mod seccomp;
mod spec;

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use tokio::net::unix::pipe;
use tokio::process::Command;

pub use netns::RUNTIME_API_ADDR;
pub use spec::{JailSpec, INIT_ARG, SPEC_ENV};

use crate::{GuestPaths, Instance, Prepared, Sandbox, SandboxError, SandboxSpec, Teardown};
use cgroup::{Cgroup, CgroupManager, Limits};
use netns::NetNs;

/// Lambda runs functions as an unprivileged user (`sbx_user1051`, uid 993).
const SANDBOX_UID: u32 = 993;
const SANDBOX_GID: u32 = 990;
/// CPU during the init phase: one whole CPU.
const INIT_CPU_MILLIS: u64 = 1000;

/// The jail backend. Needs root (or the equivalent capabilities) on the host.
#[derive(Debug)]
pub struct JailSandbox {
    /// The `hearth` binary, re-executed as `hearth __jail-init`.
    exe: PathBuf,
    /// Where environment roots are assembled (empty mount points on the host).
    roots: PathBuf,
    cgroups: Arc<dyn CgroupManager>,
    seccomp: bool,
}

impl JailSandbox {
    /// Checks the host can jail and finds the cgroup hierarchy. `work_dir` holds the
    /// per-environment root mount points.
    pub fn new(exe: PathBuf, work_dir: &Path) -> Result<Self, SandboxError> {
        if !nix::unistd::geteuid().is_root() {
            return Err(SandboxError::Jail(
                "the jail sandbox needs root (namespaces, mounts, cgroups); run as root or use --sandbox process".into(),
            ));
        }
        let cgroups = cgroup::detect().map_err(|e| SandboxError::Jail(format!("cgroups: {e}")))?;
        seccomp::filter().map_err(|e| SandboxError::Jail(format!("seccomp: {e}")))?;
        let roots = work_dir.join("roots");
        std::fs::create_dir_all(&roots)
            .map_err(|e| SandboxError::Jail(format!("{}: {e}", roots.display())))?;
        Ok(Self {
            exe,
            roots,
            cgroups: Arc::from(cgroups),
            seccomp: true,
        })
    }
}

/// What an environment holds on the host, removed when it is dropped.
struct JailResources {
    cgroup: Arc<dyn Cgroup>,
    /// The CPU share the function's memory buys, applied after init.
    cpu_millis: u64,
    root: PathBuf,
    _netns: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl Teardown for JailResources {
    fn peak_memory_bytes(&self) -> Option<u64> {
        self.cgroup.peak_memory_bytes()
    }

    fn oom_killed(&self) -> bool {
        self.cgroup.oom_kills() > 0
    }

    fn kill_all(&self) {
        if let Err(e) = self.cgroup.kill_all() {
            tracing::warn!(error = %e, "could not kill an environment's processes");
        }
    }

    fn init_done(&self) {
        if let Err(e) = self.cgroup.set_cpu_millis(self.cpu_millis) {
            tracing::warn!(error = %e, "could not set an environment's CPU limit");
        }
    }
}

impl Drop for JailResources {
    fn drop(&mut self) {
        // Killing and removing a cgroup can wait on the kernel for a while: not on the
        // thread that dropped the environment, which may be serving requests.
        let cgroup = self.cgroup.clone();
        let root = self.root.clone();
        let spawned = std::thread::Builder::new()
            .name("hearth-teardown".into())
            .spawn(move || {
                if let Err(e) = cgroup.destroy() {
                    tracing::warn!(error = %e, "could not remove an environment's cgroup");
                }
                // The mounts lived in the environment's own mount namespace; on the host
                // this is an empty directory.
                let _ = std::fs::remove_dir(&root);
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not start environment teardown");
        }
    }
}

impl Sandbox for JailSandbox {
    fn name(&self) -> &'static str {
        "jail"
    }

    fn guest_paths(&self) -> GuestPaths {
        GuestPaths::Lambda
    }

    fn prepare(&self) -> Result<Prepared, SandboxError> {
        let ns = NetNs::create().map_err(SandboxError::Network)?;
        let listener = ns.listener.try_clone().map_err(SandboxError::Network)?;
        Ok(Prepared::new(listener, Some(Box::new(ns))))
    }

    fn spawn(&self, spec: &SandboxSpec, prepared: Prepared) -> Result<Instance, SandboxError> {
        let jail_err =
            |what: &str, e: &dyn std::fmt::Display| SandboxError::Jail(format!("{what}: {e}"));
        let netns_path = prepared
            .keep
            .as_ref()
            .and_then(|k| k.downcast_ref::<NetNs>().map(NetNs::path))
            .ok_or_else(|| SandboxError::Jail("environment was not prepared by the jail".into()))?;
        let id = unique_id();
        let root = self.roots.join(&id);
        std::fs::create_dir(&root).map_err(|e| jail_err("root", &e))?;
        let limits = Limits::for_memory_mb(spec.memory_mb);
        // Like Lambda, init runs with a whole CPU whatever the memory size; the
        // function's share applies from its first event on.
        let init_limits = Limits {
            cpu_millis: limits.cpu_millis.max(INIT_CPU_MILLIS),
            ..limits
        };
        let cgroup = self
            .cgroups
            .create(&format!("env-{id}"), &init_limits)
            .map_err(|e| jail_err("cgroup", &e))?;
        let resources = JailResources {
            cgroup: Arc::from(cgroup),
            cpu_millis: limits.cpu_millis,
            root: root.clone(),
            _netns: prepared.keep,
        };
        let jail = JailSpec {
            program: spec.program.clone(),
            args: spec.args.clone(),
            env: spec.env.clone(),
            hostname: "localhost".into(),
            task_root: spec.task_root.clone(),
            runtime_dir: spec.runtime_dir.clone(),
            ro_paths: spec.ro_paths.clone(),
            root,
            tmp_mb: spec.ephemeral_storage_mb,
            cgroup_procs: resources.cgroup.procs_files(),
            netns: netns_path,
            uid: SANDBOX_UID,
            gid: SANDBOX_GID,
            seccomp: self.seccomp,
        };
        let json = serde_json::to_string(&jail).map_err(|e| jail_err("spec", &e))?;
        let (reader, writer) = std::io::pipe().map_err(SandboxError::Pipe)?;
        let writer2 = writer.try_clone().map_err(SandboxError::Pipe)?;
        let mut cmd = Command::new(&self.exe);
        cmd.arg(INIT_ARG)
            .env_clear()
            .env(SPEC_ENV, json)
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::from(writer2))
            .process_group(0)
            .kill_on_drop(true);
        let child = cmd.spawn().map_err(|source| SandboxError::Spawn {
            program: self.exe.display().to_string(),
            source,
        })?;
        drop(cmd);
        let pid = child.id().unwrap_or_default();
        let output =
            pipe::Receiver::from_owned_fd(OwnedFd::from(reader)).map_err(SandboxError::Pipe)?;
        Ok(Instance::new(child, pid, output, Some(Box::new(resources))))
    }
}

fn unique_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
