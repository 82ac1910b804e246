//! cgroup limits and teardown for jailed environments: one [`CgroupManager`] trait with
//! a cgroup v1 ([`V1Manager`]) and a cgroup v2 ([`V2Manager`]) implementation.
//!
//! [`detect`] reads `/proc/self/mountinfo` and `/proc/self/cgroup` and picks the version
//! that carries the memory controller (v1 on hybrid hosts, v2 on unified ones). Every
//! environment cgroup lives under a base directory, `hearth` by default, placed inside
//! the cgroup Hearth itself runs in:
//!
//! - **v1**: `<mount of each controller>/<Hearth's path in that hierarchy>/hearth/<name>`
//!   for the memory, cpu, pids and freezer hierarchies (co-mounted ones counted once).
//! - **v2**: `<Hearth's cgroup>/hearth/<name>`. Because of the "no internal processes"
//!   rule, Hearth first moves its own processes into a `<own>/supervisor` leaf (as a
//!   systemd service with `Delegate=yes` would) and then enables `+memory +pids +cpu` in
//!   `<own>/cgroup.subtree_control` and `<own>/hearth/cgroup.subtree_control`.
//!
//! A controller that is not available (not mounted on v1, not delegated on v2) is a
//! [`CgroupError::ControllerUnavailable`] naming it; the caller decides whether to run
//! without limits. All operations are blocking file writes with short, bounded waits
//! (killing, `rmdir`): call them from a blocking context.

mod detect;
mod error;
mod fs;
mod kill;
mod locate;
mod parse;
mod v1;
mod v2;

#[cfg(test)]
mod live_tests;

use std::fmt;
use std::path::PathBuf;

pub use detect::{detect, detect_from, detect_named, DEFAULT_BASE};
pub use error::CgroupError;
pub use locate::{count_environments, environments_dir};
pub use v1::V1Manager;
pub use v2::V2Manager;

/// The CFS period every environment gets; its quota is a share of it.
pub const CPU_PERIOD_US: u64 = 100_000;
/// Lambda's ceiling on processes and threads per environment.
pub const DEFAULT_PIDS: u64 = 1024;
/// Lambda gives one full vCPU at 1769 MB of memory, proportionally less or more around it.
const MB_PER_VCPU: u64 = 1769;
/// The smallest CPU share handed out, so tiny functions still make progress.
const MIN_CPU_MILLIS: u64 = 10;
/// The kernel rejects CFS quotas below one millisecond.
const MIN_CPU_QUOTA_US: u64 = 1_000;

/// Resource limits of one environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Memory ceiling; swap does not extend it.
    pub memory_bytes: u64,
    /// CPU in thousandths of a CPU (1000 = one full CPU).
    pub cpu_millis: u64,
    /// Maximum number of processes and threads.
    pub pids: u64,
}

impl Limits {
    /// Lambda's limits for a function of `memory_mb`: that much memory, CPU in proportion
    /// (`memory_mb * 1000 / 1769`, at least 10) and [`DEFAULT_PIDS`].
    pub fn for_memory_mb(memory_mb: u64) -> Self {
        Limits {
            memory_bytes: memory_mb.saturating_mul(1024 * 1024),
            cpu_millis: (memory_mb.saturating_mul(1000) / MB_PER_VCPU).max(MIN_CPU_MILLIS),
            pids: DEFAULT_PIDS,
        }
    }

    /// The CFS quota per [`CPU_PERIOD_US`] that gives `cpu_millis`.
    pub fn cpu_quota_us(&self) -> u64 {
        cpu_quota_us(self.cpu_millis)
    }
}

/// The CFS quota per [`CPU_PERIOD_US`] for `cpu_millis` thousandths of a CPU.
pub fn cpu_quota_us(cpu_millis: u64) -> u64 {
    (CPU_PERIOD_US.saturating_mul(cpu_millis) / 1000).max(MIN_CPU_QUOTA_US)
}

/// Which cgroup interface a manager drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::V1 => "v1",
            Version::V2 => "v2",
        })
    }
}

/// Creates environment cgroups under Hearth's own hierarchy.
pub trait CgroupManager: Send + Sync + fmt::Debug {
    fn version(&self) -> Version;

    /// Creates the child cgroup `name` (1 to 64 of `A-Z a-z 0-9 _ -`) under Hearth's
    /// base with `limits` applied. A cgroup of that name must not exist yet.
    fn create(&self, name: &str, limits: &Limits) -> Result<Box<dyn Cgroup>, CgroupError>;

    /// The names of the environment cgroups under the base now (in any hierarchy on
    /// v1), sorted: at start, what an earlier server on the same base left behind.
    fn children(&self) -> Result<Vec<String>, CgroupError>;

    /// The existing child cgroup `name`, to kill its processes and remove it.
    fn open(&self, name: &str) -> Result<Box<dyn Cgroup>, CgroupError>;

    /// The base directories (one per v1 hierarchy, once each; one on v2), for logs.
    fn bases(&self) -> Vec<PathBuf>;

    /// Removes Hearth's (empty) base directories, for shutdown. Fails while any
    /// environment cgroup still exists; a base that is already gone is fine.
    fn remove_base(&self) -> Result<(), CgroupError>;
}

/// One environment's cgroup (on v1, one directory per hierarchy).
pub trait Cgroup: Send + Sync + fmt::Debug {
    /// The `cgroup.procs` files a process writes its own pid into to join (one per v1
    /// hierarchy, one on v2).
    fn procs_files(&self) -> Vec<PathBuf>;

    /// Moves process `pid` (all its threads) into the cgroup.
    fn add_pid(&self, pid: u32) -> Result<(), CgroupError>;

    /// The processes in the cgroup, sorted, as pids of the caller's PID namespace.
    fn pids(&self) -> Result<Vec<u32>, CgroupError>;

    /// Peak memory since creation (v1 `memory.max_usage_in_bytes`; v2 `memory.peak`,
    /// falling back to `memory.current` on kernels before 5.19).
    fn peak_memory_bytes(&self) -> Option<u64>;

    /// How many processes the kernel OOM-killed in it (v1 `oom_kill` of
    /// `memory.oom_control`, kernels 4.13 and later, else 0; v2 `oom_kill` of
    /// `memory.events`).
    fn oom_kills(&self) -> u64;

    /// CPU time its processes used since creation, in ns (v1 `cpuacct.usage`, when the
    /// `cpuacct` hierarchy is used; v2 `usage_usec` of `cpu.stat`).
    fn cpu_usage_ns(&self) -> Option<u64>;

    /// Memory charged to it now (v1 `memory.usage_in_bytes`; v2 `memory.current`).
    fn memory_bytes(&self) -> Option<u64>;

    /// Kills every process in the cgroup, including ones that forked or daemonised
    /// (v2: `cgroup.kill` when present, else freeze and SIGKILL; v1: freezer `FROZEN`,
    /// SIGKILL all, `THAWED`), repeating until it is empty, for at most a few seconds.
    fn kill_all(&self) -> Result<(), CgroupError>;

    /// Whether any process is still in the cgroup, going by one hierarchy only (on v1
    /// all of them hold the same processes): a cheap check to poll.
    fn populated(&self) -> bool {
        self.procs_files()
            .first()
            .is_some_and(|procs| fs::read_pids(procs).is_ok_and(|p| !p.is_empty()))
    }

    /// Sends SIGKILL to every process in the cgroup now, without freezing or waiting: a
    /// process forking at that moment may survive it, which [`Cgroup::kill_all`] does not
    /// allow.
    fn signal_kill(&self) -> Result<(), CgroupError> {
        kill::sigkill(&self.pids()?);
        Ok(())
    }

    /// [`Cgroup::kill_all`], then removes the cgroup's directories (retrying `rmdir`
    /// briefly while the kernel reaps). Removing an already removed cgroup is fine.
    fn destroy(&self) -> Result<(), CgroupError>;

    /// Replaces every limit (a cgroup made ahead gets its function's limits).
    fn set_limits(&self, limits: &Limits) -> Result<(), CgroupError>;

    /// Changes the limits from `from`, which the cgroup has (set by [`Cgroup::set_limits`]
    /// or an earlier change), to `to`, writing only the files whose value differs: a
    /// claim on the cold-start path, where each cgroup file written costs an open, a
    /// write and a close.
    fn change_limits(&self, from: &Limits, to: &Limits) -> Result<(), CgroupError>;

    /// Changes the CPU limit (thousandths of a CPU), e.g. from the init phase's full CPU
    /// to the share the function's memory buys.
    fn set_cpu_millis(&self, cpu_millis: u64) -> Result<(), CgroupError>;
}

/// Accepts 1 to 64 of `A-Z a-z 0-9 _ -`, so a name can never be a path.
pub(crate) fn validate_name(name: &str) -> Result<(), CgroupError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(CgroupError::InvalidName(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_lambda() {
        let l = Limits::for_memory_mb(1769);
        assert_eq!(l.memory_bytes, 1769 * 1024 * 1024);
        assert_eq!(l.cpu_millis, 1000);
        assert_eq!(l.cpu_quota_us(), 100_000);
        assert_eq!(l.pids, 1024);
        assert_eq!(Limits::for_memory_mb(128).cpu_millis, 72);
        assert_eq!(Limits::for_memory_mb(10240).cpu_quota_us(), 578_800);
        assert_eq!(Limits::for_memory_mb(1).cpu_millis, 10);
        assert_eq!(Limits::for_memory_mb(1).cpu_quota_us(), 1_000);
    }

    #[test]
    fn names_cannot_be_paths() {
        for good in ["a", "env-1_X", &"x".repeat(64)] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in ["", "..", ".", "a/b", "a b", "é", "a\0", &"x".repeat(65)] {
            assert!(
                matches!(validate_name(bad), Err(CgroupError::InvalidName(_))),
                "{bad:?}"
            );
        }
    }
}
