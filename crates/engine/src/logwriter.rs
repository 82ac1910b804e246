//! The one thread that writes invocation logs. Invocations hand it their lines and
//! wait for the commit; it writes everything queued since its last commit in one
//! transaction, so under load many invocations share a commit (group commit) and no
//! async worker ever waits on SQLite.

use std::sync::mpsc;

use hearth_store::{LogBatch, Store};
use tokio::sync::oneshot;

/// Most batches one transaction takes, so a flood still gets acknowledged steadily.
const MAX_GROUP: usize = 512;

struct Job {
    batch: LogBatch,
    done: oneshot::Sender<Result<(), String>>,
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

    /// Writes lines and returns once they are committed.
    pub(crate) async fn write(&self, batch: LogBatch) -> Result<(), String> {
        let (done, wait) = oneshot::channel();
        self.jobs
            .send(Job { batch, done })
            .map_err(|_| "the log writer has stopped".to_string())?;
        wait.await
            .map_err(|_| "the log writer has stopped".to_string())?
    }
}

fn run(store: Store, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let (batches, acks): (Vec<LogBatch>, Vec<_>) =
            jobs.into_iter().map(|j| (j.batch, j.done)).unzip();
        let result = store
            .append_log_batches(&batches)
            .map_err(|e| e.to_string());
        for ack in acks {
            let _ = ack.send(result.clone());
        }
    }
}
