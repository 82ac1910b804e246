//! The producer side of the Telemetry API and Logs API (`docs/telemetry.md`): an
//! environment's platform records and function output, offered to its
//! [`hearth_telemetry::Hub`].
//!
//! Every call starts with the hub's one atomic load and returns when no extension
//! subscribed, before a record is built: a function without subscribers pays no lock and no
//! allocation per invocation.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hearth_telemetry::event::{
    InitPhase, InitReport, InitReportMetrics, InitRuntimeDone, InitStart, InitType, Report,
    ReportMetrics, RuntimeDone, RuntimeDoneMetrics, Span, Start, Status,
};
use hearth_telemetry::{Event, Hub, LogLine, Record};

/// Where an environment's records go.
#[derive(Clone)]
pub(crate) struct Telemetry {
    hub: Arc<Hub>,
    /// Whether the function's log format is JSON: its lines that are JSON objects then
    /// go as objects (AWS: a `function` record is a string in the text format, an object
    /// in the JSON format).
    json: bool,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("json", &self.json)
            .finish_non_exhaustive()
    }
}

/// A time in ms since the epoch as a record's time (the epoch for one out of range).
pub(crate) fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn millis(d: std::time::Duration) -> f64 {
    // Lambda's records carry durations in ms with a fraction; three decimals, as the
    // `REPORT` line's two and AWS's examples' three.
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// A line of output as a record: an object when the log format is JSON and the line
/// is a JSON object, else a string.
fn log_line(json: bool, line: &str) -> LogLine {
    match json {
        true => match serde_json::from_str::<serde_json::Value>(line) {
            Ok(v @ serde_json::Value::Object(_)) => LogLine::Json(v),
            _ => LogLine::Text(line.to_owned()),
        },
        false => LogLine::Text(line.to_owned()),
    }
}

/// A `REPORT` status (`None`, `timeout`, `error\tError Type: X`) as a record's status and
/// error type.
pub(crate) fn status_of(report_status: Option<&str>) -> (Status, Option<String>) {
    match report_status {
        None => (Status::Success, None),
        Some("timeout") => (Status::Timeout, None),
        Some(s) => (
            Status::Error,
            s.split_once("Error Type: ").map(|(_, t)| t.to_string()),
        ),
    }
}

/// What `platform.initStart` tells of the environment.
pub(crate) struct InitFacts<'a> {
    pub provisioned: bool,
    pub runtime_version: &'a str,
    pub runtime_version_arn: &'a str,
    pub function_name: &'a str,
    pub function_version: &'a str,
    pub memory_mb: i64,
}

/// The figures of one invocation's `platform.runtimeDone` and `platform.report` (those of
/// the `REPORT` line).
pub(crate) struct Figures<'a> {
    pub request_id: &'a str,
    pub report_status: Option<&'a str>,
    pub runtime_duration: std::time::Duration,
    pub duration: std::time::Duration,
    pub billed_ms: u64,
    pub memory_size_mb: i64,
    pub max_memory_used_mb: u64,
    pub init_duration: Option<std::time::Duration>,
    pub trace: Option<&'a str>,
    /// How the response came, when the runtime posted one while someone subscribed.
    pub response: Option<ResponseSpans>,
}

/// An invocation's response as the Runtime API received it: `platform.runtimeDone`'s
/// `producedBytes` and its `responseLatency` and `responseDuration` spans.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ResponseSpans {
    /// When the invocation started (ms since the epoch): `responseLatency`'s start.
    pub started_ms: i64,
    /// From the invocation's start to the response's first byte.
    pub latency: std::time::Duration,
    /// From the first byte to the last.
    pub duration: std::time::Duration,
    pub bytes: u64,
}

impl ResponseSpans {
    /// The spans from the invocation's start (`started`, `started_ms`) and the Runtime
    /// API's note of the response.
    pub(crate) fn of(
        (started, started_ms): (std::time::Instant, i64),
        t: &hearth_runtime_api::ResponseTiming,
    ) -> Self {
        Self {
            started_ms,
            latency: t.first_byte.saturating_duration_since(started),
            duration: t.done.saturating_duration_since(t.first_byte),
            bytes: t.bytes,
        }
    }

    /// AWS's two spans, `{name, start, durationMs}`, the second starting where the first
    /// ends.
    pub(crate) fn spans(&self) -> Vec<Span> {
        let latency_ms = millis(self.latency);
        let first_byte_ms = self.started_ms + self.latency.as_millis() as i64;
        vec![
            Span {
                name: "responseLatency".to_owned(),
                start: at(self.started_ms),
                duration_ms: latency_ms,
            },
            Span {
                name: "responseDuration".to_owned(),
                start: at(first_byte_ms),
                duration_ms: millis(self.duration),
            },
        ]
    }
}

/// How an init phase ended, for `platform.initRuntimeDone` and `platform.initReport`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InitOutcome {
    pub status: Status,
    pub error_type: Option<String>,
}

impl InitOutcome {
    pub(crate) fn success() -> Self {
        Self {
            status: Status::Success,
            error_type: None,
        }
    }
}

impl Telemetry {
    pub(crate) fn new(hub: Arc<Hub>, json: bool) -> Self {
        Self { hub, json }
    }

    /// Whether any extension subscribed (one atomic load).
    pub(crate) fn active(&self) -> bool {
        self.hub.is_active()
    }

    /// Offers the record `make` builds, only when someone subscribed.
    pub(crate) fn publish(&self, time_ms: i64, make: impl FnOnce() -> Record) {
        if !self.active() {
            return;
        }
        self.hub.publish(&Event {
            time: at(time_ms),
            record: make(),
        });
    }

    /// A line of the function's output.
    pub(crate) fn function_line(&self, time_ms: i64, line: &str) {
        let json = self.json;
        self.publish(time_ms, || Record::Function(log_line(json, line)));
    }

    /// A line an external extension wrote (its own pipe), as an `extension` record.
    pub(crate) fn extension_line(&self, time_ms: i64, line: &str) {
        let json = self.json;
        self.publish(time_ms, || Record::ExtensionLog(log_line(json, line)));
    }

    /// The Logs API's `platform.fault`: the runtime's process ended during invocation
    /// `request_id`. AWS's Logs API page shows this wording as its example.
    pub(crate) fn fault(&self, time_ms: i64, request_id: &str) {
        self.publish(time_ms, || {
            Record::Fault(format!(
                "RequestId: {request_id} Process exited before completing request"
            ))
        });
    }

    /// The init phase's three records, published together when it ended (the extensions
    /// subscribe during it: published at its start, `initStart` would reach none of them;
    /// Hearth's choice, with each record's own time). `outcome` is how it ended: success,
    /// or the failure `initRuntimeDone` and `initReport` carry.
    pub(crate) fn init_ended(
        &self,
        facts: &InitFacts<'_>,
        (started_ms, runtime_done_ms, ended_ms): (i64, i64, i64),
        duration: std::time::Duration,
        outcome: &InitOutcome,
    ) {
        let initialization_type = match facts.provisioned {
            true => InitType::ProvisionedConcurrency,
            false => InitType::OnDemand,
        };
        self.publish(started_ms, || {
            Record::InitStart(InitStart {
                initialization_type,
                phase: InitPhase::Init,
                runtime_version: Some(facts.runtime_version.to_owned()),
                runtime_version_arn: Some(facts.runtime_version_arn.to_owned()),
                function_name: Some(facts.function_name.to_owned()),
                function_version: Some(facts.function_version.to_owned()),
                instance_id: None,
                instance_max_memory: Some(facts.memory_mb.max(0) as u64 * 1024 * 1024),
            })
        });
        self.publish(runtime_done_ms, || {
            Record::InitRuntimeDone(InitRuntimeDone {
                initialization_type,
                phase: InitPhase::Init,
                status: outcome.status,
                error_type: outcome.error_type.clone(),
                spans: Vec::new(),
            })
        });
        self.publish(ended_ms, || {
            Record::InitReport(InitReport {
                initialization_type,
                phase: InitPhase::Init,
                status: outcome.status,
                error_type: outcome.error_type.clone(),
                metrics: InitReportMetrics {
                    duration_ms: millis(duration),
                },
                spans: Vec::new(),
            })
        });
    }

    /// `platform.start`.
    pub(crate) fn start(&self, time_ms: i64, request_id: &str, version: &str, trace: &str) {
        self.publish(time_ms, || {
            Record::Start(Start {
                request_id: request_id.to_owned(),
                version: Some(version.to_owned()),
                tracing: Some(hearth_telemetry::event::TraceContext::x_ray(trace, None)),
            })
        });
    }

    /// `platform.runtimeDone`, `platform.end` (the Logs API's) and `platform.report`.
    pub(crate) fn ended(&self, (runtime_done_ms, report_ms): (i64, i64), f: &Figures<'_>) {
        let (status, error_type) = status_of(f.report_status);
        let tracing = || {
            f.trace
                .map(|t| hearth_telemetry::event::TraceContext::x_ray(t, None))
        };
        self.publish(runtime_done_ms, || {
            Record::RuntimeDone(RuntimeDone {
                request_id: f.request_id.to_owned(),
                status,
                error_type: error_type.clone(),
                metrics: Some(RuntimeDoneMetrics {
                    duration_ms: millis(f.runtime_duration),
                    produced_bytes: f.response.map(|r| r.bytes),
                }),
                spans: f.response.map(|r| r.spans()).unwrap_or_default(),
                tracing: tracing(),
            })
        });
        self.publish(report_ms, || Record::End {
            request_id: f.request_id.to_owned(),
        });
        self.publish(report_ms, || {
            Record::Report(Report {
                request_id: f.request_id.to_owned(),
                status,
                error_type: error_type.clone(),
                metrics: ReportMetrics {
                    duration_ms: millis(f.duration),
                    billed_duration_ms: f.billed_ms,
                    memory_size_mb: f.memory_size_mb.max(0) as u64,
                    max_memory_used_mb: f.max_memory_used_mb,
                    init_duration_ms: f.init_duration.map(millis),
                },
                spans: Vec::new(),
                tracing: tracing(),
            })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_statuses_become_record_statuses() {
        assert_eq!(status_of(None), (Status::Success, None));
        assert_eq!(status_of(Some("timeout")), (Status::Timeout, None));
        assert_eq!(
            status_of(Some("error\tError Type: Runtime.ExitError")),
            (Status::Error, Some("Runtime.ExitError".to_owned()))
        );
    }

    #[test]
    fn durations_are_ms_with_three_decimals() {
        assert_eq!(
            millis(std::time::Duration::from_micros(1_234_567)),
            1234.567
        );
        assert_eq!(at(1_700_000_000_123).timestamp_millis(), 1_700_000_000_123);
    }
}
