//! The Telemetry API on the process sandbox with real executables: a Python extension,
//! `extensions/telext` in a layer published through the engine's Layers API and named in
//! the function's `Layers`, registers, subscribes to `platform` and `function` records with a
//! local HTTP listener, and writes every record it is sent to `$EXT_OUT/telemetry.jsonl`;
//! the test reads that file once the extension has had SHUTDOWN (the engine flushes the
//! subscribers before sending it), so no assertion waits on a clock.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hearth_engine::testing::{self, config, eventually};
use hearth_engine::{ConfigChange, Engine, InvokeRequest, NewFunction};
use hearth_model::FunctionRef;
use serde_json::{json, Value};

/// A custom runtime that prints a line for each event and answers with its payload.
const RUNTIME: &str = r#"#!/usr/bin/env python3
import os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        body = r.read()
    print("runtime got", rid, flush=True)
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=body, method="POST")).read()
"#;

/// An extension that subscribes to the Telemetry API; its listener writes each record as
/// a line of `$EXT_OUT/telemetry.jsonl` (and logs nothing to its output, which on the
/// process sandbox is the function's: it would come back as `function` records).
const EXTENSION: &str = r#"#!/usr/bin/env python3
import json, os, sys, threading, urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
out = os.environ["EXT_OUT"]
api = os.environ["AWS_LAMBDA_RUNTIME_API"]
base = "http://" + api + "/2020-01-01/extension/"
lock = threading.Lock()
def log(line):
    with lock, open(os.path.join(out, "ext.log"), "a") as f:
        f.write(line + "\n")
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
    headers={"Lambda-Extension-Name": "telext"})
with urllib.request.urlopen(req) as r:
    ext_id = r.headers["Lambda-Extension-Identifier"]
subscription = {"schemaVersion": "2022-12-13", "types": ["platform", "function"],
    "buffering": {"timeoutMs": 25},
    "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:%d/telemetry" % server.server_address[1]}}
req = urllib.request.Request("http://" + api + "/2022-07-01/telemetry", method="PUT",
    data=json.dumps(subscription).encode(), headers={"Lambda-Extension-Identifier": ext_id})
with urllib.request.urlopen(req) as r:
    log("subscribed %d %s" % (r.status, r.read().decode()))
while True:
    req = urllib.request.Request(base + "event/next", headers={"Lambda-Extension-Identifier": ext_id})
    with urllib.request.urlopen(req) as r:
        event = json.load(r)
    if event["eventType"] == "SHUTDOWN":
        log("SHUTDOWN")
        sys.exit(0)
"#;

fn function(name: &str) -> FunctionRef {
    FunctionRef {
        name: name.into(),
        qualifier: None,
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A record's time: ISO 8601 with milliseconds, in UTC.
fn assert_time(record: &Value) {
    let time = record["time"].as_str().expect("a time");
    assert!(
        time.len() == 24 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
        "{time}"
    );
}

/// A duration figure: a number, not negative.
fn assert_ms(value: &Value) {
    assert!(value.as_f64().is_some_and(|ms| ms >= 0.0), "{value}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_extension_receives_the_platform_and_function_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let store = hearth_store::Store::open(&dir.path().join("data")).expect("store");
    let (engine, path): (Engine, _) = Engine::new(
        store,
        testing::catalog(),
        Arc::new(hearth_sandbox::ProcessSandbox),
        config(Duration::from_secs(600)),
    )
    .expect("engine");
    let layers = testing::published_layer(
        &engine,
        "telext",
        testing::executable_zip(&[("extensions/telext", EXTENSION.as_bytes())]),
    )
    .await;
    let environment = [("EXT_OUT".to_string(), out.display().to_string())].into();
    testing::create(
        &engine,
        NewFunction {
            environment,
            timeout: 5,
            zip: testing::executable_zip(&[("bootstrap", RUNTIME.as_bytes())]),
            layers,
            ..testing::new_function("tel")
        },
    )
    .await;
    let request = InvokeRequest::new(
        "3f1b6a52-0d6f-4a8e-9c57-1f0e2d9a7b11".into(),
        function("tel"),
        Bytes::from_static(b"{\"n\":1}"),
    );
    let answer = path.invoke(request).await.expect("answered");
    assert_eq!(&answer.payload[..], b"{\"n\":1}");
    // An update retires the environment: its shutdown phase flushes the subscriber, then
    // the extension gets SHUTDOWN.
    engine
        .update_configuration(
            &function("tel"),
            ConfigChange {
                environment: Some(
                    [("EXT_OUT", out.display().to_string()), ("V", "2".into())]
                        .map(|(k, v)| (k.to_string(), v))
                        .into(),
                ),
                ..Default::default()
            },
        )
        .await
        .expect("updated");
    let ext_log = out.join("ext.log");
    eventually("the extension gets SHUTDOWN", || {
        read(&ext_log).ends_with("SHUTDOWN\n")
    })
    .await;
    assert_eq!(read(&ext_log), "subscribed 200 \"OK\"\nSHUTDOWN\n");

    let records: Vec<Value> = read(&out.join("telemetry.jsonl"))
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON record"))
        .collect();
    let types: Vec<&str> = records
        .iter()
        .map(|r| r["type"].as_str().expect("a type"))
        .collect();
    assert_eq!(
        types,
        [
            "platform.telemetrySubscription",
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
    records.iter().for_each(assert_time);
    let id = "3f1b6a52-0d6f-4a8e-9c57-1f0e2d9a7b11";
    assert_eq!(
        records[0]["record"],
        json!({"name": "telext", "state": "Subscribed", "types": ["platform", "function"]})
    );
    assert_eq!(
        records[1]["record"],
        json!({"name": "telext", "state": "Ready", "events": ["INVOKE", "SHUTDOWN"]})
    );
    let init_start = &records[2]["record"];
    assert_eq!(init_start["initializationType"], "on-demand");
    assert_eq!(init_start["phase"], "init");
    assert_eq!(init_start["runtimeVersion"], "provided:al2023");
    assert_eq!(init_start["functionName"], "tel");
    assert_eq!(init_start["functionVersion"], "$LATEST");
    assert_eq!(init_start["instanceMaxMemory"], 128 * 1024 * 1024);
    assert_eq!(
        records[3]["record"],
        json!({"initializationType": "on-demand", "phase": "init", "status": "success"})
    );
    let init_report = &records[4]["record"];
    assert_eq!(init_report["status"], "success");
    assert_ms(&init_report["metrics"]["durationMs"]);
    let start = &records[5]["record"];
    assert_eq!(start["requestId"], id);
    assert_eq!(start["version"], "$LATEST");
    assert_eq!(start["tracing"]["type"], "X-Amzn-Trace-Id");
    assert_eq!(records[6]["record"], format!("runtime got {id}"));
    let done = &records[7]["record"];
    assert_eq!(done["requestId"], id);
    assert_eq!(done["status"], "success");
    assert_ms(&done["metrics"]["durationMs"]);
    let report = &records[8]["record"];
    assert_eq!(report["requestId"], id);
    assert_eq!(report["status"], "success");
    assert_eq!(report["metrics"]["memorySizeMB"], 128);
    assert_ms(&report["metrics"]["durationMs"]);
    assert_ms(&report["metrics"]["initDurationMs"]);
    assert!(
        report["metrics"]["billedDurationMs"]
            .as_u64()
            .is_some_and(|ms| ms >= 1),
        "{report}"
    );
    assert_eq!(report["tracing"], start["tracing"]);
}
