//! Environments kept ready ahead of need, and the threads that make them.
//!
//! A fixed set of refill workers (plain threads, several at once: most of making an
//! environment is waiting on the kernel, and concurrent cgroup v1 joins share one RCU
//! grace period) keeps `ready + being made` at the pool's target plus the number of
//! claims waiting. The target adapts to demand: a claim that finds the pool empty
//! doubles it (up to [`MAX_TARGET`]), so a burst is met by more environments in
//! parallel; a quiet spell shrinks it back step by step to [`MIN_TARGET`], freeing
//! the environments no longer wanted. The lock guards only the bookkeeping: nothing is
//! made or dropped while it is held, and a claim that must wait does so on a condition
//! variable, so concurrent claims never line up behind one another's work.
//!
//! Claims never make environments themselves: a claim that finds the pool empty waits
//! for the next one a worker finishes, which is as soon as it could have made one, and
//! leaves the host's CPUs to the workers already at it.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::slot::{Maker, Slot};
use crate::SandboxError;

/// Ready environments kept when nothing happens.
pub const MIN_TARGET: usize = 2;
/// Ready environments kept at most (each holds three small processes, a network
/// namespace, a cgroup and a mounted, nearly empty `/tmp`).
pub const MAX_TARGET: usize = 32;
/// How long without a claim finding the pool empty before the target shrinks a step.
const SHRINK_AFTER: Duration = Duration::from_secs(10);
/// How long an environment may take to get ready before it counts as failed.
const READY_LIMIT: Duration = Duration::from_secs(10);
/// How long a claim waits for an environment before giving up.
const CLAIM_LIMIT: Duration = Duration::from_secs(20);
/// Pause after a failure, growing with each one in a row, so a broken host is not
/// hammered.
const FAILURE_PAUSE: Duration = Duration::from_millis(200);
const MAX_FAILURE_PAUSE: Duration = Duration::from_secs(5);
/// Failures in a row after which waiting claims give up rather than wait for a host
/// that cannot make environments.
const FAILURES_TO_GIVE_UP: u32 = 3;

pub struct Pool {
    state: Mutex<State>,
    /// Wakes the workers: more environments wanted, or closing.
    wanted: Condvar,
    /// Wakes waiting claims: an environment is ready, or making one failed.
    made: Condvar,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

struct State {
    ready: VecDeque<Slot>,
    /// Environments being made or getting ready.
    making: usize,
    /// Claims waiting for an environment.
    waiting: usize,
    target: usize,
    /// When the target last changed or a claim found the pool empty.
    last_change: Instant,
    /// The latest failure to make an environment, and how many attempts in a row
    /// failed.
    failure: Option<(Instant, String)>,
    failures_in_a_row: u32,
    closed: bool,
}

impl State {
    fn wants_more(&self) -> bool {
        self.ready.len() + self.making < self.target + self.waiting
    }

    /// Shrinks the target a step after a quiet spell; returns an environment no longer
    /// wanted, to drop outside the lock.
    fn shrink(&mut self) -> Option<Slot> {
        if self.target > MIN_TARGET && self.last_change.elapsed() >= SHRINK_AFTER {
            self.target -= 1;
            self.last_change = Instant::now();
        }
        if self.ready.len() > self.target {
            self.ready.pop_back()
        } else {
            None
        }
    }
}

/// How many refill workers run: enough to keep every CPU busy while others wait on the
/// kernel.
fn worker_count() -> usize {
    let cpus = std::thread::available_parallelism().map_or(2, usize::from);
    (cpus * 3).clamp(4, 24)
}

impl Pool {
    /// Starts the workers, which enter `runtime` (the init processes are tokio children).
    pub fn start(maker: Arc<Maker>, runtime: tokio::runtime::Handle) -> Arc<Self> {
        let pool = Arc::new(Pool {
            state: Mutex::new(State {
                ready: VecDeque::new(),
                making: 0,
                waiting: 0,
                target: MIN_TARGET,
                last_change: Instant::now(),
                failure: None,
                failures_in_a_row: 0,
                closed: false,
            }),
            wanted: Condvar::new(),
            made: Condvar::new(),
            workers: Mutex::new(Vec::new()),
        });
        let mut workers = Vec::new();
        for n in 0..worker_count() {
            let (pool, maker, runtime) = (pool.clone(), maker.clone(), runtime.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("hearth-jail-{n}"))
                .spawn(move || {
                    let _entered = runtime.enter();
                    pool.work(&maker);
                });
            match spawned {
                Ok(handle) => workers.push(handle),
                Err(e) => tracing::warn!(error = %e, "cannot start a jail refill worker"),
            }
        }
        *pool.workers.lock().unwrap_or_else(|p| p.into_inner()) = workers;
        pool
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn work(&self, maker: &Maker) {
        loop {
            let mut state = self.lock();
            loop {
                if state.closed {
                    return;
                }
                if let Some(unwanted) = state.shrink() {
                    drop(state);
                    drop(unwanted);
                    state = self.lock();
                    continue;
                }
                if state.wants_more() {
                    break;
                }
                state = self
                    .wanted
                    .wait_timeout(state, SHRINK_AFTER)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            state.making += 1;
            drop(state);

            let made = maker.make().and_then(|mut slot| {
                // Timed for profiling: in a burst, how long the init process takes to
                // build the root beside the other environments being made.
                let start = Instant::now();
                slot.wait_ready(READY_LIMIT)?;
                tracing::debug!(
                    ready_us = super::slot::micros(start.elapsed()),
                    "environment ready"
                );
                Ok(slot)
            });

            let mut state = self.lock();
            state.making -= 1;
            let mut unwanted = None;
            let mut pause = None;
            match made {
                Ok(slot) => {
                    state.failures_in_a_row = 0;
                    if state.closed {
                        unwanted = Some(slot);
                    } else {
                        state.ready.push_back(slot);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not prepare an environment ahead");
                    state.failure = Some((Instant::now(), e.to_string()));
                    state.failures_in_a_row += 1;
                    pause = Some((FAILURE_PAUSE * state.failures_in_a_row).min(MAX_FAILURE_PAUSE));
                }
            }
            self.made.notify_all();
            drop(state);
            drop(unwanted);
            if let Some(pause) = pause {
                std::thread::sleep(pause);
            }
        }
    }

    /// The first spare environment in line if it is alive, without waiting. Anything
    /// else (none ready, a dead one first) is left to [`Pool::take`], which clears out
    /// the dead ones and raises the pool's target when none is alive.
    pub fn try_take(&self) -> Option<Slot> {
        let mut state = self.lock();
        if !state.ready.front().is_some_and(Slot::is_alive) {
            return None;
        }
        let slot = state.ready.pop_front();
        self.wanted.notify_one();
        slot
    }

    /// A ready environment; when there is none, waits (without holding anything up)
    /// for the next one the workers finish, and raises the target.
    pub fn take(&self) -> Result<Slot, SandboxError> {
        let mut state = self.lock();
        let mut dead = Vec::new();
        while let Some(slot) = state.ready.pop_front() {
            if slot.is_alive() {
                self.wanted.notify_one();
                drop(state);
                drop(dead);
                return Ok(slot);
            }
            dead.push(slot);
        }
        let start = Instant::now();
        state.target = (state.target * 2).clamp(MIN_TARGET, MAX_TARGET);
        state.last_change = start;
        state.waiting += 1;
        self.wanted.notify_all();
        let outcome = loop {
            if state.closed {
                break Err(SandboxError::Jail("the jail is shutting down".into()));
            }
            if let Some(slot) = state.ready.pop_front() {
                if slot.is_alive() {
                    break Ok(slot);
                }
                dead.push(slot);
                self.wanted.notify_one();
                continue;
            }
            if let Some((at, e)) = &state.failure {
                // Fail fast while the host cannot make environments at all.
                if *at >= start && state.failures_in_a_row >= FAILURES_TO_GIVE_UP {
                    break Err(SandboxError::Jail(e.clone()));
                }
            }
            let Some(left) = CLAIM_LIMIT.checked_sub(start.elapsed()) else {
                break Err(SandboxError::Jail(format!(
                    "no environment ready after {CLAIM_LIMIT:?}"
                )));
            };
            state = self
                .made
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        };
        state.waiting -= 1;
        drop(state);
        // Removing them takes a moment: not under the lock.
        drop(dead);
        outcome
    }

    /// Stops making environments and drops the ready ones; with `wait`, also waits for
    /// the workers to finish what they are making.
    pub fn close(&self, wait: bool) {
        let ready = {
            let mut state = self.lock();
            state.closed = true;
            std::mem::take(&mut state.ready)
        };
        self.wanted.notify_all();
        self.made.notify_all();
        drop(ready);
        if wait {
            let workers =
                std::mem::take(&mut *self.workers.lock().unwrap_or_else(|p| p.into_inner()));
            for w in workers {
                let _ = w.join();
            }
        }
    }

    /// Ready environments and the current target, for measurements.
    pub fn stats(&self) -> (usize, usize) {
        let state = self.lock();
        (state.ready.len(), state.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(target: usize) -> State {
        State {
            ready: VecDeque::new(),
            making: 0,
            waiting: 0,
            target,
            last_change: Instant::now(),
            failure: None,
            failures_in_a_row: 0,
            closed: false,
        }
    }

    /// A slot holding nothing, for the bookkeeping.
    fn slot() -> Slot {
        Slot {
            parts: None,
            disks: None,
        }
    }

    fn pool(state: State) -> Pool {
        Pool {
            state: Mutex::new(state),
            wanted: Condvar::new(),
            made: Condvar::new(),
            workers: Mutex::new(Vec::new()),
        }
    }

    #[test]
    fn keeps_the_target_plus_the_waiting_claims_in_the_making() {
        let mut s = state(2);
        assert!(s.wants_more());
        s.making = 1;
        s.ready.push_back(slot());
        assert!(!s.wants_more());
        s.waiting = 3;
        assert!(s.wants_more());
        s.making = 4;
        assert!(!s.wants_more());
    }

    #[test]
    fn shrinks_a_step_per_quiet_spell_and_frees_what_is_left_over() {
        let mut s = state(8);
        s.ready.extend((0..8).map(|_| slot()));
        assert!(s.shrink().is_none(), "not quiet long enough yet");
        s.last_change = Instant::now() - SHRINK_AFTER;
        assert!(s.shrink().is_some());
        assert_eq!((s.target, s.ready.len()), (7, 7));
        assert!(
            s.shrink().is_none(),
            "the next step waits for another spell"
        );
        let mut s = state(MIN_TARGET);
        s.last_change = Instant::now() - SHRINK_AFTER;
        s.ready.extend((0..MIN_TARGET).map(|_| slot()));
        assert!(s.shrink().is_none());
        assert_eq!(s.target, MIN_TARGET);
    }

    #[test]
    fn a_claim_now_takes_nothing_it_would_wait_for_or_tear_down() {
        let p = pool(state(2));
        assert!(p.try_take().is_none(), "nothing ready");
        assert_eq!(p.stats(), (0, 2), "an empty pool's target is left to take");
        p.lock().ready.push_back(slot());
        assert!(p.try_take().is_none(), "a dead one first in line");
        assert_eq!(p.stats(), (1, 2), "left for take, which tears it down");
    }

    #[test]
    fn a_claim_skips_dead_ones_and_an_empty_pool_raises_the_target() {
        // A slot whose init process is gone (here: one holding nothing) is never handed
        // out; nothing else is ready and nothing being made, so after three failures in
        // a row since the claim began it gives up at once instead of waiting.
        let mut s = state(2);
        s.ready.push_back(slot());
        s.failures_in_a_row = FAILURES_TO_GIVE_UP;
        let p = pool(s);
        let failing = std::thread::scope(|scope| {
            let claim = scope.spawn(|| p.take());
            std::thread::sleep(Duration::from_millis(20));
            let mut s = p.lock();
            s.failure = Some((Instant::now(), "no cgroup".into()));
            p.made.notify_all();
            drop(s);
            claim.join().expect("claim thread")
        });
        assert!(matches!(failing, Err(SandboxError::Jail(e)) if e == "no cgroup"));
        assert_eq!(
            p.stats(),
            (0, 4),
            "the dead one is gone, the target doubled"
        );
        assert_eq!(p.lock().waiting, 0);
        p.close(true);
        assert!(p.take().is_err(), "a closed pool makes nothing");
    }
}
