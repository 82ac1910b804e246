//! [`Host`]: starts the event sources the server composed, in order, and stops them in
//! the reverse order at shutdown, all within one grace period.

use std::time::Duration;

use tokio::time::Instant;

use crate::source::{EventSource, RunningSource, SourceContext, SourceError};

/// A source that failed to start; the sources started before it were stopped again.
#[derive(Debug, thiserror::Error)]
#[error("the event source {name} did not start: {error}")]
pub struct StartError {
    pub name: &'static str,
    #[source]
    pub error: SourceError,
}

/// The running sources, in the order they started.
pub struct Host {
    running: Vec<(&'static str, Box<dyn RunningSource>)>,
}

impl Host {
    /// Starts `sources` in order, each with a clone of `ctx`. If one fails, those
    /// already started are stopped (within `grace`) and its error is returned: a server
    /// does not run with part of its sources.
    pub async fn start(
        ctx: SourceContext,
        sources: Vec<Box<dyn EventSource>>,
        grace: Duration,
    ) -> Result<Self, StartError> {
        let mut host = Self {
            running: Vec::with_capacity(sources.len()),
        };
        for source in sources {
            let name = source.name();
            match source.start(ctx.clone()) {
                Ok(running) => {
                    tracing::debug!(source = name, "event source started");
                    host.running.push((name, running));
                }
                Err(error) => {
                    host.stop(grace).await;
                    return Err(StartError { name, error });
                }
            }
        }
        Ok(host)
    }

    /// The running sources' names, in the order they started.
    pub fn names(&self) -> Vec<&'static str> {
        self.running.iter().map(|(name, _)| *name).collect()
    }

    /// Stops the sources, the last started first (a source may rely on one started
    /// before it), sharing `grace`: each gets what the ones before it left.
    pub async fn stop(self, grace: Duration) {
        let deadline = Instant::now() + grace;
        for (name, running) in self.running.into_iter().rev() {
            let left = deadline.saturating_duration_since(Instant::now());
            running.stop(left).await;
            tracing::debug!(source = name, "event source stopped");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::source::BoxFuture;
    use crate::test_support::context;

    /// What the test sources did, in order.
    type Journal = Arc<Mutex<Vec<String>>>;

    fn entries(journal: &Journal) -> Vec<String> {
        journal.lock().expect("not poisoned").clone()
    }

    /// A source that writes down its start and stop (with the grace it got), fails to
    /// start when told to, and takes `stopping` of its grace to stop.
    struct Recorded {
        name: &'static str,
        journal: Journal,
        fails: bool,
        stopping: Duration,
    }

    fn source(name: &'static str, journal: &Journal) -> Box<dyn EventSource> {
        Box::new(Recorded {
            name,
            journal: journal.clone(),
            fails: false,
            stopping: Duration::ZERO,
        })
    }

    impl EventSource for Recorded {
        fn name(&self) -> &'static str {
            self.name
        }

        fn start(
            self: Box<Self>,
            ctx: SourceContext,
        ) -> Result<Box<dyn RunningSource>, SourceError> {
            // What every source may use: the handle reads the engine's state.
            assert_eq!(ctx.invoker().reserved_concurrency("f"), None);
            if self.fails {
                return Err(format!("{} cannot listen", self.name).into());
            }
            self.journal
                .lock()
                .expect("not poisoned")
                .push(format!("start {}", self.name));
            Ok(self)
        }
    }

    impl RunningSource for Recorded {
        fn stop(self: Box<Self>, grace: Duration) -> BoxFuture<'static, ()> {
            Box::pin(async move {
                self.journal
                    .lock()
                    .expect("not poisoned")
                    .push(format!("stop {} {grace:?}", self.name));
                tokio::time::sleep(self.stopping.min(grace)).await;
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn sources_stop_in_the_reverse_order_sharing_the_grace() {
        let (ctx, _dir) = context();
        let journal = Journal::default();
        let slow = Box::new(Recorded {
            name: "slow",
            journal: journal.clone(),
            fails: false,
            stopping: Duration::from_secs(3),
        });
        let sources = vec![source("first", &journal), slow, source("last", &journal)];
        let host = Host::start(ctx, sources, Duration::from_secs(5))
            .await
            .expect("all start");
        assert_eq!(host.names(), ["first", "slow", "last"]);
        host.stop(Duration::from_secs(5)).await;
        assert_eq!(
            entries(&journal),
            [
                "start first",
                "start slow",
                "start last",
                "stop last 5s",
                "stop slow 5s",
                // What the slow source took of the grace is not given again.
                "stop first 2s",
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_source_that_fails_to_start_is_reported_and_the_started_ones_stopped() {
        let (ctx, _dir) = context();
        let journal = Journal::default();
        let broken = Box::new(Recorded {
            name: "broken",
            journal: journal.clone(),
            fails: true,
            stopping: Duration::ZERO,
        });
        let sources = vec![source("first", &journal), broken, source("never", &journal)];
        let err = match Host::start(ctx, sources, Duration::from_secs(1)).await {
            Ok(host) => panic!("started {:?}", host.names()),
            Err(e) => e,
        };
        assert_eq!(err.name, "broken");
        assert_eq!(
            err.to_string(),
            "the event source broken did not start: broken cannot listen"
        );
        assert_eq!(entries(&journal), ["start first", "stop first 1s"]);
    }
}
