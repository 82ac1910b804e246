//! Tests against this host's real cgroup filesystem: limits, membership, peak memory,
//! OOM kills, killing forked and daemonised processes, and removal.
//!
//! They need root and the memory, cpu, pids (and on v1 freezer) controllers: without them
//! they are skipped, or fail under `HEARTH_REQUIRE_PRIVILEGED_TESTS=1`
//! ([`test_privileges::require`], docs/testing.md). Each test
//! uses its own base (`hearth-test-<pid>-<test>`) and a guard removes everything it
//! created, also when the test fails. On a v2 host, as in production, detection moves
//! the test process into `<own cgroup>/supervisor`.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::parse::{parse_mountinfo, parse_proc_cgroup};
use super::v2::V2Cgroup;
use super::{detect_named, Cgroup, CgroupError, CgroupManager, Limits, V2Manager};
use crate::test_privileges;

/// What these tests need from the host.
const NEEDS: &str =
    "root and a cgroup filesystem with the memory, cpu, pids (v1: and freezer) controllers";

/// A manager and its cgroup, destroyed (with the test's base) when dropped.
struct Live {
    manager: Box<dyn CgroupManager>,
    cgroup: Option<Box<dyn Cgroup>>,
}

impl Live {
    fn cgroup(&self) -> &dyn Cgroup {
        self.cgroup.as_deref().expect("created in Live::new")
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Some(cgroup) = self.cgroup.take() {
            if let Err(e) = cgroup.destroy() {
                eprintln!("cleanup: cannot destroy {cgroup:?}: {e}");
            }
        }
        if let Err(e) = self.manager.remove_base() {
            eprintln!("cleanup: cannot remove the test base: {e}");
        }
    }
}

/// A cgroup named `env` under a base of this test's own, or `None` when the host lacks
/// [`NEEDS`] and the test is skipped.
fn live(test: &str, limits: &Limits) -> Option<Live> {
    if !test_privileges::require(NEEDS, test_privileges::is_root()) {
        return None;
    }
    let base = format!("hearth-test-{}-{test}", std::process::id());
    let manager = match detect_named(&base) {
        Ok(manager) => manager,
        Err(e) => {
            test_privileges::require(&format!("{NEEDS} ({e})"), false);
            return None;
        }
    };
    let mut live = Live {
        manager,
        cgroup: None,
    };
    live.cgroup = Some(
        live.manager
            .create("env", limits)
            .unwrap_or_else(|e| panic!("cannot create a cgroup: {e}")),
    );
    Some(live)
}

/// `sh -c script`, blocked before running `script` until [`release`].
fn spawn_gated(script: &str) -> Child {
    Command::new("sh")
        .arg("-c")
        .arg(format!("read _gate; {script}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn sh")
}

fn release(child: &mut Child) {
    drop(child.stdin.take());
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

fn dirs(cgroup: &dyn Cgroup) -> Vec<PathBuf> {
    cgroup
        .procs_files()
        .iter()
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect()
}

/// Spawns `script` gated into the cgroup, waits for three members, runs `check`, then
/// kills them all and checks that none is left alive.
fn kill_three(cgroup: &dyn Cgroup, script: &str, check: impl FnOnce(&[u32])) {
    let mut child = spawn_gated(script);
    cgroup.add_pid(child.id()).expect("add pid");
    release(&mut child);
    wait_for("3 processes in the cgroup", || {
        cgroup.pids().expect("pids").len() == 3
    });
    let members = cgroup.pids().expect("pids");
    check(&members);
    cgroup.kill_all().expect("kill_all");
    assert_eq!(cgroup.pids().expect("pids"), Vec::<u32>::new());
    let status = child.wait().expect("wait");
    assert_eq!(status.signal(), Some(9), "{status:?}");
    // Orphans are reaped by init; a zombie counts as gone.
    wait_for("no member alive in /proc", || {
        members.iter().all(|&p| !alive(p))
    });
}

#[test]
fn limits_membership_kill_and_destroy() {
    let limits = Limits {
        memory_bytes: 64 << 20,
        ..Limits::for_memory_mb(64)
    };
    let Some(live) = live("kill", &limits) else {
        return;
    };
    let cgroup = live.cgroup();
    let limit_files: Vec<String> = dirs(cgroup)
        .iter()
        .flat_map(|d| [d.join("memory.limit_in_bytes"), d.join("memory.max")])
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .collect();
    assert_eq!(limit_files, ["67108864\n"]);

    kill_three(cgroup, "sleep 100 & sleep 100 & wait", |members| {
        assert!(members.iter().all(|&p| alive(p)), "{members:?}");
        assert!(cgroup.peak_memory_bytes().is_some_and(|b| b > 0));
    });
    assert_eq!(cgroup.oom_kills(), 0);

    let dirs = dirs(cgroup);
    cgroup.destroy().expect("destroy");
    for dir in dirs {
        assert!(!dir.exists(), "{} still exists", dir.display());
    }
    cgroup.destroy().expect("a second destroy is harmless");
}

/// A cgroup made ahead gets its function's limits later, raised or lowered; on v1 the
/// swap limit must never fall below the memory limit in between.
#[test]
fn limits_can_be_raised_and_lowered() {
    let Some(live) = live("relimit", &Limits::for_memory_mb(128)) else {
        return;
    };
    let cgroup = live.cgroup();
    let read_limit = || -> Vec<String> {
        dirs(cgroup)
            .iter()
            .flat_map(|d| [d.join("memory.limit_in_bytes"), d.join("memory.max")])
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .collect()
    };
    for mb in [1024u64, 256, 10240, 128] {
        cgroup
            .set_limits(&Limits::for_memory_mb(mb))
            .unwrap_or_else(|e| panic!("set {mb} MB: {e}"));
        assert_eq!(read_limit(), [format!("{}\n", mb << 20)]);
    }
    // The same through a change from the limits it has, as a claim makes it.
    let mut from = Limits::for_memory_mb(128);
    for mb in [1769u64, 512, 10240, 128] {
        let to = Limits::for_memory_mb(mb);
        cgroup
            .change_limits(&from, &to)
            .unwrap_or_else(|e| panic!("change to {mb} MB: {e}"));
        assert_eq!(read_limit(), [format!("{}\n", mb << 20)]);
        from = to;
    }
    cgroup.set_cpu_millis(72).expect("cpu");
}

#[test]
fn allocating_past_the_limit_is_an_oom_kill() {
    // A whole CPU: at 64 MB's share (3.6%) python takes seconds to reach the limit.
    let limits = Limits {
        memory_bytes: 64 << 20,
        cpu_millis: 1000,
        pids: 1024,
    };
    let Some(live) = live("oom", &limits) else {
        return;
    };
    let cgroup = live.cgroup();
    // Read once before: the peak is read again through the same descriptor after.
    let empty = cgroup.peak_memory_bytes().expect("peak");
    assert!(empty < 32 << 20, "an empty cgroup's peak: {empty}");
    // The child joins by itself through procs_files, as a jailed runtime does.
    let status = Command::new("sh")
        .arg("-c")
        .arg(
            r#"for f in "$@"; do echo $$ > "$f" || exit 99; done
               exec python3 -c 'b = bytearray(200 * 1024 * 1024)'"#,
        )
        .arg("sh")
        .args(cgroup.procs_files())
        .status()
        .expect("run sh");
    assert_eq!(status.signal(), Some(9), "expected an OOM kill: {status:?}");
    assert!(
        cgroup.oom_kills() >= 1,
        "oom_kills = {}",
        cgroup.oom_kills()
    );
    let peak = cgroup.peak_memory_bytes().expect("peak");
    assert!(peak > 32 << 20 && peak <= 64 << 20, "peak {peak}");
}

#[test]
fn a_fork_storm_with_a_daemon_is_capped_and_killed() {
    let limits = Limits {
        memory_bytes: 128 << 20,
        cpu_millis: 1000,
        pids: 32,
    };
    let Some(live) = live("storm", &limits) else {
        return;
    };
    let cgroup = live.cgroup();
    let mut child = spawn_gated("setsid sleep 100 & while :; do sleep 100 & done 2>/dev/null");
    cgroup.add_pid(child.id()).expect("add pid");
    release(&mut child);
    wait_for("the storm to fill the cgroup", || {
        cgroup.pids().expect("pids").len() >= 30
    });
    std::thread::sleep(Duration::from_millis(100));
    let members = cgroup.pids().expect("pids");
    assert!(members.len() <= 32, "pids.max exceeded: {}", members.len());
    cgroup.kill_all().expect("kill_all");
    assert_eq!(cgroup.pids().expect("pids"), Vec::<u32>::new());
    child.wait().expect("wait");
    wait_for("no member alive in /proc", || {
        members.iter().all(|&p| !alive(p))
    });
}

/// Both v2 kill paths (`cgroup.kill` and the freezer) on this host's cgroup2 mount,
/// which needs no controllers, against processes that daemonised with `setsid`.
#[test]
fn v2_kill_paths_on_the_real_unified_hierarchy() {
    if !test_privileges::require("root", test_privileges::is_root()) {
        return;
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").expect("/proc/self/cgroup");
    let mounts = parse_mountinfo(&mountinfo).expect("parse");
    let own = parse_proc_cgroup(&cgroup)
        .expect("parse")
        .into_iter()
        .find(|m| m.is_v2());
    let (Some(mount), Some(own)) = (mounts.iter().find(|m| m.v2), own) else {
        eprintln!("no cgroup2 hierarchy on this host: v2 kill paths not exercised");
        return;
    };
    let own = mount.dir_of(&own.path).expect("own v2 dir");
    // On a hybrid host the unified hierarchy has no memory controller to delegate.
    let controllers = std::fs::read_to_string(own.join("cgroup.controllers")).unwrap_or_default();
    if !controllers.split_whitespace().any(|c| c == "memory") {
        let base = format!("hearth-test-{}-v2", std::process::id());
        let err = V2Manager::new(&own, &base).expect_err("no memory controller");
        assert!(
            matches!(
                err,
                CgroupError::ControllerUnavailable {
                    controller: "memory",
                    ..
                }
            ),
            "{err}"
        );
        assert!(!own.join(base).exists(), "nothing created");
    }
    for use_kill_file in [true, false] {
        let dir = own.join(format!(
            "hearth-test-{}-v2kill-{use_kill_file}",
            std::process::id()
        ));
        if let Err(e) = std::fs::create_dir(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        let guard = DirGuard(dir.clone());
        if use_kill_file && !dir.join("cgroup.kill").exists() {
            eprintln!("no cgroup.kill on this kernel: only the freezer path is exercised");
            continue;
        }
        let cgroup = V2Cgroup::at(dir, use_kill_file);
        kill_three(
            &cgroup,
            "setsid sh -c 'sleep 100 & sleep 100 &'; exec sleep 100",
            |_| {},
        );
        cgroup.destroy().expect("destroy");
        assert!(!guard.0.exists());
    }
}

/// Removes a bare test cgroup directory, killing what is left in it first.
struct DirGuard(PathBuf);

impl Drop for DirGuard {
    fn drop(&mut self) {
        // A directory that is already gone counts as destroyed.
        if let Err(e) = V2Cgroup::at(self.0.clone(), false).destroy() {
            eprintln!("cleanup: cannot remove {}: {e}", self.0.display());
        }
    }
}

/// The next start on a data directory (a new manager on the same base) kills what is
/// still running in a dead server's environment cgroups and removes them.
#[test]
fn a_start_sweeps_a_dead_servers_cgroups_with_their_processes() {
    let Some(live) = live("sweep", &Limits::for_memory_mb(64)) else {
        return;
    };
    let cgroup = live.cgroup();
    let mut child = spawn_gated("sleep 100 & sleep 100 & wait");
    cgroup.add_pid(child.id()).expect("add pid");
    release(&mut child);
    wait_for("3 processes in the cgroup", || {
        cgroup.pids().expect("pids").len() == 3
    });
    let members = cgroup.pids().expect("pids");
    let leftover = dirs(cgroup);
    let base = format!("hearth-test-{}-sweep", std::process::id());
    let next = detect_named(&base).expect("the next start's manager");
    assert_eq!(next.children().expect("children"), ["env"]);
    let roots = tempfile::tempdir().expect("tempdir");
    let swept = crate::jail::sweep::sweep(next.as_ref(), roots.path());
    assert_eq!((swept.cgroups, swept.failures.len()), (1, 0), "{swept:?}");
    let status = child.wait().expect("wait");
    assert_eq!(status.signal(), Some(9), "{status:?}");
    wait_for("no member alive in /proc", || {
        members.iter().all(|&p| !alive(p))
    });
    for dir in leftover {
        assert!(!dir.exists(), "{} still exists", dir.display());
    }
    assert!(next.children().expect("children").is_empty());
}
