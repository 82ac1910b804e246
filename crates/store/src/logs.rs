//! Invocation logs, grouped by function (the log group `/aws/lambda/<fn>`) and stream
//! (one per execution environment). A row holds a [`LogChunk`] of many lines; an event's
//! id is its row's id times [`LINES_PER_ROW`] plus its place in the row, so ids stay
//! ordered and `after` keeps working for followers.

use rusqlite::params;
use serde::Serialize;

use crate::chunk::LogChunk;
use crate::{SqliteStore, StoreError};

/// Ids reserved per row: the most lines one chunk can hold.
pub const LINES_PER_ROW: i64 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEvent {
    pub id: i64,
    pub timestamp: i64,
    pub log_stream: String,
    pub message: String,
}

/// Lines for one stream of one function.
#[derive(Debug, Clone)]
pub struct LogBatch {
    pub function: String,
    pub stream: String,
    pub chunk: LogChunk,
}

impl LogBatch {
    pub fn new(function: &str, stream: &str, chunk: LogChunk) -> Self {
        Self {
            function: function.to_string(),
            stream: stream.to_string(),
            chunk,
        }
    }

    /// A batch of `(epoch ms, message)` lines.
    pub fn from_lines<S: AsRef<str>>(
        function: &str,
        stream: &str,
        lines: impl IntoIterator<Item = (i64, S)>,
    ) -> Self {
        Self::new(function, stream, LogChunk::from_lines(lines))
    }

    /// Bytes it holds.
    pub fn size(&self) -> usize {
        self.chunk.size() + self.function.len() + self.stream.len()
    }
}

#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// Only events with an id greater than this (for following).
    pub after: Option<i64>,
    /// Only events at or after this epoch-millisecond time.
    pub since_ms: Option<i64>,
    pub limit: usize,
}

pub(crate) fn append(tx: &rusqlite::Transaction<'_>, b: &LogBatch) -> Result<(), StoreError> {
    if b.chunk.is_empty() {
        return Ok(());
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO log_chunks (function, stream, ts, last_ts, count, stamps, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    if i64::from(b.chunk.count()) >= LINES_PER_ROW {
        // More lines than a row has ids (no writer in Hearth makes such a chunk).
        let lines: Vec<(i64, &str)> = b.chunk.lines().collect();
        for part in lines.chunks(LINES_PER_ROW as usize / 2) {
            insert(&mut stmt, b, &LogChunk::from_lines(part.iter().copied()))?;
        }
        return Ok(());
    }
    insert(&mut stmt, b, &b.chunk)
}

fn insert(
    stmt: &mut rusqlite::CachedStatement<'_>,
    b: &LogBatch,
    chunk: &LogChunk,
) -> Result<(), StoreError> {
    let (first, last, count, stamps, body) = chunk.to_row();
    stmt.execute(params![
        b.function, b.stream, first, last, count, stamps, body
    ])?;
    Ok(())
}

impl SqliteStore {
    /// A function's log events, oldest first.
    pub(crate) fn query_logs(
        &self,
        function: &str,
        q: &LogQuery,
    ) -> Result<Vec<LogEvent>, StoreError> {
        let after = q.after.unwrap_or(-1);
        let since = q.since_ms.unwrap_or(i64::MIN);
        let limit = q.limit.max(1);
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, stream, ts, last_ts, count, stamps, body FROM log_chunks
             WHERE function = ?1 AND id >= ?2 AND last_ts >= ?3 ORDER BY id",
        )?;
        let mut rows = stmt.query(params![function, after.max(0) / LINES_PER_ROW, since])?;
        let mut events = Vec::new();
        while let Some(r) = rows.next()? {
            let row_id: i64 = r.get(0)?;
            let stream: String = r.get(1)?;
            let chunk = LogChunk::from_row(r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?);
            for (i, (ts, line)) in chunk.lines().enumerate() {
                let id = row_id * LINES_PER_ROW + i as i64;
                if id <= after || ts < since {
                    continue;
                }
                events.push(LogEvent {
                    id,
                    timestamp: ts,
                    log_stream: stream.clone(),
                    message: line.to_string(),
                });
                if events.len() >= limit {
                    return Ok(events);
                }
            }
        }
        Ok(events)
    }

    /// Whether anything is logged under `function`.
    pub(crate) fn has_logs(&self, function: &str) -> Result<bool, StoreError> {
        Ok(self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM log_chunks WHERE function = ?1)",
            params![function],
            |r| r.get(0),
        )?)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{Change, Durability};

    /// The first ten log events of `function`, oldest first.
    pub(crate) fn first_logs(store: &SqliteStore, function: &str) -> Vec<LogEvent> {
        let q = LogQuery {
            limit: 10,
            ..Default::default()
        };
        store.query_logs(function, &q).expect("query the logs")
    }

    #[test]
    fn append_then_query_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("open");
        let batch = |f: &str, s: &str, lines: &[(i64, &str)]| {
            LogBatch::from_lines(f, s, lines.iter().copied())
        };
        store
            .apply_changes(
                &[
                    Change::Logs(batch("f", "s1", &[(10, "a"), (20, "b")])),
                    Change::Logs(batch("g", "s2", &[(15, "x")])),
                ],
                Durability::Committed,
            )
            .expect("append");
        let all = store
            .query_logs(
                "f",
                &LogQuery {
                    limit: 100,
                    ..Default::default()
                },
            )
            .expect("query");
        assert_eq!(
            all.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        let after = store
            .query_logs(
                "f",
                &LogQuery {
                    after: Some(all[0].id),
                    limit: 100,
                    ..Default::default()
                },
            )
            .expect("query");
        assert_eq!(after.len(), 1);
        let since = store
            .query_logs(
                "f",
                &LogQuery {
                    since_ms: Some(20),
                    limit: 100,
                    ..Default::default()
                },
            )
            .expect("query");
        assert_eq!(since[0].message, "b");
    }

    #[test]
    fn rows_of_one_line_from_earlier_versions_are_migrated() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let conn = rusqlite::Connection::open(dir.path().join("hearth.db")).expect("db");
            conn.execute_batch(
                "CREATE TABLE logs (id INTEGER PRIMARY KEY, function TEXT NOT NULL,
                     stream TEXT NOT NULL, ts INTEGER NOT NULL, message TEXT NOT NULL);
                 INSERT INTO logs (function, stream, ts, message) VALUES
                     ('f', 's', 5, 'old one'), ('f', 's', 6, 'old two');",
            )
            .expect("old schema");
        }
        let store = SqliteStore::open(dir.path()).expect("open");
        let events = first_logs(&store, "f");
        let got: Vec<_> = events
            .iter()
            .map(|e| (e.timestamp, e.message.as_str()))
            .collect();
        assert_eq!(got, [(5, "old one"), (6, "old two")]);
        assert!(events[0].id < events[1].id);
    }

    #[test]
    fn a_chunk_of_more_lines_than_a_rows_ids_is_split() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("open");
        let n = LINES_PER_ROW as usize + 10;
        let batch = LogBatch::from_lines("f", "s", (0..n).map(|i| (i as i64, "")));
        store
            .apply_changes(&[Change::Logs(batch)], Durability::Committed)
            .expect("append");
        let events = store
            .query_logs(
                "f",
                &LogQuery {
                    limit: n + 1,
                    ..Default::default()
                },
            )
            .expect("query");
        assert_eq!(events.len(), n);
        assert!(events.windows(2).all(|w| w[0].id < w[1].id));
    }
}
