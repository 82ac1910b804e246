//! The Telemetry API's records beyond a clean init and invocation, on the process sandbox
//! with real executables and a real layer: an external extension's own output as
//! `extension` records, `platform.runtimeDone`'s `producedBytes` and spans, and a failed
//! init's records flushed to the subscriber before the environment goes. A Python
//! extension from the layer subscribes and writes every record it is sent to
//! `$EXT_OUT/telemetry.jsonl` (its listener answers only once the line is written, and the
//! engine waits for delivery before it answers or sends SHUTDOWN), so no assertion waits
//! on a clock.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hearth_engine::testing::{self, config, eventually};
use hearth_engine::{ConfigChange, Engine, InvokePath, InvokeRequest, NewFunction};
use hearth_model::FunctionRef;
use serde_json::{json, Value};

/// A custom runtime: prints a line for each event and answers with its payload; with
/// `FAIL_INIT` set it posts an init error instead of asking for events.
const RUNTIME: &str = r#"#!/usr/bin/env python3
import json, os, time, urllib.request
base = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/"
if os.environ.get("FAIL_INIT") or os.environ.get("CRASH_INIT"):
    # After the extension subscribed and wrote its lines, so that it hears of the failure.
    while not os.path.exists(os.path.join(os.environ["EXT_OUT"], "subscribed")):
        time.sleep(0.01)
    if os.environ.get("CRASH_INIT"):
        print("runtime dying", flush=True)
        os._exit(2)
    req = urllib.request.Request(base + "init/error", method="POST",
        data=json.dumps({"errorType": "Custom.InitBoom", "errorMessage": "no"}).encode(),
        headers={"Lambda-Runtime-Function-Error-Type": "Custom.InitBoom"})
    urllib.request.urlopen(req).read()
    raise SystemExit(1)
api = base + "invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        body = r.read()
    print("runtime got", rid, flush=True)
    if os.environ.get("EXIT_ON_INVOKE"):
        os._exit(3)
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=body, method="POST")).read()
"#;

/// An extension that subscribes to `platform`, `function` and `extension` records, then
/// writes a line to its stdout and one to its stderr before asking for its first event.
const EXTENSION: &str = r#"#!/usr/bin/env python3
import json, os, sys, threading, urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
out = os.environ["EXT_OUT"]
api = os.environ["AWS_LAMBDA_RUNTIME_API"]
base = "http://" + api + "/2020-01-01/extension/"
lock = threading.Lock()
class Listener(BaseHTTPRequestHandler):
    def do_POST(self):
        batch = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with lock, open(os.path.join(out, "telemetry.jsonl"), "a") as f:
            for record in batch:
                f.write(json.dumps(record, sort_keys=True) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = HTTPServer(("127.0.0.1", 0), Listener)
threading.Thread(target=server.serve_forever, daemon=True).start()
req = urllib.request.Request(base + "register", method="POST",
    data=json.dumps({"events": ["INVOKE", "SHUTDOWN"]}).encode(),
    headers={"Lambda-Extension-Name": "recext"})
with urllib.request.urlopen(req) as r:
    ext_id = r.headers["Lambda-Extension-Identifier"]
subscription = {"schemaVersion": "2022-12-13", "types": ["platform", "function", "extension"],
    "buffering": {"timeoutMs": 25},
    "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:%d/t" % server.server_address[1]}}
path = "/2022-07-01/telemetry"
if os.environ.get("LOGS_API"):
    path = "/2020-08-15/logs"
    subscription = {"schemaVersion": "2021-03-18", "types": ["platform"],
        "buffering": {"timeoutMs": 25}, "destination": subscription["destination"]}
req = urllib.request.Request("http://" + api + path, method="PUT",
    data=json.dumps(subscription).encode(), headers={"Lambda-Extension-Identifier": ext_id})
urllib.request.urlopen(req).read()
print("extension says hello", flush=True)
print("extension warns", file=sys.stderr, flush=True)
open(os.path.join(out, "subscribed"), "w").close()
if os.environ.get("EXT_INIT_ERROR"):
    req = urllib.request.Request(base + "init/error", method="POST", data=b"{}",
        headers={"Lambda-Extension-Identifier": ext_id,
                 "Lambda-Extension-Function-Error-Type": "Extension.Boom"})
    urllib.request.urlopen(req).read()
    threading.Event().wait()
while True:
    req = urllib.request.Request(base + "event/next", headers={"Lambda-Extension-Identifier": ext_id})
    with urllib.request.urlopen(req) as r:
        event = json.load(r)
    if event["eventType"] == "SHUTDOWN":
        with open(os.path.join(out, "ext.log"), "a") as f:
            f.write("SHUTDOWN\n")
        sys.exit(0)
"#;

const ID: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

fn function(name: &str) -> FunctionRef {
    FunctionRef {
        name: name.into(),
        qualifier: None,
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn records(out: &Path) -> Vec<Value> {
    read(&out.join("telemetry.jsonl"))
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON record"))
        .collect()
}

fn types(records: &[Value]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r["type"].as_str().expect("a type"))
        .collect()
}

/// A duration figure: a number, not negative.
fn ms(value: &Value) -> f64 {
    let ms = value.as_f64().expect("a number");
    assert!(ms >= 0.0, "{value}");
    ms
}

/// An engine on the process sandbox and a function `name` whose extension comes from a
/// published layer; `env` is added to its environment.
async fn setup(
    dir: &Path,
    name: &str,
    env: &[(&str, &str)],
) -> (Engine, InvokePath, std::path::PathBuf) {
    let out = dir.join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let store = hearth_store::Store::open(&dir.join("data")).expect("store");
    let (engine, path): (Engine, _) = Engine::new(
        store,
        testing::catalog(),
        Arc::new(hearth_sandbox::ProcessSandbox),
        config(Duration::from_secs(600)),
    )
    .expect("engine");
    let layers = testing::published_layer(
        &engine,
        "recext",
        testing::executable_zip(&[("extensions/recext", EXTENSION.as_bytes())]),
    )
    .await;
    let mut environment: std::collections::BTreeMap<String, String> =
        [("EXT_OUT".to_string(), out.display().to_string())].into();
    environment.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    testing::create(
        &engine,
        NewFunction {
            environment,
            timeout: 5,
            layers,
            zip: testing::executable_zip(&[("bootstrap", RUNTIME.as_bytes())]),
            ..testing::new_function(name)
        },
    )
    .await;
    (engine, path, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extension_output_spans_and_produced_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (engine, path, out) = setup(dir.path(), "rec", &[]).await;
    let request = InvokeRequest::new(
        ID.into(),
        function("rec"),
        Bytes::from_static(b"{\"n\":12345}"),
    );
    let answer = path.invoke(request).await.expect("answered");
    assert_eq!(&answer.payload[..], b"{\"n\":12345}");
    // Retiring the environment flushes the subscriber before SHUTDOWN.
    engine
        .update_configuration(
            &function("rec"),
            ConfigChange {
                description: Some("v2".into()),
                ..Default::default()
            },
        )
        .await
        .expect("updated");
    let ext_log = out.join("ext.log");
    eventually("the extension gets SHUTDOWN", || {
        read(&ext_log) == "SHUTDOWN\n"
    })
    .await;
    let records = records(&out);
    assert_eq!(
        types(&records),
        [
            "platform.telemetrySubscription",
            "extension",
            "extension",
            "platform.extension",
            "platform.initStart",
            "platform.initRuntimeDone",
            "platform.initReport",
            "platform.start",
            "function",
            "platform.runtimeDone",
            "platform.report",
        ],
        "{records:#?}"
    );
    // The extension's own lines are `extension` records (text log format: strings),
    // the runtime's a `function` one.
    assert_eq!(records[1]["record"], "extension says hello");
    assert_eq!(records[2]["record"], "extension warns");
    assert_eq!(records[8]["record"], format!("runtime got {ID}"));
    // `initRuntimeDone` at the runtime's first `/next`, not after the report.
    let time = |i: usize| records[i]["time"].as_str().expect("a time").to_owned();
    assert!(time(4) <= time(5) && time(5) <= time(6), "{records:#?}");
    let done = &records[9]["record"];
    assert_eq!(done["requestId"], ID);
    assert_eq!(done["status"], "success");
    assert_eq!(done["metrics"]["producedBytes"], 11);
    let spans = done["spans"].as_array().expect("spans");
    let names: Vec<&str> = spans
        .iter()
        .map(|s| s["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(names, ["responseLatency", "responseDuration"]);
    // The latency starts with the invocation (`platform.start`'s time); the response's
    // duration where the latency ends.
    assert_eq!(spans[0]["start"], records[7]["time"]);
    let latency = ms(&spans[0]["durationMs"]);
    ms(&spans[1]["durationMs"]);
    assert!(spans[1]["start"].as_str() >= spans[0]["start"].as_str());
    assert!(
        latency <= ms(&done["metrics"]["durationMs"]) + 1.0,
        "{done}"
    );
    assert_eq!(spans[0].as_object().map(|o| o.len()), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_init_reaches_the_subscriber_before_the_environment_goes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_engine, path, out) = setup(dir.path(), "boom", &[("FAIL_INIT", "1")]).await;
    let request = InvokeRequest::new(ID.into(), function("boom"), Bytes::from_static(b"{}"));
    let answer = path.invoke(request).await.expect("answered");
    assert_eq!(answer.function_error.as_deref(), Some("Unhandled"));
    // Flushed before the invocation was answered.
    let records = records(&out);
    assert_eq!(
        types(&records),
        [
            "platform.telemetrySubscription",
            "extension",
            "extension",
            "platform.initStart",
            "platform.initRuntimeDone",
            "platform.initReport",
        ],
        "{records:#?}"
    );
    assert_eq!(
        records[4]["record"],
        json!({"initializationType": "on-demand", "phase": "init", "status": "failure",
            "errorType": "Custom.InitBoom"})
    );
    let report = &records[5]["record"];
    assert_eq!(report["status"], "failure");
    assert_eq!(report["errorType"], "Custom.InitBoom");
    ms(&report["metrics"]["durationMs"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logs_api_hears_of_a_runtime_that_exits_during_an_invocation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [("LOGS_API", "1"), ("EXIT_ON_INVOKE", "1")];
    let (_engine, path, out) = setup(dir.path(), "crash", &env).await;
    let request = InvokeRequest::new(ID.into(), function("crash"), Bytes::from_static(b"{}"));
    let answer = path.invoke(request).await.expect("answered");
    assert_eq!(answer.function_error.as_deref(), Some("Unhandled"));
    // The environment goes: its subscriber is flushed before SHUTDOWN.
    let ext_log = out.join("ext.log");
    eventually("the extension gets SHUTDOWN", || {
        read(&ext_log) == "SHUTDOWN\n"
    })
    .await;
    let records = records(&out);
    assert_eq!(
        types(&records),
        [
            "platform.logsSubscription",
            "platform.extension",
            "platform.start",
            "platform.fault",
            "platform.runtimeDone",
            "platform.end",
            "platform.report",
        ],
        "{records:#?}"
    );
    assert_eq!(
        records[3]["record"],
        format!("RequestId: {ID} Process exited before completing request")
    );
    assert_eq!(
        records[4]["record"],
        json!({"requestId": ID, "status": "failure"})
    );
}

/// The records of a failed init, after the subscription, the extension's two lines and
/// the runtime's `printed` lines (all of them: the pipes are read before the records).
async fn failed_init_records(name: &str, env: &[(&str, &str)], printed: &[&str]) -> Vec<Value> {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_engine, path, out) = setup(dir.path(), name, env).await;
    let request = InvokeRequest::new(ID.into(), function(name), Bytes::from_static(b"{}"));
    let answer = path.invoke(request).await.expect("answered");
    assert_eq!(answer.function_error.as_deref(), Some("Unhandled"));
    let records = records(&out);
    // The extension's lines and the runtime's come through two pipes, read side by side:
    // their order between the pipes is the reading's, so only each pipe's own order and
    // the init's records after all of them are fixed.
    let lines = 3 + printed.len();
    assert_eq!(records.len(), lines + 3, "{records:#?}");
    let mut before = types(&records[..lines]);
    before.sort_unstable();
    let mut expected = vec!["platform.telemetrySubscription", "extension", "extension"];
    expected.extend(printed.iter().map(|_| "function"));
    expected.sort_unstable();
    assert_eq!(before, expected, "{records:#?}");
    assert_eq!(
        records[0]["type"], "platform.telemetrySubscription",
        "{records:#?}"
    );
    let functions: Vec<&Value> = records[..lines]
        .iter()
        .filter(|r| r["type"] == "function")
        .map(|r| &r["record"])
        .collect();
    assert_eq!(functions, printed.iter().collect::<Vec<_>>());
    assert_eq!(
        types(&records[lines..]),
        [
            "platform.initStart",
            "platform.initRuntimeDone",
            "platform.initReport"
        ],
        "{records:#?}"
    );
    records[lines..].to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_that_exits_during_init_is_a_failure() {
    let records =
        failed_init_records("crash-init", &[("CRASH_INIT", "1")], &["runtime dying"]).await;
    for record in &records[1..] {
        assert_eq!(record["record"]["status"], "failure", "{record}");
        assert_eq!(
            record["record"]["errorType"], "Runtime.ExitError",
            "{record}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extensions_init_error_is_a_failure_with_its_type() {
    let records = failed_init_records("ext-init", &[("EXT_INIT_ERROR", "1")], &[]).await;
    for record in &records[1..] {
        assert_eq!(record["record"]["status"], "failure", "{record}");
        assert_eq!(record["record"]["errorType"], "Extension.Boom", "{record}");
    }
}
