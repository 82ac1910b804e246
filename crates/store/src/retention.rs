//! How long a function's logs are kept (CloudWatch's retention policy of the log group
//! `/aws/lambda/<fn>`), expiring old log rows, deleting a log group, and giving the
//! space back to the file system.

use rusqlite::{params, OptionalExtension};

use crate::{SqliteStore, StoreError};

/// The retention periods CloudWatch Logs accepts (botocore's `logs` model, shape `Days`).
pub const RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

const DAY_MS: i64 = 86_400_000;
/// Rows deleted per statement, so that a large expiry does not hold the store's lock
/// (and every writer behind it) for long.
/// (A row holds up to about 256 KiB of lines.)
pub(crate) const DELETE_BATCH: i64 = 200;
/// Pages one `incremental_vacuum` step frees: well under the page cache (SQLite's
/// default is 2 MiB), so that the freed pages are never written (see `vacuum_in_steps`).
const VACUUM_STEP: u32 = 128;

impl SqliteStore {
    /// Sets a function's retention in days.
    pub(crate) fn put_retention(&self, function: &str, days: u32) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO log_groups (function, retention_days) VALUES (?1, ?2)
             ON CONFLICT(function) DO UPDATE SET retention_days = ?2",
            params![function, days],
        )?;
        Ok(())
    }

    /// Removes a function's own retention (the server's default applies again); false
    /// if it had none.
    pub(crate) fn delete_retention(&self, function: &str) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "DELETE FROM log_groups WHERE function = ?1",
            params![function],
        )?;
        Ok(n > 0)
    }

    /// A function's own retention in days, if it has one.
    pub(crate) fn retention(&self, function: &str) -> Result<Option<u32>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT retention_days FROM log_groups WHERE function = ?1",
                params![function],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Deletes a function's logs and its retention; false if there was neither. A delete
    /// needs a little room itself (in the WAL): on a full disk the reserve file gives it.
    pub(crate) fn delete_log_group(&self, function: &str) -> Result<bool, StoreError> {
        match self.delete_log_group_once(function) {
            Err(e) if e.is_disk_full() && crate::space::release_reserve(&self.root) => {
                self.delete_log_group_once(function)
            }
            done => done,
        }
    }

    fn delete_log_group_once(&self, function: &str) -> Result<bool, StoreError> {
        let rows = self.delete_batched(|conn| {
            conn.execute(
                "DELETE FROM log_chunks WHERE id IN (SELECT id FROM log_chunks
                 WHERE function = ?1 LIMIT ?2)",
                params![function, DELETE_BATCH],
            )
        })?;
        let policy = self.delete_retention(function)?;
        Ok(rows > 0 || policy)
    }

    /// Deletes log rows whose newest line is older than their function's retention (its
    /// own, else `default_days`) at `now_ms`; returns how many rows went.
    pub(crate) fn expire_logs(&self, now_ms: i64, default_days: u32) -> Result<usize, StoreError> {
        match self.expire_logs_once(now_ms, default_days) {
            Err(e) if e.is_disk_full() && crate::space::release_reserve(&self.root) => {
                self.expire_logs_once(now_ms, default_days)
            }
            done => done,
        }
    }

    fn expire_logs_once(&self, now_ms: i64, default_days: u32) -> Result<usize, StoreError> {
        let policies: Vec<(String, i64)> = {
            let conn = self.conn();
            let mut stmt = conn.prepare("SELECT function, retention_days FROM log_groups")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut removed = 0;
        for (function, days) in policies {
            let cutoff = now_ms.saturating_sub(days.saturating_mul(DAY_MS));
            removed += self.delete_batched(|conn| {
                conn.execute(
                    "DELETE FROM log_chunks WHERE id IN (SELECT id FROM log_chunks
                     WHERE function = ?1 AND last_ts < ?2 LIMIT ?3)",
                    params![function, cutoff, DELETE_BATCH],
                )
            })?;
        }
        let cutoff = now_ms.saturating_sub(i64::from(default_days).saturating_mul(DAY_MS));
        removed += self.delete_batched(|conn| {
            conn.execute(
                "DELETE FROM log_chunks WHERE id IN (SELECT id FROM log_chunks
                 WHERE last_ts < ?1 AND function NOT IN (SELECT function FROM log_groups)
                 LIMIT ?2)",
                params![cutoff, DELETE_BATCH],
            )
        })?;
        Ok(removed)
    }

    /// Runs a delete of at most [`DELETE_BATCH`] rows until it deletes fewer.
    pub(crate) fn delete_batched(
        &self,
        delete: impl Fn(&rusqlite::Connection) -> rusqlite::Result<usize>,
    ) -> Result<usize, StoreError> {
        let mut removed = 0;
        loop {
            let n = delete(&self.conn())?;
            removed += n;
            if (n as i64) < DELETE_BATCH {
                return Ok(removed);
            }
        }
    }

    /// Gives pages freed by deleted rows back to the file system, and truncates the WAL.
    /// Best effort: on a full disk this is what makes room, so a failure is only logged.
    pub(crate) fn release_space(&self) {
        // A delete's WAL frames first: folded and cut, their room is the vacuum's.
        let _ = self.truncate_wal();
        if let Err(e) = self.vacuum_in_steps() {
            tracing::warn!(error = %e, "could not release free database pages");
        }
        let _ = self.truncate_wal();
        crate::space::keep_reserve(&self.root);
    }

    /// Runs `PRAGMA incremental_vacuum` [`VACUUM_STEP`] pages at a time until no free page
    /// is left. One vacuum of every free page would write each of them to the WAL (the
    /// page cache spills before the commit that drops them): in WAL mode it needed as
    /// much room as it gave back, which a full disk does not have. A step smaller than
    /// the page cache writes only the freelist's pages, and the store's lock is let go
    /// between steps.
    fn vacuum_in_steps(&self) -> Result<(), StoreError> {
        let mut left = i64::MAX;
        loop {
            let conn = self.conn();
            let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
            // A step that freed nothing (pages freed again by a concurrent delete are the
            // next call's) ends it.
            if free == 0 || free >= left {
                return Ok(());
            }
            left = free;
            let mut stmt = conn.prepare(&format!("PRAGMA incremental_vacuum({VACUUM_STEP})"))?;
            // The pragma frees a page per step: step it to the end.
            let mut rows = stmt.query([])?;
            while rows.next()?.is_some() {}
        }
    }

    /// Folds the whole WAL into the database and empties it; true if it did. A busy
    /// TRUNCATE (the checkpoint thread folding at the same moment) leaves the WAL for that
    /// thread to cut on a later round: see `db::checkpoints`.
    fn truncate_wal(&self) -> bool {
        match crate::db::checkpoint(&self.conn(), "TRUNCATE") {
            Err(e) => tracing::warn!(error = %e, "could not truncate the WAL"),
            Ok(crate::db::Checkpoint::Busy) => {
                tracing::debug!("the WAL is in use; the checkpoint thread truncates it later")
            }
            Ok(crate::db::Checkpoint::Complete) => return true,
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::{Change, Durability, LogBatch, LogQuery, SqliteStore};

    fn write(store: &SqliteStore, function: &str, ts: i64) {
        store
            .apply_changes(
                &[Change::Logs(LogBatch::from_lines(
                    function,
                    "s",
                    [(ts, "line")],
                ))],
                Durability::Committed,
            )
            .expect("append");
    }

    fn count(store: &SqliteStore, function: &str) -> usize {
        store
            .query_logs(
                function,
                &LogQuery {
                    limit: 100,
                    ..Default::default()
                },
            )
            .expect("query")
            .len()
    }

    /// Freeing 30 MB of deleted logs needs little room of its own (a full disk has
    /// none), and gives the file system the space back.
    #[test]
    fn releasing_space_writes_little_and_shrinks_the_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("open");
        let line = "y".repeat(100);
        for batch in 0..30 {
            let lines = (0..10_000).map(|i| (batch * 10_000 + i, line.as_str()));
            store
                .apply_changes(
                    &[Change::Logs(LogBatch::from_lines("f", "s", lines))],
                    Durability::Committed,
                )
                .expect("append");
        }
        write(&store, "g", 1);
        let size = |name: &str| std::fs::metadata(dir.path().join(name)).map_or(0, |m| m.len());
        // The checkpoint thread may hold the WAL for a moment: a TRUNCATE then reports busy.
        let truncate = || {
            let deadline = Instant::now() + Duration::from_secs(20);
            while !store.truncate_wal() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        };
        truncate();
        assert!(size("hearth.db") > 30_000_000, "{}", size("hearth.db"));
        assert!(store.delete_log_group("f").expect("delete"));
        truncate();
        assert_eq!(size("hearth.db-wal"), 0);
        store.vacuum_in_steps().expect("vacuum");
        assert!(
            size("hearth.db-wal") < 4 << 20,
            "the vacuum wrote {}",
            size("hearth.db-wal")
        );
        store.release_space();
        // The file shrinks when a checkpoint folds the vacuum in (this one or the thread's).
        truncate();
        assert!(
            size("hearth.db") < 1 << 20,
            "the database kept {}",
            size("hearth.db")
        );
        assert_eq!(count(&store, "g"), 1);
    }
}
