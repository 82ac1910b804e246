//! The group-commit writer's changes applied on PostgreSQL ([`ChangeStore`]): log
//! lines, queue operations and audit events of one group, in order, in one
//! transaction.
//!
//! The group's statements are pipelined: every statement is prepared once per group,
//! then each execution is sent without waiting for the answer of the one before
//! ([`in_order`]), so a group of hundreds of changes costs a few round trips to the
//! database, not one each. The server still runs them one after another, in the order
//! sent, and the first that fails aborts the transaction.
//!
//! Log ids must only grow as a follower sees them (it reads `after` the last id it
//! saw). A sequence hands out ids in the order transactions ask, not the order they
//! commit, so a node committing a lower id after another node's higher one would hide
//! its lines from such a follower. A group therefore takes, before drawing ids, a
//! transaction-scoped advisory lock per function it logs for (in one order on every
//! node, so two groups cannot deadlock); PostgreSQL releases it only once the commit
//! is visible. Groups of different functions do not wait for each other.
//!
//! Durability: [`Durability::Synced`] commits with `synchronous_commit = on` (the
//! commit is in the server's flushed WAL, and on its synchronous standbys if it has
//! any, before this returns), whatever the server's default. [`Durability::Committed`]
//! uses `SET LOCAL synchronous_commit = off`: the commit survives this node (the
//! database has it) but a crash of the database server may lose its last fraction of
//! a second, as a power cut may lose SQLite's. WAL is written in order, so a synced
//! commit also makes every commit before it durable, as the writer relies on.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Statement, Transaction};

use super::{backend, wait, PgStore};
use crate::chunk::LogChunk;
use crate::queue::QueueOp;
use crate::traits::ChangeStore;
use crate::{Change, Durability, LogBatch, StoreError, LINES_PER_ROW};

/// This area's tables (log lines, queue rows and audit events have theirs in
/// [`super::logs`], [`super::queue`] and [`super::audit`]).
pub(super) const SCHEMA: &str = "";

/// The first key of the log-order locks (`pg_advisory_xact_lock(int, int)`: a key
/// space apart from the one-key locks, as the migrations'): "logs".
const LOG_LOCK_CLASS: i32 = 0x6c6f_6773;

/// The second key of a function's log-order lock: a hash every node computes alike
/// (FNV-1a, folded to 32 bits). Never change it: nodes of two Hearth versions sharing
/// a database must agree. Two functions with one key only share a lock.
pub(crate) fn log_lock_key(function: &str) -> i32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in function.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    ((h >> 32) ^ (h & 0xffff_ffff)) as u32 as i32
}

/// The lock keys a group needs, sorted (every node takes them in this order).
fn lock_keys(changes: &[Change]) -> Vec<i32> {
    let mut keys: Vec<i32> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Logs(b) if !b.chunk.is_empty() => Some(log_lock_key(&b.function)),
            _ => None,
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

const LOCK_SQL: &str = "SELECT pg_advisory_xact_lock($1, $2)";
const LOG_SQL: &str = "INSERT INTO log_chunks (function, stream, ts, last_ts, count, stamps, body)
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const QUEUE_INSERT_SQL: &str = "INSERT INTO queue (seq, owner, request_id, function, qualifier,
         payload, client_context, accepted_ms, due_ms, runs, setbacks, last_outcome,
         trace_header, counts_lineage)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
const QUEUE_REMOVE_SQL: &str =
    "DELETE FROM queue WHERE seq = $1 AND ($2::text IS NULL OR owner = $2)";
/// The removal and, only if it removed the row, the insert of the follow-up (one
/// statement, so that the group stays one pipeline).
const QUEUE_FOLLOW_SQL: &str = "WITH gone AS (
         DELETE FROM queue WHERE seq = $1 AND ($2::text IS NULL OR owner = $2) RETURNING 1)
     INSERT INTO queue (seq, owner, request_id, function, qualifier, payload, client_context,
         accepted_ms, due_ms, runs, setbacks, last_outcome, trace_header, counts_lineage)
     SELECT $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16
     WHERE EXISTS (SELECT 1 FROM gone)";
const QUEUE_RESCHEDULE_SQL: &str = "UPDATE queue SET due_ms = $3, runs = $4, setbacks = $5,
         last_outcome = $6
     WHERE seq = $1 AND ($2::text IS NULL OR owner = $2)";
const AUDIT_SQL: &str = "INSERT INTO audit_events (time_ms, event_id, event_name, event_source,
         user_name, principal, access_key, action, resource, resource_type, data)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

/// Which statement a step runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Lock,
    Log,
    QueueInsert,
    QueueRemove,
    QueueFollow,
    QueueReschedule,
    Audit,
}

const KINDS: [(Kind, &str); 7] = [
    (Kind::Lock, LOCK_SQL),
    (Kind::Log, LOG_SQL),
    (Kind::QueueInsert, QUEUE_INSERT_SQL),
    (Kind::QueueRemove, QUEUE_REMOVE_SQL),
    (Kind::QueueFollow, QUEUE_FOLLOW_SQL),
    (Kind::QueueReschedule, QUEUE_RESCHEDULE_SQL),
    (Kind::Audit, AUDIT_SQL),
];

type Param<'a> = Box<dyn ToSql + Sync + Send + 'a>;

/// One statement of a group with its parameters, borrowing from the changes.
struct Step<'a> {
    kind: Kind,
    params: Vec<Param<'a>>,
}

/// A chunk's row parameters after its function and stream.
fn chunk_params<'a>(b: &'a LogBatch, chunk: (i64, i64, u32, Param<'a>, Param<'a>)) -> Step<'a> {
    let (first, last, count, stamps, body) = chunk;
    Step {
        kind: Kind::Log,
        params: vec![
            Box::new(&b.function),
            Box::new(&b.stream),
            Box::new(first),
            Box::new(last),
            Box::new(i64::from(count)),
            stamps,
            body,
        ],
    }
}

/// An event row's parameters, in the insert's column order.
fn event_params<'a>(e: &'a crate::QueuedEvent, payload: &'a bytes::Bytes) -> Vec<Param<'a>> {
    vec![
        Box::new(e.seq),
        Box::new(&e.owner),
        Box::new(&e.request_id),
        Box::new(&e.function),
        Box::new(&e.qualifier),
        Box::new(payload.as_ref()),
        Box::new(&e.client_context),
        Box::new(e.accepted_ms),
        Box::new(e.due_ms),
        Box::new(e.progress.runs),
        Box::new(e.progress.setbacks),
        Box::new(&e.progress.last_outcome),
        Box::new(&e.trace_header),
        Box::new(e.counts_lineage),
    ]
}

/// The statements that apply `changes`, in order, after the log-order locks.
fn steps(changes: &[Change]) -> Result<Vec<Step<'_>>, StoreError> {
    let mut out: Vec<Step<'_>> = lock_keys(changes)
        .into_iter()
        .map(|k| Step {
            kind: Kind::Lock,
            params: vec![Box::new(LOG_LOCK_CLASS), Box::new(k)],
        })
        .collect();
    for change in changes {
        match change {
            Change::Logs(b) if b.chunk.is_empty() => {}
            Change::Logs(b) if i64::from(b.chunk.count()) >= LINES_PER_ROW => {
                // More lines than a row has ids (no writer in Hearth makes such a
                // chunk): split as SQLite splits it.
                let lines: Vec<(i64, &str)> = b.chunk.lines().collect();
                for part in lines.chunks(LINES_PER_ROW as usize / 2) {
                    let chunk = LogChunk::from_lines(part.iter().copied());
                    let (first, last, count, stamps, body) = chunk.to_row();
                    let row = (
                        first,
                        last,
                        count,
                        Box::new(stamps.to_vec()) as Param<'_>,
                        Box::new(body.to_string()) as Param<'_>,
                    );
                    out.push(chunk_params(b, row));
                }
            }
            Change::Logs(b) => {
                let (first, last, count, stamps, body) = b.chunk.to_row();
                out.push(chunk_params(
                    b,
                    (first, last, count, Box::new(stamps), Box::new(body)),
                ));
            }
            Change::Queue(QueueOp::Insert(e, payload)) => out.push(Step {
                kind: Kind::QueueInsert,
                params: event_params(e, payload),
            }),
            Change::Queue(QueueOp::Finish {
                seq,
                owner,
                follow: None,
            }) => out.push(Step {
                kind: Kind::QueueRemove,
                params: vec![Box::new(*seq), Box::new(owner)],
            }),
            Change::Queue(QueueOp::Finish {
                seq,
                owner,
                follow: Some(f),
            }) => {
                let mut params: Vec<Param<'_>> = vec![Box::new(*seq), Box::new(owner)];
                params.extend(event_params(&f.0, &f.1));
                out.push(Step {
                    kind: Kind::QueueFollow,
                    params,
                });
            }
            Change::Queue(QueueOp::Reschedule {
                seq,
                owner,
                due_ms,
                progress,
            }) => out.push(Step {
                kind: Kind::QueueReschedule,
                params: vec![
                    Box::new(*seq),
                    Box::new(owner),
                    Box::new(*due_ms),
                    Box::new(progress.runs),
                    Box::new(progress.setbacks),
                    Box::new(&progress.last_outcome),
                ],
            }),
            Change::Audit(e) => out.push(Step {
                kind: Kind::Audit,
                params: vec![
                    Box::new(e.time_ms),
                    Box::new(&e.event_id),
                    Box::new(&e.event_name),
                    Box::new(&e.event_source),
                    Box::new(&e.user_name),
                    Box::new(&e.principal_arn),
                    Box::new(&e.access_key_id),
                    Box::new(&e.action),
                    Box::new(&e.resource_arn),
                    Box::new(&e.resource_type),
                    Box::new(serde_json::to_string(e)?),
                ],
            }),
        }
    }
    Ok(out)
}

type Pending<'a, T> = Pin<Box<dyn Future<Output = Result<T, tokio_postgres::Error>> + 'a>>;

/// Waits for `futures` as one pipeline: each is polled once in order (which sends its
/// request: a tokio-postgres request goes out when its future is first polled), then
/// they are waited on in order, as the server answers in order. The first error ends
/// it (in a transaction, the ones after it fail too).
fn in_order<T>(futures: Vec<Pending<'_, T>>) -> Result<Vec<T>, tokio_postgres::Error> {
    let mut slots: Vec<Option<Pending<'_, T>>> = futures.into_iter().map(Some).collect();
    let mut out: Vec<Option<T>> = slots.iter().map(|_| None).collect();
    let mut sent = false;
    let mut head = 0;
    wait(futures_util::future::poll_fn(|cx| {
        let mut i = head;
        while i < slots.len() {
            if let Some(f) = slots[i].as_mut() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(Ok(v)) => {
                        out[i] = Some(v);
                        slots[i] = None;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    // Once every request is out, only the head needs polling: the
                    // answers come in order, and the head's waker is this task's.
                    Poll::Pending if sent => return Poll::Pending,
                    Poll::Pending => {}
                }
            }
            if slots[i].is_none() && i == head {
                head += 1;
            }
            i += 1;
        }
        sent = true;
        if head < slots.len() {
            Poll::Pending
        } else {
            Poll::Ready(Ok(()))
        }
    }))?;
    Ok(out.into_iter().flatten().collect())
}

/// Runs the steps in `tx`, pipelined.
fn run(
    tx: &Transaction<'_>,
    steps: Vec<Step<'_>>,
    durability: Durability,
) -> Result<(), StoreError> {
    let setting = match durability {
        Durability::Synced => "SET LOCAL synchronous_commit = on",
        Durability::Committed => "SET LOCAL synchronous_commit = off",
    };
    // The setting and the statements the group uses, prepared together.
    let used: Vec<(Kind, &str)> = KINDS
        .iter()
        .copied()
        .filter(|(k, _)| steps.iter().any(|s| s.kind == *k))
        .collect();
    let mut setup: Vec<Pending<'_, Option<Statement>>> = vec![Box::pin(async move {
        tx.batch_execute(setting).await.map(|()| None)
    })];
    for (_, sql) in &used {
        setup.push(Box::pin(async move { tx.prepare(sql).await.map(Some) }));
    }
    let prepared: Vec<(Kind, Statement)> = used
        .iter()
        .map(|(k, _)| *k)
        .zip(in_order(setup).map_err(backend)?.into_iter().flatten())
        .collect();
    let statement = |kind: Kind| -> &Statement {
        &prepared
            .iter()
            .find(|(k, _)| *k == kind)
            .expect("every kind a step uses is prepared")
            .1
    };
    let executions: Vec<Pending<'_, u64>> = steps
        .into_iter()
        .map(|s| {
            let stmt = statement(s.kind);
            Box::pin(tx.execute_raw(stmt, s.params)) as Pending<'_, u64>
        })
        .collect();
    in_order(executions).map_err(backend)?;
    Ok(())
}

impl ChangeStore for PgStore {
    fn apply_changes(&self, changes: &[Change], durability: Durability) -> Result<(), StoreError> {
        let steps = steps(changes)?;
        if steps.is_empty() {
            return Ok(());
        }
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        run(&tx, steps, durability)?;
        wait(tx.commit()).map_err(backend)
    }

    /// Always true: the lines go to the database server's disk, which a node cannot
    /// measure (SQLite's check is a `statvfs` of the data directory). A full disk there
    /// fails the commit with [`StoreError::DiskFull`], and the writer then drops the
    /// group's lines and applies the rest on its own, as it does for SQLite.
    fn room_for_logs(&self, _bytes: u64) -> bool {
        true
    }

    /// Always false: there is no reserve to free. SQLite's is a file in the data
    /// directory, kept so that the store can still open and delete on a full disk; the
    /// database server's disk is its administrator's to watch (a PostgreSQL that cannot
    /// write its WAL stops), and nothing a node could delete there frees room at once.
    fn release_reserve(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn lock_keys_are_fixed_sorted_and_once_each() {
        // The hash is part of the protocol between nodes: it must not change.
        assert_eq!(
            log_lock_key(""),
            0x8422_2325_u32 as i32 ^ 0xcbf2_9ce4_u32 as i32
        );
        assert_eq!(log_lock_key("f"), log_lock_key("f"));
        assert_ne!(log_lock_key("f"), log_lock_key("g"));
        let batch = |f: &str| Change::Logs(LogBatch::from_lines(f, "s", [(1, "x")]));
        let changes = [
            batch("g"),
            batch("f"),
            batch("g"),
            Change::Logs(LogBatch::from_lines(
                "empty",
                "s",
                Vec::<(i64, &str)>::new(),
            )),
            Change::Queue(QueueOp::remove(1)),
        ];
        let mut want = vec![log_lock_key("f"), log_lock_key("g")];
        want.sort_unstable();
        assert_eq!(lock_keys(&changes), want);
    }

    #[test]
    fn steps_follow_the_changes_after_the_locks() {
        let event = crate::QueuedEvent {
            seq: 1,
            owner: None,
            request_id: "r".into(),
            function: "f".into(),
            qualifier: None,
            client_context: None,
            accepted_ms: 0,
            due_ms: 0,
            progress: crate::Progress::default(),
            trace_header: None,
            counts_lineage: false,
        };
        let changes = [
            Change::Queue(QueueOp::Insert(event, Bytes::from_static(b"{}"))),
            Change::Logs(LogBatch::from_lines("f", "s", [(1, "x")])),
            Change::Queue(QueueOp::remove(1)),
        ];
        let kinds: Vec<Kind> = steps(&changes)
            .expect("steps")
            .iter()
            .map(|s| s.kind)
            .collect();
        assert!(
            kinds == [Kind::Lock, Kind::QueueInsert, Kind::Log, Kind::QueueRemove],
            "the order of the steps"
        );
        assert!(steps(&[]).expect("none").is_empty());
    }
}
