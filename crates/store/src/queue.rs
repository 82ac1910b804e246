//! The asynchronous invocation queue's durable half: one row per accepted event that
//! is not done yet. A row is written before the caller gets its 202, updated when an
//! attempt is rescheduled, and deleted when the event is done (delivered, sent to its
//! destination, or discarded), so after a crash the table is exactly the events still
//! owed.

use bytes::Bytes;
use rusqlite::{params, OptionalExtension, Transaction};

use crate::{SqliteStore, StoreError};

/// An accepted event as the queue keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedEvent {
    /// Order of acceptance; unique, assigned by the caller.
    pub seq: i64,
    /// The id the function sees on every attempt (and the 202's `x-amzn-RequestId`).
    pub request_id: String,
    pub function: String,
    /// The version or alias named at invoke time.
    pub qualifier: Option<String>,
    pub client_context: Option<String>,
    pub accepted_ms: i64,
    /// When the next attempt may start.
    pub due_ms: i64,
    pub progress: Progress,
}

/// How far an event has got: what changes between attempts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    /// Times the function ran the event (Lambda's `approximateInvokeCount`).
    pub runs: i64,
    /// Throttles and system errors in a row, for the backoff.
    pub setbacks: i64,
    /// The last attempt's outcome as JSON (for a failure record after the age limit).
    pub last_outcome: Option<String>,
}

/// A change to the queue, applied in order by the writer (see `writer`).
#[derive(Debug, Clone)]
pub enum QueueOp {
    Insert(QueuedEvent, Bytes),
    /// The event is done.
    Remove(i64),
    /// The event waits for another attempt at `due_ms`.
    Reschedule {
        seq: i64,
        due_ms: i64,
        progress: Progress,
    },
}

pub(crate) fn apply(tx: &Transaction<'_>, op: &QueueOp) -> Result<(), StoreError> {
    match op {
        QueueOp::Insert(e, payload) => {
            tx.prepare_cached(
                "INSERT INTO queue (seq, request_id, function, qualifier, payload, client_context,
                                    accepted_ms, due_ms, runs, setbacks, last_outcome)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                e.seq,
                e.request_id,
                e.function,
                e.qualifier,
                payload.as_ref(),
                e.client_context,
                e.accepted_ms,
                e.due_ms,
                e.progress.runs,
                e.progress.setbacks,
                e.progress.last_outcome,
            ])?;
        }
        QueueOp::Remove(seq) => {
            tx.prepare_cached("DELETE FROM queue WHERE seq = ?1")?
                .execute(params![seq])?;
        }
        QueueOp::Reschedule {
            seq,
            due_ms,
            progress,
        } => {
            tx.prepare_cached(
                "UPDATE queue SET due_ms = ?2, runs = ?3, setbacks = ?4, last_outcome = ?5
                 WHERE seq = ?1",
            )?
            .execute(params![
                seq,
                due_ms,
                progress.runs,
                progress.setbacks,
                progress.last_outcome
            ])?;
        }
    }
    Ok(())
}

impl SqliteStore {
    /// Every queued event in acceptance order, without payloads (read them with
    /// [`SqliteStore::queued_payload`] when the event runs).
    pub(crate) fn queued_events(&self) -> Result<Vec<QueuedEvent>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT seq, request_id, function, qualifier, client_context, accepted_ms, due_ms,
                    runs, setbacks, last_outcome
             FROM queue ORDER BY seq",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(QueuedEvent {
                seq: r.get(0)?,
                request_id: r.get(1)?,
                function: r.get(2)?,
                qualifier: r.get(3)?,
                client_context: r.get(4)?,
                accepted_ms: r.get(5)?,
                due_ms: r.get(6)?,
                progress: Progress {
                    runs: r.get(7)?,
                    setbacks: r.get(8)?,
                    last_outcome: r.get(9)?,
                },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A queued event's payload; `None` once the event is done.
    pub(crate) fn queued_payload(&self, seq: i64) -> Result<Option<Bytes>, StoreError> {
        let payload: Option<Vec<u8>> = self
            .conn()
            .query_row(
                "SELECT payload FROM queue WHERE seq = ?1",
                params![seq],
                |r| r.get(0),
            )
            .optional()?;
        Ok(payload.map(Bytes::from))
    }

    /// The highest sequence number ever queued that is still there (0 if none); new
    /// events continue after it.
    pub(crate) fn last_queue_seq(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM queue", [], |r| r.get(0))?)
    }
}
