//! Making an environment ahead of need, up to the point where it waits for a function:
//! its network namespace (with the Runtime API listener), cgroup, `/tmp` and init
//! process (forked by the zygote), which joins them and builds the root on its own
//! while Hearth moves on.

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustix::process::{kill_process_group, Pid, Signal};
use tokio::net::unix::pipe;

use super::cgroup::{Cgroup, CgroupManager, Limits};
use super::netns::NetNs;
use super::spec::{Enter, Tmp};
use super::teardown::JailResources;
use super::tmpdisk::{TmpDisk, TmpDisks};
use super::zygote::Zygote;
use super::{handoff, seccomp};
use super::{DEFAULT_TMP_MB, SANDBOX_GID, SANDBOX_UID};
use crate::instance::Adopted;
use crate::SandboxError;

/// Memory limit of an environment made ahead, until its function's applies: Lambda's
/// smallest, so a function's limit only ever raises it.
const WAITING_MEMORY_MB: u64 = 128;
/// CPU during the init phase (and while waiting): one whole CPU.
pub const INIT_CPU_MILLIS: u64 = 1000;

/// Every environment's host name.
pub const HOSTNAME: &str = "localhost";

/// The limits an environment waits under.
pub fn waiting_limits() -> Limits {
    Limits {
        cpu_millis: INIT_CPU_MILLIS,
        ..Limits::for_memory_mb(WAITING_MEMORY_MB)
    }
}

/// What making environments needs; shared by the refill workers and claims.
pub struct Maker {
    /// Forks the environments' init processes.
    pub zygote: Zygote,
    /// The `hearth` binary, run as `hearth __jail-init` (the zygote).
    pub exe: PathBuf,
    /// The empty directory every environment assembles its root on, each in its own
    /// mount namespace: on the host it stays empty. One for all, not one each: making and
    /// removing a directory per environment took the data directory's lock and inode
    /// allocation (with reads from disk) in every burst of new environments.
    pub root: PathBuf,
    /// The synthetic `/etc` ([`super::mounts::build_etc`]).
    pub etc: PathBuf,
    /// `/tmp` disks, when the host has loop devices and mkfs.ext4.
    pub disks: Option<Arc<TmpDisks>>,
    pub cgroups: Arc<dyn CgroupManager>,
    pub seccomp: seccomp::CompiledFilter,
    /// Outbound networking, when the host allows it.
    pub egress: Option<Arc<super::egress::Egress>>,
}

/// An environment made ahead: its namespaces, cgroup and waiting init process. Dropped
/// unused, it removes all of them.
pub struct Slot {
    pub parts: Option<SlotParts>,
    /// Where the `/tmp` disk goes back to.
    pub disks: Option<Arc<TmpDisks>>,
}

pub struct SlotParts {
    pub id: String,
    pub netns: NetNs,
    pub cgroup: Arc<dyn Cgroup>,
    /// The init process.
    pub child: Adopted,
    pub output: pipe::Receiver,
    /// Hearth's end of the init process's control socket.
    pub control: OwnedFd,
    /// The `/tmp` made ahead.
    pub tmp: Tmp,
    /// Its disk, to give back at the end.
    pub tmp_disk: Option<TmpDisk>,
}

fn jail_err(what: &str, e: &dyn std::fmt::Display) -> SandboxError {
    SandboxError::Jail(format!("{what}: {e}"))
}

impl Maker {
    /// Starts an environment; it is ready for a function once [`Slot::wait_ready`]
    /// says so. Must run inside the tokio runtime (the output pipe is a tokio one).
    pub fn make(&self) -> Result<Slot, SandboxError> {
        let t0 = std::time::Instant::now(); // each step timed, for the debug line below
        let netns = NetNs::create(self.egress.as_ref()).map_err(SandboxError::Network)?;
        let t_net = t0.elapsed();
        let id = unique_id();
        let cgroup: Arc<dyn Cgroup> = Arc::from(
            self.cgroups
                .create(&format!("env-{id}"), &waiting_limits())
                .map_err(|e| jail_err("cgroup", &e))?,
        );
        // Until the slot owns it, a failure removes the cgroup (the namespace goes with
        // the last handle to it).
        let mut unmade = Unmade {
            cgroup: Some(cgroup.clone()),
        };
        let t_cgroup = t0.elapsed();
        let (tmp, tmp_mount, tmp_disk) = match &self.disks {
            Some(disks) => match disks.take(&id, DEFAULT_TMP_MB) {
                Ok((mount, disk)) => (Tmp::Disk { mb: DEFAULT_TMP_MB }, Some(mount), disk),
                Err(e) if super::tmpdisk::no_space(&e) => {
                    tracing::warn!("no room for a /tmp disk in the data directory: this environment's /tmp is a tmpfs");
                    (Tmp::Tmpfs { mb: DEFAULT_TMP_MB }, None, None)
                }
                Err(e) => return Err(jail_err("/tmp", &e)),
            },
            None => (Tmp::Tmpfs { mb: DEFAULT_TMP_MB }, None, None),
        };
        let enter = Enter {
            cgroup_procs: cgroup.procs_files(),
            netns: netns.path(),
            root: self.root.clone(),
            etc: self.etc.clone(),
            hostname: HOSTNAME.into(),
            uid: SANDBOX_UID,
            gid: SANDBOX_GID,
            tmp,
            seccomp: Some(self.seccomp.clone()),
        };
        let (control, theirs) = handoff::pair().map_err(SandboxError::Pipe)?;
        // The environment's stdout and stderr: Hearth's end reports EOF once every
        // process of the environment is gone.
        let (reader, writer) = std::io::pipe().map_err(SandboxError::Pipe)?;
        let output =
            pipe::Receiver::from_owned_fd(OwnedFd::from(reader)).map_err(SandboxError::Pipe)?;
        let t_tmp = t0.elapsed();
        let child = self
            .zygote
            .fork(enter, theirs, OwnedFd::from(writer))
            .map_err(|source| SandboxError::Spawn {
                program: self.exe.display().to_string(),
                source,
            })?;
        tracing::debug!(
            netns_us = micros(t_net),
            cgroup_us = micros(t_cgroup - t_net),
            tmp_us = micros(t_tmp - t_cgroup),
            fork_us = micros(t0.elapsed() - t_tmp),
            "environment made ahead"
        );
        // The slot owns these now and undoes them if dropped.
        unmade.cgroup = None;
        let slot = Slot {
            disks: self.disks.clone(),
            parts: Some(SlotParts {
                id,
                netns,
                cgroup,
                child,
                output,
                control,
                tmp,
                tmp_disk,
            }),
        };
        if let (Some(mount), Some(parts)) = (tmp_mount, &slot.parts) {
            handoff::send_tmp(&parts.control, mount).map_err(|e| jail_err("/tmp", &e))?;
        }
        Ok(slot)
    }
}

impl Slot {
    /// Whether the environment's init process still runs (it dies with the zygote, for
    /// one, and an environment waiting in the pool may be killed).
    pub fn is_alive(&self) -> bool {
        self.parts
            .as_ref()
            .is_some_and(|p| p.child.status.borrow().is_none())
    }

    /// Waits until the environment has built its root and its runtime process waits
    /// for a function; on failure, says why with what the environment printed.
    pub fn wait_ready(&mut self, limit: Duration) -> Result<(), SandboxError> {
        let parts = self
            .parts
            .as_mut()
            .ok_or_else(|| SandboxError::Jail("environment already used".into()))?;
        handoff::wait_ready(&parts.control, limit).map_err(|e| {
            let mut said = String::new();
            let mut buf = [0u8; 4096];
            if let Ok(n) = parts.output.try_read(&mut buf) {
                said = String::from_utf8_lossy(&buf[..n]).trim().to_string();
            }
            jail_err("environment made ahead failed", &format!("{e}: {said}"))
        })
    }
}

/// What [`Maker::make`] created before the slot owns it, removed should it fail.
struct Unmade {
    cgroup: Option<Arc<dyn Cgroup>>,
}

impl Drop for Unmade {
    fn drop(&mut self) {
        if let Some(cgroup) = self.cgroup.take() {
            drop(JailResources {
                cgroup,
                cpu_millis: None,
                netns: None,
                tmp: None,
            });
        }
    }
}

impl Slot {
    fn tmp_back(&self, disk: Option<TmpDisk>) -> Option<(Arc<TmpDisks>, Vec<TmpDisk>)> {
        Some((self.disks.clone()?, vec![disk?]))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(p) = self.parts.take() {
            // The reaper and everything in the PID namespace die with init, which leads
            // a process group of its own.
            if p.child.status.borrow().is_none() {
                if let Some(pid) = i32::try_from(p.child.pid).ok().and_then(Pid::from_raw) {
                    let _ = kill_process_group(pid, Signal::KILL);
                }
            }
            drop(JailResources {
                cgroup: p.cgroup,
                cpu_millis: None,
                netns: Some(p.netns),
                tmp: self.tmp_back(p.tmp_disk),
            });
        }
    }
}

/// Microseconds, for the debug lines that time each step.
pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
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
