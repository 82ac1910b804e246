//! What the jail's init process is told: everything it needs to build the environment,
//! passed as JSON in one environment variable of `hearth __jail-init`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The environment variable carrying the [`JailSpec`].
pub const SPEC_ENV: &str = "HEARTH_JAIL_SPEC";

/// The argument that makes the `hearth` binary run [`super::init::main`].
pub const INIT_ARG: &str = "__jail-init";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JailSpec {
    /// The runtime to exec, as a path inside the jail.
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub hostname: String,
    /// Host directory of the function's code, mounted read-only at `/var/task`.
    pub task_root: PathBuf,
    /// Host directory of the runtime client, mounted read-only at `/var/runtime`.
    pub runtime_dir: Option<PathBuf>,
    /// Host directories made visible read-only at the same path (interpreters).
    pub ro_paths: Vec<PathBuf>,
    /// Empty host directory the root is assembled on (a tmpfs is mounted over it).
    pub root: PathBuf,
    /// Size of the writable `/tmp`, in MiB.
    pub tmp_mb: u64,
    /// `cgroup.procs` files to join before anything else.
    pub cgroup_procs: Vec<PathBuf>,
    /// Where to open the environment's network namespace.
    pub netns: String,
    pub uid: u32,
    pub gid: u32,
    /// Whether to install the seccomp filter (always, outside tests of the jail itself).
    pub seccomp: bool,
}
