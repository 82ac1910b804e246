//! Power tuning (docs/cost.md), as AWS Lambda Power Tuning does it: for each memory size an
//! isolated copy of the function (its code, fetched through GetFunction's `Code.Location`,
//! and its configuration) is created, invoked once to warm it, then N times with `LogType:
//! Tail`; the REPORT lines give the durations, the price table the cost; the figures and a
//! recommendation come back as a [`Report`]; no copy is left behind (`copies.rs`).
//!
//! The run is written once, against [`Api`]: `hearth tune` runs it over HTTP with its own
//! key, and the server's `POST /_hearth/tune/<function>` (the console's power-tuning button)
//! runs it through its own router as the caller. Both answer the same JSON.

mod api;
mod copies;
mod run;
pub mod stats;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use api::{error_parts, Api, ApiFailure, Reply};
pub use copies::Interrupt;
pub use stats::{SizeStats, Strategy};

/// The sizes measured when none are named (`hearth tune --memory`'s default).
pub const DEFAULT_MEMORY: [u32; 6] = [128, 256, 512, 1024, 1769, 3008];
/// Measured invocations per size when not named.
pub const DEFAULT_INVOCATIONS: u32 = 50;
/// The most measured invocations per size.
pub const MAX_INVOCATIONS: u32 = 10_000;
/// The most sizes one run measures.
pub const MAX_SIZES: usize = 32;

/// What to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Memory sizes, in MB, in the order measured.
    pub memory: Vec<u32>,
    /// Measured invocations per size (after one warm-up).
    pub invocations: u32,
    pub strategy: Strategy,
    /// The AWS region whose prices to use.
    pub region: String,
    /// The event every invocation is sent.
    pub payload: Vec<u8>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            memory: DEFAULT_MEMORY.to_vec(),
            invocations: DEFAULT_INVOCATIONS,
            strategy: Strategy::Cost,
            region: "us-east-1".into(),
            payload: b"{}".to_vec(),
        }
    }
}

impl Options {
    /// Checks what can be checked before anything is asked of the server.
    pub fn check(&self) -> Result<(), TuneError> {
        if self.memory.is_empty() {
            return Err(TuneError::Invalid(
                "at least one memory size is needed".into(),
            ));
        }
        if self.memory.len() > MAX_SIZES {
            return Err(TuneError::Invalid(format!(
                "{} memory sizes: at most {MAX_SIZES} are measured in one run",
                self.memory.len()
            )));
        }
        if let Some(bad) = self.memory.iter().find(|m| !(128..=10_240).contains(*m)) {
            return Err(TuneError::Invalid(format!(
                "memory size {bad}: a size is 128 to 10240 MB"
            )));
        }
        if !(1..=MAX_INVOCATIONS).contains(&self.invocations) {
            return Err(TuneError::Invalid(format!(
                "{} invocations per size: 1 to {MAX_INVOCATIONS}",
                self.invocations
            )));
        }
        hearth_cost::PriceTable::aws()
            .region(&self.region)
            .map_err(|e| TuneError::Invalid(e.to_string()))?;
        Ok(())
    }
}

/// A run's figures and recommendation: what `hearth tune --json` prints and `POST
/// /_hearth/tune/<function>` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Report {
    pub function_name: String,
    /// `x86_64` or `arm64`: whose prices were used.
    pub architecture: String,
    pub region: String,
    pub strategy: Strategy,
    /// One per size, in the order measured.
    pub sizes: Vec<SizeStats>,
    /// The memory size the strategy picks.
    pub recommended: Option<u32>,
    /// The day the price table was read.
    pub prices_read_on: String,
}

impl Report {
    /// The index in `sizes` of the recommended size.
    pub fn recommended_index(&self) -> Option<usize> {
        let best = self.recommended?;
        self.sizes.iter().position(|s| s.memory_mb == best)
    }
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    /// The options, or the function, cannot be tuned (nothing was created).
    #[error("{0}")]
    Invalid(String),
    /// A step failed: what it was doing, and why.
    #[error("{doing}: {why}")]
    Step { doing: String, why: Why },
    /// The run was measured, but these copies could not be deleted.
    #[error("could not delete the tuning copies {}", .0.join(", "))]
    Leftover(Vec<String>),
}

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum Why {
    /// The server refused the request.
    #[error("{0}")]
    Api(ApiFailure),
    /// No answer came.
    #[error("{0}")]
    Transport(String),
    /// The function returned an error (`X-Amz-Function-Error`).
    #[error("{copy} returned an error ({kind}): {payload}")]
    Function {
        copy: String,
        kind: String,
        payload: String,
    },
    #[error("{0}")]
    Other(String),
}

/// Told how a run goes (`hearth tune` draws a progress bar per size).
pub trait Progress {
    /// The measured invocations of a size begin (after its warm-up).
    fn size_started(&mut self, memory_mb: u32, invocations: u32) {
        let _ = (memory_mb, invocations);
    }
    /// One measured invocation is done.
    fn invoked(&mut self) {}
    /// Every invocation of the size is done.
    fn size_done(&mut self) {}
}

/// No progress shown.
pub struct Silent;

impl Progress for Silent {}

/// Runs tunings through one [`Api`]; its copies are deleted however a run ends (and by
/// [`Interrupt::delete_all`], from a signal handler).
pub struct Tuner {
    copies: copies::Copies,
}

impl Tuner {
    pub fn new(api: Arc<dyn Api>) -> Self {
        Self {
            copies: copies::Copies::new(api),
        }
    }

    /// The handle a signal handler deletes the copies alive with.
    pub fn interrupt(&self) -> Interrupt {
        self.copies.interrupt()
    }

    /// Tunes `function` (a name or an ARN, left unchanged: copies are measured).
    pub fn run(
        &self,
        function: &str,
        options: &Options,
        progress: &mut dyn Progress,
    ) -> Result<Report, TuneError> {
        options.check()?;
        let measured = run::measure(&self.copies, function, options, progress);
        let left = self.copies.finish();
        let report = measured?;
        if !left.is_empty() {
            return Err(TuneError::Leftover(left));
        }
        Ok(report)
    }
}
