//! CloudWatch metrics, alarms and metering: the rows [`crate::traits::MetricStore`]
//! keeps. A series is one metric (account, namespace, name, dimensions); a point is one
//! period's aggregate of it, whose `stats` are the metrics service's own encoding (the
//! store never reads them: merging and rolling up points is the service's). Rows of one
//! series and period written by different flushes or nodes may coexist until the service
//! replaces them with their merge.

/// One metric series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricSeries {
    /// The service's key for the series (unique; it names account, namespace, name and
    /// dimensions).
    pub id: String,
    pub account: String,
    pub namespace: String,
    pub name: String,
    /// `(name, value)` pairs, sorted by name.
    pub dimensions: Vec<(String, String)>,
    /// When a point of it was last written (ListMetrics lists recently active series).
    pub last_ms: i64,
}

/// One period's aggregate of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    pub series: String,
    /// The period's start (a multiple of `resolution_s`).
    pub start_ms: i64,
    /// The period's length: 1 (high resolution), 60, 300 or 3600 seconds.
    pub resolution_s: u32,
    /// The aggregate, in the metrics service's encoding.
    pub stats: Vec<u8>,
}

/// One function version's metered use on one day, added to by every invocation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MeterRow {
    pub account: String,
    pub function: String,
    pub version: String,
    /// Days since the Unix epoch (UTC).
    pub day: i64,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    pub memory_mb: u32,
    /// Ephemeral storage configured, in MB.
    pub ephemeral_mb: u32,
    /// Requests billed.
    pub requests: u64,
    /// Billed duration, in ms (each invocation rounded up to 1 ms, billed init included).
    pub billed_ms: u64,
    /// Of `billed_ms`, the billed init phases.
    pub init_billed_ms: u64,
    /// Seconds of provisioned concurrency configured (environments × seconds).
    pub provisioned_s: u64,
    /// What the host spent: CPU time in ms, and memory as MB × ms.
    pub host_cpu_ms: u64,
    pub host_memory_mb_ms: u64,
}
