//! The embedded store: SQLite (WAL) in the data directory, with code blobs beside it.
//! Its operations live in the files named after what they own (`db.rs` functions,
//! `versions.rs`, `concurrency.rs`, `event_config.rs`, `retention.rs`, `logs.rs`,
//! `queue.rs`, `blobs.rs` and `code_gc.rs`); this file opens it and maps the store
//! traits onto them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use hearth_model::alias::Alias;
use hearth_model::concurrency::ProvisionedConfig;
use hearth_model::event_invoke::EventInvokeConfig;
use hearth_model::function::CodeRef;
use hearth_model::FunctionConfig;

use crate::seal::SealKey;
use crate::traits::{Decide, Edit, Edited};
use crate::{
    code_gc, db, space, Change, ChangeStore, CodePin, CodeStore, Durability, LogEvent,
    LogGroupInfo, LogQuery, LogScan, LogStore, LogStreamInfo, MetadataStore, Notifier, QueueStore,
    QueuedEvent, StoreError, Subscriber, Subscription,
};

/// The SQLite store of one data directory. Cheap to clone; SQLite access is serialised
/// by a mutex because every statement here is short.
#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) root: PathBuf,
    pub(crate) conn: Arc<Mutex<rusqlite::Connection>>,
    /// Which code is in use beyond what rows name (see [`code_gc`]).
    pub(crate) code: Arc<code_gc::CodeUse>,
    /// Room left on the data directory's file system (see [`space`]).
    pub(crate) room: Arc<space::Room>,
    /// Subscribers to metadata changes (see [`crate::notify`]).
    pub(crate) changes: Arc<Notifier>,
    /// Seals functions' environment variables in their stored records.
    pub(crate) env_seal: crate::sealed_env::EnvSeal,
}

impl SqliteStore {
    /// Opens (creating if needed, migrating an older schema) the store in `root`,
    /// removing code that nothing references and what an earlier process left half
    /// written.
    /// Secrets are sealed under the server key in `root` (made if missing).
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        crate::private::create_dir(root)?;
        let key = SealKey::load_or_create(root)
            .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?;
        Self::open_with(root, &key, true)
    }

    /// [`SqliteStore::open`], sealing secrets under `key` (the server's one key).
    pub fn open_sealed(root: &Path, key: &SealKey) -> Result<Self, StoreError> {
        Self::open_with(root, key, true)
    }

    /// [`SqliteStore::open_sealed`]; `collector` false leaves sweeps to explicit
    /// [`SqliteStore::sweep_code`] calls (tests that decide when code goes).
    pub(crate) fn open_with(
        root: &Path,
        key: &SealKey,
        collector: bool,
    ) -> Result<Self, StoreError> {
        crate::private::tighten_data_dir(root)?;
        std::fs::create_dir_all(root.join("code"))?;
        let path = root.join("hearth.db");
        // On a full file system SQLite cannot make its WAL index: the reserve makes room.
        let conn = match db::open(&path) {
            Err(e) if e.is_disk_full() && space::release_reserve(root) => db::open(&path)?,
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
            changes: Arc::default(),
            env_seal: crate::sealed_env::EnvSeal::new(key),
        };
        store.load_kms_keys()?;
        let sealed = store.seal_plain_environments()?;
        if sealed > 0 {
            tracing::info!(sealed, "sealed the environment variables of older records");
        }
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
            let (root, conn, code, seal) = (
                store.root.clone(),
                Arc::downgrade(&store.conn),
                Arc::downgrade(&store.code),
                store.env_seal.clone(),
            );
            std::thread::Builder::new()
                .name("hearth-code-gc".into())
                .spawn(move || code_gc::collector(root, conn, code, seal))?;
        }
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, rusqlite::Connection> {
        // A panic while holding the lock leaves SQLite consistent (statements are atomic),
        // so a poisoned lock is safe to keep using.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies changes in order in one transaction; with `Synced`, the commit fsyncs.
    pub(crate) fn apply_changes(
        &self,
        changes: &[Change],
        durability: Durability,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        if durability == Durability::Synced {
            // In WAL mode FULL fsyncs the WAL at commit; NORMAL leaves it to checkpoints.
            conn.prepare_cached("PRAGMA synchronous = FULL")?
                .execute([])?;
        }
        let result = transact(&conn, changes);
        if durability == Durability::Synced {
            conn.prepare_cached("PRAGMA synchronous = NORMAL")?
                .execute([])?;
        }
        result
    }

    /// This store as its metadata trait, for the generic updates on `dyn MetadataStore`.
    #[cfg(test)]
    pub(crate) fn metadata(&self) -> &dyn MetadataStore {
        self
    }

    /// Tells the subscribers that `function` changed; call after the commit, with the
    /// connection released (a subscriber may read the store).
    pub(crate) fn changed(&self, function: &str) {
        self.changes.function_changed(function);
    }
}

/// `changes` in order in one transaction, begun and committed with cached statements
/// (`Connection::transaction` parses `BEGIN` and `COMMIT` anew each time, and this runs for
/// nearly every invocation); rolled back whole when a change or the commit fails.
/// IMMEDIATE, as every transaction of the store (see `db::open`).
fn transact(conn: &rusqlite::Connection, changes: &[Change]) -> Result<(), StoreError> {
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let applied = changes
        .iter()
        .try_for_each(|change| match change {
            Change::Logs(b) => crate::logs::append(conn, b),
            Change::Queue(op) => crate::queue::apply(conn, op),
            Change::Audit(event) => crate::audit::append(conn, event),
        })
        .and_then(|()| {
            conn.prepare_cached("COMMIT")?.execute([])?;
            Ok(())
        });
    // SQLite rolls back by itself after some failed commits, not after a failed change.
    if applied.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    applied
}

impl MetadataStore for SqliteStore {
    fn subscribe(&self, subscriber: Subscriber) -> Subscription {
        self.changes.subscribe(subscriber)
    }
    fn insert_function(&self, f: &FunctionConfig) -> Result<(), StoreError> {
        SqliteStore::insert_function(self, f)
    }
    fn get_function(&self, name: &str) -> Result<Option<FunctionConfig>, StoreError> {
        SqliteStore::get_function(self, name)
    }
    fn edit_function(
        &self,
        name: &str,
        edit: Edit<'_, FunctionConfig>,
    ) -> Result<Edited<FunctionConfig>, StoreError> {
        SqliteStore::edit_function(self, name, edit)
    }
    fn list_functions(
        &self,
        account: Option<&str>,
        marker: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FunctionConfig>, StoreError> {
        SqliteStore::list_functions(self, account, marker, limit)
    }
    fn delete_function(&self, name: &str) -> Result<bool, StoreError> {
        SqliteStore::delete_function(self, name)
    }
    fn publish_with(
        &self,
        name: &str,
        decide: Decide<'_>,
    ) -> Result<Edited<FunctionConfig>, StoreError> {
        SqliteStore::publish_with(self, name, decide)
    }
    fn get_version(&self, name: &str, version: u64) -> Result<Option<FunctionConfig>, StoreError> {
        SqliteStore::get_version(self, name, version)
    }
    fn list_versions(&self, name: &str) -> Result<Vec<FunctionConfig>, StoreError> {
        SqliteStore::list_versions(self, name)
    }
    fn put_version(&self, f: &FunctionConfig) -> Result<(), StoreError> {
        SqliteStore::put_version(self, f)
    }
    fn delete_version(&self, name: &str, version: u64) -> Result<bool, StoreError> {
        SqliteStore::delete_version(self, name, version)
    }
    fn insert_alias(&self, a: &Alias) -> Result<(), StoreError> {
        SqliteStore::insert_alias(self, a)
    }
    fn get_alias(&self, function: &str, name: &str) -> Result<Option<Alias>, StoreError> {
        SqliteStore::get_alias(self, function, name)
    }
    fn list_aliases(&self, function: &str) -> Result<Vec<Alias>, StoreError> {
        SqliteStore::list_aliases(self, function)
    }
    fn edit_alias(
        &self,
        function: &str,
        name: &str,
        edit: Edit<'_, Alias>,
    ) -> Result<Edited<Alias>, StoreError> {
        SqliteStore::edit_alias(self, function, name, edit)
    }
    fn delete_alias(&self, function: &str, name: &str) -> Result<bool, StoreError> {
        SqliteStore::delete_alias(self, function, name)
    }
    fn set_reserved(&self, function: &str, reserved: Option<i64>) -> Result<(), StoreError> {
        SqliteStore::set_reserved(self, function, reserved)
    }
    fn get_reserved(&self, function: &str) -> Result<Option<i64>, StoreError> {
        SqliteStore::get_reserved(self, function)
    }
    fn all_reserved(&self) -> Result<Vec<(String, i64)>, StoreError> {
        SqliteStore::all_reserved(self)
    }
    fn put_provisioned(&self, c: &ProvisionedConfig) -> Result<(), StoreError> {
        SqliteStore::put_provisioned(self, c)
    }
    fn get_provisioned(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<ProvisionedConfig>, StoreError> {
        SqliteStore::get_provisioned(self, function, qualifier)
    }
    fn list_provisioned(
        &self,
        function: Option<&str>,
    ) -> Result<Vec<ProvisionedConfig>, StoreError> {
        SqliteStore::list_provisioned(self, function)
    }
    fn delete_provisioned(&self, function: &str, qualifier: &str) -> Result<bool, StoreError> {
        SqliteStore::delete_provisioned(self, function, qualifier)
    }
    fn put_event_invoke_config(&self, c: &EventInvokeConfig) -> Result<bool, StoreError> {
        SqliteStore::put_event_invoke_config(self, c)
    }
    fn edit_event_invoke_config(
        &self,
        function: &str,
        qualifier: &str,
        edit: Edit<'_, EventInvokeConfig>,
    ) -> Result<Edited<EventInvokeConfig>, StoreError> {
        SqliteStore::edit_event_invoke_config(self, function, qualifier, edit)
    }
    fn get_event_invoke_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<EventInvokeConfig>, StoreError> {
        SqliteStore::get_event_invoke_config(self, function, qualifier)
    }
    fn list_event_invoke_configs(
        &self,
        function: &str,
    ) -> Result<Vec<EventInvokeConfig>, StoreError> {
        SqliteStore::list_event_invoke_configs(self, function)
    }
    fn delete_event_invoke_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<bool, StoreError> {
        SqliteStore::delete_event_invoke_config(self, function, qualifier)
    }
    fn put_retention(&self, function: &str, days: u32) -> Result<(), StoreError> {
        SqliteStore::put_retention(self, function, days)
    }
    fn delete_retention(&self, function: &str) -> Result<bool, StoreError> {
        SqliteStore::delete_retention(self, function)
    }
    fn retention(&self, function: &str) -> Result<Option<u32>, StoreError> {
        SqliteStore::retention(self, function)
    }
}

impl CodeStore for SqliteStore {
    fn put_zip(&self, bytes: &[u8]) -> Result<(CodeRef, CodePin), StoreError> {
        SqliteStore::put_zip(self, bytes)
    }
    fn zip_path(&self, sha256_hex: &str) -> PathBuf {
        SqliteStore::zip_path(self, sha256_hex)
    }
    fn unpacked(&self, pin: &CodePin) -> Result<PathBuf, StoreError> {
        SqliteStore::unpacked(self, pin)
    }
    fn pin_stored(&self, sha256_hex: &str) -> Option<CodePin> {
        SqliteStore::pin_stored(self, sha256_hex)
    }
    fn composed(&self, layers: &[CodePin]) -> Result<(CodePin, PathBuf), StoreError> {
        SqliteStore::composed(self, layers)
    }
    fn collect_code(&self) {
        SqliteStore::collect_code(self)
    }
    fn total_code_size(&self) -> Result<u64, StoreError> {
        SqliteStore::total_code_size(self)
    }
    fn referenced_code(&self) -> Result<HashSet<String>, StoreError> {
        SqliteStore::referenced_code(self)
    }
}

impl LogStore for SqliteStore {
    fn query_logs(&self, function: &str, q: &LogQuery) -> Result<Vec<LogEvent>, StoreError> {
        SqliteStore::query_logs(self, function, q)
    }
    fn scan_logs(&self, function: &str, q: &LogQuery) -> Result<LogScan, StoreError> {
        SqliteStore::scan_logs(self, function, q)
    }
    fn log_streams(&self, function: &str) -> Result<Vec<LogStreamInfo>, StoreError> {
        SqliteStore::log_streams(self, function)
    }
    fn log_groups(&self) -> Result<Vec<LogGroupInfo>, StoreError> {
        SqliteStore::log_groups(self)
    }
    fn has_logs(&self, function: &str) -> Result<bool, StoreError> {
        SqliteStore::has_logs(self, function)
    }
    fn delete_log_group(&self, function: &str) -> Result<bool, StoreError> {
        SqliteStore::delete_log_group(self, function)
    }
    fn expire_logs(&self, now_ms: i64, default_days: u32) -> Result<usize, StoreError> {
        SqliteStore::expire_logs(self, now_ms, default_days)
    }
    fn release_space(&self) {
        SqliteStore::release_space(self)
    }
}

impl QueueStore for SqliteStore {
    fn queued_events(&self) -> Result<Vec<QueuedEvent>, StoreError> {
        SqliteStore::queued_events(self)
    }
    fn queued_payload(&self, seq: i64) -> Result<Option<Bytes>, StoreError> {
        SqliteStore::queued_payload(self, seq)
    }
    fn queue_seqs(&self) -> Result<std::ops::Range<i64>, StoreError> {
        SqliteStore::queue_seqs(self)
    }
    fn own_events(&self, node: &str) -> Result<Vec<QueuedEvent>, StoreError> {
        SqliteStore::own_events(self, node)
    }
    fn claim_events(&self, node: &str, limit: usize) -> Result<Vec<QueuedEvent>, StoreError> {
        SqliteStore::claim_events(self, node, limit)
    }
    fn release_events(&self, node: &str, seqs: &[i64]) -> Result<usize, StoreError> {
        SqliteStore::release_events(self, node, seqs)
    }
}

impl crate::traits::KmsStore for SqliteStore {
    fn create_kms_key(
        &self,
        account: &str,
        description: &str,
    ) -> Result<crate::KmsKeyInfo, StoreError> {
        SqliteStore::create_kms_key(self, account, description)
    }
    fn list_kms_keys(&self) -> Result<Vec<crate::KmsKeyInfo>, StoreError> {
        SqliteStore::list_kms_keys(self)
    }
    fn kms_key_exists(&self, arn: &str) -> bool {
        SqliteStore::kms_key_exists(self, arn)
    }
}

impl crate::traits::AuditStore for SqliteStore {
    fn lookup_audit(
        &self,
        query: &hearth_model::audit::AuditQuery,
    ) -> Result<hearth_model::audit::AuditPage, StoreError> {
        SqliteStore::lookup_audit(self, query)
    }
    fn expire_audit(
        &self,
        now_ms: i64,
        keep: hearth_model::audit::AuditRetention,
    ) -> Result<usize, StoreError> {
        SqliteStore::expire_audit(self, now_ms, keep)
    }
}

impl ChangeStore for SqliteStore {
    fn apply_changes(&self, changes: &[Change], durability: Durability) -> Result<(), StoreError> {
        SqliteStore::apply_changes(self, changes, durability)
    }
    fn room_for_logs(&self, bytes: u64) -> bool {
        self.room.for_logs(bytes)
    }
    fn release_reserve(&self) -> bool {
        space::release_reserve(&self.root)
    }
}
