//! What the jail's init process is told, in two stages: [`Enter`] (its cgroup and network
//! namespace) as JSON in an environment variable when it is started ahead of need, and
//! the function's [`JailSpec`] as JSON on its standard input once one is assigned.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The environment variable carrying [`Enter`].
pub const ENTER_ENV: &str = "HEARTH_JAIL_ENTER";

/// The argument that makes the `hearth` binary run [`super::init::main`].
pub const INIT_ARG: &str = "__jail-init";

/// What the init process joins before it knows its function.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Enter {
    /// `cgroup.procs` files to join before anything else.
    pub cgroup_procs: Vec<PathBuf>,
    /// Where to open the environment's network namespace.
    pub netns: String,
}

/// The function's environment, read from standard input.
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
    /// An ext4 image of that size to mount at `/tmp` through a loop device; without
    /// one, `/tmp` is a tmpfs (which counts against the function's memory).
    pub tmp_image: Option<PathBuf>,
    pub uid: u32,
    pub gid: u32,
    /// The seccomp filter to install, compiled once by Hearth.
    pub seccomp: Option<super::seccomp::CompiledFilter>,
}
