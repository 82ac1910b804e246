//! One soak sample: what the server process holds (`/proc/<pid>`: RSS, open file
//! descriptors, threads), what its data directory takes on disk (allocated blocks, as `du`
//! counts them, split by what owns them), its environments (`/_hearth/concurrency`), their
//! cgroup directories, and the async backlog (`/_hearth/queue`).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::{json, Value};

use crate::load::Conn;

/// Bytes of the data directory on disk, by owner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataDir {
    pub total: u64,
    /// `hearth.db` with its `-wal` and `-shm` files: metadata, logs, the async queue.
    pub db: u64,
    /// `blobs/`: the code zips.
    pub blobs: u64,
    /// `code/`: the unpacked code trees.
    pub code: u64,
    /// `jail/`: the root mount point, `/etc`, `/tmp` images.
    pub jail: u64,
    pub other: u64,
}

/// Everything measured at one moment.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Seconds since the load started.
    pub t: f64,
    pub rss_kib: u64,
    pub fds: u64,
    pub threads: u64,
    pub data: DataDir,
    pub envs_idle: u64,
    pub envs_busy: u64,
    /// Environment cgroup directories (`None` without the jail sandbox).
    pub cgroups: Option<u64>,
    /// Async events accepted and not done yet.
    pub backlog: u64,
    /// Load completed so far (successes) and failed requests so far.
    pub done: u64,
    pub errors: u64,
}

impl Sample {
    pub fn json(&self) -> Value {
        json!({
            "t_s": (self.t * 10.0).round() / 10.0,
            "rss_kib": self.rss_kib,
            "fds": self.fds,
            "threads": self.threads,
            "data_dir_bytes": self.data.total,
            "db_bytes": self.data.db,
            "blobs_bytes": self.data.blobs,
            "code_bytes": self.data.code,
            "jail_bytes": self.data.jail,
            "other_bytes": self.data.other,
            "envs_idle": self.envs_idle,
            "envs_busy": self.envs_busy,
            "cgroups": self.cgroups,
            "async_backlog": self.backlog,
            "requests_done": self.done,
            "requests_failed": self.errors,
        })
    }
}

/// Where the samples come from.
pub struct Probe {
    pub pid: u32,
    pub data_dir: PathBuf,
    /// The directory of the server's environment cgroups, if it jails.
    pub cgroup_dir: Option<PathBuf>,
}

impl Probe {
    pub fn sample(&self, conn: &mut Conn, t: f64) -> anyhow::Result<Sample> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .with_context(|| format!("cannot read /proc/{}/status", self.pid))?;
        let fds = std::fs::read_dir(format!("/proc/{}/fd", self.pid))
            .with_context(|| format!("cannot list /proc/{}/fd", self.pid))?
            .count() as u64;
        let (idle, busy) = concurrency(conn)?;
        let cgroups = match &self.cgroup_dir {
            Some(dir) => Some(
                hearth_sandbox::jail::cgroup::count_environments(dir)
                    .with_context(|| format!("cannot list {}", dir.display()))?
                    as u64,
            ),
            None => None,
        };
        Ok(Sample {
            t,
            rss_kib: status_field(&status, "VmRSS:").unwrap_or(0),
            fds,
            threads: status_field(&status, "Threads:").unwrap_or(0),
            data: data_dir(&self.data_dir)?,
            envs_idle: idle,
            envs_busy: busy,
            cgroups,
            backlog: backlog(conn)?,
            done: 0,
            errors: 0,
        })
    }
}

/// The number after `key` in `/proc/<pid>/status` (`VmRSS:   1234 kB`).
fn status_field(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn get_json(conn: &mut Conn, path: &str) -> anyhow::Result<Value> {
    let response = conn.request("GET", path, &[], b"")?;
    if response.status() != 200 {
        anyhow::bail!(
            "{path} answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    serde_json::from_slice(&response.body)
        .with_context(|| format!("{path} answered {}", response.text()))
}

/// (idle, busy) environments.
fn concurrency(conn: &mut Conn) -> anyhow::Result<(u64, u64)> {
    let doc = get_json(conn, "/_hearth/concurrency")?;
    let n = |k: &str| doc.get(k).and_then(Value::as_u64).unwrap_or(0);
    Ok((n("idle"), n("busy")))
}

/// Async events not done yet, over every function.
fn backlog(conn: &mut Conn) -> anyhow::Result<u64> {
    Ok(crate::asynchronous::not_done(conn)?
        .iter()
        .map(|(_, n)| n)
        .sum())
}

/// What `dir` takes on disk, split by its top-level entries.
pub fn data_dir(dir: &Path) -> anyhow::Result<DataDir> {
    let meta =
        std::fs::symlink_metadata(dir).with_context(|| format!("cannot stat {}", dir.display()))?;
    let device = meta.dev();
    let mut out = DataDir {
        total: meta.blocks() * 512,
        ..DataDir::default()
    };
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let Ok(entry) = entry else { continue };
        let size = disk_usage(&entry.path(), device);
        out.total += size;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let slot = match &*name {
            n if n.starts_with("hearth.db") => &mut out.db,
            "blobs" => &mut out.blobs,
            "code" => &mut out.code,
            "jail" => &mut out.jail,
            _ => &mut out.other,
        };
        *slot += size;
    }
    Ok(out)
}

/// Allocated bytes of `path` and everything below it on `device` (mounts below it, such
/// as an environment's root, are other devices and left out; symlinks are not followed).
/// Entries that vanish while being read count as nothing.
fn disk_usage(path: &Path, device: u64) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if meta.dev() != device {
        return 0;
    }
    let mut total = meta.blocks() * 512;
    if meta.is_dir() {
        if let Ok(entries) = std::fs::read_dir(path) {
            for entry in entries.flatten() {
                total += disk_usage(&entry.path(), device);
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields() {
        let status = "Name:\thearth\nVmRSS:\t  123456 kB\nThreads:\t17\n";
        assert_eq!(status_field(status, "VmRSS:"), Some(123_456));
        assert_eq!(status_field(status, "Threads:"), Some(17));
        assert_eq!(status_field(status, "VmSwap:"), None);
    }

    #[test]
    fn data_dir_is_split_by_owner() {
        let tmp = tempfile::tempdir().expect("tmp");
        let d = tmp.path();
        for sub in ["blobs", "code/abc", "jail/root"] {
            std::fs::create_dir_all(d.join(sub)).expect("mkdir");
        }
        std::fs::write(d.join("hearth.db"), vec![1u8; 64 * 1024]).expect("db");
        std::fs::write(d.join("hearth.db-wal"), vec![1u8; 32 * 1024]).expect("wal");
        std::fs::write(d.join("blobs/x.zip"), vec![1u8; 128 * 1024]).expect("blob");
        std::fs::write(d.join("code/abc/bootstrap"), vec![1u8; 256 * 1024]).expect("code");
        std::fs::write(d.join("stray"), vec![1u8; 8 * 1024]).expect("other");
        let sizes = data_dir(d).expect("sizes");
        assert!(sizes.db >= 96 * 1024, "{sizes:?}");
        assert!(
            sizes.blobs >= 128 * 1024 && sizes.blobs < 256 * 1024,
            "{sizes:?}"
        );
        assert!(sizes.code >= 256 * 1024, "{sizes:?}");
        assert!(sizes.other >= 8 * 1024, "{sizes:?}");
        assert!(
            sizes.total >= sizes.db + sizes.blobs + sizes.code + sizes.jail + sizes.other,
            "{sizes:?}"
        );
    }
}
