//! Parsers for the kernel's cgroup text: `/proc/self/cgroup`, the cgroup lines of
//! `/proc/self/mountinfo`, and `key value` files such as `memory.events`.

use std::path::{Component, Path, PathBuf};

use super::CgroupError;

/// One line of `/proc/<pid>/cgroup`: `hierarchy-id:controllers:path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Membership {
    /// 0 for the v2 (unified) hierarchy.
    pub hierarchy_id: u32,
    /// Empty for v2; `name=systemd` style entries are kept as they are.
    pub controllers: Vec<String>,
    pub path: String,
}

impl Membership {
    pub fn is_v2(&self) -> bool {
        self.hierarchy_id == 0 && self.controllers.is_empty()
    }

    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }
}

pub(crate) fn parse_proc_cgroup(text: &str) -> Result<Vec<Membership>, CgroupError> {
    let bad = |line: &str| CgroupError::Parse {
        what: "/proc/self/cgroup",
        line: line.to_string(),
    };
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad(line));
        };
        let hierarchy_id = id.parse().map_err(|_| bad(line))?;
        if !path.starts_with('/') {
            return Err(bad(line));
        }
        out.push(Membership {
            hierarchy_id,
            controllers: controllers
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect(),
            path: path.to_string(),
        });
    }
    Ok(out)
}

/// A cgroup filesystem mount from `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupMount {
    /// The cgroup path of the hierarchy that is mounted (`/` unless a subtree is).
    pub root: String,
    pub mount_point: PathBuf,
    /// True for `cgroup2`, false for a v1 `cgroup` hierarchy.
    pub v2: bool,
    /// Super options; on v1 these include the controllers (`rw,cpu,cpuacct`).
    pub options: Vec<String>,
}

impl CgroupMount {
    pub fn has(&self, controller: &str) -> bool {
        !self.v2 && self.options.iter().any(|o| o == controller)
    }

    /// The directory of cgroup `path` (as `/proc/self/cgroup` names it) in this mount.
    pub fn dir_of(&self, path: &str) -> Result<PathBuf, CgroupError> {
        let root = self.root.trim_end_matches('/');
        let relative = if root.is_empty() {
            path
        } else if path == root {
            "/"
        } else {
            // Outside the mounted subtree: ".." makes the check below refuse it.
            path.strip_prefix(root)
                .filter(|r| r.starts_with('/'))
                .unwrap_or("..")
        };
        let relative = Path::new(relative.trim_start_matches('/'));
        if relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            return Err(CgroupError::NoHierarchy(format!(
                "Hearth's cgroup {path} is outside the hierarchy mounted at {} (root {})",
                self.mount_point.display(),
                self.root
            )));
        }
        Ok(self.mount_point.join(relative))
    }
}

/// The cgroup and cgroup2 mounts listed in mountinfo text; other mounts are skipped.
pub(crate) fn parse_mountinfo(text: &str) -> Result<Vec<CgroupMount>, CgroupError> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(' ').collect();
        let bad = || CgroupError::Parse {
            what: "/proc/self/mountinfo",
            line: line.to_string(),
        };
        // id parent major:minor root mount-point options [optional...] - fstype source super
        let sep = fields
            .iter()
            .skip(6)
            .position(|f| *f == "-")
            .map(|p| p + 6)
            .ok_or_else(bad)?;
        let (Some(fstype), Some(super_opts)) = (fields.get(sep + 1), fields.get(sep + 3)) else {
            return Err(bad());
        };
        let v2 = match *fstype {
            "cgroup2" => true,
            "cgroup" => false,
            _ => continue,
        };
        out.push(CgroupMount {
            root: unescape(fields[3]),
            mount_point: PathBuf::from(unescape(fields[4])),
            v2,
            options: super_opts.split(',').map(str::to_string).collect(),
        });
    }
    Ok(out)
}

/// Undoes mountinfo's octal escapes (`\040` for a space, `\134` for a backslash).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).filter(|d| {
            bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)) && d[0] <= b'3'
        });
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of `key` in a `key value` per line file (`memory.events`,
/// `memory.oom_control`, `cgroup.events`).
pub(crate) fn keyed_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let mut parts = line.split_whitespace();
        (parts.next() == Some(key))
            .then(|| parts.next()?.parse().ok())
            .flatten()
    })
}

/// Pids from a `cgroup.procs` file, one per line.
pub(crate) fn parse_pids(text: &str) -> Result<Vec<u32>, CgroupError> {
    let mut pids = text
        .split_whitespace()
        .map(|p| {
            p.parse().map_err(|_| CgroupError::Parse {
                what: "cgroup.procs",
                line: p.to_string(),
            })
        })
        .collect::<Result<Vec<u32>, _>>()?;
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_cgroup_v1_hybrid() {
        let text = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/7aa5\n\
                    1:cpu,cpuacct:/a:b\n0::/\n";
        let m = parse_proc_cgroup(text).expect("parses");
        assert_eq!(m.len(), 5);
        assert_eq!(m[0].controllers, ["name=systemd"]);
        assert!(m[2].has("memory") && m[2].path == "/process_api/7aa5");
        assert!(m[3].has("cpu") && m[3].has("cpuacct"));
        assert_eq!(m[3].path, "/a:b", "a colon in a path is kept");
        assert!(m[4].is_v2() && !m[0].is_v2());
    }

    #[test]
    fn proc_cgroup_v2() {
        let m = parse_proc_cgroup("0::/system.slice/hearth.service\n").expect("parses");
        assert_eq!(
            m,
            [Membership {
                hierarchy_id: 0,
                controllers: vec![],
                path: "/system.slice/hearth.service".into()
            }]
        );
    }

    #[test]
    fn proc_cgroup_rejects_garbage() {
        for bad in ["x::/", "0:/", "1:memory:relative", "nonsense"] {
            assert!(parse_proc_cgroup(bad).is_err(), "{bad}");
        }
    }

    const MOUNTINFO: &str = "\
22 1 0:21 / /proc rw,nosuid - proc proc rw
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:1 master:2 - cgroup2 cgroup2 rw,nsdelegate
50 1 0:40 / /mnt/my\\040cgroups rw - cgroup2 none rw
";

    #[test]
    fn mountinfo_cgroup_lines() {
        let m = parse_mountinfo(MOUNTINFO).expect("parses");
        assert_eq!(m.len(), 4, "proc is skipped");
        assert!(m[0].has("cpu") && m[0].has("cpuacct") && !m[0].has("memory"));
        assert_eq!(m[0].mount_point, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(m[1].root, "/docker/abc");
        assert!(m[2].v2 && !m[2].has("rw"));
        assert_eq!(m[3].mount_point, Path::new("/mnt/my cgroups"));
    }

    #[test]
    fn mountinfo_rejects_lines_without_separator() {
        assert!(parse_mountinfo("1 2 0:1 / /x rw cgroup cgroup rw\n").is_err());
    }

    #[test]
    fn unescapes_octal() {
        assert_eq!(unescape(r"a\040b\134c\011"), "a b\\c\t");
        assert_eq!(unescape(r"\04"), r"\04");
        assert_eq!(unescape(r"\999"), r"\999");
    }

    #[test]
    fn dir_of_strips_the_mounted_root() {
        let m = parse_mountinfo(MOUNTINFO).expect("parses");
        let mem = &m[1];
        assert_eq!(
            mem.dir_of("/docker/abc").expect("inside"),
            Path::new("/sys/fs/cgroup/memory")
        );
        assert_eq!(
            mem.dir_of("/docker/abc/x").expect("inside"),
            Path::new("/sys/fs/cgroup/memory/x")
        );
        assert!(mem.dir_of("/other").is_err(), "not under the mounted root");
        assert!(
            mem.dir_of("/docker/abcd").is_err(),
            "a prefix is not a parent"
        );
        assert_eq!(
            m[0].dir_of("/").expect("root"),
            Path::new("/sys/fs/cgroup/cpu,cpuacct")
        );
        assert!(m[0].dir_of("/../..").is_err());
    }

    #[test]
    fn keyed_values() {
        let events = "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n";
        assert_eq!(keyed_value(events, "oom_kill"), Some(2));
        assert_eq!(keyed_value(events, "oom"), Some(3));
        assert_eq!(keyed_value(events, "absent"), None);
        let control = "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n";
        assert_eq!(keyed_value(control, "oom_kill"), Some(1));
        assert_eq!(keyed_value("oom_kill x\n", "oom_kill"), None);
    }

    #[test]
    fn pids_are_sorted_and_checked() {
        assert_eq!(parse_pids("30\n4\n30\n").expect("parses"), [4, 30]);
        assert_eq!(parse_pids("").expect("parses"), Vec::<u32>::new());
        assert!(parse_pids("12\nx\n").is_err());
    }
}
