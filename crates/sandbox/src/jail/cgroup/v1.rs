//! cgroup v1: one directory per hierarchy (memory, cpu, pids, freezer; co-mounted
//! controllers share one), limits in `memory.limit_in_bytes`, `cpu.cfs_quota_us` and
//! `pids.max`, teardown with the v1 freezer.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::kill::{freeze_and_kill, Freezer, FREEZE_PATIENCE, POLL};
use super::CPU_PERIOD_US;
use super::{fs, validate_name, Cgroup, CgroupError, CgroupManager, Limits, Version};
use crate::reread::Reread;

/// The v1 controllers an environment needs, in the order their directories are made.
pub(crate) const CONTROLLERS: [&str; 4] = ["memory", "cpu", "pids", "freezer"];

/// Hearth's base directory in each v1 hierarchy it uses.
#[derive(Debug, Clone)]
pub struct V1Manager {
    /// Base directory per controller, in [`CONTROLLERS`] order (may repeat when
    /// controllers are co-mounted).
    bases: [PathBuf; 4],
    /// Whether swap accounting is on (`memory.memsw.*` exists), probed in the base.
    memsw: bool,
    /// Base directory in the `cpuacct` hierarchy, when it is mounted: only for
    /// accounting (`cpuacct.usage`), so a host without it still runs environments.
    cpuacct: Option<PathBuf>,
}

impl V1Manager {
    /// Uses (creating them if needed) the base directories `bases`, one per entry of
    /// `memory`, `cpu`, `pids`, `freezer`: each is Hearth's own cgroup in that
    /// hierarchy plus the base name.
    pub fn new(bases: [PathBuf; 4]) -> Result<Self, CgroupError> {
        for base in &bases {
            fs::create_dir_all(base)?;
        }
        let memsw = bases[0].join("memory.memsw.limit_in_bytes").exists();
        Ok(V1Manager {
            bases,
            memsw,
            cpuacct: None,
        })
    }

    /// Also puts environments in the `cpuacct` hierarchy at `base` (creating it), for
    /// their CPU time. On many hybrid hosts `cpuacct` is co-mounted with `cpu` and this
    /// is the cpu base again; where it is mounted alone it is a directory of its own.
    pub fn with_cpuacct(mut self, base: PathBuf) -> Result<Self, CgroupError> {
        fs::create_dir_all(&base)?;
        self.cpuacct = Some(base);
        Ok(self)
    }

    fn cpuacct_dir(&self, name: &str) -> Option<PathBuf> {
        self.cpuacct.as_ref().map(|b| b.join(name))
    }

    /// The base directories, each once, in [`CONTROLLERS`] order.
    fn unique_bases(&self) -> Vec<&Path> {
        let mut out: Vec<&Path> = Vec::new();
        for base in self.bases.iter().chain(&self.cpuacct) {
            if !out.contains(&base.as_path()) {
                out.push(base);
            }
        }
        out
    }
}

impl CgroupManager for V1Manager {
    fn version(&self) -> Version {
        Version::V1
    }

    fn children(&self) -> Result<Vec<String>, CgroupError> {
        let mut names = Vec::new();
        for base in self.unique_bases() {
            names.extend(fs::child_cgroups(base)?);
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn open(&self, name: &str) -> Result<Box<dyn Cgroup>, CgroupError> {
        validate_name(name)?;
        let [memory, cpu, pids, freezer] = self.bases.clone().map(|b| b.join(name));
        // Only the hierarchies it exists in: a leftover may lack some.
        let dirs = self
            .unique_bases()
            .into_iter()
            .map(|b| b.join(name))
            .filter(|d| d.is_dir())
            .collect();
        Ok(Box::new(V1Cgroup {
            dirs,
            memory,
            cpu,
            pids,
            freezer,
            memsw: self.memsw,
            cpuacct: self.cpuacct_dir(name),
            peak: Reread::default(),
        }))
    }

    fn bases(&self) -> Vec<PathBuf> {
        self.unique_bases().into_iter().map(Into::into).collect()
    }

    fn create(&self, name: &str, limits: &Limits) -> Result<Box<dyn Cgroup>, CgroupError> {
        validate_name(name)?;
        let mut made = Vec::new();
        for base in self.unique_bases() {
            let dir = base.join(name);
            if let Err(e) = fs::create_cgroup_dir(&dir) {
                // Best effort: the first error is the one worth reporting.
                let _ = fs::remove_cgroup_dirs(&made);
                return Err(e);
            }
            made.push(dir);
        }
        let [memory, cpu, pids, freezer] = self.bases.clone().map(|b| b.join(name));
        let cgroup = V1Cgroup {
            dirs: made,
            memory,
            cpu,
            pids,
            freezer,
            memsw: self.memsw,
            cpuacct: self.cpuacct_dir(name),
            peak: Reread::default(),
        };
        if let Err(e) = cgroup.set_limits(limits) {
            let _ = fs::remove_cgroup_dirs(&cgroup.dirs);
            return Err(e);
        }
        Ok(Box::new(cgroup))
    }

    fn remove_base(&self) -> Result<(), CgroupError> {
        let bases: Vec<PathBuf> = self.unique_bases().into_iter().map(Into::into).collect();
        fs::remove_cgroup_dirs(&bases)
    }
}

/// One environment's directories in the v1 hierarchies.
#[derive(Debug, Clone)]
pub struct V1Cgroup {
    /// Each hierarchy's directory once.
    dirs: Vec<PathBuf>,
    memory: PathBuf,
    cpu: PathBuf,
    pids: PathBuf,
    freezer: PathBuf,
    /// Whether swap accounting exists (`memory.memsw.*`).
    memsw: bool,
    /// Its directory in the `cpuacct` hierarchy, if Hearth uses that hierarchy.
    cpuacct: Option<PathBuf>,
    /// `memory.max_usage_in_bytes`, read after every invocation.
    peak: Reread,
}

impl V1Cgroup {
    /// Writes the memory limit (and memsw's, where swap accounting is on), `raising` it
    /// or not: memsw must stay >= the memory limit at every moment, so raising writes
    /// memsw first and lowering writes it second.
    fn set_memory(&self, bytes: u64, raising: bool) -> Result<(), CgroupError> {
        let memory = bytes.to_string();
        let memsw_limit = self.memory.join("memory.memsw.limit_in_bytes");
        if self.memsw && raising {
            fs::write(&memsw_limit, &memory)?;
        }
        fs::write(&self.memory.join("memory.limit_in_bytes"), &memory)?;
        if self.memsw && !raising {
            fs::write(&memsw_limit, &memory)?;
        }
        Ok(())
    }

    fn set_cpu_quota(&self, quota: u64) -> Result<(), CgroupError> {
        match fs::write(&self.cpu.join("cpu.cfs_quota_us"), &quota.to_string()) {
            // v1 refuses a quota above an ancestor's; that smaller quota then applies.
            Err(CgroupError::Io { source, .. })
                if source.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) =>
            {
                tracing::warn!(
                    quota,
                    "an ancestor's smaller CPU quota limits this environment"
                );
                Ok(())
            }
            other => other,
        }
    }

    fn freezer_state(&self) -> Result<String, CgroupError> {
        Ok(fs::read(&self.freezer.join("freezer.state"))?
            .trim()
            .to_string())
    }
}

impl Freezer for V1Cgroup {
    fn freeze(&self) -> Result<(), CgroupError> {
        fs::write(&self.freezer.join("freezer.state"), "FROZEN")?;
        let start = Instant::now();
        while self.freezer_state()? != "FROZEN" && start.elapsed() < FREEZE_PATIENCE {
            // Re-writing FROZEN retries tasks that could not be frozen yet.
            fs::write(&self.freezer.join("freezer.state"), "FROZEN")?;
            std::thread::sleep(POLL);
        }
        Ok(())
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        fs::write(&self.freezer.join("freezer.state"), "THAWED")
    }

    fn members(&self) -> Result<Vec<u32>, CgroupError> {
        self.pids()
    }
}

impl Cgroup for V1Cgroup {
    fn set_limits(&self, limits: &Limits) -> Result<(), CgroupError> {
        let limit = self.memory.join("memory.limit_in_bytes");
        let raising = fs::read_u64(&limit).is_some_and(|current| limits.memory_bytes > current);
        self.set_memory(limits.memory_bytes, raising)?;
        // The root memcg and some kernels refuse this; swap only softens the limit then.
        if let Err(e) = fs::write(&self.memory.join("memory.swappiness"), "0") {
            tracing::debug!(error = %e, "memory.swappiness not set");
        }
        fs::write(
            &self.cpu.join("cpu.cfs_period_us"),
            &CPU_PERIOD_US.to_string(),
        )?;
        self.set_cpu_quota(limits.cpu_quota_us())?;
        fs::write(&self.pids.join("pids.max"), &limits.pids.to_string())
    }

    fn change_limits(&self, from: &Limits, to: &Limits) -> Result<(), CgroupError> {
        if to.memory_bytes != from.memory_bytes {
            self.set_memory(to.memory_bytes, to.memory_bytes > from.memory_bytes)?;
        }
        if to.cpu_quota_us() != from.cpu_quota_us() {
            self.set_cpu_quota(to.cpu_quota_us())?;
        }
        if to.pids != from.pids {
            fs::write(&self.pids.join("pids.max"), &to.pids.to_string())?;
        }
        Ok(())
    }

    fn set_cpu_millis(&self, cpu_millis: u64) -> Result<(), CgroupError> {
        self.set_cpu_quota(super::cpu_quota_us(cpu_millis))
    }

    fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.join("cgroup.procs")).collect()
    }

    fn add_pid(&self, pid: u32) -> Result<(), CgroupError> {
        self.procs_files()
            .iter()
            .try_for_each(|procs| fs::move_pid(procs, pid))
    }

    /// Members of any of the hierarchies (normally all of them are in every one).
    fn pids(&self) -> Result<Vec<u32>, CgroupError> {
        let mut all = Vec::new();
        for procs in self.procs_files() {
            all.extend(fs::read_pids(&procs)?);
        }
        all.sort_unstable();
        all.dedup();
        Ok(all)
    }

    fn peak_memory_bytes(&self) -> Option<u64> {
        self.peak
            .u64(|| self.memory.join("memory.max_usage_in_bytes"))
    }

    fn oom_kills(&self) -> u64 {
        fs::read_keyed(&self.memory.join("memory.oom_control"), "oom_kill").unwrap_or(0)
    }

    fn cpu_usage_ns(&self) -> Option<u64> {
        fs::read_u64(&self.cpuacct.as_ref()?.join("cpuacct.usage"))
    }

    fn memory_bytes(&self) -> Option<u64> {
        fs::read_u64(&self.memory.join("memory.usage_in_bytes"))
    }

    fn kill_all(&self) -> Result<(), CgroupError> {
        freeze_and_kill(self, &self.freezer)
    }

    fn destroy(&self) -> Result<(), CgroupError> {
        match self.kill_all() {
            // Already removed (a second destroy): nothing left to kill or remove.
            Err(CgroupError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                fs::remove_cgroup_dirs(&self.dirs)
            }
            Err(e) => Err(e),
            Ok(()) => fs::remove_cgroup_dirs(&self.dirs),
        }
    }
}

#[cfg(test)]
mod tests;
