//! Killing everything in a cgroup with a freezer, shared by v1 and v2: freeze so nothing
//! can fork while it is being killed, SIGKILL every member, thaw so the kills land, and
//! repeat until the cgroup is empty or a deadline passes.

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

use super::CgroupError;

/// How long killing may take before giving up with [`CgroupError::KillTimeout`].
pub(crate) const KILL_DEADLINE: Duration = Duration::from_secs(5);
/// How long to wait for a freeze to complete before killing anyway.
pub(crate) const FREEZE_PATIENCE: Duration = Duration::from_millis(200);
/// How long to wait for killed processes to leave the cgroup before the next round.
const EXIT_PATIENCE: Duration = Duration::from_millis(50);
pub(crate) const POLL: Duration = Duration::from_millis(1);

/// A cgroup's freezer and member list, as v1 and v2 expose them.
pub(crate) trait Freezer {
    /// Starts freezing and waits (up to [`FREEZE_PATIENCE`]) until it is frozen.
    fn freeze(&self) -> Result<(), CgroupError>;
    fn thaw(&self) -> Result<(), CgroupError>;
    fn members(&self) -> Result<Vec<u32>, CgroupError>;
}

/// Sends SIGKILL to each pid; ones that have already gone are skipped.
pub(crate) fn sigkill(pids: &[u32]) {
    for &pid in pids {
        let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
            continue;
        };
        if let Err(e) = kill_process(pid, Signal::KILL) {
            if e != rustix::io::Errno::SRCH {
                tracing::warn!(pid = pid.as_raw_nonzero().get(), error = %e, "cannot SIGKILL");
            }
        }
    }
}

/// Polls `members` until the cgroup is empty or `patience` runs out; true when empty.
pub(crate) fn wait_empty(
    members: impl Fn() -> Result<Vec<u32>, CgroupError>,
    patience: Duration,
) -> Result<bool, CgroupError> {
    let start = Instant::now();
    loop {
        if members()?.is_empty() {
            return Ok(true);
        }
        if start.elapsed() >= patience {
            return Ok(false);
        }
        sleep(POLL);
    }
}

/// Freezes, kills and thaws until the cgroup at `path` (for messages) is empty.
pub(crate) fn freeze_and_kill(cgroup: &dyn Freezer, path: &Path) -> Result<(), CgroupError> {
    let start = Instant::now();
    loop {
        let members = cgroup.members()?;
        if members.is_empty() {
            return Ok(());
        }
        if start.elapsed() >= KILL_DEADLINE {
            return Err(CgroupError::KillTimeout {
                path: path.to_path_buf(),
                remaining: members.len(),
                waited: start.elapsed(),
            });
        }
        cgroup.freeze()?;
        // Read again once frozen: members forked while freezing are in this list.
        let killed = cgroup.members().inspect(|m| sigkill(m));
        // Thaw even when listing failed, or the cgroup's processes stay stopped.
        cgroup.thaw()?;
        killed?;
        wait_empty(|| cgroup.members(), EXIT_PATIENCE)?;
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// A cgroup whose members vanish one round after they are killed while frozen.
    struct Fake {
        rounds: RefCell<Vec<Vec<u32>>>,
        log: RefCell<Vec<&'static str>>,
    }

    impl Freezer for Fake {
        fn freeze(&self) -> Result<(), CgroupError> {
            self.log.borrow_mut().push("freeze");
            Ok(())
        }
        fn thaw(&self) -> Result<(), CgroupError> {
            self.log.borrow_mut().push("thaw");
            self.rounds.borrow_mut().remove(0);
            Ok(())
        }
        fn members(&self) -> Result<Vec<u32>, CgroupError> {
            Ok(self.rounds.borrow().first().cloned().unwrap_or_default())
        }
    }

    #[test]
    fn repeats_until_empty_and_always_thaws() {
        // Pids far above any real pid_max, so SIGKILL finds nothing to hit.
        let fake = Fake {
            rounds: RefCell::new(vec![vec![u32::MAX - 1], vec![u32::MAX - 2]]),
            log: RefCell::new(vec![]),
        };
        freeze_and_kill(&fake, Path::new("/fake")).expect("emptied");
        assert_eq!(*fake.log.borrow(), ["freeze", "thaw", "freeze", "thaw"]);
    }

    #[test]
    fn empty_cgroup_needs_no_freeze() {
        let fake = Fake {
            rounds: RefCell::new(vec![]),
            log: RefCell::new(vec![]),
        };
        freeze_and_kill(&fake, Path::new("/fake")).expect("empty");
        assert!(fake.log.borrow().is_empty());
    }
}
