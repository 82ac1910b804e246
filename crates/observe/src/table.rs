//! What the invocation path counts between two flushes, per function, qualifier and
//! executed version: per minute, the `AWS/Lambda` counts and durations (and, from the
//! asynchronous queue's reports, its counts and event ages); per day and
//! configuration, what AWS would bill. One lock, held for a few adds; no allocation once
//! a function version has been seen this flush.

use hearth_model::FastMap;
use std::sync::Mutex;

use hearth_engine::observe::{Ending, Invoked, Start};
use hearth_events::{AsyncReport, Happened};

/// One minute's counts of one entry.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Minute {
    /// The minute's start, ms since the epoch.
    pub start_ms: i64,
    pub invocations: u64,
    pub errors: u64,
    pub throttles: u64,
    pub provisioned_invocations: u64,
    /// Invocations of a qualifier with provisioned concurrency that ran on demand.
    pub provisioned_spillovers: u64,
    /// Each invocation's duration, ms.
    pub durations: Vec<f64>,
    /// Each `PostRuntimeExtensionsDuration`, ms: only invocations that extensions took.
    pub post_runtime_extensions: Vec<f64>,
    /// Events queued for asynchronous invocation.
    pub async_received: u64,
    /// Each attempt's event age, ms.
    pub async_ages: Vec<f64>,
    pub async_dropped: u64,
    pub dead_letter_errors: u64,
    pub destination_failures: u64,
    /// Invocations recursive loop detection dropped.
    pub recursive_dropped: u64,
}

/// One day's billed use of one configuration of an entry.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Meter {
    /// Days since the epoch.
    pub day: i64,
    pub architecture: String,
    pub memory_mb: u32,
    pub ephemeral_mb: u32,
    pub requests: u64,
    pub billed_ms: u64,
    pub init_billed_ms: u64,
    /// What the host spent on the version's environments (see `crate::usage`).
    pub host_cpu_ns: u64,
    pub host_memory_mib_us: u64,
    /// Whole seconds of provisioned concurrency configured (environments × seconds).
    pub provisioned_s: u64,
}

/// A meter's configuration: what AWS prices differently.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config<'a> {
    pub memory_mb: i64,
    pub ephemeral_mb: i64,
    pub architecture: &'a str,
}

/// The counts of one (function, qualifier, executed version).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Entry {
    pub function: String,
    pub qualifier: Option<String>,
    /// Empty for throttles and the async queue's counts, which no version ran.
    pub version: String,
    pub minutes: Vec<Minute>,
    pub meters: Vec<Meter>,
}

impl Entry {
    fn minute(&mut self, ts_ms: i64) -> &mut Minute {
        let start_ms = ts_ms - ts_ms.rem_euclid(60_000);
        // Entries are appended in time order, so the minute is almost always the last.
        match self.minutes.iter().rposition(|m| m.start_ms == start_ms) {
            Some(i) => &mut self.minutes[i],
            None => {
                self.minutes.push(Minute {
                    start_ms,
                    ..Minute::default()
                });
                self.minutes.last_mut().expect("just pushed")
            }
        }
    }

    fn meter(&mut self, i: &Invoked<'_>) -> &mut Meter {
        let config = Config {
            memory_mb: i.memory_mb,
            ephemeral_mb: i.ephemeral_storage_mb,
            architecture: i.architecture,
        };
        self.meter_of(i.start_ms, config)
    }

    /// The meter of the day of `ts_ms` and of `config`.
    pub(crate) fn meter_of(&mut self, ts_ms: i64, config: Config<'_>) -> &mut Meter {
        let day = ts_ms.div_euclid(86_400_000);
        let memory_mb = config.memory_mb.max(0) as u32;
        let ephemeral_mb = config.ephemeral_mb.max(0) as u32;
        let found = self.meters.iter().rposition(|m| {
            m.day == day
                && m.memory_mb == memory_mb
                && m.ephemeral_mb == ephemeral_mb
                && m.architecture == config.architecture
        });
        match found {
            Some(n) => &mut self.meters[n],
            None => {
                self.meters.push(Meter {
                    day,
                    architecture: config.architecture.to_string(),
                    memory_mb,
                    ephemeral_mb,
                    ..Meter::default()
                });
                self.meters.last_mut().expect("just pushed")
            }
        }
    }
}

/// Entries by function key.
#[derive(Default)]
pub(crate) struct Table {
    entries: Mutex<FastMap<String, Vec<Entry>>>,
}

impl Table {
    pub(crate) fn with<R>(
        &self,
        function: &str,
        qualifier: Option<&str>,
        version: &str,
        f: impl FnOnce(&mut Entry) -> R,
    ) -> R {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if !entries.contains_key(function) {
            entries.insert(function.to_string(), Vec::new());
        }
        let list = entries.get_mut(function).expect("inserted above");
        let found = list
            .iter()
            .position(|e| e.qualifier.as_deref() == qualifier && e.version == version);
        let entry = match found {
            Some(n) => &mut list[n],
            None => {
                list.push(Entry {
                    function: function.to_string(),
                    qualifier: qualifier.map(str::to_string),
                    version: version.to_string(),
                    ..Entry::default()
                });
                list.last_mut().expect("just pushed")
            }
        };
        f(entry)
    }

    /// Counts what the async queue reports.
    pub(crate) fn async_report(&self, r: &AsyncReport<'_>) {
        self.with(r.function, r.qualifier, "", |e| {
            let m = e.minute(r.at_ms);
            match r.what {
                Happened::Received => m.async_received += 1,
                Happened::Attempt { age_ms } => m.async_ages.push(age_ms as f64),
                Happened::Dropped(_) => m.async_dropped += 1,
                Happened::DeadLetterError => m.dead_letter_errors += 1,
                Happened::DestinationDeliveryFailure => m.destination_failures += 1,
            }
        })
    }

    /// Counts an invocation's end.
    pub(crate) fn invoked(&self, i: &Invoked<'_>) {
        let duration_ms = i.duration.as_secs_f64() * 1000.0;
        let billed = billed(i);
        self.with(i.function, i.qualifier, i.executed_version, |e| {
            let m = e.minute(i.start_ms);
            m.invocations += 1;
            if i.ending != Ending::Success {
                m.errors += 1;
            }
            if i.start == Start::Provisioned {
                m.provisioned_invocations += 1;
            }
            if i.provisioned_spillover {
                m.provisioned_spillovers += 1;
            }
            m.durations.push(duration_ms);
            if let Some(post) = i.post_runtime_extensions {
                m.post_runtime_extensions.push(post.as_secs_f64() * 1000.0);
            }
            let meter = e.meter(i);
            meter.requests += 1;
            meter.billed_ms += billed.total_ms;
            meter.init_billed_ms += billed.init_ms;
        });
    }

    /// Counts a throttled request.
    pub(crate) fn throttled(&self, function: &str, qualifier: Option<&str>) {
        let now = hearth_model::time::now_ms();
        self.with(function, qualifier, "", |e| e.minute(now).throttles += 1);
    }

    /// Counts an invocation recursive loop detection dropped (the function's, no
    /// qualifier: AWS publishes it per function).
    pub(crate) fn recursive_dropped(&self, function: &str, at_ms: i64) {
        self.with(function, None, "", |e| {
            e.minute(at_ms).recursive_dropped += 1
        });
    }

    /// Everything counted since the last drain; the table starts empty again.
    pub(crate) fn drain(&self) -> Vec<Entry> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut *entries)
            .into_values()
            .flatten()
            .collect()
    }
}

/// What AWS bills for one invocation, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Billed {
    pub total_ms: u64,
    pub init_ms: u64,
}

/// An invocation's billed duration, as its `REPORT` line states it: since 1 August 2025
/// AWS bills the init phase of every on-demand cold start with its invocation (an
/// invocation whose init failed is billed its init); a provisioned environment's init is
/// covered by the provisioned-concurrency price.
pub(crate) fn billed(i: &Invoked<'_>) -> Billed {
    let init = match i.start {
        Start::Provisioned => None,
        Start::Cold | Start::Warm => i.init,
    };
    let (duration, init) = match i.ending {
        // `duration` is the init itself: there was no invoke phase.
        Ending::InitError => (i.duration, None),
        _ => (i.duration, init),
    };
    let total_ms = hearth_engine::billed_ms(duration, init);
    let init_ms = match (i.ending, init) {
        (Ending::InitError, _) => total_ms,
        (_, Some(_)) => total_ms - hearth_engine::billed_ms(duration, None).min(total_ms),
        (_, None) => 0,
    };
    Billed { total_ms, init_ms }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hearth_model::settings::TracingMode;

    use super::*;

    fn invoked(start_ms: i64, duration_us: u64, start: Start, ending: Ending) -> Invoked<'static> {
        Invoked {
            function: "f",
            qualifier: Some("live"),
            executed_version: "3",
            request_id: "r",
            trace_header: "Root=1-0-0",
            tracing: TracingMode::PassThrough,
            start_ms,
            duration: Duration::from_micros(duration_us),
            init: None,
            post_runtime_extensions: None,
            start,
            provisioned_spillover: false,
            ending,
            queued: None,
            memory_mb: 512,
            max_memory_used_mb: 40,
            ephemeral_storage_mb: 512,
            architecture: "x86_64",
            runtime: "python3.12",
        }
    }

    #[test]
    fn a_cold_start_bills_its_init_with_its_invocation() {
        let cold = Invoked {
            init: Some(Duration::from_micros(110_100)),
            ..invoked(0, 3_010, Start::Cold, Ending::Success)
        };
        // 3.01 + 110.10 = 113.11 ms → 114 ms, of which 114 - 4 = 110 are the init's.
        assert_eq!(
            billed(&cold),
            Billed {
                total_ms: 114,
                init_ms: 110
            }
        );
        let warm = invoked(0, 3_010, Start::Warm, Ending::Success);
        assert_eq!(
            billed(&warm),
            Billed {
                total_ms: 4,
                init_ms: 0
            }
        );
        let provisioned = Invoked {
            init: Some(Duration::from_millis(100)),
            ..invoked(0, 200, Start::Provisioned, Ending::Success)
        };
        assert_eq!(
            billed(&provisioned),
            Billed {
                total_ms: 1,
                init_ms: 0
            }
        );
        let failed = Invoked {
            init: Some(Duration::from_micros(20_500)),
            ..invoked(0, 20_500, Start::Cold, Ending::InitError)
        };
        assert_eq!(
            billed(&failed),
            Billed {
                total_ms: 21,
                init_ms: 21
            }
        );
    }

    #[test]
    fn counts_go_to_their_minute_and_day_and_drain_empties() {
        let t = Table::default();
        t.invoked(&invoked(59_999, 2_000, Start::Warm, Ending::Success));
        t.invoked(&invoked(60_000, 5_000, Start::Provisioned, Ending::Error));
        t.invoked(&Invoked {
            provisioned_spillover: true,
            ..invoked(60_001, 1_000, Start::Warm, Ending::Timeout)
        });
        t.throttled("f", Some("live"));
        let mut drained = t.drain();
        drained.sort_by(|a, b| a.version.cmp(&b.version));
        assert_eq!(drained.len(), 2, "{drained:?}");
        assert_eq!(drained[0].version, "", "throttles have no version");
        assert_eq!(drained[0].minutes[0].throttles, 1);
        let e = &drained[1];
        assert_eq!(e.minutes.len(), 2);
        assert_eq!(
            e.minutes[0],
            Minute {
                start_ms: 0,
                invocations: 1,
                errors: 0,
                throttles: 0,
                provisioned_invocations: 0,
                durations: vec![2.0],
                ..Minute::default()
            }
        );
        assert_eq!(e.minutes[1].start_ms, 60_000);
        assert_eq!(e.minutes[1].invocations, 2);
        assert_eq!(e.minutes[1].errors, 2, "a timeout is an error");
        assert_eq!(e.minutes[1].provisioned_invocations, 1);
        assert_eq!(e.minutes[1].provisioned_spillovers, 1);
        assert_eq!(e.minutes[0].provisioned_spillovers, 0);
        assert_eq!(e.meters.len(), 1);
        assert_eq!(e.meters[0].requests, 3);
        assert_eq!(e.meters[0].billed_ms, 2 + 5 + 1);
        assert!(t.drain().is_empty());
    }
}
