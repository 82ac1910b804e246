//! Message move tasks (StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask):
//! a dead-letter queue's messages moved back to the queues they came from, or to a named
//! queue, at an optional rate.
//!
//! A task is in the store (`SqsOp::PutMoveTask`) from its start: each batch it moves is
//! committed together with its new count, so after a crash the count is exact, and its
//! end (COMPLETED, CANCELLED, FAILED) is written when it comes. A task RUNNING when the
//! service stopped is resumed where it was when the service starts again (or when another
//! node of a fleet takes SQS over), as AWS runs a task to its end whatever happens to the
//! machines under it; one CANCELLING is CANCELLED. Each source keeps its newest
//! [`KEPT_PER_SOURCE`] tasks, the most ListMessageMoveTasks shows.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use hearth_store::{SqsMoveTaskRow, SqsOp};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, SqsError};
use crate::queue::{Msg, Queue};
use crate::service::{now_ms, Local};

/// The most tasks kept per source queue: ListMessageMoveTasks' `MaxResults` at most.
pub(crate) const KEPT_PER_SOURCE: usize = 10;

/// A task as ListMessageMoveTasks shows it (and as the store keeps it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoveTaskInfo {
    pub task_handle: String,
    /// `RUNNING`, `COMPLETED`, `CANCELLING`, `CANCELLED` or `FAILED`.
    pub status: String,
    pub source_arn: String,
    pub destination_arn: Option<String>,
    pub max_per_second: Option<i64>,
    pub moved: i64,
    pub to_move: i64,
    pub failure_reason: Option<String>,
    pub started_ms: i64,
}

impl MoveTaskInfo {
    fn row(&self) -> SqsOp {
        SqsOp::PutMoveTask(SqsMoveTaskRow {
            handle: self.task_handle.clone(),
            source: self.source_arn.clone(),
            started_ms: self.started_ms,
            data: serde_json::to_string(self).unwrap_or_default(),
        })
    }

    /// Still moving messages: only one such task per source.
    fn active(&self) -> bool {
        matches!(self.status.as_str(), "RUNNING" | "CANCELLING")
    }
}

struct Task {
    info: Mutex<MoveTaskInfo>,
    cancel: AtomicBool,
}

impl Task {
    fn new(info: MoveTaskInfo) -> Arc<Self> {
        Arc::new(Self {
            info: Mutex::new(info),
            cancel: AtomicBool::new(false),
        })
    }

    fn info(&self) -> std::sync::MutexGuard<'_, MoveTaskInfo> {
        self.info.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The tasks of the queues this node serves, oldest first.
#[derive(Default)]
pub(crate) struct MoveTasks {
    tasks: Mutex<Vec<Arc<Task>>>,
}

impl MoveTasks {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Task>>> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn all(&self) -> Vec<Arc<Task>> {
        self.lock().clone()
    }

    /// Forgets a deleted queue's tasks (the store deletes them with the queue); a
    /// running one stops as its queue is marked deleted.
    pub(crate) fn forget_source(&self, source: &str) {
        self.lock().retain(|t| t.info().source_arn != source);
    }
}

/// A task's handle: base64 of `{"taskId":..., "sourceArn":...}`, as SQS's are.
fn handle_of(task_id: &str, source_arn: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(serde_json::json!({"taskId": task_id, "sourceArn": source_arn}).to_string())
}

/// The source queue's ARN a task handle names, or SQS's answer to a handle that is not
/// one (`InvalidParameterValue`).
pub fn move_task_source(handle: &str) -> Result<String, SqsError> {
    base64::engine::general_purpose::STANDARD
        .decode(handle)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .filter(|v| v.get("taskId").is_some_and(serde_json::Value::is_string))
        .and_then(|v| v.get("sourceArn")?.as_str().map(str::to_string))
        .ok_or_else(|| SqsError::invalid("Value for parameter TaskHandle is invalid."))
}

fn no_source() -> SqsError {
    SqsError::new(
        ErrorKind::ResourceNotFound,
        "The resource that you specified for the SourceArn parameter doesn't exist.",
    )
}

/// What a task whose destination is gone ends with, as AWS reports it.
const NO_DESTINATION: &str = "AWS.SimpleQueueService.NonExistentQueue";

impl Local {
    /// StartMessageMoveTask: answers the task's handle once the task is stored.
    pub async fn start_message_move_task(
        &self,
        source_arn: &str,
        destination_arn: Option<&str>,
        max_per_second: Option<i64>,
    ) -> Result<String, SqsError> {
        self.serving()?;
        let source = self.queue_by_arn(source_arn).map_err(|_| no_source())?;
        if self.dead_letter_sources(source_arn).is_empty() {
            return Err(SqsError::invalid(
                "Source queue must be configured as a Dead Letter Queue.",
            ));
        }
        if let Some(d) = destination_arn {
            self.queue_by_arn(d).map_err(|_| {
                SqsError::new(
                    ErrorKind::ResourceNotFound,
                    "The resource that you specified for the DestinationArn parameter doesn't exist.",
                )
            })?;
        }
        if let Some(r) = max_per_second {
            if !(1..=500).contains(&r) {
                return Err(SqsError::invalid_value(
                    "MaxNumberOfMessagesPerSecond",
                    &r.to_string(),
                    "Must be between 1 and 500, if provided.",
                ));
            }
        }
        let (task, pending) = {
            let mut tasks = self.inner.moves.lock();
            let of_source: Vec<Arc<Task>> = tasks
                .iter()
                .filter(|t| t.info().source_arn == source_arn)
                .cloned()
                .collect();
            if of_source.iter().any(|t| t.info().active()) {
                return Err(SqsError::invalid(
                    "There is already a task running. Only one active task is allowed for a source queue arn at a given time.",
                ));
            }
            let handle = handle_of(&uuid::Uuid::new_v4().to_string(), source_arn);
            let task = Task::new(MoveTaskInfo {
                task_handle: handle,
                status: "RUNNING".into(),
                source_arn: source_arn.into(),
                destination_arn: destination_arn.map(str::to_string),
                max_per_second,
                moved: 0,
                to_move: source.lock().msgs.len() as i64,
                failure_reason: None,
                started_ms: now_ms(),
            });
            let mut ops = vec![task.info().row()];
            // The oldest beyond the newest KEPT_PER_SOURCE (with this one) go.
            let excess = (of_source.len() + 1).saturating_sub(KEPT_PER_SOURCE);
            for old in of_source.iter().take(excess) {
                ops.push(SqsOp::DeleteMoveTask {
                    handle: old.info().task_handle.clone(),
                });
                tasks.retain(|t| !Arc::ptr_eq(t, old));
            }
            tasks.push(task.clone());
            (task, self.inner.commit.enqueue(ops))
        };
        if let Err(e) = pending.done().await {
            self.inner.moves.lock().retain(|t| !Arc::ptr_eq(t, &task));
            return Err(e);
        }
        let handle = task.info().task_handle.clone();
        let sqs = self.clone();
        tokio::spawn(async move { sqs.run_move(source, task).await });
        Ok(handle)
    }

    /// Loads the tasks in the store (the service starting, or taking SQS over on a
    /// fleet): a RUNNING one is resumed, a CANCELLING one is CANCELLED.
    pub(crate) fn load_move_tasks(&self) -> Result<(), SqsError> {
        let rows = self
            .inner
            .store
            .sqs_move_tasks()
            .map_err(|e| SqsError::internal(&e))?;
        let mut tasks = Vec::with_capacity(rows.len());
        for row in rows {
            let info: MoveTaskInfo =
                serde_json::from_str(&row.data).map_err(|e| SqsError::internal(&e))?;
            tasks.push(Task::new(info));
        }
        tasks.sort_by_key(|t| t.info().started_ms);
        *self.inner.moves.lock() = tasks.clone();
        for task in tasks {
            let status = task.info().status.clone();
            match status.as_str() {
                "CANCELLING" => {
                    let mut i = task.info();
                    i.status = "CANCELLED".into();
                    self.inner.commit.submit(vec![i.row()]);
                }
                "RUNNING" => {
                    let source = task.info().source_arn.clone();
                    let Ok(source) = self.queue_by_arn(&source) else {
                        continue;
                    };
                    let Ok(rt) = tokio::runtime::Handle::try_current() else {
                        tracing::warn!(source = %source.arn, "no runtime to resume a message move task on");
                        continue;
                    };
                    tracing::info!(source = %source.arn, "resuming a message move task");
                    let sqs = self.clone();
                    rt.spawn(async move { sqs.run_move(source, task).await });
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Writes a task's end (unless its source was deleted meanwhile, with its tasks).
    async fn finish(&self, source: &Queue, task: &Task, status: &str, reason: Option<String>) {
        if source.lock().deleted {
            return;
        }
        let op = {
            let mut i = task.info();
            i.status = status.into();
            i.failure_reason = reason;
            i.row()
        };
        if let Err(e) = self.inner.commit.enqueue(vec![op]).done().await {
            tracing::error!(error = %e, "could not store a message move task's end");
        }
    }

    async fn run_move(&self, source: Arc<Queue>, task: Arc<Task>) {
        let (dest, rate) = {
            let i = task.info();
            (i.destination_arn.clone(), i.max_per_second)
        };
        // At a rate, a second's worth at a time (so a slow task moves one by one).
        let batch = rate.map_or(10, |r| r.clamp(1, 10) as usize);
        loop {
            if task.cancel.load(Ordering::Relaxed) {
                self.finish(&source, &task, "CANCELLED", None).await;
                return;
            }
            let now = now_ms();
            let batch: Vec<(i64, Msg)> = {
                let mut s = source.lock();
                // The queue was deleted (its tasks with it), or this node stopped serving
                // SQS: whoever serves it next resumes the task from the store.
                if s.deleted {
                    return;
                }
                let seqs: Vec<i64> = s
                    .msgs
                    .iter()
                    .filter(|(_, m)| !(m.pending || m.in_flight && m.visible_ms > now))
                    .take(batch)
                    .map(|(seq, _)| *seq)
                    .collect();
                seqs.into_iter()
                    .filter_map(|seq| s.remove(seq).map(|m| (seq, m)))
                    .collect()
            };
            if batch.is_empty() {
                self.finish(&source, &task, "COMPLETED", None).await;
                return;
            }
            let n = batch.len() as i64;
            let mut by_dest: BTreeMap<String, Vec<(i64, Msg)>> = BTreeMap::new();
            for (seq, m) in batch {
                let to = dest
                    .clone()
                    .or_else(|| m.rec.dead_letter_source.clone())
                    .unwrap_or_default();
                by_dest.entry(to).or_default().push((seq, m));
            }
            let last = by_dest.len();
            for (k, (to, msgs)) in by_dest.into_iter().enumerate() {
                let Ok(q) = self.queue_by_arn(&to) else {
                    {
                        let mut s = source.lock();
                        for (seq, m) in msgs {
                            s.insert_ready(seq, m);
                        }
                    }
                    self.finish(&source, &task, "FAILED", Some(NO_DESTINATION.into()))
                        .await;
                    return;
                };
                let count = msgs.len() as i64;
                // The batch's last commit carries the task's new count with it, queued
                // under the task's lock: a cancellation's CANCELLING row is queued either
                // before (and this row says CANCELLING too) or after it, never overwritten
                // by a RUNNING row that a restart would resume.
                let pending = {
                    let mut i = task.info();
                    i.moved += count;
                    let ops = if k + 1 == last {
                        vec![i.row()]
                    } else {
                        Vec::new()
                    };
                    self.move_messages(&source, &q, msgs, None, ops)
                };
                if let Err(e) = pending.done().await {
                    self.finish(&source, &task, "FAILED", Some(e.message)).await;
                    return;
                }
            }
            if let Some(r) = rate {
                tokio::time::sleep(Duration::from_millis((n * 1000 / r) as u64)).await;
            }
        }
    }

    /// ListMessageMoveTasks: the newest tasks of a source queue first.
    pub fn list_message_move_tasks(
        &self,
        source_arn: &str,
        max_results: Option<i64>,
    ) -> Result<Vec<MoveTaskInfo>, SqsError> {
        self.serving()?;
        self.queue_by_arn(source_arn).map_err(|_| no_source())?;
        let max = max_results.unwrap_or(1);
        if !(1..=10).contains(&max) {
            return Err(SqsError::invalid_value(
                "MaxResults",
                &max.to_string(),
                "Must be between 1 and 10, if provided.",
            ));
        }
        Ok(self
            .inner
            .moves
            .all()
            .iter()
            .rev()
            .map(|t| t.info().clone())
            .filter(|i| i.source_arn == source_arn)
            .take(max as usize)
            .map(|mut i| {
                if i.status != "RUNNING" {
                    i.task_handle.clear();
                }
                i
            })
            .collect())
    }

    /// CancelMessageMoveTask: answers the messages moved so far once the cancellation
    /// is stored; the task stops before its next batch.
    pub async fn cancel_message_move_task(&self, handle: &str) -> Result<i64, SqsError> {
        self.serving()?;
        let source = move_task_source(handle)?;
        self.queue_by_arn(&source).map_err(|_| no_source())?;
        let no_task = || SqsError::new(ErrorKind::ResourceNotFound, "Task does not exist.");
        let task = self
            .inner
            .moves
            .all()
            .into_iter()
            .find(|t| t.info().task_handle == handle)
            .ok_or_else(no_task)?;
        let (moved, pending) = {
            let mut i = task.info();
            if i.status != "RUNNING" {
                return Err(no_task());
            }
            task.cancel.store(true, Ordering::Relaxed);
            i.status = "CANCELLING".into();
            (i.moved, self.inner.commit.enqueue(vec![i.row()]))
        };
        pending.done().await?;
        Ok(moved)
    }
}
