//! A function's layers inside its environments: composed once into its `/opt`, a later
//! layer's file winning, shared by every environment, found on the search paths; on the
//! scripted sandbox (what the engine hands a sandbox) and on the process sandbox (a
//! real runtime finding the layers' programs and libraries). The jail's side is
//! `tests/layers_jail.rs`.

mod layers_fixture;

use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hearth_engine::testing::{self, eventually};
use hearth_engine::{InvokeRequest, InvokeResponse};
use hearth_sandbox::scripted::{Script, Step};
use layers_fixture::{first_layer, give_layers, second_layer, EXPECTED};

fn request(name: &str, payload: &str) -> InvokeRequest {
    InvokeRequest {
        log_tail: true,
        ..InvokeRequest::new(
            format!("req-{name}-{payload}"),
            testing::fref(name),
            Bytes::from(payload.to_string()),
        )
    }
}

fn body(r: &InvokeResponse) -> String {
    let log = r.log_result.as_deref().map(|l| {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(l)
            .expect("base64");
        String::from_utf8_lossy(&bytes).into_owned()
    });
    assert_eq!(
        r.function_error,
        None,
        "{:?} {}",
        r.payload,
        log.unwrap_or_default()
    );
    String::from_utf8(r.payload.to_vec()).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environments_share_one_composition_in_the_functions_order() {
    // Three events in flight at once: three environments.
    let barrier = Arc::new(tokio::sync::Barrier::new(3));
    let script = Script::default().on_invoke(move |e| {
        let barrier = barrier.clone();
        // The first three wait for each other; a later one answers at once.
        if e.payload.as_ref() == b"4" {
            return vec![Step::Respond(e.payload.clone())];
        }
        vec![
            Step::until(async move {
                barrier.wait().await;
            }),
            Step::Respond(e.payload.clone()),
        ]
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let (engine, path, records) =
        testing::scripted(dir.path(), script, testing::config(Duration::from_secs(60)));
    testing::create(&engine, testing::new_function("f")).await;
    let layers = give_layers(&engine, "f", &[first_layer(), second_layer()]);
    let (a, b, c) = tokio::join!(
        path.invoke(request("f", "1")),
        path.invoke(request("f", "2")),
        path.invoke(request("f", "3"))
    );
    for (r, want) in [(a, "1"), (b, "2"), (c, "3")] {
        assert_eq!(body(&r.expect("invoke")), want);
    }
    assert_eq!(records.environments(), 3);
    let opts: Vec<_> = (0..3)
        .map(|i| records.spec(i).expect("spec").opt_dir.expect("an /opt"))
        .collect();
    let key = hearth_store::composition_key(layers.iter().map(|l| l.code.sha256_hex.as_str()));
    assert_eq!(opts[0], dir.path().join("data/opt").join(&key));
    assert!(opts.iter().all(|o| *o == opts[0]), "{opts:?}");
    let read = |p: &str| std::fs::read_to_string(opts[0].join(p)).expect("read");
    assert_eq!(read("bin/answer"), "#!/bin/sh\necho two\n");
    assert_eq!(read("bin/only-one"), "#!/bin/sh\necho first\n");
    assert_eq!(read("lib/lib.txt"), "lib-two");
    let mode = std::fs::metadata(&opts[0]).expect("meta").mode() & 0o777;
    assert_eq!(mode, 0o555);
    // Built once: the only composition there is, made before the first environment.
    let built = std::fs::metadata(&opts[0]).expect("meta").ino();
    let entries: Vec<_> = std::fs::read_dir(dir.path().join("data/opt"))
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(entries, vec![std::ffi::OsString::from(&key)]);
    // Another environment later finds the very same tree.
    engine
        .store()
        .metadata()
        .update_function("f", |f| {
            f.revision_id = "another".into();
            Ok::<_, ()>(())
        })
        .expect("database")
        .expect("exists")
        .expect("updated");
    let r = path.invoke(request("f", "4")).await.expect("invoke");
    assert_eq!(body(&r), "4");
    let last = records.environments() - 1;
    let opt = records.spec(last).expect("spec").opt_dir.expect("an /opt");
    assert_eq!(std::fs::metadata(&opt).expect("meta").ino(), built);

    // The search paths name the composition's directories (host paths: the scripted
    // sandbox names paths as the process sandbox does).
    let env = records.env(0);
    let opt = opts[0].display();
    assert!(
        env["PATH"].ends_with(&format!(":{opt}/bin")),
        "{}",
        env["PATH"]
    );
    assert!(env["LD_LIBRARY_PATH"].ends_with(&format!(":{opt}/lib")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_without_layers_gets_no_opt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (engine, path, records) = testing::scripted(
        dir.path(),
        Script::default(),
        testing::config(Duration::from_secs(60)),
    );
    testing::create(&engine, testing::new_function("bare")).await;
    path.invoke(request("bare", "1")).await.expect("invoke");
    assert_eq!(records.spec(0).expect("spec").opt_dir, None);
    assert!(
        !dir.path().join("data/opt").exists()
            || std::fs::read_dir(dir.path().join("data/opt"))
                .expect("list")
                .next()
                .is_none()
    );
}

/// A real runtime on the process sandbox finds the layers' programs on `PATH` and
/// their libraries' directory last on `LD_LIBRARY_PATH`, the later layer's winning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_process_sandbox_runs_with_the_layers_on_its_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (engine, path) = testing::engine(dir.path());
    testing::create(&engine, layers_fixture::function("real")).await;
    give_layers(&engine, "real", &[first_layer(), second_layer()]);
    let r = path.invoke(request("real", "{}")).await.expect("invoke");
    assert_eq!(body(&r), EXPECTED);
    // Warm: the same answer from the same environment.
    let r = path.invoke(request("real", "{}")).await.expect("invoke");
    assert_eq!(body(&r), EXPECTED);
    eventually("one environment idle", || engine.idle_environments() == 1).await;
}

/// A change settling composes the layers before any environment needs them; the
/// function deleted (its environments retired, their pins released), the composition
/// goes with its layers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settling_composes_and_a_deleted_function_takes_its_composition_along() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (engine, path, records) = testing::scripted(
        dir.path(),
        Script::default(),
        testing::config(Duration::from_secs(60)),
    );
    testing::create(&engine, testing::new_function("s")).await;
    let layers = give_layers(&engine, "s", &[first_layer(), second_layer()]);
    let key = hearth_store::composition_key(layers.iter().map(|l| l.code.sha256_hex.as_str()));
    let opt = dir.path().join("data/opt").join(&key);
    assert!(!opt.exists());
    // Any change settles; this one changes a variable.
    engine
        .update_configuration(
            &testing::fref("s"),
            hearth_engine::ConfigChange {
                environment: Some([("K".to_string(), "v".to_string())].into()),
                ..Default::default()
            },
        )
        .await
        .expect("update");
    testing::settled(&engine, "s").await;
    assert!(opt.is_dir(), "composed when the change settled");
    assert_eq!(records.environments(), 0);
    let r = path.invoke(request("s", "1")).await.expect("invoke");
    assert_eq!(body(&r), "1");
    assert_eq!(records.spec(0).expect("spec").opt_dir, Some(opt.clone()));
    engine.delete_function(&testing::fref("s")).expect("delete");
    let code = engine.store().code_handle();
    eventually("the composition is collected", || {
        code.collect_code();
        !opt.exists()
    })
    .await;
    for l in &layers {
        assert!(
            code.pin_stored(&l.code.sha256_hex).is_none(),
            "{} kept",
            l.arn
        );
    }
}

/// The Python runtime on the process sandbox: a module from the layers (the later
/// layer's), and `AWS_LAMBDA_EXEC_WRAPPER` naming a wrapper that a layer brings
/// (`/opt/wrapper.sh`, read as the composed tree's path). Needs `python3.11` installed in
/// `HEARTH_TEST_RUNTIMES` (`hearth runtime install python3.11 --runtimes-dir DIR`, as the
/// end-to-end suite does); skipped, saying so, without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_imports_from_layers_through_a_wrapper_from_a_layer() {
    let Some(runtimes) = std::env::var_os("HEARTH_TEST_RUNTIMES")
        .map(std::path::PathBuf::from)
        .filter(|d| d.join("python3.11/.hearth-installed").exists())
    else {
        eprintln!("skipped: needs python3.11 installed in HEARTH_TEST_RUNTIMES");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let store = hearth_store::Store::open(&dir.path().join("data")).expect("store");
    let (engine, path) = hearth_engine::Engine::new(
        store,
        hearth_engine::Catalog::discover(&runtimes),
        Arc::new(hearth_sandbox::ProcessSandbox),
        testing::config(Duration::from_secs(60)),
    )
    .expect("engine");
    let handler = r#"import os
import hearth_mod

def handler(event, context):
    return {"mod": hearth_mod.VALUE, "wrapped": os.environ.get("WRAPPED"),
            "path": os.environ["PYTHONPATH"].split(":")}
"#;

    let function = hearth_engine::NewFunction {
        runtime: "python3.11".into(),
        handler: "app.handler".into(),
        zip: layers_fixture::zip(&[("app.py", handler, 0o644)]),
        environment: [(
            "AWS_LAMBDA_EXEC_WRAPPER".to_string(),
            "/opt/wrapper.sh".to_string(),
        )]
        .into(),
        timeout: 10,
        ..testing::new_function("py")
    };
    testing::create(&engine, function).await;
    let wrapper = "#!/bin/sh\nexport WRAPPED=\"$1 $#\"\nexec \"$@\"\n";
    let layers = give_layers(
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
    let r = path.invoke(request("py", "{}")).await.expect("invoke");
    let out: serde_json::Value = serde_json::from_str(&body(&r)).expect("json");
    assert_eq!(out["mod"], "b");
    // The wrapper got the interpreter and its arguments (-S -c <prelude> <handler>).
    let wrapped = out["wrapped"].as_str().expect("wrapped");
    let (program, argc) = wrapped.rsplit_once(' ').expect("two words");
    assert!(program.contains("python"), "{wrapped}");
    assert_eq!(argc, "5");
    let key = hearth_store::composition_key(layers.iter().map(|l| l.code.sha256_hex.as_str()));
    let opt = dir.path().join("data/opt").join(key);
    let path: Vec<&str> = out["path"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    let layer_dir = |p: &str| opt.join(p).display().to_string();
    assert_eq!(
        path[..2],
        [
            layer_dir("python/lib/python3.11/site-packages"),
            layer_dir("python")
        ]
    );
}
