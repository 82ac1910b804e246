//! What a server that died without shutting down (`kill -9`, a crash, a power cut)
//! left behind on the host, removed by the next start on the same data directory.
//!
//! Each data directory has a cgroup base of its own, `hearth/<id>` ([`cgroup_base`]),
//! where `<id>` is a hash of the jail's work directory's canonical path, so a start only
//! ever sweeps its own data directory's environments, never those of another server
//! running from the same cgroup (as every e2e test server does). The data directory's
//! lock (taken by `hearth server` before the jail starts) makes everything found there
//! stale: no other live server uses it.
//!
//! Swept: every environment cgroup under the base (its processes killed first, should
//! any have outlived their init's parent-death signal), and every entry of
//! `jail/roots` (the per-environment mount points, empty on the host, of servers that
//! made one each; every environment now assembles its root on the one `jail/root`).
//! `/tmp` images are removed by `TmpDisks::new`, and the network namespaces and loop
//! devices went with the last process using them.

use std::io;
use std::path::Path;

use super::cgroup::{CgroupManager, DEFAULT_BASE};

/// What a sweep removed, and what it could not.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Environment cgroups removed (one per environment, whatever the hierarchies).
    pub cgroups: usize,
    /// Root mount points removed.
    pub roots: usize,
    /// What could not be removed, each with why.
    pub failures: Vec<String>,
}

/// `hearth/<16 hex digits>`: the cgroup base of the jail working in `work_dir`, which
/// must exist (its canonical path is hashed, so two spellings of one directory agree).
pub fn cgroup_base(work_dir: &Path) -> io::Result<String> {
    let canonical = work_dir.canonicalize()?;
    Ok(format!(
        "{DEFAULT_BASE}/{:016x}",
        fnv1a(canonical.as_os_str().as_encoded_bytes())
    ))
}

/// 64-bit FNV-1a: stable across builds and Rust versions (unlike `DefaultHasher`), so
/// a new `hearth` finds the base an older one used; tests compute it too.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Kills the processes of every environment cgroup under `cgroups`' base and removes
/// the cgroups, then removes every entry of `roots`. Call before making environments.
pub fn sweep(cgroups: &dyn CgroupManager, roots: &Path) -> Swept {
    let mut swept = Swept::default();
    match cgroups.children() {
        Ok(names) => {
            for name in names {
                let removed = cgroups.open(&name).and_then(|cgroup| {
                    // A plain SIGKILL first: it needs no freezer, which a partial
                    // leftover may lack; destroy then kills the thorough way.
                    let _ = cgroup.signal_kill();
                    cgroup.destroy()
                });
                match removed {
                    Ok(()) => swept.cgroups += 1,
                    Err(e) => swept.failures.push(format!("cgroup {name}: {e}")),
                }
            }
        }
        Err(e) => swept.failures.push(format!("cgroups: {e}")),
    }
    match std::fs::read_dir(roots) {
        Ok(entries) => {
            for entry in entries.flatten() {
                let path = entry.path();
                // Never recursive: a root is an empty mount point on the host, and
                // anything else is not Hearth's to delete.
                match std::fs::remove_dir(&path) {
                    Ok(()) => swept.roots += 1,
                    Err(e) => swept.failures.push(format!("{}: {e}", path.display())),
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => swept.failures.push(format!("{}: {e}", roots.display())),
    }
    swept
}

#[cfg(test)]
mod tests {
    use std::fs::{create_dir_all, write};
    use std::path::PathBuf;

    use super::super::cgroup::{Limits, V1Manager};
    use super::*;

    /// A v1 layout in a temporary directory: the four hierarchies' bases for
    /// `hearth/<id>` under Hearth's own cgroup.
    fn v1_bases(root: &Path, id: &str) -> [PathBuf; 4] {
        ["memory", "cpu,cpuacct", "pids", "freezer"].map(|h| root.join(h).join("hearth").join(id))
    }

    #[test]
    fn sweeps_only_its_own_base() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let ours = V1Manager::new(v1_bases(tmp.path(), "aaaa")).expect("ours");
        let theirs = V1Manager::new(v1_bases(tmp.path(), "bbbb")).expect("theirs");
        // Leftovers: a whole environment, one whose directories exist in only some
        // hierarchies (a partial removal), and control files, which are not cgroups.
        for base in v1_bases(tmp.path(), "aaaa") {
            create_dir_all(base.join("env-10-0")).expect("mkdir");
            write(base.join("cgroup.procs"), "").expect("write");
        }
        create_dir_all(v1_bases(tmp.path(), "aaaa")[3].join("env-10-1")).expect("mkdir");
        // Another data directory's environment, and one of the old shared base.
        for base in v1_bases(tmp.path(), "bbbb") {
            create_dir_all(base.join("env-20-0")).expect("mkdir");
        }
        create_dir_all(tmp.path().join("memory/hearth/env-30-0")).expect("mkdir");

        assert_eq!(ours.children().expect("list"), ["env-10-0", "env-10-1"]);
        let roots = tmp.path().join("roots");
        create_dir_all(roots.join("10-0")).expect("mkdir");
        create_dir_all(roots.join("10-1")).expect("mkdir");

        let swept = sweep(&ours, &roots);
        assert_eq!(
            swept,
            Swept {
                cgroups: 2,
                roots: 2,
                failures: vec![]
            }
        );
        assert!(ours.children().expect("list").is_empty());
        assert_eq!(std::fs::read_dir(&roots).expect("roots").count(), 0);
        for base in v1_bases(tmp.path(), "aaaa") {
            assert!(base.join("cgroup.procs").exists(), "control files stay");
        }
        assert_eq!(theirs.children().expect("list"), ["env-20-0"]);
        assert!(tmp.path().join("memory/hearth/env-30-0").is_dir());
        // Nothing to sweep is no failure.
        assert_eq!(sweep(&ours, &tmp.path().join("none")), Swept::default());
        ours.create("env-11-0", &Limits::for_memory_mb(128))
            .expect("a new environment after the sweep");
        assert_eq!(ours.children().expect("list"), ["env-11-0"]);
    }

    #[test]
    fn v2_nested_bases_delegate_at_each_level_and_sweep_their_own() {
        use super::super::cgroup::V2Manager;
        let tmp = tempfile::tempdir().expect("tempdir");
        let own = tmp.path().join("system.slice/hearth.service");
        create_dir_all(&own).expect("mkdir");
        write(own.join("cgroup.controllers"), "cpu memory pids\n").expect("write");
        write(own.join("cgroup.procs"), "").expect("write");
        write(own.join("cgroup.type"), "domain\n").expect("write");
        let ours = V2Manager::new(&own, "hearth/aaaa").expect("ours");
        let theirs = V2Manager::new(&own, "hearth/bbbb").expect("theirs");
        for level in ["", "hearth", "hearth/aaaa"] {
            let control = own.join(level).join("cgroup.subtree_control");
            let enabled = std::fs::read_to_string(&control).expect("subtree_control");
            assert_eq!(enabled, "+memory +pids +cpu", "{}", control.display());
        }
        assert_eq!(ours.bases(), [own.join("hearth/aaaa")]);
        create_dir_all(own.join("hearth/aaaa/env-1-0")).expect("mkdir");
        create_dir_all(own.join("hearth/bbbb/env-2-0")).expect("mkdir");
        assert_eq!(ours.children().expect("list"), ["env-1-0"]);
        // (Removal itself needs a real cgroupfs, whose directories hold control files
        // and still rmdir: see live_tests; here only the selection is checked.)
        let swept = sweep(&ours, &tmp.path().join("roots"));
        assert_eq!((swept.cgroups, swept.failures.len()), (1, 0), "{swept:?}");
        assert_eq!(theirs.children().expect("list"), ["env-2-0"]);
        assert!(V2Manager::new(&own, "supervisor/x").is_err());
    }

    #[test]
    fn a_root_that_is_not_empty_is_left_and_reported() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let cgroups = V1Manager::new(v1_bases(tmp.path(), "cccc")).expect("manager");
        let roots = tmp.path().join("roots");
        create_dir_all(roots.join("7-0/not-a-mount-point")).expect("mkdir");
        let swept = sweep(&cgroups, &roots);
        assert_eq!(swept.roots, 0);
        assert_eq!(swept.failures.len(), 1, "{:?}", swept.failures);
        assert!(roots.join("7-0/not-a-mount-point").is_dir());
    }

    #[test]
    fn the_base_is_per_canonical_directory() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        create_dir_all(a.join("sub")).expect("mkdir");
        create_dir_all(&b).expect("mkdir");
        let base_a = cgroup_base(&a).expect("a");
        assert_eq!(base_a, cgroup_base(&a.join("sub/..")).expect("same dir"));
        assert_ne!(base_a, cgroup_base(&b).expect("b"));
        assert!(base_a.starts_with("hearth/") && base_a.len() == "hearth/".len() + 16);
        // A valid base: detection fails on the empty host only for want of cgroups.
        assert!(matches!(
            super::super::cgroup::detect_from("", "", &base_a),
            Err(super::super::cgroup::CgroupError::NoHierarchy(_))
        ));
        // The published FNV-1a test vectors.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
