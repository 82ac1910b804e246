//! [`EventSource`]: something that makes functions run on its own — polls a queue, keeps
//! a schedule, listens for requests — and the handle that stops it.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::Invoker;

/// A boxed future, for the traits here that are used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a source could not start (its own error, whatever it is).
pub type SourceError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a source is given when it starts. The [`Invoker`] is the only way it may make a
/// function run; what it keeps of its own (mappings, positions, schedules) it reaches
/// through the store traits it was built with, never through the engine.
#[derive(Clone)]
pub struct SourceContext {
    invoker: Invoker,
}

impl SourceContext {
    pub fn new(invoker: Invoker) -> Self {
        Self { invoker }
    }

    pub fn invoker(&self) -> &Invoker {
        &self.invoker
    }
}

/// An event source, built by the server with its settings and state, and started by the
/// [`crate::Host`].
pub trait EventSource: Send + 'static {
    /// A short name for the logs and for errors (`async`, `schedule`, `sqs-mapping`).
    fn name(&self) -> &'static str;

    /// Starts the source's work (it spawns its tasks on the current tokio runtime) and
    /// returns the handle that stops it. Quick: what takes long belongs in those tasks.
    /// An error means nothing of the source runs.
    fn start(self: Box<Self>, ctx: SourceContext) -> Result<Box<dyn RunningSource>, SourceError>;
}

/// A started source.
pub trait RunningSource: Send {
    /// Stops taking new events and waits up to `grace` for the invocations it started;
    /// what it must leave unfinished it leaves to be taken up at the next start (as the
    /// asynchronous queue does), not lost.
    fn stop(self: Box<Self>, grace: Duration) -> BoxFuture<'static, ()>;
}

/// The started form of the common source: one task, told to stop by a watch channel
/// turning true, waited for up to the grace.
pub struct SpawnedSource {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl SpawnedSource {
    /// Spawns `run` with the receiver that turns true when the source is to stop.
    pub fn spawn<F, Fut>(run: F) -> Box<dyn RunningSource>
    where
        F: FnOnce(tokio::sync::watch::Receiver<bool>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(run(stopped));
        Box::new(SpawnedSource { stop, task })
    }
}

impl RunningSource for SpawnedSource {
    fn stop(self: Box<Self>, grace: Duration) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let _ = self.stop.send(true);
            let _ = tokio::time::timeout(grace, self.task).await;
        })
    }
}
