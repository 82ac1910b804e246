//! `hearth-ext-probe`, built on the official `lambda-extension` crate, as an external
//! extension of a function on the process sandbox, shipped the way a user ships one: as
//! `extensions/rust-probe` in a layer published through the engine's Layers API and named
//! in the function's `Layers`. It registers, gets each INVOKE, subscribes to the Telemetry
//! API and checks the records it is sent (its verdicts, one per invocation, and its summary
//! at SHUTDOWN, in `$EXT_OUT/rust-probe.telemetry.log`), and gets SHUTDOWN when the
//! environment is retired.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hearth_engine::testing::{self, config, eventually};
use hearth_engine::{ConfigChange, Engine, InvokeRequest, NewFunction};
use hearth_model::FunctionRef;

/// A custom runtime: prints a line naming each event's request id, answers with its payload.
/// The line is one write: the probe's output shares the pipe, and a line of its written
/// between two pieces of the runtime's would make one line of both.
const RUNTIME: &str = r#"#!/usr/bin/env python3
import os, sys, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        body = r.read()
    sys.stdout.write("runtime got %s\n" % rid)
    sys.stdout.flush()
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=body, method="POST")).read()
"#;

fn function() -> FunctionRef {
    FunctionRef {
        name: "ext-rust".into(),
        qualifier: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_extension_crate_registers_gets_invokes_the_telemetry_and_the_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let probe = std::fs::read(env!("CARGO_BIN_EXE_hearth-ext-probe")).expect("the probe");

    let store = hearth_store::Store::open(&dir.path().join("data")).expect("store");
    let (engine, path) = Engine::new(
        store,
        testing::catalog(),
        Arc::new(hearth_sandbox::ProcessSandbox),
        config(Duration::from_secs(600)),
    )
    .expect("engine");
    let layers = hearth_engine::testing::published_layer(
        &engine,
        "rust-probe",
        hearth_engine::testing::executable_zip(&[("extensions/rust-probe", &probe)]),
    )
    .await;
    let env = |extra: &[(&str, &str)]| {
        let mut vars: std::collections::BTreeMap<String, String> =
            [("EXT_OUT".to_string(), out.display().to_string())].into();
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        vars
    };
    testing::create(
        &engine,
        NewFunction {
            environment: env(&[]),
            zip: hearth_engine::testing::executable_zip(&[("bootstrap", RUNTIME.as_bytes())]),
            layers,
            ..testing::new_function("ext-rust")
        },
    )
    .await;

    let mut ids = Vec::new();
    for payload in ["1", "2"] {
        let id = uuid::Uuid::new_v4().to_string();
        let answer = path
            .invoke(InvokeRequest {
                log_tail: true,
                ..InvokeRequest::new(
                    id.clone(),
                    function(),
                    Bytes::from_static(payload.as_bytes()),
                )
            })
            .await
            .expect("answered");
        assert_eq!(&answer.payload[..], payload.as_bytes());
        let encoded = answer.log_result.expect("a log tail");
        let log = String::from_utf8(
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded)
                .expect("base64"),
        )
        .expect("utf-8");
        assert!(log.contains(&format!("[ext-probe] INVOKE {id}")), "{log}");
        ids.push(id);
    }
    let recorded = out.join("rust-probe.log");
    assert_eq!(
        std::fs::read_to_string(&recorded).expect("the probe's record"),
        format!("INVOKE {}\nINVOKE {}\n", ids[0], ids[1])
    );
    engine
        .update_configuration(
            &function(),
            ConfigChange {
                environment: Some(env(&[("V", "2")])),
                ..Default::default()
            },
        )
        .await
        .expect("updated");
    eventually("the probe gets SHUTDOWN", || {
        std::fs::read_to_string(&recorded).is_ok_and(|r| r.ends_with("SHUTDOWN spindown\n"))
    })
    .await;
    // The engine flushed the telemetry before SHUTDOWN: every verdict is in.
    let verdicts = std::fs::read_to_string(out.join("rust-probe.telemetry.log"))
        .expect("the probe's verdicts");
    let invocation = |id: &str| {
        format!("TELEMETRY {id} OK invoke=yes records=start,runtimeDone:success,report:success function=1 naming-id=1")
    };
    assert_eq!(
        verdicts.lines().collect::<Vec<_>>(),
        [
            "TELEMETRY init OK records=telemetrySubscription:Subscribed,extension:Ready,initStart:on-demand,initRuntimeDone:success,initReport:on-demand".to_string(),
            invocation(&ids[0]),
            invocation(&ids[1]),
            "TELEMETRY summary invokes=2 verdicts=2 ok=2 init=OK outside=0 dropped=0".to_string(),
        ]
    );
}
