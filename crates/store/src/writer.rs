//! The one thread that writes invocation logs and queue changes. Callers hand it their
//! changes and go on (or wait for the commit when they must); it writes everything
//! queued since its last commit in one transaction, so under load many callers share a
//! commit (group commit), and neither an async task nor an Invoke's answer waits on
//! SQLite unless it asked to.
//!
//! Changes are applied in the order they were handed in, and a commit takes a prefix of
//! that order: whatever was submitted before a change is durable no later than it. The
//! async queue relies on this: an invocation's log lines are submitted before the
//! change that marks its event done, so they are on disk first.
//!
//! Commits use the database's `synchronous=NORMAL` (safe when Hearth is killed, as the
//! WAL is in the OS's page cache) unless a change in the group asked for
//! [`Durability::Synced`]: then that commit also fsyncs the WAL, which makes everything
//! in it, and before it, survive a power cut too. Accepting an async event does that
//! before its 202.
//!
//! Log lines waiting for a commit are bounded in bytes ([`Writer::submit_logs`] waits
//! for room), so a function printing faster than the disk takes it is slowed down
//! rather than buffered. A commit that fails (a full disk) drops its log lines with an
//! error in the server log, still applies the queue's changes if it can, and the
//! thread goes on with the next group.
//!
//! Each commit's time and size go to the [`CommitHook`] the server sets
//! ([`Writer::on_commit`]): the store knows nothing of the metrics it becomes.

use std::sync::{mpsc, Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::queue::QueueOp;
use crate::writer_queue::JobQueue;
use crate::{ChangeStore, LogBatch, Store, WriteError};

/// Most jobs one transaction takes, so a flood still gets committed steadily.
const MAX_GROUP: usize = 512;
/// How long the writer gathers changes before committing when nobody waits for them:
/// one commit for many invocations costs a fraction of one each.
const GATHER: Duration = Duration::from_millis(2);
/// Log bytes that may wait for a commit, unless set otherwise.
pub const LOG_BACKLOG: usize = 16 * 1024 * 1024;
/// The unit of the backlog's semaphore (its permits are counted in `u32`).
const ROOM_UNIT: usize = 1024;

/// One group's commit, as the writer's [`CommitHook`] is told of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// The transaction's time (with the fsync, when one was asked for).
    pub duration: Duration,
    /// Changes the group held (log batches, queue changes, audit events).
    pub changes: usize,
}

/// Told of every group the writer commits (or fails to), on its thread: must be cheap.
pub type CommitHook = Arc<dyn Fn(Committed) + Send + Sync>;

/// Told once everything submitted before it (and its own changes) is committed.
pub type Ack = Box<dyn FnOnce(Result<(), WriteError>) + Send>;

/// One change.
#[derive(Debug, Clone)]
pub enum Change {
    Logs(LogBatch),
    Queue(QueueOp),
    /// An audit trail event (boxed: much larger than the others' handles).
    Audit(Box<hearth_model::audit::AuditEvent>),
}

/// Whether a commit must reach the disk before its acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Committed to the WAL: survives the process, not necessarily the machine.
    Committed,
    /// Committed and fsync'd.
    Synced,
}

enum Job {
    Changes {
        changes: Vec<Change>,
        durability: Durability,
        ack: Option<Ack>,
        /// Room in the log backlog, given back once the changes are written (or dropped).
        room: Option<OwnedSemaphorePermit>,
    },
    Flush(Ack),
}

/// Handle to the writer thread; clones share it. The thread ends when every handle is
/// dropped.
#[derive(Clone)]
pub struct Writer {
    jobs: Arc<Jobs>,
    hook: Arc<OnceLock<CommitHook>>,
    log_room: Arc<Semaphore>,
    log_backlog: usize,
}

impl Writer {
    pub fn start(store: Store) -> std::io::Result<Self> {
        Self::with_backlog(store, LOG_BACKLOG)
    }

    /// A writer that lets at most `log_backlog` bytes of log lines wait for a commit.
    pub fn with_backlog(store: Store, log_backlog: usize) -> std::io::Result<Self> {
        let queue = Arc::new(JobQueue::new(MAX_GROUP));
        let store = store.change_store();
        let hook: Arc<OnceLock<CommitHook>> = Arc::default();
        let told = hook.clone();
        let taken = queue.clone();
        std::thread::Builder::new()
            .name("hearth-writer".into())
            .spawn(move || {
                // However the thread ends, later jobs are refused rather than queued
                // for nobody.
                let _closed = Jobs(taken.clone());
                run(store, &taken, &told);
            })?;
        let jobs = Arc::new(Jobs(queue));
        let units = (log_backlog / ROOM_UNIT).clamp(1, Semaphore::MAX_PERMITS);
        Ok(Self {
            jobs,
            hook,
            log_room: Arc::new(Semaphore::new(units)),
            log_backlog: units * ROOM_UNIT,
        })
    }

    /// Tells `hook` of every commit from now on; the first hook set stays (false if one
    /// was set already).
    pub fn on_commit(&self, hook: CommitHook) -> bool {
        self.hook.set(hook).is_ok()
    }

    /// Queues changes to be committed together, without waiting.
    pub fn submit_all(&self, changes: Vec<Change>) {
        self.send(Job::Changes {
            changes,
            durability: Durability::Committed,
            ack: None,
            room: None,
        });
    }

    /// Queues lines for the log store once the backlog has room for them; does not wait
    /// for the commit.
    pub async fn submit_logs(&self, batch: LogBatch) {
        if batch.chunk.is_empty() {
            return;
        }
        let units = batch
            .size()
            .div_ceil(ROOM_UNIT)
            .min(self.log_backlog / ROOM_UNIT)
            .max(1);
        // The semaphore is never closed; without room the lines go as `submit_logs_now`.
        let room = self
            .log_room
            .clone()
            .acquire_many_owned(units as u32)
            .await
            .ok();
        self.send(Job::Changes {
            changes: vec![Change::Logs(batch)],
            durability: Durability::Committed,
            ack: None,
            room,
        });
    }

    /// Queues lines for the log store at once, outside the backlog's bound: for the last
    /// lines of an environment being dropped, which is already bounded by its buffer.
    pub fn submit_logs_now(&self, batch: LogBatch) {
        if !batch.chunk.is_empty() {
            self.submit_all(vec![Change::Logs(batch)]);
        }
    }

    /// Commits changes together, and returns once they are committed as asked.
    pub async fn commit(
        &self,
        changes: Vec<Change>,
        durability: Durability,
    ) -> Result<(), WriteError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Job::Changes {
            changes,
            durability,
            ack: Some(Box::new(move |r| {
                let _ = tx.send(r);
            })),
            room: None,
        });
        rx.await.map_err(|_| WriteError::Stopped)?
    }

    /// Returns once everything submitted so far is committed.
    pub async fn flush(&self) -> Result<(), WriteError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Job::Flush(Box::new(move |r| {
            let _ = tx.send(r);
        })));
        rx.await.map_err(|_| WriteError::Stopped)?
    }

    /// [`Self::flush`] for a thread that may block (shutdown).
    pub fn flush_blocking(&self) -> Result<(), WriteError> {
        let (tx, rx) = mpsc::channel();
        self.send(Job::Flush(Box::new(move |r| {
            let _ = tx.send(r);
        })));
        rx.recv().map_err(|_| WriteError::Stopped)?
    }

    fn send(&self, job: Job) {
        let urgent = match &job {
            Job::Changes { ack, .. } => ack.is_some(),
            Job::Flush(_) => true,
        };
        if let Err(job) = self.jobs.0.push(job, urgent) {
            tracing::error!("the store writer has stopped; changes lost");
            let ack = match job {
                Job::Changes { ack, .. } => ack,
                Job::Flush(ack) => Some(ack),
            };
            if let Some(ack) = ack {
                ack(Err(WriteError::Stopped));
            }
        }
    }
}

/// The queue, closed when the last handle (or the writer thread) lets go of it.
struct Jobs(Arc<JobQueue<Job>>);

impl Drop for Jobs {
    fn drop(&mut self) {
        self.0.close();
    }
}

fn run(store: Arc<dyn ChangeStore>, queue: &JobQueue<Job>, hook: &OnceLock<CommitHook>) {
    let mut drops = Drops::default();
    // A group is what was queued while the writer gathered; someone waiting for a
    // commit ends the gathering (see `JobQueue`).
    while let Some(group) = queue.next_group(GATHER) {
        let mut changes = Vec::new();
        let mut acks = Vec::new();
        let mut durability = Durability::Committed;
        let mut rooms = Vec::new();
        for j in group {
            match j {
                Job::Changes {
                    changes: c,
                    durability: d,
                    ack,
                    room,
                } => {
                    changes.extend(c);
                    rooms.extend(room);
                    if d == Durability::Synced {
                        durability = d;
                    }
                    acks.extend(ack);
                }
                Job::Flush(ack) => acks.push(ack),
            }
        }
        let count = changes.len();
        let changes = merge_adjacent_logs(changes);
        let began = Instant::now();
        let result = commit(&*store, changes, durability, &mut drops);
        if let (Some(hook), true) = (hook.get(), count > 0) {
            hook(Committed {
                duration: began.elapsed(),
                changes: count,
            });
        }
        drop(rooms);
        for ack in acks {
            ack(result.clone());
        }
    }
}

/// Most bytes of lines [`merge_adjacent_logs`] puts in one batch.
const MERGE_BYTES: usize = 256 * 1024;

/// Neighbouring log batches of one stream as one batch (one row instead of several): an
/// invocation that prints reaches the writer twice, its output and then its `END` and
/// `REPORT`, mostly within one gathering. Only neighbours merge, so no line moves past
/// another stream's, and the lines keep the order they were stored in before.
fn merge_adjacent_logs(changes: Vec<Change>) -> Vec<Change> {
    let mut out: Vec<Change> = Vec::with_capacity(changes.len());
    for change in changes {
        if let (Some(Change::Logs(prev)), Change::Logs(next)) = (out.last_mut(), &change) {
            if prev.function == next.function
                && prev.stream == next.stream
                && i64::from(prev.chunk.count()) + i64::from(next.chunk.count())
                    < crate::logs::LINES_PER_ROW
                && prev.chunk.size() + next.chunk.size() <= MERGE_BYTES
            {
                if let Change::Logs(next) = change {
                    prev.chunk.append(next.chunk);
                }
                continue;
            }
        }
        out.push(change);
    }
    out
}

/// Log lines dropped since the store last took some: reported when dropping starts,
/// every [`DROP_REPORT_EVERY`] while it goes on, and when lines are stored again, rather
/// than once per group.
#[derive(Default)]
struct Drops {
    since: Option<Instant>,
    reported: Option<Instant>,
    lines: u64,
    bytes: u64,
    functions: std::collections::BTreeSet<String>,
}

const DROP_REPORT_EVERY: Duration = Duration::from_secs(10);

impl Drops {
    fn add(&mut self, logs: &[Change], reason: &str) {
        for c in logs {
            if let Change::Logs(b) = c {
                self.lines += u64::from(b.chunk.count());
                self.bytes += b.chunk.size() as u64;
                if self.functions.len() < 16 {
                    self.functions.insert(b.function.clone());
                }
            }
        }
        let now = Instant::now();
        if self.since.is_none() {
            self.since = Some(now);
            tracing::error!(reason, functions = ?self.functions, "log lines cannot be stored and are dropped until there is room");
            self.reported = Some(now);
        } else if self.reported.is_none_or(|r| now - r >= DROP_REPORT_EVERY) {
            tracing::error!(reason, lines = self.lines, bytes = self.bytes, functions = ?self.functions, "log lines still dropped");
            self.reported = Some(now);
        }
    }

    fn stored(&mut self) {
        if self.since.take().is_some() {
            tracing::warn!(lines = self.lines, bytes = self.bytes, functions = ?self.functions, "log lines are stored again; the ones above were dropped");
            *self = Self::default();
        }
    }
}

/// Applies one group. Log lines are dropped (with a report) when the data directory is
/// low on space or the commit fails (a full disk); the rest is then tried on its own:
/// the queue's changes are small and matter more than the lines.
fn commit(
    store: &dyn ChangeStore,
    changes: Vec<Change>,
    durability: Durability,
    drops: &mut Drops,
) -> Result<(), WriteError> {
    if changes.is_empty() {
        return Ok(());
    }
    let log_bytes: usize = changes
        .iter()
        .map(|c| match c {
            Change::Logs(b) => b.size(),
            Change::Queue(_) | Change::Audit(_) => 0,
        })
        .sum();
    let has_logs = log_bytes > 0;
    let low = has_logs && !store.room_for_logs(log_bytes as u64);
    let (error, changes) = if low {
        (None, changes)
    } else {
        match store.apply_changes(&changes, durability) {
            Ok(()) => {
                if has_logs {
                    drops.stored();
                }
                return Ok(());
            }
            Err(e) => {
                if e.is_disk_full() {
                    // Room for what must still be written (deleting logs frees the rest).
                    store.release_reserve();
                }
                (Some(WriteError::from(e)), changes)
            }
        }
    };
    let (logs, rest): (Vec<_>, Vec<_>) = changes
        .into_iter()
        .partition(|c| matches!(c, Change::Logs(_)));
    if !logs.is_empty() {
        let reason = error.as_ref().map_or_else(
            || "the data directory is almost full".to_string(),
            ToString::to_string,
        );
        drops.add(&logs, &reason);
    }
    if rest.is_empty() {
        // Dropping lines for want of room is not a failure of whoever waits for them.
        return error.map_or(Ok(()), Err);
    }
    if let (Some(error), true) = (error, logs.is_empty()) {
        tracing::error!(error = %error, changes = rest.len(), "could not write to the store");
        return Err(error);
    }
    store.apply_changes(&rest, durability).map_err(|e| {
        tracing::error!(error = %e, changes = rest.len(), "could not write to the store");
        WriteError::from(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_neighbouring_batches_of_one_stream_merge() {
        let logs = |function: &str, stream: &str, lines: &[&str]| {
            Change::Logs(LogBatch::from_lines(
                function,
                stream,
                lines.iter().enumerate().map(|(i, l)| (i as i64, *l)),
            ))
        };
        let merged = merge_adjacent_logs(vec![
            logs("f", "a", &["START", "out"]),
            logs("f", "a", &["END", "REPORT"]),
            logs("f", "b", &["other stream"]),
            logs("f", "a", &["later"]),
            logs("g", "a", &["other function"]),
        ]);
        let shown: Vec<(String, String, Vec<String>)> = merged
            .iter()
            .map(|c| match c {
                Change::Logs(b) => (
                    b.function.clone(),
                    b.stream.clone(),
                    b.chunk.lines().map(|(_, l)| l.to_string()).collect(),
                ),
                _ => unreachable!("only logs were given"),
            })
            .collect();
        let want = |f: &str, s: &str, l: &[&str]| {
            (
                f.to_string(),
                s.to_string(),
                l.iter().map(|x| x.to_string()).collect(),
            )
        };
        assert_eq!(
            shown,
            vec![
                want("f", "a", &["START", "out", "END", "REPORT"]),
                want("f", "b", &["other stream"]),
                want("f", "a", &["later"]),
                want("g", "a", &["other function"]),
            ]
        );
        // A batch over the bytes bound stays apart.
        let big = "x".repeat(MERGE_BYTES);
        assert_eq!(
            merge_adjacent_logs(vec![logs("f", "a", &[&big]), logs("f", "a", &["y"])]).len(),
            2
        );
    }

    #[test]
    fn log_lines_wait_for_room_in_the_backlog() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::SqliteStore::open(dir.path()).expect("open");
        let writer =
            Writer::with_backlog(Store::new(Arc::new(store.clone())), 8 * 1024).expect("writer");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let batch = || LogBatch::from_lines("f", "s", [(1, "x".repeat(5 * 1024))]);
        // The writer cannot commit while the connection is held here.
        let held = store.conn();
        rt.block_on(writer.submit_logs(batch()));
        let second = rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(300), writer.submit_logs(batch())).await
        });
        assert!(second.is_err(), "a full backlog makes the caller wait");
        drop(held);
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(10), writer.submit_logs(batch()))
                .await
                .expect("room once the writer commits");
            writer.flush().await.expect("flush");
        });
        let n = crate::logs::tests::first_logs(&store, "f").len();
        assert_eq!(n, 2);
    }

    #[test]
    fn a_failed_commit_is_told_to_its_waiters_as_a_typed_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::SqliteStore::open(dir.path()).expect("open");
        let writer = Writer::start(Store::new(Arc::new(store.clone()))).expect("writer");
        store
            .conn()
            .execute_batch("DROP TABLE queue")
            .expect("break the queue");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let err = rt
            .block_on(writer.commit(vec![Change::Queue(QueueOp::remove(1))], Durability::Synced))
            .expect_err("no queue table");
        assert!(
            matches!(&err, WriteError::Failed(e) if matches!(**e, crate::StoreError::Backend(_))),
            "{err:?}"
        );
        assert!(!err.is_disk_full());
        // Rolled back whole: the group's log lines are not there either (the queue's
        // change is retried alone and fails again), and the next group commits.
        let batch = || LogBatch::from_lines("f", "s", [(1, "x")]);
        let err = rt.block_on(writer.commit(
            vec![Change::Logs(batch()), Change::Queue(QueueOp::remove(1))],
            Durability::Synced,
        ));
        assert!(err.is_err());
        assert!(crate::logs::tests::first_logs(&store, "f").is_empty());
        rt.block_on(writer.commit(vec![Change::Logs(batch())], Durability::Committed))
            .expect("the next group commits");
        assert_eq!(crate::logs::tests::first_logs(&store, "f").len(), 1);
        let conn = store.conn();
        assert!(conn.is_autocommit(), "no transaction left open");
        let synchronous: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .expect("pragma");
        assert_eq!(synchronous, 1, "NORMAL again after a synced commit");
    }

    #[test]
    fn every_commit_is_told_to_the_hook_with_its_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::SqliteStore::open(dir.path()).expect("open");
        let writer = Writer::start(Store::new(Arc::new(store))).expect("writer");
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let into = seen.clone();
        assert!(writer.on_commit(Arc::new(move |c: Committed| {
            into.lock().expect("seen").push(c.changes)
        })));
        assert!(!writer.on_commit(Arc::new(|_| {})), "the first hook stays");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let batch = |n: usize| LogBatch::from_lines("f", "s", (0..n).map(|i| (i as i64, "x")));
        rt.block_on(writer.commit(
            vec![Change::Logs(batch(2)), Change::Logs(batch(1))],
            Durability::Committed,
        ))
        .expect("commit");
        // A flush with nothing to write commits nothing.
        rt.block_on(writer.flush()).expect("flush");
        assert_eq!(*seen.lock().expect("seen"), vec![2]);
    }
}
