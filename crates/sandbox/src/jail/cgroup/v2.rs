//! cgroup v2: one directory per environment under `<Hearth's cgroup>/hearth`, limits in
//! `memory.max`, `cpu.max` and `pids.max`, teardown with `cgroup.kill` (Linux 5.14) or
//! the v2 freezer.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::kill::{freeze_and_kill, wait_empty, Freezer, FREEZE_PATIENCE, POLL};
use super::CPU_PERIOD_US;
use super::{fs, validate_name, Cgroup, CgroupError, CgroupManager, Limits, Version};
use crate::reread::Reread;

/// The leaf Hearth's own processes move into so its cgroup may delegate controllers.
pub(crate) const SUPERVISOR: &str = "supervisor";
/// The controllers an environment needs, as `cgroup.controllers` names them.
const CONTROLLERS: [&str; 3] = ["memory", "pids", "cpu"];
const ENABLE: &str = "+memory +pids +cpu";
/// How long `cgroup.kill` may take to empty a cgroup before falling back to freezing.
const KILL_FILE_PATIENCE: Duration = Duration::from_secs(2);
/// Attempts at enabling controllers while processes keep appearing in Hearth's cgroup.
const ENABLE_ATTEMPTS: usize = 5;

/// Hearth's base directory in the unified hierarchy.
#[derive(Debug, Clone)]
pub struct V2Manager {
    base: PathBuf,
    /// Whether `cgroup.kill` exists (Linux 5.14 and later), probed in the base.
    kill_file: bool,
    /// Whether swap is accounted (`memory.swap.max` exists), probed in the base.
    swap_max: bool,
}

impl V2Manager {
    /// Prepares `own`, Hearth's cgroup directory, to hold environments under
    /// `own/base_name`: checks that memory, pids and cpu are delegated to it, moves its
    /// processes into `own/supervisor` unless it is the root cgroup, and enables the
    /// controllers in `own` and the base. When `own` is itself named `supervisor`
    /// (an earlier start moved Hearth there), its parent is used instead.
    pub fn new(own: &Path, base_name: &str) -> Result<Self, CgroupError> {
        super::detect::validate_base(base_name)?;
        if base_name.split('/').next() == Some(SUPERVISOR) {
            return Err(CgroupError::InvalidName(base_name.into()));
        }
        let own = match (own.file_name(), own.parent()) {
            (Some(name), Some(parent)) if name == SUPERVISOR => parent,
            _ => own,
        };
        let listed = own.join("cgroup.controllers");
        let available = fs::read(&listed)?;
        for controller in CONTROLLERS {
            if !available.split_whitespace().any(|c| c == controller) {
                return Err(CgroupError::ControllerUnavailable {
                    version: Version::V2,
                    controller,
                    detail: format!(
                        "{} lists only {:?}; delegate memory, pids and cpu to Hearth's \
                         cgroup (systemd: Delegate=yes)",
                        listed.display(),
                        available.trim()
                    ),
                });
            }
        }
        // Only the root cgroup may hold processes and delegate controllers at once.
        let is_root = !own.join("cgroup.type").exists();
        enable_controllers(own, !is_root)?;
        // Each level of a nested base (`hearth/<data dir>`) delegates to the next.
        let mut base = own.to_path_buf();
        for part in base_name.split('/') {
            base.push(part);
            fs::create_dir_all(&base)?;
            enable_controllers(&base, false)?;
        }
        Ok(V2Manager {
            kill_file: base.join("cgroup.kill").exists(),
            swap_max: base.join("memory.swap.max").exists(),
            base,
        })
    }
}

/// Enables [`CONTROLLERS`] for `dir`'s children unless they already are, first moving
/// `dir`'s processes into its supervisor leaf when `move_out`.
fn enable_controllers(dir: &Path, move_out: bool) -> Result<(), CgroupError> {
    let control = dir.join("cgroup.subtree_control");
    // A missing file reads as nothing enabled; the write below reports real errors.
    let enabled = std::fs::read_to_string(&control).unwrap_or_default();
    if CONTROLLERS
        .iter()
        .all(|c| enabled.split_whitespace().any(|e| e == *c))
    {
        return Ok(());
    }
    let mut attempt = 1;
    loop {
        if move_out {
            move_into_supervisor(dir)?;
        }
        match fs::write(&control, ENABLE) {
            // EBUSY: a process forked into `dir` after the move; move it too.
            Err(CgroupError::Io { source, .. })
                if source.kind() == ErrorKind::ResourceBusy
                    && move_out
                    && attempt < ENABLE_ATTEMPTS =>
            {
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn move_into_supervisor(dir: &Path) -> Result<(), CgroupError> {
    let pids = fs::read_pids(&dir.join("cgroup.procs"))?;
    if pids.is_empty() {
        return Ok(());
    }
    let supervisor = dir.join(SUPERVISOR);
    fs::create_dir_all(&supervisor)?;
    tracing::info!(
        from = %dir.display(),
        to = %supervisor.display(),
        count = pids.len(),
        "moving Hearth's processes into a leaf cgroup to delegate controllers"
    );
    let procs = supervisor.join("cgroup.procs");
    pids.into_iter()
        .try_for_each(|pid| fs::move_pid(&procs, pid))
}

impl CgroupManager for V2Manager {
    fn version(&self) -> Version {
        Version::V2
    }

    fn create(&self, name: &str, limits: &Limits) -> Result<Box<dyn Cgroup>, CgroupError> {
        validate_name(name)?;
        let dir = self.base.join(name);
        fs::create_cgroup_dir(&dir)?;
        let cgroup = V2Cgroup {
            dir,
            kill_file: self.kill_file,
            swap_max: self.swap_max,
            peak: Reread::default(),
        };
        if let Err(e) = cgroup.set_limits(limits) {
            let _ = fs::remove_cgroup_dir(&cgroup.dir);
            return Err(e);
        }
        Ok(Box::new(cgroup))
    }

    fn children(&self) -> Result<Vec<String>, CgroupError> {
        fs::child_cgroups(&self.base)
    }

    fn open(&self, name: &str) -> Result<Box<dyn Cgroup>, CgroupError> {
        validate_name(name)?;
        Ok(Box::new(V2Cgroup {
            dir: self.base.join(name),
            kill_file: self.kill_file,
            swap_max: self.swap_max,
            peak: Reread::default(),
        }))
    }

    fn bases(&self) -> Vec<PathBuf> {
        vec![self.base.clone()]
    }

    fn remove_base(&self) -> Result<(), CgroupError> {
        fs::remove_cgroup_dir(&self.base)
    }
}

/// One environment's directory in the unified hierarchy.
#[derive(Debug, Clone)]
pub struct V2Cgroup {
    dir: PathBuf,
    kill_file: bool,
    /// Whether `memory.swap.max` exists.
    swap_max: bool,
    /// `memory.peak`, read after every invocation.
    peak: Reread,
}

impl V2Cgroup {
    /// An existing cgroup directory, for tests of killing on hosts whose v2 hierarchy
    /// has no controllers to create environments with.
    #[cfg(test)]
    pub(crate) fn at(dir: PathBuf, kill_file: bool) -> Self {
        V2Cgroup {
            dir,
            kill_file,
            swap_max: false,
            peak: Reread::default(),
        }
    }

    fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }
}

impl Freezer for V2Cgroup {
    fn freeze(&self) -> Result<(), CgroupError> {
        fs::write(&self.dir.join("cgroup.freeze"), "1")?;
        let events = self.dir.join("cgroup.events");
        let start = Instant::now();
        while fs::read_keyed(&events, "frozen") != Some(1) && start.elapsed() < FREEZE_PATIENCE {
            std::thread::sleep(POLL);
        }
        Ok(())
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        fs::write(&self.dir.join("cgroup.freeze"), "0")
    }

    fn members(&self) -> Result<Vec<u32>, CgroupError> {
        self.pids()
    }
}

impl Cgroup for V2Cgroup {
    fn set_limits(&self, limits: &Limits) -> Result<(), CgroupError> {
        fs::write(
            &self.dir.join("memory.max"),
            &limits.memory_bytes.to_string(),
        )?;
        if self.swap_max {
            fs::write(&self.dir.join("memory.swap.max"), "0")?;
        }
        self.set_cpu_millis(limits.cpu_millis)?;
        fs::write(&self.dir.join("pids.max"), &limits.pids.to_string())
    }

    fn change_limits(&self, from: &Limits, to: &Limits) -> Result<(), CgroupError> {
        if to.memory_bytes != from.memory_bytes {
            fs::write(&self.dir.join("memory.max"), &to.memory_bytes.to_string())?;
        }
        if to.cpu_quota_us() != from.cpu_quota_us() {
            self.set_cpu_millis(to.cpu_millis)?;
        }
        if to.pids != from.pids {
            fs::write(&self.dir.join("pids.max"), &to.pids.to_string())?;
        }
        Ok(())
    }

    fn set_cpu_millis(&self, cpu_millis: u64) -> Result<(), CgroupError> {
        let cpu = format!("{} {CPU_PERIOD_US}", super::cpu_quota_us(cpu_millis));
        fs::write(&self.dir.join("cpu.max"), &cpu)
    }

    fn procs_files(&self) -> Vec<PathBuf> {
        vec![self.procs()]
    }

    fn add_pid(&self, pid: u32) -> Result<(), CgroupError> {
        fs::move_pid(&self.procs(), pid)
    }

    fn pids(&self) -> Result<Vec<u32>, CgroupError> {
        fs::read_pids(&self.procs())
    }

    fn peak_memory_bytes(&self) -> Option<u64> {
        self.peak
            .u64(|| self.dir.join("memory.peak"))
            .or_else(|| fs::read_u64(&self.dir.join("memory.current")))
    }

    fn oom_kills(&self) -> u64 {
        fs::read_keyed(&self.dir.join("memory.events"), "oom_kill").unwrap_or(0)
    }

    fn cpu_usage_ns(&self) -> Option<u64> {
        let usec = fs::read_keyed(&self.dir.join("cpu.stat"), "usage_usec")?;
        Some(usec.saturating_mul(1000))
    }

    fn memory_bytes(&self) -> Option<u64> {
        fs::read_u64(&self.dir.join("memory.current"))
    }

    fn kill_all(&self) -> Result<(), CgroupError> {
        if self.kill_file {
            match fs::write(&self.dir.join("cgroup.kill"), "1") {
                Ok(()) if wait_empty(|| self.pids(), KILL_FILE_PATIENCE)? => return Ok(()),
                Ok(()) => {
                    tracing::warn!(cgroup = %self.dir.display(), "cgroup.kill left processes")
                }
                Err(e) => tracing::warn!(error = %e, "cgroup.kill failed; freezing instead"),
            }
        }
        freeze_and_kill(self, &self.dir)
    }

    fn destroy(&self) -> Result<(), CgroupError> {
        match self.kill_all() {
            Err(CgroupError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
            Ok(()) => fs::remove_cgroup_dir(&self.dir),
        }
    }
}

#[cfg(test)]
mod tests;
