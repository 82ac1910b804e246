//! X-Ray tracing as Lambda does it, exported over OTLP: every invocation's trace header
//! decided from the caller's (continued) and the function's `TracingConfig` (Active
//! samples with X-Ray's default rule, per function), and for each sampled invocation of
//! an Active function the `AWS::Lambda` and `AWS::Lambda::Function` segments, sent to the
//! operator's collector. Without a collector configured, headers are still decided and
//! nothing is recorded or kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hearth_engine::observe::{Ending, Invoked, Start};
use hearth_model::arn::{function_arn, key_parts};
use hearth_model::settings::TracingMode;
use hearth_traces::{
    continue_trace, platform_segments, ExportConfig, Exporter, FunctionResource, InitTimes,
    InvocationAttributes, InvocationInfo, InvocationTimes, InvocationTrace, Outcome, Sampler,
    SegmentId, TraceHeader,
};

/// Decisions waiting for their invocation's end are kept at most this many: an
/// invocation that never ends (its environment failed before it ran) leaves one behind.
const PENDING_MAX: usize = 10_000;

/// A decision waiting for its invocation's end.
struct Pending {
    trace: InvocationTrace,
    received: SystemTime,
}

/// The tracing side of the observatory.
pub(crate) struct Tracer {
    samplers: Mutex<HashMap<String, Arc<Sampler>>>,
    pending: Mutex<HashMap<String, Pending>>,
    exporter: Option<Exporter>,
    resources: Mutex<HashMap<String, Arc<FunctionResource>>>,
}

impl Tracer {
    /// A tracer exporting to `config`'s collector (must run inside the tokio runtime
    /// then), or recording nothing without one.
    pub(crate) fn new(config: Option<&ExportConfig>) -> Result<Self, hearth_traces::ExportError> {
        Ok(Self {
            samplers: Mutex::default(),
            pending: Mutex::default(),
            exporter: config.map(Exporter::start).transpose()?,
            resources: Mutex::default(),
        })
    }

    fn sampler(&self, function: &str) -> Arc<Sampler> {
        let mut samplers = self.samplers.lock().unwrap_or_else(|p| p.into_inner());
        samplers
            .entry(function.to_string())
            .or_insert_with(|| Arc::new(Sampler::default()))
            .clone()
    }

    /// The header the runtime gets (see the module's documentation).
    pub(crate) fn header(
        &self,
        request_id: &str,
        function: &str,
        tracing: TracingMode,
        incoming: Option<&str>,
    ) -> String {
        let now = SystemTime::now();
        let incoming: Option<TraceHeader> = incoming.and_then(|h| h.parse().ok());
        let mode = match tracing {
            TracingMode::Active => hearth_traces::TracingMode::Active,
            TracingMode::PassThrough => hearth_traces::TracingMode::PassThrough,
        };
        let trace = continue_trace(incoming.as_ref(), mode, now, || {
            self.sampler(function).sample(now)
        });
        let header = trace.function_header().to_string();
        if trace.record_platform_segments && self.exporter.is_some() {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            if pending.len() >= PENDING_MAX {
                let cutoff = now - Duration::from_secs(900);
                pending.retain(|_, p| p.received > cutoff);
            }
            if pending.len() < PENDING_MAX {
                let received = now;
                pending.insert(request_id.to_string(), Pending { trace, received });
            }
        }
        header
    }

    /// Records the platform's segments of a sampled invocation.
    pub(crate) fn invoked(&self, i: &Invoked<'_>) {
        let Some(exporter) = &self.exporter else {
            return;
        };
        let pending = {
            let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            map.remove(i.request_id)
        };
        let Some(Pending { trace, received }) = pending else {
            return;
        };
        let (_, name) = key_parts(i.function);
        let start = UNIX_EPOCH + Duration::from_millis(i.start_ms.max(0) as u64);
        let (invocation_start, invocation_end) = match i.ending {
            // No invoke phase: the init was all there was.
            Ending::InitError => (start, start),
            _ => (start, start + i.duration),
        };
        let init = match (i.start, i.init) {
            (Start::Cold, Some(d)) => Some(InitTimes {
                start: invocation_start.checked_sub(d).unwrap_or(invocation_start),
                end: invocation_start,
            }),
            _ => None,
        };
        let outcome = match i.ending {
            Ending::Success => Outcome::Success,
            Ending::Error | Ending::Timeout | Ending::InitError => Outcome::FunctionError {
                error_type: None,
                message: None,
            },
        };
        let times = InvocationTimes {
            received: received.min(init.map_or(invocation_start, |t| t.start)),
            queued: None,
            init,
            invocation_start,
            invocation_end,
            overhead_end: None,
            response_sent: SystemTime::now().max(invocation_end),
            outcome,
        };
        let info = InvocationInfo {
            function_name: name.to_string(),
            function_arn: function_arn(i.function, i.qualifier),
            request_id: i.request_id.to_string(),
        };
        let segments = platform_segments(&trace, &info, &times, SegmentId::new);
        let resource = self.resource(i.function, i.executed_version);
        let attributes = InvocationAttributes {
            request_id: Some(i.request_id.to_string()),
            cold_start: Some(i.start == Start::Cold),
        };
        exporter.record(&resource, attributes, segments.to_vec());
    }

    /// Whether traces go anywhere (a collector is configured).
    pub(crate) fn exports(&self) -> bool {
        self.exporter.is_some()
    }

    /// Records a function's own segment document, received by its environment's daemon.
    pub(crate) fn received(&self, function: &str, version: &str, segment: hearth_traces::Segment) {
        if let Some(exporter) = &self.exporter {
            let attributes = InvocationAttributes {
                request_id: None,
                cold_start: None,
            };
            exporter.record(&self.resource(function, version), attributes, vec![segment]);
        }
    }

    fn resource(&self, function: &str, version: &str) -> Arc<FunctionResource> {
        let key = format!("{function}#{version}");
        let mut resources = self.resources.lock().unwrap_or_else(|p| p.into_inner());
        resources
            .entry(key)
            .or_insert_with(|| {
                let (_, name) = key_parts(function);
                Arc::new(FunctionResource {
                    function_name: name.to_string(),
                    function_version: Some(version.to_string()),
                    region: Some(hearth_model::arn::REGION.to_string()),
                })
            })
            .clone()
    }

    /// What the exporter did so far (exported, dropped, failed spans), if one runs.
    pub(crate) fn stats(&self) -> Option<hearth_traces::ExportStats> {
        self.exporter.as_ref().map(Exporter::stats)
    }
}
