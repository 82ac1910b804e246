//! `hearth-ext-probe`, built on the official `lambda-extension` crate, as an external
//! extension of a function on the process sandbox: it registers, gets each INVOKE, and
//! SHUTDOWN when the environment is retired.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hearth_engine::testing::{self, config, eventually};
use hearth_engine::{ConfigChange, Engine, InvokeRequest, NewFunction};
use hearth_model::FunctionRef;

/// A custom runtime: answers each event with its payload.
const RUNTIME: &str = r#"#!/usr/bin/env python3
import os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        body = r.read()
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=body, method="POST")).read()
"#;

fn zip_of(name: &str, text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    zip.start_file(name, opts).expect("zip entry");
    zip.write_all(text.as_bytes()).expect("zip write");
    zip.finish().expect("zip finish");
    buf.into_inner()
}

fn function() -> FunctionRef {
    FunctionRef {
        name: "ext-rust".into(),
        qualifier: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_extension_crate_registers_gets_invokes_and_the_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extensions = dir.path().join("opt/extensions");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&extensions).expect("mkdir");
    std::fs::create_dir_all(&out).expect("mkdir");
    let probe = extensions.join("rust-probe");
    std::fs::copy(env!("CARGO_BIN_EXE_hearth-ext-probe"), &probe).expect("copy the probe");
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    let store = hearth_store::Store::open(&dir.path().join("data")).expect("store");
    let (engine, path) = Engine::new(
        store,
        testing::catalog(),
        Arc::new(hearth_sandbox::ProcessSandbox),
        config(Duration::from_secs(600)),
    )
    .expect("engine");
    engine.set_opt_dir(Some(dir.path().join("opt")));
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
            zip: zip_of("bootstrap", RUNTIME),
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
}
