//! The cgroup layer's error type.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use super::Version;

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("invalid cgroup name {0:?}: use 1 to 64 of A-Z a-z 0-9 _ -")]
    InvalidName(String),

    #[error("no usable cgroup hierarchy: {0}")]
    NoHierarchy(String),

    #[error("cgroup {version} controller `{controller}` is not available to Hearth: {detail}")]
    ControllerUnavailable {
        version: Version,
        controller: &'static str,
        detail: String,
    },

    #[error("cannot parse {what}: {line:?}")]
    Parse { what: &'static str, line: String },

    #[error("cgroup {0} already exists")]
    Exists(PathBuf),

    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{remaining} process(es) still in cgroup {path} after killing for {waited:?}")]
    KillTimeout {
        path: PathBuf,
        remaining: usize,
        waited: Duration,
    },
}
