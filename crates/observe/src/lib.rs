//! What Hearth shows of its work: the engine's reports ([`hearth_engine::observe`]) turned
//! into Prometheus metrics (`GET /metrics`), the `AWS/Lambda` CloudWatch metrics AWS
//! publishes for every function, and metering as AWS bills it, per function version and
//! day; and each environment's X-Ray daemon, whose segment documents go to the
//! server's [`SegmentSink`]. [`Observatory`] is the engine's observer; the server
//! renders and flushes it.
//!
//! The invocation path only counts: one short lock on its function's [`table`] entry and
//! a few atomic adds. Everything else (CloudWatch series, metering rows, host samples)
//! happens when the server flushes, off that path.

mod host;
mod housekeeping;
mod lambda;
mod metering;
mod prom;
mod table;
mod tracer;
mod xray;

use std::sync::Arc;

use hearth_engine::observe::{DaemonGuard, Daemonized, Invoked, Observer, Started};

pub use host::Host;
pub use housekeeping::{FlushNow, Housekeeping, Running, EVALUATE_EVERY};
pub use lambda::{MetricSink, NAMESPACE};
pub use prom::Prometheus;
pub use xray::{SegmentSink, SegmentSource};

/// The engine's observer: counts every invocation, throttle and environment start for
/// Prometheus, CloudWatch and metering, and runs environments' X-Ray daemons.
pub struct Observatory {
    prom: Prometheus,
    table: table::Table,
    tracer: Arc<tracer::Tracer>,
    xray: xray::Daemons,
}

impl Observatory {
    /// An observatory that records no traces; its X-Ray daemons only count what functions
    /// send them.
    pub fn new() -> Arc<Self> {
        Self::with_traces(None).expect("no exporter to start")
    }

    /// An observatory exporting sampled invocations' traces, and the segment documents
    /// functions send their X-Ray daemons, to `otlp`'s collector (must be called inside
    /// the tokio runtime then).
    pub fn with_traces(
        otlp: Option<&hearth_traces::ExportConfig>,
    ) -> Result<Arc<Self>, hearth_traces::ExportError> {
        let tracer = Arc::new(tracer::Tracer::new(otlp)?);
        let sink = tracer.exports().then(|| {
            let tracer = tracer.clone();
            Arc::new(move |segment, source: &SegmentSource| {
                tracer.received(&source.function, &source.version, segment)
            }) as SegmentSink
        });
        Ok(Self::build(tracer, sink))
    }

    /// An observatory whose X-Ray daemons hand every segment document functions send
    /// them to `sink`, with the environment it came from.
    pub fn with_segments(sink: SegmentSink) -> Arc<Self> {
        let tracer = tracer::Tracer::new(None).expect("no exporter to start");
        Self::build(Arc::new(tracer), Some(sink))
    }

    fn build(tracer: Arc<tracer::Tracer>, sink: Option<SegmentSink>) -> Arc<Self> {
        let prom = Prometheus::new();
        let xray = xray::Daemons::new(prom.registry(), sink);
        Arc::new(Self {
            table: table::Table::default(),
            prom,
            tracer,
            xray,
        })
    }

    /// Spans exported, dropped and failed so far, when traces are exported.
    pub fn trace_stats(&self) -> Option<hearth_traces::ExportStats> {
        self.tracer.stats()
    }

    /// The Prometheus registry, for `GET /metrics` and the samplers that set its gauges.
    pub fn prometheus(&self) -> &Prometheus {
        &self.prom
    }

    /// Hands what was counted since the last flush to `sink` (the `AWS/Lambda`
    /// metrics) and answers the metering rows to add to the store.
    pub fn flush(&self, sink: &dyn MetricSink) -> Vec<hearth_store::MeterRow> {
        let drained = self.table.drain();
        lambda::publish(&drained, sink);
        metering::rows(&drained)
    }
}

impl Observer for Observatory {
    fn invoked(&self, i: &Invoked<'_>) {
        self.prom.invoked(i);
        self.table.invoked(i);
        self.tracer.invoked(i);
    }

    fn trace_header(
        &self,
        request_id: &str,
        function: &str,
        tracing: hearth_model::settings::TracingMode,
        incoming: Option<&str>,
    ) -> String {
        self.tracer.header(request_id, function, tracing, incoming)
    }

    fn throttled(&self, function: &str, qualifier: Option<&str>) {
        self.prom.throttled(function);
        self.table.throttled(function, qualifier);
    }

    fn started(&self, s: &Started<'_>) {
        self.prom.started(s);
    }

    fn xray_daemon(
        &self,
        environment: &Daemonized<'_>,
        socket: std::net::UdpSocket,
    ) -> Option<DaemonGuard> {
        self.xray.start(environment, socket)
    }
}
