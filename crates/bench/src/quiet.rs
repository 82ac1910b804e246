//! Waiting for the machine's CPUs to go quiet before a measurement that the previous
//! phase's background work would otherwise share them with: environments of deleted
//! functions being torn down (namespaces, cgroups, mounts, much of it in the kernel's own
//! workers), code collection, the pool topping itself up.

use std::time::{Duration, Instant};

use anyhow::Context;

/// The whole machine's CPU time so far, in clock ticks: (busy, total), from the first
/// line of `/proc/stat` (busy is all but idle and iowait).
fn cpu_ticks() -> anyhow::Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").context("/proc/stat")?;
    parse_cpu_line(stat.lines().next().unwrap_or_default()).context("/proc/stat has no cpu line")
}

fn parse_cpu_line(line: &str) -> Option<(u64, u64)> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    // user nice system idle iowait irq softirq steal (guest time is inside user and nice).
    let ticks: Vec<u64> = fields
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    if ticks.len() < 5 {
        return None;
    }
    let total: u64 = ticks.iter().sum();
    let idle = ticks[3] + ticks[4];
    Some((total - idle, total))
}

/// How many of `pid`'s threads are named `name` (0 once the process is gone).
fn threads_named(pid: u32, name: &str) -> usize {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm")).is_ok_and(|c| c.trim_end() == name)
        })
        .count()
}

/// Waits until `pid` has no thread named `name` (the server's `hearth-teardown` threads:
/// one per environment being torn down, mostly asleep while the kernel lets go of it, so
/// quiet CPUs do not tell that none is left), or `limit` has passed; true if none is left.
pub fn wait_threads_gone(pid: u32, name: &str, limit: Duration) -> bool {
    let started = Instant::now();
    loop {
        if threads_named(pid, name) == 0 {
            return true;
        }
        if started.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How a wait for quiet ended.
pub struct Quiet {
    pub waited: Duration,
    /// Whether the CPUs went quiet, rather than the limit running out.
    pub settled: bool,
}

/// Waits until the CPUs were at most `max_busy` (a fraction) busy over one `window`, or
/// `limit` has passed.
pub fn wait(max_busy: f64, window: Duration, limit: Duration) -> anyhow::Result<Quiet> {
    let started = Instant::now();
    let mut last = cpu_ticks()?;
    loop {
        std::thread::sleep(window);
        let now = cpu_ticks()?;
        let (busy, total) = (now.0 - last.0, now.1 - last.1);
        last = now;
        let settled = total > 0 && (busy as f64) <= max_busy * total as f64;
        if settled || started.elapsed() >= limit {
            return Ok(Quiet {
                waited: started.elapsed(),
                settled,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_is_all_but_idle_and_iowait() {
        assert_eq!(
            parse_cpu_line("cpu  100 5 50 800 20 3 2 0 0 0"),
            Some((160, 980))
        );
        assert_eq!(parse_cpu_line("cpu0 1 2 3 4 5 6 7 8"), None);
        assert_eq!(parse_cpu_line("cpu 1 x 3 4 5"), None);
    }
}
