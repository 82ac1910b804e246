//! The bench's server and the processes below it, from `/proc`: what idle environments cost
//! in memory, and where the CPU time of a load goes.
//!
//! Memory is the proportional set size (PSS, `/proc/<pid>/smaps_rollup`), sorted into the
//! server, the environments' own machinery (`hearth __jail-init` processes), the runtimes they
//! run (the processes below a `__jail-init`, or every child under `--sandbox process`), and
//! anything else the server runs. PSS splits shared pages between the processes that map
//! them, so the sum over processes is the memory they take together, without double
//! counting. Kernel objects (namespaces, cgroups, mounts, page tables, socket buffers) are not
//! in any process's PSS and are not counted.
//!
//! CPU time is `utime + stime` from `/proc/<pid>/stat` (every thread of a process, in clock
//! ticks): the server's own, everything below it, and the bench's own (its load clients).

use std::collections::HashMap;

use anyhow::Context;

/// The argument that marks an environment's init process (the jail re-executes Hearth).
const JAIL_INIT: &str = hearth_sandbox::jail::INIT_ARG;

/// One process of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    pub pid: u32,
    pub ppid: u32,
    pub jail_init: bool,
    /// 0 unless asked for (reading it walks the page tables).
    pub pss_kib: u64,
    /// User plus system time, in clock ticks.
    pub cpu_ticks: u64,
}

/// The PSS of the server's tree, by role, in KiB.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Breakdown {
    pub server_kib: u64,
    /// `__jail-init` processes with a runtime below them: part of an environment.
    pub jail_init_kib: u64,
    /// `__jail-init` processes with no runtime below them: sandboxes made ahead, waiting
    /// for a function. They are not an environment yet, so not part of its cost.
    pub spare_kib: u64,
    pub runtime_kib: u64,
    pub other_kib: u64,
    pub jail_inits: usize,
    pub spares: usize,
    pub runtimes: usize,
}

impl Breakdown {
    /// What Hearth itself costs for its environments: the server, the environments'
    /// `__jail-init` processes and helpers; not the runtimes, not spare sandboxes.
    pub fn hearth_kib(&self) -> u64 {
        self.server_kib + self.jail_init_kib + self.other_kib
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    JailInit,
    Runtime,
    Other,
}

/// Sorts the descendants of `root` in `procs` by role. `runtime_without_jail`: count
/// children that are not under a `__jail-init` as runtimes (`--sandbox process`).
pub fn classify(procs: &[Proc], root: u32, runtime_without_jail: bool) -> Breakdown {
    let by_pid: HashMap<u32, &Proc> = procs.iter().map(|p| (p.pid, p)).collect();
    let mut out = Breakdown::default();
    let mut roles = Vec::new();
    // `__jail-init` processes that some runtime runs under.
    let mut hosting = std::collections::HashSet::new();
    for p in procs {
        if p.pid == root {
            out.server_kib = p.pss_kib;
            continue;
        }
        // Walk up to the root, noting the `__jail-init` processes on the way.
        let mut under_root = false;
        let mut jails = Vec::new();
        let mut cursor = p.ppid;
        for _ in 0..procs.len() {
            if cursor == root {
                under_root = true;
                break;
            }
            let Some(parent) = by_pid.get(&cursor) else {
                break;
            };
            if parent.jail_init {
                jails.push(parent.pid);
            }
            cursor = parent.ppid;
        }
        if !under_root {
            continue;
        }
        let role = if p.jail_init {
            Role::JailInit
        } else if !jails.is_empty() || runtime_without_jail {
            hosting.extend(jails);
            Role::Runtime
        } else {
            Role::Other
        };
        roles.push((p, role));
    }
    for (p, role) in roles {
        match role {
            Role::JailInit if hosting.contains(&p.pid) => {
                out.jail_init_kib += p.pss_kib;
                out.jail_inits += 1;
            }
            Role::JailInit => {
                out.spare_kib += p.pss_kib;
                out.spares += 1;
            }
            Role::Runtime => {
                out.runtime_kib += p.pss_kib;
                out.runtimes += 1;
            }
            Role::Other => out.other_kib += p.pss_kib,
        }
    }
    out
}

/// `Pss:` of `smaps_rollup`, in KiB.
fn parse_pss(smaps_rollup: &str) -> Option<u64> {
    smaps_rollup
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The parent pid and `utime + stime` from `/proc/<pid>/stat` (fields 4, 14 and 15, counted
/// after the command name, which may hold spaces and parentheses).
fn parse_stat(stat: &str) -> Option<(u32, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (the state).
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((ppid, utime + stime))
}

/// Every process on the host with its parent, CPU time and (when `pss`) PSS. Processes
/// that end while being read are left out.
pub fn processes(pss: bool) -> anyhow::Result<Vec<Proc>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").context("cannot list /proc")? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        let Some((ppid, cpu_ticks)) = std::fs::read_to_string(dir.join("stat"))
            .ok()
            .as_deref()
            .and_then(parse_stat)
        else {
            continue;
        };
        // Kernel threads have no smaps_rollup content; they are nobody's descendants here.
        let pss_kib = if pss {
            std::fs::read_to_string(dir.join("smaps_rollup"))
                .ok()
                .as_deref()
                .and_then(parse_pss)
                .unwrap_or(0)
        } else {
            0
        };
        let jail_init = std::fs::read(dir.join("cmdline"))
            .map(|c| c.split(|b| *b == 0).any(|arg| arg == JAIL_INIT.as_bytes()))
            .unwrap_or(false);
        out.push(Proc {
            pid,
            ppid,
            jail_init,
            pss_kib,
            cpu_ticks,
        });
    }
    Ok(out)
}

/// The memory of the server's tree right now.
pub fn snapshot(server_pid: u32, runtime_without_jail: bool) -> anyhow::Result<Breakdown> {
    let procs = processes(true)?;
    if !procs.iter().any(|p| p.pid == server_pid) {
        anyhow::bail!("the server (pid {server_pid}) is not in /proc");
    }
    Ok(classify(&procs, server_pid, runtime_without_jail))
}

/// CPU time used so far, in clock ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTicks {
    /// The server process (all its threads).
    pub server: u64,
    /// Every process below the server: runtimes, `__jail-init`, helpers.
    pub environments: u64,
    /// This process: the bench and its load clients.
    pub client: u64,
}

impl CpuTicks {
    /// Microseconds per event between `self` and a later `after`, for `events` events.
    pub fn per_event_us(&self, after: &CpuTicks, events: u64) -> CpuUs {
        let tick_us = 1e6 / rustix::param::clock_ticks_per_second().max(1) as f64;
        let per = |a: u64, b: u64| b.saturating_sub(a) as f64 * tick_us / events.max(1) as f64;
        CpuUs {
            server: per(self.server, after.server),
            environments: per(self.environments, after.environments),
            client: per(self.client, after.client),
        }
    }
}

/// [`CpuTicks`] per event, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuUs {
    pub server: f64,
    pub environments: f64,
    pub client: f64,
}

/// Sums CPU time by where it was spent: `root`, its descendants, and `me`.
pub fn cpu_split(procs: &[Proc], root: u32, me: u32) -> CpuTicks {
    let by_pid: HashMap<u32, &Proc> = procs.iter().map(|p| (p.pid, p)).collect();
    let mut out = CpuTicks::default();
    for p in procs {
        if p.pid == me {
            out.client = p.cpu_ticks;
        }
        if p.pid == root {
            out.server = p.cpu_ticks;
        } else if descends_from(&by_pid, p, root) {
            out.environments += p.cpu_ticks;
        }
    }
    out
}

fn descends_from(by_pid: &HashMap<u32, &Proc>, p: &Proc, root: u32) -> bool {
    let mut cursor = p.ppid;
    for _ in 0..by_pid.len() {
        if cursor == root {
            return true;
        }
        match by_pid.get(&cursor) {
            Some(parent) => cursor = parent.ppid,
            None => return false,
        }
    }
    false
}

/// The CPU time of one process so far, in microseconds.
pub fn cpu_us_of(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("cannot read /proc/{pid}/stat"))?;
    let (_, ticks) = parse_stat(&stat).with_context(|| format!("cannot parse /proc/{pid}/stat"))?;
    Ok(ticks as f64 * 1e6 / rustix::param::clock_ticks_per_second().max(1) as f64)
}

/// How many threads of `pid` are named `name` (`/proc/<pid>/task/*/comm`); threads that
/// end while they are read are not counted.
pub fn threads_named(pid: u32, name: &str) -> anyhow::Result<usize> {
    let dir = format!("/proc/{pid}/task");
    let tasks = std::fs::read_dir(&dir).with_context(|| format!("cannot read {dir}"))?;
    Ok(tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count())
}

/// CPU time of the server's tree and of this process right now.
pub fn cpu_now(server_pid: u32) -> anyhow::Result<CpuTicks> {
    Ok(cpu_split(
        &processes(false)?,
        server_pid,
        std::process::id(),
    ))
}

/// How the idle-environment figure is computed, for the report.
pub const METHOD: &str = "PSS from /proc/<pid>/smaps_rollup of the server and every process \
below it, before any environment exists and again with K idle warm environments (one per \
cold-started function); (increase of server + environments' `hearth __jail-init` + other \
helper PSS) / K. The runtime processes' own PSS is left out, and so are sandboxes made ahead \
that hold no runtime yet; kernel objects (namespaces, cgroups, mounts, page tables) are not \
counted.";

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: u32, ppid: u32, jail_init: bool, pss_kib: u64) -> Proc {
        Proc {
            pid,
            ppid,
            jail_init,
            pss_kib,
            cpu_ticks: pss_kib,
        }
    }

    #[test]
    fn sorts_the_tree_by_role() {
        let procs = vec![
            p(1, 0, false, 5),
            p(100, 1, false, 1000),  // the server
            p(101, 100, true, 30),   // __jail-init
            p(102, 101, true, 20),   // its PID 1
            p(103, 102, false, 400), // the runtime
            p(104, 103, false, 50),  // a child of the runtime
            p(105, 100, false, 7),   // a helper the server runs
            p(106, 100, true, 60),   // a sandbox made ahead, no runtime yet
            p(107, 106, true, 8),    // its PID 1
            p(200, 1, false, 999),   // not ours
            p(201, 200, true, 999),  // someone else's jail
            p(202, 201, false, 999), // and its runtime
        ];
        let b = classify(&procs, 100, false);
        assert_eq!(
            b,
            Breakdown {
                server_kib: 1000,
                jail_init_kib: 50,
                spare_kib: 68,
                runtime_kib: 450,
                other_kib: 7,
                jail_inits: 2,
                spares: 2,
                runtimes: 2,
            }
        );
        assert_eq!(b.hearth_kib(), 1057);
        let process_sandbox = classify(&procs, 100, true);
        assert_eq!(process_sandbox.runtime_kib, 457);
        assert_eq!(process_sandbox.other_kib, 0);
    }

    #[test]
    fn splits_cpu_time() {
        // `p` sets cpu_ticks = pss_kib.
        let procs = vec![
            p(1, 0, false, 5),
            p(100, 1, false, 1000),
            p(101, 100, true, 30),
            p(103, 101, false, 400),
            p(200, 1, false, 70),
        ];
        let split = cpu_split(&procs, 100, 200);
        assert_eq!(
            split,
            CpuTicks {
                server: 1000,
                environments: 430,
                client: 70
            }
        );
        let later = CpuTicks {
            server: 1100,
            environments: 630,
            client: 80,
        };
        let tick_us = 1e6 / rustix::param::clock_ticks_per_second() as f64;
        let per = split.per_event_us(&later, 10);
        assert_eq!(per.server, 100.0 * tick_us / 10.0);
        assert_eq!(per.environments, 200.0 * tick_us / 10.0);
        assert_eq!(per.client, 10.0 * tick_us / 10.0);
    }

    #[test]
    fn parses_proc_files() {
        assert_eq!(
            parse_stat("42 (a (b) c) S 7 42 42 0 -1 4194560 10 0 0 0 25 5 0 0 20 0 1"),
            Some((7, 30))
        );
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S 0 1"), None);
        let rollup = "00400000-7ffc [rollup]\nRss:                1234 kB\nPss:                 567 kB\nPss_Anon: 1 kB\n";
        assert_eq!(parse_pss(rollup), Some(567));
        assert_eq!(parse_pss("Rss: 1 kB\n"), None);
    }

    #[test]
    fn this_process_is_in_proc() {
        let me = std::process::id();
        assert!(cpu_us_of(me).expect("own stat") >= 0.0);
        let procs = processes(true).expect("/proc");
        assert!(procs.iter().any(|p| p.pid == me && p.pss_kib > 0));
        let without = processes(false).expect("/proc");
        assert!(without.iter().all(|p| p.pss_kib == 0));
    }
}
