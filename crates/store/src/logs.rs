//! Invocation logs, grouped by function (the log group `/aws/lambda/<fn>`) and stream
//! (one per execution environment). A row holds a [`LogChunk`] of many lines; an event's
//! id is its row's id times [`LINES_PER_ROW`] plus its place in the row, so ids stay
//! ordered and `after` keeps working for followers.

use rusqlite::params;
use serde::Serialize;

use hearth_model::log_filter::FilterPattern;

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
    /// Only events with an id greater than this (for following, and paging forwards).
    pub after: Option<i64>,
    /// Only events with an id less than this (for paging backwards).
    pub before: Option<i64>,
    /// Only events at or after this epoch-millisecond time.
    pub since_ms: Option<i64>,
    /// Only events before this epoch-millisecond time.
    pub until_ms: Option<i64>,
    /// Only these streams (all when empty).
    pub streams: Vec<String>,
    /// Only streams whose name starts with this.
    pub stream_prefix: Option<String>,
    /// Only events whose message matches.
    pub pattern: Option<FilterPattern>,
    /// Newest first (the `limit` newest events of the range).
    pub newest_first: bool,
    pub limit: usize,
    /// Stop after reading rows holding about this many bytes of lines, even with fewer
    /// than `limit` events (a pattern that matches little would otherwise read a whole
    /// log group in one call, holding the store); see [`LogScan::resume`].
    pub scan_bytes: Option<usize>,
}

/// Events found, and where a scan stopped early.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogScan {
    pub events: Vec<LogEvent>,
    /// Set when `scan_bytes` stopped the scan before `limit` events and the end of the
    /// range: the last id read going forwards (continue with `after` it), or the first
    /// going backwards (continue with `before` it).
    pub resume: Option<i64>,
}

/// A stream of a log group, as DescribeLogStreams lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStreamInfo {
    pub name: String,
    pub first_ts: i64,
    pub last_ts: i64,
    /// The id of its newest line.
    pub last_id: i64,
    pub stored_bytes: i64,
}

/// A log group that holds lines or a retention, as DescribeLogGroups lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroupInfo {
    pub function: String,
    /// Its oldest line's time; none for a group that only has a retention.
    pub first_ts: Option<i64>,
    pub stored_bytes: i64,
    pub retention_days: Option<u32>,
}

pub(crate) fn append(tx: &rusqlite::Connection, b: &LogBatch) -> Result<(), StoreError> {
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
    /// A function's log events in id order (oldest first, or newest first with
    /// `newest_first`): the rows are chosen by SQL (id, time and stream bounds), the
    /// lines of a row by their own times and the pattern.
    pub(crate) fn query_logs(
        &self,
        function: &str,
        q: &LogQuery,
    ) -> Result<Vec<LogEvent>, StoreError> {
        Ok(self.scan_logs(function, q)?.events)
    }

    /// [`Self::query_logs`], stopping early after `scan_bytes`.
    pub(crate) fn scan_logs(&self, function: &str, q: &LogQuery) -> Result<LogScan, StoreError> {
        let after = q.after.unwrap_or(-1);
        let before = q.before.unwrap_or(i64::MAX);
        let since = q.since_ms.unwrap_or(i64::MIN);
        let until = q.until_ms.unwrap_or(i64::MAX);
        let mut sql = String::from(
            "SELECT id, stream, ts, last_ts, count, stamps, body FROM log_chunks
             WHERE function = ?1 AND id >= ?2 AND id <= ?3 AND last_ts >= ?4 AND ts < ?5",
        );
        let mut args: Vec<rusqlite::types::Value> = vec![
            function.to_string().into(),
            // The rows that can hold an id in `after + 1 ..= before - 1`.
            (after.saturating_add(1).max(0) / LINES_PER_ROW).into(),
            (before.saturating_sub(1) / LINES_PER_ROW).into(),
            since.into(),
            until.into(),
        ];
        if !q.streams.is_empty() {
            let marks: Vec<String> = (0..q.streams.len())
                .map(|i| format!("?{}", args.len() + 1 + i))
                .collect();
            sql.push_str(&format!(" AND stream IN ({})", marks.join(",")));
            args.extend(q.streams.iter().map(|s| s.clone().into()));
        }
        if let Some(prefix) = &q.stream_prefix {
            sql.push_str(&format!(
                " AND substr(stream, 1, {}) = ?{}",
                prefix.chars().count(),
                args.len() + 1
            ));
            args.push(prefix.clone().into());
        }
        sql.push_str(if q.newest_first {
            " ORDER BY id DESC"
        } else {
            " ORDER BY id"
        });
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        let mut scan = ChunkScan::new(q);
        while let Some(r) = rows.next()? {
            let row_id: i64 = r.get(0)?;
            if let Some(stopped) = scan.stop_before(row_id) {
                return Ok(stopped);
            }
            let stream: String = r.get(1)?;
            let chunk = LogChunk::from_row(r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?);
            if let Some(full) = scan.row(row_id, &stream, &chunk) {
                return Ok(full);
            }
        }
        Ok(scan.done())
    }

    /// A function's streams, in name order.
    pub(crate) fn log_streams(&self, function: &str) -> Result<Vec<LogStreamInfo>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT stream, MIN(ts), MAX(last_ts), MAX(id * ?2 + count - 1),
                    SUM(length(CAST(body AS BLOB)) + length(stamps))
             FROM log_chunks WHERE function = ?1 GROUP BY stream ORDER BY stream",
        )?;
        let rows = stmt.query_map(params![function, LINES_PER_ROW], |r| {
            Ok(LogStreamInfo {
                name: r.get(0)?,
                first_ts: r.get(1)?,
                last_ts: r.get(2)?,
                last_id: r.get(3)?,
                stored_bytes: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every log group with lines or a retention, in function-name order.
    pub(crate) fn log_groups(&self) -> Result<Vec<LogGroupInfo>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT function, MIN(first_ts), SUM(bytes), MAX(days) FROM (
                 SELECT function, MIN(ts) AS first_ts,
                        SUM(length(CAST(body AS BLOB)) + length(stamps)) AS bytes,
                        NULL AS days
                 FROM log_chunks GROUP BY function
                 UNION ALL
                 SELECT function, NULL, 0, retention_days FROM log_groups)
             GROUP BY function ORDER BY function",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(LogGroupInfo {
                function: r.get(0)?,
                first_ts: r.get(1)?,
                stored_bytes: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                retention_days: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
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

/// A scan of log chunks in the query's order, shared by every backend: which lines of
/// each row a query wants, where a scan bounded by `scan_bytes` stops, and when the
/// limit is reached.
pub(crate) struct ChunkScan<'q> {
    q: &'q LogQuery,
    after: i64,
    before: i64,
    since: i64,
    until: i64,
    limit: usize,
    events: Vec<LogEvent>,
    scanned: usize,
}

impl<'q> ChunkScan<'q> {
    pub(crate) fn new(q: &'q LogQuery) -> Self {
        Self {
            q,
            after: q.after.unwrap_or(-1),
            before: q.before.unwrap_or(i64::MAX),
            since: q.since_ms.unwrap_or(i64::MIN),
            until: q.until_ms.unwrap_or(i64::MAX),
            limit: q.limit.max(1),
            events: Vec::new(),
            scanned: 0,
        }
    }

    /// Whether the byte bound stops the scan before row `row_id`: then the scan's answer,
    /// resuming after the previous row (read whole).
    pub(crate) fn stop_before(&mut self, row_id: i64) -> Option<LogScan> {
        if self.q.scan_bytes.is_none_or(|cap| self.scanned < cap) {
            return None;
        }
        let resume = if self.q.newest_first {
            (row_id + 1) * LINES_PER_ROW
        } else {
            row_id * LINES_PER_ROW - 1
        };
        Some(LogScan {
            events: std::mem::take(&mut self.events),
            resume: Some(resume),
        })
    }

    /// Takes the wanted lines of row `row_id` (of `stream`); the scan's answer once the
    /// limit is reached.
    pub(crate) fn row(&mut self, row_id: i64, stream: &str, chunk: &LogChunk) -> Option<LogScan> {
        self.scanned += chunk.size();
        let (after, before, since, until, q) =
            (self.after, self.before, self.since, self.until, self.q);
        let wanted = |(i, (ts, line)): (usize, (i64, &str))| {
            let id = row_id * LINES_PER_ROW + i as i64;
            let keep = id > after
                && id < before
                && ts >= since
                && ts < until
                && q.pattern.as_ref().is_none_or(|p| p.matches(line));
            keep.then(|| LogEvent {
                id,
                timestamp: ts,
                log_stream: stream.to_string(),
                message: line.to_string(),
            })
        };
        let lines = chunk.lines().enumerate();
        let found: Vec<LogEvent> = if q.newest_first {
            let mut all: Vec<_> = lines.filter_map(wanted).collect();
            all.reverse();
            all
        } else {
            lines
                .filter_map(wanted)
                .take(self.limit - self.events.len())
                .collect()
        };
        for e in found {
            self.events.push(e);
            if self.events.len() >= self.limit {
                return Some(self.done());
            }
        }
        None
    }

    /// The answer of a scan that read every row.
    pub(crate) fn done(&mut self) -> LogScan {
        LogScan {
            events: std::mem::take(&mut self.events),
            resume: None,
        }
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
