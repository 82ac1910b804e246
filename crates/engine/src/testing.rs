//! What tests of the engine and of the crates over it build (the `testing` feature):
//! engines over a store in a temporary directory, a `provided` function to create in
//! them, and a poller to wait on what they do in the background.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hearth_model::{FunctionConfig, FunctionRef, LastUpdateStatus, State};
use hearth_sandbox::scripted::{Records, Script, ScriptedSandbox};
use hearth_sandbox::Sandbox;
use hearth_store::Store;

use crate::{Catalog, Engine, EngineConfig, InvokePath, NewFunction};

/// A `provided` runtime: always in the catalogue, and it needs nothing installed.
pub const RUNTIME: &str = "provided.al2023";
/// The role of [`new_function`].
pub const ROLE: &str = "arn:aws:iam::000000000000:role/hearth-test";
/// How long [`eventually`] waits before it calls a test failed (never a measured time).
const PATIENCE: Duration = Duration::from_secs(20);

/// The host's catalogue, found once per test binary (finding the host's interpreters
/// takes seconds). Its runtimes directory is never created: the `provided` runtimes
/// need nothing installed, and no other runtime counts as installed.
pub fn catalog() -> Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG
        .get_or_init(|| Catalog::discover(&std::env::temp_dir().join("hearth-no-runtimes")))
        .clone()
}

/// Engine settings for tests: `idle_ttl` as given, the defaults otherwise.
pub fn config(idle_ttl: Duration) -> EngineConfig {
    EngineConfig {
        idle_ttl,
        account_concurrency: 1000,
        log_limits: Default::default(),
        log_backlog: hearth_store::LOG_BACKLOG,
        egress_default: hearth_model::egress::EgressPolicy::All,
        check_roles: false,
        observer: Default::default(),
    }
}

/// An engine over a store in `dir/data` on `sandbox`; must be called inside the tokio
/// runtime.
fn open(dir: &Path, sandbox: Arc<dyn Sandbox>, config: EngineConfig) -> (Engine, InvokePath) {
    let store = Store::open(&dir.join("data")).expect("store");
    Engine::new(store, catalog(), sandbox, config).expect("engine")
}

/// An engine whose store is in `dir`, on the process sandbox (which tests that use it
/// never start) and with a minute's `idle_ttl`, and its invoke path; must be called
/// inside the tokio runtime.
pub fn engine(dir: &Path) -> (Engine, InvokePath) {
    open(
        dir,
        Arc::new(hearth_sandbox::ProcessSandbox),
        config(Duration::from_secs(60)),
    )
}

/// An engine whose store is in `dir` and whose environments run `script`, and what the
/// scripted sandbox starts and sees; must be called inside the tokio runtime.
pub fn scripted(dir: &Path, script: Script, config: EngineConfig) -> (Engine, InvokePath, Records) {
    let sandbox = ScriptedSandbox::new(script);
    let records = sandbox.records();
    let (engine, path) = open(dir, Arc::new(sandbox), config);
    (engine, path, records)
}

/// `s` parsed as most operations take a function reference (a test's own constant).
pub fn fref(s: &str) -> FunctionRef {
    FunctionRef::parse(s, hearth_model::arn::ACCOUNT).expect("valid reference")
}

/// CreateFunction's input for a `provided` function `name` whose code is
/// [`bootstrap_zip`]: 3 seconds, 128 MB, no environment, not published.
pub fn new_function(name: &str) -> NewFunction {
    NewFunction {
        name: name.into(),
        runtime: RUNTIME.into(),
        role: ROLE.into(),
        handler: "handler".into(),
        description: String::new(),
        timeout: 3,
        memory_size: 128,
        ephemeral_storage: 512,
        environment: Default::default(),
        architectures: vec!["x86_64".into()],
        dead_letter_target_arn: None,
        kms_key_arn: None,
        environment_set: false,
        logging: Default::default(),
        tracing: Default::default(),
        vpc: None,
        tags: Default::default(),
        zip: bootstrap_zip(),
        layers: Vec::new(),
        publish: false,
    }
}

/// A zip with an executable `bootstrap` that a scripted sandbox never runs (the
/// catalogue checks it is there).
pub fn bootstrap_zip() -> Vec<u8> {
    executable_zip(&[("bootstrap", b"#!/bin/sh\nexit 1\n")])
}

/// A zip of `files` (path, contents), every entry executable: a function's code or a
/// layer of extensions.
pub fn executable_zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    for (name, contents) in files {
        zip.start_file(*name, opts).expect("zip entry");
        zip.write_all(contents).expect("zip write");
    }
    zip.finish().expect("zip finish");
    buf.into_inner()
}

/// Publishes `zip` as a layer of the default account through the engine's Layers API and
/// resolves its version as CreateFunction's `Layers` is: what a function names to have it.
pub async fn published_layer(
    engine: &Engine,
    name: &str,
    zip: Vec<u8>,
) -> Vec<hearth_model::function::LayerRef> {
    let account = hearth_model::arn::ACCOUNT.to_string();
    let published = engine
        .publish_layer_version(crate::NewLayerVersion {
            account: account.clone(),
            name: name.into(),
            description: String::new(),
            license_info: None,
            compatible_runtimes: Vec::new(),
            compatible_architectures: Vec::new(),
            zip,
        })
        .await
        .expect("publish the layer");
    let caller = crate::LayerCaller {
        arn: format!("arn:aws:iam::{account}:root"),
        account,
    };
    engine
        .resolve_layers(caller, vec![published.version_arn()])
        .await
        .expect("resolve the layer")
}

/// Creates the function and waits until it has [`settled`].
pub async fn create(engine: &Engine, function: NewFunction) {
    let name = function.name.clone();
    engine
        .create_function(function)
        .await
        .expect("create the function");
    settled(engine, &name).await;
}

/// Waits until the function `name` is `Active` with its last update `Successful`.
pub async fn settled(engine: &Engine, name: &str) {
    let settled = |f: &FunctionConfig| {
        f.state == State::Active && f.last_update_status == LastUpdateStatus::Successful
    };
    let unqualified = FunctionRef {
        name: name.into(),
        qualifier: None,
    };
    eventually("the function settles", || {
        engine.get_function(&unqualified).is_ok_and(|f| settled(&f))
    })
    .await;
}

/// Waits until `condition` holds, polling; fails the test if it never does.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
