//! Prometheus metrics (the `prometheus` crate's registry and text encoder): per function,
//! invocations by outcome, their durations, init durations, cold starts, throttles,
//! invocations dropped by recursive loop detection and memory used; environment starts and their latency; the asynchronous queue's events
//! (received, their age at each attempt, dropped, failed dead letters and destination
//! records); functions' EMF lines (values recorded, lines rejected, lines dropped for
//! want of room); and the gauges the server's samplers set (concurrency, warm
//! environments, host pressure, queue depths).

use hearth_model::FastMap;
use std::sync::Mutex;

use hearth_engine::observe::{Ending, Invoked, Start, Started};
use hearth_events::{AsyncReport, Happened};
use prometheus::{
    exponential_buckets, Encoder, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter,
    IntCounterVec, Opts, Registry, TextEncoder,
};

/// Duration buckets, seconds: 100 µs to about 14 minutes.
fn duration_buckets() -> Vec<f64> {
    exponential_buckets(0.0001, 2.5, 18).expect("valid buckets")
}

/// One function's handles, looked up once per invocation.
struct Handles {
    /// By [`Ending`]: success, error, timeout, init error.
    invocations: [IntCounter; 4],
    duration: Histogram,
    init: Histogram,
    cold: IntCounter,
    spillovers: IntCounter,
    memory: Histogram,
    throttles: IntCounter,
}

/// What became of one EMF line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EmfOutcome {
    /// Its values were recorded (this many).
    Recorded(usize),
    /// It breaks the format.
    Rejected,
    /// It was not kept: the queue of lines was full.
    Dropped,
}

/// Hearth's Prometheus registry.
pub struct Prometheus {
    registry: Registry,
    invocations: IntCounterVec,
    duration: HistogramVec,
    init: HistogramVec,
    cold: IntCounterVec,
    spillovers: IntCounterVec,
    memory: HistogramVec,
    throttles: IntCounterVec,
    recursive_dropped: IntCounterVec,
    starts: IntCounterVec,
    start_latency: Histogram,
    async_received: IntCounterVec,
    async_age: HistogramVec,
    async_dropped: IntCounterVec,
    dead_letter_errors: IntCounterVec,
    destination_failures: IntCounterVec,
    emf_values: IntCounterVec,
    emf_rejected: IntCounterVec,
    emf_dropped: IntCounterVec,
    /// Set by samplers: `hearth_<name>{labels}`.
    gauges: Mutex<FastMap<&'static str, GaugeVec>>,
    functions: Mutex<FastMap<String, std::sync::Arc<Handles>>>,
}

const FN: &[&str] = &["account", "function"];

impl Prometheus {
    pub(crate) fn new() -> Self {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter");
            registry.register(Box::new(c.clone())).expect("unique name");
            c
        };
        let histogram = |name: &str, help: &str, buckets: Vec<f64>, labels: &[&str]| {
            let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
                .expect("valid histogram");
            registry.register(Box::new(h.clone())).expect("unique name");
            h
        };
        let start_latency = Histogram::with_opts(
            HistogramOpts::new(
                "hearth_environment_start_seconds",
                "Time from a cold start's request to its environment ready (sandbox and init).",
            )
            .buckets(duration_buckets()),
        )
        .expect("valid histogram");
        registry
            .register(Box::new(start_latency.clone()))
            .expect("unique name");
        let mut labels = FN.to_vec();
        labels.push("outcome");
        let mut reason = FN.to_vec();
        reason.push("reason");
        Self {
            async_received: counter(
                "hearth_async_events_received_total",
                "Events queued for asynchronous invocation (AsyncEventsReceived).",
                FN,
            ),
            async_age: histogram(
                "hearth_async_event_age_seconds",
                "Time from an event's queueing to each attempt to run it (AsyncEventAge).",
                // 1 ms to about 18 hours: an event may wait up to 6.
                exponential_buckets(0.001, 4.0, 14).expect("valid buckets"),
                FN,
            ),
            async_dropped: counter(
                "hearth_async_events_dropped_total",
                "Events dropped without a successful run, by reason (AsyncEventsDropped).",
                &reason,
            ),
            dead_letter_errors: counter(
                "hearth_async_dead_letter_errors_total",
                "Dead letters that could not be sent (DeadLetterErrors).",
                FN,
            ),
            destination_failures: counter(
                "hearth_async_destination_delivery_failures_total",
                "Destination records that could not be sent (DestinationDeliveryFailures).",
                FN,
            ),
            emf_values: counter(
                "hearth_emf_values_total",
                "Metric values recorded from functions' embedded metric format lines.",
                FN,
            ),
            emf_rejected: counter(
                "hearth_emf_rejected_total",
                "Embedded metric format lines that break the format (left as log lines only).",
                FN,
            ),
            emf_dropped: counter(
                "hearth_emf_dropped_total",
                "Embedded metric format lines not extracted: more waited than Hearth holds.",
                FN,
            ),
            invocations: counter(
                "hearth_invocations_total",
                "Invocations that ran, by outcome (success, error, timeout, init_error).",
                &labels,
            ),
            duration: histogram(
                "hearth_invocation_duration_seconds",
                "Invoke phase of each invocation (REPORT's Duration).",
                duration_buckets(),
                FN,
            ),
            init: histogram(
                "hearth_init_duration_seconds",
                "Init phase of each cold start (REPORT's Init Duration).",
                duration_buckets(),
                FN,
            ),
            cold: counter(
                "hearth_cold_starts_total",
                "Invocations that started their environment.",
                FN,
            ),
            spillovers: counter(
                "hearth_provisioned_spillover_invocations_total",
                "Invocations of a version or alias with provisioned concurrency that ran on demand, all of it busy (ProvisionedConcurrencySpilloverInvocations).",
                FN,
            ),
            memory: histogram(
                "hearth_invocation_memory_used_megabytes",
                "Peak memory of the environment at each invocation's end (REPORT's Max Memory Used).",
                exponential_buckets(8.0, 2.0, 12).expect("valid buckets"),
                FN,
            ),
            throttles: counter(
                "hearth_throttles_total",
                "Requests refused for want of concurrency.",
                FN,
            ),
            recursive_dropped: counter(
                "hearth_recursive_invocations_dropped_total",
                "Invocations from SQS or SNS that recursive loop detection dropped (AWS/Lambda RecursiveInvocationsDropped).",
                FN,
            ),
            starts: counter(
                "hearth_environment_starts_total",
                "Environments started, by outcome (ok, failed).",
                &["outcome"],
            ),
            start_latency,
            gauges: Mutex::default(),
            functions: Mutex::default(),
            registry,
        }
    }

    fn handles(&self, function: &str) -> std::sync::Arc<Handles> {
        let mut map = self.functions.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = map.get(function) {
            return h.clone();
        }
        let (account, name) = hearth_model::arn::key_parts(function);
        let l = [account, name];
        let outcome = |o: &str| self.invocations.with_label_values(&[account, name, o]);
        let h = std::sync::Arc::new(Handles {
            invocations: [
                outcome("success"),
                outcome("error"),
                outcome("timeout"),
                outcome("init_error"),
            ],
            duration: self.duration.with_label_values(&l),
            init: self.init.with_label_values(&l),
            cold: self.cold.with_label_values(&l),
            spillovers: self.spillovers.with_label_values(&l),
            memory: self.memory.with_label_values(&l),
            throttles: self.throttles.with_label_values(&l),
        });
        map.insert(function.to_string(), h.clone());
        h
    }

    pub(crate) fn invoked(&self, i: &Invoked<'_>) {
        let h = self.handles(i.function);
        let n = match i.ending {
            Ending::Success => 0,
            Ending::Error => 1,
            Ending::Timeout => 2,
            Ending::InitError => 3,
        };
        h.invocations[n].inc();
        if i.ending != Ending::InitError {
            h.duration.observe(i.duration.as_secs_f64());
            h.memory.observe(i.max_memory_used_mb as f64);
        }
        if let Some(init) = i.init {
            h.init.observe(init.as_secs_f64());
        }
        if i.start == Start::Cold {
            h.cold.inc();
        }
        if i.provisioned_spillover {
            h.spillovers.inc();
        }
    }

    pub(crate) fn throttled(&self, function: &str) {
        self.handles(function).throttles.inc();
    }

    /// Counts an invocation recursive loop detection dropped (rare: no cached handle).
    pub(crate) fn recursive_dropped(&self, function: &str) {
        let (account, name) = hearth_model::arn::key_parts(function);
        self.recursive_dropped
            .with_label_values(&[account, name])
            .inc();
    }

    /// Counts what the async queue reports.
    pub(crate) fn async_report(&self, r: &AsyncReport<'_>) {
        let (account, name) = hearth_model::arn::key_parts(r.function);
        let l = [account, name];
        match r.what {
            Happened::Received => self.async_received.with_label_values(&l).inc(),
            Happened::Attempt { age_ms } => self
                .async_age
                .with_label_values(&l)
                .observe(age_ms as f64 / 1000.0),
            Happened::Dropped(why) => self
                .async_dropped
                .with_label_values(&[account, name, why.as_str()])
                .inc(),
            Happened::DeadLetterError => self.dead_letter_errors.with_label_values(&l).inc(),
            Happened::DestinationDeliveryFailure => {
                self.destination_failures.with_label_values(&l).inc()
            }
        }
    }

    /// Counts what became of one EMF line of `function`.
    pub(crate) fn emf(&self, function: &str, outcome: EmfOutcome) {
        let (account, name) = hearth_model::arn::key_parts(function);
        let l = [account, name];
        match outcome {
            EmfOutcome::Recorded(n) => self.emf_values.with_label_values(&l).inc_by(n as u64),
            EmfOutcome::Rejected => self.emf_rejected.with_label_values(&l).inc(),
            EmfOutcome::Dropped => self.emf_dropped.with_label_values(&l).inc(),
        }
    }

    pub(crate) fn started(&self, s: &Started<'_>) {
        let outcome = if s.ok { "ok" } else { "failed" };
        self.starts.with_label_values(&[outcome]).inc();
        self.start_latency.observe(s.duration.as_secs_f64());
    }

    /// Sets the gauge `name` (made on first use, with `labels`) to `values`, replacing
    /// every value it had: a label set absent from `values` is gone from the output.
    pub fn set_gauge(
        &self,
        name: &'static str,
        help: &str,
        labels: &[&str],
        values: &[(Vec<&str>, f64)],
    ) {
        let mut gauges = self.gauges.lock().unwrap_or_else(|p| p.into_inner());
        let gauge = match gauges.get(name) {
            Some(g) => g.clone(),
            None => {
                let g = GaugeVec::new(Opts::new(name, help), labels).expect("valid gauge");
                if self.registry.register(Box::new(g.clone())).is_err() {
                    tracing::warn!(name, "a gauge of that name is registered already");
                    return;
                }
                gauges.insert(name, g.clone());
                g
            }
        };
        gauge.reset();
        for (l, v) in values {
            gauge.with_label_values(l).set(*v);
        }
    }

    /// Sets the host's gauges from `host` (those it has).
    pub fn set_host(&self, host: &crate::Host) {
        let gauges: [(&'static str, &str, Option<f64>); 6] = [
            (
                "hearth_host_cpu_pressure_ratio",
                "Share of the last 10 s some task waited for a CPU (PSI some avg10).",
                host.cpu_pressure,
            ),
            (
                "hearth_host_memory_pressure_ratio",
                "Share of the last 10 s some task waited for memory (PSI some avg10).",
                host.memory_pressure,
            ),
            (
                "hearth_host_io_pressure_ratio",
                "Share of the last 10 s some task waited for I/O (PSI some avg10).",
                host.io_pressure,
            ),
            (
                "hearth_host_memory_total_bytes",
                "The host's memory.",
                host.memory_total_bytes.map(|b| b as f64),
            ),
            (
                "hearth_host_memory_available_bytes",
                "Memory available for new work (MemAvailable).",
                host.memory_available_bytes.map(|b| b as f64),
            ),
            (
                "hearth_host_load1",
                "The 1-minute load average.",
                host.load1,
            ),
        ];
        for (name, help, value) in gauges {
            let values: Vec<(Vec<&str>, f64)> = value.map(|v| (vec![], v)).into_iter().collect();
            self.set_gauge(name, help, &[], &values);
        }
    }

    /// The registry itself, for collectors of other modules.
    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The registry in Prometheus's text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "cannot encode the Prometheus metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hearth_model::settings::TracingMode;

    use super::*;

    #[test]
    fn an_invocation_shows_in_the_text_format() {
        let p = Prometheus::new();
        p.invoked(&Invoked {
            function: "f",
            qualifier: None,
            executed_version: "$LATEST",
            request_id: "r",
            trace_header: "",
            tracing: TracingMode::PassThrough,
            start_ms: 0,
            duration: Duration::from_millis(3),
            init: Some(Duration::from_millis(120)),
            post_runtime_extensions: None,
            start: Start::Cold,
            provisioned_spillover: true,
            ending: Ending::Success,
            queued: None,
            memory_mb: 128,
            max_memory_used_mb: 30,
            ephemeral_storage_mb: 512,
            architecture: "x86_64",
            runtime: "python3.12",
        });
        p.throttled("f");
        p.recursive_dropped("f");
        p.set_gauge(
            "hearth_warm_environments",
            "Idle warm environments.",
            &["function"],
            &[(vec!["f"], 2.0)],
        );
        let text = p.render();
        for line in [
            "hearth_invocations_total{account=\"000000000000\",function=\"f\",outcome=\"success\"} 1",
            "hearth_invocations_total{account=\"000000000000\",function=\"f\",outcome=\"error\"} 0",
            "hearth_cold_starts_total{account=\"000000000000\",function=\"f\"} 1",
            "hearth_provisioned_spillover_invocations_total{account=\"000000000000\",function=\"f\"} 1",
            "hearth_throttles_total{account=\"000000000000\",function=\"f\"} 1",
            "hearth_recursive_invocations_dropped_total{account=\"000000000000\",function=\"f\"} 1",
            "hearth_invocation_duration_seconds_count{account=\"000000000000\",function=\"f\"} 1",
            "hearth_init_duration_seconds_sum{account=\"000000000000\",function=\"f\"} 0.12",
            "hearth_warm_environments{function=\"f\"} 2",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
        p.set_gauge("hearth_warm_environments", "", &["function"], &[]);
        assert!(!p.render().contains("hearth_warm_environments{"));
    }
}
