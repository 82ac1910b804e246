//! The SQLite connection (its settings and checkpoints) and the function records.

use std::path::Path;

use hearth_model::arn::ACCOUNT;
use hearth_model::FunctionConfig;
use rusqlite::{params, Connection, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::traits::{Edit, Edited};
use crate::{SqliteStore, StoreError};

pub(crate) fn open(path: &Path) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path)?;
    // Pages freed by deleted logs go back to the file system (see `SqliteStore::release_space`).
    // This only takes on a new database; an older one keeps its freed pages for reuse.
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    // WAL with synchronous=NORMAL: a commit survives a crash of Hearth (the WAL is in the
    // OS's page cache) without an fsync on every invocation's log write.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    // Checkpoints (which do fsync) run on their own thread, not in a commit that an
    // invocation is waiting for: see `checkpoints`.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    // A WAL that a burst of log lines grew is cut back when it is next reused, rather
    // than keeping its largest size on disk (and see `checkpoints` for one left idle).
    conn.pragma_update(None, "journal_size_limit", WAL_KEEP as i64)?;
    // Every transaction here writes, most after reading first. A deferred one that reads
    // and then finds the write lock held (a TRUNCATE checkpoint takes it while it waits for
    // readers) fails at once with "database is locked": SQLite cannot wait for the lock
    // while the transaction's read holds back the checkpoint. IMMEDIATE takes the write
    // lock first, under the busy timeout.
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
    crate::migrations::migrate(&mut conn, crate::migrations::MIGRATIONS)?;
    Ok(conn)
}

/// How often the WAL is folded back into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// The most WAL kept on disk once all of it is in the database file.
const WAL_KEEP: u64 = 16 * 1024 * 1024;

/// What a `PRAGMA wal_checkpoint` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checkpoint {
    /// Every frame of the WAL is in the database file (and, for TRUNCATE, the WAL is empty).
    Complete,
    /// A reader or writer kept some frames from being copied (or the WAL from being cut).
    Busy,
}

/// Runs `PRAGMA wal_checkpoint(<mode>)`. SQLite reports a checkpoint that could not finish
/// in the row it returns, not as an error: that row is read here.
pub(crate) fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<Checkpoint> {
    let (busy, log, done): (i64, i64, i64) =
        conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    Ok(if busy == 0 && log == done {
        Checkpoint::Complete
    } else {
        Checkpoint::Busy
    })
}

/// Checkpoints the WAL from a connection of its own until the store is dropped, so that
/// the fsync a checkpoint needs never sits in a commit's path.
pub(crate) fn checkpoints(path: &Path, alive: std::sync::Weak<std::sync::Mutex<Connection>>) {
    let conn = match Connection::open(path) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "no checkpoint connection; the WAL will grow");
            return;
        }
    };
    // TRUNCATE holds the write lock while it waits for readers: it gives up soon (and
    // tries again next time) rather than keep the store's writes waiting.
    let _ = conn.pragma_update(None, "busy_timeout", 100);
    // A checkpoint is a few milliseconds of CPU every half second that nothing waits for;
    // at the lowest priority a woken request handler takes the CPU from it at once rather
    // than wait out its slice (it was beside a sixth of the warm invokes slower than 1 ms,
    // docs/performance.md). A nice thread still gets its share of a busy machine, so the
    // WAL keeps being folded under load. Best effort: without it, checkpoints still run.
    if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 19) {
        tracing::debug!(error = %e, "the checkpoint thread keeps the default priority");
    }
    let wal = path.with_extension("db-wal");
    let mut failing = false;
    while alive.strong_count() > 0 {
        std::thread::sleep(CHECKPOINT_EVERY);
        // PASSIVE never blocks writers; whatever it could not fold goes next time.
        let mut result = checkpoint(&conn, "PASSIVE");
        // `journal_size_limit` cuts the WAL back only when a write reuses it: one that a
        // burst grew (or a log deletion's vacuum filled) and that nothing writes to after
        // would keep its size. Once it is all in the database, truncate it here. TRUNCATE
        // waits for readers, so it runs only when there is something to give back.
        if result == Ok(Checkpoint::Complete)
            && std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_KEEP)
        {
            result = checkpoint(&conn, "TRUNCATE");
        }
        match result {
            // Said once, not every half second while the disk stays full.
            Err(e) if !failing => {
                tracing::warn!(error = %e, "WAL checkpoints fail; the WAL grows until they succeed");
                failing = true;
            }
            Err(_) => {}
            Ok(_) if failing => {
                tracing::info!("WAL checkpoints succeed again");
                failing = false;
            }
            Ok(_) => {}
        }
    }
}

impl SqliteStore {
    /// The JSON record in `table` (whose key is `function` and `key_column`) at
    /// (`function`, `key`).
    pub(crate) fn record<T: DeserializeOwned>(
        &self,
        table: &str,
        key_column: &str,
        function: &str,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        // Cached: some of these are read on every request (a function URL's resource
        // policy), and parsing the statement anew costs more than running it.
        let data: Option<String> = self
            .conn()
            .prepare_cached(&format!(
                "SELECT data FROM {table} WHERE function = ?1 AND {key_column} = ?2"
            ))?
            .query_row(params![function, key], |r| r.get(0))
            .optional()?;
        Ok(data.map(|d| serde_json::from_str(&d)).transpose()?)
    }

    /// Reads, changes and writes one such record atomically, as
    /// [`SqliteStore::edit_function`].
    pub(crate) fn edit_record<T: Serialize + DeserializeOwned>(
        &self,
        table: &str,
        key_column: &str,
        function: &str,
        key: &str,
        edit: Edit<'_, T>,
    ) -> Result<Edited<T>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let data: Option<String> = tx
            .query_row(
                &format!("SELECT data FROM {table} WHERE function = ?1 AND {key_column} = ?2"),
                params![function, key],
                |r| r.get(0),
            )
            .optional()?;
        let Some(data) = data else {
            return Ok(Edited::Missing);
        };
        let mut record: T = serde_json::from_str(&data)?;
        if !edit(&mut record) {
            return Ok(Edited::Declined);
        }
        tx.execute(
            &format!("UPDATE {table} SET data = ?3 WHERE function = ?1 AND {key_column} = ?2"),
            params![function, key, serde_json::to_string(&record)?],
        )?;
        tx.commit()?;
        drop(conn);
        self.changed(function);
        Ok(Edited::Done(record))
    }

    /// Inserts a new function; `Exists` if the name is taken.
    pub(crate) fn insert_function(&self, f: &FunctionConfig) -> Result<(), StoreError> {
        // The tags are kept by resource ARN (`resources.rs`), not in the record.
        let record = FunctionConfig {
            tags: Default::default(),
            ..f.clone()
        };
        let data = self.env_seal.encode(&record)?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let inserted = tx.execute(
            "INSERT INTO functions (name, data) VALUES (?1, ?2) ON CONFLICT(name) DO NOTHING",
            params![f.name, data],
        )?;
        if inserted == 0 {
            return Err(StoreError::Exists(f.name.clone()));
        }
        crate::resources::insert_function_tags(&tx, &f.name, &f.tags)?;
        tx.commit()?;
        drop(conn);
        self.changed(&f.name);
        Ok(())
    }

    pub(crate) fn get_function(&self, name: &str) -> Result<Option<FunctionConfig>, StoreError> {
        let data: Option<String> = self
            .conn()
            .query_row(
                "SELECT data FROM functions WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?;
        data.map(|d| self.env_seal.decode(&d)).transpose()
    }

    /// Reads, changes and writes one function atomically; `edit` answers whether to
    /// write.
    pub(crate) fn edit_function(
        &self,
        name: &str,
        edit: Edit<'_, FunctionConfig>,
    ) -> Result<Edited<FunctionConfig>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let data: Option<String> = tx
            .query_row(
                "SELECT data FROM functions WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?;
        let Some(data) = data else {
            return Ok(Edited::Missing);
        };
        let mut config: FunctionConfig = self.env_seal.decode(&data)?;
        if !edit(&mut config) {
            return Ok(Edited::Declined);
        }
        tx.execute(
            "UPDATE functions SET data = ?2 WHERE name = ?1",
            params![name, self.env_seal.encode(&config)?],
        )?;
        tx.commit()?;
        drop(conn);
        self.changed(name);
        Ok(Edited::Done(config))
    }

    /// Functions of `account` (every one's with `None`) in key order, after `marker`.
    pub(crate) fn list_functions(
        &self,
        account: Option<&str>,
        marker: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FunctionConfig>, StoreError> {
        let conn = self.conn();
        // Keys (`hearth_model::arn::function_key`): the default account's hold no colon,
        // another account's all start with `ACCOUNT:` (and sort before `ACCOUNT;`).
        let after = marker.unwrap_or("");
        let limit = limit as i64;
        let rows: Vec<String> = match account {
            None => collect(
                &conn,
                "SELECT data FROM functions WHERE name > ?1 ORDER BY name LIMIT ?2",
                params![after, limit],
            )?,
            Some(ACCOUNT) => collect(
                &conn,
                "SELECT data FROM functions WHERE name > ?1 AND instr(name, ':') = 0 \
                 ORDER BY name LIMIT ?2",
                params![after, limit],
            )?,
            Some(a) => {
                let first = format!("{a}:");
                collect(
                    &conn,
                    "SELECT data FROM functions WHERE name > ?1 AND name < ?2 \
                     ORDER BY name LIMIT ?3",
                    params![after.max(first.as_str()), format!("{a};"), limit],
                )?
            }
        };
        rows.iter().map(|row| self.env_seal.decode(row)).collect()
    }

    /// Deletes a function with its versions, aliases, counters, concurrency and
    /// asynchronous invocation settings; false if there was none.
    pub(crate) fn delete_function(&self, name: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute("DELETE FROM functions WHERE name = ?1", params![name])?;
        for table in [
            "versions",
            "aliases",
            "function_meta",
            "provisioned",
            "event_invoke_configs",
        ] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE function = ?1"),
                params![name],
            )?;
        }
        crate::resources::delete_function_resources(&tx, name)?;
        tx.commit()?;
        drop(conn);
        self.changed(name);
        Ok(n > 0)
    }
}

/// The first column of every row `sql` selects with `params`.
fn collect(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map(params, |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
pub(crate) mod tests {
    use hearth_model::FunctionConfig;

    /// A minimal `$LATEST` record for store tests.
    pub(crate) use hearth_model::testing::function as sample;

    /// The nice values of this process's checkpoint threads (`hearth-checkpoint`, which
    /// the kernel's 15-byte thread name cuts short).
    fn checkpoint_thread_nices() -> Vec<i64> {
        let mut nices = Vec::new();
        for task in std::fs::read_dir("/proc/self/task")
            .expect("tasks")
            .flatten()
        {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.trim_end() != "hearth-checkpoi" {
                continue;
            }
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            // The fields after the parenthesised name: state is field 3, nice field 19.
            if let Some((_, rest)) = stat.rsplit_once(") ") {
                if let Some(nice) = rest.split(' ').nth(16).and_then(|n| n.parse().ok()) {
                    nices.push(nice);
                }
            }
        }
        nices
    }

    #[test]
    fn the_checkpoint_thread_runs_at_the_lowest_priority() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _store = crate::SqliteStore::open_with(
            dir.path(),
            &crate::seal::SealKey::from_bytes([1; 32]),
            false,
        )
        .expect("store");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        // Other tests' stores have checkpoint threads too: any one at nice 19 shows the
        // thread sets it (it does so first thing, so a thread just started may not yet).
        while !checkpoint_thread_nices().contains(&19) {
            assert!(
                std::time::Instant::now() < deadline,
                "checkpoint threads' nice values: {:?}",
                checkpoint_thread_nices()
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    #[test]
    fn records_written_before_dead_letter_config_still_load() {
        let mut old = serde_json::to_value(sample("f")).expect("serializes");
        old.as_object_mut()
            .expect("an object")
            .remove("dead_letter_target_arn");
        let loaded: FunctionConfig = serde_json::from_value(old).expect("loads");
        assert_eq!(loaded, sample("f"));
    }

    /// A WAL that one large commit grew, with nothing written after it, is cut back by
    /// the checkpoint thread: `journal_size_limit` alone would wait for the next write.
    #[test]
    fn an_idle_oversized_wal_is_truncated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::SqliteStore::open(dir.path()).expect("open");
        let line = "x".repeat(64 * 1024);
        let changes: Vec<crate::Change> = (0..384)
            .map(|ts| {
                crate::Change::Logs(crate::LogBatch::from_lines("f", "s", [(ts, line.as_str())]))
            })
            .collect();
        store
            .apply_changes(&changes, crate::Durability::Committed)
            .expect("append");
        let wal = dir.path().join("hearth.db-wal");
        let size = || std::fs::metadata(&wal).map_or(0, |m| m.len());
        assert!(
            size() > super::WAL_KEEP,
            "the commit went to the WAL: {}",
            size()
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while size() > super::WAL_KEEP && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(size() <= super::WAL_KEEP, "the WAL kept {} bytes", size());
    }

    /// A TRUNCATE checkpoint holds the WAL's write lock while it waits for readers to
    /// leave the WAL. A read-then-write transaction begun meanwhile must wait for it (the
    /// busy timeout), not fail at once with "database is locked" as a deferred one does
    /// when it tries to upgrade: that left a function `Pending` once (`settle` could not
    /// record its state).
    #[test]
    fn an_edit_waits_out_a_truncate_checkpoint() {
        use rusqlite::{Connection, ErrorCode};
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::SqliteStore::open(dir.path()).expect("open");
        store.insert_function(&sample("f")).expect("insert");
        let path = dir.path().join("hearth.db");
        // A reader on the WAL's latest snapshot keeps TRUNCATE waiting.
        let reader = Connection::open(&path).expect("reader");
        reader.execute_batch("BEGIN").expect("begin");
        let _: i64 = reader
            .query_row("SELECT count(*) FROM functions", [], |r| r.get(0))
            .expect("read");
        let checkpoint = std::thread::spawn({
            let path = path.clone();
            move || {
                let conn = Connection::open(&path).expect("checkpointer");
                conn.pragma_update(None, "busy_timeout", 10_000)
                    .expect("timeout");
                super::checkpoint(&conn, "TRUNCATE").expect("checkpoint")
            }
        });
        // Until the checkpoint holds the write lock, a writer with no busy timeout gets in.
        let probe = Connection::open(&path).expect("probe");
        probe
            .busy_timeout(std::time::Duration::ZERO)
            .expect("no wait");
        let holding = || match probe.execute_batch("BEGIN IMMEDIATE; ROLLBACK") {
            Err(rusqlite::Error::SqliteFailure(e, _)) => e.code == ErrorCode::DatabaseBusy,
            _ => false,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !holding() {
            assert!(
                std::time::Instant::now() < deadline,
                "the checkpoint never took the lock"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            reader.execute_batch("COMMIT").expect("end the read");
        });
        let edited = store.edit_function(
            "f",
            Box::new(|f: &mut FunctionConfig| {
                f.description = "edited".into();
                true
            }),
        );
        assert!(
            matches!(edited, Ok(crate::traits::Edited::Done(_))),
            "the edit failed: {edited:?}"
        );
        release.join().expect("released");
        assert_eq!(
            checkpoint.join().expect("checkpointed"),
            super::Checkpoint::Complete
        );
    }
}
