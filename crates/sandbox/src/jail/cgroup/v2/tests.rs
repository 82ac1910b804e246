//! v2 against a fake unified tree of plain files in a temporary directory: what is
//! written where, without a v2 host.

use std::fs::{create_dir_all, read_to_string, write};

use super::*;

const ALL: &str = "cpuset cpu io memory hugetlb pids rdma misc\n";

/// Hearth's own cgroup `<tmp>/system.slice/hearth.service` holding pids 100 and 200.
fn own_cgroup(controllers: &str, subtree: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let own = tmp.path().join("system.slice/hearth.service");
    create_dir_all(&own).expect("mkdir");
    write(own.join("cgroup.controllers"), controllers).expect("write");
    write(own.join("cgroup.subtree_control"), subtree).expect("write");
    write(own.join("cgroup.procs"), "200\n100\n").expect("write");
    write(own.join("cgroup.type"), "domain\n").expect("write");
    (tmp, own)
}

fn contents(path: PathBuf) -> String {
    read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn limits() -> Limits {
    Limits {
        memory_bytes: 128 << 20,
        cpu_millis: 72,
        pids: 1024,
    }
}

#[test]
fn moves_hearth_to_a_leaf_then_delegates() {
    let (_tmp, own) = own_cgroup(ALL, "");
    V2Manager::new(&own, "hearth").expect("manager");
    // A plain file keeps only the last write: each pid is written on its own.
    assert_eq!(contents(own.join("supervisor/cgroup.procs")), "200");
    assert_eq!(
        contents(own.join("cgroup.subtree_control")),
        "+memory +pids +cpu"
    );
    assert_eq!(
        contents(own.join("hearth/cgroup.subtree_control")),
        "+memory +pids +cpu"
    );
}

#[test]
fn nothing_moves_when_controllers_are_already_enabled() {
    let (_tmp, own) = own_cgroup(ALL, "cpu io memory pids\n");
    V2Manager::new(&own, "hearth").expect("manager");
    assert!(!own.join("supervisor").exists());
    assert_eq!(
        contents(own.join("cgroup.subtree_control")),
        "cpu io memory pids\n"
    );
    assert_eq!(
        contents(own.join("hearth/cgroup.subtree_control")),
        "+memory +pids +cpu"
    );
}

#[test]
fn the_root_cgroup_keeps_its_processes() {
    let (_tmp, own) = own_cgroup(ALL, "");
    std::fs::remove_file(own.join("cgroup.type")).expect("rm");
    V2Manager::new(&own, "hearth").expect("manager");
    assert!(!own.join("supervisor").exists());
    assert_eq!(
        contents(own.join("cgroup.subtree_control")),
        "+memory +pids +cpu"
    );
}

#[test]
fn a_supervisor_leaf_from_an_earlier_start_means_its_parent() {
    let (_tmp, own) = own_cgroup(ALL, "memory pids cpu");
    let supervisor = own.join("supervisor");
    create_dir_all(&supervisor).expect("mkdir");
    let manager = V2Manager::new(&supervisor, "hearth").expect("manager");
    let cg = manager.create("env", &limits()).expect("created");
    assert_eq!(cg.procs_files(), [own.join("hearth/env/cgroup.procs")]);
}

#[test]
fn an_undelegated_controller_is_named() {
    let (_tmp, own) = own_cgroup("cpu io memory\n", "");
    let err = V2Manager::new(&own, "hearth").expect_err("pids missing");
    assert!(
        matches!(
            err,
            CgroupError::ControllerUnavailable {
                controller: "pids",
                version: Version::V2,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("`pids`"), "{err}");
    assert!(!own.join("supervisor").exists(), "nothing changed");
}

#[test]
fn base_name_supervisor_is_refused() {
    let (_tmp, own) = own_cgroup(ALL, "");
    assert!(matches!(
        V2Manager::new(&own, "supervisor"),
        Err(CgroupError::InvalidName(_))
    ));
}

#[test]
fn create_writes_limits() {
    let (_tmp, own) = own_cgroup(ALL, "");
    let base = own.join("hearth");
    create_dir_all(&base).expect("mkdir");
    write(base.join("memory.swap.max"), "max\n").expect("write");
    let manager = V2Manager::new(&own, "hearth").expect("manager");
    let cg = manager.create("env-1", &limits()).expect("created");
    let dir = base.join("env-1");
    assert_eq!(contents(dir.join("memory.max")), "134217728");
    assert_eq!(contents(dir.join("memory.swap.max")), "0");
    assert_eq!(contents(dir.join("cpu.max")), "7200 100000");
    assert_eq!(contents(dir.join("pids.max")), "1024");
    assert_eq!(cg.procs_files(), [dir.join("cgroup.procs")]);
    cg.add_pid(4321).expect("added");
    assert_eq!(contents(dir.join("cgroup.procs")), "4321");
    assert_eq!(cg.pids().expect("pids"), [4321]);
}

#[test]
fn swap_is_left_alone_without_swap_accounting() {
    let (_tmp, own) = own_cgroup(ALL, "");
    let manager = V2Manager::new(&own, "hearth").expect("manager");
    manager.create("env", &limits()).expect("created");
    assert!(!own.join("hearth/env/memory.swap.max").exists());
}

#[test]
fn peak_prefers_memory_peak_then_current() {
    let (_tmp, own) = own_cgroup(ALL, "");
    let manager = V2Manager::new(&own, "hearth").expect("manager");
    let cg = manager.create("env", &limits()).expect("created");
    let dir = own.join("hearth/env");
    assert_eq!(cg.peak_memory_bytes(), None);
    // A kernel before 5.19 has no memory.peak.
    write(dir.join("memory.current"), "1000\n").expect("write");
    assert_eq!(cg.peak_memory_bytes(), Some(1000));
    write(dir.join("memory.peak"), "5000\n").expect("write");
    assert_eq!(cg.peak_memory_bytes(), Some(5000));
    // Read again after each invocation, through the descriptor the first read opened.
    write(dir.join("memory.peak"), "7000\n").expect("write");
    assert_eq!(cg.peak_memory_bytes(), Some(7000));
}

#[test]
fn oom_kills_come_from_memory_events() {
    let (_tmp, own) = own_cgroup(ALL, "");
    let manager = V2Manager::new(&own, "hearth").expect("manager");
    let cg = manager.create("env", &limits()).expect("created");
    assert_eq!(cg.oom_kills(), 0);
    write(
        own.join("hearth/env/memory.events"),
        "low 0\nhigh 0\nmax 31\noom 1\noom_kill 1\noom_group_kill 0\n",
    )
    .expect("write");
    assert_eq!(cg.oom_kills(), 1);
}

#[test]
fn kill_all_uses_cgroup_kill_when_the_kernel_has_it() {
    let (_tmp, own) = own_cgroup(ALL, "");
    let base = own.join("hearth");
    create_dir_all(&base).expect("mkdir");
    write(base.join("cgroup.kill"), "").expect("write");
    let manager = V2Manager::new(&own, "hearth").expect("manager");
    let cg = manager.create("env", &limits()).expect("created");
    write(own.join("hearth/env/cgroup.procs"), "").expect("write");
    cg.kill_all().expect("killed");
    assert_eq!(contents(own.join("hearth/env/cgroup.kill")), "1");
    assert!(!own.join("hearth/env/cgroup.freeze").exists());
}

#[test]
fn kill_all_without_cgroup_kill_freezes_only_when_needed() {
    let (_tmp, own) = own_cgroup(ALL, "");
    let manager = V2Manager::new(&own, "hearth").expect("manager");
    let cg = manager.create("env", &limits()).expect("created");
    write(own.join("hearth/env/cgroup.procs"), "").expect("write");
    cg.kill_all().expect("nothing to kill");
    assert!(!own.join("hearth/env/cgroup.kill").exists());
    assert!(!own.join("hearth/env/cgroup.freeze").exists());
}

#[test]
fn existing_cgroup_and_bad_names_are_refused() {
    let (_tmp, own) = own_cgroup(ALL, "");
    let manager = V2Manager::new(&own, "hearth").expect("manager");
    manager.create("env", &limits()).expect("created");
    assert!(matches!(
        manager.create("env", &limits()),
        Err(CgroupError::Exists(_))
    ));
    for bad in ["..", "a/b", ""] {
        assert!(matches!(
            manager.create(bad, &limits()),
            Err(CgroupError::InvalidName(_))
        ));
    }
}

#[test]
fn usage_comes_from_cpu_stat_and_memory_current() {
    let (_tmp, own) = own_cgroup(ALL, "");
    let manager = V2Manager::new(&own, "hearth").expect("manager");
    let cg = manager.create("env", &limits()).expect("created");
    let dir = own.join("hearth/env");
    assert_eq!(cg.cpu_usage_ns(), None);
    assert_eq!(cg.memory_bytes(), None);
    write(
        dir.join("cpu.stat"),
        "usage_usec 2500100\nuser_usec 2000000\nsystem_usec 500100\n",
    )
    .expect("write");
    write(dir.join("memory.current"), "8388608\n").expect("write");
    assert_eq!(cg.cpu_usage_ns(), Some(2_500_100_000));
    assert_eq!(cg.memory_bytes(), Some(8_388_608));
}

#[test]
fn a_change_of_limits_writes_only_what_differs() {
    let (_tmp, own) = own_cgroup(ALL, "");
    let manager = V2Manager::new(&own, "hearth").expect("manager");
    let cg = manager.create("env", &limits()).expect("created");
    let dir = own.join("hearth/env");
    let files = ["memory.max", "cpu.max", "pids.max"];
    for f in files {
        write(dir.join(f), "untouched").expect("write");
    }
    let bigger = Limits {
        memory_bytes: 1769 << 20,
        ..limits()
    };
    cg.change_limits(&limits(), &limits()).expect("no change");
    for f in files {
        assert_eq!(contents(dir.join(f)), "untouched", "{f}");
    }
    cg.change_limits(&limits(), &bigger).expect("memory");
    assert_eq!(
        contents(dir.join("memory.max")),
        (1769u64 << 20).to_string()
    );
    assert_eq!(contents(dir.join("cpu.max")), "untouched");
    assert_eq!(contents(dir.join("pids.max")), "untouched");
    let all = Limits {
        memory_bytes: 1769 << 20,
        cpu_millis: 1000,
        pids: 64,
    };
    cg.change_limits(&bigger, &all).expect("cpu and pids");
    assert_eq!(contents(dir.join("cpu.max")), "100000 100000");
    assert_eq!(contents(dir.join("pids.max")), "64");
}
