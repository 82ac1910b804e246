//! What a running environment holds on the host, and its removal.
//!
//! Killing is immediate and cheap: the environment's processes all live in its PID
//! namespace, which the kernel empties the moment its PID 1 (the reaper) dies, and the
//! reaper dies when Hearth kills the init's process group (and with init anyway, by its
//! parent-death signal). Removing the cgroup then waits for those processes to be gone
//! and, should any be left, freezes and kills them (`cgroup.kill` on v2) before
//! `rmdir`: that takes the kernel a while, so it runs on a thread of its own, never on
//! the thread that dropped the environment. Mounts and namespaces go with the last
//! process; `/tmp` disks are checked and kept for reuse if untouched (`tmpdisk.rs`).

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::cgroup::Cgroup;
use super::netns::NetNs;
use super::tmpdisk::{TmpDisk, TmpDisks};
use crate::Teardown;

/// What an environment holds on the host, removed when it is dropped.
pub struct JailResources {
    pub cgroup: Arc<dyn Cgroup>,
    /// The CPU share the function's memory buys, applied after init; `None` when it is
    /// init's own (a whole CPU or more), so that nothing is written then.
    pub cpu_millis: Option<u64>,
    /// Kept until the environment is gone: its Runtime API listener lives in it.
    pub netns: Option<NetNs>,
    /// `/tmp` disks to give back once the environment's processes are gone.
    pub tmp: Option<(Arc<TmpDisks>, Vec<TmpDisk>)>,
}

impl Teardown for JailResources {
    fn peak_memory_bytes(&self) -> Option<u64> {
        self.cgroup.peak_memory_bytes()
    }

    fn oom_killed(&self) -> bool {
        self.cgroup.oom_kills() > 0
    }

    fn kill_all(&self) {
        // Also reaches a process that left the init's process group (setsid), should
        // the PID namespace not have taken it already; the thorough kill (freezing
        // first) is the teardown's.
        if let Err(e) = self.cgroup.signal_kill() {
            tracing::warn!(error = %e, "could not kill an environment's processes");
        }
    }

    fn init_done(&self) {
        let Some(cpu_millis) = self.cpu_millis else {
            return;
        };
        if let Err(e) = self.cgroup.set_cpu_millis(cpu_millis) {
            tracing::warn!(error = %e, "could not set an environment's CPU limit");
        }
    }

    fn usage_source(&self) -> Option<Arc<dyn crate::UsageSource>> {
        Some(Arc::new(crate::usage::CgroupUsage(self.cgroup.clone())))
    }
}

/// Teardowns in flight, so that shutdown can wait for them: a process that exits in
/// the middle of one leaves a frozen cgroup behind.
static TEARDOWNS: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

/// How long the environment's processes, killed with its init, get to leave the cgroup
/// before the teardown kills them the thorough way. Freezing costs far more than
/// waiting (freezer state changes patch kernel code), and is almost never needed.
const EXIT_PATIENCE: Duration = Duration::from_millis(500);

fn teardown(cgroup: &dyn Cgroup, tmp: Option<(Arc<TmpDisks>, Vec<TmpDisk>)>) {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        // They were killed just now: give them time before looking.
        std::thread::sleep(pause);
        if !cgroup.populated() || start.elapsed() >= EXIT_PATIENCE {
            break;
        }
        pause = (pause * 2).min(Duration::from_millis(20));
    }
    match cgroup.destroy() {
        // Nothing of the environment runs any more: its disks can be checked.
        Ok(()) => {
            if let Some((disks, list)) = tmp {
                list.into_iter().for_each(|d| disks.give_back(d));
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not remove an environment's cgroup"),
    }
}

/// Waits until every teardown started so far has finished, or `limit` has passed.
pub fn wait_for_teardowns(limit: Duration) {
    let (count, done) = &TEARDOWNS;
    let guard = count.lock().unwrap_or_else(|p| p.into_inner());
    let (guard, timeout) = done
        .wait_timeout_while(guard, limit, |n| *n > 0)
        .unwrap_or_else(|p| p.into_inner());
    if timeout.timed_out() {
        tracing::warn!(
            remaining = *guard,
            "environment teardown still running at shutdown"
        );
    }
}

impl Drop for JailResources {
    fn drop(&mut self) {
        let cgroup = self.cgroup.clone();
        let netns = self.netns.take();
        let tmp = self.tmp.take();
        let (count, done) = &TEARDOWNS;
        *count.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        let finish = || {
            let mut n = count.lock().unwrap_or_else(|p| p.into_inner());
            *n -= 1;
            done.notify_all();
        };
        let spawned = std::thread::Builder::new()
            .name("hearth-teardown".into())
            .spawn(move || {
                teardown(cgroup.as_ref(), tmp);
                drop(netns);
                finish();
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no teardown thread; tearing down inline");
            teardown(self.cgroup.as_ref(), None);
            finish();
        }
    }
}
