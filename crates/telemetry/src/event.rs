//! The records Lambda sends subscribers, typed, and how each is rendered for a subscriber's
//! schema: `{"time": ISO-8601 with milliseconds, "type": ..., "record": ...}`.
//!
//! Shapes from "Lambda Telemetry API `Event` schema reference" (schema 2022-12-13) and the
//! "Log messages" section of "Lambda Logs API" (2020-08-15, 2021-03-18). The producer (the
//! engine, once wired) emits one [`Record`] per happening; [`Event::render`] gives each API its
//! own name and shape, or nothing when that API has no such record:
//!
//! | Record             | Telemetry API                    | Logs API                              |
//! |--------------------|----------------------------------|---------------------------------------|
//! | `InitStart`        | `platform.initStart`             | —                                     |
//! | `InitRuntimeDone`  | `platform.initRuntimeDone`       | —                                     |
//! | `InitReport`       | `platform.initReport`            | —                                     |
//! | `Start`            | `platform.start`                 | `platform.start` {requestId, version} |
//! | `RuntimeDone`      | `platform.runtimeDone`           | `platform.runtimeDone` (2021-03-18 only) {requestId, status} |
//! | `End`              | —                                | `platform.end` {requestId}            |
//! | `Report`           | `platform.report`                | `platform.report` {requestId, metrics, tracing} |
//! | `Extension`        | `platform.extension`             | `platform.extension`                  |
//! | `Subscription`     | `platform.telemetrySubscription` | `platform.logsSubscription`           |
//! | `LogsDropped`      | `platform.logsDropped`           | `platform.logsDropped`                |
//! | `Fault`            | —                                | `platform.fault` (a string)           |
//! | `Function`         | `function`                       | `function`                            |
//! | `ExtensionLog`     | `extension`                      | `extension`                           |
//!
//! The Telemetry API's 2022-07-01 schema is rendered like 2022-12-13 (the later one adds
//! fields: consumers of the earlier one ignore them); that is Hearth's simplification.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use crate::subscription::{Api, EventType, SchemaVersion};

/// Formats a time as Lambda does: `2022-10-12T00:00:15.064Z`.
pub fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn serialize_time<S: serde::Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(*time))
}

/// How the environment was initialized (`InitType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InitType {
    /// `on-demand`.
    OnDemand,
    /// `provisioned-concurrency`.
    ProvisionedConcurrency,
    /// `snap-start`.
    SnapStart,
}

/// When the init code ran (`InitPhase`): `invoke` is a suppressed init re-run at invoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InitPhase {
    /// `init`.
    Init,
    /// `invoke`.
    Invoke,
}

/// How a phase ended (`Status`). With `failure`, `error` or `timeout` a record also carries
/// an `errorType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// `success`.
    Success,
    /// `failure`: the function returned an error.
    Failure,
    /// `error`: the runtime or environment failed.
    Error,
    /// `timeout`.
    Timeout,
}

impl Status {
    /// The Logs API's `platform.runtimeDone` knows `success`, `failure` and `timeout` only;
    /// an `error` is shown there as `failure` (Hearth's mapping).
    fn logs_api(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Failure | Status::Error => "failure",
            Status::Timeout => "timeout",
        }
    }
}

/// A span (`Span`): `responseLatency`, `responseDuration`, `runtimeOverhead` and the like.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    /// The span's name.
    pub name: String,
    /// When it started.
    #[serde(serialize_with = "serialize_time")]
    pub start: DateTime<Utc>,
    /// How long it took.
    pub duration_ms: f64,
}

/// The X-Ray context of a record (`TraceContext`); `type` is always `X-Amzn-Trace-Id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceContext {
    /// The span id, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    /// Always `X-Amzn-Trace-Id` (`TracingType`).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The trace header value.
    pub value: String,
}

impl TraceContext {
    /// A context from an `X-Amzn-Trace-Id` header value.
    pub fn x_ray(value: impl Into<String>, span_id: Option<String>) -> Self {
        TraceContext {
            span_id,
            kind: "X-Amzn-Trace-Id",
            value: value.into(),
        }
    }
}

/// `platform.initStart`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitStart {
    pub initialization_type: InitType,
    pub phase: InitPhase,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_version_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// The environment's memory in **bytes**: AWS's schema page shows a bare number, and
    /// recorded records show `134217728` for a 128 MB function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_max_memory: Option<u64>,
}

/// `platform.initRuntimeDone`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitRuntimeDone {
    pub initialization_type: InitType,
    pub phase: InitPhase,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
}

/// `platform.initReport`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitReport {
    pub initialization_type: InitType,
    pub phase: InitPhase,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    pub metrics: InitReportMetrics,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
}

/// `InitReportMetrics`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitReportMetrics {
    pub duration_ms: f64,
}

/// `platform.start`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Start {
    pub request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TraceContext>,
}

/// `platform.runtimeDone`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeDone {
    pub request_id: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<RuntimeDoneMetrics>,
    /// `responseLatency`, `responseDuration`, `runtimeOverhead`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TraceContext>,
}

/// `RuntimeDoneMetrics`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeDoneMetrics {
    pub duration_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub produced_bytes: Option<u64>,
}

/// `platform.report`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub request_id: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    pub metrics: ReportMetrics,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TraceContext>,
}

/// `ReportMetrics`. `initDurationMs` only on an invocation that included a cold start.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportMetrics {
    pub duration_ms: f64,
    pub billed_duration_ms: u64,
    #[serde(rename = "memorySizeMB")]
    pub memory_size_mb: u64,
    #[serde(rename = "maxMemoryUsedMB")]
    pub max_memory_used_mb: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_duration_ms: Option<f64>,
}

/// `platform.extension`: an extension registered (state `Ready`) or failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionState {
    pub name: String,
    pub state: String,
    pub events: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
}

/// `platform.telemetrySubscription` / `platform.logsSubscription`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionState {
    pub name: String,
    /// `Subscribed`.
    pub state: String,
    pub types: Vec<String>,
}

/// `platform.logsDropped`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogsDropped {
    pub reason: String,
    pub dropped_records: u64,
    pub dropped_bytes: u64,
}

/// A log line: a string when the function's log format is text, an object when it is JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum LogLine {
    /// Text format.
    Text(String),
    /// JSON format: the object the runtime wrote.
    Json(Value),
}

impl LogLine {
    fn to_value(&self) -> Value {
        match self {
            LogLine::Text(s) => Value::String(s.clone()),
            LogLine::Json(v) => v.clone(),
        }
    }
}

/// One happening in the environment (see the module table for how each API shows it).
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    InitStart(InitStart),
    InitRuntimeDone(InitRuntimeDone),
    InitReport(InitReport),
    Start(Start),
    RuntimeDone(RuntimeDone),
    /// The end of an invocation (the Logs API's `platform.end`).
    End {
        request_id: String,
    },
    Report(Report),
    Extension(ExtensionState),
    Subscription(SubscriptionState),
    LogsDropped(LogsDropped),
    /// A runtime or environment failure, as a line of text (the Logs API's `platform.fault`).
    Fault(String),
    /// A line of the function's output.
    Function(LogLine),
    /// A line of an extension's output.
    ExtensionLog(LogLine),
}

impl Record {
    /// The stream this record belongs to.
    pub fn event_type(&self) -> EventType {
        match self {
            Record::Function(_) => EventType::Function,
            Record::ExtensionLog(_) => EventType::Extension,
            _ => EventType::Platform,
        }
    }
}

/// A record with the time Lambda generated it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When the platform generated the record (from the caller's clock).
    pub time: DateTime<Utc>,
    /// What happened.
    pub record: Record,
}

fn to_value<T: Serialize>(record: &T) -> Value {
    serde_json::to_value(record).expect("records are plain data and always serialize")
}

impl Event {
    /// The event as `schema` shows it, or `None` when that schema has no such record.
    pub fn render(&self, schema: SchemaVersion) -> Option<Value> {
        let api = schema.api();
        let (kind, record) = match (&self.record, api) {
            (Record::InitStart(r), Api::Telemetry) => ("platform.initStart", to_value(r)),
            (Record::InitRuntimeDone(r), Api::Telemetry) => {
                ("platform.initRuntimeDone", to_value(r))
            }
            (Record::InitReport(r), Api::Telemetry) => ("platform.initReport", to_value(r)),
            (
                Record::InitStart(_) | Record::InitRuntimeDone(_) | Record::InitReport(_),
                Api::Logs,
            ) => return None,
            (Record::Start(r), Api::Telemetry) => ("platform.start", to_value(r)),
            (Record::Start(r), Api::Logs) => {
                let mut v = json!({"requestId": r.request_id});
                if let Some(version) = &r.version {
                    v["version"] = json!(version);
                }
                ("platform.start", v)
            }
            (Record::RuntimeDone(r), Api::Telemetry) => ("platform.runtimeDone", to_value(r)),
            (Record::RuntimeDone(r), Api::Logs) => {
                if schema != SchemaVersion::Logs2021_03_18 {
                    return None;
                }
                (
                    "platform.runtimeDone",
                    json!({"requestId": r.request_id, "status": r.status.logs_api()}),
                )
            }
            (Record::End { .. }, Api::Telemetry) => return None,
            (Record::End { request_id }, Api::Logs) => {
                ("platform.end", json!({"requestId": request_id}))
            }
            (Record::Report(r), Api::Telemetry) => ("platform.report", to_value(r)),
            (Record::Report(r), Api::Logs) => {
                let mut v = json!({"requestId": r.request_id, "metrics": to_value(&r.metrics)});
                if let Some(tracing) = &r.tracing {
                    v["tracing"] = to_value(tracing);
                }
                ("platform.report", v)
            }
            (Record::Extension(r), _) => ("platform.extension", to_value(r)),
            (Record::Subscription(r), Api::Telemetry) => {
                ("platform.telemetrySubscription", to_value(r))
            }
            (Record::Subscription(r), Api::Logs) => ("platform.logsSubscription", to_value(r)),
            (Record::LogsDropped(r), _) => ("platform.logsDropped", to_value(r)),
            (Record::Fault(_), Api::Telemetry) => return None,
            (Record::Fault(line), Api::Logs) => ("platform.fault", json!(line)),
            (Record::Function(line), _) => ("function", line.to_value()),
            (Record::ExtensionLog(line), _) => ("extension", line.to_value()),
        };
        Some(json!({"time": format_time(self.time), "type": kind, "record": record}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const T22: SchemaVersion = SchemaVersion::Telemetry2022_12_13;
    const L20: SchemaVersion = SchemaVersion::Logs2020_08_15;
    const L21: SchemaVersion = SchemaVersion::Logs2021_03_18;
    const REQ: &str = "6d68ca91-49c9-448d-89b8-7ca3e6dc66aa";
    const TRACE: &str =
        "Root=1-62e900b2-710d76f009d6e7785905449a;Parent=0efbd19962d95b05;Sampled=1";

    fn at(ms: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2022, 10, 12, 0, 0, 15)
            .single()
            .expect("a time")
            + chrono::Duration::milliseconds(i64::from(ms))
    }

    fn event(record: Record) -> Event {
        Event {
            time: at(64),
            record,
        }
    }

    fn tracing() -> Option<TraceContext> {
        Some(TraceContext::x_ray(TRACE, Some("54565fb41ac79632".into())))
    }

    #[test]
    fn time_has_milliseconds_and_z() {
        assert_eq!(format_time(at(64)), "2022-10-12T00:00:15.064Z");
        assert_eq!(format_time(at(0)), "2022-10-12T00:00:15.000Z");
    }

    #[test]
    fn init_start() {
        let e = event(Record::InitStart(InitStart {
            initialization_type: InitType::OnDemand,
            phase: InitPhase::Init,
            runtime_version: Some("nodejs-14.v3".into()),
            runtime_version_arn: Some("arn".into()),
            function_name: Some("my-function".into()),
            function_version: Some("$LATEST".into()),
            instance_id: Some("82561ce0-53dd-47d1-90e0-c8f5e063e62e".into()),
            instance_max_memory: Some(134_217_728),
        }));
        assert_eq!(
            e.render(T22),
            Some(
                json!({"time": "2022-10-12T00:00:15.064Z", "type": "platform.initStart", "record": {
                "initializationType": "on-demand", "phase": "init", "runtimeVersion": "nodejs-14.v3",
                "runtimeVersionArn": "arn", "functionName": "my-function", "functionVersion": "$LATEST",
                "instanceId": "82561ce0-53dd-47d1-90e0-c8f5e063e62e", "instanceMaxMemory": 134_217_728u64}})
            )
        );
        assert_eq!(e.render(L21), None);
    }

    #[test]
    fn init_runtime_done_and_report() {
        let done = event(Record::InitRuntimeDone(InitRuntimeDone {
            initialization_type: InitType::ProvisionedConcurrency,
            phase: InitPhase::Invoke,
            status: Status::Error,
            error_type: Some("Runtime.ExitError".into()),
            spans: vec![],
        }));
        assert_eq!(
            done.render(T22),
            Some(
                json!({"time": "2022-10-12T00:00:15.064Z", "type": "platform.initRuntimeDone", "record": {
                "initializationType": "provisioned-concurrency", "phase": "invoke", "status": "error",
                "errorType": "Runtime.ExitError"}})
            )
        );
        let report = event(Record::InitReport(InitReport {
            initialization_type: InitType::OnDemand,
            phase: InitPhase::Init,
            status: Status::Success,
            error_type: None,
            metrics: InitReportMetrics {
                duration_ms: 125.33,
            },
            spans: vec![Span {
                name: "someTimeSpan".into(),
                start: at(913),
                duration_ms: 90.1,
            }],
        }));
        assert_eq!(
            report.render(T22),
            Some(
                json!({"time": "2022-10-12T00:00:15.064Z", "type": "platform.initReport", "record": {
                "initializationType": "on-demand", "phase": "init", "status": "success",
                "metrics": {"durationMs": 125.33},
                "spans": [{"name": "someTimeSpan", "start": "2022-10-12T00:00:15.913Z", "durationMs": 90.1}]}})
            )
        );
    }

    #[test]
    fn start_in_both_apis() {
        let e = event(Record::Start(Start {
            request_id: REQ.into(),
            version: Some("$LATEST".into()),
            tracing: tracing(),
        }));
        assert_eq!(
            e.render(T22),
            Some(
                json!({"time": "2022-10-12T00:00:15.064Z", "type": "platform.start", "record": {
                "requestId": REQ, "version": "$LATEST",
                "tracing": {"spanId": "54565fb41ac79632", "type": "X-Amzn-Trace-Id", "value": TRACE}}})
            )
        );
        assert_eq!(
            e.render(L20),
            Some(
                json!({"time": "2022-10-12T00:00:15.064Z", "type": "platform.start", "record": {
                "requestId": REQ, "version": "$LATEST"}})
            )
        );
    }

    #[test]
    fn runtime_done_per_schema() {
        let e = event(Record::RuntimeDone(RuntimeDone {
            request_id: REQ.into(),
            status: Status::Success,
            error_type: None,
            metrics: Some(RuntimeDoneMetrics {
                duration_ms: 140.0,
                produced_bytes: Some(16),
            }),
            spans: vec![
                Span {
                    name: "responseLatency".into(),
                    start: at(521),
                    duration_ms: 23.02,
                },
                Span {
                    name: "responseDuration".into(),
                    start: at(544),
                    duration_ms: 0.5,
                },
                Span {
                    name: "runtimeOverhead".into(),
                    start: at(545),
                    duration_ms: 1.0,
                },
            ],
            tracing: tracing(),
        }));
        assert_eq!(
            e.render(T22),
            Some(
                json!({"time": "2022-10-12T00:00:15.064Z", "type": "platform.runtimeDone", "record": {
                "requestId": REQ, "status": "success",
                "metrics": {"durationMs": 140.0, "producedBytes": 16},
                "spans": [
                    {"name": "responseLatency", "start": "2022-10-12T00:00:15.521Z", "durationMs": 23.02},
                    {"name": "responseDuration", "start": "2022-10-12T00:00:15.544Z", "durationMs": 0.5},
                    {"name": "runtimeOverhead", "start": "2022-10-12T00:00:15.545Z", "durationMs": 1.0}],
                "tracing": {"spanId": "54565fb41ac79632", "type": "X-Amzn-Trace-Id", "value": TRACE}}})
            )
        );
        assert_eq!(
            e.render(L20),
            None,
            "2020-08-15 has no platform.runtimeDone"
        );
        assert_eq!(
            e.render(L21),
            Some(
                json!({"time": "2022-10-12T00:00:15.064Z", "type": "platform.runtimeDone",
                "record": {"requestId": REQ, "status": "success"}})
            )
        );
        let failed = event(Record::RuntimeDone(RuntimeDone {
            request_id: REQ.into(),
            status: Status::Error,
            error_type: Some("Runtime.ExitError".into()),
            metrics: None,
            spans: vec![],
            tracing: None,
        }));
        assert_eq!(
            failed.render(T22),
            Some(
                json!({"time": "2022-10-12T00:00:15.064Z", "type": "platform.runtimeDone", "record": {
                "requestId": REQ, "status": "error", "errorType": "Runtime.ExitError"}})
            )
        );
        assert_eq!(
            failed.render(L21),
            Some(
                json!({"time": "2022-10-12T00:00:15.064Z", "type": "platform.runtimeDone",
                "record": {"requestId": REQ, "status": "failure"}})
            )
        );
    }

    #[test]
    fn report_and_end() {
        let e = event(Record::Report(Report {
            request_id: REQ.into(),
            status: Status::Timeout,
            error_type: Some("Sandbox.Timedout".into()),
            metrics: ReportMetrics {
                duration_ms: 693.92,
                billed_duration_ms: 694,
                memory_size_mb: 128,
                max_memory_used_mb: 84,
                init_duration_ms: Some(397.68),
            },
            spans: vec![],
            tracing: tracing(),
        }));
        let metrics = json!({"durationMs": 693.92, "billedDurationMs": 694, "memorySizeMB": 128,
            "maxMemoryUsedMB": 84, "initDurationMs": 397.68});
        let trace =
            json!({"spanId": "54565fb41ac79632", "type": "X-Amzn-Trace-Id", "value": TRACE});
        assert_eq!(
            e.render(T22),
            Some(
                json!({"time": "2022-10-12T00:00:15.064Z", "type": "platform.report", "record": {
                "requestId": REQ, "status": "timeout", "errorType": "Sandbox.Timedout",
                "metrics": metrics, "tracing": trace}})
            )
        );
        assert_eq!(
            e.render(L20),
            Some(
                json!({"time": "2022-10-12T00:00:15.064Z", "type": "platform.report", "record": {
                "requestId": REQ, "metrics": metrics, "tracing": trace}})
            )
        );
        let end = event(Record::End {
            request_id: REQ.into(),
        });
        assert_eq!(end.render(T22), None);
        assert_eq!(
            end.render(L20),
            Some(
                json!({"time": "2022-10-12T00:00:15.064Z", "type": "platform.end", "record": {"requestId": REQ}})
            )
        );
    }

    #[test]
    fn extension_subscription_dropped_fault() {
        let ext = event(Record::Extension(ExtensionState {
            name: "my-telemetry-extension".into(),
            state: "Ready".into(),
            events: vec!["INVOKE".into(), "SHUTDOWN".into()],
            error_type: None,
        }));
        let ext_json = json!({"time": "2022-10-12T00:00:15.064Z", "type": "platform.extension",
            "record": {"name": "my-telemetry-extension", "state": "Ready", "events": ["INVOKE", "SHUTDOWN"]}});
        assert_eq!(ext.render(T22), Some(ext_json.clone()));
        assert_eq!(ext.render(L20), Some(ext_json));
        let sub = event(Record::Subscription(SubscriptionState {
            name: "my-telemetry-extension".into(),
            state: "Subscribed".into(),
            types: vec!["platform".into(), "function".into()],
        }));
        let record = json!({"name": "my-telemetry-extension", "state": "Subscribed", "types": ["platform", "function"]});
        assert_eq!(
            sub.render(T22),
            Some(
                json!({"time": "2022-10-12T00:00:15.064Z", "type": "platform.telemetrySubscription", "record": record})
            )
        );
        assert_eq!(
            sub.render(L20),
            Some(
                json!({"time": "2022-10-12T00:00:15.064Z", "type": "platform.logsSubscription", "record": record})
            )
        );
        let dropped = event(Record::LogsDropped(LogsDropped {
            reason: crate::bounds::LOGS_DROPPED_REASON.into(),
            dropped_records: 123,
            dropped_bytes: 12345,
        }));
        assert_eq!(
            dropped.render(T22),
            Some(
                json!({"time": "2022-10-12T00:00:15.064Z", "type": "platform.logsDropped", "record": {
                "reason": "Consumer seems to have fallen behind as it has not acknowledged receipt of logs.",
                "droppedRecords": 123, "droppedBytes": 12345}})
            )
        );
        let fault = event(Record::Fault(format!(
            "RequestId: {REQ} Process exited before completing request"
        )));
        assert_eq!(fault.render(T22), None);
        assert_eq!(
            fault.render(L20),
            Some(
                json!({"time": "2022-10-12T00:00:15.064Z", "type": "platform.fault",
                "record": format!("RequestId: {REQ} Process exited before completing request")})
            )
        );
    }

    #[test]
    fn log_lines_text_and_json() {
        let text = event(Record::Function(LogLine::Text(
            "[INFO] Hello world, I am a function!".into(),
        )));
        assert_eq!(text.record.event_type(), EventType::Function);
        assert_eq!(
            text.render(T22),
            Some(
                json!({"time": "2022-10-12T00:00:15.064Z", "type": "function",
                "record": "[INFO] Hello world, I am a function!"})
            )
        );
        let object = json!({"timestamp": "2022-10-12T00:00:15.064Z", "level": "INFO", "requestId": REQ, "message": "hi"});
        let structured = event(Record::ExtensionLog(LogLine::Json(object.clone())));
        assert_eq!(structured.record.event_type(), EventType::Extension);
        assert_eq!(
            structured.render(L20),
            Some(
                json!({"time": "2022-10-12T00:00:15.064Z", "type": "extension", "record": object})
            )
        );
    }
}
