//! The code a function runs, made ready: pinned (so it is not collected while it is
//! being unpacked or run, see `hearth_store::CodePin`) and unpacked, with its layers
//! composed into its `/opt` (once per list of layers, see the store's `layer_trees.rs`),
//! and a failure sorted into what the caller must do about it.

use std::path::PathBuf;
use std::sync::Arc;

use hearth_model::function::CodeRef;
use hearth_store::{CodePin, CodeStore, StoreError};

use crate::error::EngineError;
use crate::executor::Executor;

/// Why code could not be made ready.
#[derive(Debug)]
pub(crate) enum CodeFailure {
    /// No longer stored: nothing referenced it any more and it was collected (the
    /// function changed after the caller looked it up).
    Gone,
    /// The package cannot be unpacked; the message says which file and what is wrong.
    Invalid(String),
    /// Hearth could not unpack it (disk, permissions); logged in full.
    Internal { message: String, disk_full: bool },
}

impl CodeFailure {
    /// The `StateReasonCode` / `LastUpdateStatusReasonCode` Lambda reports for it.
    pub(crate) fn reason_code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "InvalidZipFileException",
            Self::Gone | Self::Internal { .. } => "InternalError",
        }
    }

    /// The `StateReason` / `LastUpdateStatusReason`.
    pub(crate) fn reason(&self) -> String {
        match self {
            Self::Invalid(m) => m.clone(),
            Self::Gone => "The function's code is no longer stored.".into(),
            Self::Internal { .. } => {
                "Hearth could not unpack the function's code; see the server log.".into()
            }
        }
    }

    /// What an invocation that reached this code answers.
    pub(crate) fn to_error(&self) -> EngineError {
        match self {
            Self::Invalid(m) => EngineError::CodeUnusable(m.clone()),
            Self::Gone => {
                EngineError::internal("the function's code was collected while it was in use")
            }
            Self::Internal { message, disk_full } if *disk_full => {
                EngineError::DiskFull(message.clone().into())
            }
            Self::Internal { message, .. } => EngineError::internal(message.clone()),
        }
    }
}

/// What an environment keeps from being collected for as long as it lives: its code,
/// each of its layers' code and their composition.
pub(crate) struct CodePins {
    _code: CodePin,
    _layers: Vec<CodePin>,
    _opt: Option<CodePin>,
}

/// A function's code and layers, ready to run.
pub(crate) struct ReadyCode {
    pub(crate) pins: CodePins,
    /// The unpacked code (host path).
    pub(crate) task_root: PathBuf,
    /// The composed layers (host path); `None` without layers.
    pub(crate) opt_dir: Option<PathBuf>,
}

/// Sorts a store's failure to unpack `what` (`"deployment package"`, `"layer"`).
fn unpack_failure(e: StoreError, what: &str, hex: &str) -> CodeFailure {
    match e {
        StoreError::BadZip(m) => CodeFailure::Invalid(format!("Could not unzip the {what}: {m}")),
        StoreError::TooLarge { limit, .. } => CodeFailure::Invalid(format!(
            "Could not unzip the {what}: its unzipped size exceeds {limit} bytes"
        )),
        e => {
            tracing::error!(code = hex, what, error = %e, "cannot unpack code");
            CodeFailure::Internal {
                message: format!("cannot unpack the {what} {hex}: {e}"),
                disk_full: e.is_disk_full(),
            }
        }
    }
}

/// Pins and unpacks `hex`, on a blocking thread.
fn pin_and_unpack(store: &dyn CodeStore, hex: &str) -> Result<(CodePin, PathBuf), CodeFailure> {
    let pin = store.pin_stored(hex).ok_or(CodeFailure::Gone)?;
    let dir = store
        .unpacked(&pin)
        .map_err(|e| unpack_failure(e, "deployment package", hex))?;
    Ok((pin, dir))
}

/// Pins each layer and their composition, composing it on first use; on a blocking
/// thread. A layer no longer stored is [`CodeFailure::Gone`], as code is: the
/// function's layers changed after the caller looked them up.
fn pin_and_compose(
    store: &dyn CodeStore,
    layers: &[String],
) -> Result<Option<(Vec<CodePin>, CodePin, PathBuf)>, CodeFailure> {
    if layers.is_empty() {
        return Ok(None);
    }
    let pins = layers
        .iter()
        .map(|hex| store.pin_stored(hex).ok_or(CodeFailure::Gone))
        .collect::<Result<Vec<_>, _>>()?;
    let (opt, dir) = store.composed(&pins).map_err(|e| {
        // The failing layer is not told apart: the composition unpacks them all.
        unpack_failure(e, "layer", &layers.join(","))
    })?;
    Ok(Some((pins, opt, dir)))
}

/// Runs `f` on the blocking pool with the code store.
async fn blocking<T: Send + 'static>(
    store: Arc<dyn CodeStore>,
    f: impl FnOnce(&dyn CodeStore) -> Result<T, CodeFailure> + Send + 'static,
) -> Result<T, CodeFailure> {
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|e| CodeFailure::Internal {
            message: e.to_string(),
            disk_full: false,
        })?
}

impl Executor {
    /// Pins `code` and unpacks it (once per hash; later calls find the tree).
    pub(crate) async fn ready_code(
        &self,
        code: &CodeRef,
    ) -> Result<(CodePin, PathBuf), CodeFailure> {
        let hex = code.sha256_hex.clone();
        blocking(self.inner.code.clone(), move |store| {
            pin_and_unpack(store, &hex)
        })
        .await
    }

    /// Composes `layers` (in the function's order) into their `/opt` ahead of the first
    /// environment, which then finds it; the pins go when this returns. `Ok` without
    /// layers.
    pub(crate) async fn compose_layers(&self, layers: &[CodeRef]) -> Result<(), CodeFailure> {
        let layers: Vec<String> = layers.iter().map(|l| l.sha256_hex.clone()).collect();
        blocking(self.inner.code.clone(), move |store| {
            pin_and_compose(store, &layers).map(drop)
        })
        .await
    }

    /// Pins and unpacks `code`, and pins and composes `layers` (in the function's
    /// order) into its `/opt`: what an environment needs. One trip to the blocking pool:
    /// once both exist, this is a few `stat`s.
    pub(crate) async fn ready_with_layers(
        &self,
        code: &CodeRef,
        layers: &[CodeRef],
    ) -> Result<ReadyCode, CodeFailure> {
        let hex = code.sha256_hex.clone();
        let layers: Vec<String> = layers.iter().map(|l| l.sha256_hex.clone()).collect();
        blocking(self.inner.code.clone(), move |store| {
            let (code, task_root) = pin_and_unpack(store, &hex)?;
            let (layers, opt, opt_dir) = match pin_and_compose(store, &layers)? {
                Some((pins, opt, dir)) => (pins, Some(opt), Some(dir)),
                None => (Vec::new(), None, None),
            };
            Ok(ReadyCode {
                pins: CodePins {
                    _code: code,
                    _layers: layers,
                    _opt: opt,
                },
                task_root,
                opt_dir,
            })
        })
        .await
    }
}
