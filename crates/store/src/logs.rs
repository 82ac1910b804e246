//! Invocation logs: one row per line, grouped by function (the log group
//! `/aws/lambda/<fn>`) and stream (one per execution environment).

use rusqlite::params;
use serde::Serialize;

use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEvent {
    pub id: i64,
    pub timestamp: i64,
    pub log_stream: String,
    pub message: String,
}

/// Lines `(epoch ms, message)` for one stream of one function.
#[derive(Debug, Clone)]
pub struct LogBatch {
    pub function: String,
    pub stream: String,
    pub lines: Vec<(i64, String)>,
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
    let mut stmt = tx.prepare_cached(
        "INSERT INTO logs (function, stream, ts, message) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (ts, message) in &b.lines {
        stmt.execute(params![b.function, b.stream, ts, message])?;
    }
    Ok(())
}

impl Store {
    /// A function's log events, oldest first.
    pub fn query_logs(&self, function: &str, q: &LogQuery) -> Result<Vec<LogEvent>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, ts, stream, message FROM logs
             WHERE function = ?1 AND id > ?2 AND ts >= ?3 ORDER BY id LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            params![
                function,
                q.after.unwrap_or(0),
                q.since_ms.unwrap_or(i64::MIN),
                q.limit.max(1) as i64
            ],
            |r| {
                Ok(LogEvent {
                    id: r.get(0)?,
                    timestamp: r.get(1)?,
                    log_stream: r.get(2)?,
                    message: r.get(3)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Change, Durability};

    #[test]
    fn append_then_query_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let batch = |f: &str, s: &str, lines: &[(i64, &str)]| LogBatch {
            function: f.into(),
            stream: s.into(),
            lines: lines.iter().map(|(t, m)| (*t, m.to_string())).collect(),
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
}
