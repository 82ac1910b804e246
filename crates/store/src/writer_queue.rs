//! The writer thread's queue of jobs, made so that handing in a job rarely wakes the
//! thread.
//!
//! With a channel, every job sent while the writer gathers a group woke it (a futex wake
//! on the sender's side, a context switch on the writer's) only for it to go back to
//! waiting: under load one or two of each per invocation, for nothing. Here a job wakes
//! the writer only when it is idle (waiting for a group's first job), when someone waits
//! for the job's commit (the gathering then ends), or when the queue holds a full group;
//! otherwise the writer sleeps until its gathering time is up and takes everything queued.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

pub(crate) struct JobQueue<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
    /// Most items one group takes; a queue that holds this many wakes the writer.
    max_group: usize,
}

struct State<T> {
    /// Each item with whether someone waits for its commit.
    items: VecDeque<(T, bool)>,
    /// How many queued items someone waits for.
    urgent: usize,
    /// The writer waits for a first item and must be woken for one.
    idle: bool,
    /// No more items come (every handle is gone) or none are taken (the writer ended).
    closed: bool,
}

impl<T> JobQueue<T> {
    pub(crate) fn new(max_group: usize) -> Self {
        Self {
            state: Mutex::new(State {
                items: VecDeque::new(),
                urgent: 0,
                idle: false,
                closed: false,
            }),
            ready: Condvar::new(),
            max_group: max_group.max(1),
        }
    }

    /// The lock; a panic while it was held leaves a consistent queue (every change
    /// to it is a single step), so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `item`; `urgent` when someone waits for its commit. Gives the item back
    /// when the queue is closed.
    pub(crate) fn push(&self, item: T, urgent: bool) -> Result<(), T> {
        let mut s = self.lock();
        if s.closed {
            return Err(item);
        }
        s.items.push_back((item, urgent));
        s.urgent += usize::from(urgent);
        let wake = s.idle || urgent || s.items.len() == self.max_group;
        // One wake-up is enough for however many items arrive before the writer runs.
        s.idle = false;
        drop(s);
        if wake {
            self.ready.notify_one();
        }
        Ok(())
    }

    /// No more items: the writer takes what is queued, then [`Self::next_group`]
    /// answers `None`; later pushes are refused.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    /// Waits for a first item, then up to `gather` for more (less when an urgent item
    /// is queued, a full group is, or the queue closes), and takes at most a group's
    /// worth, oldest first. `None` once the queue is closed and empty.
    pub(crate) fn next_group(&self, gather: Duration) -> Option<Vec<T>> {
        let mut s = self.lock();
        while s.items.is_empty() {
            if s.closed {
                return None;
            }
            s.idle = true;
            s = self.ready.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
        s.idle = false;
        let deadline = Instant::now() + gather;
        while s.urgent == 0 && s.items.len() < self.max_group && !s.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            s = self
                .ready
                .wait_timeout(s, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let take = s.items.len().min(self.max_group);
        let mut group = Vec::with_capacity(take);
        let mut urgent = 0;
        for (item, u) in s.items.drain(..take) {
            urgent += usize::from(u);
            group.push(item);
        }
        s.urgent -= urgent;
        Some(group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_group_is_the_oldest_items_up_to_its_size() {
        let q = JobQueue::new(3);
        for i in 0..5 {
            q.push(i, false).expect("open");
        }
        assert_eq!(q.next_group(Duration::ZERO), Some(vec![0, 1, 2]));
        assert_eq!(q.next_group(Duration::ZERO), Some(vec![3, 4]));
        q.close();
        assert_eq!(q.next_group(Duration::ZERO), None);
        assert_eq!(q.push(9, false), Err(9), "closed");
    }

    #[test]
    fn the_writer_gathers_for_its_time_unless_someone_waits() {
        let q = Arc::new(JobQueue::new(100));
        q.push(1, false).expect("open");
        let started = Instant::now();
        assert_eq!(q.next_group(Duration::from_millis(50)), Some(vec![1]));
        assert!(started.elapsed() >= Duration::from_millis(50), "gathered");

        // An urgent item ends the gathering at once, whether queued before or during it.
        q.push(2, true).expect("open");
        assert_eq!(q.next_group(Duration::from_secs(60)), Some(vec![2]));
        q.push(3, false).expect("open");
        let pusher = {
            let q = q.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                q.push(4, true).expect("open");
            })
        };
        assert_eq!(q.next_group(Duration::from_secs(60)), Some(vec![3, 4]));
        pusher.join().expect("pusher");
    }

    #[test]
    fn an_idle_writer_is_woken_by_the_first_item_and_closing() {
        let q = Arc::new(JobQueue::new(100));
        let writer = {
            let q = q.clone();
            std::thread::spawn(move || {
                let mut groups = Vec::new();
                while let Some(g) = q.next_group(Duration::ZERO) {
                    groups.push(g);
                }
                groups
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        q.push(1, false).expect("open");
        std::thread::sleep(Duration::from_millis(20));
        q.close();
        let groups = writer.join().expect("writer");
        assert_eq!(groups.concat(), vec![1]);
    }

    #[test]
    fn a_full_group_ends_the_gathering() {
        let q = JobQueue::new(2);
        q.push(1, false).expect("open");
        q.push(2, false).expect("open");
        q.push(3, false).expect("open");
        let started = Instant::now();
        assert_eq!(q.next_group(Duration::from_secs(60)), Some(vec![1, 2]));
        assert!(started.elapsed() < Duration::from_secs(30));
    }
}
