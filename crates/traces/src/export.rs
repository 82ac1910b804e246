//! OpenTelemetry export of segments (Hearth's own and functions'), over OTLP/gRPC or
//! OTLP/HTTP with protobuf bodies, off the callers' tasks.
//!
//! [`Exporter::record`] never waits: it puts the documents on a bounded queue, or, when the
//! queue is full (the collector is slow or down), drops them and counts the spans lost. A
//! worker task converts them to spans ([`crate::to_spans`]), batches them, and exports each
//! batch per function (each function is its own OTLP resource, `service.name` = its name).
//! When no endpoint is configured the caller creates no [`Exporter`], and tracing costs
//! nothing.
//!
//! The operator's settings, read by the caller (see [`ExportConfig::from_settings`]):
//! - `HEARTH_OTLP_ENDPOINT`: the collector, e.g. `http://collector:4317` for gRPC or
//!   `http://collector:4318` for HTTP (where `/v1/traces` is appended, as
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` does). Unset or empty: no export.
//! - `HEARTH_OTLP_PROTOCOL`: `grpc` (the default) or `http/protobuf`.
//!
//! The OTLP exporter crate still reads `OTEL_EXPORTER_OTLP_HEADERS`, `_TIMEOUT` and
//! `_COMPRESSION` from the environment for what is not set here.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::trace::{SpanData, SpanExporter as _};
use opentelemetry_sdk::Resource;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::segment::Segment;
use crate::spans::{to_spans, InvocationAttributes};

/// Why export could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// `HEARTH_OTLP_PROTOCOL` is neither `grpc` nor `http/protobuf`.
    #[error("unsupported OTLP protocol `{0}` (expected `grpc` or `http/protobuf`)")]
    Protocol(String),
    /// The OTLP exporter refused the configuration (e.g. an endpoint that is not a URL).
    #[error("cannot build the OTLP exporter: {0}")]
    Build(#[from] opentelemetry_otlp::ExporterBuildError),
}

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtlpProtocol {
    /// OTLP over gRPC (tonic), usually port 4317.
    #[default]
    Grpc,
    /// OTLP over HTTP with protobuf bodies, usually port 4318.
    HttpProtobuf,
}

impl FromStr for OtlpProtocol {
    type Err = ExportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "grpc" => Ok(OtlpProtocol::Grpc),
            "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
            other => Err(ExportError::Protocol(other.to_owned())),
        }
    }
}

/// Where and how to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportConfig {
    /// The collector's URL (for HTTP, its base: `/v1/traces` is appended).
    pub endpoint: String,
    /// The transport.
    pub protocol: OtlpProtocol,
    /// Record calls that may wait for the worker before further ones are dropped.
    pub queue_capacity: usize,
    /// Spans sent in one export request at most; a full batch is sent at once.
    pub max_batch_size: usize,
    /// How long a span may wait for its batch to fill.
    pub flush_interval: Duration,
    /// How long one export request may take.
    pub timeout: Duration,
}

impl ExportConfig {
    /// A configuration with the default queue (2048 records), batch (512 spans), flush
    /// interval (1 s) and timeout (10 s): the OpenTelemetry batch processor's defaults,
    /// with a shorter delay.
    pub fn new(endpoint: impl Into<String>, protocol: OtlpProtocol) -> Self {
        ExportConfig {
            endpoint: endpoint.into(),
            protocol,
            queue_capacity: 2048,
            max_batch_size: 512,
            flush_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
        }
    }

    /// The configuration from the operator's `HEARTH_OTLP_ENDPOINT` and
    /// `HEARTH_OTLP_PROTOCOL` values; `None` when there is no endpoint.
    pub fn from_settings(
        endpoint: Option<&str>,
        protocol: Option<&str>,
    ) -> Result<Option<Self>, ExportError> {
        let Some(endpoint) = endpoint.map(str::trim).filter(|e| !e.is_empty()) else {
            return Ok(None);
        };
        let protocol = match protocol.map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => p.parse()?,
            None => OtlpProtocol::default(),
        };
        Ok(Some(ExportConfig::new(endpoint, protocol)))
    }

    /// The URL the exporter posts to.
    fn url(&self) -> String {
        match self.protocol {
            OtlpProtocol::Grpc => self.endpoint.clone(),
            OtlpProtocol::HttpProtobuf => {
                let base = self.endpoint.trim_end_matches('/');
                if base.ends_with("/v1/traces") {
                    base.to_owned()
                } else {
                    format!("{base}/v1/traces")
                }
            }
        }
    }
}

/// The function whose spans these are: its OTLP resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FunctionResource {
    /// `service.name` and `faas.name`.
    pub function_name: String,
    /// `faas.version`, when known.
    pub function_version: Option<String>,
    /// `cloud.region`, when Hearth is configured with one.
    pub region: Option<String>,
}

impl FunctionResource {
    /// A resource for `function_name` with no version or region.
    pub fn new(function_name: impl Into<String>) -> Self {
        FunctionResource {
            function_name: function_name.into(),
            function_version: None,
            region: None,
        }
    }

    /// The OTLP resource's attributes.
    pub fn attributes(&self) -> Vec<KeyValue> {
        let mut attributes = vec![
            KeyValue::new("service.name", self.function_name.clone()),
            KeyValue::new("cloud.provider", "aws"),
            KeyValue::new("cloud.platform", "aws_lambda"),
            KeyValue::new("faas.name", self.function_name.clone()),
        ];
        if let Some(version) = &self.function_version {
            attributes.push(KeyValue::new("faas.version", version.clone()));
        }
        if let Some(region) = &self.region {
            attributes.push(KeyValue::new("cloud.region", region.clone()));
        }
        attributes
    }

    fn resource(&self) -> Resource {
        Resource::builder_empty()
            .with_attributes(self.attributes())
            .build()
    }
}

/// What the exporter has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// Spans handed to the collector.
    pub exported: u64,
    /// Spans dropped because the queue was full or the worker gone.
    pub dropped: u64,
    /// Spans in export requests that failed (collector down, refused, timed out).
    pub failed: u64,
}

#[derive(Debug, Default)]
struct Counters {
    exported: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
}

struct Record {
    function: Arc<FunctionResource>,
    invocation: InvocationAttributes,
    documents: Vec<Segment>,
}

enum Command {
    Record(Record),
    Flush(oneshot::Sender<()>),
}

/// The running export: a bounded queue and the worker behind it.
#[derive(Debug)]
pub struct Exporter {
    queue: mpsc::Sender<Command>,
    counters: Arc<Counters>,
    worker: JoinHandle<()>,
}

impl Exporter {
    /// Builds the OTLP exporter and starts the worker on the current Tokio runtime. No
    /// connection is made until the first batch.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn start(config: &ExportConfig) -> Result<Self, ExportError> {
        let builder = opentelemetry_otlp::SpanExporter::builder();
        let exporter = match config.protocol {
            OtlpProtocol::Grpc => builder
                .with_tonic()
                .with_endpoint(config.url())
                .with_timeout(config.timeout)
                .build()?,
            OtlpProtocol::HttpProtobuf => builder
                .with_http()
                .with_endpoint(config.url())
                .with_protocol(Protocol::HttpBinary)
                .with_timeout(config.timeout)
                .build()?,
        };
        let (queue, receiver) = mpsc::channel(config.queue_capacity.max(1));
        let counters = Arc::new(Counters::default());
        let worker = tokio::spawn(run(
            exporter,
            receiver,
            Arc::clone(&counters),
            config.max_batch_size.max(1),
            config.flush_interval,
        ));
        Ok(Exporter {
            queue,
            counters,
            worker,
        })
    }

    /// Queues `documents` (segments, or subsegments sent alone) of one function's
    /// invocation for export, without waiting; drops and counts them when the queue is full.
    pub fn record(
        &self,
        function: &Arc<FunctionResource>,
        invocation: InvocationAttributes,
        documents: Vec<Segment>,
    ) {
        let record = Record {
            function: Arc::clone(function),
            invocation,
            documents,
        };
        if let Err(error) = self.queue.try_send(Command::Record(record)) {
            let (mpsc::error::TrySendError::Full(command)
            | mpsc::error::TrySendError::Closed(command)) = error;
            if let Command::Record(record) = command {
                let spans: usize = record.documents.iter().map(count).sum();
                self.counters
                    .dropped
                    .fetch_add(spans as u64, Ordering::Relaxed);
            }
        }
    }

    /// Exports everything queued so far and waits until the collector answered (or the
    /// export failed). For tests and an orderly stop; invocations never call it.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.queue.send(Command::Flush(done)).await.is_ok() {
            // An error means the worker stopped, and with it everything it held.
            let _ = wait.await;
        }
    }

    /// Counts so far.
    pub fn stats(&self) -> ExportStats {
        ExportStats {
            exported: self.counters.exported.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
        }
    }

    /// Flushes, then stops the worker and the OTLP exporter.
    pub async fn shutdown(self) {
        self.flush().await;
        let Exporter { queue, worker, .. } = self;
        drop(queue);
        if let Err(error) = worker.await {
            tracing::warn!(%error, "the span export worker failed");
        }
    }
}

/// The number of spans a document can become (itself and every subsegment).
fn count(document: &Segment) -> usize {
    1 + document.subsegments.iter().map(count).sum::<usize>()
}

async fn run(
    mut exporter: opentelemetry_otlp::SpanExporter,
    mut receiver: mpsc::Receiver<Command>,
    counters: Arc<Counters>,
    max_batch_size: usize,
    flush_interval: Duration,
) {
    let mut pending: Vec<(Arc<FunctionResource>, SpanData)> = Vec::new();
    let mut ticker = tokio::time::interval(flush_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            command = receiver.recv() => match command {
                Some(Command::Record(record)) => {
                    for document in &record.documents {
                        for span in to_spans(document, &record.invocation) {
                            pending.push((Arc::clone(&record.function), span));
                        }
                    }
                    if pending.len() >= max_batch_size {
                        export(&mut exporter, &mut pending, &counters).await;
                    }
                }
                Some(Command::Flush(done)) => {
                    export(&mut exporter, &mut pending, &counters).await;
                    let _ = done.send(());
                }
                None => break,
            },
            _ = ticker.tick() => {
                if !pending.is_empty() {
                    export(&mut exporter, &mut pending, &counters).await;
                }
            }
        }
    }
    export(&mut exporter, &mut pending, &counters).await;
    if let Err(error) = exporter.shutdown() {
        tracing::debug!(%error, "OTLP exporter shutdown");
    }
}

/// Sends `pending` in requests of one function each (a request carries one resource here).
async fn export(
    exporter: &mut opentelemetry_otlp::SpanExporter,
    pending: &mut Vec<(Arc<FunctionResource>, SpanData)>,
    counters: &Counters,
) {
    let mut by_function: BTreeMap<Arc<FunctionResource>, Vec<SpanData>> = BTreeMap::new();
    for (function, span) in pending.drain(..) {
        by_function.entry(function).or_default().push(span);
    }
    for (function, spans) in by_function {
        let n = spans.len() as u64;
        exporter.set_resource(&function.resource());
        match exporter.export(spans).await {
            Ok(()) => counters.exported.fetch_add(n, Ordering::Relaxed),
            Err(error) => {
                tracing::warn!(%error, spans = n, "OTLP span export failed");
                counters.failed.fetch_add(n, Ordering::Relaxed)
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_choose_the_protocol_and_nothing_without_an_endpoint() {
        assert_eq!(
            ExportConfig::from_settings(None, Some("grpc")).expect("valid"),
            None
        );
        assert_eq!(
            ExportConfig::from_settings(Some("  "), None).expect("valid"),
            None
        );
        let grpc = ExportConfig::from_settings(Some("http://c:4317"), None)
            .expect("valid")
            .expect("configured");
        assert_eq!(grpc.protocol, OtlpProtocol::Grpc);
        assert_eq!(grpc.url(), "http://c:4317");
        let http = ExportConfig::from_settings(Some("http://c:4318/"), Some("http/protobuf"))
            .expect("valid")
            .expect("configured");
        assert_eq!(http.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(http.url(), "http://c:4318/v1/traces");
        let full = ExportConfig::new("http://c:4318/v1/traces", OtlpProtocol::HttpProtobuf);
        assert_eq!(full.url(), "http://c:4318/v1/traces");
        assert_eq!(
            ExportConfig::from_settings(Some("http://c"), Some("http/json"))
                .expect_err("unsupported")
                .to_string(),
            "unsupported OTLP protocol `http/json` (expected `grpc` or `http/protobuf`)"
        );
    }

    #[test]
    fn a_function_is_its_own_resource() {
        let mut function = FunctionResource::new("orders");
        function.function_version = Some("$LATEST".to_owned());
        function.region = Some("eu-west-1".to_owned());
        assert_eq!(
            function.attributes(),
            vec![
                KeyValue::new("service.name", "orders"),
                KeyValue::new("cloud.provider", "aws"),
                KeyValue::new("cloud.platform", "aws_lambda"),
                KeyValue::new("faas.name", "orders"),
                KeyValue::new("faas.version", "$LATEST"),
                KeyValue::new("cloud.region", "eu-west-1"),
            ]
        );
    }

    fn document(id: &str) -> Segment {
        let mut segment = Segment::new("s", id, 1.0, 2.0);
        segment.trace_id = Some("1-5759e988-bd862e3fe1be46a994272793".to_owned());
        segment
            .subsegments
            .push(Segment::new("c", "00000000000000ff", 1.0, 2.0));
        segment
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_without_waiting() {
        // Nothing listens on this port; a current-thread runtime never runs the worker
        // while this test holds the thread, so the queue's one slot fills at once.
        let mut config = ExportConfig::new("http://127.0.0.1:9", OtlpProtocol::HttpProtobuf);
        config.queue_capacity = 1;
        config.timeout = Duration::from_millis(200);
        let exporter = Exporter::start(&config).expect("started");
        let function = Arc::new(FunctionResource::new("f"));
        for id in ["0000000000000001", "0000000000000002", "0000000000000003"] {
            exporter.record(
                &function,
                InvocationAttributes::default(),
                vec![document(id)],
            );
        }
        assert_eq!(
            exporter.stats(),
            ExportStats {
                exported: 0,
                dropped: 4,
                failed: 0
            }
        );
        // The queued one reaches the (absent) collector and fails; nothing waits forever.
        exporter.flush().await;
        assert_eq!(
            exporter.stats(),
            ExportStats {
                exported: 0,
                dropped: 4,
                failed: 2
            }
        );
        exporter.shutdown().await;
    }
}
