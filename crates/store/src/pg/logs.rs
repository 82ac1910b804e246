//! Invocation logs on PostgreSQL ([`LogStore`]): reading, expiring and deleting the
//! chunks of lines that [`super::changes`] appends.
//!
//! Lines are stored as SQLite stores them (`crate::logs`, `crate::chunk`): a row of
//! `log_chunks` holds one [`LogChunk`], and an event's id is its row's id times
//! [`LINES_PER_ROW`] plus its place in the row. Row ids come from the table's sequence
//! (`BIGSERIAL`), so they are never reused, not even after a log group is deleted; and
//! [`super::changes`] takes a per-function lock before it draws them, so that a
//! function's rows become visible in id order and a follower reading `after` an id
//! misses nothing that another node commits later.
//!
//! Retention lives in `log_groups` (the metadata area's table, as in SQLite's schema);
//! this file only reads it and deletes a group's row with the group.
//!
//! Not partitioned by day. Retention is per function (each log group has its own days,
//! up to ten years, and the server's default for the rest), so a day's partition could
//! only be dropped once the longest retention of any group had passed it: the per
//! function expiry would still have to delete rows, and so would deleting a log group.
//! Partitioning would also put the partition key into the primary key, and need every
//! node to agree on making tomorrow's partition in time. Expiry here deletes rows in
//! small batches through an index on `last_ts`, and [`LogStore::release_space`] vacuums.
//!
//! Rows are read through a portal, a few at a time, so that a query that stops at its
//! `limit` or `scan_bytes` does not fetch the rest of a log group over the network.

use tokio_postgres::types::ToSql;

use super::{backend, wait, PgStore};
use crate::chunk::LogChunk;
use crate::logs::ChunkScan;
use crate::traits::LogStore;
use crate::{LogEvent, LogGroupInfo, LogQuery, LogScan, LogStreamInfo, StoreError, LINES_PER_ROW};

/// This area's tables, part of the first migration ([`super::migrations`]).
pub(super) const SCHEMA: &str = r#"
CREATE TABLE log_chunks (
    -- A sequence, not MAX(id) + 1: ids only grow, whatever is deleted.
    id BIGSERIAL PRIMARY KEY,
    function TEXT NOT NULL,
    stream TEXT NOT NULL,
    ts BIGINT NOT NULL,
    last_ts BIGINT NOT NULL,
    count BIGINT NOT NULL,
    stamps BYTEA NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX log_chunks_by_function ON log_chunks (function, id);
-- Expiry by age without reading every row (SQLite's sweep scans the table).
CREATE INDEX log_chunks_by_age ON log_chunks (last_ts);
-- The metadata area's table (its retention methods write it); made here too, as it is,
-- so that this file's queries hold whichever area's schema comes first.
CREATE TABLE IF NOT EXISTS log_groups (
    function TEXT PRIMARY KEY,
    retention_days BIGINT NOT NULL
);
"#;

const DAY_MS: i64 = 86_400_000;
/// Rows deleted per statement, as SQLite's sweep does: each delete is a short
/// transaction, and a sweep running on another node at the same time skips the rows
/// this one holds.
const DELETE_BATCH: i64 = crate::retention::DELETE_BATCH;
/// Rows fetched by a portal's first read; later reads take more (see [`next_fetch`]).
const FIRST_FETCH: i32 = 8;
const MAX_FETCH: i32 = 256;

/// How many rows a portal's next read takes: few at first (a follower's query usually
/// ends within a row or two), more as a scan goes on.
fn next_fetch(previous: i32) -> i32 {
    previous.saturating_mul(4).min(MAX_FETCH)
}

/// The SQL of a scan and its parameters (`$1` the function, then the bounds).
fn scan_sql<'q>(function: &'q str, q: &'q LogQuery) -> (String, Vec<Box<dyn ToSql + Sync + 'q>>) {
    let after = q.after.unwrap_or(-1);
    let before = q.before.unwrap_or(i64::MAX);
    let since = q.since_ms.unwrap_or(i64::MIN);
    let until = q.until_ms.unwrap_or(i64::MAX);
    let mut sql = String::from(
        "SELECT id, stream, ts, last_ts, count, stamps, body FROM log_chunks
         WHERE function = $1 AND id >= $2 AND id <= $3 AND last_ts >= $4 AND ts < $5",
    );
    let mut args: Vec<Box<dyn ToSql + Sync + 'q>> = vec![
        Box::new(function),
        // The rows that can hold an id in `after + 1 ..= before - 1`.
        Box::new(after.saturating_add(1).max(0) / LINES_PER_ROW),
        Box::new(before.saturating_sub(1) / LINES_PER_ROW),
        Box::new(since),
        Box::new(until),
    ];
    if !q.streams.is_empty() {
        args.push(Box::new(&q.streams));
        sql.push_str(&format!(" AND stream = ANY(${})", args.len()));
    }
    if let Some(prefix) = &q.stream_prefix {
        args.push(Box::new(prefix.as_str()));
        sql.push_str(&format!(" AND starts_with(stream, ${})", args.len()));
    }
    sql.push_str(if q.newest_first {
        " ORDER BY id DESC"
    } else {
        " ORDER BY id"
    });
    (sql, args)
}

/// A stored count as a chunk's (a row no writer made is corrupt).
fn line_count(count: i64) -> Result<u32, StoreError> {
    u32::try_from(count)
        .map_err(|_| StoreError::Backend(format!("a log row holds {count} lines").into()))
}

/// Stored retention days as the trait's.
fn days(d: Option<i64>) -> Result<Option<u32>, StoreError> {
    d.map(|d| {
        u32::try_from(d).map_err(|_| StoreError::Backend(format!("a retention of {d} days").into()))
    })
    .transpose()
}

impl PgStore {
    /// Runs a delete of at most [`DELETE_BATCH`] rows (its last parameter) until it
    /// deletes fewer; returns how many went.
    fn delete_batched(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<usize, StoreError> {
        let c = self.conn()?;
        let stmt = wait(c.prepare(sql)).map_err(backend)?;
        let mut removed = 0;
        loop {
            let n = wait(c.execute(&stmt, params)).map_err(backend)?;
            removed += n as usize;
            if (n as i64) < DELETE_BATCH {
                return Ok(removed);
            }
        }
    }
}

impl LogStore for PgStore {
    fn query_logs(&self, function: &str, q: &LogQuery) -> Result<Vec<LogEvent>, StoreError> {
        Ok(self.scan_logs(function, q)?.events)
    }

    fn scan_logs(&self, function: &str, q: &LogQuery) -> Result<LogScan, StoreError> {
        let (sql, args) = scan_sql(function, q);
        let mut c = self.conn()?;
        // A portal lives in a transaction; one statement's snapshot, as SQLite's read.
        let tx = wait(c.build_transaction().read_only(true).start()).map_err(backend)?;
        let stmt = wait(tx.prepare(&sql)).map_err(backend)?;
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| &**a).collect();
        let portal = wait(tx.bind(&stmt, &params)).map_err(backend)?;
        let mut scan = ChunkScan::new(q);
        let mut fetch = FIRST_FETCH;
        loop {
            let rows = wait(tx.query_portal(&portal, fetch)).map_err(backend)?;
            let last_page = rows.len() < fetch as usize;
            fetch = next_fetch(fetch);
            for r in &rows {
                let row_id: i64 = r.try_get(0).map_err(backend)?;
                if let Some(stopped) = scan.stop_before(row_id) {
                    return Ok(stopped);
                }
                let stream: String = r.try_get(1).map_err(backend)?;
                let chunk = LogChunk::from_row(
                    r.try_get(2).map_err(backend)?,
                    r.try_get(3).map_err(backend)?,
                    line_count(r.try_get(4).map_err(backend)?)?,
                    r.try_get(5).map_err(backend)?,
                    r.try_get(6).map_err(backend)?,
                );
                if let Some(full) = scan.row(row_id, &stream, &chunk) {
                    return Ok(full);
                }
            }
            if last_page {
                break;
            }
        }
        // Read-only: ending it either way is the same; a commit keeps the connection's
        // next use free of a queued ROLLBACK.
        wait(tx.commit()).map_err(backend)?;
        Ok(scan.done())
    }

    fn log_streams(&self, function: &str) -> Result<Vec<LogStreamInfo>, StoreError> {
        let c = self.conn()?;
        // `COLLATE "C"`: byte order, as SQLite's BINARY, whatever the database's locale.
        let rows = wait(c.query(
            r#"SELECT stream, MIN(ts), MAX(last_ts), MAX(id * $2 + count - 1),
                      SUM(octet_length(body) + octet_length(stamps))::BIGINT
               FROM log_chunks WHERE function = $1
               GROUP BY stream ORDER BY stream COLLATE "C""#,
            &[&function, &LINES_PER_ROW],
        ))
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(LogStreamInfo {
                    name: r.try_get(0).map_err(backend)?,
                    first_ts: r.try_get(1).map_err(backend)?,
                    last_ts: r.try_get(2).map_err(backend)?,
                    last_id: r.try_get(3).map_err(backend)?,
                    stored_bytes: r.try_get(4).map_err(backend)?,
                })
            })
            .collect()
    }

    fn log_groups(&self) -> Result<Vec<LogGroupInfo>, StoreError> {
        let c = self.conn()?;
        let rows = wait(c.query(
            r#"SELECT function, MIN(first_ts), SUM(bytes)::BIGINT, MAX(days) FROM (
                   SELECT function, MIN(ts) AS first_ts,
                          SUM(octet_length(body) + octet_length(stamps))::BIGINT AS bytes,
                          NULL::BIGINT AS days
                   FROM log_chunks GROUP BY function
                   UNION ALL
                   SELECT function, NULL, 0, retention_days::BIGINT FROM log_groups) AS g
               GROUP BY function ORDER BY function COLLATE "C""#,
            &[],
        ))
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(LogGroupInfo {
                    function: r.try_get(0).map_err(backend)?,
                    first_ts: r.try_get(1).map_err(backend)?,
                    stored_bytes: r
                        .try_get::<_, Option<i64>>(2)
                        .map_err(backend)?
                        .unwrap_or(0),
                    retention_days: days(r.try_get(3).map_err(backend)?)?,
                })
            })
            .collect()
    }

    fn has_logs(&self, function: &str) -> Result<bool, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_one(
            "SELECT EXISTS (SELECT 1 FROM log_chunks WHERE function = $1)",
            &[&function],
        ))
        .map_err(backend)?;
        row.try_get(0).map_err(backend)
    }

    /// Deletes the rows in batches, then the retention (as SQLite, not in one
    /// transaction: a delete interrupted half way leaves fewer lines, and is done again).
    fn delete_log_group(&self, function: &str) -> Result<bool, StoreError> {
        let rows = self.delete_batched(
            "DELETE FROM log_chunks WHERE id IN (SELECT id FROM log_chunks
             WHERE function = $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            &[&function, &DELETE_BATCH],
        )?;
        let c = self.conn()?;
        let policy = wait(c.execute("DELETE FROM log_groups WHERE function = $1", &[&function]))
            .map_err(backend)?;
        Ok(rows > 0 || policy > 0)
    }

    /// Deletes rows whose newest line is older than their function's retention (its
    /// own, else `default_days`); returns how many went. Several nodes may sweep at
    /// once: each batch skips the rows another's holds.
    fn expire_logs(&self, now_ms: i64, default_days: u32) -> Result<usize, StoreError> {
        let policies: Vec<(String, i64)> = {
            let c = self.conn()?;
            let rows = wait(c.query(
                "SELECT function, retention_days::BIGINT FROM log_groups",
                &[],
            ))
            .map_err(backend)?;
            rows.iter()
                .map(|r| {
                    Ok((
                        r.try_get(0).map_err(backend)?,
                        r.try_get(1).map_err(backend)?,
                    ))
                })
                .collect::<Result<_, StoreError>>()?
        };
        let mut removed = 0;
        for (function, days) in policies {
            let cutoff = now_ms.saturating_sub(days.saturating_mul(DAY_MS));
            removed += self.delete_batched(
                "DELETE FROM log_chunks WHERE id IN (SELECT id FROM log_chunks
                 WHERE function = $1 AND last_ts < $2 LIMIT $3 FOR UPDATE SKIP LOCKED)",
                &[&function, &cutoff, &DELETE_BATCH],
            )?;
        }
        let cutoff = now_ms.saturating_sub(i64::from(default_days).saturating_mul(DAY_MS));
        removed += self.delete_batched(
            "DELETE FROM log_chunks WHERE id IN (SELECT c.id FROM log_chunks AS c
             WHERE c.last_ts < $1
               AND NOT EXISTS (SELECT 1 FROM log_groups AS g WHERE g.function = c.function)
             LIMIT $2 FOR UPDATE SKIP LOCKED)",
            &[&cutoff, &DELETE_BATCH],
        )?;
        Ok(removed)
    }

    /// Makes the deleted rows' room reusable now (autovacuum would, later) and gives
    /// the table's empty trailing pages back to the file system, which is all a plain
    /// `VACUUM` can give. `VACUUM FULL` would give back everything but rewrites the
    /// table under a lock that stops every node's log writes, so it is left to the
    /// database's administrator. Best effort, as SQLite's: a failure is logged.
    /// `SKIP_LOCKED`: when another node is already vacuuming, this one does not wait.
    fn release_space(&self) {
        let done = self.conn().and_then(|c| {
            wait(c.batch_execute("VACUUM (SKIP_LOCKED) log_chunks")).map_err(backend)
        });
        if let Err(e) = done {
            tracing::warn!(error = %e, "could not vacuum the log table");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetches_grow_to_a_bound() {
        let mut f = FIRST_FETCH;
        let mut seen = vec![f];
        for _ in 0..5 {
            f = next_fetch(f);
            seen.push(f);
        }
        assert_eq!(seen, [8, 32, 128, 256, 256, 256]);
    }

    #[test]
    fn a_scan_binds_one_parameter_per_placeholder() {
        let q = LogQuery {
            streams: vec!["a".into(), "b".into()],
            stream_prefix: Some("2024/".into()),
            newest_first: true,
            ..Default::default()
        };
        let (sql, args) = scan_sql("f", &q);
        assert_eq!(args.len(), 7);
        assert!(sql.contains("stream = ANY($6)"), "{sql}");
        assert!(sql.contains("starts_with(stream, $7)"), "{sql}");
        assert!(sql.ends_with("ORDER BY id DESC"), "{sql}");
        let all = LogQuery::default();
        let (plain, args) = scan_sql("f", &all);
        assert_eq!(args.len(), 5);
        assert!(plain.ends_with("ORDER BY id"), "{plain}");
    }
}
