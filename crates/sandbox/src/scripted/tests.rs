//! The scripted runtime against the real Runtime API server: what the engine will see
//! of it (outcomes, init signals, output, exit statuses).

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hearth_runtime_api::{InitSignal, Invocation, Outcome, RuntimeApi};
use tokio::io::AsyncReadExt;

use super::*;

fn spec(api: &RuntimeApi) -> SandboxSpec {
    SandboxSpec {
        program: PathBuf::from("/var/task/bootstrap"),
        args: Vec::new(),
        env: vec![
            ("AWS_LAMBDA_RUNTIME_API".into(), api.addr().to_string()),
            ("GREETING".into(), "hello".into()),
        ],
        task_root: PathBuf::from("/var/task"),
        runtime_dir: None,
        opt_dir: None,
        ro_paths: Vec::new(),
        hidden: Vec::new(),
        memory_mb: 128,
        ephemeral_storage_mb: 512,
        egress: hearth_model::egress::EgressPolicy::None,
    }
}

/// An environment as the engine makes one: prepare, serve the Runtime API on its
/// listener, spawn.
async fn start(
    sandbox: &ScriptedSandbox,
) -> (
    RuntimeApi,
    tokio::sync::oneshot::Receiver<InitSignal>,
    Instance,
) {
    let mut prepared = sandbox.prepare().expect("prepare");
    let listener = prepared.take_listener().expect("listener");
    let (api, init) = RuntimeApi::serve_std(listener).expect("serve");
    let instance = sandbox.spawn(&spec(&api), prepared).expect("spawn");
    (api, init, instance)
}

fn invocation(id: &str, payload: &'static str) -> Invocation {
    Invocation {
        request_id: id.into(),
        payload: Bytes::from_static(payload.as_bytes()),
        deadline_ms: 4_102_444_800_000,
        invoked_function_arn: "arn:aws:lambda:us-east-1:000000000000:function:f".into(),
        trace_id: "Root=1-0-0".into(),
        client_context: None,
        cognito_identity: None,
        stream: None,
    }
}

async fn read_all(instance: &mut Instance) -> String {
    let mut out = instance.take_output().expect("output");
    let mut text = String::new();
    out.read_to_string(&mut text).await.expect("read");
    text
}

#[tokio::test]
async fn answers_events_and_records_them() {
    let script = Script::default()
        .on_init(|s| vec![Step::print(format!("init {}", s.env["GREETING"]))])
        .on_invoke(|e| {
            vec![
                Step::print(format!("event {}", e.number)),
                Step::respond(e.payload.clone()),
            ]
        });
    let sandbox = ScriptedSandbox::new(script);
    let records = sandbox.records();
    let (api, init, mut instance) = start(&sandbox).await;
    assert_eq!(init.await.expect("init"), InitSignal::Ready);
    for (id, payload) in [("r1", r#"{"a":1}"#), ("r2", r#"{"b":2}"#)] {
        let outcome = api.dispatch(invocation(id, payload)).await.await;
        assert_eq!(
            outcome.expect("outcome"),
            Outcome::Response(Bytes::from(payload))
        );
    }
    let events = records.events();
    assert_eq!(
        events
            .iter()
            .map(|e| e.request_id.as_str())
            .collect::<Vec<_>>(),
        ["r1", "r2"]
    );
    assert_eq!(events[1].number, 1);
    assert_eq!(events[1].payload, Bytes::from_static(br#"{"b":2}"#));
    assert_eq!(records.env(0)["GREETING"], "hello");
    assert!(!instance.has_exited());
    assert_eq!(records.running(), 1);
    instance.kill();
    let status = instance.wait().await.expect("wait");
    assert_eq!(status.signal(), Some(9));
    assert_eq!(records.exit_status(0), Some(status));
    // The task is gone, so the pipe reaches its end after what was printed.
    assert_eq!(
        read_all(&mut instance).await,
        "init hello\nevent 0\nevent 1\n"
    );
}

#[tokio::test]
async fn errors_are_posted_with_their_type() {
    let sandbox =
        ScriptedSandbox::new(Script::default().on_invoke(|_| vec![Step::fail("Boom", "it broke")]));
    let (api, init, _instance) = start(&sandbox).await;
    assert_eq!(init.await.expect("init"), InitSignal::Ready);
    let outcome = api.dispatch(invocation("r1", "{}")).await.await;
    match outcome.expect("outcome") {
        Outcome::Error { body, error_type } => {
            assert_eq!(error_type.as_deref(), Some("Boom"));
            let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
            assert_eq!(v["errorMessage"], "it broke");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn init_errors_and_exits() {
    let sandbox = ScriptedSandbox::new(Script::default().on_init(|_| {
        vec![
            Step::fail("Runtime.ImportModuleError", "no module"),
            Step::Exit(1),
        ]
    }));
    let (_api, init, mut instance) = start(&sandbox).await;
    match init.await.expect("init") {
        InitSignal::Error { error_type, .. } => {
            assert_eq!(error_type.as_deref(), Some("Runtime.ImportModuleError"))
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(instance.wait().await.expect("wait").code(), Some(1));
}

#[tokio::test]
async fn crashes_mid_invocation_with_a_status() {
    let sandbox = ScriptedSandbox::new(
        Script::default().on_invoke(|_| vec![Step::print("going down"), Step::Signal(11)]),
    );
    let records = sandbox.records();
    let (api, init, mut instance) = start(&sandbox).await;
    assert_eq!(init.await.expect("init"), InitSignal::Ready);
    let reply = api.dispatch(invocation("r1", "{}")).await;
    let status = instance.wait().await.expect("wait");
    assert_eq!(status.signal(), Some(11));
    assert!(instance.has_exited());
    assert!(api.delivered("r1"));
    assert_eq!(records.running(), 0);
    // Its output is complete when its end is seen.
    assert_eq!(read_all(&mut instance).await, "going down\n");
    // No answer came; the reply is still open (the engine goes by the exit).
    assert!(tokio::time::timeout(Duration::from_millis(50), reply)
        .await
        .is_err());
}

#[tokio::test]
async fn a_kill_ends_a_hanging_runtime() {
    let gate = Arc::new(tokio::sync::Notify::new());
    let entered = gate.clone();
    let sandbox = ScriptedSandbox::new(Script::default().on_invoke(move |_| {
        let entered = entered.clone();
        vec![Step::until(async move { entered.notify_one() }), Step::Hang]
    }));
    let (api, init, mut instance) = start(&sandbox).await;
    assert_eq!(init.await.expect("init"), InitSignal::Ready);
    let _reply = api.dispatch(invocation("r1", "{}")).await;
    gate.notified().await;
    assert!(!instance.has_exited());
    instance.kill();
    assert_eq!(instance.wait().await.expect("wait").signal(), Some(9));
    assert_eq!(read_all(&mut instance).await, "");
}
