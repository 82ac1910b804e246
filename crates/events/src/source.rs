//! [`Dispatcher`]: asynchronous invocation as an event source. Started by the server's
//! host, it delivers the queue's events through the [`hearth_triggers::Invoker`] it is
//! given; stopped, it starts no new attempt and waits for the running ones.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use hearth_triggers::{BoxFuture, EventSource, RunningSource, SourceContext, SourceError};

use crate::{claims, deliver, Shared};

/// The source that delivers an [`crate::AsyncQueue`]'s events.
pub struct Dispatcher {
    shared: Arc<Shared>,
}

impl Dispatcher {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

impl EventSource for Dispatcher {
    fn name(&self) -> &'static str {
        "async"
    }

    fn start(self: Box<Self>, ctx: SourceContext) -> Result<Box<dyn RunningSource>, SourceError> {
        tokio::spawn(deliver::dispatch(
            self.shared.clone(),
            ctx.invoker().clone(),
        ));
        tokio::spawn(claims::run(self.shared.clone()));
        Ok(self)
    }
}

impl RunningSource for Dispatcher {
    /// Events still running after `grace` run again at the next start: their rows stay
    /// until an attempt's outcome is written.
    fn stop(self: Box<Self>, grace: Duration) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let s = &self.shared;
            s.stopping.store(true, Ordering::SeqCst);
            s.wake.notify_one();
            let deadline = tokio::time::Instant::now() + grace;
            while s.queue().running() > 0 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    }
}
