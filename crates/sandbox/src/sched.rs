//! The scheduling policy functions run under: `SCHED_BATCH`.
//!
//! Hearth's server and the environments share the host's CPUs, and every invoke is a chain
//! of wake-ups between them: the server writes the event on the runtime's pending `next`
//! and goes on with other requests, the runtime answers, the server relays. Under
//! `SCHED_OTHER`, a runtime woken on a busy CPU preempts the server thread that woke it in
//! the middle of its work, and a spare environment's init process building its root
//! preempts whoever runs beside it. A `SCHED_BATCH` task is scheduled as fairly as any
//! other (same weight, same share of a contended CPU, same cgroup limits) but does not
//! preempt on wake-up: it runs once the running thread blocks or its slice ends, or at
//! once on an idle CPU, so an invoke on an idle machine is as fast as before. In the jail
//! the zygote takes the policy, so that every environment's processes inherit it (init and
//! the reaper while a spare is built, the runtime, its extensions); the process sandbox
//! sets it between fork and exec. Measured in docs/performance.md ("Environments under
//! SCHED_BATCH"). It is a hint, not a limit: a function may set its own policy back (an
//! unprivileged process may switch between `SCHED_OTHER` and `SCHED_BATCH`), which costs
//! it nothing and the server some throughput.

use std::io;

/// Puts the calling process under `SCHED_BATCH` (inherited by whatever it forks and
/// execs). One system call; safe between fork and exec.
pub fn batch() -> io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid `sched_param` for the duration of the call, which only
    // reads it; pid 0 is the calling thread.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_under_batch_reports_the_policy() {
        // In a child, so that the test's own threads keep their policy.
        let out = {
            use std::os::unix::process::CommandExt;
            let mut cmd = std::process::Command::new("cat");
            cmd.arg("/proc/self/sched");
            // SAFETY: `batch` makes one system call and allocates nothing.
            #[allow(unsafe_code)]
            unsafe {
                cmd.pre_exec(batch);
            }
            cmd.output().expect("run cat")
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let policy = text
            .lines()
            .find(|l| l.starts_with("policy"))
            .and_then(|l| l.rsplit(':').next())
            .map(str::trim)
            .expect("a policy line in /proc/self/sched");
        assert_eq!(policy, libc::SCHED_BATCH.to_string(), "{text}");
    }
}
