//! Hearth's embedded state: function metadata (with versions, aliases and concurrency
//! settings), logs and the async invocation queue in SQLite (WAL), written in groups by
//! one writer thread ([`Writer`]), and code as
//! content-addressed zip blobs, each unpacked once per hash and shared by every
//! environment that runs it, and collected when nothing uses it any more.

mod blobs;
mod chunk;
mod code_gc;
mod concurrency;
mod db;
mod error;
mod event_config;
mod logs;
mod queue;
mod retention;
mod space;
mod versions;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

pub use blobs::{inspect_zip, ZipInfo};
pub use chunk::LogChunk;
pub use code_gc::CodePin;
pub use error::StoreError;
pub use logs::{LogBatch, LogEvent, LogQuery, LINES_PER_ROW};
pub use queue::{Progress, QueueOp, QueuedEvent};
pub use retention::RETENTION_DAYS;
pub use space::is_disk_full;
pub use versions::Publish;
pub use writer::{Ack, Change, Durability, Writer, LOG_BACKLOG};

/// Handle to the data directory. Cheap to clone; SQLite access is serialised by a mutex
/// because every statement here is short.
#[derive(Clone)]
pub struct Store {
    root: PathBuf,
    conn: Arc<Mutex<rusqlite::Connection>>,
    /// Which code is in use beyond what rows name (see [`code_gc`]).
    code: Arc<code_gc::CodeUse>,
    /// Room left on the data directory's file system (see [`space`]).
    room: Arc<space::Room>,
}

impl Store {
    /// Opens (creating if needed) the store in `root`, removing code that nothing
    /// references and what an earlier process left half written.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        Self::open_with(root, true)
    }

    /// [`Store::open`]; `collector` false leaves sweeps to explicit
    /// [`Store::sweep_code`] calls (tests that decide when code goes).
    pub(crate) fn open_with(root: &Path, collector: bool) -> Result<Self, StoreError> {
        std::fs::create_dir_all(root.join("blobs"))?;
        std::fs::create_dir_all(root.join("code"))?;
        let path = root.join("hearth.db");
        // On a full file system SQLite cannot make its WAL index: the reserve makes room.
        let conn = match db::open(&path) {
            Err(e) if space::is_disk_full(&e.to_string()) && space::release_reserve(root) => {
                db::open(&path)?
            }
            opened => opened?,
        };
        space::keep_reserve(root);
        let conn = Arc::new(Mutex::new(conn));
        let alive = Arc::downgrade(&conn);
        std::thread::Builder::new()
            .name("hearth-checkpoint".into())
            .spawn(move || db::checkpoints(&path, alive))?;
        let store = Self {
            root: root.to_path_buf(),
            conn,
            code: Arc::default(),
            room: Arc::new(space::Room::new(root)),
        };
        let leftovers = store.remove_code_leftovers()?;
        let collected = store.sweep_code()?;
        if leftovers + collected.len() > 0 {
            tracing::info!(
                leftovers,
                collected = collected.len(),
                "removed code an earlier run left behind"
            );
        }
        if collector {
            let (root, conn, code) = (
                store.root.clone(),
                Arc::downgrade(&store.conn),
                Arc::downgrade(&store.code),
            );
            std::thread::Builder::new()
                .name("hearth-code-gc".into())
                .spawn(move || code_gc::collector(root, conn, code))?;
        }
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn conn(&self) -> MutexGuard<'_, rusqlite::Connection> {
        // A panic while holding the lock leaves SQLite consistent (statements are atomic),
        // so a poisoned lock is safe to keep using.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}
