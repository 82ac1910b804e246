//! SQS queues and their messages on SQLite: the durable half of `hearth-sqs`. A queue is
//! one row (its JSON record: attributes, tags, times); a message is one row written
//! before its SendMessage is answered and deleted when it is deleted (by DeleteMessage,
//! a redrive, a purge or retention), so after a crash the table is exactly the messages
//! still owed. What is only in memory — visibility deadlines, receipt handles, FIFO group
//! locks — is rebuilt at start: every message is visible again, which is at-least-once.
//! Receive counts are written without waiting for them (a crash may lose the last few).
//!
//! Every change goes through [`crate::SqsStore::sqs_apply`], one transaction per group
//! of changes, so `hearth-sqs`'s committing thread shares one commit among many callers.
//!
//! Beside them (migration 14): when each queue was deleted, for SQS's 60 s before a
//! deleted queue's name may be used again, and message move tasks with their progress.

use rusqlite::{params, OptionalExtension, Transaction};

use crate::{SqliteStore, StoreError};

/// A queue as stored: its key (`arn`), owner and name, and its record (JSON, owned by
/// `hearth-sqs`).
#[derive(Debug, Clone, PartialEq)]
pub struct SqsQueueRow {
    pub arn: String,
    pub account: String,
    pub name: String,
    pub data: String,
}

/// A message as stored: its queue, its order in the store (`seq`, unique per store),
/// its record (JSON, owned by `hearth-sqs`) and what receiving changes.
#[derive(Debug, Clone, PartialEq)]
pub struct SqsMessageRow {
    pub queue: String,
    pub seq: i64,
    pub data: String,
    pub receive_count: i64,
    pub first_receive_ms: i64,
}

/// A message move task as stored: its handle (the key), its source queue, when it
/// started (listings are newest first), and its record (JSON, owned by `hearth-sqs`).
#[derive(Debug, Clone, PartialEq)]
pub struct SqsMoveTaskRow {
    pub handle: String,
    pub source: String,
    pub started_ms: i64,
    pub data: String,
}

/// One change to queues or messages, applied in order.
#[derive(Debug, Clone, PartialEq)]
pub enum SqsOp {
    /// Inserts or replaces a queue's record.
    PutQueue(SqsQueueRow),
    /// Deletes a queue with its messages and the move tasks it is the source of.
    DeleteQueue {
        arn: String,
    },
    /// Records that the queue `arn` was deleted at `at_ms`.
    QueueDeleted {
        arn: String,
        at_ms: i64,
    },
    /// Forgets the deletions recorded before `before_ms`.
    ForgetDeletions {
        before_ms: i64,
    },
    /// Inserts or replaces a move task.
    PutMoveTask(SqsMoveTaskRow),
    DeleteMoveTask {
        handle: String,
    },
    PutMessage(SqsMessageRow),
    /// A message was received: its count and first receive.
    Received {
        queue: String,
        seq: i64,
        receive_count: i64,
        first_receive_ms: i64,
    },
    DeleteMessage {
        queue: String,
        seq: i64,
    },
    /// Deletes the queue's messages numbered below `below`.
    Purge {
        queue: String,
        below: i64,
    },
}

/// The migration step that makes the tables (see `migrations.rs`).
pub(crate) const SCHEMA: &str = "
CREATE TABLE sqs_queues (
    arn TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE sqs_messages (
    queue TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    first_receive_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (queue, seq)
);
";

/// Migration 14: deletion times and move tasks.
pub(crate) const SCHEMA_14: &str = "
CREATE TABLE sqs_deleted_queues (
    arn TEXT PRIMARY KEY,
    deleted_ms INTEGER NOT NULL
);
CREATE TABLE sqs_move_tasks (
    handle TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX sqs_move_tasks_by_source ON sqs_move_tasks (source, started_ms);
";

fn apply(tx: &Transaction<'_>, op: &SqsOp) -> Result<(), StoreError> {
    match op {
        SqsOp::PutQueue(q) => {
            tx.prepare_cached(
                "INSERT INTO sqs_queues (arn, account, name, data) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (arn) DO UPDATE SET data = excluded.data",
            )?
            .execute(params![q.arn, q.account, q.name, q.data])?;
        }
        SqsOp::DeleteQueue { arn } => {
            tx.prepare_cached("DELETE FROM sqs_messages WHERE queue = ?1")?
                .execute(params![arn])?;
            tx.prepare_cached("DELETE FROM sqs_queues WHERE arn = ?1")?
                .execute(params![arn])?;
            tx.prepare_cached("DELETE FROM sqs_move_tasks WHERE source = ?1")?
                .execute(params![arn])?;
        }
        SqsOp::QueueDeleted { arn, at_ms } => {
            tx.prepare_cached(
                "INSERT INTO sqs_deleted_queues (arn, deleted_ms) VALUES (?1, ?2)
                 ON CONFLICT (arn) DO UPDATE SET deleted_ms = excluded.deleted_ms",
            )?
            .execute(params![arn, at_ms])?;
        }
        SqsOp::ForgetDeletions { before_ms } => {
            tx.prepare_cached("DELETE FROM sqs_deleted_queues WHERE deleted_ms < ?1")?
                .execute(params![before_ms])?;
        }
        SqsOp::PutMoveTask(t) => {
            tx.prepare_cached(
                "INSERT INTO sqs_move_tasks (handle, source, started_ms, data)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (handle) DO UPDATE SET data = excluded.data",
            )?
            .execute(params![t.handle, t.source, t.started_ms, t.data])?;
        }
        SqsOp::DeleteMoveTask { handle } => {
            tx.prepare_cached("DELETE FROM sqs_move_tasks WHERE handle = ?1")?
                .execute(params![handle])?;
        }
        SqsOp::PutMessage(m) => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO sqs_messages (queue, seq, data, receive_count, first_receive_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![m.queue, m.seq, m.data, m.receive_count, m.first_receive_ms])?;
        }
        SqsOp::Received {
            queue,
            seq,
            receive_count,
            first_receive_ms,
        } => {
            tx.prepare_cached(
                "UPDATE sqs_messages SET receive_count = ?3, first_receive_ms = ?4
                 WHERE queue = ?1 AND seq = ?2",
            )?
            .execute(params![queue, seq, receive_count, first_receive_ms])?;
        }
        SqsOp::DeleteMessage { queue, seq } => {
            tx.prepare_cached("DELETE FROM sqs_messages WHERE queue = ?1 AND seq = ?2")?
                .execute(params![queue, seq])?;
        }
        SqsOp::Purge { queue, below } => {
            tx.prepare_cached("DELETE FROM sqs_messages WHERE queue = ?1 AND seq < ?2")?
                .execute(params![queue, below])?;
        }
    }
    Ok(())
}

impl crate::traits::SqsStore for SqliteStore {
    fn sqs_apply(&self, ops: &[SqsOp]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for op in ops {
            apply(&tx, op)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn sqs_queues(&self) -> Result<Vec<SqsQueueRow>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT arn, account, name, data FROM sqs_queues ORDER BY arn")?;
        let rows = stmt.query_map([], |r| {
            Ok(SqsQueueRow {
                arn: r.get(0)?,
                account: r.get(1)?,
                name: r.get(2)?,
                data: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn sqs_messages(&self, queue: &str) -> Result<Vec<SqsMessageRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT queue, seq, data, receive_count, first_receive_ms FROM sqs_messages
             WHERE queue = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![queue], |r| {
            Ok(SqsMessageRow {
                queue: r.get(0)?,
                seq: r.get(1)?,
                data: r.get(2)?,
                receive_count: r.get(3)?,
                first_receive_ms: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn sqs_max_seq(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM sqs_messages", [], |r| {
                r.get(0)
            })?)
    }

    fn sqs_deleted_at(&self, arn: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT deleted_ms FROM sqs_deleted_queues WHERE arn = ?1",
                params![arn],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn sqs_move_tasks(&self) -> Result<Vec<SqsMoveTaskRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT handle, source, started_ms, data FROM sqs_move_tasks
             ORDER BY source, started_ms, handle",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SqsMoveTaskRow {
                handle: r.get(0)?,
                source: r.get(1)?,
                started_ms: r.get(2)?,
                data: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
