//! Store errors, the same whatever database is behind the store: what callers tell apart
//! (a name taken, a bad zip, a full disk, a schema this build does not know) has its own
//! variant, and the backend's own error is kept only as a boxed source.

use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed (its own error, for the log).
    #[error("database: {0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
    /// The file system (or the database's space) is full: the change was not stored.
    #[error("the disk is full: {0}")]
    DiskFull(String),
    #[error("i/o: {0}")]
    Io(std::io::Error),
    #[error("corrupt record: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("function already exists: {0}")]
    Exists(String),
    #[error("not a valid zip file: {0}")]
    BadZip(String),
    #[error("unzipped size {size} exceeds the limit of {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    /// The database was written by a newer Hearth, whose schema this one does not know.
    #[error(
        "the database's schema is version {found}, newer than the {supported} this Hearth \
         knows: run the Hearth that wrote it, or a newer one"
    )]
    NewerSchema { found: i64, supported: i64 },
}

impl StoreError {
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Self::DiskFull(_))
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28) {
            return Self::DiskFull(e.to_string());
        }
        Self::Io(e)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
            || crate::space::is_disk_full(&e.to_string())
        {
            return Self::DiskFull(e.to_string());
        }
        Self::Backend(Box::new(e))
    }
}

/// Why the store writer could not confirm a commit (see [`crate::Writer`]). Cloned to
/// every caller that waited on the same group commit.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    /// The writer thread is gone (the store is shutting down): nothing was written.
    #[error("the store writer has stopped")]
    Stopped,
    /// The commit failed; its changes were not stored.
    #[error("{0}")]
    Failed(Arc<StoreError>),
}

impl WriteError {
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Self::Failed(e) if e.is_disk_full())
    }
}

impl From<StoreError> for WriteError {
    fn from(e: StoreError) -> Self {
        Self::Failed(Arc::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_told_apart_from_other_failures() {
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        );
        assert!(StoreError::from(full).is_disk_full());
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        );
        assert!(matches!(StoreError::from(busy), StoreError::Backend(_)));
        assert!(StoreError::from(std::io::Error::from_raw_os_error(28)).is_disk_full());
        assert!(!StoreError::from(std::io::Error::from_raw_os_error(2)).is_disk_full());
        let failed = WriteError::from(StoreError::DiskFull("database or disk is full".into()));
        assert!(failed.is_disk_full());
        // The engine still recognises it by its text until it matches the type.
        assert!(crate::space::is_disk_full(&failed.to_string()));
        assert!(!WriteError::Stopped.is_disk_full());
    }
}
