//! SQS queues and messages on PostgreSQL ([`SqsStore`]): the same tables as the SQLite
//! store keeps (`crate::sqs`), each group of changes in one transaction; migration 9
//! adds queues' deletion times and message move tasks.

use super::{backend, wait, PgStore};
use crate::traits::SqsStore;
use crate::{SqsMessageRow, SqsMoveTaskRow, SqsOp, SqsQueueRow, StoreError};

/// The migration step that makes the tables ([`super::migrations`]).
pub(super) const SCHEMA: &str = r#"
CREATE TABLE sqs_queues (
    arn TEXT COLLATE "C" PRIMARY KEY,
    account TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE sqs_messages (
    queue TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    data TEXT NOT NULL,
    receive_count BIGINT NOT NULL DEFAULT 0,
    first_receive_ms BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (queue, seq)
);
"#;

/// Migration 9: deletion times and move tasks.
pub(super) const SCHEMA_9: &str = r#"
CREATE TABLE sqs_deleted_queues (
    arn TEXT COLLATE "C" PRIMARY KEY,
    deleted_ms BIGINT NOT NULL
);
CREATE TABLE sqs_move_tasks (
    handle TEXT COLLATE "C" PRIMARY KEY,
    source TEXT COLLATE "C" NOT NULL,
    started_ms BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX sqs_move_tasks_by_source ON sqs_move_tasks (source, started_ms);
"#;

impl SqsStore for PgStore {
    fn sqs_apply(&self, ops: &[SqsOp]) -> Result<(), StoreError> {
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        for op in ops {
            match op {
                SqsOp::PutQueue(q) => wait(tx.execute(
                    "INSERT INTO sqs_queues (arn, account, name, data) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (arn) DO UPDATE SET data = EXCLUDED.data",
                    &[&q.arn, &q.account, &q.name, &q.data],
                )),
                SqsOp::DeleteQueue { arn } => {
                    wait(tx.execute("DELETE FROM sqs_messages WHERE queue = $1", &[arn]))
                        .map_err(backend)?;
                    wait(tx.execute("DELETE FROM sqs_queues WHERE arn = $1", &[arn]))
                        .map_err(backend)?;
                    wait(tx.execute("DELETE FROM sqs_move_tasks WHERE source = $1", &[arn]))
                }
                SqsOp::QueueDeleted { arn, at_ms } => wait(tx.execute(
                    "INSERT INTO sqs_deleted_queues (arn, deleted_ms) VALUES ($1, $2)
                     ON CONFLICT (arn) DO UPDATE SET deleted_ms = EXCLUDED.deleted_ms",
                    &[arn, at_ms],
                )),
                SqsOp::ForgetDeletions { before_ms } => wait(tx.execute(
                    "DELETE FROM sqs_deleted_queues WHERE deleted_ms < $1",
                    &[before_ms],
                )),
                SqsOp::PutMoveTask(t) => wait(tx.execute(
                    "INSERT INTO sqs_move_tasks (handle, source, started_ms, data)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (handle) DO UPDATE SET data = EXCLUDED.data",
                    &[&t.handle, &t.source, &t.started_ms, &t.data],
                )),
                SqsOp::DeleteMoveTask { handle } => {
                    wait(tx.execute("DELETE FROM sqs_move_tasks WHERE handle = $1", &[handle]))
                }
                SqsOp::PutMessage(m) => wait(tx.execute(
                    "INSERT INTO sqs_messages (queue, seq, data, receive_count, first_receive_ms)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (queue, seq) DO UPDATE SET data = EXCLUDED.data,
                         receive_count = EXCLUDED.receive_count,
                         first_receive_ms = EXCLUDED.first_receive_ms",
                    &[
                        &m.queue,
                        &m.seq,
                        &m.data,
                        &m.receive_count,
                        &m.first_receive_ms,
                    ],
                )),
                SqsOp::Received {
                    queue,
                    seq,
                    receive_count,
                    first_receive_ms,
                } => wait(tx.execute(
                    "UPDATE sqs_messages SET receive_count = $3, first_receive_ms = $4
                     WHERE queue = $1 AND seq = $2",
                    &[queue, seq, receive_count, first_receive_ms],
                )),
                SqsOp::DeleteMessage { queue, seq } => wait(tx.execute(
                    "DELETE FROM sqs_messages WHERE queue = $1 AND seq = $2",
                    &[queue, seq],
                )),
                SqsOp::Purge { queue, below } => wait(tx.execute(
                    "DELETE FROM sqs_messages WHERE queue = $1 AND seq < $2",
                    &[queue, below],
                )),
            }
            .map_err(backend)?;
        }
        wait(tx.commit()).map_err(backend)
    }

    fn sqs_queues(&self) -> Result<Vec<SqsQueueRow>, StoreError> {
        let c = self.conn()?;
        let rows = wait(c.query(
            "SELECT arn, account, name, data FROM sqs_queues ORDER BY arn",
            &[],
        ))
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(SqsQueueRow {
                    arn: r.try_get(0).map_err(backend)?,
                    account: r.try_get(1).map_err(backend)?,
                    name: r.try_get(2).map_err(backend)?,
                    data: r.try_get(3).map_err(backend)?,
                })
            })
            .collect()
    }

    fn sqs_messages(&self, queue: &str) -> Result<Vec<SqsMessageRow>, StoreError> {
        let c = self.conn()?;
        let rows = wait(c.query(
            "SELECT queue, seq, data, receive_count, first_receive_ms FROM sqs_messages
             WHERE queue = $1 ORDER BY seq",
            &[&queue],
        ))
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(SqsMessageRow {
                    queue: r.try_get(0).map_err(backend)?,
                    seq: r.try_get(1).map_err(backend)?,
                    data: r.try_get(2).map_err(backend)?,
                    receive_count: r.try_get(3).map_err(backend)?,
                    first_receive_ms: r.try_get(4).map_err(backend)?,
                })
            })
            .collect()
    }

    fn sqs_max_seq(&self) -> Result<i64, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_one(
            "SELECT COALESCE(MAX(seq), 0)::BIGINT FROM sqs_messages",
            &[],
        ))
        .map_err(backend)?;
        row.try_get(0).map_err(backend)
    }

    fn sqs_deleted_at(&self, arn: &str) -> Result<Option<i64>, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_opt(
            "SELECT deleted_ms FROM sqs_deleted_queues WHERE arn = $1",
            &[&arn],
        ))
        .map_err(backend)?;
        row.map(|r| r.try_get(0).map_err(backend)).transpose()
    }

    fn sqs_move_tasks(&self) -> Result<Vec<SqsMoveTaskRow>, StoreError> {
        let c = self.conn()?;
        let rows = wait(c.query(
            "SELECT handle, source, started_ms, data FROM sqs_move_tasks
             ORDER BY source, started_ms, handle",
            &[],
        ))
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(SqsMoveTaskRow {
                    handle: r.try_get(0).map_err(backend)?,
                    source: r.try_get(1).map_err(backend)?,
                    started_ms: r.try_get(2).map_err(backend)?,
                    data: r.try_get(3).map_err(backend)?,
                })
            })
            .collect()
    }
}
