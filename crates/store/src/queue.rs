//! The asynchronous invocation queue's durable half: one row per accepted event that
//! is not done yet. A row is written before the caller gets its 202, updated when an
//! attempt is rescheduled, and deleted when the event is done (delivered, sent to its
//! destination, or discarded), so after a crash the table is exactly the events still
//! owed.
//!
//! Each row names the node that holds it (its `owner`): only that node runs it, and its
//! changes to the row are fenced by that name, so a node that lost an event (it fell
//! silent and another node claimed it) changes nothing when it comes back. An event
//! with no owner, or whose owner is gone (no heartbeat within the owner's own timeout,
//! on the store's clock), is claimed by any node ([`crate::QueueStore::claim_events`]).

use bytes::Bytes;
use rusqlite::{params, Connection, OptionalExtension};

use crate::{SqliteStore, StoreError};

/// An accepted event as the queue keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedEvent {
    /// Unique in the store, from a block the node took ([`crate::QueueStore::queue_seqs`]);
    /// the order of acceptance on one node.
    pub seq: i64,
    /// The node that holds the event; `None` for anyone to claim.
    pub owner: Option<String>,
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
    /// The caller's X-Ray trace header (`X-Amzn-Trace-Id`, or the SNS publisher's),
    /// handed to every attempt; `None` for rows written before it was kept.
    pub trace_header: Option<String>,
    /// Whether the event came from an SNS subscription, whose invocations recursive
    /// loop detection counts (see `hearth_engine::InvokeRequest::counts_lineage`).
    pub counts_lineage: bool,
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

/// A change to the queue, applied in order by the writer (see `writer`). `owner` fences
/// a change: it applies only while that node holds the event (`None`: whoever does).
#[derive(Debug, Clone)]
pub enum QueueOp {
    Insert(QueuedEvent, Bytes),
    /// The event is done; if it was still `owner`'s, `follow` (its destination record,
    /// a new event) is queued in its place.
    Finish {
        seq: i64,
        owner: Option<String>,
        follow: Option<Box<(QueuedEvent, Bytes)>>,
    },
    /// The event waits for another attempt at `due_ms`.
    Reschedule {
        seq: i64,
        owner: Option<String>,
        due_ms: i64,
        progress: Progress,
    },
}

impl QueueOp {
    /// The event is done, whoever holds it.
    pub fn remove(seq: i64) -> Self {
        Self::Finish {
            seq,
            owner: None,
            follow: None,
        }
    }
}

/// The columns of a row but its payload, in [`QueuedEvent`]'s order (shared by both
/// backends' reads).
pub(crate) const EVENT_COLUMNS: &str = "seq, owner, request_id, function, qualifier, \
    client_context, accepted_ms, due_ms, runs, setbacks, last_outcome, trace_header, \
    counts_lineage";

/// The owner column (SQLite migration 7; PostgreSQL's 2).
pub(crate) const OWNER_SCHEMA: &str = "
ALTER TABLE queue ADD COLUMN owner TEXT;
CREATE INDEX queue_by_owner ON queue (owner, seq);
";

/// The trace header and the loop-detection mark (SQLite migration 17; PostgreSQL's 12):
/// rows written before read back with no header, not counted.
pub(crate) const TRACE_SCHEMA: &str = "
ALTER TABLE queue ADD COLUMN trace_header TEXT;
ALTER TABLE queue ADD COLUMN counts_lineage BOOLEAN NOT NULL DEFAULT FALSE;
";

/// How many sequence numbers a node takes at once on a shared store.
pub const SEQ_BLOCK: i64 = 1 << 16;

fn insert(tx: &Connection, e: &QueuedEvent, payload: &[u8]) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO queue (seq, owner, request_id, function, qualifier, payload, client_context,
                            accepted_ms, due_ms, runs, setbacks, last_outcome, trace_header,
                            counts_lineage)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        e.seq,
        e.owner,
        e.request_id,
        e.function,
        e.qualifier,
        payload,
        e.client_context,
        e.accepted_ms,
        e.due_ms,
        e.progress.runs,
        e.progress.setbacks,
        e.progress.last_outcome,
        e.trace_header,
        e.counts_lineage,
    ])?;
    Ok(())
}

fn event(r: &rusqlite::Row<'_>) -> rusqlite::Result<QueuedEvent> {
    Ok(QueuedEvent {
        seq: r.get(0)?,
        owner: r.get(1)?,
        request_id: r.get(2)?,
        function: r.get(3)?,
        qualifier: r.get(4)?,
        client_context: r.get(5)?,
        accepted_ms: r.get(6)?,
        due_ms: r.get(7)?,
        progress: Progress {
            runs: r.get(8)?,
            setbacks: r.get(9)?,
            last_outcome: r.get(10)?,
        },
        trace_header: r.get(11)?,
        counts_lineage: r.get(12)?,
    })
}

pub(crate) fn apply(tx: &Connection, op: &QueueOp) -> Result<(), StoreError> {
    match op {
        QueueOp::Insert(e, payload) => insert(tx, e, payload)?,
        QueueOp::Finish { seq, owner, follow } => {
            let gone = tx
                .prepare_cached("DELETE FROM queue WHERE seq = ?1 AND (?2 IS NULL OR owner = ?2)")?
                .execute(params![seq, owner])?;
            if let (1, Some(f)) = (gone, follow) {
                insert(tx, &f.0, &f.1)?;
            }
        }
        QueueOp::Reschedule {
            seq,
            owner,
            due_ms,
            progress,
        } => {
            tx.prepare_cached(
                "UPDATE queue SET due_ms = ?3, runs = ?4, setbacks = ?5, last_outcome = ?6
                 WHERE seq = ?1 AND (?2 IS NULL OR owner = ?2)",
            )?
            .execute(params![
                seq,
                owner,
                due_ms,
                progress.runs,
                progress.setbacks,
                progress.last_outcome
            ])?;
        }
    }
    Ok(())
}

/// Whether the row's owner is gone at `?now` (SQL over a row aliased `q`): no such node,
/// or silent beyond its own timeout. Shared by both backends (PostgreSQL's `now` is its
/// clock).
pub(crate) fn orphan_sql(me: &str, now: &str) -> String {
    format!(
        "(q.owner IS NULL OR (q.owner <> {me} AND NOT EXISTS (
             SELECT 1 FROM fleet_nodes n
             WHERE n.id = q.owner AND n.seen_ms + n.timeout_ms >= {now})))"
    )
}

impl SqliteStore {
    /// Every queued event in acceptance order, without payloads (read them with
    /// [`SqliteStore::queued_payload`] when the event runs).
    pub(crate) fn queued_events(&self) -> Result<Vec<QueuedEvent>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {EVENT_COLUMNS} FROM queue ORDER BY seq"))?;
        let rows = stmt.query_map([], event)?;
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

    /// One process has the database (the data directory's lock): its numbers follow the
    /// highest still queued, to the end of the range.
    pub(crate) fn queue_seqs(&self) -> Result<std::ops::Range<i64>, StoreError> {
        let last: i64 =
            self.conn()
                .query_row("SELECT COALESCE(MAX(seq), 0) FROM queue", [], |r| r.get(0))?;
        Ok(last + 1..i64::MAX)
    }

    pub(crate) fn own_events(&self, node: &str) -> Result<Vec<QueuedEvent>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {EVENT_COLUMNS} FROM queue WHERE owner = ?1 ORDER BY seq"
        ))?;
        let rows = stmt.query_map(params![node], event)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(crate) fn claim_events(
        &self,
        node: &str,
        limit: usize,
    ) -> Result<Vec<QueuedEvent>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "UPDATE queue SET owner = ?1 WHERE seq IN (
                 SELECT q.seq FROM queue q WHERE {} ORDER BY q.seq LIMIT ?2)
             RETURNING {EVENT_COLUMNS}",
            orphan_sql("?1", "?3")
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![node, limit, crate::fleet::now_ms()], event)?;
        let mut out: Vec<QueuedEvent> = rows.collect::<Result<_, _>>()?;
        out.sort_by_key(|e| e.seq);
        Ok(out)
    }

    pub(crate) fn release_events(&self, node: &str, seqs: &[i64]) -> Result<usize, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("UPDATE queue SET owner = NULL WHERE seq = ?1 AND owner = ?2")?;
        let mut n = 0;
        for seq in seqs {
            n += stmt.execute(params![seq, node])?;
        }
        Ok(n)
    }
}
