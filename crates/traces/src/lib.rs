//! Hearth's X-Ray tracing: the trace header Lambda reads, continues and hands to functions
//! ([`TraceHeader`], [`continue_trace`]), the default sampling rule for Active tracing
//! ([`Sampler`]), segment documents ([`Segment`]) and the ones Lambda's service records for
//! an invocation ([`platform_segments`]), the X-Ray daemon's UDP endpoint functions' SDKs
//! send their own segments to ([`Daemon`]), and the export of all of them as OpenTelemetry
//! spans over OTLP ([`Exporter`]).
//!
//! Hearth keeps no trace store of its own: with no OTLP endpoint configured, sampled
//! invocations still get correct headers, and nothing else runs.

mod daemon;
mod export;
mod header;
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
pub use platform::{
    platform_segments, InitTimes, InvocationInfo, InvocationTimes, Outcome, Queued,
    ORIGIN_FUNCTION, ORIGIN_SERVICE,
};
pub use sampler::{RandomSource, Sampler, SamplingRule};
pub use segment::{epoch_seconds, system_time, Segment};
pub use spans::{to_spans, InvocationAttributes};
