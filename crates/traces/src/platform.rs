//! The segments Lambda's service records for one invocation with Active tracing, built from
//! the invocation's timestamps and outcome:
//!
//! ```text
//! AWS::Lambda            <function name>   received → response sent
//!   Dwell Time                             (queued events) received → dequeued
//!   Attempt #N                             (queued events) dequeued → response sent
//! AWS::Lambda::Function  <function name>   init start (cold) or invocation start → end
//!   Initialization                         (cold start only)
//!   Invocation                             the handler's run
//!   Overhead                               response posted → runtime's next request
//! ```
//!
//! UNSURE: the names and nesting follow AWS's "Visualize Lambda function invocations using
//! AWS X-Ray" page as we remember it. Not documented there, and chosen here: the function
//! segment's parent is the service segment (or its `Attempt #N` subsegment for queued
//! events); the `http.response.status` (200 for synchronous, 202 for queued invocations, 429
//! when throttled, 500 on a service fault); a function error marks the function segment and
//! its `Invocation` subsegment as `fault` with the error as the `cause` (X-Ray shows function
//! errors as faults, but the exact `cause` text AWS writes is not known to us); the `aws`
//! objects' keys (`request_id` on the service segment, `function_arn` and `resource_names`
//! on the function segment).

use std::time::SystemTime;

use serde_json::json;

use crate::header::{InvocationTrace, SegmentId};
use crate::segment::{epoch_seconds, Segment};

/// The `origin` of the Lambda service's segment.
pub const ORIGIN_SERVICE: &str = "AWS::Lambda";
/// The `origin` of the function's segment.
pub const ORIGIN_FUNCTION: &str = "AWS::Lambda::Function";

/// How the invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The function returned a response.
    Success,
    /// The function returned or raised an error (`X-Amz-Function-Error`).
    FunctionError {
        /// The error's type (`errorType`), when the runtime reported one.
        error_type: Option<String>,
        /// The error's message (`errorMessage`), when the runtime reported one.
        message: Option<String>,
    },
    /// The invocation was throttled (concurrency exhausted).
    Throttled,
    /// Hearth failed to run the invocation (a service fault, 5xx).
    ServiceFault,
}

/// An event that waited in a queue (asynchronous invocations, event source mappings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    /// When the event was taken from the queue for this attempt.
    pub dequeued: SystemTime,
    /// This attempt's number, from 1.
    pub attempt: u32,
}

/// The function's initialisation, on a cold start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitTimes {
    /// When the runtime process was started.
    pub start: SystemTime,
    /// When the runtime first asked for an event (`/next`).
    pub end: SystemTime,
}

/// What happened to one invocation, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationTimes {
    /// When Hearth received the Invoke (or the event).
    pub received: SystemTime,
    /// Set for queued events: when it was dequeued and which attempt this is.
    pub queued: Option<Queued>,
    /// Set on a cold start.
    pub init: Option<InitTimes>,
    /// When the event was handed to the runtime.
    pub invocation_start: SystemTime,
    /// When the runtime posted the response or error.
    pub invocation_end: SystemTime,
    /// When the runtime next asked for an event (the end of `Overhead`); `None` when it did
    /// not (the environment was frozen or stopped first), and no `Overhead` is recorded.
    pub overhead_end: Option<SystemTime>,
    /// When Hearth answered the caller (or, for a queued event, finished the attempt).
    pub response_sent: SystemTime,
    /// How it ended.
    pub outcome: Outcome,
}

/// The invocation's identity, for the segments' names and `aws` objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationInfo {
    /// The function's name (both segments are named after it).
    pub function_name: String,
    /// The function's ARN (qualified with the version or alias invoked).
    pub function_arn: String,
    /// The invocation's request id.
    pub request_id: String,
}

/// The `AWS::Lambda` and `AWS::Lambda::Function` segments for one invocation, in that order.
///
/// `trace` gives the trace and both segments' ids; `new_id` names the subsegments (tests
/// pass a counter; callers pass [`SegmentId::new`]).
pub fn platform_segments(
    trace: &InvocationTrace,
    info: &InvocationInfo,
    times: &InvocationTimes,
    mut new_id: impl FnMut() -> SegmentId,
) -> [Segment; 2] {
    let trace_id = trace.trace_id.to_string();
    let at = epoch_seconds;

    let mut service = Segment::new(
        info.function_name.clone(),
        trace.service_segment_id.to_string(),
        at(times.received),
        at(times.response_sent),
    );
    service.trace_id = Some(trace_id.clone());
    service.parent_id = trace.upstream_parent.map(|p| p.to_string());
    service.origin = Some(ORIGIN_SERVICE.to_owned());
    service.aws = Some(json!({ "request_id": info.request_id }));
    let status = match (&times.outcome, times.queued.is_some()) {
        (Outcome::Throttled, _) => 429,
        (Outcome::ServiceFault, _) => 500,
        (_, true) => 202,
        (_, false) => 200,
    };
    service.http = Some(json!({ "response": { "status": status } }));
    match times.outcome {
        Outcome::Throttled => {
            service.error = true;
            service.throttle = true;
        }
        Outcome::ServiceFault => service.fault = true,
        Outcome::Success | Outcome::FunctionError { .. } => {}
    }

    let mut function_parent = trace.service_segment_id.to_string();
    if let Some(queued) = &times.queued {
        service.subsegments.push(Segment::new(
            "Dwell Time",
            new_id().to_string(),
            at(times.received),
            at(queued.dequeued),
        ));
        let attempt = Segment::new(
            format!("Attempt #{}", queued.attempt),
            new_id().to_string(),
            at(queued.dequeued),
            at(times.response_sent),
        );
        function_parent = attempt.id.clone();
        service.subsegments.push(attempt);
    }

    let function_start = times.init.map_or(times.invocation_start, |i| i.start);
    let function_end = times
        .overhead_end
        .map_or(times.invocation_end, |o| o.max(times.invocation_end));
    let mut function = Segment::new(
        info.function_name.clone(),
        trace.function_segment_id.to_string(),
        at(function_start),
        at(function_end),
    );
    function.trace_id = Some(trace_id);
    function.parent_id = Some(function_parent);
    function.origin = Some(ORIGIN_FUNCTION.to_owned());
    function.aws = Some(json!({
        "function_arn": info.function_arn,
        "resource_names": [info.function_name],
    }));
    if let Some(init) = &times.init {
        function.subsegments.push(Segment::new(
            "Initialization",
            new_id().to_string(),
            at(init.start),
            at(init.end),
        ));
    }
    let mut invocation = Segment::new(
        "Invocation",
        new_id().to_string(),
        at(times.invocation_start),
        at(times.invocation_end),
    );
    if let Outcome::FunctionError {
        error_type,
        message,
    } = &times.outcome
    {
        let cause = json!({ "exceptions": [{
            "type": error_type.as_deref().unwrap_or("Error"),
            "message": message.as_deref().unwrap_or(""),
        }]});
        invocation.fault = true;
        invocation.cause = Some(cause.clone());
        function.fault = true;
        function.cause = Some(cause);
    }
    function.subsegments.push(invocation);
    if let Some(end) = times.overhead_end {
        function.subsegments.push(Segment::new(
            "Overhead",
            new_id().to_string(),
            at(times.invocation_end),
            at(end),
        ));
    }
    [service, function]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::TraceId;
    use serde_json::{json, Value};
    use std::time::{Duration, UNIX_EPOCH};

    fn ms(n: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + n)
    }

    fn trace() -> InvocationTrace {
        InvocationTrace {
            trace_id: "1-5759e988-bd862e3fe1be46a994272793"
                .parse::<TraceId>()
                .expect("a valid trace id"),
            upstream_parent: Some(SegmentId(0x53995c3f42cd8ad8)),
            service_segment_id: SegmentId(0xa),
            function_segment_id: SegmentId(0xb),
            sampled: true,
            record_platform_segments: true,
            lineage: None,
            extra: vec![],
        }
    }

    fn info() -> InvocationInfo {
        InvocationInfo {
            function_name: "orders".to_owned(),
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:orders:$LATEST"
                .to_owned(),
            request_id: "c6af9ac6-7b61-11e6-9a41-93e812345678".to_owned(),
        }
    }

    fn counter() -> impl FnMut() -> SegmentId {
        let mut n = 0x100;
        move || {
            n += 1;
            SegmentId(n)
        }
    }

    fn secs(n: u64) -> f64 {
        epoch_seconds(ms(n))
    }

    #[test]
    fn a_cold_synchronous_invocation() {
        let times = InvocationTimes {
            received: ms(0),
            queued: None,
            init: Some(InitTimes {
                start: ms(2),
                end: ms(150),
            }),
            invocation_start: ms(151),
            invocation_end: ms(251),
            overhead_end: Some(ms(253)),
            response_sent: ms(252),
            outcome: Outcome::Success,
        };
        let [service, function] = platform_segments(&trace(), &info(), &times, counter());
        assert_eq!(
            serde_json::to_value(&service).expect("serialisable"),
            json!({
                "name": "orders",
                "id": "000000000000000a",
                "trace_id": "1-5759e988-bd862e3fe1be46a994272793",
                "parent_id": "53995c3f42cd8ad8",
                "start_time": secs(0),
                "end_time": secs(252),
                "origin": "AWS::Lambda",
                "http": {"response": {"status": 200}},
                "aws": {"request_id": "c6af9ac6-7b61-11e6-9a41-93e812345678"}
            })
        );
        assert_eq!(
            serde_json::to_value(&function).expect("serialisable"),
            json!({
                "name": "orders",
                "id": "000000000000000b",
                "trace_id": "1-5759e988-bd862e3fe1be46a994272793",
                "parent_id": "000000000000000a",
                "start_time": secs(2),
                "end_time": secs(253),
                "origin": "AWS::Lambda::Function",
                "aws": {
                    "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:orders:$LATEST",
                    "resource_names": ["orders"]
                },
                "subsegments": [
                    {"name": "Initialization", "id": "0000000000000101", "start_time": secs(2), "end_time": secs(150)},
                    {"name": "Invocation", "id": "0000000000000102", "start_time": secs(151), "end_time": secs(251)},
                    {"name": "Overhead", "id": "0000000000000103", "start_time": secs(251), "end_time": secs(253)}
                ]
            })
        );
    }

    #[test]
    fn a_queued_warm_invocation_that_failed() {
        let times = InvocationTimes {
            received: ms(0),
            queued: Some(Queued {
                dequeued: ms(40),
                attempt: 2,
            }),
            init: None,
            invocation_start: ms(41),
            invocation_end: ms(60),
            overhead_end: None,
            response_sent: ms(61),
            outcome: Outcome::FunctionError {
                error_type: Some("ValueError".to_owned()),
                message: Some("bad order".to_owned()),
            },
        };
        let [service, function] = platform_segments(&trace(), &info(), &times, counter());
        let names: Vec<(&str, &str, f64, Option<f64>)> = service
            .subsegments
            .iter()
            .map(|s| (s.name.as_str(), s.id.as_str(), s.start_time, s.end_time))
            .collect();
        assert_eq!(
            names,
            vec![
                ("Dwell Time", "0000000000000101", secs(0), Some(secs(40))),
                ("Attempt #2", "0000000000000102", secs(40), Some(secs(61))),
            ]
        );
        assert_eq!(service.http, Some(json!({"response": {"status": 202}})));
        assert!(!service.fault && !service.error);
        assert_eq!(function.parent_id.as_deref(), Some("0000000000000102"));
        assert_eq!(function.start_time, secs(41));
        assert_eq!(function.end_time, Some(secs(60)));
        assert!(function.fault);
        let subsegments: Vec<(&str, bool)> = function
            .subsegments
            .iter()
            .map(|s| (s.name.as_str(), s.fault))
            .collect();
        assert_eq!(subsegments, vec![("Invocation", true)]);
        let cause: Value = json!({"exceptions": [{"type": "ValueError", "message": "bad order"}]});
        assert_eq!(function.subsegments[0].cause, Some(cause.clone()));
        assert_eq!(function.cause, Some(cause));
    }

    #[test]
    fn throttles_and_faults_mark_the_service_segment() {
        let mut times = InvocationTimes {
            received: ms(0),
            queued: None,
            init: None,
            invocation_start: ms(1),
            invocation_end: ms(1),
            overhead_end: None,
            response_sent: ms(2),
            outcome: Outcome::Throttled,
        };
        let [service, _] = platform_segments(&trace(), &info(), &times, counter());
        assert_eq!(
            (service.error, service.throttle, service.fault),
            (true, true, false)
        );
        assert_eq!(service.http, Some(json!({"response": {"status": 429}})));
        times.outcome = Outcome::ServiceFault;
        let [service, function] = platform_segments(&trace(), &info(), &times, counter());
        assert_eq!(
            (service.error, service.throttle, service.fault),
            (false, false, true)
        );
        assert_eq!(service.http, Some(json!({"response": {"status": 500}})));
        assert!(!function.fault);
    }

    #[test]
    fn without_an_upstream_parent_the_service_segment_is_the_root() {
        let mut trace = trace();
        trace.upstream_parent = None;
        let times = InvocationTimes {
            received: ms(0),
            queued: None,
            init: None,
            invocation_start: ms(1),
            invocation_end: ms(2),
            overhead_end: None,
            response_sent: ms(3),
            outcome: Outcome::Success,
        };
        let [service, _] = platform_segments(&trace, &info(), &times, counter());
        assert_eq!(service.parent_id, None);
    }
}
