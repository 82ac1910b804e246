//! SQS queues and messages on PostgreSQL ([`SqsStore`]): the same two tables as the
//! SQLite store keeps (`crate::sqs`), each group of changes in one transaction.

use super::{backend, wait, PgStore};
use crate::traits::SqsStore;
use crate::{SqsMessageRow, SqsOp, SqsQueueRow, StoreError};

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
}
