//! What Hearth shows of its work: the engine's reports ([`hearth_engine::observe`]) turned
//! into Prometheus metrics (`GET /metrics`), the `AWS/Lambda` CloudWatch metrics AWS
//! publishes for every function (the asynchronous queue's among them, from its
//! reports), functions' Embedded Metric Format lines extracted into CloudWatch, and
//! metering as AWS bills it, per function version and day; and each environment's X-Ray
//! daemon, whose segment documents go to the server's [`SegmentSink`]. [`Observatory`] is
//! the engine's observer and the async queue's, and what the mappings' pollers count
//! their events into; the server renders and flushes it. The `AWS/SQS` metrics and the
//! store writer's commits are read from SQS and the writer (`queues.rs`, `commits.rs`).
//!
//! The invocation path only counts: one short lock on its function's [`table`] entry and
//! a few atomic adds. Everything else (CloudWatch series, metering rows, host samples,
//! environments' use of the host, provisioned time) happens when the server flushes, off
//! that path.

mod commits;
mod emf;
mod host;
mod housekeeping;
mod lambda;
mod metering;
mod prom;
mod queues;
mod sources;
mod table;
#[cfg(test)]
mod test_sink;
mod tracer;
mod usage;
mod xray;

use std::sync::Arc;

use hearth_engine::observe::{
    DaemonGuard, Daemonized, HostUse, Invoked, Observer, ProvisionedVersion, Started,
};
use hearth_events::{AsyncObserver, AsyncReport};

use crate::prom::EmfOutcome;

pub use emf::EmfSink;
pub use host::Host;
pub use housekeeping::{FlushNow, Housekeeping, Running, EVALUATE_EVERY};
pub use lambda::{MetricSink, NAMESPACE};
pub use prom::Prometheus;
pub use queues::{publish_activity, publish_depths, Backlog, SQS_NAMESPACE};
pub use xray::{SegmentSink, SegmentSource};

/// The engine's observer: counts every invocation, throttle and environment start for
/// Prometheus, CloudWatch and metering, holds functions' EMF lines for CloudWatch, runs
/// environments' X-Ray daemons, and (as the async queue's observer) counts what happens to
/// asynchronous events.
pub struct Observatory {
    prom: Prometheus,
    table: table::Table,
    emf: emf::EmfQueue,
    tracer: Arc<tracer::Tracer>,
    xray: xray::Daemons,
    provisioned: usage::ProvisionedClock,
    /// The event counts of mappings with `MetricsConfig`.
    mappings: sources::MappingCounts,
    commits: commits::Commits,
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
        let commits = commits::Commits::new(prom.registry());
        Arc::new(Self {
            mappings: sources::MappingCounts::default(),
            commits,
            table: table::Table::default(),
            emf: emf::EmfQueue::default(),
            provisioned: usage::ProvisionedClock::default(),
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

    /// What the store's writer is to tell of each commit (`Writer::on_commit`).
    pub fn commit_hook(&self) -> hearth_store::CommitHook {
        self.commits.hook()
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
        self.mappings.publish(sink);
        metering::rows(&drained)
    }

    /// Extracts the EMF lines held since the last call into `sink` (CloudWatch).
    pub fn flush_emf(&self, sink: &dyn EmfSink) {
        self.emf.flush(sink, &self.prom);
    }
}

impl AsyncObserver for Observatory {
    fn report(&self, r: &AsyncReport<'_>) {
        self.prom.async_report(r);
        self.table.async_report(r);
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

    fn watches_next(&self, request_id: &str) -> bool {
        self.tracer.watches_next(request_id)
    }

    fn next_requested(&self, request_id: &str, at: Option<std::time::SystemTime>) {
        self.tracer.next_requested(request_id, at)
    }

    fn throttled(&self, function: &str, qualifier: Option<&str>) {
        self.prom.throttled(function);
        self.table.throttled(function, qualifier);
    }

    fn recursive_invocation_dropped(&self, function: &str) {
        self.prom.recursive_dropped(function);
        self.table
            .recursive_dropped(function, hearth_model::time::now_ms());
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

    fn metric_line(&self, function: &str, line: &str) {
        if !self.emf.push(function, line) {
            self.prom.emf(function, EmfOutcome::Dropped);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use hearth_events::{DropReason, Happened};

    use super::*;

    use crate::test_sink::Sink;

    /// (name, dimensions, unit, count, sum) of what was published.
    type Row = (String, Vec<(String, String)>, &'static str, f64, f64);

    fn rows(sink: Sink) -> Vec<Row> {
        sink.rows()
            .into_iter()
            .map(|(_, n, d, u, _, count, sum)| (n, d, u, count, sum))
            .collect()
    }

    #[test]
    fn the_async_queues_reports_become_cloudwatch_and_prometheus_counts() {
        let o = Observatory::new();
        let report = |what, at_ms| {
            o.report(&AsyncReport {
                function: "f",
                qualifier: None,
                at_ms,
                what,
            })
        };
        // A retried event that then failed, with a dead letter and a record lost.
        report(Happened::Received, 60_000);
        report(Happened::Attempt { age_ms: 4 }, 60_004);
        report(Happened::Attempt { age_ms: 61_000 }, 121_000);
        report(Happened::Dropped(DropReason::RetriesExhausted), 121_010);
        report(Happened::DeadLetterError, 121_020);
        report(Happened::DestinationDeliveryFailure, 121_030);
        let sink = Sink::default();
        assert!(o.flush(&sink).is_empty(), "no metering");
        let mut got = rows(sink);
        got.sort_by(|a, b| a.0.cmp(&b.0).then(a.4.total_cmp(&b.4)));
        let f = vec![("FunctionName".to_string(), "f".to_string())];
        let row = |n: &str, u, c, s| (n.to_string(), f.clone(), u, c, s);
        assert_eq!(
            got,
            vec![
                row("AsyncEventAge", "Milliseconds", 1.0, 4.0),
                row("AsyncEventAge", "Milliseconds", 1.0, 61_000.0),
                row("AsyncEventsDropped", "Count", 1.0, 1.0),
                row("AsyncEventsReceived", "Count", 1.0, 1.0),
                row("DeadLetterErrors", "Count", 1.0, 1.0),
                row("DestinationDeliveryFailures", "Count", 1.0, 1.0),
            ]
        );
        let text = o.prometheus().render();
        let l = "account=\"000000000000\",function=\"f\"";
        for line in [
            format!("hearth_async_events_received_total{{{l}}} 1"),
            format!("hearth_async_event_age_seconds_count{{{l}}} 2"),
            format!("hearth_async_event_age_seconds_sum{{{l}}} 61.004"),
            format!("hearth_async_events_dropped_total{{{l},reason=\"retries_exhausted\"}} 1"),
            format!("hearth_async_dead_letter_errors_total{{{l}}} 1"),
            format!("hearth_async_destination_delivery_failures_total{{{l}}} 1"),
        ] {
            assert!(
                text.lines().any(|x| x == line),
                "{line} missing from\n{text}"
            );
        }
    }

    #[test]
    fn emf_lines_wait_for_the_flush_and_beyond_room_are_counted_dropped() {
        struct Count(Mutex<Vec<String>>);
        impl EmfSink for Count {
            fn record_emf(
                &self,
                _account: &str,
                line: &str,
            ) -> Result<usize, hearth_metrics::EmfError> {
                self.0.lock().expect("sink").push(line.into());
                Ok(1)
            }
        }
        let o = Observatory::new();
        o.metric_line("f", r#"{"_aws":{}}"#);
        let sink = Count(Mutex::default());
        o.flush_emf(&sink);
        assert_eq!(*sink.0.lock().expect("sink"), [r#"{"_aws":{}}"#]);
        let big = "x".repeat(20 * 1024 * 1024);
        o.metric_line("f", &big);
        o.metric_line("f", &big);
        let text = o.prometheus().render();
        let line = "hearth_emf_dropped_total{account=\"000000000000\",function=\"f\"} 1";
        assert!(text.lines().any(|x| x == line), "{text}");
    }
}
