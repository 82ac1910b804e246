//! The SQS group commit: one thread applies every change handed to it since its last
//! commit in one transaction ([`hearth_store::SqsStore::sqs_apply`]), so under load many
//! sends share a commit. Changes are applied in the order they were handed in, which
//! callers rely on: what they hand in under a queue's lock is committed in that order.
//!
//! The store commits in WAL mode with `synchronous=NORMAL`: a commit survives the
//! process being killed (`kill -9`), as the WAL is in the OS's page cache.

use std::sync::{mpsc, Arc};

use hearth_store::{SqsOp, SqsStore};
use tokio::sync::oneshot;

use crate::error::SqsError;

/// Most jobs one transaction takes, so a flood is still committed steadily.
const MAX_GROUP: usize = 1024;

struct Job {
    ops: Vec<SqsOp>,
    ack: Option<oneshot::Sender<Result<(), String>>>,
}

/// A commit handed in; awaiting it answers once it is in the store.
pub(crate) struct Pending(Option<oneshot::Receiver<Result<(), String>>>);

impl Pending {
    pub async fn done(self) -> Result<(), SqsError> {
        let Some(rx) = self.0 else {
            return Err(SqsError::internal(&"the SQS committer has stopped"));
        };
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(SqsError::internal(&e)),
            Err(_) => Err(SqsError::internal(&"the SQS committer has stopped")),
        }
    }
}

/// Handle to the committing thread; it ends when every handle is dropped.
#[derive(Clone)]
pub(crate) struct Committer {
    jobs: mpsc::Sender<Job>,
}

impl Committer {
    pub fn start(store: Arc<dyn SqsStore>) -> std::io::Result<Self> {
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("hearth-sqs-commit".into())
            .spawn(move || run(&*store, &rx))?;
        Ok(Self { jobs })
    }

    /// Hands in changes to be committed; await the answer for them to be stored.
    pub fn enqueue(&self, ops: Vec<SqsOp>) -> Pending {
        let (tx, rx) = oneshot::channel();
        match self.jobs.send(Job { ops, ack: Some(tx) }) {
            Ok(()) => Pending(Some(rx)),
            Err(_) => Pending(None),
        }
    }

    /// Hands in changes nobody waits for (receive counts, expiries).
    pub fn submit(&self, ops: Vec<SqsOp>) {
        if !ops.is_empty() && self.jobs.send(Job { ops, ack: None }).is_err() {
            tracing::error!("the SQS committer has stopped; changes lost");
        }
    }
}

fn run(store: &dyn SqsStore, rx: &mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut ops = first.ops;
        let mut acks: Vec<_> = first.ack.into_iter().collect();
        let mut jobs = 1;
        while jobs < MAX_GROUP {
            let Ok(j) = rx.try_recv() else { break };
            ops.extend(j.ops);
            acks.extend(j.ack);
            jobs += 1;
        }
        let result = store.sqs_apply(&ops).map_err(|e| e.to_string());
        if let Err(e) = &result {
            tracing::error!(error = %e, changes = ops.len(), "could not write SQS changes");
        }
        for ack in acks {
            let _ = ack.send(result.clone());
        }
    }
}
