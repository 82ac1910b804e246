//! Room on the data directory's file system. Log lines are not written when little is
//! left, so that a function's output cannot take the space that metadata changes, the
//! async queue and log deletion need; and a small reserve file is kept, so that the
//! store can still be opened (SQLite needs room for its WAL index) after something else
//! filled the disk.

use std::path::{Path, PathBuf};

/// The most the low-space mark is; on a small file system it is a tenth of its size.
const LOW_SPACE_MAX: u64 = 64 * 1024 * 1024;
/// The reserve file's size, at most (a twentieth of a small file system).
const RESERVE_MAX: u64 = 8 * 1024 * 1024;
const RESERVE_FILE: &str = "reserve";

/// `(available, total)` bytes of the file system holding `path`.
fn measure(path: &Path) -> Option<(u64, u64)> {
    let s = rustix::fs::statvfs(path).ok()?;
    Some((
        s.f_bavail.saturating_mul(s.f_frsize),
        s.f_blocks.saturating_mul(s.f_frsize),
    ))
}

/// Below this many bytes available, log lines are dropped.
pub(crate) fn low_mark(total: u64) -> u64 {
    (total / 10).min(LOW_SPACE_MAX)
}

fn reserve_size(total: u64) -> u64 {
    (total / 20).min(RESERVE_MAX)
}

/// Whether the data directory has room for log lines (measured on every group the
/// writer commits: one statvfs(2), cheap next to the commit, and a flood can fill a
/// small file system between two samples).
pub(crate) struct Room {
    root: PathBuf,
}

impl Room {
    pub(crate) fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    /// Whether `bytes` of log lines may be written: beyond the low mark there must be
    /// room for them twice (in the WAL, then in the database when it is checkpointed)
    /// and for the WAL's frames not yet copied into the database.
    pub(crate) fn for_logs(&self, bytes: u64) -> bool {
        let wal = std::fs::metadata(self.root.join("hearth.db-wal")).map_or(0, |m| m.len());
        measure(&self.root).is_none_or(|(avail, total)| avail >= low_mark(total) + wal + 2 * bytes)
    }
}

/// Removes the reserve file, giving its space to what needs it now.
pub(crate) fn release_reserve(root: &Path) -> bool {
    let removed = std::fs::remove_file(root.join(RESERVE_FILE)).is_ok();
    if removed {
        tracing::warn!("the data directory's file system is full: its reserve file was released");
    }
    removed
}

/// Makes the reserve file if it is missing and there is room for it beyond the low mark.
pub(crate) fn keep_reserve(root: &Path) {
    let path = root.join(RESERVE_FILE);
    if path.exists() {
        return;
    }
    let Some((avail, total)) = measure(root) else {
        return;
    };
    let size = reserve_size(total);
    if size == 0 || avail < size + low_mark(total) {
        return;
    }
    // Written, not sparse: the blocks must really be taken.
    let made = (|| -> std::io::Result<()> {
        use std::io::Write;
        let mut f = crate::private::create_file(&path)?;
        let zeros = vec![0u8; 64 * 1024];
        let mut left = size;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            f.write_all(&zeros[..n])?;
            left -= n as u64;
        }
        f.sync_all()
    })();
    if let Err(e) = made {
        let _ = std::fs::remove_file(&path);
        tracing::warn!(error = %e, "could not make the data directory's reserve file");
    }
}

/// Whether an error is the file system being full (SQLite's `SQLITE_FULL`, `ENOSPC`).
pub fn is_disk_full(text: &str) -> bool {
    text.contains("database or disk is full") || text.contains("No space left on device")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_scale_with_small_file_systems() {
        assert_eq!(low_mark(64 << 20), (64 << 20) / 10);
        assert_eq!(low_mark(1 << 40), LOW_SPACE_MAX);
        assert_eq!(reserve_size(64 << 20), (64 << 20) / 20);
        assert_eq!(reserve_size(1 << 40), RESERVE_MAX);
    }

    #[test]
    fn the_reserve_is_made_and_released() {
        let dir = tempfile::tempdir().expect("tempdir");
        keep_reserve(dir.path());
        let size = std::fs::metadata(dir.path().join(RESERVE_FILE)).map(|m| m.len());
        assert!(size.as_ref().is_ok_and(|s| *s > 0), "{size:?}");
        assert!(release_reserve(dir.path()));
        assert!(!release_reserve(dir.path()));
        assert!(Room::new(dir.path()).for_logs(1024));
        assert!(!Room::new(dir.path()).for_logs(u64::MAX / 4));
    }
}
