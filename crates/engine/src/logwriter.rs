//! The one thread that writes invocation logs. Invocations hand it their lines and go
//! on; it writes everything queued since its last commit in one transaction, so under
//! load many invocations share a commit (group commit), and neither an async worker
//! nor an Invoke's answer ever waits on SQLite. (Lambda does not wait for CloudWatch
//! either.) Readers of the logs first wait for what was queued before them
//! ([`LogWriter::flush`]), so a client that invoked and then reads the logs sees its
//! invocation's lines.

use std::sync::mpsc;

use hearth_store::{LogBatch, Store};

/// Most batches one transaction takes, so a flood still gets committed steadily.
const MAX_GROUP: usize = 512;
/// How long the writer gathers lines before committing, unless a reader is waiting:
/// nobody waits for these commits, and one commit for many invocations costs a
/// fraction of one each.
const GATHER: std::time::Duration = std::time::Duration::from_millis(2);

/// Told once everything queued before it is committed (or failed).
type Ack = Box<dyn FnOnce(Result<(), String>) + Send>;

enum Job {
    Write(LogBatch),
    Flush(Ack),
}

pub(crate) struct LogWriter {
    jobs: mpsc::Sender<Job>,
}

impl LogWriter {
    /// Starts the writer thread; it ends when the writer is dropped.
    pub(crate) fn start(store: Store) -> std::io::Result<Self> {
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("hearth-logs".into())
            .spawn(move || run(store, rx))?;
        Ok(Self { jobs })
    }

    /// Queues lines for the next commit.
    pub(crate) fn submit(&self, batch: LogBatch) {
        if !batch.lines.is_empty() && self.jobs.send(Job::Write(batch)).is_err() {
            tracing::error!("the log writer has stopped; log lines lost");
        }
    }

    /// Returns once everything queued so far is committed.
    pub(crate) async fn flush(&self) -> Result<(), String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send_flush(Box::new(move |r| {
            let _ = tx.send(r);
        }))?;
        rx.await
            .map_err(|_| "the log writer has stopped".to_string())?
    }

    /// [`Self::flush`] for a thread that may block (shutdown).
    pub(crate) fn flush_blocking(&self) -> Result<(), String> {
        let (tx, rx) = mpsc::channel();
        self.send_flush(Box::new(move |r| {
            let _ = tx.send(r);
        }))?;
        rx.recv()
            .map_err(|_| "the log writer has stopped".to_string())?
    }

    fn send_flush(&self, ack: Ack) -> Result<(), String> {
        self.jobs
            .send(Job::Flush(ack))
            .map_err(|_| "the log writer has stopped".to_string())
    }
}

fn run(store: Store, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let deadline = std::time::Instant::now() + GATHER;
        let mut batches = Vec::new();
        let mut acks = Vec::new();
        let mut job = Some(first);
        while let Some(j) = job.take() {
            match j {
                Job::Write(b) => batches.push(b),
                Job::Flush(ack) => acks.push(ack),
            }
            if batches.len() >= MAX_GROUP {
                break;
            }
            // A waiting reader ends the gathering: take what is already queued, then commit.
            job = if acks.is_empty() {
                rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
                    .ok()
            } else {
                rx.try_recv().ok()
            };
        }
        let result = if batches.is_empty() {
            Ok(())
        } else {
            store
                .append_log_batches(&batches)
                .map_err(|e| e.to_string())
        };
        if let Err(e) = &result {
            tracing::error!(error = %e, lines = batches.iter().map(|b| b.lines.len()).sum::<usize>(), "could not write invocation logs");
        }
        for ack in acks {
            ack(result.clone());
        }
    }
}
