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
mod xray;

use std::sync::Arc;

use hearth_engine::observe::{DaemonGuard, Daemonized, Invoked, Observer, Started};

pub use host::Host;
pub use housekeeping::{FlushNow, Housekeeping, Running};
pub use lambda::{MetricSink, NAMESPACE};
pub use prom::Prometheus;
pub use xray::{SegmentSink, SegmentSource};

/// The engine's observer: counts every invocation, throttle and environment start for
/// Prometheus, CloudWatch and metering, and runs environments' X-Ray daemons.
pub struct Observatory {
    prom: Prometheus,
    table: table::Table,
    xray: xray::Daemons,
}

impl Observatory {
    /// An observatory whose X-Ray daemons only count what functions send them.
    pub fn new() -> Arc<Self> {
        Self::build(None)
    }

    /// An observatory whose X-Ray daemons hand every segment document functions send
    /// them to `sink`, with the environment it came from.
    pub fn with_segments(sink: SegmentSink) -> Arc<Self> {
        Self::build(Some(sink))
    }

    fn build(sink: Option<SegmentSink>) -> Arc<Self> {
        let prom = Prometheus::new();
        let xray = xray::Daemons::new(prom.registry(), sink);
        Arc::new(Self {
            table: table::Table::default(),
            prom,
            xray,
        })
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
