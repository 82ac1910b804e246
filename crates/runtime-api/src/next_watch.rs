//! Telling the engine when the runtime asks for its next event after finishing one
//! invocation: the end of what X-Ray calls `Overhead` (the runtime's work between posting
//! a response and asking for more). A watch is armed per invocation, only when someone
//! wants it (a traced invocation): an unwatched `next` costs one atomic load, and no lock
//! or allocation.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use tokio::sync::oneshot;

/// The watch for one invocation's following `next`, if armed.
#[derive(Default)]
pub(crate) struct NextWatch {
    /// Whether `slot` holds a watch: read first, so that the unwatched path takes no lock.
    armed: AtomicBool,
    /// The invocation watched and where the instant of the `next` after it goes.
    slot: Mutex<Option<(String, oneshot::Sender<SystemTime>)>>,
}

impl NextWatch {
    /// Watches for the `next` after invocation `request_id` finishes (replacing an
    /// earlier watch, which then reports nothing).
    pub(crate) fn arm(&self, request_id: String) -> oneshot::Receiver<SystemTime> {
        let (tx, rx) = oneshot::channel();
        *self.lock() = Some((request_id, tx));
        self.armed.store(true, Ordering::Release);
        rx
    }

    /// A `next` arrived at `now()`: it ends the watched invocation's overhead if that is
    /// the one the runtime finished last (`is_finished`). A `next` that abandons the
    /// invocation (it was never finished) does not count; a watch nobody waits for any
    /// more (the engine's bound passed) is dropped.
    pub(crate) fn next_requested(
        &self,
        is_finished: impl FnOnce(&str) -> bool,
        now: impl FnOnce() -> SystemTime,
    ) {
        if !self.armed.load(Ordering::Acquire) {
            return;
        }
        let mut slot = self.lock();
        let Some((id, tx)) = slot.as_ref() else {
            return;
        };
        if !tx.is_closed() && !is_finished(id) {
            return;
        }
        if let Some((_, tx)) = slot.take() {
            self.armed.store(false, Ordering::Release);
            // Closed when the engine stopped waiting: nothing to tell then.
            let _ = tx.send(now());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(String, oneshot::Sender<SystemTime>)>> {
        // A plain slot: a panic cannot leave it half-written.
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn the_next_after_the_watched_invocation_is_reported_once() {
        let watch = NextWatch::default();
        let mut rx = watch.arm("req-1".into());
        watch.next_requested(|id| id == "req-1", || at(7));
        assert_eq!(rx.try_recv(), Ok(at(7)));
        let mut later = watch.arm("req-2".into());
        watch.next_requested(|id| id == "req-1", || at(9));
        assert_eq!(later.try_recv(), Err(oneshot::error::TryRecvError::Empty));
        drop(watch);
        assert_eq!(later.try_recv(), Err(oneshot::error::TryRecvError::Closed));
    }

    #[test]
    fn an_abandoning_next_or_an_unarmed_one_reports_nothing() {
        let watch = NextWatch::default();
        watch.next_requested(|_| panic!("unarmed: not read"), || panic!("not read"));
        let mut rx = watch.arm("req-3".into());
        // Abandoned (never finished), or another one finished last.
        watch.next_requested(|id| id == "req-2", || at(2));
        assert_eq!(rx.try_recv(), Err(oneshot::error::TryRecvError::Empty));
        watch.next_requested(|id| id == "req-3", || at(3));
        assert_eq!(rx.try_recv(), Ok(at(3)));
    }

    #[test]
    fn a_watch_nobody_waits_for_is_dropped() {
        let watch = NextWatch::default();
        drop(watch.arm("req-4".into()));
        watch.next_requested(|_| false, || at(4));
        assert!(!watch.armed.load(Ordering::Acquire));
        assert!(watch.lock().is_none());
        // Disarmed: the next `next` neither asks nor reads the clock.
        watch.next_requested(|_| panic!("not asked"), || panic!("not read"));
    }
}
