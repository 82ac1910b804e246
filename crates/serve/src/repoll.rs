//! A connection's wake-ups that arrive while it is being polled, answered by polling it
//! again at once instead of through the scheduler.
//!
//! hyper drives a connection and the request's handler in one task, and they signal each
//! other through wakers: a handler reading the request body tells the connection it wants
//! the next chunk (hyper's `want`), which wakes the task that is running at that moment.
//! tokio's multi-thread scheduler answers a task woken during its own poll by putting it
//! at the back of the run queue and waking an idle worker to share the load (a futex
//! wake, and two context switches of a thread that finds nothing to do and parks again),
//! about twice per Invoke (its body, then the runtime's response body). [`Repoll`] gives
//! the connection a waker of its own: a wake while the connection is being polled is
//! noted and the connection is polled again before the task returns; any other wake goes
//! to the task's waker as before. The polls in a row are bounded, and stop when tokio's
//! cooperative budget is spent, so a busy connection still yields to the others.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

/// Most polls in a row before the task yields to the scheduler anyway.
const POLLS_IN_A_ROW: usize = 8;

/// Set while the inner future is being polled.
const POLLING: u8 = 1;
/// Set by a wake that came while [`POLLING`].
const WOKEN: u8 = 2;

/// `future`, polled again in place when it is woken during its own poll.
pub struct Repoll<F> {
    future: Pin<Box<F>>,
    shared: Arc<Shared>,
    /// The waker the inner future sees, made once.
    waker: Waker,
}

struct Shared {
    state: AtomicU8,
    /// The task's own waker, for wakes outside a poll.
    task: AtomicWaker,
}

impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut state = self.state.load(Ordering::Acquire);
        while state & POLLING != 0 {
            match self.state.compare_exchange_weak(
                state,
                state | WOKEN,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                // The poll under way sees it when it ends and polls again.
                Ok(_) => return,
                Err(now) => state = now,
            }
        }
        self.task.wake();
    }
}

impl<F: Future> Repoll<F> {
    /// Wraps `future` (a connection's, to be spawned as its task).
    pub fn new(future: F) -> Self {
        let shared = Arc::new(Shared {
            state: AtomicU8::new(0),
            task: AtomicWaker::new(),
        });
        Self {
            future: Box::pin(future),
            waker: Waker::from(shared.clone()),
            shared,
        }
    }
}

impl<F: Future> Future for Repoll<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // Every field is Unpin (the future is boxed).
        let this = self.get_mut();
        // Registered before polling: a wake after the poll ends finds this waker.
        this.shared.task.register(cx.waker());
        let mut inner = Context::from_waker(&this.waker);
        for _ in 0..POLLS_IN_A_ROW {
            this.shared.state.store(POLLING, Ordering::Release);
            let polled = this.future.as_mut().poll(&mut inner);
            let state = this.shared.state.swap(0, Ordering::AcqRel);
            if polled.is_ready() || state & WOKEN == 0 {
                return polled;
            }
            if !tokio::task::coop::has_budget_remaining() {
                break;
            }
        }
        // Woken during each poll: back to the scheduler, which polls it again in turn.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Counts the wakes of the task's own waker.
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Pending `self_wakes` times, waking itself during each of those polls, then ready.
    struct WakesItself {
        self_wakes: usize,
        polls: usize,
    }

    impl Future for WakesItself {
        type Output = usize;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
            self.polls += 1;
            if self.polls > self.self_wakes {
                return Poll::Ready(self.polls);
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    fn counter() -> (Arc<Counter>, Waker) {
        let c = Arc::new(Counter(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    #[test]
    fn a_wake_during_the_poll_polls_again_in_place() {
        let (count, waker) = counter();
        let mut f = Repoll::new(WakesItself {
            self_wakes: 3,
            polls: 0,
        });
        let polled = Pin::new(&mut f).poll(&mut Context::from_waker(&waker));
        assert_eq!(polled, Poll::Ready(4), "four polls in one");
        assert_eq!(count.0.load(Ordering::SeqCst), 0, "the task was not woken");
    }

    #[test]
    fn polls_in_a_row_are_bounded_and_the_task_is_woken_to_go_on() {
        let (count, waker) = counter();
        let mut f = Repoll::new(WakesItself {
            self_wakes: 100,
            polls: 0,
        });
        let polled = Pin::new(&mut f).poll(&mut Context::from_waker(&waker));
        assert_eq!(polled, Poll::Pending);
        assert_eq!(f.future.polls, POLLS_IN_A_ROW);
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken once to go on");
    }

    #[test]
    fn a_wake_after_the_poll_wakes_the_task() {
        let (count, waker) = counter();
        let inner: Arc<std::sync::Mutex<Option<Waker>>> = Arc::default();
        let slot = inner.clone();
        let mut f = Repoll::new(std::future::poll_fn(move |cx| {
            *slot.lock().expect("lock") = Some(cx.waker().clone());
            Poll::<()>::Pending
        }));
        assert!(Pin::new(&mut f)
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        let later = inner.lock().expect("lock").take().expect("registered");
        later.wake_by_ref();
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            1,
            "woken from outside a poll"
        );
    }
}
