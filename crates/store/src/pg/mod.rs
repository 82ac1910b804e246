//! The store on PostgreSQL, for a fleet of nodes sharing one database
//! (`hearth server --store postgres://...`). It implements every store trait as the
//! embedded SQLite store does, and the store's conformance suite runs on both. Its parts:
//! the connection pool and the bridge from the synchronous traits to `tokio-postgres`
//! ([`pool`]), the versioned schema ([`migrations`]), change notifications between nodes
//! (`LISTEN`/`NOTIFY`, [`listen`]), and one file per area, named after the trait it
//! implements.

mod audit;
mod changes;
mod code;
mod console;
mod deliveries;
mod events;
mod fleet;
mod http_apis;
mod keys;
mod kms;
mod layers;
mod listen;
mod logs;
mod mappings;
mod metadata;
mod metrics;
mod migrations;
mod schemas;
pub use migrations::migrate_url;
mod pool;
mod queue;
mod resources;
mod roles;
mod sns;
mod sqs;
mod tokens;

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
    /// This store's name in its change notifications, so that its listener skips its own
    /// (its subscribers were told at the commit): random per open store.
    pub(crate) node: Arc<str>,
    /// This node's pins of code and its name among the nodes ([`code`]).
    pub(crate) code: Arc<code::CodeState>,
}

/// How long opening waits for the change listener's `LISTEN`: a store is open once it
/// hears every change committed after.
const LISTEN_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

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
        check_fleet_key(&pool, key)?;
        let code = code::CodeState::register(&pool)?;
        let store = Self {
            pool,
            changes: Arc::default(),
            env_seal: crate::sealed_env::EnvSeal::new(key),
            cache: cache.to_path_buf(),
            node: uuid::Uuid::new_v4().simple().to_string().into(),
            code,
        };
        // Hearth keys' data keys, for the records sealed under them (`kms.rs`).
        store.load_kms_keys()?;
        code::start(&store)?;
        let config = store.pool.config().clone();
        let (ready, listening) = tokio::sync::oneshot::channel();
        store.pool.runtime().spawn(listen::listen(
            config,
            Arc::downgrade(&store.changes),
            store.node.clone(),
            ready,
        ));
        // A subscriber (the engine's registry) subscribes once the store is open and then
        // reads: a change committed between its read and a LISTEN not yet running would
        // leave its cache stale until the function next changes.
        let listened = store
            .pool
            .on_runtime(async move { tokio::time::timeout(LISTEN_WAIT, listening).await });
        if !matches!(listened, Ok(Ok(()))) {
            return Err(StoreError::Backend(
                format!(
                    "the change listener could not LISTEN within {}s",
                    LISTEN_WAIT.as_secs()
                )
                .into(),
            ));
        }
        Ok(store)
    }

    /// A pooled connection.
    pub(crate) fn conn(&self) -> Result<Conn<'_>, StoreError> {
        self.pool.get()
    }

    /// After a commit that changed `function`'s metadata: tells this node's subscribers
    /// at once (so that a caller reading through a cache sees its own write). Other
    /// nodes learn it from the `NOTIFY` the writing transaction ran ([`NOTIFY_SQL`]).
    pub(crate) fn function_changed(&self, function: &str) {
        self.changes.function_changed(function);
    }

    /// The payload of a change to `function` for [`NOTIFY_SQL`]: it names this store, so
    /// that its own listener skips it.
    pub(crate) fn notice(&self, function: &str) -> String {
        listen::payload(&self.node, function)
    }
}

/// The statement a writing transaction runs (with [`PgStore::notice`] of the function
/// as `$1`) so that every node hears of the change at commit.
pub(crate) const NOTIFY_SQL: &str = "SELECT pg_notify('hearth_changes', $1)";

/// The fleet's own tables (beside the areas'): which server key the fleet's secrets are
/// sealed under, as a MAC of a fixed text (the key itself never leaves the nodes).
pub(crate) const SCHEMA: &str = "
CREATE TABLE fleet_key (
    one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    key_check TEXT NOT NULL
);
";

/// Every node seals and opens the same secrets, so every node needs the same server
/// key: the first node to open the database records its key's check, and a node with
/// another key refuses to start rather than fail on every sealed record.
fn check_fleet_key(pool: &Pool, key: &SealKey) -> Result<(), StoreError> {
    let check = hex::encode(key.mac(b"hearth fleet key check"));
    let conn = pool.get()?;
    wait(conn.execute(
        "INSERT INTO fleet_key (key_check) VALUES ($1) ON CONFLICT (one) DO NOTHING",
        &[&check],
    ))
    .map_err(backend)?;
    let row = wait(conn.query_one("SELECT key_check FROM fleet_key", &[])).map_err(backend)?;
    let recorded: String = row.get(0);
    if recorded != check {
        return Err(StoreError::Backend(
            "this node's server key (DATA_DIR/server.key) is not the one the fleet's \
             secrets are sealed under: copy server.key from a node of the fleet"
                .into(),
        ));
    }
    Ok(())
}
