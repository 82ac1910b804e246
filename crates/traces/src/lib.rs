//! Hearth's X-Ray tracing: the trace header Lambda reads, continues and hands to functions
//! ([`TraceHeader`], [`continue_trace`]), the default sampling rule for Active tracing
//! ([`Sampler`]), segment documents ([`Segment`]) and the ones Lambda's service records for
//! an invocation ([`platform_segments`]), the X-Ray daemon's UDP endpoint functions' SDKs
//! send their own segments to ([`Daemon`]), and the export of all of them as OpenTelemetry
//! spans over OTLP ([`Exporter`]); and Lambda's recursive loop detection, which counts a
//! chain's invocations of each function in the header's `Lineage=` ([`count_invocation`]).
//!
//! Hearth keeps no trace store of its own: with no OTLP endpoint configured, sampled
//! invocations still get correct headers, and nothing else runs.
//!
//! How an invocation uses it:
//! 1. On receipt: parse the caller's `X-Amzn-Trace-Id` (or the event's `AWSTraceHeader`)
//!    with [`TraceHeader`]'s `FromStr`, treating an error as no header; call
//!    [`continue_trace`] with the function's [`TracingMode`] and, as its `sample`, the
//!    function's [`Sampler::sample`] at the receipt time.
//! 2. Hand [`InvocationTrace::function_header`] to the runtime as `Lambda-Runtime-Trace-Id`.
//! 3. When done, if [`InvocationTrace::record_platform_segments`], build the segments with
//!    [`platform_segments`] and pass them to [`Exporter::record`] (when an exporter runs).
//! 4. Functions' own segments: a [`Daemon`] on a UDP socket inside the environment (its
//!    address given to the function as `AWS_XRAY_DAEMON_ADDRESS=<ip>:<port>`), whose
//!    callback passes each document to [`Exporter::record`].

mod daemon;
mod export;
mod header;
mod lineage;
mod platform;
mod sampler;
mod segment;
mod spans;

pub use daemon::{parse_datagram, Daemon, DaemonStats, DatagramError};
pub use export::{
    ExportConfig, ExportError, ExportStats, Exporter, FunctionResource, OtlpProtocol,
};
pub use header::{
    continue_trace, HeaderError, InvocationTrace, Sampled, SegmentId, TraceHeader, TraceId,
    TracingMode,
};
pub use lineage::{count_invocation, function_hash, LineageStep, RECURSION_LIMIT};
pub use platform::{
    platform_segments, InitTimes, InvocationInfo, InvocationTimes, Outcome, Queued,
    ORIGIN_FUNCTION, ORIGIN_SERVICE,
};
pub use sampler::{RandomSource, Sampler, SamplingRule};
pub use segment::{epoch_seconds, system_time, Segment};
pub use spans::{to_spans, InvocationAttributes};
