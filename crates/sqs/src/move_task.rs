//! Message move tasks (StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask):
//! a dead-letter queue's messages moved back to the queues they came from, or to a named
//! queue, at an optional rate. A task runs on the node that serves SQS and is kept in
//! memory: after a restart (or a change of holder) the messages not yet moved are still
//! in the dead-letter queue, and the task is no longer listed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;

use crate::error::{ErrorKind, SqsError};
use crate::queue::Msg;
use crate::service::{now_ms, Local};

/// A task as ListMessageMoveTasks shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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

struct Task {
    info: Mutex<MoveTaskInfo>,
    cancel: AtomicBool,
}

impl Task {
    fn info(&self) -> std::sync::MutexGuard<'_, MoveTaskInfo> {
        self.info.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Every task this node started, newest last.
#[derive(Default)]
pub(crate) struct MoveTasks {
    tasks: Mutex<Vec<Arc<Task>>>,
}

impl MoveTasks {
    fn all(&self) -> Vec<Arc<Task>> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Local {
    /// StartMessageMoveTask: answers the task's handle.
    pub fn start_message_move_task(
        &self,
        source_arn: &str,
        destination_arn: Option<&str>,
        max_per_second: Option<i64>,
    ) -> Result<String, SqsError> {
        let source = self.queue_by_arn(source_arn).map_err(|_| {
            SqsError::new(
                ErrorKind::ResourceNotFound,
                "The resource that you specified for the SourceArn parameter doesn't exist.",
            )
        })?;
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
        let running = self.inner.moves.all().into_iter().any(|t| {
            let i = t.info();
            i.source_arn == source_arn && i.status == "RUNNING"
        });
        if running {
            return Err(SqsError::invalid(
                "There is already a task running. Only one active task is allowed for a source queue arn at a given time.",
            ));
        }
        let handle = base64::engine::general_purpose::STANDARD.encode(
            serde_json::json!({"taskId": uuid::Uuid::new_v4().to_string(), "sourceArn": source_arn})
                .to_string(),
        );
        let to_move = source.lock().msgs.len() as i64;
        let task = Arc::new(Task {
            info: Mutex::new(MoveTaskInfo {
                task_handle: handle.clone(),
                status: "RUNNING".into(),
                source_arn: source_arn.into(),
                destination_arn: destination_arn.map(str::to_string),
                max_per_second,
                moved: 0,
                to_move,
                failure_reason: None,
                started_ms: now_ms(),
            }),
            cancel: AtomicBool::new(false),
        });
        self.inner
            .moves
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(task.clone());
        let sqs = self.clone();
        tokio::spawn(async move { sqs.run_move(source, task).await });
        Ok(handle)
    }

    async fn run_move(&self, source: Arc<crate::queue::Queue>, task: Arc<Task>) {
        let (dest, rate) = {
            let i = task.info();
            (i.destination_arn.clone(), i.max_per_second)
        };
        loop {
            if task.cancel.load(Ordering::Relaxed) {
                task.info().status = "CANCELLED".into();
                return;
            }
            let now = now_ms();
            let batch: Vec<(i64, Msg)> = {
                let mut s = source.lock();
                let seqs: Vec<i64> = s
                    .msgs
                    .iter()
                    .filter(|(_, m)| !(m.pending || m.in_flight && m.visible_ms > now))
                    .take(10)
                    .map(|(seq, _)| *seq)
                    .collect();
                seqs.into_iter()
                    .filter_map(|seq| s.remove(seq).map(|m| (seq, m)))
                    .collect()
            };
            if batch.is_empty() {
                task.info().status = "COMPLETED".into();
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
            for (to, msgs) in by_dest {
                match self.queue_by_arn(&to) {
                    Ok(q) => {
                        if let Err(e) = self
                            .move_messages(&source, &q, msgs, None, Vec::new())
                            .done()
                            .await
                        {
                            let mut i = task.info();
                            i.status = "FAILED".into();
                            i.failure_reason = Some(e.message);
                            return;
                        }
                    }
                    Err(_) => {
                        let mut s = source.lock();
                        for (seq, m) in msgs {
                            s.insert_ready(seq, m);
                        }
                        drop(s);
                        let mut i = task.info();
                        i.status = "FAILED".into();
                        i.failure_reason = Some("Destination queue does not exist.".into());
                        return;
                    }
                }
            }
            task.info().moved += n;
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
        self.queue_by_arn(source_arn).map_err(|_| {
            SqsError::new(
                ErrorKind::ResourceNotFound,
                "The resource that you specified for the SourceArn parameter doesn't exist.",
            )
        })?;
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

    /// CancelMessageMoveTask: answers the messages moved so far.
    pub fn cancel_message_move_task(&self, handle: &str) -> Result<i64, SqsError> {
        self.serving()?;
        let task = self
            .inner
            .moves
            .all()
            .into_iter()
            .find(|t| t.info().task_handle == handle)
            .ok_or_else(|| SqsError::new(ErrorKind::ResourceNotFound, "Task does not exist."))?;
        let mut i = task.info();
        if i.status != "RUNNING" {
            return Err(SqsError::new(
                ErrorKind::ResourceNotFound,
                "Task does not exist.",
            ));
        }
        task.cancel.store(true, Ordering::Relaxed);
        i.status = "CANCELLING".into();
        Ok(i.moved)
    }
}
