//! X-Ray segment documents: the JSON shape X-Ray's segment document schema gives segments and
//! subsegments, as functions' X-Ray SDKs send them and as Hearth records its own.
//!
//! Only the fields Hearth reads are typed; `http`, `aws`, `sql`, `service`, `cause` and
//! `metadata` are kept as JSON values, and fields outside the schema are ignored rather than
//! refused, since SDK versions differ in what they add.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A segment or subsegment document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// The service (segments) or operation (subsegments) name.
    pub name: String,
    /// 16 hex digits, unique in the trace.
    pub id: String,
    /// `1-<8 hex>-<24 hex>`; absent on subsegments embedded in their parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// The parent segment or subsegment's id; on a segment, the caller's `Parent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Seconds since the Unix epoch, with fractions (X-Ray asks for milliseconds at least).
    pub start_time: f64,
    /// When the work ended; absent while `in_progress`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<f64>,
    /// A segment sent before it ended, to be overwritten by the complete one.
    #[serde(default, skip_serializing_if = "is_false")]
    pub in_progress: bool,
    /// The kind of resource, e.g. `AWS::Lambda`, `AWS::Lambda::Function`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// `subsegment` on a subsegment sent on its own.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// On subsegments: `aws` for AWS SDK calls, `remote` for other downstream calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Subsegments recorded inside this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subsegments: Vec<Segment>,
    /// The `http` object: `request` and `response`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<Value>,
    /// The `aws` object: service-specific data (request id, function ARN, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<Value>,
    /// The `service` object (the application's version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Value>,
    /// The `sql` object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<Value>,
    /// A client error (4xx).
    #[serde(default, skip_serializing_if = "is_false")]
    pub error: bool,
    /// A server error (5xx).
    #[serde(default, skip_serializing_if = "is_false")]
    pub fault: bool,
    /// Throttled (429).
    #[serde(default, skip_serializing_if = "is_false")]
    pub throttle: bool,
    /// The error's cause: an exception id string, or `{working_directory, paths, exceptions}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Value>,
    /// Indexed key-value pairs (string, number or boolean values).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, Value>,
    /// Unindexed data, by namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Segment {
    /// A closed segment or subsegment with only the required fields.
    pub fn new(name: impl Into<String>, id: impl Into<String>, start: f64, end: f64) -> Self {
        Segment {
            name: name.into(),
            id: id.into(),
            trace_id: None,
            parent_id: None,
            start_time: start,
            end_time: Some(end),
            in_progress: false,
            origin: None,
            kind: None,
            namespace: None,
            subsegments: Vec::new(),
            http: None,
            aws: None,
            service: None,
            sql: None,
            error: false,
            fault: false,
            throttle: false,
            cause: None,
            annotations: BTreeMap::new(),
            metadata: None,
        }
    }

    /// Whether this document is a subsegment (sent alone with `type: subsegment`).
    pub fn is_subsegment(&self) -> bool {
        self.kind.as_deref() == Some("subsegment")
    }
}

/// `t` as X-Ray's floating-point epoch seconds (microsecond precision survives in an f64
/// for the next few centuries).
pub fn epoch_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// X-Ray's epoch seconds back to a time, rounded to the microsecond (the precision SDKs
/// send); negative, infinite or NaN values are clamped to the epoch.
pub fn system_time(seconds: f64) -> SystemTime {
    if !seconds.is_finite() || seconds <= 0.0 {
        return UNIX_EPOCH;
    }
    let micros = (seconds * 1e6).round();
    // Beyond u64 microseconds (half a million years) the clamp is as good as any answer.
    let micros = if micros >= u64::MAX as f64 {
        u64::MAX
    } else {
        micros as u64
    };
    UNIX_EPOCH + Duration::from_micros(micros)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_subsegment_sent_alone_parses() {
        let doc = json!({
            "name": "DynamoDB",
            "id": "6b55dcc497932f1a",
            "trace_id": "1-5759e988-bd862e3fe1be46a994272793",
            "parent_id": "53995c3f42cd8ad8",
            "start_time": 1_461_096_053.37,
            "end_time": 1_461_096_053.4,
            "type": "subsegment",
            "namespace": "aws",
            "aws": {"operation": "GetItem", "table_name": "t"},
            "http": {"response": {"status": 200}},
            "annotations": {"customer": "c-1", "count": 3},
            "fault": true,
            "cause": {"exceptions": [{"message": "boom", "type": "Error"}]},
            "some_future_field": 1
        });
        let segment: Segment = serde_json::from_value(doc).expect("a valid subsegment");
        assert!(segment.is_subsegment());
        assert_eq!(segment.parent_id.as_deref(), Some("53995c3f42cd8ad8"));
        assert_eq!(segment.end_time, Some(1_461_096_053.4));
        assert!(segment.fault && !segment.error && !segment.throttle);
        assert_eq!(segment.annotations.get("count"), Some(&json!(3)));
        assert_eq!(segment.namespace.as_deref(), Some("aws"));
    }

    #[test]
    fn serialises_only_what_is_set() {
        let mut segment = Segment::new("f", "53995c3f42cd8ad8", 1.5, 2.25);
        segment.trace_id = Some("1-5759e988-bd862e3fe1be46a994272793".to_owned());
        segment.origin = Some("AWS::Lambda::Function".to_owned());
        segment
            .subsegments
            .push(Segment::new("Invocation", "0000000000000001", 1.5, 2.0));
        assert_eq!(
            serde_json::to_value(&segment).expect("serialisable"),
            json!({
                "name": "f",
                "id": "53995c3f42cd8ad8",
                "trace_id": "1-5759e988-bd862e3fe1be46a994272793",
                "start_time": 1.5,
                "end_time": 2.25,
                "origin": "AWS::Lambda::Function",
                "subsegments": [
                    {"name": "Invocation", "id": "0000000000000001", "start_time": 1.5, "end_time": 2.0}
                ]
            })
        );
    }

    #[test]
    fn an_in_progress_segment_has_no_end() {
        let segment: Segment = serde_json::from_str(
            r#"{"name":"f","id":"53995c3f42cd8ad8","trace_id":"1-5759e988-bd862e3fe1be46a994272793","start_time":10,"in_progress":true}"#,
        )
        .expect("a valid in-progress segment");
        assert!(segment.in_progress);
        assert_eq!(segment.end_time, None);
        assert_eq!(segment.start_time, 10.0);
    }

    #[test]
    fn times_convert_both_ways() {
        let t = UNIX_EPOCH + Duration::from_micros(1_480_615_200_010_123);
        assert_eq!(epoch_seconds(t), 1_480_615_200.010_123);
        assert_eq!(system_time(1_480_615_200.010_123), t);
        assert_eq!(system_time(-1.0), UNIX_EPOCH);
        assert_eq!(system_time(f64::NAN), UNIX_EPOCH);
        assert_eq!(
            system_time(f64::MAX),
            UNIX_EPOCH + Duration::from_micros(u64::MAX)
        );
    }
}
