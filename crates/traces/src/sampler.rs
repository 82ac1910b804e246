//! X-Ray's default sampling rule as Lambda applies it to functions with Active tracing: the
//! first request in each second is sampled (the reservoir), and 5 % of the others.
//!
//! The clock is a parameter of [`Sampler::sample`] and the random source is injectable, so
//! the rule is tested without waiting or luck. UNSURE: whether AWS keeps one reservoir per
//! function, per execution environment or per account and Region is not documented; Hearth
//! keeps one per [`Sampler`], and the lead decides what shares one (per function is the
//! natural reading of "1 request per second" in Lambda's docs).

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;

/// A sampling rule: a per-second reservoir, then a fixed rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingRule {
    /// Requests sampled in each second before the rate applies.
    pub reservoir_per_second: u32,
    /// Fraction of the remaining requests sampled, in `0.0..=1.0`.
    pub fixed_rate: f64,
}

impl Default for SamplingRule {
    /// X-Ray's default rule: 1 request per second and 5 % of additional requests.
    fn default() -> Self {
        SamplingRule {
            reservoir_per_second: 1,
            fixed_rate: 0.05,
        }
    }
}

/// Where the sampler's randomness comes from: a number uniform in `0.0..1.0` per call.
pub type RandomSource = Box<dyn Fn() -> f64 + Send + Sync>;

/// The reservoir's use in the current second.
#[derive(Debug, Default)]
struct Reservoir {
    second: u64,
    used: u32,
}

/// Decides, per request, whether it is sampled.
pub struct Sampler {
    rule: SamplingRule,
    random: RandomSource,
    reservoir: Mutex<Reservoir>,
}

impl std::fmt::Debug for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sampler").field("rule", &self.rule).finish()
    }
}

impl Default for Sampler {
    fn default() -> Self {
        Self::new(SamplingRule::default())
    }
}

impl Sampler {
    /// A sampler for `rule` drawing from the thread's random generator.
    pub fn new(rule: SamplingRule) -> Self {
        Self::with_random(rule, Box::new(|| rand::rng().random::<f64>()))
    }

    /// A sampler for `rule` drawing from `random`.
    pub fn with_random(rule: SamplingRule, random: RandomSource) -> Self {
        Sampler {
            rule,
            random,
            reservoir: Mutex::new(Reservoir::default()),
        }
    }

    /// Whether a request arriving at `now` is sampled.
    pub fn sample(&self, now: SystemTime) -> bool {
        let second = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        {
            // A poisoned lock only means another request panicked mid-count; the count is
            // still a number, so keep using it.
            let mut reservoir = self
                .reservoir
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if reservoir.second != second {
                *reservoir = Reservoir { second, used: 0 };
            }
            if reservoir.used < self.rule.reservoir_per_second {
                reservoir.used += 1;
                return true;
            }
        }
        (self.random)() < self.rule.fixed_rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    /// A source that answers `values` in turn and counts its calls.
    fn sequence(values: Vec<f64>) -> (RandomSource, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let source: RandomSource = Box::new(move || {
            let i = counter.fetch_add(1, Ordering::SeqCst);
            values[i % values.len()]
        });
        (source, calls)
    }

    fn at_millis(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn the_default_rule_is_one_per_second_and_five_percent() {
        assert_eq!(
            SamplingRule::default(),
            SamplingRule {
                reservoir_per_second: 1,
                fixed_rate: 0.05
            }
        );
    }

    #[test]
    fn the_first_request_of_each_second_is_sampled_without_randomness() {
        let (random, calls) = sequence(vec![0.99]);
        let sampler = Sampler::with_random(SamplingRule::default(), random);
        assert!(sampler.sample(at_millis(1_000_000)));
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        // The rest of that second falls to the 5 % rate, which 0.99 misses.
        assert!(!sampler.sample(at_millis(1_000_001)));
        assert!(!sampler.sample(at_millis(1_000_999)));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // A new second refills the reservoir.
        assert!(sampler.sample(at_millis(1_001_000)));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn beyond_the_reservoir_five_percent_are_sampled() {
        let (random, _) = sequence(vec![0.0, 0.049, 0.05, 0.5]);
        let sampler = Sampler::with_random(SamplingRule::default(), random);
        let now = at_millis(42_000);
        assert!(sampler.sample(now), "reservoir");
        let decisions: Vec<bool> = (0..4).map(|_| sampler.sample(now)).collect();
        assert_eq!(decisions, vec![true, true, false, false]);
    }

    #[test]
    fn over_a_second_of_load_the_count_is_one_plus_five_percent() {
        // 100 requests in one second with an evenly spread random source: the reservoir
        // takes 1, and 5 of the 99 draws (0.00, 0.01, ..., 0.04) fall under 5 %.
        let draws: Vec<f64> = (0..99).map(|i| f64::from(i) / 99.0).collect();
        let (random, _) = sequence(draws);
        let sampler = Sampler::with_random(SamplingRule::default(), random);
        let sampled = (0..100)
            .filter(|i| sampler.sample(at_millis(7_000 + i * 10)))
            .count();
        assert_eq!(sampled, 1 + 5);
    }

    #[test]
    fn a_larger_reservoir_is_used_up_before_the_rate() {
        let (random, calls) = sequence(vec![0.9]);
        let rule = SamplingRule {
            reservoir_per_second: 3,
            fixed_rate: 0.0,
        };
        let sampler = Sampler::with_random(rule, random);
        let decisions: Vec<bool> = (0..5).map(|_| sampler.sample(at_millis(500))).collect();
        assert_eq!(decisions, vec![true, true, true, false, false]);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
