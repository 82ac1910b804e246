//! The documented limits of the Telemetry API (2022-07-01) and the Logs API (2020-08-15), each
//! with where it was read, and Hearth's own delivery constants (marked as Hearth's choice).
//!
//! Sources: "Lambda Telemetry API", section "Configuring memory usage and buffering"
//! (docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html) and "Lambda Logs API", section
//! "Buffering configuration" (docs.aws.amazon.com/lambda/latest/dg/runtimes-logs-api.html).
//! Both pages give the same three bounds. (An older revision of the Telemetry API *reference*
//! page listed maxItems 25..30,000 and timeoutMs 1,000..10,000: the two rows swapped; the
//! overview page and the Logs API page agree with the values below.)

use std::time::Duration;

/// `buffering.maxItems`: default, minimum and maximum (both APIs).
pub const MAX_ITEMS_DEFAULT: u32 = 10_000;
/// See [`MAX_ITEMS_DEFAULT`].
pub const MAX_ITEMS_MIN: u32 = 1_000;
/// See [`MAX_ITEMS_DEFAULT`].
pub const MAX_ITEMS_MAX: u32 = 10_000;

/// `buffering.maxBytes`: default, minimum and maximum (both APIs).
pub const MAX_BYTES_DEFAULT: u32 = 262_144;
/// See [`MAX_BYTES_DEFAULT`].
pub const MAX_BYTES_MIN: u32 = 262_144;
/// See [`MAX_BYTES_DEFAULT`].
pub const MAX_BYTES_MAX: u32 = 1_048_576;

/// `buffering.timeoutMs`: default, minimum and maximum (both APIs).
pub const TIMEOUT_MS_DEFAULT: u32 = 1_000;
/// See [`TIMEOUT_MS_DEFAULT`].
pub const TIMEOUT_MS_MIN: u32 = 25;
/// See [`TIMEOUT_MS_DEFAULT`].
pub const TIMEOUT_MS_MAX: u32 = 30_000;

/// The port Lambda reserves for its own APIs: "Lambda reserves port 9001" (both pages,
/// "Specifying a destination protocol" / "Destination protocols").
pub const RESERVED_PORT: u16 = 9001;

/// The host name a destination names the execution environment by
/// (`http://sandbox.localdomain:${PORT}/${PATH}` in both pages).
pub const SANDBOX_HOST: &str = "sandbox.localdomain";

/// Hearth's choice: how much a subscriber's buffer holds, as a multiple of its `maxItems` and
/// `maxBytes`, before new records are dropped (and a `platform.logsDropped` record says so).
/// AWS only says it "might drop records to keep memory utilization bounded" and that a payload
/// can be as large as `2 * maxBytes + metadata`; two batches' worth is that figure.
pub const BACKLOG_FACTOR: usize = 2;

/// Hearth's choice: how many times one batch is attempted before it is given up (and counted
/// as dropped). AWS says it "retries ... (with backoff) if there is no listener, or if the POST
/// request results in an error" without a count.
pub const DELIVERY_ATTEMPTS: u32 = 5;

/// Hearth's choice: the first retry's wait; it doubles on each further attempt.
pub const RETRY_BACKOFF_INITIAL: Duration = Duration::from_millis(100);

/// Hearth's choice: the longest a single delivery (connect + POST + answer) may take.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// The `reason` Lambda puts in `platform.logsDropped` (the example in both pages).
pub const LOGS_DROPPED_REASON: &str =
    "Consumer seems to have fallen behind as it has not acknowledged receipt of logs.";
