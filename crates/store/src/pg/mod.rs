//! The store on PostgreSQL, for a fleet of nodes sharing one database
//! (`hearth server --store postgres://...`). It implements every store trait as the
//! embedded SQLite store does, and the store's conformance suite runs on both. Its parts:
//! the connection pool and the bridge from the synchronous traits to `tokio-postgres`
//! ([`pool`]), the versioned schema ([`migrations`]), change notifications between nodes
//! (`LISTEN`/`NOTIFY`, [`listen`]), and one file per area, named after the trait it
//! implements.

// Until every area is built (issue 21), some of the shared parts have no user yet.
#![allow(dead_code, unused_imports)]

mod audit;
mod changes;
mod code;
mod keys;
mod kms;
mod listen;
mod logs;
mod metadata;
mod migrations;
mod pool;
mod queue;
mod resources;
mod roles;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::seal::SealKey;
use crate::{Notifier, StoreError};

pub(crate) use pool::{backend, wait, Conn, Pool};

/// The store on one PostgreSQL database. Cheap to clone; every clone is the same store.
#[derive(Clone)]
pub struct PgStore {
    pub(crate) pool: Arc<Pool>,
    /// This node's subscribers, told of its own writes at once and of other nodes'
    /// through [`listen`].
    pub(crate) changes: Arc<Notifier>,
    /// Seals functions' environment variables in their stored records.
    pub(crate) env_seal: crate::sealed_env::EnvSeal,
    /// This node's directory for unpacked code (blobs live in the database).
    pub(crate) cache: PathBuf,
    /// This node's pins of code and its name among the nodes ([`code`]).
    pub(crate) code: Arc<code::CodeState>,
}

impl PgStore {
    /// Connects to the database at `url`, migrates its schema and starts listening for
    /// other nodes' changes; secrets are sealed under `key` (every node of a fleet must
    /// have the same), and code is unpacked under `cache`.
    pub fn open(url: &str, cache: &Path, key: &SealKey) -> Result<Self, StoreError> {
        crate::private::create_dir(cache)?;
        let pool = Pool::connect(url)?;
        let (before, after) = migrations::migrate(&pool)?;
        if before != after {
            tracing::info!(from = before, to = after, "PostgreSQL schema up to date");
        }
        let code = code::CodeState::register(&pool)?;
        let store = Self {
            pool,
            changes: Arc::default(),
            env_seal: crate::sealed_env::EnvSeal::new(key),
            cache: cache.to_path_buf(),
            code,
        };
        code::start(&store)?;
        let config = store.pool.config().clone();
        store
            .pool
            .runtime()
            .spawn(listen::listen(config, Arc::downgrade(&store.changes)));
        Ok(store)
    }

    /// A pooled connection.
    pub(crate) fn conn(&self) -> Result<Conn<'_>, StoreError> {
        self.pool.get()
    }

    /// After a commit that changed `function`'s metadata: tells this node's subscribers
    /// at once (so that a caller reading through a cache sees its own write). Other
    /// nodes learn it from the `NOTIFY` the writing transaction ran ([`notify_sql`]).
    pub(crate) fn function_changed(&self, function: &str) {
        self.changes.function_changed(function);
    }
}

/// The statement a writing transaction runs (with the function's name as `$1`) so that
/// every node hears of the change at commit.
pub(crate) const NOTIFY_SQL: &str = "SELECT pg_notify('hearth_changes', $1)";

/// What an operation not yet built on PostgreSQL answers.
pub(crate) fn not_yet() -> StoreError {
    StoreError::Backend("not yet built on PostgreSQL".into())
}
