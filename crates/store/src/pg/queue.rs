//! The asynchronous queue's rows on PostgreSQL ([`QueueStore`]): one row per accepted
//! event not yet done, as in SQLite (`crate::queue`). Rows are written by the writer's
//! groups ([`super::changes`]); this reads them.

use bytes::Bytes;

use super::{backend, wait, PgStore};
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

impl QueueStore for PgStore {
    fn queued_events(&self) -> Result<Vec<QueuedEvent>, StoreError> {
        let c = self.conn()?;
        let rows = wait(c.query(
            "SELECT seq, request_id, function, qualifier, client_context, accepted_ms, due_ms,
                    runs, setbacks, last_outcome
             FROM queue ORDER BY seq",
            &[],
        ))
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(QueuedEvent {
                    seq: r.try_get(0).map_err(backend)?,
                    request_id: r.try_get(1).map_err(backend)?,
                    function: r.try_get(2).map_err(backend)?,
                    qualifier: r.try_get(3).map_err(backend)?,
                    client_context: r.try_get(4).map_err(backend)?,
                    accepted_ms: r.try_get(5).map_err(backend)?,
                    due_ms: r.try_get(6).map_err(backend)?,
                    progress: Progress {
                        runs: r.try_get(7).map_err(backend)?,
                        setbacks: r.try_get(8).map_err(backend)?,
                        last_outcome: r.try_get(9).map_err(backend)?,
                    },
                })
            })
            .collect()
    }

    fn queued_payload(&self, seq: i64) -> Result<Option<Bytes>, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_opt("SELECT payload FROM queue WHERE seq = $1", &[&seq]))
            .map_err(backend)?;
        row.map(|r| r.try_get::<_, Vec<u8>>(0).map(Bytes::from))
            .transpose()
            .map_err(backend)
    }

    fn last_queue_seq(&self) -> Result<i64, StoreError> {
        let c = self.conn()?;
        let row =
            wait(c.query_one("SELECT COALESCE(MAX(seq), 0) FROM queue", &[])).map_err(backend)?;
        row.try_get(0).map_err(backend)
    }
}
