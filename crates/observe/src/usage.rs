//! Metering of what the bill of AWS does not show per invocation: the host's use by
//! each function version (sampled by the engine, [`hearth_engine::observe::HostUse`])
//! and provisioned concurrency, billed for as long as it is configured: environments
//! configured × the time between two flushes, kept in ms so that no part of a second
//! is lost between flushes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use hearth_engine::observe::{HostUse, ProvisionedVersion};

use crate::table::{Config, Table};

/// A provisioned configuration's key: function, version, memory, ephemeral, arch.
type Key = (String, String, i64, i64, String);

/// Provisioned time between flushes.
#[derive(Default)]
pub(crate) struct ProvisionedClock {
    state: Mutex<ClockState>,
}

#[derive(Default)]
struct ClockState {
    last: Option<Instant>,
    /// Environment-ms not yet a whole second, per configuration.
    carry_ms: HashMap<Key, u64>,
}

/// Whole environment-seconds of one configuration, and the ms that remain.
pub(crate) fn environment_seconds(environments: i64, elapsed_ms: u64, carry_ms: u64) -> (u64, u64) {
    let ms = (environments.max(0) as u64)
        .saturating_mul(elapsed_ms)
        .saturating_add(carry_ms);
    (ms / 1000, ms % 1000)
}

impl ProvisionedClock {
    /// Counts `configured` for the time since the last call (nothing on the first: the
    /// clock starts then) into `table`, on the day of `now_ms`.
    pub(crate) fn count(
        &self,
        table: &Table,
        configured: &[ProvisionedVersion],
        now: Instant,
        now_ms: i64,
    ) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let elapsed_ms = state
            .last
            .map(|last| now.saturating_duration_since(last).as_millis() as u64)
            .unwrap_or(0);
        state.last = Some(now);
        let mut carry = std::mem::take(&mut state.carry_ms);
        for p in configured {
            let key = (
                p.function.clone(),
                p.version.clone(),
                p.memory_mb,
                p.ephemeral_storage_mb,
                p.architecture.clone(),
            );
            let (seconds, rest) =
                environment_seconds(p.environments, elapsed_ms, carry.remove(&key).unwrap_or(0));
            // Only configurations still there keep their remainder.
            state.carry_ms.insert(key, rest);
            if seconds > 0 {
                let config = Config {
                    memory_mb: p.memory_mb,
                    ephemeral_mb: p.ephemeral_storage_mb,
                    architecture: &p.architecture,
                };
                table.with(&p.function, None, &p.version, |e| {
                    e.meter_of(now_ms, config).provisioned_s += seconds;
                });
            }
        }
    }
}

/// Counts what environments used of the host into `table`, on the day of `now_ms`.
pub(crate) fn count_host_use(table: &Table, used: &[HostUse], now_ms: i64) {
    for u in used {
        let config = Config {
            memory_mb: u.memory_mb,
            ephemeral_mb: u.ephemeral_storage_mb,
            architecture: &u.architecture,
        };
        table.with(&u.function, None, &u.version, |e| {
            let m = e.meter_of(now_ms, config);
            m.host_cpu_ns = m.host_cpu_ns.saturating_add(u.cpu_ns);
            m.host_memory_mib_us = m.host_memory_mib_us.saturating_add(u.memory_mib_us);
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn configured(environments: i64) -> Vec<ProvisionedVersion> {
        vec![ProvisionedVersion {
            function: "111122223333:f".into(),
            version: "2".into(),
            environments,
            memory_mb: 256,
            ephemeral_storage_mb: 512,
            architecture: "arm64".into(),
        }]
    }

    #[test]
    fn environment_seconds_keep_what_is_not_yet_a_second() {
        assert_eq!(environment_seconds(3, 10_000, 0), (30, 0));
        assert_eq!(environment_seconds(3, 10_250, 400), (31, 150));
        assert_eq!(environment_seconds(-1, 10_000, 10), (0, 10));
    }

    #[test]
    fn provisioned_time_counts_from_the_first_flush_with_its_remainders() {
        let table = Table::default();
        let clock = ProvisionedClock::default();
        let t = Instant::now();
        let day = 20_000 * 86_400_000;
        clock.count(&table, &configured(2), t, day);
        // 2 × 0.7 s = 1.4 s → 1, then 2 × 0.8 s + 0.4 = 2.0 s → 2.
        clock.count(&table, &configured(2), t + Duration::from_millis(700), day);
        clock.count(
            &table,
            &configured(2),
            t + Duration::from_millis(1_500),
            day,
        );
        let drained = table.drain();
        assert_eq!(drained.len(), 1);
        let e = &drained[0];
        assert_eq!(
            (e.function.as_str(), e.version.as_str()),
            ("111122223333:f", "2")
        );
        assert_eq!(e.qualifier, None);
        assert_eq!(e.meters.len(), 1);
        let m = &e.meters[0];
        assert_eq!((m.day, m.memory_mb, m.ephemeral_mb), (20_000, 256, 512));
        assert_eq!(m.architecture, "arm64");
        assert_eq!(m.provisioned_s, 3);
        assert_eq!(m.requests, 0);
        // Unconfigured: nothing more, and the remainder is forgotten.
        clock.count(&table, &[], t + Duration::from_secs(60), day);
        assert!(table.drain().is_empty());
    }

    #[test]
    fn host_use_goes_to_its_version_and_day() {
        let table = Table::default();
        let used = HostUse {
            function: "f".into(),
            version: "$LATEST".into(),
            memory_mb: 128,
            ephemeral_storage_mb: 512,
            architecture: "x86_64".into(),
            cpu_ns: 1_500_000,
            memory_mib_us: 2_000,
        };
        count_host_use(&table, &[used.clone(), used], 86_400_000 + 5);
        let drained = table.drain();
        let m = &drained[0].meters[0];
        assert_eq!(m.day, 1);
        assert_eq!((m.host_cpu_ns, m.host_memory_mib_us), (3_000_000, 4_000));
    }
}
