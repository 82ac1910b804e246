//! EventBridge Scheduler's `FlexibleTimeWindow`: `OFF`, or `FLEXIBLE` with
//! `MaximumWindowInMinutes` 1..=1440, and the instant a slot actually fires within its window.
//!
//! AWS invokes a flexible schedule at some time within the window after each slot, without
//! saying how it picks it. Here the offset is a hash of the schedule's identity and the slot,
//! so it is the same after a restart (nothing to persist), differs between schedules that share
//! a slot (spreading load, which is the window's purpose), and differs from slot to slot.

use chrono::{DateTime, TimeDelta, Utc};

use crate::error::ScheduleError;

/// A schedule's flexible time window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlexibleTimeWindow {
    /// `Mode: OFF`: fire at the slot.
    #[default]
    Off,
    /// `Mode: FLEXIBLE`: fire within `[slot, slot + minutes)`.
    Flexible { maximum_window_minutes: u16 },
}

impl FlexibleTimeWindow {
    /// Validates the API's `Mode` and `MaximumWindowInMinutes`.
    ///
    /// `FLEXIBLE` requires a window of 1..=1440 minutes (the botocore model's bounds). With
    /// `OFF` a window is ignored: whether AWS refuses `OFF` with a window is not known.
    pub fn new(mode: &str, maximum_window_minutes: Option<i64>) -> Result<Self, ScheduleError> {
        match mode {
            "OFF" => Ok(FlexibleTimeWindow::Off),
            "FLEXIBLE" => match maximum_window_minutes {
                Some(m @ 1..=1440) => Ok(FlexibleTimeWindow::Flexible {
                    maximum_window_minutes: m as u16,
                }),
                other => Err(ScheduleError::WindowSize(other)),
            },
            other => Err(ScheduleError::WindowMode(other.to_string())),
        }
    }
}

/// When the slot `slot` of the schedule identified by `key` (e.g. its group and name) fires:
/// `slot` itself with the window off, else `slot` plus an offset in `[0, window)` at
/// millisecond resolution, the same for the same key and slot on every call.
pub fn fire_time(slot: DateTime<Utc>, window: FlexibleTimeWindow, key: &str) -> DateTime<Utc> {
    let FlexibleTimeWindow::Flexible {
        maximum_window_minutes,
    } = window
    else {
        return slot;
    };
    let window_ms = u64::from(maximum_window_minutes) * 60_000;
    let mut hash = Fnv::new();
    hash.write(key.as_bytes());
    hash.write(&[0]);
    hash.write(&slot.timestamp().to_le_bytes());
    hash.write(&slot.timestamp_subsec_nanos().to_le_bytes());
    let offset = mix(hash.0) % window_ms;
    // `offset` < 1440 minutes, so it fits an i64 and the addition only fails at chrono's end.
    slot.checked_add_signed(TimeDelta::milliseconds(offset as i64))
        .unwrap_or(slot)
}

/// FNV-1a, 64-bit: a hash whose output is fixed by its definition, unlike `std`'s hashers,
/// which may change between Rust releases (and so would move every schedule's fire time).
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// SplitMix64's finaliser: FNV's low bits vary weakly, and the window is taken modulo.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().expect("test time parses")
    }

    #[test]
    fn modes_and_bounds() {
        assert_eq!(
            FlexibleTimeWindow::new("OFF", None),
            Ok(FlexibleTimeWindow::Off)
        );
        assert_eq!(
            FlexibleTimeWindow::new("FLEXIBLE", Some(15)),
            Ok(FlexibleTimeWindow::Flexible {
                maximum_window_minutes: 15
            })
        );
        assert!(FlexibleTimeWindow::new("FLEXIBLE", Some(1440)).is_ok());
        for size in [None, Some(0), Some(1441), Some(-5)] {
            assert_eq!(
                FlexibleTimeWindow::new("FLEXIBLE", size),
                Err(ScheduleError::WindowSize(size))
            );
        }
        assert_eq!(
            FlexibleTimeWindow::new("flexible", Some(5)),
            Err(ScheduleError::WindowMode("flexible".into()))
        );
    }

    #[test]
    fn off_fires_at_the_slot() {
        let slot = utc("2024-05-01T10:00:00Z");
        assert_eq!(fire_time(slot, FlexibleTimeWindow::Off, "default/a"), slot);
    }

    #[test]
    fn offsets_are_stable_in_range_and_spread() {
        let window = FlexibleTimeWindow::new("FLEXIBLE", Some(10)).expect("valid window");
        let slot = utc("2024-05-01T10:00:00Z");
        let end = slot + TimeDelta::minutes(10);
        let mut distinct = std::collections::BTreeSet::new();
        for i in 0..1000 {
            let key = format!("default/schedule-{i}");
            let t = fire_time(slot, window, &key);
            assert!(t >= slot && t < end, "{key}: {t}");
            assert_eq!(t, fire_time(slot, window, &key), "{key} not stable");
            distinct.insert(t);
        }
        // 1000 schedules in a 600,000 ms window: collisions are rare and the spread is wide.
        assert!(distinct.len() > 990, "{} distinct", distinct.len());
        let first = distinct.first().copied().expect("non-empty");
        let last = distinct.last().copied().expect("non-empty");
        assert!(first < slot + TimeDelta::minutes(1), "{first}");
        assert!(last > slot + TimeDelta::minutes(9), "{last}");
        // The next slot of the same schedule moves.
        let next = slot + TimeDelta::hours(1);
        assert_ne!(
            fire_time(next, window, "default/a") - next,
            fire_time(slot, window, "default/a") - slot
        );
    }

    #[test]
    fn offset_is_fixed_by_definition() {
        // Pinned so a change to the hash (which would move every flexible schedule) is noticed.
        let window = FlexibleTimeWindow::new("FLEXIBLE", Some(60)).expect("valid window");
        let slot = utc("2024-05-01T10:00:00Z");
        let offset = fire_time(slot, window, "default/nightly") - slot;
        assert_eq!(offset, TimeDelta::milliseconds(PINNED_OFFSET_MS));
    }

    /// Computed independently (FNV-1a 64 then SplitMix64, modulo 3,600,000) in Python.
    const PINNED_OFFSET_MS: i64 = 1_795_291;
}
