//! When a failed delivery is tried again, as AWS's delivery policies say: for AWS-managed
//! endpoints (Lambda, SQS) 3 immediate retries, 2 a second apart, 10 backing off from 1 to
//! 20 seconds, then every 20 seconds up to 100,015 attempts in all; for HTTP/S the
//! topic's or subscription's `healthyRetryPolicy`, by default 3 retries 20 seconds apart.

use serde::{Deserialize, Serialize};

/// A retry policy: AWS's managed one, or an HTTP/S `healthyRetryPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Retry {
    Managed,
    Http(HealthyRetryPolicy),
}

/// The fields of an HTTP/S `healthyRetryPolicy` (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthyRetryPolicy {
    pub num_retries: u32,
    pub num_no_delay_retries: u32,
    pub num_min_delay_retries: u32,
    pub num_max_delay_retries: u32,
    pub min_delay_target: u32,
    pub max_delay_target: u32,
    /// `linear` or any other (AWS's arithmetic/geometric/exponential back off between the
    /// bounds; Hearth doubles).
    pub linear: bool,
}

impl Default for HealthyRetryPolicy {
    fn default() -> Self {
        Self {
            num_retries: 3,
            num_no_delay_retries: 0,
            num_min_delay_retries: 0,
            num_max_delay_retries: 0,
            min_delay_target: 20,
            max_delay_target: 20,
            linear: true,
        }
    }
}

impl HealthyRetryPolicy {
    /// Reads a `healthyRetryPolicy` object (missing fields keep AWS's defaults).
    pub fn from_json(v: &serde_json::Value) -> Self {
        let d = Self::default();
        let n = |k: &str, dflt: u32| {
            v.get(k)
                .and_then(serde_json::Value::as_u64)
                .map_or(dflt, |x| u32::try_from(x).unwrap_or(dflt))
        };
        Self {
            num_retries: n("numRetries", d.num_retries),
            num_no_delay_retries: n("numNoDelayRetries", d.num_no_delay_retries),
            num_min_delay_retries: n("numMinDelayRetries", d.num_min_delay_retries),
            num_max_delay_retries: n("numMaxDelayRetries", d.num_max_delay_retries),
            min_delay_target: n("minDelayTarget", d.min_delay_target),
            max_delay_target: n("maxDelayTarget", d.max_delay_target),
            linear: v
                .get("backoffFunction")
                .and_then(serde_json::Value::as_str)
                .is_none_or(|f| f == "linear"),
        }
    }

    /// The policy of an HTTP/S subscription: its own `DeliveryPolicy`, else its topic's
    /// `http.defaultHealthyRetryPolicy`, else AWS's default.
    pub fn of(subscription: Option<&str>, topic: Option<&str>) -> Self {
        let parse =
            |t: Option<&str>| t.and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok());
        if let Some(p) = parse(subscription).and_then(|v| v.get("healthyRetryPolicy").cloned()) {
            return Self::from_json(&p);
        }
        if let Some(p) =
            parse(topic).and_then(|v| v.pointer("/http/defaultHealthyRetryPolicy").cloned())
        {
            return Self::from_json(&p);
        }
        Self::default()
    }
}

const MANAGED_ATTEMPTS: u32 = 100_015;

impl Retry {
    /// The delay in seconds before the next try after `failed` failed attempts, or
    /// `None` when the policy gives up.
    pub fn next_delay(&self, failed: u32) -> Option<u32> {
        match self {
            Self::Managed => match failed {
                0 => Some(0),
                n if n >= MANAGED_ATTEMPTS => None,
                1..=3 => Some(0),
                4..=5 => Some(1),
                n @ 6..=15 => Some((1u32 << (n - 6)).min(20)),
                _ => Some(20),
            },
            Self::Http(p) => {
                // `failed` counts the first attempt: retry number `failed`.
                let retry = failed;
                if retry > p.num_retries {
                    return None;
                }
                if retry <= p.num_no_delay_retries {
                    return Some(0);
                }
                if retry <= p.num_no_delay_retries + p.num_min_delay_retries {
                    return Some(p.min_delay_target);
                }
                let backoff = p.num_retries.saturating_sub(
                    p.num_no_delay_retries + p.num_min_delay_retries + p.num_max_delay_retries,
                );
                let i = retry - p.num_no_delay_retries - p.num_min_delay_retries;
                if i > backoff || backoff == 0 {
                    return Some(p.max_delay_target);
                }
                let (lo, hi) = (
                    p.min_delay_target,
                    p.max_delay_target.max(p.min_delay_target),
                );
                Some(if p.linear || backoff == 1 {
                    lo + (hi - lo) * (i - 1) / (backoff - 1).max(1)
                } else {
                    lo.saturating_mul(1u32 << (i - 1).min(20)).min(hi)
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_http_policy_retries_three_times_twenty_seconds_apart() {
        let r = Retry::Http(HealthyRetryPolicy::default());
        assert_eq!(
            (1..=4).map(|n| r.next_delay(n)).collect::<Vec<_>>(),
            [Some(20), Some(20), Some(20), None]
        );
        let quick = HealthyRetryPolicy::of(
            Some(
                r#"{"healthyRetryPolicy":{"numRetries":2,"minDelayTarget":1,"maxDelayTarget":1}}"#,
            ),
            None,
        );
        assert_eq!(quick.num_retries, 2);
        assert_eq!(Retry::Http(quick).next_delay(1), Some(1));
        assert_eq!(Retry::Http(quick).next_delay(3), None);
    }

    #[test]
    fn managed_endpoints_back_off_to_twenty_seconds() {
        let r = Retry::Managed;
        assert_eq!(r.next_delay(1), Some(0));
        assert_eq!(r.next_delay(4), Some(1));
        assert_eq!(r.next_delay(10), Some(16));
        assert_eq!(r.next_delay(11), Some(20));
        assert_eq!(r.next_delay(500), Some(20));
        assert_eq!(r.next_delay(100_015), None);
    }
}
