//! A count of pieces of work under way, and a wait for it to reach zero: the shutdown
//! phases of environments with extensions, and the environments handed to the discard
//! thread, both of which the server's stop waits for.

use tokio::sync::watch;

/// How many pieces of work are under way.
#[derive(Debug)]
pub(crate) struct InFlight(watch::Sender<usize>);

impl Default for InFlight {
    fn default() -> Self {
        Self(watch::channel(0).0)
    }
}

/// Counts one piece of work as under way until dropped (also when the task or thread
/// doing it is cancelled or unwinds).
#[derive(Debug)]
pub(crate) struct Counted(watch::Sender<usize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl InFlight {
    /// One more piece of work, under way until the returned guard is dropped.
    pub(crate) fn start(&self) -> Counted {
        self.0.send_modify(|n| *n += 1);
        Counted(self.0.clone())
    }

    /// How many are under way.
    pub(crate) fn count(&self) -> usize {
        *self.0.borrow()
    }

    /// Waits until none is under way.
    pub(crate) async fn finished(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}
