//! What an environment has used of the host so far, read without the environment
//! itself: a jail's from its cgroup (everything its processes used), a plain process's
//! from `/proc/<pid>/stat` (the runtime process and the children it waited for). Reads
//! are a file or two each: for periodic sampling, never for every invocation.

use std::path::PathBuf;
use std::sync::Arc;

use crate::jail::cgroup::Cgroup;

/// An environment's use so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// CPU time used since the environment began, in ns (cumulative).
    pub cpu_ns: u64,
    /// Memory it holds now, in bytes.
    pub memory_bytes: u64,
}

/// Reads an environment's [`Usage`]; `None` once there is nothing left to read.
pub trait UsageSource: Send + Sync {
    fn read(&self) -> Option<Usage>;
}

/// A jail's cgroup.
pub(crate) struct CgroupUsage(pub Arc<dyn Cgroup>);

impl UsageSource for CgroupUsage {
    fn read(&self) -> Option<Usage> {
        // A host without a CPU accounting file still reports memory, and the reverse.
        let cpu_ns = self.0.cpu_usage_ns();
        let memory_bytes = self.0.memory_bytes();
        if cpu_ns.is_none() && memory_bytes.is_none() {
            return None;
        }
        Some(Usage {
            cpu_ns: cpu_ns.unwrap_or(0),
            memory_bytes: memory_bytes.unwrap_or(0),
        })
    }
}

/// A plain process, by pid.
pub(crate) struct ProcUsage {
    stat: PathBuf,
    /// Clock ticks per second (`utime` and friends count them) and the page size
    /// (`rss` counts pages), read once.
    ticks_per_s: u64,
    page_bytes: u64,
}

impl ProcUsage {
    pub(crate) fn new(pid: u32) -> Self {
        use nix::unistd::{sysconf, SysconfVar};
        let conf = |v, default: u64| {
            sysconf(v)
                .ok()
                .flatten()
                .and_then(|n| u64::try_from(n).ok())
                .filter(|n| *n > 0)
                .unwrap_or(default)
        };
        Self {
            stat: PathBuf::from(format!("/proc/{pid}/stat")),
            ticks_per_s: conf(SysconfVar::CLK_TCK, 100),
            page_bytes: conf(SysconfVar::PAGE_SIZE, 4096),
        }
    }
}

impl UsageSource for ProcUsage {
    fn read(&self) -> Option<Usage> {
        let text = std::fs::read_to_string(&self.stat).ok()?;
        parse_stat(&text, self.ticks_per_s, self.page_bytes)
    }
}

/// `/proc/<pid>/stat`: `utime + stime + cutime + cstime` (fields 14 to 17, in clock
/// ticks) and `rss` (field 24, in pages). The command (field 2) is in parentheses and
/// may hold spaces or parentheses itself, so fields are counted after its last `)`.
pub(crate) fn parse_stat(text: &str, ticks_per_s: u64, page_bytes: u64) -> Option<Usage> {
    let after = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `fields[0]` is field 3 (the state).
    let field = |n: usize| -> Option<u64> { fields.get(n - 3)?.parse().ok() };
    let ticks = field(14)? + field(15)? + field(16)? + field(17)?;
    let rss_pages: u64 = field(24)?;
    Some(Usage {
        cpu_ns: ticks.saturating_mul(1_000_000_000) / ticks_per_s.max(1),
        memory_bytes: rss_pages.saturating_mul(page_bytes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_counts_fields_after_the_command() {
        // A real line, with a command holding a space and a parenthesis.
        let line = "4242 (python3 (x)) S 1 4242 4242 0 -1 4194560 2950 0 0 0 \
                    150 25 10 5 20 0 1 0 1234 30000000 2500 18446744073709551615 \
                    1 1 0 0 0 0 0 16781312 2 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(
            parse_stat(line, 100, 4096),
            Some(Usage {
                // 150 + 25 + 10 + 5 = 190 ticks of 10 ms.
                cpu_ns: 1_900_000_000,
                memory_bytes: 2500 * 4096,
            })
        );
        assert_eq!(parse_stat("4242 (x) S 1 2", 100, 4096), None);
        assert_eq!(parse_stat("no parenthesis", 100, 4096), None);
    }

    #[test]
    fn this_process_reads_its_own_use() {
        let usage = ProcUsage::new(std::process::id()).read().expect("own stat");
        assert!(usage.memory_bytes > 0, "{usage:?}");
    }
}
