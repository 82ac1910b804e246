//! What the control plane's unit tests build: an engine over a fresh data directory
//! (with the process sandbox, which these tests never start), and records.

use std::sync::Arc;
use std::time::Duration;

use hearth_model::arn::LATEST;
use hearth_model::function::CodeRef;
use hearth_model::{FunctionConfig, LastUpdateStatus, State};

use crate::{Catalog, Engine, EngineConfig};

/// An engine whose store is in `dir`; must be called inside the tokio runtime.
pub(crate) fn engine(dir: &tempfile::TempDir) -> Engine {
    let store = hearth_store::Store::open(&dir.path().join("data")).expect("store");
    Engine::new(
        store,
        Catalog::discover(&dir.path().join("runtimes")),
        Arc::new(hearth_sandbox::ProcessSandbox),
        EngineConfig {
            idle_ttl: Duration::from_secs(60),
            account_concurrency: 1000,
            log_limits: Default::default(),
            log_backlog: hearth_store::LOG_BACKLOG,
        },
    )
    .expect("engine")
}

/// A reference to code named `hex`.
pub(crate) fn code(hex: &str) -> CodeRef {
    CodeRef {
        sha256_hex: hex.into(),
        sha256_b64: hex.into(),
        size: 1,
        unzipped_size: 1,
    }
}

/// The `$LATEST` of an `Active` function `name` with its last update `Successful`.
pub(crate) fn function(name: &str) -> FunctionConfig {
    FunctionConfig {
        name: name.into(),
        version: LATEST.into(),
        runtime: "provided.al2023".into(),
        handler: "bootstrap".into(),
        role: "arn:aws:iam::000000000000:role/r".into(),
        description: String::new(),
        timeout: 3,
        memory_size: 128,
        ephemeral_storage: 512,
        environment: Default::default(),
        architectures: vec!["x86_64".into()],
        code: code("00"),
        last_modified: "t".into(),
        revision_id: "r".into(),
        state: State::Active,
        state_reason: None,
        state_reason_code: None,
        last_update_status: LastUpdateStatus::Successful,
        last_update_status_reason: None,
        last_update_status_reason_code: None,
        tags: Default::default(),
        dead_letter_target_arn: None,
        previous_code: None,
    }
}
