//! The asynchronous queue's rows on PostgreSQL ([`QueueStore`]): one row per accepted
//! event not yet done, as in SQLite (`crate::queue`). Rows are written by the writer's
//! groups ([`super::changes`]); this reads them, and claims them for nodes.

use bytes::Bytes;

use super::fleet::NOW_MS;
use super::{backend, wait, PgStore};
use crate::queue::{orphan_sql, EVENT_COLUMNS, SEQ_BLOCK};
use crate::traits::QueueStore;
use crate::{Progress, QueuedEvent, StoreError};

/// This area's tables, part of the first migration ([`super::migrations`]).
pub(super) const SCHEMA: &str = "
CREATE TABLE queue (
    seq BIGINT PRIMARY KEY,
    request_id TEXT NOT NULL,
    function TEXT NOT NULL,
    qualifier TEXT,
    payload BYTEA NOT NULL,
    client_context TEXT,
    accepted_ms BIGINT NOT NULL,
    due_ms BIGINT NOT NULL,
    runs BIGINT NOT NULL DEFAULT 0,
    setbacks BIGINT NOT NULL DEFAULT 0,
    last_outcome TEXT
);
";

/// Owners (see `crate::queue`) and the sequence blocks (migration 2). A block is
/// `nextval << 16`: the first block is past every number an earlier node chose itself.
pub(super) fn schema_2() -> String {
    format!(
        "{owner}
         CREATE SEQUENCE queue_seq_blocks;
         SELECT setval('queue_seq_blocks', (SELECT COALESCE(MAX(seq), 0) / {SEQ_BLOCK} FROM queue) + 1, false);",
        owner = crate::queue::OWNER_SCHEMA
    )
}

fn event(r: &tokio_postgres::Row) -> Result<QueuedEvent, StoreError> {
    Ok(QueuedEvent {
        seq: r.try_get(0).map_err(backend)?,
        owner: r.try_get(1).map_err(backend)?,
        request_id: r.try_get(2).map_err(backend)?,
        function: r.try_get(3).map_err(backend)?,
        qualifier: r.try_get(4).map_err(backend)?,
        client_context: r.try_get(5).map_err(backend)?,
        accepted_ms: r.try_get(6).map_err(backend)?,
        due_ms: r.try_get(7).map_err(backend)?,
        progress: Progress {
            runs: r.try_get(8).map_err(backend)?,
            setbacks: r.try_get(9).map_err(backend)?,
            last_outcome: r.try_get(10).map_err(backend)?,
        },
        trace_header: r.try_get(11).map_err(backend)?,
        counts_lineage: r.try_get(12).map_err(backend)?,
    })
}

/// The advisory lock that claims and read-backs take ("hearthcl").
const CLAIM_LOCK: i64 = 0x6865_6172_7468_636c;

/// Runs a claim or a read-back alone in the fleet: under [`CLAIM_LOCK`], its statement
/// takes its snapshot after the previous one committed. Without it, a claim whose
/// snapshot predates a node's heartbeat could judge the node gone and take an event
/// that node read back as its own meanwhile (both would run it).
fn claiming(
    store: &PgStore,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<QueuedEvent>, StoreError> {
    let mut c = store.conn()?;
    let tx = wait(c.transaction()).map_err(backend)?;
    wait(tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CLAIM_LOCK])).map_err(backend)?;
    let rows = wait(tx.query(sql, params)).map_err(backend)?;
    wait(tx.commit()).map_err(backend)?;
    events(&rows)
}

fn events(rows: &[tokio_postgres::Row]) -> Result<Vec<QueuedEvent>, StoreError> {
    let mut out = rows.iter().map(event).collect::<Result<Vec<_>, _>>()?;
    out.sort_by_key(|e| e.seq);
    Ok(out)
}

impl QueueStore for PgStore {
    fn queued_events(&self) -> Result<Vec<QueuedEvent>, StoreError> {
        let c = self.conn()?;
        let rows = wait(c.query(
            &format!("SELECT {EVENT_COLUMNS} FROM queue ORDER BY seq"),
            &[],
        ))
        .map_err(backend)?;
        events(&rows)
    }

    fn queued_payload(&self, seq: i64) -> Result<Option<Bytes>, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_opt("SELECT payload FROM queue WHERE seq = $1", &[&seq]))
            .map_err(backend)?;
        row.map(|r| r.try_get::<_, Vec<u8>>(0).map(Bytes::from))
            .transpose()
            .map_err(backend)
    }

    fn queue_seqs(&self) -> Result<std::ops::Range<i64>, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_one("SELECT nextval('queue_seq_blocks')", &[])).map_err(backend)?;
        let block: i64 = row.try_get(0).map_err(backend)?;
        let start = block.saturating_mul(SEQ_BLOCK);
        Ok(start..start.saturating_add(SEQ_BLOCK))
    }

    fn own_events(&self, node: &str) -> Result<Vec<QueuedEvent>, StoreError> {
        // An update, not a read: it waits for a claim in flight on a row and then sees
        // the row as that claim left it (READ COMMITTED re-checks `owner`), so an event
        // taken over while this node was silent is never answered as its own.
        claiming(
            self,
            &format!("UPDATE queue SET owner = owner WHERE owner = $1 RETURNING {EVENT_COLUMNS}"),
            &[&node],
        )
    }

    fn claim_events(&self, node: &str, limit: usize) -> Result<Vec<QueuedEvent>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        claiming(
            self,
            &format!(
                "UPDATE queue SET owner = $1 WHERE seq IN (
                     SELECT q.seq FROM queue q WHERE {}
                     ORDER BY q.seq LIMIT $2 FOR UPDATE SKIP LOCKED)
                 RETURNING {EVENT_COLUMNS}",
                orphan_sql("$1", NOW_MS)
            ),
            &[&node, &limit],
        )
    }

    fn release_events(&self, node: &str, seqs: &[i64]) -> Result<usize, StoreError> {
        let c = self.conn()?;
        let n = wait(c.execute(
            "UPDATE queue SET owner = NULL WHERE seq = ANY($1) AND owner = $2",
            &[&seqs, &node],
        ))
        .map_err(backend)?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }
}
