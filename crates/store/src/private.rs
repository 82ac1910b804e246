//! Files only the server's user may read: the data directory is 0700 and what Hearth
//! writes in it for itself (database, keys, certificates) 0600, so that neither another
//! user of the machine nor a function's sandbox user can read a secret in it.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of the data directory and of private directories in it.
pub const DIR_MODE: u32 = 0o700;
/// Mode of private files.
pub const FILE_MODE: u32 = 0o600;

/// Makes `dir` (and missing parents) 0700, tightening it if it exists.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))
}

/// Creates (or truncates) `path` for writing, 0600 when it is new.
pub fn create_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)
}

/// Makes the data directory private at start: the directory itself 0700, the files
/// directly in it (database and its WAL and SHM, keys, lock, reserve, logs a script
/// redirected there) and the stored zips 0600. New ones are created that way; this
/// tightens what an older Hearth (or a copy) left. The unpacked code (`code/`), the
/// runtimes and the jail's files are left as they are: an environment's sandbox user
/// reads them through its mounts.
pub fn tighten_data_dir(root: &Path) -> std::io::Result<()> {
    create_dir(root)?;
    // Created empty before SQLite opens it, so that it and the WAL and SHM files SQLite
    // makes beside it (with the database's mode) are private from the start.
    let db = root.join("hearth.db");
    if !db.exists() {
        drop(create_file(&db)?);
    }
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            tighten(&entry.path())?;
        }
    }
    let blobs = root.join("blobs");
    create_dir(&blobs)?;
    for entry in std::fs::read_dir(&blobs)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            tighten(&entry.path())?;
        }
    }
    Ok(())
}

/// Writes `path` whole with mode 0600 (through a temporary beside it, renamed over it,
/// so a reader never sees half of it and an older, wider mode never survives).
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp-private");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Removes group and other permissions from `path` if it exists (a file left by an
/// older Hearth or copied in by hand).
pub fn tighten(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_symlink() => {
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
            }
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).expect("meta").permissions().mode() & 0o7777
    }

    #[test]
    fn made_private_and_tightened() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sub = dir.path().join("a/b");
        create_dir(&sub).expect("mkdir");
        assert_eq!(mode(&sub), 0o700);
        let file = sub.join("f");
        write(&file, b"x").expect("write");
        assert_eq!(mode(&file), 0o600);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        tighten(&file).expect("tighten");
        assert_eq!(mode(&file), 0o700);
        tighten(&sub.join("missing")).expect("absent is fine");
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        create_dir(&sub).expect("again");
        assert_eq!(mode(&sub), 0o700);
    }

    #[test]
    fn the_data_dir_is_tightened_but_code_is_left_readable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("data");
        std::fs::create_dir_all(root.join("blobs")).expect("mkdir");
        std::fs::create_dir_all(root.join("code/abc")).expect("mkdir");
        for f in ["hearth.log", "blobs/abc.zip", "code/abc/app.py"] {
            std::fs::write(root.join(f), b"x").expect("write");
            std::fs::set_permissions(root.join(f), std::fs::Permissions::from_mode(0o644))
                .expect("chmod");
        }
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        tighten_data_dir(&root).expect("tighten");
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&root.join("blobs")), 0o700);
        assert_eq!(mode(&root.join("hearth.db")), 0o600);
        assert_eq!(mode(&root.join("hearth.log")), 0o600);
        assert_eq!(mode(&root.join("blobs/abc.zip")), 0o600);
        assert_eq!(mode(&root.join("code/abc/app.py")), 0o644);
    }
}
