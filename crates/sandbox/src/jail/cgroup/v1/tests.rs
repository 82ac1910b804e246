//! v1 against a fake hybrid tree of plain files in a temporary directory.

use std::fs::{create_dir_all, read_to_string, write};

use super::*;

/// A fake hybrid tree: cpu and cpuacct co-mounted, memory with swap accounting.
fn tree(memsw: bool) -> (tempfile::TempDir, V1Manager) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let memory_base = root.join("memory/process_api/x/hearth");
    create_dir_all(&memory_base).expect("mkdir");
    if memsw {
        write(memory_base.join("memory.memsw.limit_in_bytes"), "max").expect("write");
    }
    let manager = V1Manager::new([
        memory_base,
        root.join("cpu,cpuacct/hearth"),
        root.join("pids/hearth"),
        root.join("freezer/hearth"),
    ])
    .expect("manager");
    (tmp, manager)
}

fn limits() -> Limits {
    Limits {
        memory_bytes: 64 << 20,
        cpu_millis: 72,
        pids: 1024,
    }
}

fn contents(path: PathBuf) -> String {
    read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn create_writes_limits_into_each_hierarchy() {
    let (tmp, manager) = tree(true);
    let root = tmp.path();
    let cg = manager.create("env1", &limits()).expect("created");
    let mem = root.join("memory/process_api/x/hearth/env1");
    assert_eq!(contents(mem.join("memory.limit_in_bytes")), "67108864");
    assert_eq!(
        contents(mem.join("memory.memsw.limit_in_bytes")),
        "67108864"
    );
    assert_eq!(contents(mem.join("memory.swappiness")), "0");
    let cpu = root.join("cpu,cpuacct/hearth/env1");
    assert_eq!(contents(cpu.join("cpu.cfs_period_us")), "100000");
    assert_eq!(contents(cpu.join("cpu.cfs_quota_us")), "7200");
    assert_eq!(contents(root.join("pids/hearth/env1/pids.max")), "1024");
    assert_eq!(
        cg.procs_files(),
        [
            mem.join("cgroup.procs"),
            cpu.join("cgroup.procs"),
            root.join("pids/hearth/env1/cgroup.procs"),
            root.join("freezer/hearth/env1/cgroup.procs"),
        ]
    );
}

#[test]
fn memsw_is_left_alone_without_swap_accounting() {
    let (tmp, manager) = tree(false);
    manager.create("env1", &limits()).expect("created");
    let mem = tmp.path().join("memory/process_api/x/hearth/env1");
    assert!(!mem.join("memory.memsw.limit_in_bytes").exists());
}

#[test]
fn co_mounted_controllers_share_a_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let all = tmp.path().join("all/hearth");
    let manager =
        V1Manager::new([all.clone(), all.clone(), all.clone(), all.clone()]).expect("manager");
    let cg = manager.create("e", &limits()).expect("created");
    assert_eq!(cg.procs_files(), [all.join("e/cgroup.procs")]);
    cg.add_pid(42).expect("added");
    assert_eq!(contents(all.join("e/cgroup.procs")), "42");
}

#[test]
fn add_pid_joins_every_hierarchy_and_pids_unions_them() {
    let (_tmp, manager) = tree(false);
    let cg = manager.create("env1", &limits()).expect("created");
    cg.add_pid(1234).expect("added");
    for procs in cg.procs_files() {
        assert_eq!(contents(procs), "1234");
    }
    let files = cg.procs_files();
    write(&files[2], "1234\n77\n").expect("write");
    assert_eq!(cg.pids().expect("pids"), [77, 1234]);
}

#[test]
fn peak_and_oom_come_from_the_memory_files() {
    let (tmp, manager) = tree(false);
    let cg = manager.create("env1", &limits()).expect("created");
    assert_eq!(cg.peak_memory_bytes(), None);
    assert_eq!(cg.oom_kills(), 0);
    let mem = tmp.path().join("memory/process_api/x/hearth/env1");
    write(mem.join("memory.max_usage_in_bytes"), "52428800\n").expect("write");
    write(
        mem.join("memory.oom_control"),
        "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
    )
    .expect("write");
    assert_eq!(cg.peak_memory_bytes(), Some(52_428_800));
    assert_eq!(cg.oom_kills(), 2);
    // Kernels before 4.13 have no counter; failcnt alone does not mean a kill.
    write(
        mem.join("memory.oom_control"),
        "oom_kill_disable 0\nunder_oom 0\n",
    )
    .expect("write");
    write(mem.join("memory.failcnt"), "9\n").expect("write");
    assert_eq!(cg.oom_kills(), 0);
}

#[test]
fn kill_all_on_an_empty_cgroup_does_not_freeze() {
    let (tmp, manager) = tree(false);
    let cg = manager.create("env1", &limits()).expect("created");
    for procs in cg.procs_files() {
        write(procs, "").expect("write");
    }
    cg.kill_all().expect("nothing to kill");
    assert!(!tmp
        .path()
        .join("freezer/hearth/env1/freezer.state")
        .exists());
}

#[test]
fn existing_cgroup_and_bad_names_are_refused() {
    let (tmp, manager) = tree(false);
    manager.create("env1", &limits()).expect("created");
    assert!(matches!(
        manager.create("env1", &limits()),
        Err(CgroupError::Exists(_))
    ));
    assert!(matches!(
        manager.create("../escape", &limits()),
        Err(CgroupError::InvalidName(_))
    ));
    assert!(!tmp.path().join("memory/process_api/x/escape").exists());
}

#[test]
fn a_failed_create_removes_what_it_made() {
    let (tmp, manager) = tree(false);
    // The pids hierarchy already has this name: memory and cpu must be undone.
    create_dir_all(tmp.path().join("pids/hearth/env1")).expect("mkdir");
    assert!(matches!(
        manager.create("env1", &limits()),
        Err(CgroupError::Exists(_))
    ));
    assert!(!tmp.path().join("memory/process_api/x/hearth/env1").exists());
    assert!(!tmp.path().join("cpu,cpuacct/hearth/env1").exists());
}

#[test]
fn usage_comes_from_cpuacct_and_memory_usage() {
    let (tmp, manager) = tree(false);
    let root = tmp.path();
    // cpuacct mounted on its own, as on this kind of hybrid host.
    let manager = manager
        .with_cpuacct(root.join("cpuacct/hearth"))
        .expect("cpuacct base");
    let cg = manager.create("env1", &limits()).expect("created");
    let acct = root.join("cpuacct/hearth/env1");
    assert!(
        cg.procs_files().contains(&acct.join("cgroup.procs")),
        "the environment joins the cpuacct hierarchy too"
    );
    assert_eq!(cg.cpu_usage_ns(), None);
    write(acct.join("cpuacct.usage"), "1234567890\n").expect("write");
    let mem = root.join("memory/process_api/x/hearth/env1");
    write(mem.join("memory.usage_in_bytes"), "41943040\n").expect("write");
    assert_eq!(cg.cpu_usage_ns(), Some(1_234_567_890));
    assert_eq!(cg.memory_bytes(), Some(41_943_040));
    assert_eq!(manager.children().expect("children"), ["env1"]);
}

#[test]
fn without_cpuacct_there_is_no_cpu_time() {
    let (tmp, manager) = tree(false);
    let cg = manager.create("env1", &limits()).expect("created");
    let cpu = tmp.path().join("cpu,cpuacct/hearth/env1");
    write(cpu.join("cpuacct.usage"), "5\n").expect("write");
    assert_eq!(cg.cpu_usage_ns(), None);
}

#[test]
fn a_change_of_limits_writes_only_what_differs() {
    let (tmp, manager) = tree(true);
    let root = tmp.path();
    let cg = manager.create("env1", &limits()).expect("created");
    let mem = root.join("memory/process_api/x/hearth/env1");
    let cpu = root.join("cpu,cpuacct/hearth/env1");
    let pids = root.join("pids/hearth/env1");
    let files = [
        mem.join("memory.limit_in_bytes"),
        mem.join("memory.memsw.limit_in_bytes"),
        mem.join("memory.swappiness"),
        cpu.join("cpu.cfs_period_us"),
        cpu.join("cpu.cfs_quota_us"),
        pids.join("pids.max"),
    ];
    for f in &files {
        write(f, "untouched").expect("write");
    }
    cg.change_limits(&limits(), &limits()).expect("no change");
    for f in &files {
        assert_eq!(contents(f.clone()), "untouched", "{}", f.display());
    }
    let bigger = Limits {
        memory_bytes: 1769 << 20,
        ..limits()
    };
    cg.change_limits(&limits(), &bigger).expect("memory");
    let bytes = (1769u64 << 20).to_string();
    assert_eq!(contents(files[0].clone()), bytes);
    assert_eq!(contents(files[1].clone()), bytes);
    for f in &files[2..] {
        assert_eq!(contents(f.clone()), "untouched", "{}", f.display());
    }
    let all = Limits {
        memory_bytes: 64 << 20,
        cpu_millis: 1000,
        pids: 64,
    };
    cg.change_limits(&bigger, &all).expect("all three");
    assert_eq!(contents(files[0].clone()), "67108864");
    assert_eq!(contents(files[1].clone()), "67108864");
    assert_eq!(contents(cpu.join("cpu.cfs_quota_us")), "100000");
    assert_eq!(contents(pids.join("pids.max")), "64");
    // Constant since creation: a change never writes them.
    assert_eq!(contents(files[2].clone()), "untouched");
    assert_eq!(contents(files[3].clone()), "untouched");
}
