//! Environments that are done with, dropped on a thread of their own.
//!
//! Dropping an environment kills its processes and reads its cgroup one last time (its
//! use of the host, the processes left to kill), and starts its teardown thread. Those
//! reads open cgroup files, and opening one waits for the cgroup file system's lock
//! while another environment's cgroup is made or removed (kernfs takes it for writing
//! around `mkdir` and `rmdir`): during a burst of deletions a tokio worker dropping a
//! function's environments stalled there for milliseconds, and every warm invocation
//! queued behind it. Retired and expired environments are handed here instead; the
//! thread enters the runtime they came from, since an environment with extensions
//! starts its shutdown phase as a task when dropped.

use std::sync::{mpsc, OnceLock};

use super::in_flight::{Counted, InFlight};

/// What to drop, the runtime it came from, and its place in the count (dropped with it,
/// on the thread or, should the thread be gone, wherever the batch comes back).
type Batch = (Option<tokio::runtime::Handle>, Box<dyn Send>, Counted);

/// The thread that drops what it is handed, and how many batches it has yet to drop.
#[derive(Default)]
pub(crate) struct Discard {
    sender: OnceLock<mpsc::Sender<Batch>>,
    pending: InFlight,
}

impl Discard {
    /// Drops `what` on the discard thread (inline when there is none to be had, or
    /// when `what` is empty, since then there is nothing to wait for).
    pub(crate) fn later<T: Send + 'static>(&self, what: Vec<T>) {
        if what.is_empty() {
            return;
        }
        let Some(sender) = self.sender() else {
            drop(what);
            return;
        };
        let batch: Batch = (
            tokio::runtime::Handle::try_current().ok(),
            Box::new(what),
            self.pending.start(),
        );
        // A thread that is gone hands the batch back: it is dropped here, count and all.
        let _ = sender.send(batch);
    }

    /// Waits until everything handed over so far has been dropped.
    pub(crate) async fn finished(&self) {
        self.pending.finished().await;
    }

    /// [`Discard::finished`] for a caller outside the runtime (shutdown), for at most
    /// `limit`.
    pub(crate) fn wait_blocking(&self, limit: std::time::Duration) {
        let start = std::time::Instant::now();
        while self.pending.count() > 0 && start.elapsed() < limit {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    fn sender(&self) -> Option<&mpsc::Sender<Batch>> {
        if let Some(s) = self.sender.get() {
            return Some(s);
        }
        let (tx, rx) = mpsc::channel::<Batch>();
        let spawned = std::thread::Builder::new()
            .name("hearth-discard".into())
            .spawn(move || {
                for (runtime, what, counted) in rx {
                    let _entered = runtime.as_ref().map(|r| r.enter());
                    drop(what);
                    drop(counted);
                }
            });
        match spawned {
            Ok(_) => Some(self.sender.get_or_init(|| tx)),
            Err(e) => {
                tracing::warn!(error = %e, "no discard thread; dropping environments inline");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Counts its drops, and names the thread each happened on.
    struct Noted(Arc<AtomicUsize>, Arc<Mutex<Vec<String>>>);

    impl Drop for Noted {
        fn drop(&mut self) {
            let name = std::thread::current().name().unwrap_or("").to_string();
            self.1.lock().expect("names").push(name);
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn drops_happen_on_the_discard_thread_and_finished_waits_for_them() {
        let discard = Discard::default();
        let count = Arc::new(AtomicUsize::new(0));
        let threads = Arc::new(Mutex::new(Vec::new()));
        for _ in 0..3 {
            discard.later(vec![
                Noted(count.clone(), threads.clone()),
                Noted(count.clone(), threads.clone()),
            ]);
        }
        discard.finished().await;
        assert_eq!(count.load(Ordering::SeqCst), 6);
        let names = threads.lock().expect("names").clone();
        assert!(names.iter().all(|n| n == "hearth-discard"), "{names:?}");
        // Nothing to drop is nothing to wait for.
        discard.later(Vec::<Noted>::new());
        discard.finished().await;
    }

    #[tokio::test]
    async fn the_thread_runs_inside_the_runtime_it_was_handed_from() {
        struct NeedsRuntime(Arc<AtomicUsize>);
        impl Drop for NeedsRuntime {
            fn drop(&mut self) {
                if tokio::runtime::Handle::try_current().is_ok() {
                    self.0.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        let discard = Discard::default();
        let inside = Arc::new(AtomicUsize::new(0));
        discard.later(vec![NeedsRuntime(inside.clone())]);
        discard.finished().await;
        assert_eq!(inside.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_drop_that_panics_leaves_nothing_counted_and_later_drops_go_on() {
        struct Panics;
        impl Drop for Panics {
            fn drop(&mut self) {
                panic!("a drop that panics, on purpose");
            }
        }
        let discard = Discard::default();
        discard.later(vec![Panics]);
        tokio::time::timeout(std::time::Duration::from_secs(30), discard.finished())
            .await
            .expect("the panicked batch is no longer counted");
        let count = Arc::new(AtomicUsize::new(0));
        let threads = Arc::new(Mutex::new(Vec::new()));
        discard.later(vec![Noted(count.clone(), threads.clone())]);
        tokio::time::timeout(std::time::Duration::from_secs(30), discard.finished())
            .await
            .expect("the next batch is dropped, on the thread or here");
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }
}
