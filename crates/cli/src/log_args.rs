//! `hearth server`'s options for function logs: what one invocation and one idle period
//! may store, how long logs are kept, and the (hidden) knobs tests use.

use std::time::Duration;

use hearth_engine::{LogLimits, RetentionConfig};

#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// Most output one invocation (or an environment's init) may store in its log, e.g.
    /// 100M; the rest is dropped and counted in one line at the end of the invocation.
    #[arg(long, env = "HEARTH_LOG_INVOCATION_LIMIT", default_value = "100M",
          value_name = "BYTES", value_parser = parse_size)]
    pub log_invocation_limit: u64,

    /// Most output an environment may store between two invocations (threads left
    /// running), e.g. 10M; the rest is dropped and counted in one line.
    #[arg(long, env = "HEARTH_LOG_IDLE_LIMIT", default_value = "10M",
          value_name = "BYTES", value_parser = parse_size)]
    pub log_idle_limit: u64,

    /// Days a function's logs are kept unless `aws logs put-retention-policy` set its
    /// own; also how long a deleted function's logs stay.
    #[arg(long, env = "HEARTH_LOG_RETENTION", default_value_t = 30, value_name = "DAYS",
          value_parser = clap::value_parser!(u32).range(1..=3653))]
    pub log_retention: u32,

    /// Bytes of log lines that may wait for the store writer before functions that print
    /// are slowed down.
    #[arg(long, env = "HEARTH_LOG_BACKLOG", default_value = "16M", hide = true,
          value_parser = parse_size)]
    pub log_backlog: u64,

    /// How often old log lines are expired.
    #[arg(long, env = "HEARTH_LOG_SWEEP_INTERVAL", default_value = "10m", hide = true,
          value_parser = crate::duration::parse)]
    pub log_sweep_interval: Duration,

    /// Pretends the clock is this far ahead when expiring logs (for tests of retention).
    #[arg(long, env = "HEARTH_LOG_CLOCK_OFFSET", default_value = "0s", hide = true,
          value_parser = crate::duration::parse)]
    pub log_clock_offset: Duration,
}

impl LogArgs {
    pub fn limits(&self) -> LogLimits {
        LogLimits {
            invocation: self.log_invocation_limit,
            idle: self.log_idle_limit,
        }
    }

    pub fn retention(&self) -> RetentionConfig {
        RetentionConfig {
            default_days: self.log_retention,
            sweep_every: self.log_sweep_interval.max(Duration::from_millis(100)),
            clock_offset: self.log_clock_offset,
        }
    }

    pub fn backlog(&self) -> usize {
        usize::try_from(self.log_backlog).unwrap_or(usize::MAX)
    }
}

/// `1048576`, `512K`, `100M`, `1G` (powers of 1024; a trailing `B` or `iB` is allowed).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("expected a size like 100M, 512K or 1G, got {text:?}"))?;
    let unit = unit.trim_end_matches("iB").trim_end_matches('B');
    let scale: u64 = match unit {
        "" => 1,
        "K" | "k" => 1 << 10,
        "M" | "m" => 1 << 20,
        "G" | "g" => 1 << 30,
        _ => {
            return Err(format!(
                "unknown unit in {text:?}: use K, M or G (e.g. 100M)"
            ))
        }
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("512K"), Ok(512 * 1024));
        assert_eq!(parse_size("100M"), Ok(100 << 20));
        assert_eq!(parse_size("100MB"), Ok(100 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert!(parse_size("10X").is_err());
        assert!(parse_size("M").is_err());
    }
}
