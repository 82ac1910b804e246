//! What the probe checks in the Telemetry API records it is sent, and the verdict lines it
//! prints about them. Pure: the records and the Extensions API's INVOKE events go in, lines
//! come out, so the rules are tested without a listener.
//!
//! - **Init**: when `platform.initReport` arrives, one line about the init's records, which
//!   must be, in this order, the probe's own `platform.telemetrySubscription` (`Subscribed`),
//!   its own `platform.extension` (`Ready`), `platform.initStart`,
//!   `platform.initRuntimeDone` (`success`) and `platform.initReport` of the same
//!   initialization type. Other extensions' records are not the probe's business.
//! - **Invocation**: when `platform.report` of a request id arrives, one line about that id:
//!   the probe must have had its INVOKE, and have seen exactly `platform.start`,
//!   `platform.runtimeDone` and `platform.report` with that id, in this order. The
//!   `function` records between its start and its runtimeDone are counted as its lines (and
//!   how many of them name the id), leaving out the probe's own output, which shares the
//!   function's pipe and so comes back as `function` records.
//! - **Summary** (at SHUTDOWN): how many INVOKEs, verdicts and OKs, the init's verdict, and
//!   the `droppedRecords` of every `platform.logsDropped` added up.

use std::collections::{BTreeMap, BTreeSet};

use lambda_extension::{LambdaTelemetryRecord, Status};
use serde_json::Value;

/// Every line the probe prints starts with this, so that it can tell them from the function's.
pub const PREFIX: &str = "[ext-probe] ";

/// The records of one request id, as seen.
#[derive(Debug, Default)]
struct Trace {
    records: Vec<String>,
    function: u64,
    naming_id: u64,
}

/// See the module docs.
#[derive(Debug)]
pub struct Checker {
    name: String,
    init: Vec<String>,
    init_verdict: Option<bool>,
    invoked: BTreeSet<String>,
    traces: BTreeMap<String, Trace>,
    /// The request whose `platform.start` came last and whose `runtimeDone` has not.
    current: Option<String>,
    verdicts: u64,
    ok: u64,
    /// `function` records outside any invocation (not the probe's own).
    outside: u64,
    dropped_records: u64,
}

fn status(s: &Status) -> &'static str {
    match s {
        Status::Success => "success",
        Status::Error => "error",
        Status::Failure => "failure",
        Status::Timeout => "timeout",
    }
}

fn init_type(t: &lambda_extension::InitType) -> &'static str {
    match t {
        lambda_extension::InitType::OnDemand => "on-demand",
        lambda_extension::InitType::ProvisionedConcurrency => "provisioned-concurrency",
        lambda_extension::InitType::SnapStart => "snap-start",
    }
}

fn ok_word(ok: bool) -> &'static str {
    if ok {
        "OK"
    } else {
        "FAIL"
    }
}

impl Checker {
    /// A checker for the extension registered as `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Checker {
            name: name.into(),
            init: Vec::new(),
            init_verdict: None,
            invoked: BTreeSet::new(),
            traces: BTreeMap::new(),
            current: None,
            verdicts: 0,
            ok: 0,
            outside: 0,
            dropped_records: 0,
        }
    }

    /// The Extensions API handed the probe an INVOKE for `request_id`.
    pub fn on_invoke(&mut self, request_id: &str) {
        self.invoked.insert(request_id.to_owned());
    }

    fn trace(&mut self, id: &str) -> &mut Trace {
        self.traces.entry(id.to_owned()).or_default()
    }

    /// One record; returns the verdict line it completes, if any (without [`PREFIX`]).
    pub fn on_record(&mut self, record: &LambdaTelemetryRecord<Value>) -> Option<String> {
        use LambdaTelemetryRecord as R;
        match record {
            R::Function(line) => {
                self.on_function(line);
                None
            }
            R::PlatformTelemetrySubscription { name, state, .. } if *name == self.name => {
                self.init.push(format!("telemetrySubscription:{state}"));
                None
            }
            R::PlatformExtension { name, state, .. } if *name == self.name => {
                self.init.push(format!("extension:{state}"));
                None
            }
            R::PlatformInitStart {
                initialization_type,
                ..
            } => {
                self.init
                    .push(format!("initStart:{}", init_type(initialization_type)));
                None
            }
            R::PlatformInitRuntimeDone { status: s, .. } => {
                self.init.push(format!("initRuntimeDone:{}", status(s)));
                None
            }
            R::PlatformInitReport {
                initialization_type,
                ..
            } => {
                self.init
                    .push(format!("initReport:{}", init_type(initialization_type)));
                Some(self.init_verdict())
            }
            R::PlatformStart { request_id, .. } => {
                self.trace(request_id).records.push("start".into());
                self.current = Some(request_id.clone());
                None
            }
            R::PlatformRuntimeDone {
                request_id,
                status: s,
                ..
            } => {
                self.trace(request_id)
                    .records
                    .push(format!("runtimeDone:{}", status(s)));
                if self.current.as_deref() == Some(request_id.as_str()) {
                    self.current = None;
                }
                None
            }
            R::PlatformReport {
                request_id,
                status: s,
                ..
            } => {
                self.trace(request_id)
                    .records
                    .push(format!("report:{}", status(s)));
                Some(self.invocation_verdict(request_id))
            }
            R::PlatformLogsDropped {
                dropped_records, ..
            } => {
                self.dropped_records += dropped_records;
                None
            }
            _ => None,
        }
    }

    fn on_function(&mut self, line: &Value) {
        let text = match line {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if text.starts_with(PREFIX) {
            return;
        }
        match self.current.clone() {
            Some(id) => {
                let naming = text.contains(&id);
                let trace = self.trace(&id);
                trace.function += 1;
                trace.naming_id += u64::from(naming);
            }
            None => self.outside += 1,
        }
    }

    fn init_verdict(&mut self) -> String {
        let ok = match self.init.as_slice() {
            [sub, ext, start, done, report] => {
                sub == "telemetrySubscription:Subscribed"
                    && ext == "extension:Ready"
                    && done == "initRuntimeDone:success"
                    && start.strip_prefix("initStart:") == report.strip_prefix("initReport:")
            }
            _ => false,
        };
        self.init_verdict = Some(ok);
        format!(
            "TELEMETRY init {} records={}",
            ok_word(ok),
            self.init.join(",")
        )
    }

    fn invocation_verdict(&mut self, id: &str) -> String {
        let invoked = self.invoked.contains(id);
        let trace = self.traces.remove(id).unwrap_or_default();
        let ok = invoked
            && matches!(trace.records.as_slice(),
                [start, done, report] if start == "start"
                    && done.starts_with("runtimeDone:")
                    && report.starts_with("report:"));
        self.verdicts += 1;
        self.ok += u64::from(ok);
        format!(
            "TELEMETRY {id} {} invoke={} records={} function={} naming-id={}",
            ok_word(ok),
            if invoked { "yes" } else { "no" },
            trace.records.join(","),
            trace.function,
            trace.naming_id
        )
    }

    /// The line printed at SHUTDOWN (without [`PREFIX`]).
    pub fn summary(&self) -> String {
        let init = match self.init_verdict {
            Some(ok) => ok_word(ok),
            None => "MISSING",
        };
        format!(
            "TELEMETRY summary invokes={} verdicts={} ok={} init={init} outside={} dropped={}",
            self.invoked.len(),
            self.verdicts,
            self.ok,
            self.outside,
            self.dropped_records
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "3f1b6a52-0d6f-4a8e-9c57-1f0e2d9a7b11";

    /// A record as the listener deserializes it.
    fn rec(kind: &str, record: Value) -> LambdaTelemetryRecord<Value> {
        let whole = json!({"time": "2022-10-12T00:00:15.064Z", "type": kind, "record": record});
        serde_json::from_value::<lambda_extension::LambdaTelemetry<Value>>(whole)
            .expect("a record the crate reads")
            .record
    }

    fn init_records() -> Vec<LambdaTelemetryRecord<Value>> {
        vec![
            rec(
                "platform.telemetrySubscription",
                json!({"name": "probe", "state": "Subscribed", "types": ["platform", "function"]}),
            ),
            rec(
                "platform.extension",
                json!({"name": "other", "state": "Ready", "events": ["INVOKE"]}),
            ),
            rec(
                "platform.extension",
                json!({"name": "probe", "state": "Ready", "events": ["INVOKE", "SHUTDOWN"]}),
            ),
            rec(
                "platform.initStart",
                json!({"initializationType": "on-demand", "phase": "init", "functionName": "f"}),
            ),
            rec(
                "platform.initRuntimeDone",
                json!({"initializationType": "on-demand", "phase": "init", "status": "success"}),
            ),
            rec(
                "platform.initReport",
                json!({"initializationType": "on-demand", "phase": "init", "status": "success",
                       "metrics": {"durationMs": 12.5}}),
            ),
        ]
    }

    fn start(id: &str) -> LambdaTelemetryRecord<Value> {
        rec(
            "platform.start",
            json!({"requestId": id, "version": "$LATEST"}),
        )
    }

    fn done(id: &str, status: &str) -> LambdaTelemetryRecord<Value> {
        rec(
            "platform.runtimeDone",
            json!({"requestId": id, "status": status, "metrics": {"durationMs": 1.0}}),
        )
    }

    fn report(id: &str, status: &str) -> LambdaTelemetryRecord<Value> {
        rec(
            "platform.report",
            json!({"requestId": id, "status": status, "metrics": {"durationMs": 1.0,
                   "billedDurationMs": 1, "memorySizeMB": 128, "maxMemoryUsedMB": 20}}),
        )
    }

    fn line(text: &str) -> LambdaTelemetryRecord<Value> {
        rec("function", json!(text))
    }

    fn feed(c: &mut Checker, records: &[LambdaTelemetryRecord<Value>]) -> Vec<String> {
        records.iter().filter_map(|r| c.on_record(r)).collect()
    }

    #[test]
    fn a_whole_init_and_invocation_are_ok() {
        let mut c = Checker::new("probe");
        assert_eq!(
            feed(&mut c, &init_records()),
            ["TELEMETRY init OK records=telemetrySubscription:Subscribed,extension:Ready,initStart:on-demand,initRuntimeDone:success,initReport:on-demand"]
        );
        c.on_invoke(ID);
        let lines = feed(
            &mut c,
            &[
                start(ID),
                line(&format!("fn {ID} 1")),
                line(&format!("{PREFIX}INVOKE {ID}")),
                line("no id here"),
                done(ID, "success"),
                report(ID, "success"),
            ],
        );
        assert_eq!(
            lines,
            [format!("TELEMETRY {ID} OK invoke=yes records=start,runtimeDone:success,report:success function=2 naming-id=1")]
        );
        assert_eq!(
            c.summary(),
            "TELEMETRY summary invokes=1 verdicts=1 ok=1 init=OK outside=0 dropped=0"
        );
    }

    #[test]
    fn a_report_without_its_invoke_or_start_fails() {
        let mut c = Checker::new("probe");
        let lines = feed(&mut c, &[done(ID, "error"), report(ID, "error")]);
        assert_eq!(
            lines,
            [format!("TELEMETRY {ID} FAIL invoke=no records=runtimeDone:error,report:error function=0 naming-id=0")]
        );
        assert_eq!(
            c.summary(),
            "TELEMETRY summary invokes=0 verdicts=1 ok=0 init=MISSING outside=0 dropped=0"
        );
    }

    #[test]
    fn records_out_of_order_fail() {
        let mut c = Checker::new("probe");
        c.on_invoke(ID);
        let lines = feed(
            &mut c,
            &[
                start(ID),
                start(ID),
                done(ID, "success"),
                report(ID, "success"),
            ],
        );
        assert_eq!(
            lines,
            [format!("TELEMETRY {ID} FAIL invoke=yes records=start,start,runtimeDone:success,report:success function=0 naming-id=0")]
        );
    }

    #[test]
    fn an_init_missing_its_own_subscription_fails() {
        let mut c = Checker::new("someone-else");
        assert_eq!(
            feed(&mut c, &init_records()),
            ["TELEMETRY init FAIL records=initStart:on-demand,initRuntimeDone:success,initReport:on-demand"]
        );
        assert!(c.summary().contains(" init=FAIL "), "{}", c.summary());
    }

    #[test]
    fn lines_between_invocations_are_outside_and_drops_add_up() {
        let mut c = Checker::new("probe");
        let dropped = |n: u64| {
            rec(
                "platform.logsDropped",
                json!({"reason": "r", "droppedRecords": n, "droppedBytes": n * 10}),
            )
        };
        c.on_invoke(ID);
        let lines = feed(
            &mut c,
            &[
                line("before"),
                dropped(3),
                start(ID),
                done(ID, "success"),
                line("after"),
                dropped(4),
                report(ID, "success"),
            ],
        );
        assert_eq!(lines.len(), 1);
        assert_eq!(
            c.summary(),
            "TELEMETRY summary invokes=1 verdicts=1 ok=1 init=MISSING outside=2 dropped=7"
        );
    }

    #[test]
    fn a_json_function_record_counts_as_a_line() {
        let mut c = Checker::new("probe");
        c.on_invoke(ID);
        let lines = feed(
            &mut c,
            &[
                start(ID),
                rec("function", json!({"message": "hi", "requestId": ID})),
                done(ID, "success"),
                report(ID, "success"),
            ],
        );
        assert!(lines[0].ends_with(" function=1 naming-id=1"), "{lines:?}");
    }
}
