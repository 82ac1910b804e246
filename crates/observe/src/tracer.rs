//! X-Ray tracing as Lambda does it, exported over OTLP: every invocation's trace header
//! decided from the caller's (continued) and the function's `TracingConfig` (Active
//! samples with X-Ray's default rule, per function), and for each sampled invocation of
//! an Active function the `AWS::Lambda` and `AWS::Lambda::Function` segments, sent to the
//! operator's collector. Without a collector configured, headers are still decided and
//! nothing is recorded or kept.
//!
//! A queued event's `Dwell Time` runs from its acceptance (as the engine reports it) to
//! the start of its run here. The function segment's `Overhead` ends when the runtime
//! asks for its next event, which comes after the caller was answered: the segments of
//! a traced invocation wait for it (see `Observer::next_requested`) and are recorded
//! then, or without `Overhead` when it does not come.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hearth_engine::observe::{Ending, Invoked, Start};
use hearth_model::arn::{function_arn, key_parts};
use hearth_model::settings::TracingMode;
use hearth_traces::{
    continue_trace, platform_segments, ExportConfig, Exporter, FunctionResource, InitTimes,
    InvocationAttributes, InvocationInfo, InvocationTimes, InvocationTrace, Outcome, Queued,
    Sampler, SegmentId, TraceHeader,
};

/// Decisions waiting for their invocation's end are kept at most this many: an
/// invocation that never ends (its environment failed before it ran) leaves one behind.
const PENDING_MAX: usize = 10_000;

/// A decision waiting for its invocation's end.
struct Pending {
    trace: InvocationTrace,
    received: SystemTime,
    /// Whether the engine reports the runtime's next request after it (its `Overhead`).
    watches_next: bool,
}

/// An invocation's segments, but for their `Overhead`: what is recorded once the
/// runtime asks for its next event.
struct Unfinished {
    trace: InvocationTrace,
    info: InvocationInfo,
    times: InvocationTimes,
    resource: Arc<FunctionResource>,
    attributes: InvocationAttributes,
}

/// Invocations whose segments wait for their runtime's next request, at most
/// [`PENDING_MAX`]: the engine reports each (with or without an instant) within the
/// invocation's timeout.
#[derive(Default)]
struct AwaitingNext(HashMap<String, Unfinished>);

impl AwaitingNext {
    /// Holds `u` until [`AwaitingNext::finish`]; hands it back when full (it is
    /// recorded at once, without `Overhead`).
    fn hold(&mut self, request_id: String, u: Unfinished) -> Option<Unfinished> {
        if self.0.len() >= PENDING_MAX {
            return Some(u);
        }
        self.0.insert(request_id, u);
        None
    }

    /// The invocation `request_id`'s segments, with their `Overhead` ending at `next`
    /// (no earlier than the invocation's end: the two clocks differ), if held.
    fn finish(&mut self, request_id: &str, next: Option<SystemTime>) -> Option<Unfinished> {
        let mut u = self.0.remove(request_id)?;
        u.times.overhead_end = next.map(|at| at.max(u.times.invocation_end));
        Some(u)
    }
}

/// The tracing side of the observatory.
pub(crate) struct Tracer {
    samplers: Mutex<HashMap<String, Arc<Sampler>>>,
    pending: Mutex<HashMap<String, Pending>>,
    awaiting_next: Mutex<AwaitingNext>,
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
            awaiting_next: Mutex::default(),
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
        // Room for Root, Parent and Sampled (90 bytes) and some more.
        let mut header = String::with_capacity(128);
        // Writing to a String cannot fail.
        let _ = write!(header, "{}", trace.function_header());
        if trace.record_platform_segments && self.exporter.is_some() {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            if pending.len() >= PENDING_MAX {
                let cutoff = now - Duration::from_secs(900);
                pending.retain(|_, p| p.received > cutoff);
            }
            if pending.len() < PENDING_MAX {
                let p = Pending {
                    trace,
                    received: now,
                    watches_next: false,
                };
                pending.insert(request_id.to_string(), p);
            }
        }
        header
    }

    /// Whether the segments of invocation `request_id` wait for its runtime's next
    /// request (it is sampled and recorded): then the engine reports it.
    pub(crate) fn watches_next(&self, request_id: &str) -> bool {
        if self.exporter.is_none() {
            return false;
        }
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.get_mut(request_id).is_some_and(|p| {
            p.watches_next = true;
            true
        })
    }

    /// Records the platform's segments of a sampled invocation, or holds them for their
    /// `Overhead` when the engine reports the runtime's next request.
    pub(crate) fn invoked(&self, i: &Invoked<'_>) {
        let Some(exporter) = &self.exporter else {
            return;
        };
        let pending = {
            let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            map.remove(i.request_id)
        };
        let Some(Pending {
            trace,
            received,
            watches_next,
        }) = pending
        else {
            return;
        };
        let (_, name) = key_parts(i.function);
        let unfinished = Unfinished {
            trace,
            info: InvocationInfo {
                function_name: name.to_string(),
                function_arn: function_arn(i.function, i.qualifier),
                request_id: i.request_id.to_string(),
            },
            times: invocation_times(i, received, SystemTime::now()),
            resource: self.resource(i.function, i.executed_version),
            attributes: InvocationAttributes {
                request_id: Some(i.request_id.to_string()),
                cold_start: Some(i.start == Start::Cold),
            },
        };
        let now = if watches_next {
            let mut awaiting = self.awaiting_next.lock().unwrap_or_else(|p| p.into_inner());
            awaiting.hold(i.request_id.to_string(), unfinished)
        } else {
            Some(unfinished)
        };
        if let Some(u) = now {
            record(exporter, u);
        }
    }

    /// The runtime asked for its next event after invocation `request_id` at `at` (or
    /// did not): its segments are recorded now.
    pub(crate) fn next_requested(&self, request_id: &str, at: Option<SystemTime>) {
        let Some(exporter) = &self.exporter else {
            return;
        };
        let finished = {
            let mut awaiting = self.awaiting_next.lock().unwrap_or_else(|p| p.into_inner());
            awaiting.finish(request_id, at)
        };
        if let Some(u) = finished {
            record(exporter, u);
        }
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

/// Sends an invocation's segments to the collector.
fn record(exporter: &Exporter, u: Unfinished) {
    let segments = platform_segments(&u.trace, &u.info, &u.times, SegmentId::new);
    exporter.record(&u.resource, u.attributes, segments.to_vec());
}

/// The instant `ms` milliseconds after the epoch (none before it).
fn at_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

/// What happened to invocation `i`, when: `received` is when its trace was decided (as
/// it was about to run), `now` when the engine reported its end. A queued event was
/// received when its queue accepted it and dequeued when it began to run here. The
/// `Overhead`'s end is not known yet.
fn invocation_times(i: &Invoked<'_>, received: SystemTime, now: SystemTime) -> InvocationTimes {
    let start = at_ms(i.start_ms);
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
    let began = received.min(init.map_or(invocation_start, |t| t.start));
    let (received, queued) = match i.queued {
        Some(q) => (
            at_ms(q.accepted_ms).min(began),
            Some(Queued {
                dequeued: began,
                attempt: q.attempt.max(1),
            }),
        ),
        None => (began, None),
    };
    InvocationTimes {
        received,
        queued,
        init,
        invocation_start,
        invocation_end,
        overhead_end: None,
        response_sent: now.max(invocation_end),
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use hearth_engine::observe::Queued as QueuedAt;
    use hearth_model::settings::TracingMode;

    use super::*;

    const T0: i64 = 1_700_000_000_000;

    fn ms(n: i64) -> SystemTime {
        at_ms(T0 + n)
    }

    fn invoked(start: Start, init: Option<Duration>, queued: Option<QueuedAt>) -> Invoked<'static> {
        Invoked {
            function: "orders",
            qualifier: None,
            executed_version: "$LATEST",
            request_id: "r-1",
            trace_header: "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
            tracing: TracingMode::Active,
            start_ms: T0 + 200,
            duration: Duration::from_millis(30),
            init,
            post_runtime_extensions: None,
            start,
            ending: Ending::Success,
            provisioned_spillover: false,
            queued,
            memory_mb: 128,
            max_memory_used_mb: 30,
            ephemeral_storage_mb: 512,
            architecture: "x86_64",
            runtime: "python3.12",
        }
    }

    #[test]
    fn a_queued_event_dwells_from_its_acceptance_to_its_run() {
        let queued = QueuedAt {
            accepted_ms: T0 + 20,
            attempt: 2,
        };
        let i = invoked(Start::Warm, None, Some(queued));
        let times = invocation_times(&i, ms(195), ms(240));
        assert_eq!(
            times,
            InvocationTimes {
                received: ms(20),
                queued: Some(Queued {
                    dequeued: ms(195),
                    attempt: 2
                }),
                init: None,
                invocation_start: ms(200),
                invocation_end: ms(230),
                overhead_end: None,
                response_sent: ms(240),
                outcome: Outcome::Success,
            }
        );
    }

    #[test]
    fn a_cold_queued_event_is_dequeued_when_its_environment_starts() {
        let queued = QueuedAt {
            accepted_ms: T0 + 20,
            attempt: 1,
        };
        let i = invoked(Start::Cold, Some(Duration::from_millis(150)), Some(queued));
        // The trace was decided once the environment was up, after its init began.
        let times = invocation_times(&i, ms(199), ms(231));
        assert_eq!(times.received, ms(20));
        assert_eq!(
            times.queued,
            Some(Queued {
                dequeued: ms(50),
                attempt: 1
            })
        );
        assert_eq!(
            times.init,
            Some(InitTimes {
                start: ms(50),
                end: ms(200)
            })
        );
    }

    #[test]
    fn a_synchronous_invocation_is_received_when_it_runs() {
        let i = invoked(Start::Warm, None, None);
        let times = invocation_times(&i, ms(198), ms(229));
        assert_eq!(times.received, ms(198));
        assert_eq!(times.queued, None);
        // The report's clock may run behind the handler's: never before its end.
        assert_eq!(times.response_sent, ms(230));
    }

    fn unfinished(times: InvocationTimes) -> Unfinished {
        Unfinished {
            trace: InvocationTrace {
                trace_id: "1-5759e988-bd862e3fe1be46a994272793"
                    .parse()
                    .expect("a valid trace id"),
                upstream_parent: None,
                service_segment_id: SegmentId(1),
                function_segment_id: SegmentId(2),
                sampled: true,
                record_platform_segments: true,
                lineage: None,
                extra: vec![],
            },
            info: InvocationInfo {
                function_name: "orders".into(),
                function_arn: "arn:aws:lambda:us-east-1:123456789012:function:orders".into(),
                request_id: "r-1".into(),
            },
            times,
            resource: Arc::new(FunctionResource {
                function_name: "orders".into(),
                function_version: None,
                region: None,
            }),
            attributes: InvocationAttributes {
                request_id: None,
                cold_start: None,
            },
        }
    }

    #[test]
    fn held_segments_end_their_overhead_at_the_next_request() {
        let times = invocation_times(&invoked(Start::Warm, None, None), ms(198), ms(231));
        let mut awaiting = AwaitingNext::default();
        assert!(awaiting
            .hold("r-1".into(), unfinished(times.clone()))
            .is_none());
        assert!(awaiting
            .hold("r-2".into(), unfinished(times.clone()))
            .is_none());
        assert!(awaiting.finish("r-3", Some(ms(240))).is_none());
        let done = awaiting.finish("r-1", Some(ms(236))).expect("held");
        assert_eq!(done.times.overhead_end, Some(ms(236)));
        assert!(
            awaiting.finish("r-1", Some(ms(237))).is_none(),
            "reported once"
        );
        // A next request stamped before the end (the clocks differ) ends it there.
        let early = awaiting.finish("r-2", Some(ms(229))).expect("held");
        assert_eq!(early.times.overhead_end, Some(ms(230)));
        let segments = platform_segments(&early.trace, &early.info, &early.times, || SegmentId(9));
        let names: Vec<&str> = segments[1]
            .subsegments
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["Invocation", "Overhead"]);
        assert!(awaiting.hold("r-4".into(), unfinished(times)).is_none());
        let none = awaiting.finish("r-4", None).expect("held");
        assert_eq!(none.times.overhead_end, None);
    }

    #[test]
    fn holding_stops_at_the_bound() {
        let times = invocation_times(&invoked(Start::Warm, None, None), ms(198), ms(231));
        let mut awaiting = AwaitingNext::default();
        for n in 0..PENDING_MAX {
            assert!(awaiting
                .hold(format!("r-{n}"), unfinished(times.clone()))
                .is_none());
        }
        let back = awaiting.hold("one more".into(), unfinished(times));
        assert!(back.is_some(), "handed back to be recorded at once");
    }
}
