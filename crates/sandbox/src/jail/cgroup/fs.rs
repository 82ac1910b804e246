//! File operations on cgroup directories, each failure naming the file and what was
//! being done to it.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::parse::{keyed_value, parse_pids};
use super::CgroupError;

/// How long `rmdir` is retried while the kernel finishes reaping a cgroup's processes.
const RMDIR_PATIENCE: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(5);

fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> CgroupError {
    CgroupError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `value` to a control file in one `write(2)`, as cgroupfs expects.
pub(crate) fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    std::fs::write(path, value).map_err(|e| io_error("write", path, e))
}

pub(crate) fn read(path: &Path) -> Result<String, CgroupError> {
    std::fs::read_to_string(path).map_err(|e| io_error("read", path, e))
}

/// A control file holding one number, or `None` when it is missing or unreadable.
pub(crate) fn read_u64(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// A `key value` entry of a control file, or `None` when it is missing or unreadable.
pub(crate) fn read_keyed(path: &Path, key: &str) -> Option<u64> {
    keyed_value(&std::fs::read_to_string(path).ok()?, key)
}

pub(crate) fn read_pids(procs: &Path) -> Result<Vec<u32>, CgroupError> {
    parse_pids(&read(procs)?)
}

/// Moves `pid` into the cgroup whose `cgroup.procs` is `procs`; a process that has
/// already exited (ESRCH) is not an error.
pub(crate) fn move_pid(procs: &Path, pid: u32) -> Result<(), CgroupError> {
    match std::fs::write(procs, pid.to_string()) {
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::SRCH.raw_os_error()) => Ok(()),
        other => other.map_err(|e| io_error("move a process into", procs, e)),
    }
}

/// Creates a new cgroup directory; an existing one is [`CgroupError::Exists`].
pub(crate) fn create_cgroup_dir(dir: &Path) -> Result<(), CgroupError> {
    match std::fs::create_dir(dir) {
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(CgroupError::Exists(dir.into())),
        other => other.map_err(|e| io_error("create", dir, e)),
    }
}

pub(crate) fn create_dir_all(dir: &Path) -> Result<(), CgroupError> {
    std::fs::create_dir_all(dir).map_err(|e| io_error("create", dir, e))
}

/// The names of the subdirectories of `dir` that are valid cgroup names (control files
/// are files, so only child cgroups are listed); a missing `dir` has none.
pub(crate) fn child_cgroups(dir: &Path) -> Result<Vec<String>, CgroupError> {
    let entries = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        other => other.map_err(|e| io_error("list", dir, e))?,
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error("list", dir, e))?;
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if let (true, Ok(name)) = (is_dir, entry.file_name().into_string()) {
            if super::validate_name(&name).is_ok() {
                names.push(name);
            }
        }
    }
    names.sort();
    Ok(names)
}

/// Removes a cgroup directory, retrying while the kernel still reports it busy; a
/// directory that is already gone counts as removed.
pub(crate) fn remove_cgroup_dir(dir: &Path) -> Result<(), CgroupError> {
    let start = Instant::now();
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) if e.kind() == ErrorKind::ResourceBusy && start.elapsed() < RMDIR_PATIENCE => {
                sleep(POLL)
            }
            Err(e) => return Err(io_error("remove", dir, e)),
        }
    }
}

/// Removes every directory in `dirs`, trying all of them and reporting the first error.
pub(crate) fn remove_cgroup_dirs(dirs: &[PathBuf]) -> Result<(), CgroupError> {
    let mut outcome = Ok(());
    for dir in dirs {
        let removed = remove_cgroup_dir(dir);
        if outcome.is_ok() {
            outcome = removed;
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn existing_dir_is_exists_and_removal_is_idempotent() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("cg");
        create_cgroup_dir(&dir).expect("created");
        assert!(matches!(
            create_cgroup_dir(&dir),
            Err(CgroupError::Exists(p)) if p == dir
        ));
        remove_cgroup_dirs(&[dir.clone(), dir.clone()]).expect("removed");
        assert!(!dir.exists());
    }

    #[test]
    fn errors_name_the_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let missing = tmp.path().join("no/such/memory.max");
        let err = write(&missing, "1").expect_err("parent missing");
        assert!(err.to_string().contains("memory.max"), "{err}");
        assert_eq!(read_u64(&missing), None);
        assert_eq!(read_keyed(&missing, "oom_kill"), None);
    }
}
