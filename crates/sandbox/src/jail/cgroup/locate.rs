//! Finding, from outside, the directory that holds a running Hearth's environment
//! cgroups (for measurements such as `hearth-bench --soak`), without creating anything.
//!
//! It is where [`super::detect_from`] puts them: on v1 the memory hierarchy's
//! `<Hearth's path>/<base>` (every environment has one directory there, and one more in
//! each other controller's hierarchy); on v2 `<Hearth's cgroup>/<base>`, where a server
//! that moved itself into its `supervisor` leaf is found by that leaf's parent.

use std::path::PathBuf;

use super::parse::{parse_mountinfo, parse_proc_cgroup};
use super::v2::SUPERVISOR;
use super::{validate_name, CgroupError};

/// The directory holding the environment cgroups (named `env-<id>`) of the process whose
/// `/proc/<pid>/cgroup` is `proc_pid_cgroup`, given the `mountinfo` of a process in the
/// same mount namespace, and the base it uses (`/`-separated names, e.g. [`super::DEFAULT_BASE`]
/// or a data directory's `hearth/<hash>`).
pub fn environments_dir(
    mountinfo: &str,
    proc_pid_cgroup: &str,
    base: &str,
) -> Result<PathBuf, CgroupError> {
    for name in base.split('/') {
        validate_name(name)?;
    }
    let mounts = parse_mountinfo(mountinfo)?;
    let memberships = parse_proc_cgroup(proc_pid_cgroup)?;
    if let Some(memory) = mounts.iter().find(|m| m.has("memory")) {
        let membership = memberships
            .iter()
            .find(|m| m.has("memory"))
            .ok_or_else(|| {
                CgroupError::NoHierarchy("the process is in no v1 memory hierarchy".into())
            })?;
        return Ok(memory.dir_of(&membership.path)?.join(base));
    }
    let mount = mounts
        .iter()
        .find(|m| m.v2)
        .ok_or_else(|| CgroupError::NoHierarchy("no cgroup2 mount and no v1 memory".into()))?;
    let membership = memberships
        .iter()
        .find(|m| m.is_v2())
        .ok_or_else(|| CgroupError::NoHierarchy("the process has no `0::` line".into()))?;
    let own = mount.dir_of(&membership.path)?;
    let own = match (own.file_name(), own.parent()) {
        (Some(name), Some(parent)) if name == SUPERVISOR => parent.to_path_buf(),
        _ => own,
    };
    Ok(own.join(base))
}

/// The environment cgroups under `dir` (from [`environments_dir`]) right now.
pub fn count_environments(dir: &std::path::Path) -> std::io::Result<usize> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Ok(entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("env-"))
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .count()),
        // No environment was ever made (or the base was removed at shutdown).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const HYBRID: &str = "\
30 25 0:26 / /sys/fs/cgroup/unified rw shared:10 - cgroup2 cgroup2 rw\n\
31 25 0:27 / /sys/fs/cgroup/memory rw shared:11 - cgroup cgroup rw,memory\n\
32 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw shared:12 - cgroup cgroup rw,cpu,cpuacct\n";

    const UNIFIED: &str = "30 25 0:26 / /sys/fs/cgroup rw shared:10 - cgroup2 cgroup2 rw\n";

    #[test]
    fn v1_uses_the_memory_hierarchy() {
        let cgroup = "12:memory:/user.slice/s1\n4:cpu,cpuacct:/other\n0::/user.slice/s1\n";
        assert_eq!(
            environments_dir(HYBRID, cgroup, "hearth").expect("found"),
            Path::new("/sys/fs/cgroup/memory/user.slice/s1/hearth")
        );
    }

    #[test]
    fn v2_looks_past_the_supervisor_leaf() {
        for cgroup in [
            "0::/system.slice/hearth.service/supervisor\n",
            "0::/system.slice/hearth.service\n",
        ] {
            assert_eq!(
                environments_dir(UNIFIED, cgroup, "hearth").expect("found"),
                Path::new("/sys/fs/cgroup/system.slice/hearth.service/hearth")
            );
        }
        assert!(environments_dir(UNIFIED, "3:memory:/x\n", "hearth").is_err());
        assert!(environments_dir(UNIFIED, "0::/x\n", "../x").is_err());
    }

    #[test]
    fn counts_env_dirs_only() {
        let tmp = tempfile::tempdir().expect("tmp");
        assert_eq!(count_environments(&tmp.path().join("none")).expect("0"), 0);
        for d in ["env-a", "env-b", "supervisor"] {
            std::fs::create_dir(tmp.path().join(d)).expect("mkdir");
        }
        std::fs::write(tmp.path().join("env-file"), "").expect("write");
        assert_eq!(count_environments(tmp.path()).expect("count"), 2);
    }
}
