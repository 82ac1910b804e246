//! What Hearth shows of its work: the engine's reports ([`hearth_engine::observe`]) turned
//! into Prometheus metrics (`GET /metrics`), the `AWS/Lambda` CloudWatch metrics AWS
//! publishes for every function, and metering as AWS bills it, per function version and
//! day. [`Observatory`] is the engine's observer; the server renders and flushes it.
//!
//! The invocation path only counts: one short lock on its function's [`table`] entry and
//! a few atomic adds. Everything else (CloudWatch series, metering rows, host samples,
//! environments' use of the host, provisioned time) happens when the server flushes, off
//! that path.

mod host;
mod housekeeping;
mod lambda;
mod metering;
mod prom;
mod table;
mod usage;

use std::sync::Arc;

use hearth_engine::observe::{HostUse, Invoked, Observer, ProvisionedVersion, Started};

pub use host::Host;
pub use housekeeping::{FlushNow, Housekeeping, Running};
pub use lambda::{MetricSink, NAMESPACE};
pub use prom::Prometheus;

/// The engine's observer: counts every invocation, throttle and environment start for
/// Prometheus, CloudWatch and metering.
pub struct Observatory {
    prom: Prometheus,
    table: table::Table,
    provisioned: usage::ProvisionedClock,
}

impl Observatory {
    pub fn new() -> Arc<Self> {
        let prom = Prometheus::new();
        Arc::new(Self {
            table: table::Table::default(),
            provisioned: usage::ProvisionedClock::default(),
            prom,
        })
    }

    /// The Prometheus registry, for `GET /metrics` and the samplers that set its gauges.
    pub fn prometheus(&self) -> &Prometheus {
        &self.prom
    }

    /// Counts, on the day of `now_ms`, what environments used of the host (sampled by
    /// the engine) and the provisioned concurrency configured since the last call.
    pub fn count_use(
        &self,
        host: &[HostUse],
        provisioned: &[ProvisionedVersion],
        now: std::time::Instant,
        now_ms: i64,
    ) {
        usage::count_host_use(&self.table, host, now_ms);
        self.provisioned
            .count(&self.table, provisioned, now, now_ms);
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
}
