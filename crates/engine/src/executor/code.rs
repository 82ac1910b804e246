//! The code a function runs, made ready: pinned (so it is not collected while it is
//! being unpacked or run, see `hearth_store::CodePin`) and unpacked, with a failure
//! sorted into what the caller must do about it.

use std::path::PathBuf;

use hearth_model::function::CodeRef;
use hearth_store::{CodePin, StoreError};

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

impl Executor {
    /// Pins `code` and unpacks it (once per hash; later calls find the tree).
    pub(crate) async fn ready_code(
        &self,
        code: &CodeRef,
    ) -> Result<(CodePin, PathBuf), CodeFailure> {
        let store = self.inner.code.clone();
        let hex = code.sha256_hex.clone();
        tokio::task::spawn_blocking(move || {
            let pin = store.pin_stored(&hex).ok_or(CodeFailure::Gone)?;
            match store.unpacked(&pin) {
                Ok(dir) => Ok((pin, dir)),
                Err(StoreError::BadZip(m)) => Err(CodeFailure::Invalid(format!(
                    "Could not unzip the deployment package: {m}"
                ))),
                Err(StoreError::TooLarge { limit, .. }) => Err(CodeFailure::Invalid(format!(
                    "Could not unzip the deployment package: its unzipped size exceeds {limit} bytes"
                ))),
                Err(e) => {
                    tracing::error!(code = hex, error = %e, "cannot unpack code");
                    Err(CodeFailure::Internal {
                        message: format!("cannot unpack code {hex}: {e}"),
                        disk_full: e.is_disk_full(),
                    })
                }
            }
        })
        .await
        .map_err(|e| CodeFailure::Internal {
            message: e.to_string(),
            disk_full: false,
        })?
    }
}
