//! External extensions on the process sandbox, with real executables: a Python runtime
//! (`bootstrap`) and Python extensions under `extensions/` of a published layer, which
//! the function names (its `/opt/extensions`). What the extensions saw is written to
//! files in the test's directory (`EXT_OUT`), so that no assertion waits on a clock: a
//! gate file holds a slow extension until the test lets it go. The shutdown phase's
//! tests end the environments as the server's stop does (`Engine::end_environments`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hearth_engine::observe::{Invoked, Observer, ObserverHandle};
use hearth_engine::testing::{self, config, eventually};
use hearth_engine::{ConfigChange, Engine, InvokePath, InvokeRequest, NewFunction};
use hearth_model::FunctionRef;
use hearth_store::LogQuery;

/// A custom runtime: answers each event with its payload; `"hang"` makes it hang and
/// `"exit"` exit. On SIGTERM it writes `runtime SIGTERM` to `$EXT_OUT/order.log` and
/// exits, or carries on with `ON_SIGTERM=ignore`. With `INTERNAL_EXT` set it registers
/// an internal extension (`in-process`, no events) first, whose thread waits in `next`
/// with SIGTERM blocked (Python runs handlers in the main thread only, and a signal the
/// kernel gave to another thread would wait until the main thread's `next` returned).
const RUNTIME: &str = r#"#!/usr/bin/env python3
import os, signal, threading, time, urllib.request
out = os.environ["EXT_OUT"]
def on_term(sig, frame):
    with open(os.path.join(out, "order.log"), "a") as f:
        f.write("runtime SIGTERM\n")
    if os.environ.get("ON_SIGTERM") != "ignore":
        os._exit(0)
signal.signal(signal.SIGTERM, on_term)
with open(os.path.join(out, "runtime.pid"), "w") as f:
    f.write(str(os.getpid()))
if os.environ.get("INTERNAL_EXT"):
    ext = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2020-01-01/extension/"
    req = urllib.request.Request(ext + "register", method="POST", data=b'{"events": []}',
        headers={"Lambda-Extension-Name": "in-process"})
    with urllib.request.urlopen(req) as r:
        ext_id = r.headers["Lambda-Extension-Identifier"]
    def wait():
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        urllib.request.urlopen(urllib.request.Request(ext + "event/next",
            headers={"Lambda-Extension-Identifier": ext_id})).read()
    threading.Thread(target=wait, daemon=True).start()
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        body = r.read()
    print("runtime got", rid, flush=True)
    if body == b'"hang"':
        time.sleep(600)
    if body == b'"exit"':
        os._exit(2)
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=body, method="POST")).read()
"#;

/// An extension registered for INVOKE and SHUTDOWN that writes what it gets to
/// `$EXT_OUT/<its name>.log`; with `$EXT_OUT/gate` present it waits for
/// `$EXT_OUT/release` after an INVOKE, then works `EXT_POST_MS` more, before its
/// next `next`. SHUTDOWN also goes to `$EXT_OUT/order.log`, and after `EXT_SHUTDOWN_MS`
/// of work `<name> done` with it.
const EXTENSION: &str = r#"#!/usr/bin/env python3
import json, os, sys, time, urllib.request
name = os.path.basename(sys.argv[0])
out = os.environ["EXT_OUT"]
base = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2020-01-01/extension/"
def log(line):
    with open(os.path.join(out, name + ".log"), "a") as f:
        f.write(line + "\n")
req = urllib.request.Request(base + "register", method="POST",
    data=json.dumps({"events": ["INVOKE", "SHUTDOWN"]}).encode(),
    headers={"Lambda-Extension-Name": name})
with urllib.request.urlopen(req) as r:
    ext_id = r.headers["Lambda-Extension-Identifier"]
    reg = json.load(r)
log("registered %s %s %s handler=%s" % (reg["functionName"], reg["functionVersion"], reg["handler"], os.environ.get("_HANDLER")))
while True:
    req = urllib.request.Request(base + "event/next", headers={"Lambda-Extension-Identifier": ext_id})
    with urllib.request.urlopen(req) as r:
        event = json.load(r)
    if event["eventType"] == "INVOKE":
        print("[%s] INVOKE %s" % (name, event["requestId"]), flush=True)
        log("INVOKE %s %s" % (event["requestId"], event["tracing"]["type"]))
        if os.path.exists(os.path.join(out, "gate")):
            while not os.path.exists(os.path.join(out, "release")):
                time.sleep(0.01)
            time.sleep(int(os.environ.get("EXT_POST_MS", "0")) / 1000)
    else:
        log("SHUTDOWN %s" % event["shutdownReason"])
        with open(os.path.join(out, "order.log"), "a") as f:
            f.write("%s SHUTDOWN %s\n" % (name, event["shutdownReason"]))
        time.sleep(int(os.environ.get("EXT_SHUTDOWN_MS", "0")) / 1000)
        with open(os.path.join(out, "order.log"), "a") as f:
            f.write("%s done\n" % name)
        sys.exit(0)
"#;

/// Records what the engine tells of each invocation.
#[derive(Default)]
struct Recording {
    post_runtime: Mutex<Vec<(String, Option<Duration>, Duration)>>,
}

impl Observer for Recording {
    fn invoked(&self, i: &Invoked<'_>) {
        self.post_runtime.lock().expect("not poisoned").push((
            i.request_id.to_string(),
            i.post_runtime_extensions,
            i.duration,
        ));
    }
}

struct Setup {
    engine: Engine,
    path: InvokePath,
    observer: Arc<Recording>,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

/// An engine on the process sandbox whose environments have `extensions` (name,
/// script) in `/opt/extensions`, and a function `name` running [`RUNTIME`].
async fn setup(name: &str, extensions: &[(&str, &str)], env: &[(&str, &str)]) -> Setup {
    setup_timed(name, extensions, env, 5).await
}

/// [`setup`] with a timeout of `timeout` seconds.
async fn setup_timed(
    name: &str,
    extensions: &[(&str, &str)],
    env: &[(&str, &str)],
    timeout: i64,
) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let observer = Arc::new(Recording::default());
    let store = hearth_store::Store::open(&dir.path().join("data")).expect("store");
    let (engine, path) = Engine::new(
        store,
        testing::catalog(),
        Arc::new(hearth_sandbox::ProcessSandbox),
        hearth_engine::EngineConfig {
            observer: ObserverHandle(observer.clone()),
            ..config(Duration::from_secs(600))
        },
    )
    .expect("engine");
    let layers = if extensions.is_empty() {
        Vec::new()
    } else {
        published_layer(&engine, name, extensions).await
    };
    let mut environment: std::collections::BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    environment.insert("EXT_OUT".into(), out.display().to_string());
    testing::create(
        &engine,
        NewFunction {
            environment,
            handler: "app.handler".into(),
            timeout,
            zip: testing::executable_zip(&[("bootstrap", RUNTIME.as_bytes())]),
            layers,
            ..testing::new_function(name)
        },
    )
    .await;
    Setup {
        engine,
        path,
        observer,
        out,
        _dir: dir,
    }
}

/// A layer version with `extensions` (name, script) under `extensions/`, published and
/// resolved as a function's `Layers`.
async fn published_layer(
    engine: &Engine,
    name: &str,
    extensions: &[(&str, &str)],
) -> Vec<hearth_model::function::LayerRef> {
    let files: Vec<(String, &[u8])> = extensions
        .iter()
        .map(|(ext, script)| (format!("extensions/{ext}"), script.as_bytes()))
        .collect();
    let files: Vec<(&str, &[u8])> = files.iter().map(|(p, s)| (p.as_str(), *s)).collect();
    testing::published_layer(
        engine,
        &format!("{name}-extensions"),
        testing::executable_zip(&files),
    )
    .await
}

fn function(name: &str) -> FunctionRef {
    FunctionRef {
        name: name.into(),
        qualifier: None,
    }
}

fn request(name: &str, payload: &str, log_tail: bool) -> InvokeRequest {
    InvokeRequest {
        log_tail,
        ..InvokeRequest::new(
            uuid::Uuid::new_v4().to_string(),
            function(name),
            Bytes::from(payload.to_string()),
        )
    }
}

fn tail(response: &hearth_engine::InvokeResponse) -> String {
    let encoded = response.log_result.as_deref().expect("a log tail");
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded)
        .expect("base64");
    String::from_utf8(bytes).expect("utf-8")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The function's stored log lines.
async fn log_lines(engine: &Engine, name: &str) -> Vec<String> {
    engine
        .logs(
            name,
            LogQuery {
                limit: 10_000,
                ..LogQuery::default()
            },
        )
        .await
        .expect("logs")
        .into_iter()
        .map(|e| e.message)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_extension_registers_gets_each_invoke_and_the_shutdown() {
    let s = setup("ext-py", &[("pyext", EXTENSION)], &[]).await;
    let first = request("ext-py", r#"{"n":1}"#, true);
    let answer = s.path.invoke(first.clone()).await.expect("answered");
    assert_eq!(answer.function_error, None);
    assert_eq!(&answer.payload[..], br#"{"n":1}"#);
    let log = tail(&answer);
    assert!(
        log.contains(&format!("[pyext] INVOKE {}", first.request_id)),
        "{log}"
    );
    assert!(
        log.contains(&format!("runtime got {}", first.request_id)),
        "{log}"
    );
    // The init's lines (not in the invocation's tail) name the extension.
    let lines = log_lines(&s.engine, "ext-py").await;
    let at = |prefix: &str| lines.iter().position(|l| l.starts_with(prefix));
    assert_eq!(
        lines[at("EXTENSION").expect("an EXTENSION line")],
        "EXTENSION Name: pyext\tState: Ready\tEvents: [INVOKE,SHUTDOWN]"
    );
    assert!(
        at("INIT_START") < at("EXTENSION") && at("EXTENSION") < at("START"),
        "{lines:#?}"
    );
    let second = request("ext-py", "2", true);
    s.path.invoke(second.clone()).await.expect("answered");
    assert_eq!(
        s.engine.idle_environments(),
        1,
        "one environment served both"
    );
    let ext_log = s.out.join("pyext.log");
    assert_eq!(
        read(&ext_log),
        format!(
            "registered ext-py $LATEST app.handler handler=None\nINVOKE {} X-Amzn-Trace-Id\nINVOKE {} X-Amzn-Trace-Id\n",
            first.request_id, second.request_id
        ),
        "registration told the function, the runtime-only _HANDLER is not set"
    );
    // An update retires the environment: its extension hears of it.
    s.engine
        .update_configuration(
            &function("ext-py"),
            ConfigChange {
                environment: Some(
                    [("EXT_OUT", s.out.display().to_string()), ("V", "2".into())]
                        .map(|(k, v)| (k.to_string(), v))
                        .into(),
                ),
                ..Default::default()
            },
        )
        .await
        .expect("updated");
    eventually("the extension gets SHUTDOWN", || {
        read(&ext_log).ends_with("SHUTDOWN spindown\n")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extensions_work_after_the_response_counts_in_duration_not_in_the_answer() {
    let s = setup(
        "ext-slow",
        &[("slow", EXTENSION)],
        &[("EXT_POST_MS", "300")],
    )
    .await;
    std::fs::write(s.out.join("gate"), "").expect("gate");
    let req = request("ext-slow", r#""quick""#, false);
    // Answered while the extension is held: the caller does not wait for it.
    let answer = s.path.invoke(req.clone()).await.expect("answered");
    assert_eq!(&answer.payload[..], br#""quick""#);
    assert_eq!(answer.log_result, None);
    eventually("the extension has the event", || {
        read(&s.out.join("slow.log")).contains(&req.request_id)
    })
    .await;
    // Still busy: no REPORT yet, and the environment is not idle.
    assert_eq!(s.engine.idle_environments(), 0);
    let report = format!("REPORT RequestId: {}", req.request_id);
    assert!(!log_lines(&s.engine, "ext-slow")
        .await
        .iter()
        .any(|l| l.starts_with(&report)));
    std::fs::write(s.out.join("release"), "").expect("release");
    eventually("the environment is free again", || {
        s.engine.idle_environments() == 1
    })
    .await;
    let seen = s.observer.post_runtime.lock().expect("lock").clone();
    let (id, post, duration) = seen.last().cloned().expect("observed");
    assert_eq!(id, req.request_id);
    let post = post.expect("a PostRuntimeExtensionsDuration");
    assert!(post >= Duration::from_millis(300), "{post:?}");
    assert!(duration >= post, "{duration:?} includes {post:?}");
    let lines = log_lines(&s.engine, "ext-slow").await;
    let line = lines
        .iter()
        .find(|l| l.starts_with(&report))
        .unwrap_or_else(|| panic!("a REPORT line in {lines:#?}"));
    let ms: f64 = line
        .split("\tDuration: ")
        .nth(1)
        .and_then(|d| d.split(' ').next())
        .and_then(|d| d.parse().ok())
        .expect("a duration");
    assert!(ms >= 300.0, "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_that_exits_during_init_fails_it_with_extension_crash() {
    let crasher = "#!/bin/sh\necho crashing before next\nexit 1\n";
    let s = setup("ext-crash", &[("crasher", crasher)], &[]).await;
    let req = request("ext-crash", "{}", true);
    let answer = s.path.invoke(req.clone()).await.expect("answered");
    assert_eq!(answer.function_error.as_deref(), Some("Unhandled"));
    let body: serde_json::Value = serde_json::from_slice(&answer.payload).expect("JSON");
    assert_eq!(
        body,
        serde_json::json!({
            "errorType": "Extension.Crash",
            "errorMessage": format!("RequestId: {} Error: Extension crasher exited with error: exit status 1", req.request_id),
        })
    );
    let log = tail(&answer);
    assert!(log.contains("crashing before next"), "{log}");
    assert!(
        log.contains("Phase: init\tStatus: error\tError Type: Extension.Crash"),
        "{log}"
    );
    assert!(
        log.contains("Status: error\tError Type: Extension.Crash"),
        "{log}"
    );
    assert_eq!(s.engine.idle_environments(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_without_extensions_runs_as_before() {
    let s = setup("no-ext", &[], &[]).await;
    let answer = s
        .path
        .invoke(request("no-ext", "7", false))
        .await
        .expect("answered");
    assert_eq!(&answer.payload[..], b"7");
    let seen = s.observer.post_runtime.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].1, None, "no PostRuntimeExtensionsDuration");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_end_reported_to_the_runtime_api_fails_init_too() {
    // What the jail's watcher sends when an extension's process ends (here the
    // extension sends it itself, and stays: only the report says it ended).
    let reporter = r#"#!/usr/bin/env python3
import os, time, urllib.request
req = urllib.request.Request("http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/_hearth/extension/exited",
    method="POST", data=b"", headers={"Hearth-Extension-Name": "reporter", "Hearth-Extension-Status": "512"})
urllib.request.urlopen(req).read()
time.sleep(60)
"#;
    let s = setup("ext-reported", &[("reporter", reporter)], &[]).await;
    let req = request("ext-reported", "{}", true);
    let answer = s.path.invoke(req.clone()).await.expect("answered");
    let body: serde_json::Value = serde_json::from_slice(&answer.payload).expect("JSON");
    assert_eq!(
        body,
        serde_json::json!({
            "errorType": "Extension.Crash",
            "errorMessage": format!("RequestId: {} Error: Extension reporter exited with error: exit status 2", req.request_id),
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exit_error_retires_the_environment_after_the_invocation() {
    let failing = r#"#!/usr/bin/env python3
import json, os, urllib.request
base = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2020-01-01/extension/"
req = urllib.request.Request(base + "register", method="POST",
    data=json.dumps({"events": ["INVOKE"]}).encode(), headers={"Lambda-Extension-Name": "failing"})
with urllib.request.urlopen(req) as r:
    ext_id = r.headers["Lambda-Extension-Identifier"]
next_req = urllib.request.Request(base + "event/next", headers={"Lambda-Extension-Identifier": ext_id})
urllib.request.urlopen(next_req).read()
urllib.request.urlopen(urllib.request.Request(base + "exit/error", method="POST", data=b"{}",
    headers={"Lambda-Extension-Identifier": ext_id, "Lambda-Extension-Function-Error-Type": "Extension.Broken"})).read()
urllib.request.urlopen(next_req).read()
"#;
    let s = setup("ext-exit", &[("failing", failing)], &[]).await;
    let answer = s
        .path
        .invoke(request("ext-exit", "1", true))
        .await
        .expect("answered");
    assert_eq!(&answer.payload[..], b"1", "the runtime's answer stands");
    // Done with the invocation once it reported the error: retired at its end (and
    // killed at once, as it has no SHUTDOWN to hear), so the next one cold-starts.
    assert_eq!(s.engine.idle_environments(), 0, "retired");
    let again = s
        .path
        .invoke(request("ext-exit", "2", true))
        .await
        .expect("answered");
    assert!(tail(&again).contains("Init Duration"), "{}", tail(&again));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_says_why_a_failed_environment_goes() {
    let s = setup_timed("ext-why", &[("pyext", EXTENSION)], &[], 1).await;
    let ext_log = s.out.join("pyext.log");
    let timed_out = s
        .path
        .invoke(request("ext-why", r#""hang""#, true))
        .await
        .expect("answered");
    assert_eq!(timed_out.function_error.as_deref(), Some("Unhandled"));
    eventually("the extension hears of the timeout", || {
        read(&ext_log).ends_with("SHUTDOWN timeout\n")
    })
    .await;
    std::fs::remove_file(&ext_log).expect("reset the record");
    let crashed = s
        .path
        .invoke(request("ext-why", r#""exit""#, true))
        .await
        .expect("answered");
    assert_eq!(crashed.function_error.as_deref(), Some("Unhandled"));
    eventually("the extension hears of the failure", || {
        read(&ext_log).ends_with("SHUTDOWN failure\n")
    })
    .await;
}

/// The process whose pid the runtime wrote (`$EXT_OUT/runtime.pid`) is gone.
fn runtime_gone(out: &Path) -> bool {
    let pid = read(&out.join("runtime.pid"));
    assert!(!pid.is_empty(), "the runtime wrote its pid");
    !Path::new("/proc").join(pid.trim()).exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_gets_sigterm_before_the_extensions_get_shutdown() {
    let s = setup("ext-term", &[("pyext", EXTENSION)], &[]).await;
    s.path
        .invoke(request("ext-term", "1", false))
        .await
        .expect("answered");
    eventually("the environment is idle", || {
        s.engine.idle_environments() == 1
    })
    .await;
    // The server's stop: the phase runs and is waited for.
    s.engine.end_environments().await;
    assert_eq!(s.engine.shutdown_phases_running(), 0);
    assert_eq!(
        read(&s.out.join("order.log")),
        "runtime SIGTERM\npyext SHUTDOWN spindown\npyext done\n"
    );
    assert!(runtime_gone(&s.out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_internal_extension_alone_gets_the_runtime_sigterm_and_500_ms() {
    let s = setup(
        "ext-internal",
        &[],
        &[("INTERNAL_EXT", "1"), ("ON_SIGTERM", "ignore")],
    )
    .await;
    let answer = s
        .path
        .invoke(request("ext-internal", "1", false))
        .await
        .expect("answered");
    assert_eq!(&answer.payload[..], b"1");
    eventually("the environment is idle", || {
        s.engine.idle_environments() == 1
    })
    .await;
    let lines = log_lines(&s.engine, "ext-internal").await;
    assert!(
        lines.contains(&"EXTENSION Name: in-process\tState: Ready\tEvents: []".to_string()),
        "{lines:#?}"
    );
    let began = std::time::Instant::now();
    s.engine.end_environments().await;
    let took = began.elapsed();
    assert_eq!(read(&s.out.join("order.log")), "runtime SIGTERM\n");
    // A runtime that stays is killed at the 500 ms limit, short of the 2,000 ms of
    // external extensions.
    assert!(runtime_gone(&s.out));
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_millis(2000),
        "{took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_that_ignores_sigterm_is_killed_and_the_extensions_get_their_share() {
    let s = setup(
        "ext-stubborn",
        &[("pyext", EXTENSION)],
        &[("ON_SIGTERM", "ignore"), ("EXT_SHUTDOWN_MS", "1000")],
    )
    .await;
    s.path
        .invoke(request("ext-stubborn", "1", false))
        .await
        .expect("answered");
    eventually("the environment is idle", || {
        s.engine.idle_environments() == 1
    })
    .await;
    s.engine.end_environments().await;
    // The extension got SHUTDOWN after the runtime's share (300 ms) and still had the
    // second of work it needed before the limit (2,000 ms).
    assert_eq!(
        read(&s.out.join("order.log")),
        "runtime SIGTERM\npyext SHUTDOWN spindown\npyext done\n"
    );
    assert!(runtime_gone(&s.out), "killed at the limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_without_extensions_gets_no_sigterm() {
    let s = setup("no-ext-term", &[], &[]).await;
    s.path
        .invoke(request("no-ext-term", "1", false))
        .await
        .expect("answered");
    eventually("the environment is idle", || {
        s.engine.idle_environments() == 1
    })
    .await;
    s.engine.end_environments().await;
    assert_eq!(s.engine.shutdown_phases_running(), 0);
    assert_eq!(read(&s.out.join("order.log")), "", "killed at once");
}
