//! Temporary files a server that died mid-write left in the data directory: a zip
//! being stored (`blobs/<sha>.tmp-<pid>-<n>`) or code being unpacked
//! (`code/.<sha>.tmp-<pid>-<n>/`). Each is renamed into place only once complete, so
//! anything still named `.tmp-` when no server runs is garbage. Only call this while
//! holding the data directory's lock: a running server's temporaries look the same.

use std::io;
use std::path::Path;

/// The directories under the data directory that hold temporaries.
const DIRS: [&str; 2] = ["blobs", "code"];
/// What every temporary name contains (see `blobs.rs`).
const MARK: &str = ".tmp-";

/// Removes every temporary under `root`'s `blobs/` and `code/`; returns how many.
pub fn remove_stale_temporaries(root: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for dir in DIRS {
        let entries = match std::fs::read_dir(root.join(dir)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            other => other?,
        };
        for entry in entries {
            let entry = entry?;
            if !entry.file_name().to_string_lossy().contains(MARK) {
                continue;
            }
            let path = entry.path();
            // The entry itself, never through a symlink.
            if entry.file_type()?.is_dir() {
                std::fs::remove_dir_all(&path)?;
            } else {
                std::fs::remove_file(&path)?;
            }
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use std::fs::{create_dir_all, write};

    use super::*;

    #[test]
    fn removes_temporaries_and_nothing_else() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        let sha = "ab".repeat(32);
        create_dir_all(root.join("blobs")).expect("mkdir");
        create_dir_all(root.join(format!("code/.{sha}.tmp-99-0/lib"))).expect("mkdir");
        write(root.join(format!("code/.{sha}.tmp-99-0/lib/x.py")), "x").expect("write");
        write(root.join(format!("blobs/{sha}.tmp-99-1")), "zip").expect("write");
        // What stays: a stored zip, an unpacked tree, and a file elsewhere.
        write(root.join(format!("blobs/{sha}.zip")), "zip").expect("write");
        create_dir_all(root.join(format!("code/{sha}"))).expect("mkdir");
        write(root.join("x.tmp-1"), "").expect("write");
        assert_eq!(remove_stale_temporaries(root).expect("swept"), 2);
        assert!(!root.join(format!("code/.{sha}.tmp-99-0")).exists());
        assert!(!root.join(format!("blobs/{sha}.tmp-99-1")).exists());
        assert!(root.join(format!("blobs/{sha}.zip")).is_file());
        assert!(root.join(format!("code/{sha}")).is_dir());
        assert!(root.join("x.tmp-1").is_file());
        assert_eq!(remove_stale_temporaries(root).expect("again"), 0);
        assert_eq!(
            remove_stale_temporaries(&root.join("missing")).expect("no dirs"),
            0
        );
    }
}
