//! Store errors.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("corrupt record: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("function already exists: {0}")]
    Exists(String),
    #[error("not a valid zip file: {0}")]
    BadZip(String),
    #[error("unzipped size {size} exceeds the limit of {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
}
