//! X-Ray segment documents as OpenTelemetry spans: the trace id from the X-Ray id
//! (`1-5759e988-bd862e3fe1be46a994272793` → `5759e988bd862e3fe1be46a994272793`), span id =
//! segment id, parent = `parent_id` (for a root segment, the caller's `Parent`), and the
//! segment's origin, status, HTTP status and annotations as attributes.
//!
//! Each subsegment becomes a span under the segment or subsegment that contains it.
//! In-progress documents are skipped (X-Ray overwrites them with the complete one later,
//! while an OpenTelemetry span cannot be revised once sent); their finished subsegments are
//! kept. `metadata` is not exported: it is unindexed and unbounded.

use std::borrow::Cow;

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId as OtelTraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue, Value as OtelValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use serde_json::Value;

use crate::header::{SegmentId, TraceId};
use crate::segment::{system_time, Segment};

/// Attributes of the invocation a batch of documents belongs to, put on its top-level spans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvocationAttributes {
    /// `faas.invocation_id`: the request id.
    pub request_id: Option<String>,
    /// `faas.coldstart`: whether the invocation started its environment.
    pub cold_start: Option<bool>,
}

/// The instrumentation scope Hearth's spans carry.
fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("hearth-traces").build()
}

/// The spans of one document (a segment with its subsegments, or a subsegment sent alone),
/// parents before children. A document without a valid `trace_id` yields none.
pub fn to_spans(document: &Segment, invocation: &InvocationAttributes) -> Vec<SpanData> {
    let Some(trace_id) = document
        .trace_id
        .as_deref()
        .and_then(|t| t.parse::<TraceId>().ok())
    else {
        tracing::debug!(id = %document.id, "segment without a valid trace_id not exported");
        return Vec::new();
    };
    let trace_id = OtelTraceId::from_bytes(trace_id.to_u128().to_be_bytes());
    let parent = parse_span_id(document.parent_id.as_deref());
    let mut spans = Vec::new();
    let scope = scope();
    convert(
        document, trace_id, parent, true, invocation, &scope, &mut spans,
    );
    spans
}

fn parse_span_id(id: Option<&str>) -> SpanId {
    id.and_then(|p| p.parse::<SegmentId>().ok())
        .map_or(SpanId::INVALID, |p| SpanId::from_bytes(p.0.to_be_bytes()))
}

fn convert(
    segment: &Segment,
    trace_id: OtelTraceId,
    parent: SpanId,
    top_level: bool,
    invocation: &InvocationAttributes,
    scope: &InstrumentationScope,
    spans: &mut Vec<SpanData>,
) {
    let span_id = parse_span_id(Some(&segment.id));
    if span_id != SpanId::INVALID {
        if let Some(end) = segment.end_time.filter(|_| !segment.in_progress) {
            spans.push(SpanData {
                span_context: SpanContext::new(
                    trace_id,
                    span_id,
                    TraceFlags::SAMPLED,
                    false,
                    TraceState::default(),
                ),
                parent_span_id: parent,
                // A top-level document's parent lives in another document (often another
                // service's), like a parent from a propagated header.
                parent_span_is_remote: top_level && parent != SpanId::INVALID,
                span_kind: kind(segment, top_level),
                name: Cow::Owned(segment.name.clone()),
                start_time: system_time(segment.start_time),
                end_time: system_time(end),
                attributes: attributes(segment, top_level, invocation),
                dropped_attributes_count: 0,
                events: SpanEvents::default(),
                links: SpanLinks::default(),
                status: status(segment),
                instrumentation_scope: scope.clone(),
            });
        }
    }
    // Children of a document with an unusable id keep the document's own parent, so they
    // stay in the trace rather than point at a span that does not exist.
    let child_parent = if span_id == SpanId::INVALID {
        parent
    } else {
        span_id
    };
    for child in &segment.subsegments {
        convert(
            child,
            trace_id,
            child_parent,
            false,
            invocation,
            scope,
            spans,
        );
    }
}

/// Segments are the service's side of a request (server); subsegments for AWS or remote
/// calls are the client side of another; other subsegments are internal work.
fn kind(segment: &Segment, top_level: bool) -> SpanKind {
    if top_level && !segment.is_subsegment() {
        return SpanKind::Server;
    }
    match segment.namespace.as_deref() {
        Some("aws") | Some("remote") => SpanKind::Client,
        _ => SpanKind::Internal,
    }
}

fn status(segment: &Segment) -> Status {
    if !(segment.error || segment.fault || segment.throttle) {
        return Status::Unset;
    }
    let message = segment
        .cause
        .as_ref()
        .and_then(|c| c.pointer("/exceptions/0/message"))
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty());
    let description = match message {
        Some(m) => m.to_owned(),
        None if segment.fault => "fault".to_owned(),
        None if segment.throttle => "throttle".to_owned(),
        None => "error".to_owned(),
    };
    Status::error(description)
}

fn attributes(
    segment: &Segment,
    top_level: bool,
    invocation: &InvocationAttributes,
) -> Vec<KeyValue> {
    let mut attributes = Vec::new();
    if let Some(origin) = &segment.origin {
        attributes.push(KeyValue::new("aws.xray.origin", origin.clone()));
    }
    if top_level {
        if let Some(id) = &invocation.request_id {
            attributes.push(KeyValue::new("faas.invocation_id", id.clone()));
        }
        if let Some(cold) = invocation.cold_start {
            attributes.push(KeyValue::new("faas.coldstart", cold));
        }
    }
    if let Some(http) = &segment.http {
        if let Some(method) = http.pointer("/request/method").and_then(Value::as_str) {
            attributes.push(KeyValue::new("http.request.method", method.to_owned()));
        }
        if let Some(url) = http.pointer("/request/url").and_then(Value::as_str) {
            attributes.push(KeyValue::new("url.full", url.to_owned()));
        }
        if let Some(status) = http.pointer("/response/status").and_then(Value::as_i64) {
            attributes.push(KeyValue::new("http.response.status_code", status));
        }
    }
    if let Some(aws) = &segment.aws {
        if let Some(operation) = aws.get("operation").and_then(Value::as_str) {
            attributes.push(KeyValue::new("rpc.method", operation.to_owned()));
        }
        if let Some(id) = aws.get("request_id").and_then(Value::as_str) {
            attributes.push(KeyValue::new("aws.request_id", id.to_owned()));
        }
    }
    if segment.throttle {
        attributes.push(KeyValue::new("aws.xray.throttle", true));
    }
    for (key, value) in &segment.annotations {
        let value = match value {
            Value::String(s) => OtelValue::from(s.clone()),
            Value::Bool(b) => OtelValue::from(*b),
            Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => OtelValue::from(i),
                (None, Some(f)) => OtelValue::from(f),
                (None, None) => continue,
            },
            // X-Ray only indexes scalars; anything else is not an annotation.
            _ => continue,
        };
        attributes.push(KeyValue::new(format!("aws.xray.annotations.{key}"), value));
    }
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::{Duration, UNIX_EPOCH};

    fn document() -> Segment {
        serde_json::from_value(json!({
            "name": "orders",
            "id": "000000000000000b",
            "trace_id": "1-5759e988-bd862e3fe1be46a994272793",
            "parent_id": "000000000000000a",
            "start_time": 100.25,
            "end_time": 101.5,
            "origin": "AWS::Lambda::Function",
            "fault": true,
            "cause": {"exceptions": [{"type": "ValueError", "message": "bad order"}]},
            "annotations": {"customer": "c-1", "count": 3, "ratio": 0.5, "vip": true, "list": [1]},
            "subsegments": [
                {"name": "Invocation", "id": "0000000000000102", "start_time": 100.5, "end_time": 101.0,
                 "subsegments": [
                    {"name": "DynamoDB", "id": "0000000000000103", "start_time": 100.6, "end_time": 100.7,
                     "namespace": "aws", "aws": {"operation": "GetItem"}, "http": {"response": {"status": 200}}},
                    {"name": "pending", "id": "0000000000000104", "start_time": 100.8, "in_progress": true}
                 ]}
            ]
        }))
        .expect("a valid document")
    }

    fn hex(span: &SpanData) -> (String, String, String) {
        (
            span.span_context.trace_id().to_string(),
            span.span_context.span_id().to_string(),
            span.parent_span_id.to_string(),
        )
    }

    #[test]
    fn a_segment_and_its_subsegments_become_spans() {
        let invocation = InvocationAttributes {
            request_id: Some("req-1".to_owned()),
            cold_start: Some(true),
        };
        let spans = to_spans(&document(), &invocation);
        let shape: Vec<(&str, (String, String, String), SpanKind)> = spans
            .iter()
            .map(|s| (s.name.as_ref(), hex(s), s.span_kind.clone()))
            .collect();
        let trace = "5759e988bd862e3fe1be46a994272793".to_owned();
        assert_eq!(
            shape,
            vec![
                (
                    "orders",
                    (
                        trace.clone(),
                        "000000000000000b".to_owned(),
                        "000000000000000a".to_owned()
                    ),
                    SpanKind::Server
                ),
                (
                    "Invocation",
                    (
                        trace.clone(),
                        "0000000000000102".to_owned(),
                        "000000000000000b".to_owned()
                    ),
                    SpanKind::Internal
                ),
                (
                    "DynamoDB",
                    (
                        trace,
                        "0000000000000103".to_owned(),
                        "0000000000000102".to_owned()
                    ),
                    SpanKind::Client
                ),
            ]
        );
        let root = &spans[0];
        assert!(root.parent_span_is_remote);
        assert!(!spans[1].parent_span_is_remote);
        assert_eq!(
            root.start_time,
            UNIX_EPOCH + Duration::from_micros(100_250_000)
        );
        assert_eq!(
            root.end_time,
            UNIX_EPOCH + Duration::from_micros(101_500_000)
        );
        assert_eq!(root.status, Status::error("bad order"));
        assert_eq!(spans[1].status, Status::Unset);
        assert_eq!(
            root.attributes,
            vec![
                KeyValue::new("aws.xray.origin", "AWS::Lambda::Function"),
                KeyValue::new("faas.invocation_id", "req-1"),
                KeyValue::new("faas.coldstart", true),
                KeyValue::new("aws.xray.annotations.count", 3_i64),
                KeyValue::new("aws.xray.annotations.customer", "c-1"),
                KeyValue::new("aws.xray.annotations.ratio", 0.5),
                KeyValue::new("aws.xray.annotations.vip", true),
            ]
        );
        assert_eq!(
            spans[2].attributes,
            vec![
                KeyValue::new("http.response.status_code", 200_i64),
                KeyValue::new("rpc.method", "GetItem"),
            ]
        );
        assert_eq!(spans[0].instrumentation_scope.name(), "hearth-traces");
    }

    #[test]
    fn a_root_segment_has_no_parent() {
        let mut root = document();
        root.parent_id = None;
        root.subsegments.clear();
        let spans = to_spans(&root, &InvocationAttributes::default());
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].parent_span_id, SpanId::INVALID);
        assert!(!spans[0].parent_span_is_remote);
    }

    #[test]
    fn in_progress_documents_are_skipped_but_their_finished_children_kept() {
        let mut open = document();
        open.in_progress = true;
        open.end_time = None;
        let names: Vec<String> = to_spans(&open, &InvocationAttributes::default())
            .iter()
            .map(|s| s.name.to_string())
            .collect();
        assert_eq!(names, vec!["Invocation", "DynamoDB"]);
    }

    #[test]
    fn without_a_trace_id_nothing_is_exported() {
        let mut orphan = document();
        orphan.trace_id = Some("not-a-trace".to_owned());
        assert!(to_spans(&orphan, &InvocationAttributes::default()).is_empty());
    }

    #[test]
    fn statuses_without_a_cause_name_the_flag() {
        let mut segment = Segment::new("s", "0000000000000001", 1.0, 2.0);
        segment.trace_id = Some("1-5759e988-bd862e3fe1be46a994272793".to_owned());
        segment.error = true;
        assert_eq!(
            to_spans(&segment, &InvocationAttributes::default())[0].status,
            Status::error("error")
        );
        segment.throttle = true;
        assert_eq!(
            to_spans(&segment, &InvocationAttributes::default())[0].status,
            Status::error("throttle")
        );
        segment.fault = true;
        assert_eq!(
            to_spans(&segment, &InvocationAttributes::default())[0].status,
            Status::error("fault")
        );
    }
}
