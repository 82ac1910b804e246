//! Choosing the cgroup version and finding Hearth's own cgroup in it, from
//! `/proc/self/mountinfo` and `/proc/self/cgroup`.
//!
//! The version that carries the memory controller wins: v1 on legacy and hybrid hosts
//! (whose cgroup2 mount, if any, has no controllers), v2 on unified ones.

use std::path::{Path, PathBuf};

use super::parse::{parse_mountinfo, parse_proc_cgroup, CgroupMount, Membership};
use super::v1::{V1Manager, CONTROLLERS};
use super::v2::V2Manager;
use super::{fs, validate_name, CgroupError, CgroupManager, Version};

/// The directory under Hearth's own cgroup that holds the environments' cgroups (each
/// data directory gets a sub-base of its own under it, see `jail::sweep`).
pub const DEFAULT_BASE: &str = "hearth";

/// [`detect_named`] with [`DEFAULT_BASE`].
pub fn detect() -> Result<Box<dyn CgroupManager>, CgroupError> {
    detect_named(DEFAULT_BASE)
}

/// Detects this host's cgroup layout and prepares the base directory `base`, a name or a
/// relative path of names such as `hearth/1a2b` (see [`detect_from`]).
pub fn detect_named(base: &str) -> Result<Box<dyn CgroupManager>, CgroupError> {
    let mountinfo = fs::read(Path::new("/proc/self/mountinfo"))?;
    let cgroup = fs::read(Path::new("/proc/self/cgroup"))?;
    detect_from(&mountinfo, &cgroup, base)
}

/// Picks the manager for the mounts in `mountinfo` and the memberships in
/// `proc_self_cgroup`, creating `base` under Hearth's own cgroup (and on v2 delegating
/// controllers to it, see [`V2Manager::new`]). Paths are taken from the mount points, so
/// a fake tree in a temporary directory works as well as `/sys/fs/cgroup`.
pub fn detect_from(
    mountinfo: &str,
    proc_self_cgroup: &str,
    base: &str,
) -> Result<Box<dyn CgroupManager>, CgroupError> {
    validate_base(base)?;
    let mounts = parse_mountinfo(mountinfo)?;
    let memberships = parse_proc_cgroup(proc_self_cgroup)?;
    if mounts.iter().any(|m| m.has("memory")) {
        let [memory, cpu, pids, freezer] = CONTROLLERS.map(|c| v1_base(&mounts, &memberships, c));
        let manager = V1Manager::new([
            memory?.join(base),
            cpu?.join(base),
            pids?.join(base),
            freezer?.join(base),
        ])?;
        let manager = match v1_base(&mounts, &memberships, "cpuacct") {
            Ok(cpuacct) => manager.with_cpuacct(cpuacct.join(base))?,
            Err(e) => {
                tracing::info!(error = %e, "environments' CPU time will not be measured");
                manager
            }
        };
        return Ok(Box::new(manager));
    }
    Ok(Box::new(V2Manager::new(
        &v2_own(&mounts, &memberships)?,
        base,
    )?))
}

/// Accepts `name` or `name/name/...`, each name as [`validate_name`] wants it.
pub(crate) fn validate_base(base: &str) -> Result<(), CgroupError> {
    if base.split('/').all(|part| validate_name(part).is_ok()) {
        Ok(())
    } else {
        Err(CgroupError::InvalidName(base.to_string()))
    }
}

/// Hearth's own directory in the v1 hierarchy that carries `controller`.
fn v1_base(
    mounts: &[CgroupMount],
    memberships: &[Membership],
    controller: &'static str,
) -> Result<PathBuf, CgroupError> {
    let unavailable = |detail: &str| CgroupError::ControllerUnavailable {
        version: Version::V1,
        controller,
        detail: detail.to_string(),
    };
    let mount = mounts
        .iter()
        .find(|m| m.has(controller))
        .ok_or_else(|| unavailable("no v1 hierarchy with it is mounted"))?;
    let membership = memberships
        .iter()
        .find(|m| m.has(controller))
        .ok_or_else(|| unavailable("/proc/self/cgroup lists no hierarchy with it"))?;
    mount.dir_of(&membership.path)
}

/// Hearth's own directory in the unified hierarchy.
fn v2_own(mounts: &[CgroupMount], memberships: &[Membership]) -> Result<PathBuf, CgroupError> {
    let mount = mounts.iter().find(|m| m.v2).ok_or_else(|| {
        CgroupError::NoHierarchy(
            "/proc/self/mountinfo has neither a cgroup2 mount nor a v1 memory hierarchy".into(),
        )
    })?;
    let membership = memberships.iter().find(|m| m.is_v2()).ok_or_else(|| {
        CgroupError::NoHierarchy("/proc/self/cgroup has no `0::` line for cgroup2".into())
    })?;
    mount.dir_of(&membership.path)
}

#[cfg(test)]
mod tests {
    use std::fs::{create_dir_all, write};

    use super::*;

    fn mount_line(id: u32, point: &Path, fstype: &str, opts: &str) -> String {
        let point = point.display().to_string().replace(' ', "\\040");
        format!("{id} 1 0:{id} / {point} rw,relatime shared:{id} - {fstype} {fstype} {opts}\n")
    }

    #[test]
    fn hybrid_host_uses_v1_under_each_own_path() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let r = tmp.path();
        let mut mountinfo = String::from("22 1 0:21 / /proc rw - proc proc rw\n");
        for (i, (dir, opts)) in [
            ("cpu,cpuacct", "rw,cpu,cpuacct"),
            ("memory", "rw,memory"),
            ("pids", "rw,pids"),
            ("freezer", "rw,freezer"),
            ("systemd", "rw,name=systemd"),
        ]
        .into_iter()
        .enumerate()
        {
            mountinfo += &mount_line(30 + i as u32, &r.join(dir), "cgroup", opts);
        }
        mountinfo += &mount_line(40, &r.join("unified"), "cgroup2", "rw");
        let cgroup = "9:name=systemd:/\n8:pids:/\n6:freezer:/\n\
                      4:memory:/process_api/abc\n1:cpu,cpuacct:/\n0::/\n";
        let manager = detect_from(&mountinfo, cgroup, "hearth").expect("v1");
        assert_eq!(manager.version(), Version::V1);
        let cg = manager
            .create("e1", &super::super::Limits::for_memory_mb(128))
            .expect("created");
        assert_eq!(
            cg.procs_files(),
            [
                r.join("memory/process_api/abc/hearth/e1/cgroup.procs"),
                r.join("cpu,cpuacct/hearth/e1/cgroup.procs"),
                r.join("pids/hearth/e1/cgroup.procs"),
                r.join("freezer/hearth/e1/cgroup.procs"),
            ]
        );
    }

    #[test]
    fn a_missing_v1_controller_is_named() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let r = tmp.path();
        let mountinfo = [
            ("cpu", "rw,cpu"),
            ("memory", "rw,memory"),
            ("pids", "rw,pids"),
        ]
        .iter()
        .enumerate()
        .map(|(i, (d, o))| mount_line(i as u32, &r.join(d), "cgroup", o))
        .collect::<String>();
        let cgroup = "3:pids:/\n2:memory:/\n1:cpu:/\n";
        let err = detect_from(&mountinfo, cgroup, "hearth").expect_err("no freezer");
        assert!(
            matches!(
                err,
                CgroupError::ControllerUnavailable {
                    controller: "freezer",
                    version: Version::V1,
                    ..
                }
            ),
            "{err}"
        );
        assert!(!r.join("memory/hearth").exists(), "nothing created");
    }

    #[test]
    fn unified_host_uses_v2_under_own_cgroup() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mount = tmp.path().join("sys fs cgroup");
        let own = mount.join("system.slice/hearth.service");
        create_dir_all(&own).expect("mkdir");
        write(own.join("cgroup.controllers"), "cpu memory pids\n").expect("write");
        write(own.join("cgroup.subtree_control"), "").expect("write");
        write(own.join("cgroup.procs"), "").expect("write");
        write(own.join("cgroup.type"), "domain\n").expect("write");
        let mountinfo = mount_line(30, &mount, "cgroup2", "rw,nsdelegate");
        let manager =
            detect_from(&mountinfo, "0::/system.slice/hearth.service\n", "hearth").expect("v2");
        assert_eq!(manager.version(), Version::V2);
        let cg = manager
            .create("e1", &super::super::Limits::for_memory_mb(128))
            .expect("created");
        assert_eq!(cg.procs_files(), [own.join("hearth/e1/cgroup.procs")]);
    }

    #[test]
    fn no_cgroups_at_all_is_explained() {
        let err = detect_from("22 1 0:21 / /proc rw - proc proc rw\n", "0::/\n", "hearth")
            .expect_err("nothing mounted");
        assert!(matches!(err, CgroupError::NoHierarchy(_)), "{err}");
    }

    #[test]
    fn base_name_is_validated() {
        for bad in ["../x", "hearth/..", "hearth/", "/hearth", "a//b", ""] {
            assert!(
                matches!(detect_from("", "", bad), Err(CgroupError::InvalidName(_))),
                "{bad:?}"
            );
        }
        assert!(validate_base("hearth/0123abcd").is_ok());
    }
}
