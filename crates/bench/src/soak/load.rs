//! The soak's mixed load, each kind on its own thread at a fixed pace until told to
//! stop: synchronous invokes and asynchronous (`Event`) invokes of a warm Rust echo,
//! create / invoke / update-code / invoke / delete cycles of short-lived functions whose
//! code differs every cycle (so every cycle stores new code blobs and unpacks them), and,
//! when a Python runtime is installed, a function that logs a lot on every invoke.
//!
//! A failed request is counted and the first few are kept for the report; the load goes
//! on, because a soak is about what the server does over time, errors included.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::load::Conn;
use crate::server::{self, FunctionSpec};

/// Error messages kept for the report.
const KEPT_ERRORS: usize = 10;

/// Counts of one kind of load.
#[derive(Debug, Default)]
pub struct Counter {
    pub ok: AtomicU64,
    pub failed: AtomicU64,
}

/// What the load has done so far, shared with the sampler.
#[derive(Debug, Default)]
pub struct Progress {
    pub sync: Counter,
    pub event: Counter,
    pub cycles: Counter,
    pub chatty: Counter,
    pub errors: Mutex<Vec<String>>,
}

impl Progress {
    pub fn done(&self) -> u64 {
        self.kinds()
            .iter()
            .map(|c| c.ok.load(Ordering::Relaxed))
            .sum()
    }

    pub fn failed(&self) -> u64 {
        self.kinds()
            .iter()
            .map(|c| c.failed.load(Ordering::Relaxed))
            .sum()
    }

    fn kinds(&self) -> [&Counter; 4] {
        [&self.sync, &self.event, &self.cycles, &self.chatty]
    }

    fn record(&self, counter: &Counter, what: &str, result: anyhow::Result<()>) {
        match result {
            Ok(()) => {
                counter.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                counter.failed.fetch_add(1, Ordering::Relaxed);
                let mut kept = self.errors.lock().unwrap_or_else(|p| p.into_inner());
                if kept.len() < KEPT_ERRORS {
                    kept.push(format!("{what}: {e:#}"));
                }
            }
        }
    }
}

/// How often each kind of load runs.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub sync_per_s: f64,
    pub event_per_s: f64,
    /// Pause between two create/update/delete cycles.
    pub cycle_pause: Duration,
    pub chatty_per_s: f64,
}

pub const PACE: Pace = Pace {
    sync_per_s: 100.0,
    event_per_s: 50.0,
    cycle_pause: Duration::from_secs(1),
    chatty_per_s: 2.0,
};

/// The functions the load uses.
pub struct Targets {
    pub echo: String,
    /// Makes the spec of cycle N's code: (first, updated).
    pub cycle_code: Box<dyn Fn(u64) -> anyhow::Result<(FunctionSpec, FunctionSpec)> + Send + Sync>,
    pub chatty: Option<String>,
}

/// The running load; [`Load::stop`] ends it.
pub struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    pub fn start(addr: SocketAddr, targets: Targets, pace: Pace, progress: Arc<Progress>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let targets = Arc::new(targets);
        let mut threads = Vec::new();
        let payload = br#"{"soak":true}"#;
        // Sync invokes on two threads, so that one slow answer does not stall the pace.
        for _ in 0..2 {
            let (stop, progress, targets) = (stop.clone(), progress.clone(), targets.clone());
            threads.push(std::thread::spawn(move || {
                let mut conn = Conn::new(addr);
                paced(&stop, pace.sync_per_s / 2.0, || {
                    let r = server::invoke(&mut conn, &targets.echo, payload);
                    progress.record(&progress.sync, "sync invoke", r);
                });
            }));
        }
        {
            let (stop, progress, targets) = (stop.clone(), progress.clone(), targets.clone());
            threads.push(std::thread::spawn(move || {
                let mut conn = Conn::new(addr);
                let path = server::invoke_path(&targets.echo);
                paced(&stop, pace.event_per_s, || {
                    let r = event(&mut conn, &path, payload);
                    progress.record(&progress.event, "Event invoke", r);
                });
            }));
        }
        {
            let (stop, progress, targets) = (stop.clone(), progress.clone(), targets.clone());
            threads.push(std::thread::spawn(move || {
                let mut conn = Conn::new(addr);
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let r = cycle(&mut conn, &targets, n);
                    progress.record(&progress.cycles, "create/update/delete cycle", r);
                    n += 1;
                    sleep_unless_stopped(&stop, pace.cycle_pause);
                }
            }));
        }
        if let Some(chatty) = targets.chatty.clone() {
            let (stop, progress) = (stop.clone(), progress.clone());
            threads.push(std::thread::spawn(move || {
                let mut conn = Conn::new(addr);
                paced(&stop, pace.chatty_per_s, || {
                    let r = server::invoke(&mut conn, &chatty, b"{}");
                    progress.record(&progress.chatty, "log-chatty invoke", r);
                });
            }));
        }
        Self { stop, threads }
    }

    /// Stops the load and waits for what is in flight.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Calls `work` `per_s` times a second until `stop`; when it falls behind, it does not
/// try to catch up (the pace is a ceiling, not a debt).
fn paced(stop: &AtomicBool, per_s: f64, mut work: impl FnMut()) {
    let interval = Duration::from_secs_f64(1.0 / per_s.max(0.001));
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        work();
        next += interval;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
}

fn sleep_unless_stopped(stop: &AtomicBool, pause: Duration) {
    let end = Instant::now() + pause;
    while !stop.load(Ordering::Relaxed) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50).min(pause));
    }
}

fn event(conn: &mut Conn, path: &str, payload: &[u8]) -> anyhow::Result<()> {
    let response = conn.request("POST", path, &[("X-Amz-Invocation-Type", "Event")], payload)?;
    crate::asynchronous::check_accepted(&response)
}

/// One short-lived function: created with new code, invoked, its code replaced by other
/// new code, invoked again, deleted. A failure part-way still deletes it.
fn cycle(conn: &mut Conn, targets: &Targets, n: u64) -> anyhow::Result<()> {
    let name = format!("soak-cycle-{n}");
    let (first, updated) = (targets.cycle_code)(n)?;
    server::create_function(conn, &name, &first)?;
    let lived = (|| {
        server::wait_active(conn, &name)?;
        server::invoke(conn, &name, b"{}")?;
        server::update_code(conn, &name, &updated)?;
        server::wait_active(conn, &name)?;
        server::invoke(conn, &name, b"{}")
    })();
    let deleted = server::delete_function(conn, &name);
    lived.and(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_is_a_ceiling() {
        let stop = AtomicBool::new(false);
        let mut calls = 0;
        paced(&stop, 200.0, || {
            calls += 1;
            if calls == 10 {
                stop.store(true, Ordering::Relaxed);
            }
        });
        assert_eq!(calls, 10, "stops once told to");
    }

    #[test]
    fn progress_counts_and_keeps_errors() {
        let p = Progress::default();
        p.record(&p.sync, "a", Ok(()));
        p.record(&p.event, "b", Ok(()));
        for i in 0..(KEPT_ERRORS + 5) {
            p.record(&p.cycles, "c", Err(anyhow::anyhow!("boom {i}")));
        }
        assert_eq!(p.done(), 2);
        assert_eq!(p.failed(), (KEPT_ERRORS + 5) as u64);
        let kept = p.errors.lock().expect("lock");
        assert_eq!(kept.len(), KEPT_ERRORS);
        assert_eq!(kept[0], "c: boom 0");
    }
}
