//! Platform lines (Lambda's "system logs") in the function's `LoggingConfig`: as text
//! (`INIT_START`, `START`, `END`, `REPORT`, ...), or, with the `JSON` format, as the
//! JSON records Lambda writes instead (`{"time":...,"type":"platform.start","record":
//! {...}}`, the Telemetry API's event shapes), dropped below the function's
//! `SystemLogLevel`. The lines are made as text where they arise and rendered here, in
//! the one place every platform line passes on its way to the log (the collector).
//!
//! Levels, as Lambda gives them: `platform.initStart`, `platform.initReport`,
//! `platform.start` and `platform.report` are INFO, `platform.runtimeDone` (the text
//! `END`) is DEBUG. Hearth's own platform lines (an asynchronous attempt, why an
//! environment stopped) become `{"type":"platform.hearth","record":{"message":...}}` at
//! INFO, or WARN for errors.

use std::borrow::Cow;

use hearth_model::settings::{LogFormat, Logging};
use serde_json::{json, Map, Value};

/// What the JSON records say about the environment (for `platform.initStart`).
pub(crate) struct PlatformContext<'a> {
    pub logging: &'a Logging,
    pub function: &'a str,
    pub version: &'a str,
    pub runtime_version_arn: &'a str,
}

/// `lines` as the function's log format wants them: the same lines, not a copy, for
/// Text (the default, and every invocation passes here).
pub(crate) fn render<'a>(
    ctx: &PlatformContext<'_>,
    lines: &'a [(i64, String)],
) -> Cow<'a, [(i64, String)]> {
    if ctx.logging.format == LogFormat::Text {
        return Cow::Borrowed(lines);
    }
    let records: Vec<(i64, String)> = lines
        .iter()
        .filter_map(|(ts, line)| {
            let (level, kind, record) = record_of(ctx, line);
            ctx.logging.writes_system(level).then(|| {
                let event = json!({"time": time(*ts), "type": kind, "record": record});
                (*ts, event.to_string())
            })
        })
        .collect();
    Cow::Owned(records)
}

/// `2024-01-02T03:04:05.678Z`.
fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// The `Key: value` fields of a tab-separated platform line after its first word.
fn fields(rest: &str) -> Vec<(&str, &str)> {
    rest.split('\t')
        .filter_map(|f| f.split_once(": "))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

/// `3.01 ms` → 3.01.
fn number(v: &str) -> Value {
    let n = v.split_whitespace().next().unwrap_or("");
    n.parse::<u64>()
        .map(Value::from)
        .or_else(|_| n.parse::<f64>().map(Value::from))
        .unwrap_or(Value::Null)
}

fn record_of(ctx: &PlatformContext<'_>, line: &str) -> (&'static str, &'static str, Value) {
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    match word {
        "INIT_START" => (
            "INFO",
            "platform.initStart",
            json!({
                "initializationType": "on-demand",
                "phase": "init",
                "runtimeVersion": rest.strip_prefix("Runtime Version: ").unwrap_or(rest),
                "runtimeVersionArn": ctx.runtime_version_arn,
                "functionName": ctx.function,
                "functionVersion": ctx.version,
            }),
        ),
        "START" => {
            // START RequestId: <id> Version: <v>
            let mut parts = rest.split_whitespace();
            let mut record = Map::new();
            while let (Some(k), Some(v)) = (parts.next(), parts.next()) {
                match k {
                    "RequestId:" => record.insert("requestId".into(), v.into()),
                    "Version:" => record.insert("version".into(), v.into()),
                    _ => None,
                };
            }
            ("INFO", "platform.start", Value::Object(record))
        }
        "END" => (
            "DEBUG",
            "platform.runtimeDone",
            json!({
                "requestId": rest.strip_prefix("RequestId: ").unwrap_or(rest),
                "status": "success",
            }),
        ),
        "REPORT" => {
            let mut request_id = "";
            let mut status = "success";
            let mut error_type = None;
            let mut metrics = Map::new();
            for (k, v) in fields(rest) {
                match k {
                    "RequestId" => request_id = v,
                    "Duration" => drop(metrics.insert("durationMs".into(), number(v))),
                    "Billed Duration" => drop(metrics.insert("billedDurationMs".into(), number(v))),
                    "Memory Size" => drop(metrics.insert("memorySizeMB".into(), number(v))),
                    "Max Memory Used" => drop(metrics.insert("maxMemoryUsedMB".into(), number(v))),
                    "Init Duration" => drop(metrics.insert("initDurationMs".into(), number(v))),
                    "Status" => status = v,
                    "Error Type" => error_type = Some(v),
                    _ => {}
                }
            }
            let mut record = json!({"requestId": request_id, "metrics": metrics, "status": status});
            if status == "timeout" {
                record["errorType"] = Value::from(error_type.unwrap_or("Sandbox.Timedout"));
            } else if let Some(t) = error_type {
                record["errorType"] = Value::from(t);
            }
            ("INFO", "platform.report", record)
        }
        "EXTENSION" => {
            let mut record = Map::new();
            for (k, v) in fields(rest) {
                match k {
                    "Name" => drop(record.insert("name".into(), v.into())),
                    "State" => drop(record.insert("state".into(), v.into())),
                    "Events" => {
                        let list = v.trim_start_matches('[').trim_end_matches(']');
                        let events: Vec<Value> = list
                            .split(',')
                            .filter(|e| !e.is_empty())
                            .map(|e| e.trim().into())
                            .collect();
                        record.insert("events".into(), Value::Array(events));
                    }
                    _ => {}
                }
            }
            ("INFO", "platform.extension", Value::Object(record))
        }
        "INIT_REPORT" => {
            let mut record = Map::new();
            record.insert("initializationType".into(), "on-demand".into());
            record.insert("phase".into(), "init".into());
            for (k, v) in fields(rest) {
                match k {
                    "Init Duration" => {
                        record.insert("metrics".into(), json!({"durationMs": number(v)}));
                    }
                    "Status" => {
                        record.insert("status".into(), v.into());
                    }
                    _ => {}
                }
            }
            ("INFO", "platform.initReport", Value::Object(record))
        }
        _ => {
            let level = if line.contains("Error") {
                "WARN"
            } else {
                "INFO"
            };
            (level, "platform.hearth", json!({"message": line}))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(logging: &Logging) -> PlatformContext<'_> {
        PlatformContext {
            logging,
            function: "f",
            version: "$LATEST",
            runtime_version_arn: "arn:aws:lambda:us-east-1::runtime:ab",
        }
    }

    fn json_logging(system: &str) -> Logging {
        Logging {
            format: LogFormat::Json,
            application_level: Some("INFO".into()),
            system_level: Some(system.into()),
        }
    }

    fn parsed(lines: Cow<'_, [(i64, String)]>) -> Vec<Value> {
        lines
            .iter()
            .map(|(_, l)| serde_json::from_str(l).expect("a JSON record"))
            .collect()
    }

    #[test]
    fn text_lines_stay_text() {
        let logging = Logging::default();
        let lines = vec![(1, "START RequestId: r Version: $LATEST".to_string())];
        assert_eq!(render(&ctx(&logging), &lines).as_ref(), lines.as_slice());
    }

    #[test]
    fn json_records_replace_the_platform_lines() {
        let logging = json_logging("DEBUG");
        let lines = vec![
            (0, "INIT_START Runtime Version: python:3.12".to_string()),
            (1_700_000_000_123, "START RequestId: r Version: $LATEST".to_string()),
            (2, "END RequestId: r".to_string()),
            (
                3,
                "REPORT RequestId: r\tDuration: 3.01 ms\tBilled Duration: 4 ms\tMemory Size: 128 MB\tMax Memory Used: 36 MB\tInit Duration: 110.10 ms".to_string(),
            ),
        ];
        let got = parsed(render(&ctx(&logging), &lines));
        assert_eq!(
            got[0],
            json!({"time": "1970-01-01T00:00:00.000Z", "type": "platform.initStart", "record": {
                "initializationType": "on-demand", "phase": "init", "runtimeVersion": "python:3.12",
                "runtimeVersionArn": "arn:aws:lambda:us-east-1::runtime:ab",
                "functionName": "f", "functionVersion": "$LATEST"}})
        );
        assert_eq!(
            got[1],
            json!({"time": "2023-11-14T22:13:20.123Z", "type": "platform.start",
                   "record": {"requestId": "r", "version": "$LATEST"}})
        );
        assert_eq!(
            got[2]["record"],
            json!({"requestId": "r", "status": "success"})
        );
        assert_eq!(
            got[3]["record"],
            json!({"requestId": "r", "status": "success", "metrics": {
                "durationMs": 3.01, "billedDurationMs": 4, "memorySizeMB": 128,
                "maxMemoryUsedMB": 36, "initDurationMs": 110.1}})
        );
    }

    #[test]
    fn an_extension_line_becomes_platform_extension() {
        let logging = json_logging("INFO");
        let lines = vec![(
            0,
            "EXTENSION Name: probe\tState: Ready\tEvents: [INVOKE,SHUTDOWN]".to_string(),
        )];
        let got = parsed(render(&ctx(&logging), &lines));
        assert_eq!(
            got[0],
            json!({"time": "1970-01-01T00:00:00.000Z", "type": "platform.extension",
                   "record": {"name": "probe", "state": "Ready", "events": ["INVOKE", "SHUTDOWN"]}})
        );
    }

    #[test]
    fn a_failed_report_names_its_error_type() {
        let logging = json_logging("INFO");
        let lines = vec![(
            1,
            "REPORT RequestId: r\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 30 MB\tStatus: error\tError Type: Runtime.ExitError".to_string(),
        )];
        let got = parsed(render(&ctx(&logging), &lines));
        assert_eq!(got[0]["record"]["status"], "error");
        assert_eq!(got[0]["record"]["errorType"], "Runtime.ExitError");
    }

    #[test]
    fn the_system_level_filters_records() {
        let lines = vec![
            (1, "START RequestId: r Version: 1".to_string()),
            (2, "END RequestId: r".to_string()),
        ];
        let info = json_logging("INFO");
        let kinds: Vec<Value> = parsed(render(&ctx(&info), &lines))
            .into_iter()
            .map(|v| v["type"].clone())
            .collect();
        assert_eq!(kinds, [json!("platform.start")], "END is DEBUG");
        let warn = json_logging("WARN");
        assert!(render(&ctx(&warn), &lines).is_empty());
    }
}
