//! Execution-environment sandboxes: the [`Sandbox`] trait and its backends.
//!
//! A sandbox starts a runtime process with exactly the environment it is given and
//! hands back an [`Instance`]: the process, its merged stdout/stderr as a non-blocking
//! pipe, and a way to kill everything it started. The `process` backend isolates
//! nothing and exists for development; the jail backend replaces it as the default.

mod exit;
mod instance;
mod process;

use std::path::PathBuf;

pub use exit::describe_exit;
pub use instance::Instance;
pub use process::ProcessSandbox;

/// What to run in a new environment.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The complete environment: nothing of Hearth's own environment is inherited.
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    /// Function code, mounted read-only at `/var/task` by isolating backends.
    pub task_root: PathBuf,
    /// Runtime client files, mounted at `/var/runtime` by isolating backends.
    pub runtime_dir: Option<PathBuf>,
    pub memory_mb: u64,
    pub ephemeral_storage_mb: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create the output pipe: {0}")]
    Pipe(#[source] std::io::Error),
}

/// A way of starting execution environments.
pub trait Sandbox: Send + Sync + 'static {
    /// The backend's name as given to `hearth server --sandbox`.
    fn name(&self) -> &'static str;

    /// Starts the runtime described by `spec`.
    fn spawn(&self, spec: &SandboxSpec) -> Result<Instance, SandboxError>;
}
