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
const DELETE_BATCH: i64 = 200;

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
    fn delete_batched(
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
        let conn = self.conn();
        // The pragma frees a page per step: step it to the end.
        let vacuum = conn
            .prepare("PRAGMA incremental_vacuum")
            .and_then(|mut stmt| {
                let mut rows = stmt.query([])?;
                while rows.next()?.is_some() {}
                Ok(())
            });
        if let Err(e) = vacuum {
            tracing::warn!(error = %e, "could not release free database pages");
        }
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "could not truncate the WAL");
        }
        drop(conn);
        crate::space::keep_reserve(&self.root);
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn expiry_follows_each_functions_retention() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("open");
        let day = 86_400_000;
        let now = 100 * day;
        // `short` keeps 1 day, `plain` the default of 30.
        store.put_retention("short", 1).expect("put");
        assert_eq!(store.retention("short").expect("get"), Some(1));
        write(&store, "short", now - 2 * day);
        write(&store, "short", now - day / 2);
        write(&store, "plain", now - 2 * day);
        write(&store, "plain", now - 31 * day);
        assert_eq!(store.expire_logs(now, 30).expect("expire"), 2);
        assert_eq!(count(&store, "short"), 1);
        assert_eq!(count(&store, "plain"), 1);
        // Back to the default: the 1.5-day-old line is within 30 days.
        assert!(store.delete_retention("short").expect("delete"));
        assert_eq!(store.expire_logs(now, 30).expect("expire"), 0);
    }

    #[test]
    fn deleting_a_log_group_removes_lines_and_policy() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("open");
        // More rows than one delete statement takes.
        for ts in 0..450 {
            write(&store, "f", ts);
        }
        write(&store, "g", 1);
        store.put_retention("f", 7).expect("put");
        assert!(store.delete_log_group("f").expect("delete"));
        assert_eq!(count(&store, "f"), 0);
        assert_eq!(store.retention("f").expect("get"), None);
        assert!(!store.delete_log_group("f").expect("delete again"));
        assert_eq!(count(&store, "g"), 1);
        store.release_space();
    }
}
