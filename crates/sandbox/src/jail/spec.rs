//! The messages of the jail's processes. Hearth asks the zygote (`hearth __jail-init`,
//! one per sandbox) to [`Fork`] an environment's init process, and the zygote says
//! what became of it ([`Forked`]). The init process is told what to do in two stages:
//! [`Enter`], in the fork request, is everything that does not depend on the function
//! (its cgroup, network namespace, seccomp filter and `/tmp`); [`Claim`] comes over its
//! control socket (its standard input) once a function is assigned: the function's
//! directories as mounts Hearth opened (file descriptors alongside the JSON) and the
//! command to exec.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The argument that makes the `hearth` binary run [`super::init::main`], the zygote.
pub const INIT_ARG: &str = "__jail-init";

/// Asks the zygote for an environment's init process; its control socket and the
/// write end of its output pipe come alongside.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fork {
    /// Hearth's number for this request, repeated in the answer.
    pub id: u64,
    pub enter: Enter,
}

/// What the zygote tells Hearth.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Forked {
    /// The init process for request `id` runs as `pid`.
    Started { id: u64, pid: u32 },
    /// It could not be started.
    Failed { id: u64, error: String },
    /// Init process `pid` ended with this wait status.
    Ended { pid: u32, status: i32 },
}

/// What init sends on its control socket when the environment waits, fully built, for
/// its function.
pub const READY: u8 = b'R';

/// Most file descriptors one message may carry: the code, the runtime client, a few
/// interpreter directories and a `/tmp`.
pub const MAX_FDS: usize = 16;

/// What the init process sets up before it knows its function.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Enter {
    /// `cgroup.procs` files to join before anything else.
    pub cgroup_procs: Vec<PathBuf>,
    /// Where to open the environment's network namespace.
    pub netns: String,
    /// An empty host directory the root is assembled on (a tmpfs is mounted over it in
    /// the environment's own mount namespace).
    pub root: PathBuf,
    /// The synthetic `/etc` to bind read-only.
    pub etc: PathBuf,
    pub hostname: String,
    pub uid: u32,
    pub gid: u32,
    /// The `/tmp` to mount ahead.
    pub tmp: Tmp,
    /// The seccomp filter, compiled once by Hearth.
    pub seccomp: Option<super::seccomp::CompiledFilter>,
}

/// A writable `/tmp` of `mb` MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tmp {
    /// A disk file system Hearth mounted (an ext4 image on a loop device), handed over
    /// as a detached mount: one file descriptor in its own message (for [`Enter`]) or
    /// the last descriptor of the [`Claim`].
    Disk { mb: u64 },
    /// A tmpfs, which counts against the function's memory: for hosts without loop
    /// devices.
    Tmpfs { mb: u64 },
}

/// The function, sent once it is assigned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claim {
    /// Read-only mounts to attach, one file descriptor each, in order.
    pub binds: Vec<Bind>,
    /// A `/tmp` to use instead of the one made ahead (a size other than the default).
    pub tmp: Option<Tmp>,
    /// Directories to show empty (global module folders), where they exist.
    pub hidden: Vec<PathBuf>,
    pub exec: Exec,
    /// Whether the claim's last descriptor is the write end of the external extensions'
    /// own output pipe (their stdout and stderr, apart from the runtime's).
    #[serde(default)]
    pub extension_output: bool,
}

/// Where a mount Hearth opened (`open_tree`) goes inside the environment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bind {
    pub target: PathBuf,
    /// Whether the mount point is a directory (else a file).
    pub dir: bool,
}

/// The runtime to exec, as paths inside the jail.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Exec {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// External extensions to start first (`/opt/extensions/*`).
    #[serde(default)]
    pub extensions: Vec<ExtensionExec>,
}

/// An external extension, as a path inside the jail and its environment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExtensionExec {
    pub program: PathBuf,
    pub env: Vec<(String, String)>,
}
