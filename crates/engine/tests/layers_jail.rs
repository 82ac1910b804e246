//! A function's layers inside a jail: its composed `/opt` mounted read-only where
//! Lambda has it, the later layer's files winning, found on the runtime's `PATH` and
//! `LD_LIBRARY_PATH` (`/opt/bin`, `/opt/lib`). Needs root (see the sandbox crate's
//! `test_privileges`: skipped without, unless `HEARTH_REQUIRE_PRIVILEGED_TESTS=1`).
//!
//! Without the test harness: the jail runs this very binary as its zygote
//! (`<exe> __jail-init`), as the benchmark's `jail_bench` example does.

mod layers_fixture;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hearth_engine::testing;
use hearth_engine::{Engine, InvokeRequest};
use hearth_sandbox::JailSandbox;
use layers_fixture::{first_layer, give_layers, second_layer};

fn main() {
    if std::env::args().nth(1).as_deref() == Some(hearth_sandbox::jail::INIT_ARG) {
        hearth_sandbox::jail::init::main();
    }
    let required = std::env::var("HEARTH_REQUIRE_PRIVILEGED_TESTS").is_ok_and(|v| v == "1");
    if !is_root() {
        assert!(
            !required,
            "this test needs root, and HEARTH_REQUIRE_PRIVILEGED_TESTS=1 says it must run"
        );
        println!("skipped: a_jailed_function_finds_its_layers_at_opt needs root");
        println!("test result: ok. 0 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(a_jailed_function_finds_its_layers_at_opt());
    println!("test a_jailed_function_finds_its_layers_at_opt ... ok");
    let python = std::env::var_os("HEARTH_TEST_RUNTIMES")
        .map(std::path::PathBuf::from)
        .filter(|d| d.join("python3.11/.hearth-installed").exists());
    let Some(runtimes) = python else {
        println!(
            "skipped: jailed_python_with_layers needs python3.11 installed in HEARTH_TEST_RUNTIMES"
        );
        println!("test result: ok. 1 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out");
        return;
    };
    runtime.block_on(jailed_python_with_layers(&runtimes));
    println!("test jailed_python_with_layers ... ok");
    println!("test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out");
}

/// Whether this process runs as root: `/proc/self` belongs to its effective user.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

async fn a_jailed_function_finds_its_layers_at_opt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("own path");
    let sandbox = Arc::new(JailSandbox::new(exe, &dir.path().join("jail"), None).expect("jail"));
    let store = hearth_store::Store::open(&dir.path().join("data")).expect("store");
    let (engine, path) = Engine::new(
        store,
        testing::catalog(),
        sandbox.clone(),
        testing::config(Duration::from_secs(60)),
    )
    .expect("engine");
    let function = hearth_engine::NewFunction {
        environment: [("OPT_PROBE".to_string(), "/opt/probe".to_string())].into(),
        ..layers_fixture::function("jailed")
    };
    testing::create(&engine, function).await;
    give_layers(&engine, "jailed", &[first_layer(), second_layer()]);
    let r = path
        .invoke(InvokeRequest {
            log_tail: true,
            ..InvokeRequest::new(
                "req-jailed-1".into(),
                testing::fref("jailed"),
                Bytes::from_static(b"{}"),
            )
        })
        .await
        .expect("invoke");
    assert_eq!(r.function_error, None, "{:?} {:?}", r.payload, r.log_result);
    // The layers' files, the later layer's winning, on a read-only /opt.
    assert_eq!(
        String::from_utf8(r.payload.to_vec()).expect("utf-8"),
        "\"two first lib-two read-only\""
    );
    drop((engine, path));
    hearth_sandbox::Sandbox::shutdown(sandbox.as_ref());
}

/// The Python runtime in a jail: Lambda's layer directories first on `PYTHONPATH`
/// after the function's own (`/var/task/vendor`), a module from the later layer, and a
/// wrapper at `/opt/wrapper.sh` given the runtime's command.
async fn jailed_python_with_layers(runtimes: &std::path::Path) {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("own path");
    let sandbox = Arc::new(JailSandbox::new(exe, &dir.path().join("jail"), None).expect("jail"));
    let store = hearth_store::Store::open(&dir.path().join("data")).expect("store");
    let (engine, path) = Engine::new(
        store,
        hearth_engine::Catalog::discover(runtimes),
        sandbox.clone(),
        testing::config(Duration::from_secs(60)),
    )
    .expect("engine");
    let handler = r#"import os
import hearth_mod, hearth_vendored

def handler(event, context):
    return {"mod": hearth_mod.VALUE, "vendored": hearth_vendored.VALUE,
            "wrapped": os.environ.get("WRAPPED"), "path": os.environ["PYTHONPATH"],
            "file": hearth_mod.__file__}
"#;
    let function = hearth_engine::NewFunction {
        runtime: "python3.11".into(),
        handler: "app.handler".into(),
        zip: layers_fixture::zip(&[
            ("app.py", handler, 0o644),
            ("vendor/hearth_vendored.py", "VALUE = 'v'\n", 0o644),
        ]),
        environment: [
            ("AWS_LAMBDA_EXEC_WRAPPER", "/opt/wrapper.sh"),
            ("PYTHONPATH", "/var/task/vendor"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        timeout: 10,
        ..testing::new_function("py")
    };
    testing::create(&engine, function).await;
    let wrapper = "#!/bin/sh\nexport WRAPPED=\"$1 $#\"\nexec \"$@\"\n";
    give_layers(
        &engine,
        "py",
        &[
            layers_fixture::zip(&[
                ("python/hearth_mod.py", "VALUE = 'a'\n", 0o644),
                ("wrapper.sh", wrapper, 0o755),
            ]),
            layers_fixture::zip(&[("python/hearth_mod.py", "VALUE = 'b'\n", 0o644)]),
        ],
    );
    let r = path
        .invoke(InvokeRequest {
            log_tail: true,
            ..InvokeRequest::new(
                "req-py-1".into(),
                testing::fref("py"),
                Bytes::from_static(b"{}"),
            )
        })
        .await
        .expect("invoke");
    assert_eq!(r.function_error, None, "{:?} {:?}", r.payload, r.log_result);
    let out: serde_json::Value = serde_json::from_slice(&r.payload).expect("json");
    assert_eq!(out["mod"], "b");
    assert_eq!(out["vendored"], "v");
    assert_eq!(out["file"], "/opt/python/hearth_mod.py");
    assert_eq!(
        out["path"],
        "/var/task/vendor:/opt/python/lib/python3.11/site-packages:/opt/python:/var/runtime"
    );
    let wrapped = out["wrapped"].as_str().expect("wrapped");
    let (program, argc) = wrapped.rsplit_once(' ').expect("two words");
    assert!(program.contains("python"), "{wrapped}");
    assert_eq!(argc, "5");
    drop((engine, path));
    hearth_sandbox::Sandbox::shutdown(sandbox.as_ref());
}
