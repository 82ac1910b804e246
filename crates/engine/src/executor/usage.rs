//! The live environments' use of the host, attributed to what they run: a registry of
//! every environment that came up (by id, its entry dropped with it), sampled on
//! request ([`Registry::sample`], every few seconds from the server's housekeeping) and
//! once more when an environment ends. Each sample attributes the CPU time used since
//! the last one, and memory × the time between them (the mean of the two readings), to
//! the environment's function version and configuration. Nothing here runs on the
//! invocation path.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use hearth_sandbox::{Usage, UsageSource};

use crate::observe::HostUse;

/// What an environment's use is attributed to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Tag {
    pub function: String,
    pub version: String,
    pub memory_mb: i64,
    pub ephemeral_storage_mb: i64,
    pub architecture: String,
}

/// One reading and when it was taken.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub at: Instant,
    pub usage: Usage,
}

/// What was used between two readings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Used {
    pub cpu_ns: u64,
    /// Memory × time, in MiB × µs.
    pub memory_mib_us: u64,
}

impl Used {
    fn add(&mut self, other: Used) {
        self.cpu_ns = self.cpu_ns.saturating_add(other.cpu_ns);
        self.memory_mib_us = self.memory_mib_us.saturating_add(other.memory_mib_us);
    }
}

/// What was used from `before` to `after`: the growth of the CPU counter (a counter
/// that went backwards, as a reused cgroup's would, counts nothing), and memory as the
/// mean of the two readings over the time between them.
pub(crate) fn attribute(before: Sample, after: Sample) -> Used {
    let us = after.at.saturating_duration_since(before.at).as_micros();
    let mean_bytes =
        (u128::from(before.usage.memory_bytes) + u128::from(after.usage.memory_bytes)) / 2;
    let mib_us = mean_bytes * us / (1024 * 1024);
    Used {
        cpu_ns: after.usage.cpu_ns.saturating_sub(before.usage.cpu_ns),
        memory_mib_us: u64::try_from(mib_us).unwrap_or(u64::MAX),
    }
}

struct Live {
    tag: Tag,
    source: Arc<dyn UsageSource>,
    last: Sample,
}

#[derive(Default)]
struct State {
    live: HashMap<u64, Live>,
    /// Use counted since the last [`Registry::sample`], per tag (environments that
    /// ended, and the live ones as they are sampled).
    counted: HashMap<Tag, Used>,
}

/// The live environments of one executor.
#[derive(Default)]
pub(crate) struct Registry {
    next: AtomicU64,
    state: Mutex<State>,
}

/// An environment's entry in the [`Registry`]; dropping it takes a last reading and
/// removes the entry.
pub(crate) struct Registration {
    id: u64,
    registry: Weak<Registry>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(registry) = self.registry.upgrade() {
            registry.end(self.id, Instant::now());
        }
    }
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds an environment that began at `began` (its use then was nothing: a new
    /// cgroup, a new process), read through `source`.
    pub(crate) fn register(
        self: &Arc<Self>,
        tag: Tag,
        source: Arc<dyn UsageSource>,
        began: Instant,
    ) -> Registration {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let last = Sample {
            at: began,
            usage: Usage::default(),
        };
        self.lock().live.insert(id, Live { tag, source, last });
        Registration {
            id,
            registry: Arc::downgrade(self),
        }
    }

    /// The last reading of an environment that is ending, and its entry removed.
    fn end(&self, id: u64, now: Instant) {
        let Some(live) = self.lock().live.remove(&id) else {
            return;
        };
        let used = live
            .source
            .read()
            .map(|usage| attribute(live.last, Sample { at: now, usage }))
            .unwrap_or_default();
        self.lock().counted.entry(live.tag).or_default().add(used);
    }

    /// Reads every live environment at `now` and answers what was used since the last
    /// call, per function version and configuration.
    pub(crate) fn sample(&self, now: Instant) -> Vec<HostUse> {
        // Read outside the lock: starts and ends of environments need not wait for it.
        let sources: Vec<(u64, Arc<dyn UsageSource>)> = self
            .lock()
            .live
            .iter()
            .map(|(id, l)| (*id, l.source.clone()))
            .collect();
        let readings: Vec<(u64, Usage)> = sources
            .into_iter()
            .filter_map(|(id, s)| Some((id, s.read()?)))
            .collect();
        let mut state = self.lock();
        let State { live, counted } = &mut *state;
        for (id, usage) in readings {
            // An environment that ended meanwhile was counted by its end.
            if let Some(l) = live.get_mut(&id) {
                let now = Sample { at: now, usage };
                counted
                    .entry(l.tag.clone())
                    .or_default()
                    .add(attribute(l.last, now));
                l.last = now;
            }
        }
        let mut out: Vec<HostUse> = std::mem::take(counted)
            .into_iter()
            .filter(|(_, u)| *u != Used::default())
            .map(|(t, u)| HostUse {
                function: t.function,
                version: t.version,
                memory_mb: t.memory_mb,
                ephemeral_storage_mb: t.ephemeral_storage_mb,
                architecture: t.architecture,
                cpu_ns: u.cpu_ns,
                memory_mib_us: u.memory_mib_us,
            })
            .collect();
        out.sort_by(|a, b| (&a.function, &a.version).cmp(&(&b.function, &b.version)));
        out
    }

    /// Environments registered now.
    #[cfg(test)]
    fn live(&self) -> usize {
        self.lock().live.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn at(start: Instant, ms: u64, cpu_ms: u64, memory_mib: u64) -> Sample {
        Sample {
            at: start + Duration::from_millis(ms),
            usage: Usage {
                cpu_ns: cpu_ms * 1_000_000,
                memory_bytes: memory_mib * MIB,
            },
        }
    }

    #[test]
    fn cpu_is_the_counter_growth_and_memory_the_mean_over_the_interval() {
        let t = Instant::now();
        // 10 s from 40 MiB to 60 MiB: a mean of 50 MiB for 10^7 µs.
        assert_eq!(
            attribute(at(t, 0, 100, 40), at(t, 10_000, 350, 60)),
            Used {
                cpu_ns: 250_000_000,
                memory_mib_us: 50 * 10_000_000,
            }
        );
        // A counter that went back counts nothing; so does no time at all.
        assert_eq!(
            attribute(at(t, 0, 500, 10), at(t, 0, 100, 10)),
            Used {
                cpu_ns: 0,
                memory_mib_us: 0
            }
        );
        // A reading older than the last one (clocks do not go back, but be safe).
        assert_eq!(
            attribute(at(t, 1_000, 0, 10), at(t, 0, 0, 10)).memory_mib_us,
            0
        );
    }

    /// A source whose readings the test sets.
    struct Fake(Mutex<Option<Usage>>);

    impl Fake {
        fn set(&self, cpu_ms: u64, memory_mib: u64) {
            *self.0.lock().expect("lock") = Some(Usage {
                cpu_ns: cpu_ms * 1_000_000,
                memory_bytes: memory_mib * MIB,
            });
        }
    }

    impl UsageSource for Fake {
        fn read(&self) -> Option<Usage> {
            *self.0.lock().expect("lock")
        }
    }

    fn tag(version: &str) -> Tag {
        Tag {
            function: "f".into(),
            version: version.into(),
            memory_mb: 128,
            ephemeral_storage_mb: 512,
            architecture: "x86_64".into(),
        }
    }

    #[test]
    fn samples_attribute_each_interval_once_and_an_end_its_last_one() {
        let registry = Arc::new(Registry::default());
        let t = Instant::now();
        let a = Arc::new(Fake(Mutex::new(None)));
        let b = Arc::new(Fake(Mutex::new(None)));
        let ra = registry.register(tag("1"), a.clone(), t);
        let rb = registry.register(tag("2"), b.clone(), t);
        a.set(300, 20);
        b.set(50, 10);
        let first = registry.sample(t + Duration::from_secs(10));
        // From nothing at the start to the reading: the mean is half of it.
        assert_eq!(first.len(), 2);
        assert_eq!(
            (first[0].version.as_str(), first[0].cpu_ns),
            ("1", 300_000_000)
        );
        assert_eq!(first[0].memory_mib_us, 10 * 10_000_000);
        assert_eq!(
            (first[1].version.as_str(), first[1].cpu_ns),
            ("2", 50_000_000)
        );
        assert_eq!(first[1].memory_mib_us, 5 * 10_000_000);
        // Nothing used since: nothing to report.
        assert!(registry.sample(t + Duration::from_secs(10)).is_empty());
        // `a` uses 100 ms more and ends; its last interval is counted at the next sample.
        a.set(400, 20);
        drop(ra);
        assert_eq!(registry.live(), 1);
        let second = registry.sample(t + Duration::from_secs(20));
        assert_eq!(second.len(), 2, "{second:?}");
        assert_eq!(second[0].cpu_ns, 100_000_000);
        assert_eq!(second[1].cpu_ns, 0, "b used no CPU");
        assert_eq!(second[1].memory_mib_us, 10 * 10_000_000);
        drop(rb);
        assert_eq!(registry.live(), 0);
    }

    #[test]
    fn an_environment_that_cannot_be_read_counts_nothing() {
        let registry = Arc::new(Registry::default());
        let t = Instant::now();
        let gone = Arc::new(Fake(Mutex::new(None)));
        let r = registry.register(tag("1"), gone, t);
        assert!(registry.sample(t + Duration::from_secs(10)).is_empty());
        drop(r);
        assert!(registry.sample(t + Duration::from_secs(20)).is_empty());
    }
}
